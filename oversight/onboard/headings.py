"""Onboarding, the headings: a publisher's files read into tables with the pipeline's own
reader, each table's header row found, each heading matched to a canonical column (the
catalogue's layouts, `COMMON_SPELLINGS`, close spellings by rapidfuzz), and the kind of source
(spend or contract register) chosen from the columns found. What comes in: a folder of
published files; what goes out: `Mapped` tables (which column each heading names) for
`oversight.onboard.propose`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from oversight.core.catalogue import (
    Layout,
    ReadOptions,
)
from oversight.core.schema import REQUIRED, column_names
from oversight.ingest.mapping import HEADER_SEARCH_ROWS, fold
from oversight.ingest.readers import FileError, read_parts

TABULAR = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".zip"}
NOTICES = {".json", ".jsonl"}
KINDS = ("spend", "contract_register")

# Headings found in the Local Government Transparency Code 2015 templates and in common
# finance-system exports, beyond those the layouts already list. Compared folded, like every
# spelling: 'Paid Date' also matches 'PAID_DATE' and 'paid date.'.
COMMON_SPELLINGS: dict[str, dict[str, str]] = {
    "spend": {
        "buyer_name": "Body Name | Organisation Name | Authority Name | Council | Entity",
        "department": "Department | Departmental Family | Directorate",
        "expense_area": (
            "Service Area | Service Area Categorisation | Service | Service Division | "
            "Responsible Unit | Cost Centre Name"
        ),
        "expense_type": (
            "Expense Type | Expenses Type | Detailed Expenses Type | Expenditure Type | "
            "Expenditure Category | Account Description | Subjective Description"
        ),
        "expense_code": "Expense Code | Expenses Code | Account Code | Subjective Code",
        "category": "Procurement Category | Procurement Classification | ProClass",
        "payment_date": (
            "Payment Date | Date Paid | Paid Date | Pay Date | Date of Payment | "
            "Transaction Date | Posting Date"
        ),
        "payment_period": "Period | Accounting Period | Financial Period | Payment Period",
        "transaction_id": (
            "Transaction Number | Transaction No | Transaction ID | Trans No | Document Number | "
            "Document No"
        ),
        "invoice_ref": "Invoice Number | Invoice No | Invoice Reference | Invoice Ref",
        "contract_ref": "Contract Number | Contract Reference | Contract Ref",
        "amount": "Amount | Net | Net Amount | Amount Paid | Net Value | Payment Amount | Value",
        "gross_amount": "Gross | Gross Amount | Gross Value",
        "vat_amount": "VAT | VAT Amount",
        "currency": "Currency",
        "supplier_name": (
            "Supplier | Supplier Name | Payee | Payee Name | Beneficiary | "
            "Beneficiary Name | Vendor | Vendor Name | Creditor | Creditor Name | "
            "Merchant Name"
        ),
        "supplier_id": "Supplier ID | Supplier Number | Supplier Code | Vendor ID",
        "supplier_company_number": "Company Number | Company Registration Number",
        "supplier_charity_number": "Charity Number | Charity Registration Number",
        "supplier_vat_number": "VAT Number | VAT Registration Number",
        "description": "Description | Purpose | Narrative | Purpose of Spend | Details",
    },
    "contract_register": {
        "contract_ref": "Reference | Contract Reference | Contract Number | Contract ID",
        "title": "Title | Contract Title | Contract Name | Title of Contract | Project",
        "description": "Description | Contract Description | Scope",
        "department": "Department | Directorate | Service Area | Service",
        "procedure": "Procurement Process | Procurement Route | Procedure | Route to Market",
        "supplier_name": "Supplier | Supplier Name | Contractor | Contractor Name | Provider",
        "supplier_company_number": "Company Number | Companies House Number",
        "supplier_charity_number": "Charity Number",
        "sme": "SME | SME Supplier",
        "vcse": "VCSE | VCSE Supplier",
        "annual_value": "Annual Value | Estimated Annual Value | Annual Contract Value",
        "total_value": (
            "Total Value | Contract Value | Total Contract Value | Value | Estimated Value"
        ),
        "start_date": "Start Date | Contract Start Date | Start | Commencement Date",
        "end_date": "End Date | Contract End Date | End | Expiry Date",
        "current_expiry_date": "Current Expiry Date | Extended End Date",
        "duration_months": "Duration | Contract Duration | Duration in Months",
        "extension_months": "Extension Period | Option to Extend | Extension Options",
        "review_date": "Review Date | Contract Review Date",
        "contract_owner": "Contract Owner | Contract Manager | Lead Officer",
        "category": "Category | Procurement Category",
        "category_code": "CPV Code | ProClass Code",
        "status": "Status | Contract Status",
    },
}

FUZZY_CUTOFF = 88  # rapidfuzz ratio of two headings' words: 'Supplier Names' ~ 'Supplier Name'
WORD_CUTOFF = 75  # ... and of each word with its counterpart: 'Expences' ~ 'Expenses'
TYPE_MARKER = re.compile(r"\s*\([A-Za-z]\)\s*$")  # 'Supplier Name(T)', 'Amount (N)'
BRACKETED = re.compile(r"\([^)]*\)")  # 'Total Contract Value (including extensions)'

# A required column not found by its heading is looked for among headings with these words,
# by its values.
KEYWORDS: dict[str, str] = {
    "supplier_name": "supplier payee vendor beneficiary creditor merchant contractor",
    "amount": "amount total net value paid gbp sum",
    "payment_date": "date",
    "title": "title contract subject name",
}


# -- reading ----------------------------------------------------------------------------------


@dataclass
class Table:
    """One table of the publisher's files as the pipeline's reader yields it (a CSV file, a
    sheet of a workbook, a member of a zip): its header cells and its data rows, as text."""

    file: str  # path under the folder
    part: str  # sheet or member; empty for a plain file
    header_row: int  # 1-based line or sheet row of the header
    header: list[str]
    rows: list[list[str]]

    def values(self, j: int) -> list[str]:
        """Column j's non-empty values, trimmed."""
        return [v for r in self.rows if j < len(r) and (v := r[j].strip())]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.part}" if self.part else self.file


