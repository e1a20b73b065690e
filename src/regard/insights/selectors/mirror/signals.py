"""Promises kept and broken, the times they had to repeat themselves, and what they told us (S20, S22)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import StrIndex, Upper
from rapidfuzz import fuzz

from regard.consent.models import ConsentEvent
from regard.customers.models import Identifier
from regard.insights.selectors.mirror.links import admin_link, conversation_link
from regard.insights.selectors.mirror.records import (
    MAX_LISTED,
    REPEAT_WINDOW_DAYS,
    SAME_SUBJECT_SCORE,
    TYPED_IDENTIFIER_KINDS,
    Feedback,
    Period,
    PromiseItem,
    Promises,
    RepeatItem,
    Repeats,
    Signal,
)
from regard.outreach.models import InboundFeedback
from regard.policies.selectors.promises import promises_for_customers
from regard.support.models import Conversation, Message


def promises_section(group: list[int], period: Period) -> Promises:
    rows = list(promises_for_customers(customer_ids=group, since=period.since, until=period.until))
    states = Counter(p.state for p in rows)
    return Promises(
        made=len(rows),
        kept=states["kept"],
        broken=states["broken"],
        open=states["open"],
        withdrawn=states["withdrawn"],
        items=[
            PromiseItem(
                what=p.what,
                kind=p.kind,
                state=p.state,
                created_at=p.created_at,
                due_at=p.due_at,
                settled_at=p.settled_at,
                link=admin_link("policies.promise", p.pk, p.what[:60]),
            )
            for p in rows[:MAX_LISTED]
        ],
    )


def repeats_section(group: list[int], period: Period, conversations: list[Conversation]) -> Repeats:
    items: list[RepeatItem] = []
    asked_known = 0
    overridden = (
        Message.objects.filter(
            conversation_id__in=[c.pk for c in conversations],
            direction=Message.Direction.OUT,
            created_at__gte=period.since,
            created_at__lt=period.until,
            reply_check__overridden=True,
        )
        .order_by("created_at", "id")
        .values_list("conversation_id", "created_at", "reply_check")
    )
    for conversation_id, created_at, check in overridden if conversations else ():
        facts = [f for f in (check or {}).get("findings", []) if f.get("code") == "asks_known_fact"]
        if facts:
            asked_known += 1
            items.append(
                RepeatItem(
                    "asked for facts on file",
                    "; ".join(str(f.get("excerpt") or f.get("message", "")) for f in facts)[:300],
                    created_at,
                    conversation_link(conversation_id),
                )
            )
    asked_again = 0
    in_period = [c for c in conversations if period.since <= c.created_at < period.until]
    for later in in_period:
        for earlier in conversations:
            if earlier.created_at >= later.created_at or earlier.channel == later.channel:
                continue
            if later.created_at - earlier.created_at > timedelta(days=REPEAT_WINDOW_DAYS):
                continue
            still_open = earlier.resolved_at is None or earlier.resolved_at > later.created_at
            same_subject = bool(earlier.subject and later.subject) and (
                fuzz.token_set_ratio(earlier.subject.lower(), later.subject.lower()) >= SAME_SUBJECT_SCORE
            )
            if still_open or same_subject:
                asked_again += 1
                items.append(
                    RepeatItem(
                        "asked again on another channel",
                        f"{later.channel} after {earlier.channel} "
                        f"{(later.created_at - earlier.created_at).days} day(s) earlier",
                        later.created_at,
                        conversation_link(later.pk),
                    )
                )
                break
    # S20: a message of theirs quoting an account or order number we already had, in one query.
    on_file = (
        Identifier.objects.filter(
            customer_id__in=group,
            kind__in=TYPED_IDENTIFIER_KINDS,
            first_seen_at__lt=OuterRef("created_at"),
        )
        .annotate(at=StrIndex(Upper(OuterRef("body_text")), Upper("value_raw")))
        .filter(at__gt=0)
    )
    repeated = list(
        Message.objects.filter(
            # A phone call's record is the agent's note of what the caller said.
            Q(direction=Message.Direction.IN)
            | Q(direction=Message.Direction.NOTE, conversation__channel=Conversation.Channel.PHONE),
            conversation__customer_id__in=group,
            created_at__gte=period.since,
            created_at__lt=period.until,
        )
        .annotate(quotes=Exists(on_file))
        .filter(quotes=True)
        .values_list("id", "conversation_id", "created_at")
        .order_by("created_at", "id")
    )
    for _message_id, conversation_id, created_at in repeated:
        items.append(
            RepeatItem(
                "gave an identifier already on file",
                "quoted an account or order number we had",
                created_at,
                conversation_link(conversation_id),
            )
        )
    handoffs = sum(c.handoff_count for c in in_period)
    reopenings = sum(c.reopen_count for c in in_period)
    for conversation in in_period:
        if conversation.handoff_count or conversation.reopen_count:
            items.append(
                RepeatItem(
                    "handed on or reopened",
                    f"{conversation.handoff_count} hand-off(s), {conversation.reopen_count} reopening(s)",
                    conversation.created_at,
                    conversation_link(conversation.pk),
                )
            )
    items.sort(key=lambda i: i.at)
    return Repeats(
        asked_known_facts=asked_known,
        asked_again=asked_again,
        identifiers_repeated=len(repeated),
        handoffs=handoffs,
        reopenings=reopenings,
        items=items[:MAX_LISTED],
    )


def feedback_section(group: list[int], period: Period, conversations: list[Conversation]) -> Feedback:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and period.since <= moment < period.until

    satisfaction = []
    complaints = []
    for conversation in conversations:
        survey = getattr(conversation, "survey", None)
        if survey is not None and survey.score is not None and inside(survey.answered_at):
            assert survey.answered_at is not None
            satisfaction.append(
                Signal(
                    "satisfaction",
                    survey.answered_at,
                    survey.comment[:300],
                    conversation_link(conversation.pk),
                    score=survey.score,
                )
            )
        if conversation.kind == Conversation.Kind.COMPLAINT and inside(conversation.created_at):
            complaints.append(
                Signal(
                    "complaint",
                    conversation.created_at,
                    conversation.subject,
                    conversation_link(conversation.pk),
                )
            )
    unsubscribes = [
        Signal(
            "unsubscribe",
            event.occurred_at,
            f"{event.purpose} by {event.channel} ({event.get_source_display()})",
            admin_link("consent.consentevent", event.pk, f"withdrawal of {event.purpose}"),
        )
        for event in ConsentEvent.objects.filter(
            customer_id__in=group,
            action=ConsentEvent.Action.WITHDRAWN,
            occurred_at__gte=period.since,
            occurred_at__lt=period.until,
        ).order_by("occurred_at", "id")[:MAX_LISTED]
    ]
    spam: list[Signal] = []
    bounces: list[Signal] = []
    for mail in (
        InboundFeedback.objects.filter(
            customer_id__in=group,
            kind__in=[InboundFeedback.Kind.COMPLAINT, InboundFeedback.Kind.BOUNCE],
            received_at__gte=period.since,
            received_at__lt=period.until,
        )
        .only("id", "kind", "status", "detail", "received_at")
        .order_by("received_at", "id")[: 2 * MAX_LISTED]
    ):
        target = spam if mail.kind == InboundFeedback.Kind.COMPLAINT else bounces
        target.append(
            Signal(
                "spam_complaint" if target is spam else "bounce",
                mail.received_at,
                mail.detail[:300],
                admin_link("outreach.inboundfeedback", mail.pk, f"{mail.kind} report"),
            )
        )
    return Feedback(
        satisfaction=satisfaction,
        complaints=complaints,
        unsubscribes=unsubscribes,
        spam_complaints=spam,
        bounces=bounces,
    )
