"""The demo desk shows the rules at work: saved replies the reply check knows, SLA due times set."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from regard.support.demo import DEMO_SAVED_REPLIES
from regard.support.models import Conversation, SavedReply
from regard.support.reply_check import check_reply

pytestmark = pytest.mark.django_db


def test_the_demo_has_saved_replies_and_due_times(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", customers=10, seed=3, stdout=StringIO())
    assert SavedReply.objects.count() == len(DEMO_SAVED_REPLIES)
    complaint = Conversation.objects.get(subject="Earphones stopped working")
    assert complaint.sla_policy is not None
    assert complaint.sla_policy.kind == "complaint"
    assert complaint.first_response_due_at is not None
    canned = DEMO_SAVED_REPLIES[0][2]
    findings = check_reply(draft=canned, conversation=complaint, customer=complaint.customer)
    assert "canned_unchanged" in [f.code for f in findings]