def publisher_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The folder's files of a supported format (recursively; hidden files left out), and a
    note on each file left out."""
    files, skipped = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in TABULAR | NOTICES:
            files.append(path)
        else:
            skipped.append(f"{rel.as_posix()}: not a supported format (csv, xlsx, zip, json)")
    return files, skipped


def read_tables(
    folder: Path, files: list[Path], vocab: Vocabulary
) -> tuple[list[Table], list[str]]:
    """Every table of the tabular files, with its header row found; and a note on each file or
    part that could not be read (its error, as the ingest would record it)."""
    tables, problems = [], []
    for path in files:
        if path.suffix.lower() not in TABULAR:
            continue
        rel = path.relative_to(folder).as_posix()
        try:
            for part in read_parts(path.name, path.read_bytes(), ReadOptions()):
                h = header_index(part.records, vocab)
                if h is None:
                    problems.append(f"{rel}{':' + part.name if part.name else ''}: no header found")
                    continue
                rows = [r for r in part.records[h + 1 :] if "".join(r).strip()]
                header = [c.strip() for c in part.records[h]]
                tables.append(Table(rel, part.name, part.row_numbers[h], header, rows))
        except FileError as exc:
            problems.append(f"{rel}: {str(exc).splitlines()[0]}")
    return tables, problems


# -- matching headers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A header cell taken to be a canonical column, and why."""

    column: str
    why: str
    exact: bool = True


Known = tuple[str, str, str]  # (canonical column, spelling as written, where it comes from)


def words(text: str) -> str:
    """`'* Supplier Name(T)'` -> `'supplier name'`: the heading's words, for fuzzy matching."""
    return " ".join(re.findall(r"[0-9a-z]+", TYPE_MARKER.sub("", text).casefold()))


