"""The demo newsletter, as the dispatcher sends it, does not look like spam (SpamAssassin < 2.0).

The demo's two newsletters are sent through the dispatcher to an SMTP server on loopback, so
what is scored is exactly what leaves Regard: MIME, DKIM signature, List-Unsubscribe with
one-click. SpamAssassin runs with its local tests only (``-L``: no DNS blocklists, no
network rule updates), as its Debian package ships them. scripts/ensure-services.sh installs
it; the test is skipped, saying why, only where it is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from regard.outreach import demo
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign
from regard.outreach.sender import SmtpSender
from regard.outreach.services import campaign_launch

pytestmark = pytest.mark.django_db

THRESHOLD = 2.0
SPAMASSASSIN = shutil.which("spamassassin")
SCORE = re.compile(r"^X-Spam-Status: \w+, score=(-?[\d.]+) .*?tests=([^\n]*(?:\n\t[^\n]*)*)", re.MULTILINE)


def spam_score(message: bytes) -> tuple[float, str]:
    assert SPAMASSASSIN is not None
    report = subprocess.run(
        # No relay put a Received line on it here, so every hop would count as trusted and
        # ALL_TRUSTED take a point off; it is scored nothing, so the mail earns its own score.
        [SPAMASSASSIN, "-L", "-t", "--cf=dns_available no", "--cf=score ALL_TRUSTED 0"],
        input=message,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    found = SCORE.search(report)
    assert found, report[:2000]
    return float(found.group(1)), " ".join(found.group(2).split())


@pytest.mark.skipif(
    SPAMASSASSIN is None, reason="spamassassin is not installed (scripts/ensure-services.sh installs it)"
)
def test_the_demo_newsletters_score_below_two(smtp_server: Any, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    call_command("demo", customers=20, seed=7, verbosity=0)
    now = timezone.now()
    demo.outreach_demo_ensure(now=now)
    campaign_launch(actor=None, campaign=Campaign.objects.get(name=demo.DRAFT_NAME), via="cli", now=now)
    # Midday in Berlin the next day: no quiet hours.
    dispatch_batch(sender=sender, now=(now + timedelta(days=1)).replace(hour=11, minute=0, second=0))
    scored = {}
    for name in (demo.DRAFT_NAME, demo.LAUNCHED_NAME):
        subject = Campaign.objects.get(name=name).subject
        sample = next(r for r in recorder.received if subject in str(r.message["Subject"]))
        assert sample.message["DKIM-Signature"]
        assert sample.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # The envelope sender, as the receiving server adds it in front.
        return_path = f"Return-Path: <{sample.mail_from}>\r\n".encode()
        scored[name] = spam_score(return_path + sample.data)
    for name, (score, tests) in scored.items():
        print(f"SpamAssassin: {name}: {score} ({tests})")
    # With the test's settings the From domain (REGARD_MAIL_FROM) and the bounce domain
    # (REGARD_MAIL_DOMAIN) differ: HEADER_FROM_DIFFERENT_DOMAINS, 1.0, is in the score.
    assert all(score < THRESHOLD for score, _ in scored.values()), scored
