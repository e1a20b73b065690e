"""Signed links that unsubscribe or open the preference page without a login (C2, S2).

They never expire (a years-old newsletter's link still works) and carry no personal
data: only ids, signed with the secret key.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from regard.errors import InvalidInput

_SALT = "regard.consent.link"
_signer = signing.Signer(salt=_SALT, sep="~")


@dataclass(frozen=True)
class LinkClaim:
    customer_id: int
    purpose: str
    channel: str
    message_id: str = ""


def link_token(*, customer_id: int, purpose: str, channel: str, message_id: str = "") -> str:
    return _signer.sign_object([customer_id, purpose, channel, message_id])


def link_read(token: str) -> LinkClaim:
    try:
        customer_id, purpose, channel, message_id = _signer.unsign_object(token)
        return LinkClaim(int(customer_id), str(purpose), str(channel), str(message_id))
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidInput("token: this link is not valid (it may be cut short).", field="token") from None
