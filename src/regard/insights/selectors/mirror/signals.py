"""Promises kept and broken, the times they had to repeat themselves, and what they told us (S20, S22)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from functools import lru_cache

from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.functions import Cast, StrIndex, Upper
from rapidfuzz import fuzz

from regard.consent.models import ConsentEvent
from regard.customers.models import Identifier
from regard.insights.selectors.mirror.links import admin_link, conversation_link
from regard.insights.selectors.mirror.records import (
    MAX_LISTED,
    REPEAT_WINDOW_DAYS,
    SAME_SUBJECT_SCORE,
    TYPED_IDENTIFIER_KINDS,
    ConversationRow,
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

ASKS_KNOWN_FACT = "asks_known_fact"


def promises_section(group: list[int], period: Period) -> Promises:
    rows = list(
        promises_for_customers(customer_ids=group, since=period.since, until=period.until).values_list(
            "id", "what", "kind", "state", "created_at", "due_at", "settled_at"
        )
    )
    states = Counter(row[3] for row in rows)
    return Promises(
        made=len(rows),
        kept=states["kept"],
        broken=states["broken"],
        open=states["open"],
        withdrawn=states["withdrawn"],
        items=[
            PromiseItem(
                what=what,
                kind=kind,
                state=state,
                created_at=created_at,
                due_at=due_at,
                settled_at=settled_at,
                link=admin_link("policies.promise", pk, what[:60]),
            )
            for pk, what, kind, state, created_at, due_at, settled_at in rows[:MAX_LISTED]
        ],
    )


def repeats_section(group: list[int], period: Period, conversations: list[ConversationRow]) -> Repeats:
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
        # Only checks that name the finding are read and parsed (the code is checked below).
        .annotate(check_text=Cast("reply_check", TextField()))
        .filter(check_text__contains=ASKS_KNOWN_FACT)
        .order_by("created_at", "id")
        .values_list("conversation_id", "created_at", "reply_check")
    )
    for conversation_id, created_at, check in overridden if conversations else ():
        facts = [f for f in (check or {}).get("findings", []) if f.get("code") == ASKS_KNOWN_FACT]
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


@lru_cache(maxsize=1)
def _source_words() -> dict[str, str]:
    # What get_source_display() says, without a model instance per event.
    return {str(value): str(label) for value, label in ConsentEvent._meta.get_field("source").flatchoices}


def feedback_section(group: list[int], period: Period, conversations: list[ConversationRow]) -> Feedback:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and period.since <= moment < period.until

    satisfaction = []
    complaints = []
    for conversation in conversations:
        answered_at = conversation.survey_answered_at
        if conversation.survey_score is not None and answered_at is not None and inside(answered_at):
            satisfaction.append(
                Signal(
                    "satisfaction",
                    answered_at,
                    (conversation.survey_comment or "")[:300],
                    conversation_link(conversation.pk),
                    score=conversation.survey_score,
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
    sources = _source_words()
    unsubscribes = [
        Signal(
            "unsubscribe",
            occurred_at,
            f"{purpose} by {channel} ({sources.get(source, source)})",
            admin_link("consent.consentevent", pk, f"withdrawal of {purpose}"),
        )
        for pk, occurred_at, purpose, channel, source in ConsentEvent.objects.filter(
            customer_id__in=group,
            action=ConsentEvent.Action.WITHDRAWN,
            occurred_at__gte=period.since,
            occurred_at__lt=period.until,
        )
        .order_by("occurred_at", "id")
        .values_list("id", "occurred_at", "purpose", "channel", "source")[:MAX_LISTED]
    ]
    spam: list[Signal] = []
    bounces: list[Signal] = []
    for pk, kind, detail, received_at in (
        InboundFeedback.objects.filter(
            customer_id__in=group,
            kind__in=[InboundFeedback.Kind.COMPLAINT, InboundFeedback.Kind.BOUNCE],
            received_at__gte=period.since,
            received_at__lt=period.until,
        )
        .order_by("received_at", "id")
        .values_list("id", "kind", "detail", "received_at")[: 2 * MAX_LISTED]
    ):
        target = spam if kind == InboundFeedback.Kind.COMPLAINT else bounces
        target.append(
            Signal(
                "spam_complaint" if target is spam else "bounce",
                received_at,
                detail[:300],
                admin_link("outreach.inboundfeedback", pk, f"{kind} report"),
            )
        )
    return Feedback(
        satisfaction=satisfaction,
        complaints=complaints,
        unsubscribes=unsubscribes,
        spam_complaints=spam,
        bounces=bounces,
    )
