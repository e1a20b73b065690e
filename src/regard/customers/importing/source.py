"""Reading an import file and reporting on it: the CSV source, the error report, the summary."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from regard.customers.importing.rows import RowError
from regard.errors import InvalidInput, NotFound, RegardError

ERROR_COLUMNS = ("line", "field", "message", "value")

ProgressCallback = Callable[[int, int], None]  # (bytes read, bytes in file)


@dataclass
class ImportReport:
    kind: str
    errors_path: Path
    imported: int = 0
    present: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.imported + self.present + self.rejected

    @property
    def is_complete(self) -> bool:
        """Every row was imported or was already there."""
        return self.rejected == 0

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.imported} imported, {self.present} already present, {self.rejected} rejected"
        )
        if self.rejected:
            text += f" (errors in {self.errors_path})"
        return text


def default_errors_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


class ErrorReport:
    """The error CSV: one row per problem, rewritten on every run (header only when all is well)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: set[int] = set()
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(ERROR_COLUMNS)

    def add(self, errors: Sequence[RowError]) -> None:
        for error in errors:
            self.lines.add(error.line)
            self._writer.writerow(error)

    def __enter__(self) -> ErrorReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class CsvSource:
    """A UTF-8 CSV file read record by record, knowing each record's first line and the bytes read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._raw = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"{path}: no such file.", field="file") from None
        except (IsADirectoryError, PermissionError) as error:
            raise InvalidInput(f"{path}: cannot be read ({error.strerror}).", field="file") from None
        self.size = path.stat().st_size
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = self._guarded(lambda: next(self._reader, None))
            if not header:
                raise InvalidInput(f"{path}: is empty; the first line must name the columns.", field="header")
        except RegardError:
            self._text.close()
            raise
        self.header: list[str] = header

    @property
    def bytes_read(self) -> int:
        return self._raw.tell()

    def _guarded(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{self.path}: not UTF-8 text (after line {self._reader.line_num}).", field="file"
            ) from None
        except csv.Error as error:
            raise InvalidInput(
                f"{self.path}: line {self._reader.line_num + 1}: {error}.", field="file"
            ) from None

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first line number, cells) for every non-blank record after the header."""
        reader = self._reader
        iterator = iter(reader)
        while True:
            last = reader.line_num
            values = self._guarded(lambda: next(iterator, None))
            if values is None:
                return
            if values:
                yield last + 1, values

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._text.close()


def records_in_chunks(
    records: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_options(batch_size: int, workers: int) -> None:
    if batch_size < 1:
        raise InvalidInput("batch-size: must be at least 1.", field="batch_size")
    if workers < 1:
        raise InvalidInput("workers: must be at least 1.", field="workers")
