import pytest
from django.test import Client

from regard.customers import services
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role


@pytest.mark.django_db
def test_back_office_pages_that_show_a_customer_write_a_read_audit_row(make_user) -> None:
    admin = make_user(Role.ADMIN)
    customer = services.customer_create(
        actor=None, preferred_name="Zed", identifiers=[services.IdentifierInput("email", "z@example.org")]
    )
    client = Client()
    client.force_login(admin)
    pages = [
        "/admin/customers/customer/",
        f"/admin/customers/customer/{customer.pk}/change/",
        "/admin/customers/identifier/",
        "/admin/customers/timelineevent/",
    ]
    for url in pages:
        reads = AuditEntry.objects.filter(customer_id=customer.pk, action="read", via="admin", actor=admin)
        before = reads.count()
        assert client.get(url).status_code == 200, url
        assert reads.count() == before + 1, url


@pytest.mark.django_db
def test_back_office_pages_of_conversations_messages_and_consent_audit_the_read(make_user) -> None:
    from regard.consent.services import consent_grant
    from regard.support import services as support

    admin = make_user(Role.ADMIN)
    customer = services.customer_create(
        actor=None, preferred_name="Yves", identifiers=[services.IdentifierInput("email", "y@example.org")]
    )
    conversation = support.conversation_open(customer=customer, channel="phone", subject="Boiler", via="test")
    support.message_receive(conversation=conversation, body_text="It is cold again.")
    consent_grant(actor=None, customer=customer, purpose="newsletter", channel="email", source="form")
    client = Client()
    client.force_login(admin)
    pages = [
        "/admin/support/conversation/",
        f"/admin/support/conversation/{conversation.pk}/change/",
        "/admin/support/message/",
        "/admin/consent/consentevent/",
        "/admin/outreach/inboundfeedback/",
    ]
    for url in pages:
        reads = AuditEntry.objects.filter(customer_id=customer.pk, action="read", via="admin", actor=admin)
        before = reads.count()
        assert client.get(url).status_code == 200, url
        expected = 0 if url.endswith("inboundfeedback/") else 1  # no feedback names Yves
        assert reads.count() == before + expected, url


@pytest.mark.django_db
def test_the_back_office_cannot_change_what_services_own(make_user) -> None:
    admin = make_user(Role.ADMIN)
    client = Client()
    client.force_login(admin)
    for url in [
        "/admin/support/conversation/add/",
        "/admin/consent/consentevent/add/",
        "/admin/outreach/campaign/add/",
    ]:
        assert client.get(url).status_code == 403, url
