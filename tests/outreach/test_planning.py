"""Launch plans the audience in chunks, with the same outbox rows as planning it all at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from regard.outreach import planning, services
from regard.outreach.models import Campaign, OutboxMessage
from tests.customers.factories import make_customer
from tests.outreach.helpers import subscriber

pytestmark = pytest.mark.django_db

COMPARED = [
    "dedupe_key", "customer_id", "kind", "purpose", "channel", "journey", "subject", "body", "context",
    "topics", "content_key", "state", "due_at", "expires_at", "attempts", "claimed_at", "sent_at",
    "message_id", "to_address", "gate_outcome", "gate_reasons", "last_error", "smtp_code",
    "was_uncertain", "created_at",
]  # fmt: skip


def _all_at_once(campaign: Campaign, now: Any) -> None:
    """The planning as it was before chunks: every id in memory, every row built in Python."""
    ids = list(planning.audience_queryset(campaign.audience).order_by("pk").values_list("pk", flat=True))
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            dedupe_key=f"campaign:{campaign.pk}:customer:{customer_id}",
            customer_id=customer_id,
            kind=OutboxMessage.Kind.MARKETING,
            purpose=campaign.purpose,
            channel=campaign.channel,
            campaign=campaign,
            topics=campaign.topics,
            content_key=f"campaign:{campaign.pk}",
            due_at=campaign.scheduled_at or now,
            expires_at=campaign.expires_at,
            created_at=now,
        )
        for customer_id in ids
    )


def _rows(campaign: Campaign) -> list[tuple[Any, ...]]:
    rows = OutboxMessage.objects.filter(campaign=campaign).order_by("customer_id").values_list(*COMPARED)
    return [(r[0].split(":customer:")[1], *r[1:]) for r in rows]


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_chunked_launch_plans_the_same_outbox_as_all_at_once(monkeypatch, chunk) -> None:
    people = [subscriber(country="DE")[0] for _ in range(7)] + [make_customer(country="FR")]
    subscriber(country="FR")
    audience = {"countries": ["DE"]}
    fields = {"purpose": "newsletter", "subject": "Hello", "body": "{{ greeting }}", "topics": ["audio"]}
    chunked = services.campaign_create(actor=None, name="Chunked", audience=audience, **fields)
    reference = services.campaign_create(actor=None, name="Reference", audience=audience, **fields)
    reference.expires_at = chunked.expires_at
    reference.save(update_fields=["expires_at"])
    now = timezone.now()
    monkeypatch.setattr(services, "PLAN_CHUNK", chunk)
    assert services.campaign_launch(actor=None, campaign=chunked, now=now) == 7
    _all_at_once(reference, now)
    chunked_rows = _rows(chunked)
    assert len(chunked_rows) == 7
    assert {int(r[0]) for r in chunked_rows} == {p.pk for p in people[:7]}
    assert [r[1:] for r in chunked_rows] == [
        tuple(v if i != 9 else v.replace(f"{reference.pk}", f"{chunked.pk}") for i, v in enumerate(r[1:]))
        for r in _rows(reference)
    ]
    chunked.refresh_from_db()
    assert (chunked.state, chunked.planned_count) == (Campaign.State.RUNNING, 7)


def test_audience_chunks_walk_every_id_once_in_order() -> None:
    people = [make_customer() for _ in range(11)]
    chunks = list(planning.audience_chunks(planning.audience_queryset({}), size=4))
    assert [len(c) for c in chunks] == [4, 4, 3]
    assert [i for c in chunks for i in c] == sorted(p.pk for p in people)


def test_gate_plan_counts_everyone_in_the_audience(monkeypatch) -> None:
    for _ in range(5):
        subscriber(time_zone="UTC")
    for _ in range(3):
        make_customer()
    campaign = services.campaign_create(
        actor=None, name="Plan", purpose="newsletter", subject="Hi", body="{{ greeting }}"
    )
    noon = timezone.now().replace(hour=12, minute=0)
    seen: list[int] = []
    plan = planning.campaign_gate_plan(
        campaign=campaign, now=noon, size=3, progress=lambda p: seen.append(p.audience)
    )
    assert plan.audience == 8
    assert seen == [3, 6, 8]
    assert plan.by_outcome == {"allow": 5, "drop": 3}
    assert plan.by_reason["no_consent"] == 3
