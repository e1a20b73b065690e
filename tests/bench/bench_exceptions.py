"""Grouping the exceptions registry: 100,000 requests outside policy (C5, S11).

Synthetic requests in English and German, drawn from 40 kinds of request (a free repair
after the guarantee, a refund without the receipt, delivery to a parcel shop abroad, ...)
with varied wording, names and order numbers, are grouped by ``similarity.group_requests``
— what ``regard exceptions regroup`` runs over the whole registry. The reference in the
same run is the floor under it: fitting and transforming the same TF-IDF vectors alone,
with no grouping. Prints both, their ratio, the number of groups found and their purity
against the kind each request was drawn from.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter

KINDS_EN = [
    "repair my {item} for free although the guarantee ended",
    "refund the {item} without the receipt",
    "deliver my order to a parcel shop in {country}",
    "exchange the {item} for another colour after {days} days",
    "return the opened {item} for a full refund",
    "send a replacement {item} before I send the broken one back",
    "extend the warranty of my {item} by a year",
    "pay for my {item} in instalments",
    "keep the {item} and get part of the money back",
    "cancel my order after it was shipped",
    "price match the {item} with another shop",
    "waive the shipping costs for the return of the {item}",
    "repair the {item} I bought from another shop",
    "split my order into two deliveries",
    "give me a discount because the {item} arrived late",
    "deliver on a Sunday",
    "change the address after the order left the warehouse",
    "send the invoice to my employer",
    "refund in cash instead of to the card",
    "reserve the {item} until next month",
]
KINDS_DE = [
    "das {item} kostenlos reparieren obwohl die Garantie abgelaufen ist",
    "das {item} ohne Kassenbon erstatten",
    "meine Bestellung an eine Packstation in {country} liefern",
    "das {item} nach {days} Tagen gegen eine andere Farbe tauschen",
    "das geöffnete {item} gegen volle Erstattung zurückgeben",
    "ein Ersatzgerät schicken bevor ich das defekte {item} zurücksende",
    "die Garantie für mein {item} um ein Jahr verlängern",
    "das {item} in Raten bezahlen",
    "das {item} behalten und einen Teil des Geldes zurückbekommen",
    "meine Bestellung nach dem Versand stornieren",
    "den Preis des {item} an einen anderen Shop anpassen",
    "die Versandkosten für die Rücksendung des {item} erlassen",
    "das {item} reparieren das ich woanders gekauft habe",
    "meine Bestellung in zwei Lieferungen aufteilen",
    "einen Rabatt geben weil das {item} zu spät kam",
    "am Sonntag liefern",
    "die Adresse ändern nachdem die Bestellung das Lager verlassen hat",
    "die Rechnung an meinen Arbeitgeber schicken",
    "bar erstatten statt auf die Karte",
    "das {item} bis nächsten Monat reservieren",
]
OPENINGS_EN = ["Could you", "Can you please", "I would like you to", "Is it possible to", "Please"]
OPENINGS_DE = ["Könnten Sie", "Können Sie bitte", "Ich möchte dass Sie", "Ist es möglich", "Bitte"]
ITEMS_EN = ["earphones", "charger", "kettle", "headphones", "speaker", "watch"]
ITEMS_DE = ["Kopfhörer", "Ladegerät", "Wasserkocher", "Lautsprecher", "Uhr"]
COUNTRIES = ["Austria", "France", "Poland", "Italy", "Denmark"]
NAMES = ["Anna", "Jonas", "Mika", "Lea", "Arthur", "Sofia", "Paul", "Emma"]


def _requests(count: int, seed: int = 7) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts: list[str] = []
    kinds: list[int] = []
    for _ in range(count):
        german = rng.random() < 0.4
        kind = rng.randrange(len(KINDS_EN))
        template = (KINDS_DE if german else KINDS_EN)[kind]
        body = template.format(
            item=rng.choice(ITEMS_DE if german else ITEMS_EN),
            country=rng.choice(COUNTRIES),
            days=rng.randrange(20, 90),
        )
        opening = rng.choice(OPENINGS_DE if german else OPENINGS_EN)
        sign_off = f"{rng.choice(NAMES)}, order R-{rng.randrange(10000, 99999)}"
        texts.append(f"{opening} {body}? {sign_off}")
        kinds.append(kind * 2 + int(german))
    return texts, kinds


def _purity(labels: list[int], kinds: list[int]) -> float:
    """Share of requests whose group's most common kind is their own."""
    by_group: dict[int, Counter[int]] = {}
    for label, kind in zip(labels, kinds, strict=True):
        by_group.setdefault(label, Counter())[kind] += 1
    agreeing = sum(counts.most_common(1)[0][1] for counts in by_group.values())
    return agreeing / len(labels)


def run(scale: float) -> None:
    from regard.policies.similarity import group_requests, request_vectors

    count = max(1_000, int(100_000 * scale))
    texts, kinds = _requests(count)
    subprocess.run(["uptime"], check=False)

    started = time.perf_counter()
    request_vectors(texts)
    vectorising = time.perf_counter() - started

    started = time.perf_counter()
    labels = group_requests(texts)
    grouping = time.perf_counter() - started

    print(f"{count:,} requests in {len(set(kinds))} kinds (English and German)")
    print(f"  TF-IDF vectors alone (reference)  {vectorising:7.2f} s")
    print(
        f"  group_requests                    {grouping:7.2f} s  "
        f"({grouping / vectorising:.1f}× the reference, {count / grouping:,.0f} requests/s)"
    )
    print(f"  groups found {len(set(labels)):,}; purity against the drawn kind {_purity(labels, kinds):.3f}")
    subprocess.run(["uptime"], check=False)
