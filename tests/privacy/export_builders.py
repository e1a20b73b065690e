"""A customer with data in every app, for the export tests (made through the services)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command

from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.insights.services.recovery import recovery_scan
from regard.matching.models import MatchCandidate
from regard.outreach.models import Journey, JourneyEnrollment
from regard.policies.services.exceptions import exception_log
from regard.policies.services.remedies import remedy_grant
from regard.support import services as support_services
from tests.customers.factories import make_customer, unique
from tests.insights.builders import NOW, Story, at, story

ATTACHMENT_BYTES = b"%PDF-1.4 receipt of the earphones \x00\x01\x02"


@dataclass
class Everything:
    customer: Customer
    absorbed: Customer
    story: Story


def everything(agent: User, **profile: Any) -> Everything:
    told = story(agent, **profile)
    customer = told.customer
    support_services.message_receive(
        conversation=told.complaint,
        body_text="Here is my receipt.",
        attachments=[support_services.AttachmentInput("receipt.pdf", "application/pdf", ATTACHMENT_BYTES)],
        now=at("11-04", "10:30"),
    )
    line = customer.orders.get().lines.get()
    remedy_grant(
        actor=agent,
        customer=customer,
        kind="goodwill",
        order_line=line,
        conversation=told.complaint,
        amount=Decimal("10.00"),
        currency="EUR",
        note="Sorry for the wait",
        request_text="Something for the trouble, please",
        now=at("11-04", "11:30"),
    )
    exception_log(
        customer=customer,
        request_text="Refund after the guarantee ended",
        action_taken="Goodwill credit",
        conversation=told.complaint,
        actor=agent,
        now=at("11-04", "11:40"),
    )
    recovery_scan(now=NOW)
    journey = Journey.objects.create(
        slug=f"welcome-{unique()}",
        name="Welcome",
        trigger="signup",
        purpose="newsletter",
        steps=[],
        created_at=at("10-01"),
    )
    JourneyEnrollment.objects.create(journey=journey, customer=customer, entered_at=at("10-02"))
    # A second profile of the same person, found as a duplicate and merged in.
    absorbed = make_customer(
        preferred_name="Second profile", identifiers=[("phone", f"+4930{unique():07d}")], now=at("10-05")
    )
    low, high = sorted([customer, absorbed], key=lambda c: c.pk)
    MatchCandidate.objects.create(
        customer_low=low,
        customer_high=high,
        probability=0.97,
        match_weight=9.1,
        explanation={"email": "same"},
        status=MatchCandidate.Status.ACCEPTED,
        created_at=at("10-06"),
        decided_by=agent,
        decided_at=at("10-06", "11:00"),
    )
    customer_services.customer_merge(
        survivor=customer, absorbed=absorbed, actor=agent, now=at("10-06", "11:00")
    )
    return Everything(customer=customer, absorbed=absorbed, story=told)


def run_tasks() -> None:
    """One pass over the queued export tasks, as `regard worker` runs them, in the test's own
    connection (the real worker opens its own, which PostgreSQL cannot see inside the test's
    transaction; ``test_export_pages`` runs the real worker in a transactional test)."""
    from django_tasks_db.models import DBTaskResult

    from regard.privacy.export import export_build_task

    for result in DBTaskResult.objects.ready().filter(task_path=export_build_task.module_path):
        result.claim("test")
        result.set_successful(result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"]))


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
