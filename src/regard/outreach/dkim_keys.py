"""DKIM keys and signing (S3). RSA through OpenSSL (cryptography), not dkimpy's own RSA.

dkimpy's own RSA signs about 100 messages/s per core; OpenSSL about 1,100 (STACK-NOTES),
so the signature is computed here, with the relaxed canonicalisation done by precompiled
expressions (checked against dkimpy's in tests/outreach/test_dkim.py); dkimpy verifies.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


def key_path(domain: str, selector: str | None = None) -> Path:
    return Path(settings.DATA_DIR) / "dkim" / f"{domain}.{selector or settings.REGARD_DKIM_SELECTOR}.pem"


def key_create(domain: str, selector: str | None = None, *, overwrite: bool = False) -> Path:
    path = key_path(domain, selector)
    if path.exists() and not overwrite:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    _load.cache_clear()
    return path


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: rsa.RSAPrivateKey

    def public_record(self) -> str:
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"

    def dns_records(self) -> list[tuple[str, str]]:
        return [
            (f"{self.selector}._domainkey.{self.domain}", self.public_record()),
            (self.domain, "v=spf1 mx a ~all"),
            (
                f"_dmarc.{self.domain}",
                f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{self.domain}; adkim=s; aspf=r",
            ),
        ]


@lru_cache(maxsize=8)
def _load(path: str, domain: str, selector: str) -> DkimKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA key")
    return DkimKey(domain, selector, key)


def key_load(domain: str | None = None, *, create: bool = False) -> DkimKey | None:
    domain = domain or settings.REGARD_MAIL_DOMAIN
    selector = settings.REGARD_DKIM_SELECTOR
    path = key_path(domain, selector)
    if not path.exists():
        if not create:
            return None
        key_create(domain, selector)
    return _load(str(path), domain, selector)


_LINE_BREAK = re.compile(rb"\r?\n")
# A run of WSP that is not already one space: single spaces stay as they are, so a text of
# words is left alone instead of being rebuilt space by space.
_WSP_RUN = re.compile(rb"\t[\t ]*| [\t ]+")
_WSP_EOL = re.compile(rb"[\t ]+\r\n")


def relaxed_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """RFC 6376 3.4.2, as dkimpy's ``Relaxed.canonicalize_headers`` (tests compare the two)."""
    return [
        (name.lower().rstrip(), _WSP_RUN.sub(b" ", _LINE_BREAK.sub(b"", value)).strip() + b"\r\n")
        for name, value in headers
    ]


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4, as dkimpy's ``Relaxed.canonicalize_body`` (tests compare the two)."""
    body = _WSP_RUN.sub(b" ", _WSP_EOL.sub(b"\r\n", body))
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    if end == len(body):
        body += b"\r\n"
    else:
        body = body[: end + 2]
    return b"" if body == b"\r\n" else body


def sign(key: DkimKey, headers: list[tuple[bytes, bytes]], body: bytes, *, now: float | None = None) -> bytes:
    """The DKIM-Signature header line (relaxed/relaxed, rsa-sha256) for ``headers`` + ``body``.

    ``headers`` are (name, value) with value as written after the colon, CRLF-terminated.
    """
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    present = {name.lower() for name, _ in headers}
    signed = [h for h in SIGNED_HEADERS if h in present]
    value = (
        b" v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + key.domain.encode() + b"; s=" + key.selector.encode()
        + b"; t=" + str(int(now or time.time())).encode()
        + b";\r\n\th=" + b":".join(signed)
        + b";\r\n\tbh=" + body_hash + b";\r\n\tb="
    )  # fmt: skip
    by_name = {name.lower(): (name, val) for name, val in headers}  # the last of a name is the one signed
    to_hash = relaxed_headers([by_name[h] for h in signed])
    signature_header = relaxed_headers([(b"DKIM-Signature", value)])[0]
    data = (
        b"".join(n + b":" + v for n, v in to_hash) + signature_header[0] + b":" + signature_header[1].rstrip()
    )
    signature = key.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return b"DKIM-Signature:" + value + base64.b64encode(signature) + b"\r\n"