def same_words(a: str, b: str) -> bool:
    """Two headings with the same words, each one at most misspelt or pluralised (its first
    letter kept): 'Supplier Names' ~ 'Supplier Name', but not 'Supplier Company Name' ~
    'Supplier Company Number', nor 'Objective Description' ~ 'Subjective Description'."""
    a_words, b_words = a.split(), b.split()
    return len(a_words) == len(b_words) and all(
        x[0] == y[0] and fuzz.ratio(x, y) >= WORD_CUTOFF
        for x, y in zip(a_words, b_words, strict=True)
    )


class Vocabulary:
    """Every known spelling of some kinds' canonical columns, by folded spelling: the common
    spellings first, then those of the catalogue's layouts (a publisher's own: 'Directorate' is
    Salford's expense area, most others' department), then the canonical names themselves."""

    def __init__(self, kinds: Iterable[str], layouts: dict[str, Layout]) -> None:
        known: dict[str, Known] = {}
        for kind in kinds:
            columns = set(column_names(kind))
            for column, spellings in COMMON_SPELLINGS.get(kind, {}).items():
                for s in spellings.split(" | "):
                    if column in columns:
                        known.setdefault(fold(s), (column, s, "a common spelling"))
            for name, layout in layouts.items():
                if layout.kind == kind:
                    for column, spellings in layout.columns.items():
                        for s in spellings:
                            known.setdefault(fold(s), (column, s, f"layout {name}"))
            for column in columns:
                known.setdefault(fold(column), (column, column, "the canonical name"))
        self.known = known
        self._keys = list(known)
        self._words = [words(known[k][1]) for k in self._keys]

    def closest(self, cell: str, cutoff: float) -> tuple[Known, float] | None:
        """The spelling whose words are closest to the cell's (rapidfuzz ratio), if at least
        `cutoff`."""
        if not words(cell):
            return None
        found = process.extract(words(cell), self._words, scorer=fuzz.ratio, score_cutoff=cutoff)
        for _, score, i in found:  # best first
            if cutoff < FUZZY_CUTOFF or same_words(words(cell), self._words[i]):
                return self.known[self._keys[i]], score
        return None

    def contained(self, cell: str) -> Known | None:
        """The longest known spelling of two words or more whose words all appear in the
        cell's, in order: 'Supplier Registered Company Number' has 'Company Number'."""
        have = words(cell).split()
        best: Known | None = None
        for key, spelling in zip(self._keys, self._words, strict=True):
            wanted = spelling.split()
            if len(wanted) < 2 or len(wanted) >= len(have):
                continue
            it = iter(have)
            if all(w in it for w in wanted) and (
                best is None or len(wanted) > len(words(best[1]).split())
            ):
                best = self.known[key]
        return best

    def match(self, cell: str, fuzzy: bool = True) -> Match | None:
        """The canonical column a header cell names: a known spelling once folded (else once
        stripped of a type marker like `(T)`, else of any words in brackets), else (`fuzzy`)
        the closest spelling when close enough."""
        for text in (cell, TYPE_MARKER.sub("", cell), BRACKETED.sub(" ", cell).strip()):
            if text and fold(text) in self.known:
                column, spelling, origin = self.known[fold(text)]
                dropped = ", ".join(repr(b) for b in re.findall(r"\([^)]*\)", cell))
                marker = f" once {dropped} is dropped" if text != cell else ""
                return Match(column, f"{spelling!r}{marker}, {origin}")
        inside = self.contained(cell)
        if inside:
            column, spelling, origin = inside
            return Match(column, f"has the words of {spelling!r}, {origin}", exact=False)
        best = self.closest(cell, FUZZY_CUTOFF) if fuzzy else None
        if best is None:
            return None
        (column, spelling, origin), score = best
        return Match(column, f"close to {spelling!r} ({score:.0f}%), {origin}", exact=False)


def header_index(records: list[list[str]], vocab: Vocabulary) -> int | None:
    """Index of the header among the first records: the one naming the most canonical columns
    (exact spellings first; fuzzy ones when no record names two exactly)."""
    for fuzzy in (False, True):
        best, best_n = None, 1
        for i, record in enumerate(records[:HEADER_SEARCH_ROWS]):
            named = {m.column for c in record if c.strip() and (m := vocab.match(c, fuzzy))}
            if len(named) > best_n:
                best, best_n = i, len(named)
        if best is not None:
            return best
    return None


