"""What a customer is entitled to today for one purchase: one pure function (C5, S10).

No database and no clock: the terms, the purchase moment, the customer's time zone and
``now`` go in, the entitlement with its reasoning in words comes out, so every edge can be
tested exhaustively.

Days are counted on the customer's own calendar: the purchase day (in their time zone) is
day 0, the next day day 1. A window "0–40" covers days 0 to 40 inclusive, so a guarantee of
40 days ends at the close of day 40; ``to_day`` None means "from then on". A statutory
guarantee of N months applies up to the day before the same date N months later (a
purchase on 29 Feb counts to 28 Feb when that year has none); it takes precedence over a
shorter commercial window, and the remedies it gives are listed as the law's.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

LABELS = {
    "replacement": "replacement",
    "refund": "refund",
    "repair": "repair",
    "credit": "a goodwill credit",
    "goodwill": "goodwill at the agent's discretion",
    "other": "another remedy",
}


@dataclass(frozen=True)
class Remedy:
    kind: str
    max_amount: Decimal | None = None
    currency: str = ""
    source: str = "policy"  # "policy" or "law"

    def describe(self) -> str:
        text = LABELS.get(self.kind, self.kind)
        if self.max_amount is not None:
            text += f" {'of' if self.kind == 'credit' else 'up to'} {self.max_amount:.2f} {self.currency}".rstrip()
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "max_amount": str(self.max_amount) if self.max_amount is not None else None,
            "currency": self.currency,
            "source": self.source,
        }


@dataclass(frozen=True)
class Window:
    from_day: int
    to_day: int | None
    remedies: tuple[Remedy, ...]

    def covers(self, day: int) -> bool:
        return self.from_day <= day and (self.to_day is None or day <= self.to_day)

    def describe(self) -> str:
        span = (
            f"days {self.from_day}–{self.to_day}"
            if self.to_day is not None
            else f"from day {self.from_day} on"
        )
        return f"{span}: {_join(r.describe() for r in self.remedies)}"


@dataclass(frozen=True)
class PolicyTerms:
    name: str
    category: str
    version: int
    windows: tuple[Window, ...]
    wording: Mapping[str, str] = field(default_factory=dict)
    counted_from: str = "purchase"  # or "delivery": the windows start when the goods arrived


@dataclass(frozen=True)
class StatutoryTerms:
    country: str
    label: str
    months: int
    remedies: tuple[str, ...]
    wording: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entitlement:
    purchased_on: date
    today: date
    days_since_purchase: int
    window: Window | None
    delivered_on: date | None
    counted_from: str  # what the policy's windows were counted from here: "purchase" or "delivery"
    window_day: int  # the day of the policy's windows today
    guarantee_ends_on: date | None  # the last day of the commercial window that starts at day 0
    is_in_guarantee: bool
    statutory_label: str
    statutory_ends_on: date | None  # the last day the legal guarantee covers
    is_statutory: bool
    remedies: tuple[Remedy, ...]
    reasoning: tuple[str, ...]
    policy_version: int | None
    customer_wording: str

    @property
    def summary(self) -> str:
        return " ".join(self.reasoning)

    def allows(self, kind: str, amount: Decimal | None = None, currency: str = "") -> bool:
        for remedy in self.remedies:
            if remedy.kind != kind:
                continue
            if amount is None or remedy.max_amount is None:
                return True
            # A limit of 10 EUR says nothing about 10 GBP: another currency is outside the policy.
            if currency and remedy.currency and currency.upper() != remedy.currency.upper():
                continue
            if amount <= remedy.max_amount:
                return True
        return False

    def as_dict(self) -> dict[str, object]:
        return {
            "purchased_on": self.purchased_on.isoformat(),
            "days_since_purchase": self.days_since_purchase,
            "delivered_on": self.delivered_on.isoformat() if self.delivered_on else None,
            "counted_from": self.counted_from,
            "window_day": self.window_day,
            "window": self.window.describe() if self.window else None,
            "guarantee_ends_on": self.guarantee_ends_on.isoformat() if self.guarantee_ends_on else None,
            "is_in_guarantee": self.is_in_guarantee,
            "statutory": self.statutory_label or None,
            "statutory_ends_on": self.statutory_ends_on.isoformat() if self.statutory_ends_on else None,
            "is_statutory": self.is_statutory,
            "remedies": [r.as_dict() for r in self.remedies],
            "reasoning": list(self.reasoning),
            "policy_version": self.policy_version,
            "customer_wording": self.customer_wording,
        }


def _join(parts: Iterable[str]) -> str:
    items = list(parts)
    if not items:
        return "nothing"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _ago(days: int) -> str:
    return "today" if days == 0 else ("1 day ago" if days == 1 else f"{days} days ago")


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (29 Feb → 28 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def evaluate(
    *,
    product: str,
    category: str,
    terms: PolicyTerms | None,
    statutory: StatutoryTerms | None,
    purchased_at: datetime,
    time_zone: str,
    now: datetime,
    language: str = "en",
    delivered_at: datetime | None = None,
) -> Entitlement:
    zone = ZoneInfo(time_zone)
    purchased_on = purchased_at.astimezone(zone).date()
    delivered_on = delivered_at.astimezone(zone).date() if delivered_at else None
    today = now.astimezone(zone).date()
    bought_days = (today - purchased_on).days
    reasoning = [
        f"Bought {_day(purchased_on)}, {_ago(bought_days)}."
        if bought_days >= 0
        else f"Bought {_day(purchased_on)}."
    ]
    if delivered_on is not None:
        reasoning.append(f"Delivered {_day(delivered_on)}, {_ago((today - delivered_on).days)}.")
    subject = (category or product).capitalize()
    counted_from = "purchase"
    start = purchased_on
    if terms is not None and terms.counted_from == "delivery":
        if delivered_on is not None:
            counted_from, start = "delivery", delivered_on
        else:
            reasoning.append(
                "The policy counts from delivery; no delivery date on file, so from the purchase."
            )
    days = (today - start).days

    window = None
    guarantee_ends_on = None
    is_in_guarantee = False
    remedies: list[Remedy] = []
    if terms is None:
        reasoning.append(f"{subject}: no remedy policy on file.")
    else:
        since = " from delivery" if counted_from == "delivery" else ""
        first = next((w for w in terms.windows if w.from_day == 0 and w.to_day is not None), None)
        if first is not None and first.to_day is not None:
            guarantee_ends_on = start + timedelta(days=first.to_day)
            is_in_guarantee = first.covers(days)
            if is_in_guarantee:
                left = first.to_day - days
                reasoning.append(
                    f"{subject}: commercial guarantee {first.to_day} days{since} — until"
                    f" {_day(guarantee_ends_on)} ({left} day{'s' if left != 1 else ''} left)."
                )
            else:
                reasoning.append(
                    f"{subject}: commercial guarantee {first.to_day} days{since} — ended {_day(guarantee_ends_on)}."
                )
        window = next((w for w in terms.windows if w.covers(days)), None)
        if window is None:
            reasoning.append(f"No window of the policy covers day {days}.")
        else:
            remedies.extend(window.remedies)
            if window is not first:
                reasoning.append(f"Now in {window.describe()}.")
            else:
                reasoning.append(f"Offers {_join(r.describe() for r in window.remedies)}.")

    statutory_ends_on = None
    is_statutory = False
    label = ""
    if statutory is not None:
        label = statutory.label
        # The EU's legal guarantee runs from delivery (Directive 2019/771, Art. 10); the purchase
        # stands in while no delivery date is on file.
        legal_start = delivered_on or purchased_on
        statutory_ends_on = add_months(legal_start, statutory.months) - timedelta(days=1)
        years = (
            f"{statutory.months // 12} years" if statutory.months % 12 == 0 else f"{statutory.months} months"
        )
        is_statutory = (today - legal_start).days >= 0 and today <= statutory_ends_on
        if is_statutory:
            legal = [Remedy(kind=k, source="law") for k in statutory.remedies]
            offered = {r.kind for r in remedies}
            remedies.extend(r for r in legal if r.kind not in offered)
            reasoning.append(
                f"{label} {years} — applies until {_day(statutory_ends_on)}:"
                f" {_join(LABELS.get(k, k) for k in statutory.remedies)}."
            )
        else:
            reasoning.append(f"{label} {years} — ended {_day(statutory_ends_on)}.")
    wording = ""
    if terms is not None:
        wording = (
            terms.wording.get(language)
            or terms.wording.get(language.split("-")[0])
            or terms.wording.get("en", "")
        )
    return Entitlement(
        purchased_on=purchased_on,
        today=today,
        days_since_purchase=bought_days,
        window=window,
        delivered_on=delivered_on,
        counted_from=counted_from,
        window_day=days,
        guarantee_ends_on=guarantee_ends_on,
        is_in_guarantee=is_in_guarantee,
        statutory_label=label,
        statutory_ends_on=statutory_ends_on,
        is_statutory=is_statutory,
        remedies=tuple(remedies),
        reasoning=tuple(reasoning),
        policy_version=terms.version if terms else None,
        customer_wording=wording,
    )
