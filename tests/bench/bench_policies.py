"""The conversation page with the entitlement beside it, against the same page without (C5, S10).

Creates a fresh embedded database in a temporary directory (migrated by `regard migrate`),
a customer with 20 orders of earphones and chargers bought over two years, the earphones
policy and a conversation of 30 messages. Then, in one process, the same page is fetched
N times with the entitlement panel registered and N times with it removed, alternating in
rounds so a noisy machine weighs on both alike. Prints p50/p95 and the query count of each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(scale: float) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"REGARD_DATA_DIR": data_dir}
        subprocess.run(["uptime"], check=False)
        subprocess.run([sys.executable, "-m", "regard.config.cli", "migrate", "-v", "0"], env=env, check=True)
        subprocess.run(
            [sys.executable, "-c", f"from tests.bench.bench_policies import _measure; _measure({scale})"],
            env=env
            | {"DJANGO_SETTINGS_MODULE": "regard.config.settings", "DJANGO_ALLOW_ASYNC_UNSAFE": "true"},
            check=True,
        )
        subprocess.run(["uptime"], check=False)


def _measure(scale: float) -> None:
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from regard.customers import services as customer_services
    from regard.policies.demo import remedies_demo_ensure
    from regard.privacy.roles import Role
    from regard.privacy.services import user_create
    from regard.support import services as support_services
    from regard.support.panels import _sidebar_panels

    remedies_demo_ensure()
    agent = user_create(username="bench-agent", password=None, roles=[Role.AGENT])
    customer = customer_services.customer_create(
        actor=None,
        identifiers=[customer_services.IdentifierInput("email", "mika@example.org")],
        preferred_name="Mika",
        country="DE",
        time_zone="Europe/Berlin",
    )
    now = timezone.now()
    for number in range(20):
        customer_services.order_record(
            actor=None,
            customer=customer,
            order_number=f"R-{30000 + number}",
            purchased_at=now - timedelta(days=36 * number + 3),
            currency="EUR",
            lines=[
                customer_services.OrderLineInput(
                    sku="EAR-100" if number % 2 else "CHG-65",
                    quantity=1,
                    unit_price=Decimal("79.00"),
                    product_name="Aria wireless earphones" if number % 2 else "Fast charger 65 W",
                    category="earphones" if number % 2 else "chargers",
                )
            ],
        )
    conversation = support_services.conversation_open(
        customer=customer, channel="email", subject="No sound from my earphones", via="email"
    )
    for index in range(30):
        support_services.message_receive(
            conversation=conversation, body_text=f"Message {index}: the left one is silent."
        )
    client = Client()
    client.force_login(agent)
    url = f"/support/c/{conversation.pk}/"
    client.get(url)
    rounds, per_round = max(2, int(20 * scale)), 10
    timings: dict[str, list[float]] = {"with the entitlement": [], "without (reference)": []}
    queries: dict[str, int] = {}
    panel = _sidebar_panels["entitlement"]
    for _ in range(rounds):
        for label in timings:
            if label.startswith("without"):
                _sidebar_panels.pop("entitlement", None)
            else:
                _sidebar_panels["entitlement"] = panel
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            queries[label] = len(captured)
            for _ in range(per_round):
                started = time.perf_counter()
                response = client.get(url)
                timings[label].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
    _sidebar_panels["entitlement"] = panel
    reference = statistics.quantiles(timings["without (reference)"], n=20)[18]
    print("| page | requests | queries | p50 ms | p95 ms | p95 / reference |")
    print("|---|---|---|---|---|---|")
    for label, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[18]
        print(
            f"| conversation, {label} | {len(values)} | {queries[label]} | {statistics.median(values):.1f} |"
            f" {p95:.1f} | {p95 / reference:.2f}× |"
        )
