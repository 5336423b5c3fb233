"""Reading the contract's CSV files: UTF-8 with or without BOM, comma or semicolon.

Files are read line by line (the caller hands over an open binary file, or bytes), so a
file of millions of rows costs the memory of one row. Reading stops at `MAX_PROBLEMS`
problems: the lines not checked are only counted.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader

MAX_FIELD = 500
#: Problems kept (and printed) in full; the rest are only counted.
MAX_PROBLEMS = 100
#: A line of a roster or roll-call file is far shorter; a longer one is not such a file.
MAX_LINE = 64 * 1024
#: An open binary file, or its bytes.
CsvSource = bytes | IO[bytes]


@dataclass
class Problems:
    """Problems found in input files, each `file:line: what is wrong`: the first `limit`
    in full (`items`), all of them counted (`count`); once `limit` are found, files are
    read no further and their lines left are counted in `unchecked` (file -> lines)."""

    items: list[str] = field(default_factory=list)
    count: int = 0
    limit: int = MAX_PROBLEMS
    unchecked: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, line: int, message: str) -> None:
        """Record a problem on `line` of `source`."""
        self.note(f"{source}:{line}: {message}")

    def note(self, item: str) -> None:
        """Record a problem already written out (`where: what is wrong`)."""
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    @property
    def full(self) -> bool:
        """Whether enough problems were found to stop looking."""
        return self.count >= self.limit

    @property
    def untold(self) -> int:
        """How many problems were counted but not kept (a row may have several)."""
        return self.count - len(self.items)

    def __bool__(self) -> bool:
        return self.count > 0


def _lines(data: CsvSource) -> Iterator[bytes]:
    """The file's lines, each at most MAX_LINE + 1 bytes (a longer one is cut there)."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return iter(lambda: stream.readline(MAX_LINE + 1), b"")


def _decoded(lines: Iterator[bytes], source: str, problems: Problems) -> Iterator[str]:
    """The file's lines as text, BOM removed; stops (with a problem) at a line that is not
    UTF-8 or longer than MAX_LINE."""
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            problems.add(source, number, f"the line is longer than {MAX_LINE} bytes; "
                                         "this is not a roster or roll-call file")
            return
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.add(source, number, "not UTF-8 text; save the file as UTF-8")
            return


def _header(reader: Reader, source: str, required: tuple[str, ...],
            problems: Problems) -> list[str] | None:
    """The header's column names (lowercase); None, with a problem, when it is missing,
    unreadable or lacks a required column."""
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        problems.add(source, 1, "the file is empty; it needs a header row")
        return None
    except csv.Error as error:  # a header over csv's field limit, an open quote…
        problems.add(source, reader.line_num or 1, f"the header is not readable as CSV ({error})")
        return None
    missing = [name for name in required if name not in header]
    if missing:
        problems.add(source, 1, f"header lacks column(s) {', '.join(missing)}")
        return None
    return header


def read_rows(
    data: CsvSource, source: str, columns: tuple[str, ...], required: tuple[str, ...],
    problems: Problems,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row, with a header naming `columns`.

    Only the columns in `required` must be in the header; others default to "".
    A file that cannot be read as CSV (not UTF-8, a field or line over the limits) is
    one problem, on its line, and no more rows. Once `problems` is full, no more rows
    either: the lines left are counted in `problems.unchecked`.
    """
    before = problems.count
    raw = _lines(data)
    lines = _decoded(raw, source, problems)
    first_line = next(lines, None)
    if first_line is None:
        if problems.count == before:
            problems.add(source, 1, "the file is empty; it needs a header row")
        return
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(_chain(first_line, lines), delimiter=delimiter)
    header = _header(reader, source, required, problems)
    if header is None:
        return
    index = {name: header.index(name) for name in columns if name in header}
    while True:
        if problems.full:
            # csv.reader reads no further ahead than the row it returned
            left = sum(1 for _ in raw)
            if left:
                problems.unchecked[source] = problems.unchecked.get(source, 0) + left
            return
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over csv's own limit, a stray NUL in old csv…
            problems.add(source, reader.line_num, f"not readable as CSV ({error})")
            return
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.add(source, line, f"{len(row)} fields, but the header has {len(header)}")
            continue
        values = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        yield from check_rows([(line, values)], source, columns, problems)


def check_rows(
    rows: Iterable[tuple[int, dict[str, str]]], source: str, columns: tuple[str, ...],
    problems: Problems,
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows whose fields are short and free of control characters, every column present
    (missing ones ""); the others become problems. For rows that come from elsewhere than a
    file (a school system's API) as much as for a file's."""
    for line, values in rows:
        too_long = [name for name, value in values.items() if len(value) > MAX_FIELD]
        if too_long:
            problems.add(source, line, f"{too_long[0]} is longer than {MAX_FIELD} characters")
            continue
        garbled = [name for name, value in values.items() if _has_controls(value)]
        if garbled:
            problems.add(source, line, f"{garbled[0]} contains control characters")
            continue
        yield line, {name: values.get(name, "") for name in columns}


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _has_controls(value: str) -> bool:
    """Whether a field holds NUL, another control character or a lone surrogate (format
    characters such as right-to-left marks belong to names and are fine)."""
    return not value.isprintable() and any(
        unicodedata.category(char) in {"Cc", "Cs"} for char in value)
