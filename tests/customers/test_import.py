"""`regard import customers|orders FILE.csv` (issue 3, point 6; invariant 7)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.customers import normalise
from regard.customers.importing import customers_import
from regard.customers.models import Customer, Identifier, Order, OrderLine, Product, TimelineEvent
from regard.errors import RegardError
from regard.privacy.models import AuditEntry
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db

CUSTOMERS = """\
preferred_name,formality,salutation,given_name,family_name,date_of_birth,country,language,time_zone,email,phone,account
Anna,informal,,Anna,Weber,1980-02-03,DE,de,Europe/Berlin,Anna@Example.org,+49 151 23456789,AC-1
,formal,Dr,Ben,Okafor,,GB,en-GB,Europe/London,ben@example.org;b.okafor@example.org,,AC-2
Chloé,neutral,,Chloé,Dubois,,FR,fr,Europe/Paris,chloe@example.fr,,
"""


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(what: str, path: Path, *args: str) -> tuple[int, str]:
    """call_command the way `regard import` runs it: (exit code, stdout)."""
    out = io.StringIO()
    try:
        call_command("import_data", what, str(path), "--quiet", "--workers", "1", *args, stdout=out)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue().strip()
    return 0, out.getvalue().strip()


def error_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_good_file_imports_customers_identifiers_timeline_and_audit(tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOMERS)

    code, summary = run_import("customers", path)

    assert code == 0
    assert summary == "customers: 3 imported, 0 already present, 0 rejected"
    anna = Customer.objects.get(identifiers__kind="email", identifiers__value_normalised="anna@example.org")
    assert (anna.preferred_name, anna.formality, anna.language, anna.time_zone) == (
        "Anna",
        "informal",
        "de",
        "Europe/Berlin",
    )
    assert anna.date_of_birth is not None
    assert anna.date_of_birth.isoformat() == "1980-02-03"
    assert anna.source == "import"
    assert anna.search_text == "anna anna weber"
    assert sorted(anna.identifiers.values_list("kind", "value_normalised")) == [
        ("account", "ac-1"),
        ("email", "anna@example.org"),
        ("phone", "+4915123456789"),
    ]
    ben = Customer.objects.get(family_name="Okafor")
    assert ben.greeting == "Dear Dr Okafor"
    assert ben.identifiers.filter(kind="email").count() == 2  # "a;b" in one cell
    chloe = Customer.objects.get(family_name="Dubois")
    assert chloe.search_text == "chloe chloe dubois"
    for customer in (anna, ben, chloe):
        [event] = TimelineEvent.objects.filter(customer=customer)
        assert (event.kind, event.channel, event.subject_id) == (
            "customer.created",
            "import",
            str(customer.pk),
        )
        [entry] = AuditEntry.objects.filter(customer_id=customer.pk)
        assert (entry.action, entry.via, entry.actor_label, entry.object_type) == (
            "import",
            "cli",
            "system",
            "customer",
        )
    # Nothing was rejected, so the report holds only its header.
    assert error_rows(tmp_path / "data.errors.csv") == []


def test_bad_rows_are_reported_by_line_and_field_and_nothing_of_them_is_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "preferred_name,formality,date_of_birth,time_zone,country,email,phone\n"
        "Good,informal,,,,good@example.org,\n"
        '"Two\nlines",sometimes,1800-01-01,Mars/Base,DE,bad@example.org,\n'
        "Also bad,,,,,not-an-email,+1 555\n"
        "Nobody,,,,,,\n"
        "Fine,,,,,fine@example.org,\n",
    )

    code, summary = run_import("customers", path)

    assert code == 1
    assert summary == (
        f"customers: 2 imported, 0 already present, 3 rejected (errors in {tmp_path / 'data.errors.csv'})"
    )
    report = error_rows(tmp_path / "data.errors.csv")
    assert [(r["line"], r["field"]) for r in report] == [
        ("3", "formality"),
        ("3", "date_of_birth"),
        ("3", "time_zone"),
        ("5", "email"),
        ("5", "phone"),
        ("6", "identifiers"),
    ]
    assert report[0]["value"] == "sometimes"
    assert report[2]["message"].startswith("time_zone: 'Mars/Base' is not an IANA time zone")
    assert report[3]["value"] == "not-an-email"
    assert sorted(Customer.objects.values_list("preferred_name", flat=True)) == ["Fine", "Good"]
    assert not Identifier.objects.filter(value_normalised="bad@example.org").exists()
    assert TimelineEvent.objects.count() == 2
    assert AuditEntry.objects.filter(action="import").count() == 2


def test_running_the_same_file_twice_creates_nothing_new(tmp_path: Path) -> None:
    path = write(tmp_path, CUSTOMERS)
    run_import("customers", path)
    counts = (Customer.objects.count(), Identifier.objects.count(), TimelineEvent.objects.count())

    code, summary = run_import("customers", path)

    assert code == 0
    assert summary == "customers: 0 imported, 3 already present, 0 rejected"
    assert (Customer.objects.count(), Identifier.objects.count(), TimelineEvent.objects.count()) == counts


def test_a_customer_already_known_through_the_api_is_already_present(tmp_path: Path) -> None:
    make_customer(identifiers=[("email", "ANNA@example.org")])
    path = write(tmp_path, "preferred_name,email\nAnna,anna@EXAMPLE.org\n")

    assert run_import("customers", path) == (0, "customers: 0 imported, 1 already present, 0 rejected")


def test_the_same_identifier_twice_in_one_file_is_already_present_the_second_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "preferred_name,email,phone\nAnna,anna@example.org,+4915123456789\nAnna again,Anna@example.org,\n",
    )

    code, summary = run_import("customers", path, "--batch-size", "1")

    assert (code, summary) == (0, "customers: 1 imported, 1 already present, 0 rejected")
    assert Customer.objects.count() == 1


def test_identifiers_split_across_two_customers_are_rejected_naming_both(tmp_path: Path) -> None:
    anna = make_customer(identifiers=[("email", "anna@example.org")])
    ben = make_customer(identifiers=[("phone", "+4915123456789")])
    path = write(tmp_path, "email,phone\nanna@example.org,+49 151 23456789\n")

    code, _ = run_import("customers", path)

    assert code == 1
    [error] = error_rows(tmp_path / "data.errors.csv")
    assert error["line"] == "2"
    assert error["field"] == "phone"
    assert f"customer {anna.pk}" in error["message"]
    assert f"customer {ben.pk}" in error["message"]
    assert Customer.objects.count() == 2


def test_a_row_only_partly_known_is_rejected_and_changes_nobody(tmp_path: Path) -> None:
    anna = make_customer(identifiers=[("email", "anna@example.org")])
    path = write(tmp_path, "email,account\nanna@example.org,AC-9\n")

    code, _ = run_import("customers", path)

    assert code == 1
    [error] = error_rows(tmp_path / "data.errors.csv")
    assert (error["field"], error["value"]) == ("account", "ac-9")
    assert f"customer {anna.pk}" in error["message"]
    assert list(anna.identifiers.values_list("kind", flat=True)) == ["email"]


def test_validating_in_worker_processes_and_small_batches_gives_the_same_result(tmp_path: Path) -> None:
    rows = "".join(f"Person {i},person{i}@example.org,ACC-{i % 40}\n" for i in range(60))
    path = write(tmp_path, "preferred_name,email,account\n" + rows)

    report = customers_import(path=path, workers=2, batch_size=7)

    # Accounts repeat after 40 rows: those rows are partly known, so rejected.
    assert (report.imported, report.present, report.rejected) == (40, 0, 20)
    assert Customer.objects.count() == 40
    assert Identifier.objects.count() == 80


def test_a_missing_required_header_stops_before_anything_is_written(tmp_path: Path) -> None:
    path = write(tmp_path, "preferred_name,given_name\nAnna,Anna\n")

    with pytest.raises(CommandError, match="missing required column: at least one identifier column"):
        run_import("customers", path)

    with pytest.raises(CommandError, match="missing required column 'purchased_at'"):
        run_import("orders", write(tmp_path, "order_number,customer_email\nA-1,a@example.org\n", "o.csv"))
    with pytest.raises(CommandError, match="unknown column 'e-mail'"):
        run_import("customers", write(tmp_path, "e-mail\na@example.org\n", "typo.csv"))
    assert Customer.objects.count() == 0


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"nope\.csv: no such file"):
        run_import("customers", tmp_path / "nope.csv")


ORDERS_HEADER = "order_number,{column},purchased_at,currency,sku,product_name,category,quantity,unit_price\n"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("customer_email", "Anna@Example.org"),
        ("customer_phone", "+49 (151) 234-56789"),
        ("customer_account", "ac-1"),
        ("customer_id", None),
    ],
)
def test_orders_import_by_each_customer_column(tmp_path: Path, column: str, value: str | None) -> None:
    anna = make_customer(
        identifiers=[("email", "anna@example.org"), ("phone", "+4915123456789"), ("account", "AC-1")]
    )
    ref = value if value is not None else str(anna.pk)
    path = write(
        tmp_path,
        ORDERS_HEADER.format(column=column)
        + f"A-1,{ref},2025-03-01T14:30:00+01:00,eur,EAR-100,Aria earphones,earphones,1,79.00\n"
        + f"B-7,{ref},2025-03-05T09:00:00Z,EUR,CBL-2,Braided cable,accessories,2,15.00\n"
        + f"A-1,{ref},2025-03-01T14:30:00+01:00,eur,CBL-2,Braided cable,accessories,3,14.50\n",
    )

    code, summary = run_import("orders", path)

    assert (code, summary) == (0, "orders: 3 imported, 0 already present, 0 rejected")
    order = Order.objects.get(order_number="A-1")
    assert (order.customer_id, order.currency, order.source) == (anna.pk, "EUR", "import")
    assert [(line.product.sku, line.quantity, str(line.unit_price)) for line in order.lines.all()] == [
        ("EAR-100", 1, "79.00"),
        ("CBL-2", 3, "14.50"),
    ]
    assert Product.objects.get(sku="EAR-100").category == "earphones"
    # S20: the order number finds the person on any channel.
    assert Identifier.objects.get(kind="order", value_normalised="a-1").customer_id == anna.pk
    event = TimelineEvent.objects.get(kind="order.recorded", subject_id=str(order.pk))
    assert event.summary == "Order A-1: Aria earphones, Braided cable"
    assert event.occurred_at == order.purchased_at
    assert AuditEntry.objects.filter(action="import", object_type="order").count() == 2

    assert run_import("orders", path) == (0, "orders: 0 imported, 3 already present, 0 rejected")
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 3


def test_a_bad_order_line_keeps_its_whole_order_out(tmp_path: Path) -> None:
    make_customer(identifiers=[("email", "anna@example.org")])
    path = write(
        tmp_path,
        ORDERS_HEADER.format(column="customer_email")
        + "A-1,anna@example.org,2025-03-01T14:30:00+01:00,EUR,EAR-100,,,1,79.00\n"
        + "A-1,anna@example.org,2025-03-01T14:30:00+01:00,EUR,CBL-2,,,0,15.00\n"
        + "B-1,anna@example.org,2025-03-01T14:30:00,EUR,CBL-2,,,1,15.00\n"
        + "C-1,nobody@example.org,2025-03-01T14:30:00Z,EUR,CBL-2,,,1,15.00\n"
        + "D-1,anna@example.org,2025-03-01T14:30:00Z,EUR,CBL-2,,,1,15.001\n"
        + "E-1,anna@example.org,2025-03-01T14:30:00Z,EUR,CBL-2,,,1,15.00\n",
    )

    code, summary = run_import("orders", path)

    assert code == 1
    assert summary.startswith("orders: 1 imported, 0 already present, 5 rejected")
    report = {(r["line"], r["field"]) for r in error_rows(tmp_path / "data.errors.csv")}
    assert report == {
        ("3", "quantity"),
        ("2", "order_number"),  # the good line of order A-1 stays out with it
        ("4", "purchased_at"),
        ("5", "customer_email"),
        ("6", "unit_price"),
    }
    assert list(Order.objects.values_list("order_number", flat=True)) == ["E-1"]


def test_an_order_recorded_for_someone_else_is_a_conflict(tmp_path: Path) -> None:
    anna = make_customer(identifiers=[("email", "anna@example.org")])
    ben = make_customer(identifiers=[("email", "ben@example.org")])
    header = ORDERS_HEADER.format(column="customer_email")
    line = ",2025-03-01T14:30:00Z,EUR,CBL-2,,,1,15.00\n"
    run_import("orders", write(tmp_path, header + "A-1,anna@example.org" + line))

    code, _ = run_import("orders", write(tmp_path, header + "A-1,ben@example.org" + line, "again.csv"))

    assert code == 1
    [error] = error_rows(tmp_path / "again.errors.csv")
    assert error["field"] == "order_number"
    assert f"already recorded for customer {anna.pk}" in error["message"]
    assert not Order.objects.filter(customer=ben).exists()


def test_errors_option_puts_the_report_where_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "email\nnot-an-email\n")
    target = tmp_path / "reports" / "out.csv"
    target.parent.mkdir()

    code, summary = run_import("customers", path, "--errors", str(target))

    assert code == 1
    assert summary.endswith(f"(errors in {target})")
    assert [r["line"] for r in error_rows(target)] == ["2"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.emails(),
        st.text(alphabet="abcXYZ019._+-@ \"'é", max_size=30),
        st.from_regex(r"[a-z0-9.+_-]{1,70}@[a-z0-9.-]{1,40}", fullmatch=True),
    )
)
def test_the_fast_email_path_accepts_and_normalises_exactly_like_the_api(value: str) -> None:
    def outcome(check: object) -> str:
        try:
            return str(check(value, field="email"))  # type: ignore[operator]
        except RegardError:
            return "invalid"

    assert outcome(normalise.normalise_email) == outcome(normalise.normalise_email_fully)


def test_the_regard_command_exits_1_with_a_one_line_summary(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'regard.sqlite3'}",
        "REGARD_DATA_DIR": str(tmp_path),
    }
    regard = str(Path(sys.executable).with_name("regard"))

    def regard_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([regard, *args], env=env, capture_output=True, text=True, check=False)

    assert regard_run("migrate", "-v0").returncode == 0
    good = write(tmp_path, CUSTOMERS, "good.csv")
    bad = write(tmp_path, "email\nok@example.org\nnot-an-email\n", "bad.csv")

    first = regard_run("import", "customers", str(good))
    assert (first.returncode, first.stdout) == (0, "customers: 3 imported, 0 already present, 0 rejected\n")
    again = regard_run("import", "customers", str(good))
    assert (again.returncode, again.stdout) == (0, "customers: 0 imported, 3 already present, 0 rejected\n")
    rejected = regard_run("import", "customers", str(bad))
    assert rejected.returncode == 1
    assert rejected.stdout == (
        f"customers: 1 imported, 0 already present, 1 rejected (errors in {tmp_path / 'bad.errors.csv'})\n"
    )
    missing = regard_run("import", "customers", str(tmp_path / "missing.csv"))
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [f"CommandError: {tmp_path / 'missing.csv'}: no such file."]
