"""Campaign planning for a large audience: time and memory, beside a bare id stream (issue 4).

1,000,000 customers × scale (every second one with newsletter consent) are written with
COPY into a fresh PostgreSQL database. In child processes, one after the other:

- the reference: `SELECT id FROM customers_customer` streamed from a server-side cursor;
- the gate evaluation of a campaign whose audience is everyone (`campaign_gate_plan`:
  keyset chunks of 5,000, the gate's state loaded per chunk, the gate asked per person),
  with resident memory sampled at 10%, 50% and 100% of the audience;
- the launch of that campaign (`campaign_launch`: one outbox row per person, planned in
  chunks with one INSERT … SELECT each), time and peak memory.

Goal: the gate evaluation ≤ 60 s at full scale, memory that does not grow with the audience.

    python -m tests.bench.run --only gate --scale 0.05
"""

from __future__ import annotations

import os
from typing import Any

from tests.bench import outreach_setup as setup

DATABASE = "regard_bench_gate"
FULL_CUSTOMERS = 1_000_000
GOAL_SECONDS = 60.0


def run(scale: float) -> None:
    customers = max(10_000, round(FULL_CUSTOMERS * scale))
    url = setup.database_url(DATABASE)
    setup.database_recreate(DATABASE)
    try:
        setup.migrate(url)
        took = setup.load(url, customers=customers, consenting_every=2)
        print(f"loaded {customers:,} customers (every second one with newsletter consent) in {took:.1f} s")
        load_before = os.getloadavg()
        stream: Any = setup.run_step("stream", url)
        plan: Any = setup.run_step("plan", url)
        launch: Any = setup.run_step("launch", url)
        load_after = os.getloadavg()
    finally:
        if not os.environ.get("REGARD_BENCH_KEEP"):
            setup.database_drop(DATABASE)

    print("\n| step | customers | seconds | customers/s | × reference time | memory MB (start → peak) |")
    print("|---|---|---|---|---|---|")
    ref = stream["seconds"]
    for name, count, seconds, start, peak in (
        ("reference: SELECT id stream", stream["rows"], ref, stream["baseline_mb"], stream["peak_mb"]),
        ("gate evaluation (campaign_gate_plan)", plan["audience"], plan["seconds"], plan["baseline_mb"],
         plan["samples"][-1]["peak_mb"]),
        ("launch (campaign_launch)", launch["planned"], launch["seconds"], launch["baseline_mb"], launch["peak_mb"]),
    ):  # fmt: skip
        print(
            f"| {name} | {count:,} | {seconds:.1f} | {count / seconds:,.0f} | {seconds / ref:.0f}× "
            f"| {start:.0f} → {peak:.0f} |"
        )
    print("\nmemory of the gate evaluation as the audience is walked:")
    for sample in plan["samples"]:
        print(
            f"  {sample['at']:>4} ({sample['customers']:,} customers, {sample['seconds']:.1f} s): "
            f"resident {sample['rss_mb']:.0f} MB, peak so far {sample['peak_mb']:.0f} MB"
        )
    print(f"gate outcomes: {plan['by_outcome']}; reasons: {plan['by_reason']}")
    growth = plan["samples"][-1]["peak_mb"] - plan["samples"][0]["peak_mb"]
    print(
        f"goal ≤ {GOAL_SECONDS:.0f} s at full scale: {plan['seconds']:.1f} s "
        f"({'met' if plan['seconds'] <= GOAL_SECONDS * scale else 'NOT met'} at this scale's share); "
        f"peak memory grew {growth:+.0f} MB from 10% to 100% of the audience"
    )
    print(
        f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after, {os.cpu_count()} CPUs"
    )
