"""Import benchmark: `regard import customers` on 1M rows × scale, beside a raw COPY of the same file.

Both run against a fresh PostgreSQL database (``regard_bench_import``; override the
server with BENCH_DATABASE_URL). The import is the real command in a subprocess,
with full validation; the reference is PostgreSQL's own COPY of the same CSV into a
bare table of text columns, measured in the same run.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import psycopg
from faker import Faker

FULL_ROWS = 1_000_000
SEED = 20250301
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = "regard_bench_import"
COLUMNS = (
    "preferred_name",
    "formality",
    "salutation",
    "given_name",
    "family_name",
    "date_of_birth",
    "street",
    "locality",
    "postcode",
    "region",
    "country",
    "language",
    "time_zone",
    "email",
    "phone",
    "account",
)
# (faker locale, language, time zone, country, salutations, mobile prefix, digits after it)
LOCALES = (
    ("de_DE", "de", "Europe/Berlin", "DE", ("Frau", "Herr"), "+49151", 8),
    ("es_ES", "es", "Europe/Madrid", "ES", ("Sra.", "Sr."), "+346", 8),
    ("it_IT", "it", "Europe/Rome", "IT", ("Sig.ra", "Sig."), "+39347", 7),
    ("pl_PL", "pl", "Europe/Warsaw", "PL", ("Pani", "Pan"), "+4850", 7),
    ("sv_SE", "sv", "Europe/Stockholm", "SE", ("", ""), "+4670", 7),
    ("pt_BR", "pt-BR", "America/Sao_Paulo", "BR", ("Sra.", "Sr."), "+55119", 8),
    ("en_US", "en-US", "America/New_York", "US", ("Ms", "Mr"), "", 0),
    ("en_GB", "en-GB", "Europe/London", "GB", ("Ms", "Mr"), "", 0),
    ("fr_FR", "fr", "Europe/Paris", "FR", ("Madame", "Monsieur"), "", 0),
)
DOMAINS = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "web.de",
    "gmx.de",
    "orange.fr",
    "libero.it",
    "wp.pl",
    "telia.se",
    "uol.com.br",
    "icloud.com",
    "proton.me",
    "mail.example-shop.eu",
)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def generate(path: Path, rows: int, *, seed: int = SEED) -> None:
    """A realistic customers CSV: names in several languages, unique emails, phones and accounts.

    About 1 row in 1,000 carries a malformed email, as real exports do.
    """
    rng = random.Random(seed)
    pools = []
    for locale, language, zone, country, salutations, prefix, digits in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools.append(
            (
                [fake.first_name_female() for _ in range(300)],
                [fake.first_name_male() for _ in range(300)],
                [fake.last_name() for _ in range(600)],
                [fake.street_address().replace("\n", " ") for _ in range(400)],
                [(fake.city(), fake.postcode()) for _ in range(200)],
                language,
                zone,
                country,
                salutations,
                prefix,
                digits,
            )
        )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index in range(rows):
            (
                females,
                males,
                families,
                streets,
                places,
                language,
                zone,
                country,
                salutations,
                prefix,
                digits,
            ) = rng.choice(pools)
            female = rng.random() < 0.5
            given = rng.choice(females if female else males)
            family = rng.choice(families)
            formality = rng.choice(("informal", "formal", "neutral"))
            locality, postcode = rng.choice(places)
            email = f"{_ascii(given)}.{_ascii(family)}{index}@{rng.choice(DOMAINS)}"
            if rng.random() < 0.001:
                email = email.replace("@", " at ")
            phone = ""
            if prefix and rng.random() < 0.7:
                phone = prefix + str(index).zfill(digits)
            birthday = ""
            if rng.random() < 0.5:
                birthday = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            writer.writerow(
                (
                    given if formality == "informal" else "",
                    formality,
                    salutations[0 if female else 1] if formality == "formal" else "",
                    given,
                    family,
                    birthday,
                    rng.choice(streets),
                    locality,
                    postcode,
                    "",
                    country,
                    language,
                    zone,
                    email,
                    phone,
                    f"ACC-{index:08d}" if rng.random() < 0.8 else "",
                )
            )


def _database_recreate() -> str:
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"{SERVER_URL}/{DATABASE}"


def _regard(*args: str, database_url: str, data_dir: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("regard")), *args]
    env = {**os.environ, "DATABASE_URL": database_url, "REGARD_DATA_DIR": data_dir}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _copy_reference(path: Path, database_url: str) -> float:
    columns = ", ".join(f"{name} text" for name in COLUMNS)
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE bench_copy ({columns})")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            path.open("rb") as handle,
            cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def run(scale: float) -> None:
    rows = max(1000, round(FULL_ROWS * scale))
    with tempfile.TemporaryDirectory(prefix="regard-bench-import-") as tmp:
        path = Path(tmp) / "customers.csv"
        started = time.perf_counter()
        generate(path, rows)
        print(
            f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )

        database_url = _database_recreate()
        migrated = _regard("migrate", "-v0", database_url=database_url, data_dir=tmp)
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stderr.strip()}")

        started = time.perf_counter()
        imported = _regard(
            "import", "customers", str(path), "--quiet", database_url=database_url, data_dir=tmp
        )
        import_seconds = time.perf_counter() - started
        summary = imported.stdout.strip() or imported.stderr.strip()
        if imported.returncode not in (0, 1) or "imported" not in summary:
            raise SystemExit(f"import failed ({imported.returncode}): {summary}")
        copy_seconds = _copy_reference(path, database_url)

    print(f"import: {summary}")
    print(f"{'':<28}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    print(f"{'regard import customers':<28}{rows:>12,}{import_seconds:>10.2f}{rows / import_seconds:>12,.0f}")
    print(f"{'COPY into a bare text table':<28}{rows:>12,}{copy_seconds:>10.2f}{rows / copy_seconds:>12,.0f}")
    print(
        f"ratio import/COPY (throughput): {copy_seconds / import_seconds:.3f}"
        f"  — COPY is {import_seconds / copy_seconds:.1f}× faster; goal 100,000 rows/s"
    )
