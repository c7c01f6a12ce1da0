"""Onboarding a publisher, the proposal: a catalogue entry guessed from a folder of its
published files.

The data is one publisher's files as downloaded (spend files or contract registers as CSV, XLSX
or zip; OCDS notices as JSON). They are read with the pipeline's own reader
(`readers.read_parts`: encoding, delimiter, sheets, zip members), so what is proposed is what
the ingest will see. Then:

- each table's header row is the one among its first rows whose cells name the most canonical
  columns; a cell names one when, folded as `mapping.fold` folds it (case, spaces and punctuation
  ignored, a type marker such as `(T)` dropped), it equals a spelling of the catalogue's layouts,
  a canonical column's name or one of `COMMON_SPELLINGS`, or is close to one (rapidfuzz);
- the kind is the one (spend or contract_register) whose required columns are found, with the
  most columns named; `.json` files are OCDS notices;
- a layout is proposed when its own spellings find every required column in every table; the
  headers it does not know are added under `columns:`;
- a required column still missing is looked for by its values: an amount column headed `TOTAL`,
  names of suppliers under `Supplier ID(T)`; with no payment date at all, a period column
  (`202205`) or the month in the file names;
- a spend heading still unmapped is placed by finance-system words (`FINANCE_WORDS`: CIPFA
  subjective = what was bought, cost centre or service = where, a transaction's reference) or,
  when its heading says nothing, by values naming council services or CIPFA subjective groups;
  its values then say code or description (`FINANCE_TARGETS`);
- date formats and placeholders come from the values, tested in DuckDB with the pipeline's own
  macros, so "parses as %d/%m/%Y" means what the ingest means by it.

The headings are read and matched in `oversight.onboard.headings`, the values in
`oversight.onboard.values`; this module puts the entry together (kind, layout, id, publisher,
settings). Trying the proposal and writing it: `oversight.onboard.onboard`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from oversight.core.catalogue import (
    Layout,
)
from oversight.core.schema import COLUMNS, REQUIRED
from oversight.ingest.mapping import fold
from oversight.onboard.headings import (
    KINDS,
    NOTICES,
    Mapped,
    Match,
    Table,
    Vocabulary,
    choose_kind,
    map_tables,
    n,
    publisher_files,
    read_tables,
    unmapped_notes,
)
from oversight.onboard.values import (
    ValueTests,
    beyond_header,
    by_values,
    date_formats,
    finance_headings,
    payment_date_elsewhere,
    placeholders,
    threshold,
)

# -- the proposal ------------------------------------------------------------------------------


@dataclass
class Proposal:
    """A proposed catalogue entry (as data, in key order) with a comment on every guess
    (`notes`, keyed by the entry's key: 'kind', 'columns.amount', 'values.date_formats'), the
    headers left unmapped, and the files that could not be read."""

    entry: dict[str, Any]
    notes: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    def note(self, key: str, text: str) -> None:
        self.notes.setdefault(key, []).append(text)

    def yaml(self, indent: int = 2) -> str:
        """The entry as a YAML list item, `indent` spaces in (as under `sources:`), each guess
        with its comment on the lines above it."""
        pad, inner = " " * indent, " " * (indent + 2)
        lines = [f"{pad}# {self.summary}"] if self.summary else []
        lines += [f"{pad}# not read: {p}" for p in self.problems]
        for i, (key, value) in enumerate(self.entry.items()):
            lines += [f"{inner}# {c}" for c in self.notes.get(key, [])]
            lead = f"{pad}- " if i == 0 else inner
            if isinstance(value, dict):
                lines.append(f"{lead}{key}:")
                for sub, subvalue in value.items():
                    lines += [f"{inner}  # {c}" for c in self.notes.get(f"{key}.{sub}", [])]
                    lines.append(f"{inner}  {_flow(sub)}: {_flow(subvalue)}")
            else:
                lines.append(f"{lead}{key}: {_flow(value)}")
        shown = set(self.entry) | {
            f"{key}.{sub}"
            for key, value in self.entry.items()
            if isinstance(value, dict)
            for sub in value
        }
        for key, notes in self.notes.items():
            if key not in shown:
                lines += [f"{inner}# {key.split('.')[-1]}: {c}" for c in notes]
        if self.unmapped:
            lines.append(f"{inner}# Headers left out. To keep one, add it under columns:, e.g.")
            lines.append(f"{inner}# `expense_type: [Definition]` (the canonical columns")
            lines.append(f"{inner}# are listed in oversight/core/schema.py).")
        lines += [f"{inner}# unmapped: {u}" for u in self.unmapped]
        return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    """A value as one line of YAML (flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


GENERIC_FOLDER = re.compile(r"spend|payment|register|contract|notice|ocds|data|files|over|25k|500")


def folder_base(folder: Path) -> str:
    """The publisher's part of the folder's path: `salford/spend` -> `salford`,
    `cabinet-office/spend-over-25k` -> `cabinet-office`, `leeds` -> `leeds`."""
    generic = GENERIC_FOLDER.search(folder.name.lower()) and folder.parent.name
    return folder.parent.name if generic else folder.name


def guess_id(folder: Path, kind: str) -> str:
    """`salford/spend` -> `salford-spend`; a register: `salford-register`."""
    suffix = {"spend": "spend", "contract_register": "register", "ocds": "notices"}[kind]
    return slug(f"{folder_base(folder)}-{suffix}") or suffix


def relative_folder(folder: Path, raw_dir: Path) -> str | None:
    """The folder as the catalogue names it (under raw_dir), or None when outside it."""
    folder, raw_dir = folder.resolve(), raw_dir.resolve()
    return folder.relative_to(raw_dir).as_posix() if folder.is_relative_to(raw_dir) else None


def globs(folder: Path, files: list[Path]) -> list[str]:
    nested = any(len(p.relative_to(folder).parts) > 1 for p in files)
    suffixes = dict.fromkeys(p.suffix for p in files)
    return [f"{'**/' if nested else ''}*{s}" for s in suffixes]


def choose_layout(
    mapped: Mapped, kind: str, layouts: dict[str, Layout], required: tuple[str, ...]
) -> tuple[str | None, str]:
    """The layout whose own spellings find every required column in every table and name the
    most cells (at least half of those the proposal maps: a layout that shares only a title
    column with the files is not their template); and why."""
    best, best_n, why = None, sum(len(c) for c in mapped.cells) / 2, ""
    for name, layout in layouts.items():
        if layout.kind != kind:
            continue
        lookup = {fold(s): c for c, spellings in layout.columns.items() for s in spellings}
        named = [{lookup[fold(c)] for c in t.header if fold(c) in lookup} for t in mapped.tables]
        if all(set(required) <= found for found in named) and sum(map(len, named)) >= best_n:
            cells = sum(len([c for c in t.header if c]) for t in mapped.tables)
            best, best_n = name, sum(map(len, named)) + 0.5
            why = (
                f"its spellings find {', '.join(required)} in all {len(mapped.tables)} tables "
                f"and name {n(sum(map(len, named)))} of their {n(cells)} header cells"
            )
    return best, why


def apply_layout(mapped: Mapped, layout: Layout, name: str) -> None:
    """Let the layout's spellings decide the cells they name (as the ingest will)."""
    lookup = {fold(s): (c, s) for c, spellings in layout.columns.items() for s in spellings}
    for t, cells in zip(mapped.tables, mapped.cells, strict=True):
        chosen = {}
        for j, cell in enumerate(t.header):
            if cell and fold(cell) in lookup:
                column, spelling = lookup[fold(cell)]
                chosen[j] = Match(column, f"{spelling!r}, layout {name}")
        taken = {m.column for m in chosen.values()}
        for j, m in list(cells.items()):
            if j not in chosen and m.column in taken:
                del cells[j]
        cells.update(chosen)


def guess_publisher(mapped: Mapped, folder: Path, proposal: Proposal) -> str:
    """The commonest buyer name in the files, else the folder's name (to be checked)."""
    common = Counter(mapped.values("buyer_name")).most_common(1)
    if common:
        proposal.note(
            "publisher", f"the commonest buyer name in the files ({n(common[0][1])} rows): check"
        )
        name = common[0][0]
        return name.title() if name.isupper() else name
    name = folder_base(folder).replace("-", " ").replace("_", " ").title()
    proposal.note("publisher", "from the folder's name: write the body's full name (--publisher)")
    return name


def propose(
    folder: Path,
    layouts: dict[str, Layout],
    raw_dir: Path | None = None,
    source_id: str | None = None,
    publisher: str | None = None,
) -> Proposal:
    """A catalogue entry for the publisher's files in `folder`, every guess commented.
    `raw_dir` is the catalogue's raw folder (the entry's `folder` is relative to it)."""
    folder = folder.resolve()
    files, skipped = publisher_files(folder)
    if not files:
        raise SystemExit(f"no csv, xlsx, zip or json files in {folder}")
    proposal = Proposal({}, problems=skipped)
    rel = relative_folder(folder, raw_dir) if raw_dir else None
    notices = [p for p in files if p.suffix.lower() in NOTICES]
    if len(notices) * 2 > len(files):
        kind = "ocds"
        proposal.note("kind", f"{len(notices)} of {len(files)} files are JSON: OCDS notices")
        tables: list[Table] = []
        files = notices
    else:
        vocabs = {k: Vocabulary([k], layouts) for k in KINDS}
        tables, problems = read_tables(folder, files, Vocabulary(KINDS, layouts))
        proposal.problems += problems
        if not tables:
            raise SystemExit(f"no readable table in {folder}:\n  " + "\n  ".join(problems))
        kind, why = choose_kind(tables, vocabs)
        proposal.note("kind", why)
    entry: dict[str, Any] = {"id": source_id or guess_id(folder, kind), "publisher": ""}
    entry["kind"] = kind
    entry["folder"] = rel if rel is not None else folder.as_posix()
    if rel is None:
        proposal.note("folder", "outside the catalogue's raw folder: better copy the files there")
    entry["files"] = globs(folder, files)
    rows = sum(len(t.rows) for t in tables)
    proposal.summary = (
        f"Proposed by `python -m oversight.onboard.onboard` from {len(files)} files"
        + (f" ({len(tables)} tables, {n(rows)} rows)" if tables else "")
        + ": check each comment"
    )
    proposal.entry = entry
    if kind == "ocds":
        entry["publisher"] = publisher or guess_publisher(Mapped([], [], []), folder, proposal)
        if rel is None:
            entry["outside_raw_dir"] = True
        return proposal

    tests = ValueTests()
    mapped = map_tables(tables, vocabs[kind])
    for column in REQUIRED[kind]:
        by_values(mapped, column, tests)
    values: dict[str, Any] = {}
    if kind == "spend" and mapped.missing("payment_date"):
        values = payment_date_elsewhere(mapped, entry["folder"], tests, proposal)
    required = tuple(
        c for c in REQUIRED[kind] if not (c == "payment_date" and values)
    )  # a period or the file name stands in for the payment date
    layout, why = choose_layout(mapped, kind, layouts, required)
    if layout:
        apply_layout(mapped, layouts[layout], layout)
    if kind == "spend":
        finance_headings(mapped, tests)
    entry["publisher"] = publisher or guess_publisher(mapped, folder, proposal)
    if kind == "spend":
        entry["threshold"] = threshold(mapped, tests, proposal)
    if layout:
        entry["layout"] = layout
        proposal.note("layout", why)
    columns = columns_entry(mapped, layouts[layout] if layout else None, proposal)
    if columns:
        entry["columns"] = columns
    missing = {c: len(mapped.missing(c)) for c in required if mapped.missing(c)}
    if missing:
        lacking = ", ".join(f"{c} (in {k} of {len(tables)} tables)" for c, k in missing.items())
        proposal.note("kind", f"REQUIRED COLUMNS NOT FOUND: {lacking}: map them by hand")
    else:
        proposal.note("kind", f"its required {', '.join(required)} found in every table")
    if beyond_header(tables, tests, proposal):
        entry["read"] = {"values_beyond_header": "ignore"}
    dates: Counter[str] = Counter()
    for c in COLUMNS[kind]:
        if c.type == "date":
            dates.update(tests.real(mapped.values(c.name)))
    formats = date_formats(dates, tests, proposal)
    found, true_values, false_values = placeholders(mapped, kind, formats, tests, proposal)
    values |= {
        "date_formats": list(formats),
        "placeholders": found,
        "true_values": true_values,
        "false_values": false_values,
    }
    order = ("date_formats", "period_format", "date_from_name", "placeholders", "true_values")
    values = {k: values[k] for k in (*order, "false_values") if values.get(k)}
    if values:
        entry["values"] = values
    if rel is None:
        entry["outside_raw_dir"] = True
    proposal.unmapped = unmapped_notes(mapped, vocabs[kind])
    return proposal


def columns_entry(
    mapped: Mapped, layout: Layout | None, proposal: Proposal
) -> dict[str, list[str]]:
    """The `columns:` of the entry: every mapping without a layout; with one, the headers its
    spellings do not name (its own spellings kept in front, since an entry's list replaces the
    layout's)."""
    out: dict[str, list[str]] = {}
    why: dict[tuple[str, str], str] = {}
    for t, cells in zip(mapped.tables, mapped.cells, strict=True):
        for j, m in cells.items():
            why.setdefault((m.column, t.header[j]), m.why)
    for column, headers in mapped.columns().items():
        own = list(layout.columns.get(column, ())) if layout else []
        new = [h for h in headers if fold(h) not in {fold(s) for s in own}]
        if not new:
            continue
        out[column] = own + new
        for h in new:
            proposal.note(f"columns.{column}", f"{h!r}: {why[(column, h)]}")
        if own:
            proposal.note(f"columns.{column}", "the layout's spellings kept in front")
    order = [c.name for cs in COLUMNS.values() for c in cs]
    return dict(sorted(out.items(), key=lambda item: order.index(item[0])))
