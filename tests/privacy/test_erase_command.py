"""`regard erase`: the erasure service from the command line, with its checks (Art. 17)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from regard.customers.models import Customer, Identifier
from regard.privacy.models import AuditEntry, Tombstone
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


def erase(*args: str) -> str:
    out = StringIO()
    call_command("erase", *args, stdout=out)
    return out.getvalue().strip()


def test_an_admin_erases_from_the_command_line_and_the_audit_log_names_them(make_user: Any) -> None:
    admin = make_user(Role.ADMIN, username=f"dpo{unique()}")
    person = make_customer(preferred_name="Ada", identifiers=[("email", f"ada{unique()}@example.org")])
    said = erase(str(person.pk), "--reason", "request by letter", "--as", admin.username, "--yes")
    assert said == f"erased customer {person.pk} (1 profile, 1 identifiers kept as keyed hashes only)"
    person.refresh_from_db()
    assert person.erased_at is not None
    assert person.preferred_name == ""
    assert not Identifier.objects.filter(customer=person).exists()
    assert Tombstone.objects.count() == 1
    assert AuditEntry.objects.filter(actor=admin, customer_id=person.pk, via="cli").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reason", "asked", "--as", "{admin}"], "yes: erasure cannot be undone; add --yes to confirm"),
        (["--reason", "asked", "--as", "nobody", "--yes"], "as: no active user 'nobody'"),
        (["--reason", "asked", "--as", "{agent}", "--yes"], "Your role does not allow 'customer.erase'."),
        (["--reason", "  ", "--as", "{admin}", "--yes"], "reason:"),
    ],
)
def test_refusals_are_one_line_naming_the_field_and_change_nothing(
    make_user: Any, args: list[str], message: str
) -> None:
    admin = make_user(Role.ADMIN, username=f"admin{unique()}")
    agent = make_user(Role.AGENT, username=f"agent{unique()}")
    person = make_customer(preferred_name="Ada", identifiers=[("email", f"ada{unique()}@example.org")])
    filled = [a.format(admin=admin.username, agent=agent.username) for a in args]
    with pytest.raises(CommandError) as refused:
        erase(str(person.pk), *filled)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    assert Customer.objects.get(pk=person.pk).erased_at is None
    assert Tombstone.objects.count() == 0


def test_an_unknown_customer_is_named(make_user: Any) -> None:
    admin = make_user(Role.ADMIN, username=f"admin{unique()}")
    with pytest.raises(CommandError, match="No customer with id 987654"):
        erase("987654", "--reason", "asked", "--as", admin.username, "--yes")
