"""`regard dkim init DOMAIN` makes a signing key; `regard dkim show` prints the DNS records (S3)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.outreach import dkim_keys


class Command(BaseCommand):
    help = "Create the DKIM key for a domain and print the DKIM, SPF and DMARC records to publish."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["init", "show"])
        parser.add_argument("domain", nargs="?", default=None)
        parser.add_argument("--force", action="store_true", help="replace an existing key")

    def handle(self, *args: Any, **options: Any) -> None:
        domain = options["domain"] or settings.REGARD_MAIL_DOMAIN
        if options["action"] == "init":
            path = dkim_keys.key_path(domain)
            if path.exists() and not options["force"]:
                raise CommandError(
                    f"{path} exists; use --force to replace it (mail signed with it stops verifying)"
                )
            dkim_keys.key_create(domain, overwrite=True)
            self.stdout.write(f"key written to {path}")
        key = dkim_keys.key_load(domain)
        if key is None:
            raise CommandError(f"no DKIM key for {domain}; run `regard dkim init {domain}`")
        if domain != settings.REGARD_MAIL_DOMAIN:
            self.stdout.write(f"(set REGARD_MAIL_DOMAIN={domain} to sign with this key)")
        self.stdout.write("Publish these DNS TXT records:")
        for name, value in key.dns_records():
            self.stdout.write(f'{name}. IN TXT "{value}"')
