"""The verdict at the top of the mirror, with its reasons (S23)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from regard.insights.selectors.mirror.records import (
    Contacts,
    ConversationWaits,
    Feedback,
    Promises,
    Reason,
    Repeats,
    Verdict,
)
from regard.support.models import Conversation

# --- the verdict ------------------------------------------------------------------------------


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%-d %b}"


def _working_days(minutes: int, day_minutes: int) -> str:
    if minutes < day_minutes:
        hours = round(minutes / 60, 1)
        return f"{hours:g} working hour{'s' if hours != 1 else ''}"
    days = round(minutes / day_minutes, 1)
    return f"{days:g} working day{'s' if days != 1 else ''}"


def verdict_of(
    contacts: Contacts,
    conversations: list[ConversationWaits],
    promises: Promises,
    repeats: Repeats,
    feedback: Feedback,
    zone: ZoneInfo | None = None,
) -> Verdict:
    zone = zone or ZoneInfo("UTC")
    reasons: list[Reason] = []
    chosen = contacts.chosen_per_week
    if chosen is not None and contacts.weeks_above_choice:
        reasons.append(
            Reason(
                f"Contacted {contacts.recent_total} times in {contacts.recent_days} days "
                f"({contacts.total} in the period: {contacts.marketing} marketing, {contacts.service} service); "
                f"{contacts.weeks_above_choice} week(s) above the {chosen} a week they chose "
                f"(busiest: {contacts.busiest})",
                "bad",
                contacts.chosen_link,
            )
        )
    elif contacts.weeks_above_cap:
        reasons.append(
            Reason(
                f"Sent more marketing than the company's cap of {contacts.cap_per_week} a week "
                f"in {contacts.weeks_above_cap} week(s)",
                "bad",
            )
        )
    broken = [p for p in promises.items if p.state == "broken"]
    if broken:
        latest = max(broken, key=lambda p: p.settled_at or p.due_at)
        when = _day(latest.settled_at or latest.due_at, zone)
        text = (
            f"A promise broken on {when}"
            if len(broken) == 1
            else f"{len(broken)} promises broken (latest {when})"
        )
        reasons.append(Reason(f"{text}: {latest.what}", "bad", latest.link))
    complaint_waits = [(c, c.first_response) for c in conversations if c.kind == Conversation.Kind.COMPLAINT]
    if complaint_waits:
        conversation, wait = max(complaint_waits, key=lambda cw: cw[1].working_minutes)
        # S14: a complaint is answered within one working day.
        if wait.working_minutes > conversation.working_day_minutes or wait.met is False:
            waited = _working_days(wait.working_minutes, conversation.working_day_minutes)
            still = " and is still waiting" if wait.ended_at is None else ""
            reasons.append(Reason(f"Waited {waited} for a complaint answer{still}", "bad", conversation.link))
    missed = sum(c.missed for c in conversations)
    if missed:
        worst = max(conversations, key=lambda c: c.missed)
        reasons.append(Reason(f"{missed} wait(s) longer than the SLA", "bad", worst.link))
    low = [s for s in feedback.satisfaction if s.score is not None and s.score <= 2]
    if low:
        reasons.append(Reason(f"Rated us {low[-1].score}/5 on {_day(low[-1].at, zone)}", "bad", low[-1].link))
    if feedback.spam_complaints:
        last = feedback.spam_complaints[-1]
        reasons.append(Reason(f"Reported our mail as spam on {_day(last.at, zone)}", "bad", last.link))
    if feedback.unsubscribes:
        last = feedback.unsubscribes[-1]
        reasons.append(
            Reason(
                f"Unsubscribed {len(feedback.unsubscribes)}× (latest {_day(last.at, zone)})",
                "attention",
                last.link,
            )
        )
    if repeats.total:
        parts = [
            (repeats.asked_known_facts, "asked for facts on file"),
            (repeats.asked_again, "asked again on another channel"),
            (repeats.identifiers_repeated, "gave an identifier we had"),
            (repeats.handoffs, "handed on"),
            (repeats.reopenings, "reopened"),
        ]
        words = ", ".join(f"{what} {n}×" for n, what in parts if n)
        first = repeats.items[0].link if repeats.items else None
        reasons.append(Reason(f"Had to repeat themselves: {words}", "attention", first))
    if feedback.complaints:
        reasons.append(
            Reason(f"Complained {len(feedback.complaints)}×", "attention", feedback.complaints[-1].link)
        )
    if feedback.bounces:
        reasons.append(
            Reason(f"{len(feedback.bounces)} message(s) bounced", "attention", feedback.bounces[-1].link)
        )
    if any(r.severity == "bad" for r in reasons):
        tone, headline = "bad", "Treated worse than they should have been"
    elif reasons:
        tone, headline = "attention", "Some things to look at"
    else:
        tone, headline = (
            "good",
            (
                f"Nothing in this period points to a bad experience: {contacts.total} message(s), "
                "within their choices; answers within the SLA"
            ),
        )
    return Verdict(tone=tone, headline=headline, reasons=reasons)