def map_header(table: Table, vocab: Vocabulary) -> tuple[dict[int, Match], dict[int, str]]:
    """Cell index -> the column it names. When two cells name one column, a column with values
    wins over an empty one, then an exact spelling over a close one, then the first; the others
    are returned with why they were left out."""
    header = table.header
    found = {j: m for j, cell in enumerate(header) if cell and (m := vocab.match(cell))}
    empty = {j for j in found if not any(j < len(r) and r[j].strip() for r in table.rows)}
    taken: dict[str, int] = {}
    for j, m in sorted(found.items(), key=lambda item: (item[0] in empty, not item[1].exact)):
        taken.setdefault(m.column, j)
    mapping = {j: m for j, m in found.items() if taken[m.column] == j}
    losers = {
        j: f"also looks like {m.column}, taken by {header[taken[m.column]]!r}"
        for j, m in found.items()
        if taken[m.column] != j
    }
    return mapping, losers


def n(count: int) -> str:
    return f"{count:,}"


@dataclass
class Mapped:
    """The proposal's column mapping over every table: cell index -> Match per table."""

    tables: list[Table]
    cells: list[dict[int, Match]]
    losers: list[dict[int, str]]

    def columns(self) -> dict[str, list[str]]:
        """Canonical column -> the headers (as published) mapped to it, in order first seen."""
        out: dict[str, list[str]] = {}
        for t, cells in zip(self.tables, self.cells, strict=True):
            for j, m in sorted(cells.items()):
                if t.header[j] not in out.setdefault(m.column, []):
                    out[m.column].append(t.header[j])
        return out

    def values(self, column: str) -> list[str]:
        return [
            v
            for t, cells in zip(self.tables, self.cells, strict=True)
            for j, m in cells.items()
            if m.column == column
            for v in t.values(j)
        ]

    def missing(self, column: str) -> list[int]:
        """Indexes of the tables in which no cell is mapped to the column."""
        return [i for i, c in enumerate(self.cells) if column not in {m.column for m in c.values()}]


def map_tables(tables: list[Table], vocab: Vocabulary) -> Mapped:
    pairs = [map_header(t, vocab) for t in tables]
    return Mapped(tables, [p[0] for p in pairs], [p[1] for p in pairs])


def choose_kind(tables: list[Table], vocabs: dict[str, Vocabulary]) -> tuple[str, str]:
    """The kind whose required columns are found in the most tables, then whose columns are
    named by the most cells; and why."""
    scores = {}
    for kind in KINDS:
        mapped = map_tables(tables, vocabs[kind])
        complete = sum(
            all(r in {m.column for m in cells.values()} for r in REQUIRED[kind])
            for cells in mapped.cells
        )
        scores[kind] = (complete, sum(len(c) for c in mapped.cells))
    kind = max(KINDS, key=lambda k: scores[k])
    other = next(k for k in KINDS if k != kind)
    why = (
        f"{n(scores[kind][1])} header cells name {kind} columns, "
        f"{n(scores[other][1])} name {other} columns"
    )
    return kind, why


def unmapped_notes(mapped: Mapped, vocab: Vocabulary) -> list[str]:
    """A line per header cell mapped to nothing, with why (and the closest spelling)."""
    seen: Counter[str] = Counter()
    reason: dict[str, str] = {}
    for t, cells, losers in zip(mapped.tables, mapped.cells, mapped.losers, strict=True):
        for j, cell in enumerate(t.header):
            if not cell or j in cells:
                continue
            seen[cell] += 1
            reason.setdefault(cell, losers.get(j) or _closest(cell, vocab))
    return [
        f"{cell!r} ({reason[cell]}; in {k} of {len(mapped.tables)} tables)"
        for cell, k in seen.items()
    ]


def _closest(cell: str, vocab: Vocabulary) -> str:
    best = vocab.closest(cell, 60)
    if best is None:
        return "no known spelling"
    (column, spelling, _), score = best
    return f"no known spelling; closest {spelling!r} for {column}, {score:.0f}%"
