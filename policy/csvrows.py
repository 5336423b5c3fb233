"""Reading the contract's CSV files: UTF-8 with or without BOM, comma or semicolon."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_FIELD = 500


@dataclass
class Problems:
    """Problems found in input files, each `file:line: what is wrong`."""

    items: list[str] = field(default_factory=list)

    def add(self, source: str, line: int, message: str) -> None:
        """Record a problem on `line` of `source`."""
        self.items.append(f"{source}:{line}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)


def decode(data: bytes, source: str, problems: Problems) -> str | None:
    """The text of a CSV file, BOM removed; None (with a problem) if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(source, line, "not UTF-8 text; save the file as UTF-8")
        return None


def read_rows(
    text: str, source: str, columns: tuple[str, ...], required: tuple[str, ...],
    problems: Problems,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row, with a header naming `columns`.

    Only the columns in `required` must be in the header; others default to "".
    """
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        problems.add(source, 1, "the file is empty; it needs a header row")
        return
    missing = [name for name in required if name not in header]
    if missing:
        problems.add(source, 1, f"header lacks column(s) {', '.join(missing)}")
        return
    index = {name: header.index(name) for name in columns if name in header}
    while True:
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


def _has_controls(value: str) -> bool:
    """Whether a field holds NUL, another control character or a lone surrogate (format
    characters such as right-to-left marks belong to names and are fine)."""
    return not value.isprintable() and any(
        unicodedata.category(char) in {"Cc", "Cs"} for char in value)
