"""Reply rules the policies app adds to the support desk's reply check (registered in apps.py)."""

from __future__ import annotations

from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.selectors import customer_group_ids
from regard.policies.models import Promise
from regard.policies.promise_language import read_promises
from regard.policies.services.promises import promise_due_from_working_days
from regard.support.models import Conversation
from regard.support.reply_check import Finding
from regard.support.sla import calendar_for

RECORD_TEMPLATE = "policies/promises/_record_from_finding.html"
KIND_WORDS = {
    "callback": "a callback",
    "shipment": "a shipment",
    "refund": "a refund",
    "credit": "a credit",
    "follow_up": "getting back to the customer",
    "other": "something",
}


def unrecorded_promise(draft: str, conversation: Conversation | None, customer: Customer) -> list[Finding]:
    """S22: a promise made in a reply is recorded, so it is tracked to kept or broken.

    Offers to record each promise the draft makes with the kind and due time it read; one
    already recorded (same kind, due the same day) is not offered again.
    """
    now = timezone.now()
    calendar = calendar_for(conversation.team if conversation is not None else None)
    read = read_promises(draft, now=now, calendar=calendar)
    if not read:
        return []
    open_promises = list(
        Promise.objects.filter(
            customer_id__in=customer_group_ids(customer), state=Promise.State.OPEN
        ).values_list("kind", "due_at")
    )
    recorded = {(kind, due.astimezone(calendar.zone).date()) for kind, due in open_promises}
    findings: list[Finding] = []
    for promise in read:
        due = promise.due_at or promise_due_from_working_days(
            days=promise.due_working_days or 1, calendar=calendar, now=now
        )
        local = due.astimezone(calendar.zone)
        if (promise.kind, local.date()) in recorded:
            continue
        findings.append(
            Finding(
                "promise_unrecorded",
                f"This reply promises {KIND_WORDS[promise.kind]}, due {local:%a %d %b %Y %H:%M} "
                f"(“{promise.due_text}”). Record it so it is tracked until kept, or send anyway.",
                promise.sentence,
                data={
                    "kind": promise.kind,
                    "what": promise.sentence,
                    "due_at": local.isoformat(),
                    "due_local": local.strftime("%Y-%m-%dT%H:%M"),
                    "due_working_days": promise.due_working_days or "",
                    "conversation": conversation.pk if conversation is not None else "",
                },
                action_template=RECORD_TEMPLATE,
            )
        )
    return findings
