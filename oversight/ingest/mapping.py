"""Find the header row of a table and map its columns onto canonical columns.

Header cells are compared after folding case and dropping everything but letters and digits, so
`G/L description.` matches `GL Description`. A record is structurally bad (wrong number of
values, a repeated header) is rejected here with its raw text; typing values happens in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from oversight.ingest.readers import FileError, Part

HEADER_SEARCH_ROWS = 30
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _cut(header: str, limit: int = 60) -> str:
    """A header as quoted in an error: a 'header' of 1 MB is not a header."""
    return header if len(header) <= limit else f"{header[:limit]}... ({len(header):,} characters)"


def fold(header: str) -> str:
    """`' G/L Description. '` -> `'gldescription'`."""
    return _NON_ALNUM.sub("", header.casefold())


@dataclass
class Reject:
    row_number: int
    raw_text: str
    reason: str


@dataclass
class Header:
    """A table's header row and what it maps, found in the table's first Part and reused for
    the chunks after it (a CSV read in chunks)."""

    row_number: int
    positions: dict[str, int]  # canonical column -> position in a record
    published: dict[str, str]  # canonical column -> header as published
    width: int  # the header's number of columns (up to its last named one)
    folded: list[str]  # the header's cells, folded (to spot a repeated header row)
    unmapped: list[str]
    warnings: list[str]


@dataclass
class MappedPart:
    """A part's data rows, as text, under canonical column names. Counts of rows with values
    beyond the header's columns are kept as numbers, so that the chunks of one table add up to
    one warning (`beyond_header_warnings`)."""

    part: str
    header_row: int
    columns: dict[str, list[str]]
    headers: dict[str, str]  # canonical column -> header as published
    row_numbers: list[int]
    record_index: list[int]  # index of each row in the part's records, for raw text
    rejects: list[Reject] = field(default_factory=list)
    blank_rows: int = 0
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    header: Header | None = None
    continued: bool = False  # a later chunk of the table: its header was in an earlier one
    beyond_placeholders: int = 0  # rows whose values beyond the header are placeholders
    beyond_ignored: int = 0  # rows whose values beyond the header were ignored (catalogue)

    @property
    def rows_read(self) -> int:
        return len(self.row_numbers) + len(self.rejects)


def _lookup(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        fold(spelling): canonical
        for canonical, spellings in columns.items()
        for spelling in spellings
    }


def _matches(record: list[str], lookup: dict[str, str]) -> set[str]:
    return {lookup[f] for f in map(fold, record) if f in lookup}


def _describe_expected(columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> str:
    lines = [
        f"    {name}{' (required)' if name in required else ''}: "
        + " | ".join(repr(s) for s in spellings)
        for name, spellings in columns.items()
    ]
    return "\n".join(lines)


def _delimiter_hint(record: list[str], lookup: dict[str, str], delimiter: str | None) -> str:
    for cell in record:
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in cell and _matches(cell.split(other), lookup):
                return (
                    f"\n  The header looks {other!r}-delimited, but the file was read with "
                    f"{delimiter!r}: set read.delimiter in the catalogue."
                )
    return ""


def find_header(
    part: Part,
    columns: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    header_row: int | None = None,
) -> int:
    """Index (into part.records) of the header: the first record, among the first rows, that
    names every required column and the most canonical columns."""
    lookup = _lookup(columns)
    if header_row is not None:
        for i, n in enumerate(part.row_numbers):
            if n == header_row:
                candidates = [i]
                break
        else:
            raise FileError(f"header_row {header_row} is beyond the end of the table")
    else:
        candidates = list(range(min(HEADER_SEARCH_ROWS, len(part.records))))
    best, best_score = None, 0
    for i in candidates:
        found = _matches(part.records[i], lookup)
        if all(r in found for r in required) and len(found) > best_score:
            best, best_score = i, len(found)
    if best is not None:
        return best
    first = next((r for r in part.records if any(c.strip() for c in r)), [])
    where = f" in {part.name!r}" if part.name else ""
    if not first:
        raise FileError(f"no rows{where}: the table is blank")
    found = _matches(first, lookup)
    missing = [r for r in required if r not in found]
    raise FileError(
        f"no header row{where} matches the mapping (required columns not found: "
        f"{', '.join(missing)}).\n  Headers found: {[_cut(c) for c in first if c.strip()]}\n"
        f"  Headers expected:\n{_describe_expected(columns, required)}"
        + _delimiter_hint(first, lookup, part.delimiter)
    )


def read_header(
    part: Part,
    columns: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    header_row: int | None = None,
) -> tuple[Header, int]:
    """The table's header (see `find_header`) and its index in part.records."""
    h = find_header(part, columns, required, header_row)
    header = part.records[h]
    lookup = _lookup(columns)
    positions: dict[str, int] = {}
    published: dict[str, str] = {}
    warnings: list[str] = []
    unmapped: list[str] = []
    for j, cell in enumerate(header):
        canonical = lookup.get(fold(cell))
        if canonical is None:
            if cell.strip():
                unmapped.append(cell.strip())
        elif canonical in positions:
            first = positions[canonical]
            warnings.append(
                f"columns {first + 1} ({header[first].strip()!r}) and {j + 1} "
                f"({cell.strip()!r}) both map to {canonical}; using column {first + 1}"
            )
        else:
            positions[canonical] = j
            published[canonical] = cell.strip()
    width = max(j for j, c in enumerate(header) if c.strip()) + 1
    folded = [fold(c) for c in header[:width]]
    return Header(part.row_numbers[h], positions, published, width, folded, unmapped, warnings), h


