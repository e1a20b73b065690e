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
