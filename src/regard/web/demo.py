"""Every app's demo story, in one visible list, for `regard demo` and `regard serve`.

Each step makes its part once and returns a line per thing it made (nothing when it exists),
so running the list again after the administrator exists fills in what needed a user.
"""

from __future__ import annotations

from collections.abc import Callable

from regard.insights.demo_dashboard import dashboard_demo_ensure
from regard.insights.demo_mirror import mirror_demo_ensure
from regard.insights.demo_recovery import recovery_demo_ensure
from regard.policies.demo import exceptions_demo_ensure, promises_demo_ensure, remedies_demo_ensure
from regard.support.demo import support_demo_ensure

DEMO_STORIES: list[Callable[[], list[str]]] = [
    support_demo_ensure,  # C4: a team, its address, conversations on every channel (S10, S14, S17)
    remedies_demo_ensure,  # C5: the earphones policy beside Mr Dent's complaint (S10)
    promises_demo_ensure,  # C5: a callback due tomorrow and a broken promise (S22)
    exceptions_demo_ensure,  # C5: six requests for a longer guarantee, waiting for a decision (S11)
    mirror_demo_ensure,  # C6: the customer the company over-contacted and let wait (S23)
    dashboard_demo_ensure,  # C6: a hundred days of service history, one team slower than the other (S21)
    recovery_demo_ensure,  # C6: the bad experiences above, on the recovery worklist (S24); last, it reads them
]


def demo_stories_ensure() -> list[str]:
    return [line for story in DEMO_STORIES for line in story()]
