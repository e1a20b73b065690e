"""`regard import customers|orders FILE.csv`: bulk versions of customer_create and order_record (C1, C8).

Rows are validated by the API's own rules (``rows``), written in batches of
one transaction each with their timeline events and audit entries, and bad rows
go to an error report with their line number and field. Re-running a file creates
nothing new: a row whose identifiers already belong to one customer is "already
present". On PostgreSQL the batches are written with COPY (``regard.db.bulk``).

One module per concept: ``source`` (the file and the report), ``rows`` (reading and
validating a row, without the database), ``load`` (what both imports share to write a
batch), ``customers`` and ``orders``.
"""

from regard.customers.importing.customers import customers_import
from regard.customers.importing.orders import orders_import
from regard.customers.importing.source import (
    CsvSource,
    ErrorReport,
    ImportReport,
    ProgressCallback,
    default_errors_path,
)

__all__ = [
    "CsvSource",
    "ErrorReport",
    "ImportReport",
    "ProgressCallback",
    "customers_import",
    "default_errors_path",
    "orders_import",
]
