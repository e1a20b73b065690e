"""Promise language in an agent's draft, in English and German (C5, S22).

"We'll call you back tomorrow", "your replacement ships within 3 days", "wir rufen Sie morgen
zurück", "Ihr Ersatz wird innerhalb von 3 Werktagen versandt": a sentence is read as a promise
when it commits us (a future "we/I", or "your replacement will/ships"), names something we
can track (a callback, a shipment, a refund, a credit, getting back to the customer) and says
when. Without all three it is not offered: an ordinary sentence, a refusal ("we can't promise"),
a question, or something done already ("we called you yesterday") is not a promise.

A small grammar of our own rather than a date library: the phrases agents use for due dates
are few (relative days, weekdays, "within N (working) days", explicit dates), and this reads
them offline, in both languages, with tests for each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from regard.support.working_time import WorkingCalendar

_F = re.IGNORECASE

# --- does the sentence commit us? ---------------------------------------------------------------

_COMMIT = re.compile(
    r"\b(?:we|i)(?:['’]ll|\s+will|\s+shall|['’]re\s+going\s+to|\s+are\s+going\s+to|['’]m\s+going\s+to"
    r"|\s+am\s+going\s+to|\s+promise\s+to)\b"
    r"|\b(?:your|the)\s+(?:\w+\s+){0,2}?(?:replacement|refund|credit|order|parcel|package|item|pair|device|"
    r"unit|money)\b[^.?!]{0,40}?\b(?:will|ships|is\s+shipping|arrives|goes\s+out|is\s+sent)\b"
    r"|\byou(?:['’]ll|\s+will)\s+(?:receive|get|have|hear)\b"
    # German: present tense with a time is the ordinary future ("wir rufen Sie morgen zurück").
    r"|\b(?:wir|ich)\s+(?:werden|werde|rufen|rufe|melden|melde|schicken|schicke|senden|sende|versenden|"
    r"versende|erstatten|erstatte|schreiben|schreibe|überweisen|überweise|kümmern|kümmere|veranlassen|"
    r"veranlasse)\b"
    r"|\b(?:ihr|ihre|ihren|der|die|das)\s+(?:\w+\s+){0,2}?(?:ersatz\w*|erstattung|gutschrift|bestellung|"
    r"paket|gerät|geld|austausch\w*|rückruf)\b[^.?!]{0,60}?\b(?:wird|werden|geht|kommt)\b"
    r"|\bsie\s+(?:erhalten|bekommen|hören)\b",
    _F,
)
_REFUSAL = re.compile(
    r"\b(?:can['’]?t|cannot|can\s+not|won['’]t|will\s+not|(?:we|i)['’]ll\s+not|unable\s+to|not\s+able\s+to|"
    r"no\s+longer|never|nicht|keine?n?|niemals)\b",
    _F,
)

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "callback",
        re.compile(
            r"\bcall(?:ing)?\s+you\b|\bring\s+you\b|\bphone\s+you\b|\bgive\s+you\s+a\s+(?:call|ring)\b|"
            r"\bcallback\b|\brufen?\s+sie\b[^.?!]*\b(?:an|zurück)\b|\bzurückrufen\b|\banrufen\b|\brückruf\b",
            _F,
        ),
    ),
    ("refund", re.compile(r"\brefund|\berstatt|\bzurückerstatt|\bzurücküberweis|\bgeld\s+zurück", _F)),
    ("credit", re.compile(r"\bcredit|\bgutschrift|\bgutschreiben|\bgutgeschrieben", _F)),
    (
        "shipment",
        re.compile(
            r"\bship|\bdispatch|\bsend\s+(?:you\s+)?(?:a|the|your)\b|\bon\s+its\s+way\b|\bdeliver|\barriv|"
            r"\breplacement|\bnew\s+pair|\bversand|\bversend|\bverschick|\bschicken|\bsenden|\bgeliefert|"
            r"\bliefern|\bzugestellt|\bunterwegs|\bersatz",
            _F,
        ),
    ),
    (
        "follow_up",
        re.compile(
            r"\bget\s+back\s+to\s+you\b|\bbe\s+in\s+touch\b|\bfollow\s+up\b|\bupdate\s+you\b|\blet\s+you\s+know\b|"
            r"\bwrite\s+to\s+you\b|\bemail\s+you\b|\bhear\s+from\s+(?:us|me)\b|\bmelden?\s+(?:uns|mich)\b|"
            r"\bmelde\s+mich\b|\brückmeldung\b|\binformieren\b|\bschreiben\s+(?:ihnen|wir)\b|\bantworten\b",
            _F,
        ),
    ),
)

# --- when? ----------------------------------------------------------------------------------------

_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "a": 1, "an": 1, "ein": 1, "eins": 1, "eine": 1, "einem": 1, "einen": 1, "einer": 1, "zwei": 2,
    "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
}  # fmt: skip
_NUMBER = r"(\d{1,2}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonnabend": 5,
    "sonntag": 6,
}  # fmt: skip
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4,
    "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "dezember": 12, "okt": 10, "dez": 12,
}  # fmt: skip
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")"

_WITHIN_WORKING = re.compile(
    rf"\b(?:within|in|inside)\s+(?:the\s+next\s+)?{_NUMBER}\s+(?:working|business)\s+days?\b"
    rf"|\b(?:innerhalb\s+(?:von\s+)?|in\s+|binnen\s+)(?:den\s+nächsten\s+)?{_NUMBER}\s+(?:werk|arbeits)tage?n?\b",
    _F,
)
_WITHIN_DAYS = re.compile(
    rf"\b(?:within|in|inside)\s+(?:the\s+next\s+)?{_NUMBER}\s+days?\b"
    rf"|\b(?:innerhalb\s+(?:von\s+)?|in\s+|binnen\s+)(?:den\s+nächsten\s+)?{_NUMBER}\s+tage?n?\b",
    _F,
)
_WITHIN_HOURS = re.compile(
    rf"\b(?:within|in)\s+(?:the\s+next\s+)?{_NUMBER}\s+hours?\b"
    rf"|\b(?:innerhalb\s+(?:von\s+)?|in\s+|binnen\s+)(?:den\s+nächsten\s+)?{_NUMBER}\s+stunden?\b",
    _F,
)
_DAY_AFTER_TOMORROW = re.compile(r"\b(?:the\s+day\s+after\s+tomorrow|übermorgen)\b", _F)
_TOMORROW = re.compile(r"\btomorrow\b|(?<!guten\s)(?<!am\s)(?<!heute\s)(?<!gestern\s)\bmorgen\b", _F)
_TODAY = re.compile(r"\b(?:today|this\s+(?:afternoon|evening)|later\s+today|heute)\b", _F)
_END_OF_WEEK = re.compile(r"\b(?:(?:by\s+)?the\s+end\s+of\s+(?:the|this)\s+week|ende\s+der\s+woche)\b", _F)
_NEXT_WEEK = re.compile(r"\b(?:next\s+week|nächste[rn]?\s+woche|kommende[rn]?\s+woche)\b", _F)
_ON_WEEKDAY = re.compile(rf"\b{_WEEKDAY}\b", _F)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?!\d)")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH}(?:\s+(\d{{4}}))?\b", _F)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", _F)
_PAST = re.compile(r"\b(?:yesterday|ago|last\s+week|gestern|vorgestern|letzte[nr]?\s+woche)\b", _F)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class ReadPromise:
    """A promise read in a draft: what kind, the sentence, and the due time it names."""

    kind: str
    sentence: str
    due_at: datetime | None = None  # a moment, when the draft names a day or hours
    due_working_days: int | None = None  # "within N working days": counted on the team's calendar
    due_text: str = ""  # the words that said when


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.casefold()]


def _close_of(day: date, calendar: WorkingCalendar) -> datetime:
    """End of business on ``day``, or 17:00 there when the desk is closed that day."""
    intervals = calendar.intervals_on(day)
    if intervals:
        return intervals[-1][1]
    return datetime.combine(day, time(17, 0), tzinfo=calendar.zone)


def _explicit_date(sentence: str, today: date) -> tuple[date, str] | None:
    found: tuple[int, int, int | None, str] | None = None
    if m := _ISO_DATE.search(sentence):
        found = (int(m.group(3)), int(m.group(2)), int(m.group(1)), m.group(0))
    elif m := _DAY_MONTH.search(sentence):
        found = (
            int(m.group(1)),
            _MONTHS[m.group(2).casefold()],
            int(m.group(3)) if m.group(3) else None,
            m.group(0),
        )
    elif m := _MONTH_DAY.search(sentence):
        found = (
            int(m.group(2)),
            _MONTHS[m.group(1).casefold()],
            int(m.group(3)) if m.group(3) else None,
            m.group(0),
        )
    elif m := _DOTTED_DATE.search(sentence):
        year = m.group(3)
        found = (
            int(m.group(1)),
            int(m.group(2)),
            (2000 + int(year) if len(year) == 2 else int(year)) if year else None,
            m.group(0),
        )
    if found is None:
        return None
    day_number, month, year, text = found
    try:
        day = date(year or today.year, month, day_number)
    except ValueError:
        return None
    if year is None and day < today:
        day = date(today.year + 1, month, day_number)  # "5 January" said in December
    return day, text


def read_due(
    sentence: str, *, now: datetime, calendar: WorkingCalendar
) -> tuple[datetime | None, int | None, str] | None:
    """The due time a sentence names: (moment, working days, words), or None when it names none."""
    today = now.astimezone(calendar.zone).date()
    if m := _WITHIN_WORKING.search(sentence):
        return None, _number(next(g for g in m.groups() if g)), m.group(0)
    if m := _WITHIN_HOURS.search(sentence):
        return now + timedelta(hours=_number(next(g for g in m.groups() if g))), None, m.group(0)
    if m := _WITHIN_DAYS.search(sentence):
        days = _number(next(g for g in m.groups() if g))
        return _close_of(today + timedelta(days=days), calendar), None, m.group(0)
    if m := _DAY_AFTER_TOMORROW.search(sentence):
        return _close_of(today + timedelta(days=2), calendar), None, m.group(0)
    if m := _TOMORROW.search(sentence):
        return _close_of(today + timedelta(days=1), calendar), None, m.group(0)
    if explicit := _explicit_date(sentence, today):
        return _close_of(explicit[0], calendar), None, explicit[1]
    if m := _END_OF_WEEK.search(sentence):
        return _close_of(today + timedelta(days=(4 - today.weekday()) % 7), calendar), None, m.group(0)
    if m := _NEXT_WEEK.search(sentence):
        return _close_of(today + timedelta(days=7 - today.weekday() + 4), calendar), None, m.group(0)
    if m := _ON_WEEKDAY.search(sentence):
        ahead = (
            _WEEKDAYS[m.group(1).casefold()] - today.weekday()
        ) % 7 or 7  # "by Friday" said on a Friday: next week
        return _close_of(today + timedelta(days=ahead), calendar), None, m.group(0)
    if m := _TODAY.search(sentence):
        return _close_of(today, calendar), None, m.group(0)
    return None


def _sentences(text: str) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() in {"--", "-- "}:
            break  # the signature follows
        if line.lstrip().startswith(">"):
            continue  # the customer's quoted words are not our promises
        lines.append(line)
    return [s.strip() for s in _SENTENCE_END.split("\n".join(lines)) if s.strip()]


def read_promises(text: str, *, now: datetime, calendar: WorkingCalendar) -> list[ReadPromise]:
    """Every promise the draft makes, in order, with the kind and due time it read."""
    found: list[ReadPromise] = []
    for sentence in _sentences(text):
        if sentence.endswith("?") or not _COMMIT.search(sentence) or _REFUSAL.search(sentence):
            continue
        if _PAST.search(sentence):
            continue  # "we sent it yesterday, you'll have it soon": a report, not a new promise
        kind = next((name for name, pattern in _KINDS if pattern.search(sentence)), None)
        if kind is None:
            continue
        due = read_due(sentence, now=now, calendar=calendar)
        if due is None:
            continue
        due_at, working_days, due_text = due
        if due_at is not None and due_at <= now:
            continue  # "today" after closing time: nothing left to read as a promise
        found.append(
            ReadPromise(
                kind=kind,
                sentence=sentence[:500],
                due_at=due_at,
                due_working_days=working_days,
                due_text=due_text,
            )
        )
    return found
