"""The desk's lookups, one each for the pages and the API: teams, assignees, attachments, webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from regard.errors import InvalidInput, NotFound, PermissionDenied
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import selectors, services, webhooks
from regard.support.models import Attachment, Team
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def _attachment() -> Attachment:
    customer = make_customer()
    conversation = services.conversation_open(
        customer=customer, channel="email", subject="Receipt", via="email"
    )
    services.message_receive(
        conversation=conversation,
        body_text="Attached.",
        attachments=[services.AttachmentInput("receipt.pdf", "application/pdf", b"%PDF-1.4")],
    )
    return Attachment.objects.get(message__conversation=conversation)


def test_an_attachment_is_read_by_a_desk_role_and_the_read_is_audited(make_user: Any) -> None:
    attachment = _attachment()
    agent = make_user(Role.AGENT)
    found = selectors.attachment_get(actor=agent, attachment_id=attachment.pk)
    assert bytes(found.data) == b"%PDF-1.4"
    read = AuditEntry.objects.get(object_type="attachment")
    assert (read.actor_id, read.customer_id, read.detail) == (
        agent.pk,
        attachment.message.conversation.customer_id,
        {"attachment": attachment.pk},
    )


def test_an_unknown_attachment_is_a_404_and_a_role_without_the_desk_a_403(make_user: Any) -> None:
    attachment = _attachment()
    with pytest.raises(NotFound) as raised:
        selectors.attachment_get(actor=make_user(Role.AGENT), attachment_id=987654)
    assert (raised.value.http_status, raised.value.field) == (404, "attachment_id")
    with pytest.raises(PermissionDenied):
        selectors.attachment_get(actor=make_user(Role.MARKETER), attachment_id=attachment.pk)
    assert not AuditEntry.objects.filter(object_type="attachment").exists()


def test_a_team_or_assignee_nobody_has_is_bad_input_naming_the_field(make_user: Any) -> None:
    Team.objects.create(name="Returns", slug="returns")
    assert selectors.team_get(slug="returns") is not None
    assert selectors.team_get(slug="") is None
    with pytest.raises(InvalidInput) as raised:
        selectors.team_get(slug="nobody")
    assert raised.value.field == "team"
    bea = make_user(Role.AGENT, username="bea")
    assert selectors.assignee_get(username="bea") == bea
    assert selectors.assignee_get(username="") is None
    bea.is_active = False
    bea.save(update_fields=["is_active"])
    with pytest.raises(InvalidInput) as raised:
        selectors.assignee_get(username="bea")
    assert raised.value.field == "assignee"


def test_webhook_endpoints_are_for_support_admins_and_adding_one_is_audited_without_its_secret(
    make_user: Any, settings: Any
) -> None:
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = True  # a loopback address, never called here
    admin = make_user(Role.ADMIN)
    endpoint = webhooks.endpoint_create(
        actor=admin, url="http://127.0.0.1:9/hook", secret="s" * 32, via="api"
    )
    assert selectors.webhook_endpoints(actor=admin) == [endpoint]
    with pytest.raises(PermissionDenied):
        selectors.webhook_endpoints(actor=make_user(Role.AGENT))
    entry = AuditEntry.objects.get(object_type="webhook_endpoint")
    assert (entry.actor_id, entry.object_id, entry.action) == (admin.pk, str(endpoint.pk), "create")
    assert "s" * 32 not in str(entry.detail)