def map_part(
    part: Part,
    columns: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    header_row: int | None = None,
    placeholders: Collection[str] = ("#n/a",),
    beyond_header: str = "quarantine",
    header: Header | None = None,
) -> MappedPart:
    """Locate the header (or, for a later chunk of a table, use the `header` found in its
    first), then collect each data row's mapped values as text. Values in columns the header
    does not name quarantine their row, unless they are all empty or `placeholders` (lower
    case), or `beyond_header` is "ignore"; both are counted (`beyond_header_warnings`)."""
    continued = header is not None
    if header is None:
        header, h = read_header(part, columns, required, header_row)
    else:
        h = -1  # every record of a later chunk is data
    width, folded_header = header.width, header.folded
    out = MappedPart(
        part.name,
        header.row_number,
        {c: [] for c in header.positions},
        header.published,
        [],
        [],
        unmapped=[] if continued else header.unmapped,
        warnings=[] if continued else list(header.warnings),
        header=header,
        continued=continued,
    )
    # The hot loop (millions of rows at national scale): cheap tests first, and the
    # per-cell work only for the rare rows that might be bad.
    first_cell = next(j for j, c in enumerate(folded_header) if c)
    columns_at = [(out.columns[canonical], j) for canonical, j in header.positions.items()]
    for i in range(h + 1, len(part.records)):
        record = part.records[i]
        if not "".join(record).strip():
            out.blank_rows += 1
            continue
        reason = None
        if len(record) > width and "".join(record[width:]).strip():
            if all(not c.strip() or c.strip().lower() in placeholders for c in record[width:]):
                out.beyond_placeholders += 1  # `#N/A` one column past the header, every row
            elif beyond_header == "ignore":
                out.beyond_ignored += 1
            else:
                filled = max(j for j, c in enumerate(record) if c.strip()) + 1
                reason = f"row has values in {filled} columns but the header has {width}"
        elif len(record) < width:
            reason = (
                f"row has {len(record)} values but the header has {width} columns "
                "(a broken quote or a truncated file?)"
            )
        elif (
            fold(record[first_cell]) == folded_header[first_cell]
            and [fold(c) for c in record[:width]] == folded_header
        ):
            reason = "repeated header row"
        if reason:
            out.rejects.append(Reject(part.row_numbers[i], part.raw_text(i), reason))
            continue
        for values, j in columns_at:
            values.append(record[j])
        out.row_numbers.append(part.row_numbers[i])
        out.record_index.append(i)
    return out


def beyond_header_warnings(width: int, placeholders: int, ignored: int) -> list[str]:
    """The warnings for a table's rows with values beyond its header's `width` columns."""
    warnings = []
    if placeholders:
        warnings.append(
            f"{placeholders:,} rows have values beyond the header's {width} columns "
            "that are all empty or placeholders (such as #N/A): ignored"
        )
    if ignored:
        warnings.append(
            f"{ignored:,} rows have values beyond the header's {width} columns: "
            "ignored, as the catalogue says (read.values_beyond_header: ignore)"
        )
    return warnings
