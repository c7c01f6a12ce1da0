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

Trying the proposal and writing it: `oversight.onboard.onboard`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml
from rapidfuzz import fuzz, process

from oversight.core.catalogue import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_FALSE,
    DEFAULT_PLACEHOLDERS,
    DEFAULT_TRUE,
    Layout,
    ReadOptions,
)
from oversight.core.schema import COLUMNS, REQUIRED, column_names
from oversight.core.warehouse import load_macros
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
# Dates that are not when a payment was made.
NOT_PAYMENT_DATES = ("update", "created", "modified", "extract", "report", "invoice", "due")
PERIOD = re.compile(r"(19|20)[0-9]{2}[-/ ]?(0?[1-9]|1[0-2])")  # as the period_start macro reads

# A spend heading still unmapped is placed by the finance-system words that start one of its
# words (tried in this order; 'Cipfsubj' is one word): CIPFA SeRCOP's subjective analysis is
# what was bought, its objective (service, cost centre) analysis where; `other` words are a
# different column's. Its values then say code or description; see FINANCE_TARGETS.
FINANCE_WORDS: dict[str, str] = {
    "other": r"supplier|vendor|payee|creditor|beneficiar|customer|compan|charit|contract|invoice|"
    r"date|amount|value|vat\b|bank|postcode|manager|officer|holder|contact",
    "ref": r"(?:trans(?:action)?|internal|doc(?:ument)?|voucher|journal|payment|remittance) ?"
    r"(?:ref|no\b|num|id\b)",
    "where": r"cost ?c(?:entre|enter|tr)|cc\b|obj(?:ective)?s?\b|serv(?:ice)?s?\b|sercop|"
    r"responsib|division",
    "what": r"subj|cipf|bvacop|expen|account|acc\b|acct|nominal|ledger|g ?l\b|group",
}
# A heading with none of them, over a short list of descriptions: words of CIPFA's subjective
# groups and subgroups (what), or of council services (SeRCOP's service divisions and the usual
# directorates: where), starting a word of most values.
SUBJECTIVE_VALUES = (
    r"employee|premises|transport|supplies|third party|transfer payment|support services|"
    r"capital financing|depreciation|income|fees|charges|grant|equipment|furniture|materials|"
    r"catering|clothing|printing|stationery|comput|communications|subscription|contribution|"
    r"energy|insurance|repair|maintenance|agency|consultan|contractor|allowance|recharge|vehicle"
)
SERVICE_VALUES = (
    r"adult|child|school|education|learning|skills|social care|housing|environment|health|"
    r"wellbeing|highway|planning|regenerat|econom|growth|corporate|resources|governance|"
    r"communit|neighbourhood|cultur|leisure|librar|waste|regulat|democra|police|fire\b|"
    r"place\b|people\b|finance|legal"
)
# (role, values) -> the canonical columns it may fill, the first free one, tried in this order;
# subjective descriptions with more distinct values first (a subgroup before its group). A cost
# centre's code fills the one code column when no subjective code does.
FINANCE_TARGETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ref", "code"): ("transaction_id",),
    ("what", "code"): ("expense_code",),
    ("what", "description"): ("expense_type", "category"),
    ("where", "description"): ("expense_area",),
    ("where", "code"): ("expense_code",),
}
ROLES = {"what": "what was bought", "where": "where it was spent", "ref": "a transaction number"}
CODE = re.compile(  # '1MK34', '40101', 'A-123'; not an amount or a date
    r"(?![0-9,]*\.[0-9]+$|[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}$)"
    r"(?=\S*[0-9])[A-Za-z0-9][\w./-]{0,15}"
)
FITS = 0.9  # share of a column's values that must be of its type for a guess by values

# Formats tried on date values beyond the catalogue's defaults.
EXTRA_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d-%B-%Y",
    "%B %d, %Y",
    "%d %B, %Y",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M:%S %p",
)
# A value in the file names: (regular expression for values.date_from_name, what it reads).
NAME_MONTHS = (  # in the file's name, not its folders': (?=[^/]*$)
    r"(?<![0-9])(?P<year>(?:19|20)[0-9]{2})[-_. ]?(?P<month>0[1-9]|1[0-2])(?![0-9])(?=[^/]*$)",
    r"(?<![0-9])(?P<month>0[1-9]|1[0-2])[-_. ](?P<year>(?:19|20)[0-9]{2})(?![0-9])(?=[^/]*$)",
)
MONTHS = "January February March April May June July August September October November December"


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


# -- values ------------------------------------------------------------------------------------


class ValueTests:
    """Typed-value tests in an in-memory DuckDB with the pipeline's own macros: 'parses as an
    amount' and 'parses as %d/%m/%Y' mean what the ingest means by them."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        load_macros(self.con)
        self.placeholders = {p.strip().lower() for p in DEFAULT_PLACEHOLDERS}

    def register(self, counts: Counter[str]) -> None:
        """The values (and how often each occurs) as the table `v`."""
        values = list(counts)
        self.con.execute(
            "create or replace temp table v as select unnest(?) as v, unnest(?) as n",
            [values, [counts[v] for v in values]],
        )

    def real(self, values: Iterable[str]) -> Counter[str]:
        """The values that are not placeholders, counted."""
        return Counter(v for v in values if v.strip().lower() not in self.placeholders)

    def money(self, counts: Counter[str]) -> set[str]:
        """The values that parse as amounts."""
        if not counts:
            return set()
        self.register(counts)
        sql = "select v from v where parse_money(v) is not null"
        return {r[0] for r in self.con.execute(sql).fetchall()}

    def dates(self, counts: Counter[str], formats: Iterable[str]) -> dict[str, set[str]]:
        """Format -> the values it parses into a realistic year (1900-2100), as parse_date."""
        formats = list(formats)
        if not counts:
            return {f: set() for f in formats}
        self.register(counts)
        tests = ", ".join(
            f"year(try_strptime(trim(v), '{f}')) between 1900 and 2100" for f in formats
        )
        rows = self.con.execute(f"select v, {tests} from v").fetchall()
        return {f: {r[0] for r in rows if r[i + 1]} for i, f in enumerate(formats)}

    def serials(self, counts: Counter[str]) -> set[str]:
        """The values the ingest reads as Excel serial day numbers."""
        if not counts:
            return set()
        self.register(counts)
        sql = "select v from v where parse_date(v, ['%Y-%m-%d'], true) is not null and "
        sql += "regexp_full_match(trim(v), '[0-9]{5}(\\.[0-9]+)?')"
        return {r[0] for r in self.con.execute(sql).fetchall()}

    def any_date(self, counts: Counter[str]) -> set[str]:
        found = self.serials(counts)
        for parsed in self.dates(counts, candidate_formats()).values():
            found |= parsed
        return found


def candidate_formats() -> list[str]:
    return list(dict.fromkeys((*DEFAULT_DATE_FORMATS, *EXTRA_DATE_FORMATS)))


def share(part: Iterable[str], counts: Counter[str]) -> float:
    total = sum(counts.values())
    return sum(counts[v] for v in set(part)) / total if total else 0.0


def names_like(counts: Counter[str]) -> float:
    """Share of values that read as names (three letters in a row, words apart), not codes."""
    total = sum(counts.values())
    if not total:
        return 0.0
    named = sum(k for v, k in counts.items() if re.search(r"[A-Za-z]{3}", v) and " " in v.strip())
    return named / total


def n(count: int) -> str:
    return f"{count:,}"


def example(values: Iterable[str], k: int = 3) -> str:
    return ", ".join(repr(v) for v in list(values)[:k])


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


def by_values(mapped: Mapped, column: str, tests: ValueTests) -> None:
    """Look for a required column not found by its heading among the headings with one of its
    `KEYWORDS`, by its values; for supplier names, also under a heading taken for supplier ids."""
    for i in mapped.missing(column):
        table, cells = mapped.tables[i], mapped.cells[i]
        best: tuple[float, int] | None = None
        for j, cell in enumerate(table.header):
            heading = words(cell)
            mapped_to = cells[j].column if j in cells else None
            if mapped_to not in (None, "supplier_id") or not heading:
                continue
            if mapped_to == "supplier_id" and column != "supplier_name":
                continue
            if not any(k in heading for k in KEYWORDS[column].split()):
                continue
            if column == "payment_date" and any(k in heading for k in NOT_PAYMENT_DATES):
                continue
            counts = tests.real(table.values(j))
            if column == "amount":
                fit = share(tests.money(counts), counts)
            elif column == "payment_date":
                fit = share(tests.any_date(counts), counts)
            else:
                fit = names_like(counts)
            if fit >= FITS and (best is None or fit > best[0]):
                best = (fit, j)
        if best is None:
            continue
        fit, j = best
        cell = table.header[j]
        what = {"amount": "amounts", "payment_date": "dates"}.get(column, "names")
        was = f", not {cells[j].column.removeprefix('supplier_')}s" if j in cells else ""
        why = f"{fit:.0%} of its values are {what}{was}, and its heading says so"
        cells[j] = Match(column, why, exact=False)


def find_period(mapped: Mapped, tests: ValueTests) -> list[int]:
    """Map a period column (`202205`) to payment_period in the tables with no payment date;
    returns the tables still without either."""
    left = []
    for i in mapped.missing("payment_date"):
        table, cells = mapped.tables[i], mapped.cells[i]
        found = False
        for j, cell in enumerate(table.header):
            named = cells[j].column if j in cells else None
            if named not in (None, "payment_period") or "period" not in words(cell):
                continue
            counts = tests.real(table.values(j))
            periods = sum(k for v, k in counts.items() if PERIOD.fullmatch(v))
            if not found and counts and periods / sum(counts.values()) >= FITS:
                why = f"{n(periods)} of {n(sum(counts.values()))} values are periods like "
                why += example([v for v in counts if PERIOD.fullmatch(v)], 1)
                cells[j] = Match("payment_period", why, exact=False)
                found = True
            elif named:
                del cells[j]  # headed like a period, but its values are not YYYYPP
        if not found:
            left.append(i)
    return left


def finance_role(heading: str, counts: Counter[str]) -> tuple[str, str] | None:
    """'what', 'where' or 'ref', and why: by the first FINANCE_WORDS word in the heading, else
    (a heading that says nothing, like 'Nstrg') by a short list of values most of which name
    CIPFA subjective groups (what) or council services (where)."""
    for role, stems in FINANCE_WORDS.items():
        if found := re.search(rf"\b(?:{stems})", words(heading)):
            return None if role == "other" else (role, f"{found.group()!r} in its heading")
    total = sum(counts.values())
    if not total or len(counts) > max(20, total // 20):
        return None

    def hits(stems: str) -> float:
        return sum(k for v, k in counts.items() if re.search(rf"\b(?:{stems})", v.lower())) / total

    what, where = hits(SUBJECTIVE_VALUES), hits(SERVICE_VALUES)
    if what >= FITS:
        return "what", f"{what:.0%} of its values are CIPFA subjective groups"
    if where >= FITS and what < 0.5:
        return "where", f"{where:.0%} of its values name council services"
    return None


def value_form(counts: Counter[str]) -> str | None:
    """'code' when nine values in ten are short codes with a digit, 'description' when nine
    in ten are words."""
    total = sum(counts.values())
    codes = sum(k for v, k in counts.items() if CODE.fullmatch(v))
    texts = sum(k for v, k in counts.items() if re.search(r"[A-Za-z]{3}", v)) - codes
    if codes >= FITS * total > 0:
        return "code"
    return "description" if texts >= FITS * total > 0 else None


def finance_headings(mapped: Mapped, tests: ValueTests) -> None:
    """Map the spend headings nothing else mapped that FINANCE_WORDS (or their values) place,
    to the first free column of FINANCE_TARGETS: a heading is decided once over every table
    that has it, and left out when its column is taken in any of them. A second subjective
    description fills category only when it is coarser than the expense type (a group)."""
    places: dict[str, list[tuple[int, int]]] = {}
    counts: dict[str, Counter[str]] = {}
    for i, (t, cells, losers) in enumerate(
        zip(mapped.tables, mapped.cells, mapped.losers, strict=True)
    ):
        for j, cell in enumerate(t.header):
            if cell and j not in cells and j not in losers:
                places.setdefault(fold(cell), []).append((i, j))
                counts.setdefault(fold(cell), Counter()).update(tests.real(t.values(j)))
    found = []
    for key, at in places.items():
        headings = dict.fromkeys(mapped.tables[i].header[j] for i, j in at)
        role = next(filter(None, (finance_role(h, counts[key]) for h in headings)), None)
        form = value_form(counts[key])
        if role and (role[0], form) in FINANCE_TARGETS:
            order = list(FINANCE_TARGETS).index((role[0], form))
            found.append((order, -len(counts[key]), key, role, form))
    for _, minus, key, (role, why), form in sorted(found):
        at, top = places[key], max(counts[key], key=counts[key].__getitem__)
        for column in FINANCE_TARGETS[role, form]:
            types = len(set(mapped.values("expense_type")))
            taken = any(column in {m.column for m in mapped.cells[i].values()} for i, _ in at)
            if taken or (column == "category" and -minus >= types):
                continue
            text = f"{why}: {ROLES[role]}; {n(-minus)} {form}s like {top!r}"
            if column == "category":
                text += f", fewer than the {n(types)} expense types: their group"
            elif role == "where" and column == "expense_code":
                text += ", and no subjective code: the one code column"
            for i, j in at:
                mapped.cells[i][j] = Match(column, text, exact=False)
            break


def name_month(path: str) -> tuple[str, int, int] | None:
    """The first NAME_MONTHS pattern found in a path, with the year and month it reads."""
    for pattern in NAME_MONTHS:
        found = re.search(pattern, path)
        if found:
            return pattern, int(found["year"]), int(found["month"])
    return None


def period_format(mapped: Mapped, proposal: Proposal) -> str:
    """financial_year or calendar, from each file's name month beside its commonest period."""
    votes: Counter[str] = Counter()
    evidence = []
    for t, cells in zip(mapped.tables, mapped.cells, strict=True):
        j = next((j for j, m in cells.items() if m.column == "payment_period"), None)
        month = name_month(t.file)
        if j is None or month is None:
            continue
        common = Counter(v for v in t.values(j) if PERIOD.fullmatch(v)).most_common(1)
        if not common:
            continue
        period = int(re.sub(r"[^0-9]", "", common[0][0])[4:])
        if period == (month[2] + 8) % 12 + 1:  # August (8) is period 5 of a financial year
            votes["financial_year"] += 1
            evidence.append(f"{t.file} ({MONTHS.split()[month[2] - 1]}) has period {period}")
        elif period == month[2]:
            votes["calendar"] += 1
            evidence.append(f"{t.file} has period {period}, its month")
    if not votes:
        proposal.note(
            "values.period_format",
            "no file name says its month: financial_year assumed (period 1 = April), check",
        )
        return "financial_year"
    found = votes.most_common(1)[0][0]
    first = "period 1 = April" if found == "financial_year" else "YYYYMM"
    proposal.note("values.period_format", f"{first}: {'; '.join(evidence[:2])}")
    return found


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


def date_formats(counts: Counter[str], tests: ValueTests, proposal: Proposal) -> tuple[str, ...]:
    """The fewest formats that read the date values (greedy: the format reading the most values
    not yet read, until none reads more; the defaults first among equals); day-first and
    month-first are never mixed."""
    if not counts:
        return ()
    total = sum(counts.values())
    parsed = tests.dates(counts, candidate_formats())
    serials = tests.serials(counts)
    unread = set(counts) - serials
    chosen: list[str] = []
    order = None  # 'dm' or 'md' once a numeric day-month format is chosen
    while unread:
        options = [f for f in parsed if f not in chosen and _order(f) in (None, order or _order(f))]
        gain = {f: sum(counts[v] for v in parsed[f] & unread) for f in options}
        best = max(options, key=lambda f: gain[f], default=None)
        if best is None or gain[best] == 0:
            break
        chosen.append(best)
        order = order or _order(best)
        proposal.note(
            "values.date_formats", f"{n(gain[best])} of {n(total)} values parse as {best}"
        )
        unread -= parsed[best]
    if serials:
        k = sum(counts[v] for v in serials)
        proposal.note("values.date_formats", f"{n(k)} are Excel serial day numbers (read too)")
    if unread:
        k = sum(counts[v] for v in unread)
        worst = sorted(unread, key=lambda v: -counts[v])
        proposal.note("values.date_formats", f"{n(k)} parse with none: {example(worst)}")
    if order:
        over_12 = re.compile(
            r"\s*[0-9]{1,2}[-/.](1[3-9]|2[0-9]|3[01])\b"
            if order == "md"
            else r"\s*(1[3-9]|2[0-9]|3[01])[-/.][0-9]{1,2}\b"
        )
        k = sum(c for v, c in counts.items() if over_12.match(v))
        first = "day" if order == "dm" else "month"
        proposal.note(
            "values.date_formats",
            f"{first} first: {n(k)} values have a day over 12"
            if k
            else f"no value has a day over 12: {first} first assumed (UK), check",
        )
    # Four-digit years first (the ingest tries them first as well).
    return tuple(sorted(chosen, key=lambda f: "%y" in f))


def _order(date_format: str) -> str | None:
    """'dm' for a day-first numeric format, 'md' for a month-first one, else None."""
    if re.match(r"%d[-/.]%m", date_format):
        return "dm"
    return "md" if date_format.startswith("%m") else None


def placeholders(
    mapped: Mapped, kind: str, formats: tuple[str, ...], tests: ValueTests, proposal: Proposal
) -> tuple[list[str], list[str], list[str]]:
    """Placeholders, yes and no spellings the values need beyond the defaults: a word (no digit)
    repeated in a typed column where it is not a value of the type ('Ongoing' as an end date,
    'Various' as a yes/no), a yes/no misspelt ('Noo'). Default placeholders that fill many cells
    are only noted."""
    types = {c.name: c.type for c in COLUMNS[kind]}
    found: Counter[str] = Counter()
    where: dict[str, str] = {}
    true_values, false_values = [], []
    known = set(DEFAULT_TRUE) | set(DEFAULT_FALSE) | tests.placeholders
    for column, headers in mapped.columns().items():
        values = mapped.values(column)
        kind_of = types.get(column, "text")
        defaults = Counter(v for v in values if v.lower() in tests.placeholders)
        for v, k in defaults.most_common(2):
            if k >= max(2, len(values) // 20):
                proposal.note(
                    "values.placeholders",
                    f"{v!r} fills {n(k)} cells of {headers[0]!r}: a default placeholder (empty)",
                )
        if kind_of == "text":
            continue
        counts = tests.real(values)
        if kind_of == "date":
            good = set().union(*tests.dates(counts, formats or DEFAULT_DATE_FORMATS).values())
            good |= tests.serials(counts)
        elif kind_of == "money":
            good = tests.money(counts)
        elif kind_of == "number":
            good = {v for v in counts if re.fullmatch(r"-?[0-9][0-9,]*(\.[0-9]+)?", v)}
        elif kind_of == "flag":
            good = {v for v in counts if v.lower() in known}
        else:  # company and charity numbers: anything with a digit is a number of some kind
            good = {v for v in counts if re.search(r"[0-9]", v)}
        for v, k in counts.items():
            if v in good or re.search(r"[0-9]", v):
                continue
            low = v.lower()
            if kind_of == "flag" and fuzz.ratio(low, "no") >= 80 and low[0] == "n":
                false_values.append(v)
                proposal.note("values.false_values", f"{v!r} ({n(k)}x in {headers[0]!r}) is a no")
            elif kind_of == "flag" and fuzz.ratio(low, "yes") >= 80 and low[0] == "y":
                true_values.append(v)
                proposal.note("values.true_values", f"{v!r} ({n(k)}x in {headers[0]!r}) is a yes")
            elif k >= 2:
                found[v] += k
                where.setdefault(v, f"{headers[0]!r}, not {TYPE_WORD[kind_of]}")
    for v, k in found.most_common():
        proposal.note("values.placeholders", f"{v!r} fills {n(k)} cells ({where[v]})")
    return list(found), true_values, false_values


TYPE_WORD = {
    "date": "a date",
    "money": "an amount",
    "number": "a number",
    "flag": "yes/no",
    "company_number": "a registration number",
    "charity_number": "a charity number",
}


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


def payment_date_elsewhere(
    mapped: Mapped, folder: str, tests: ValueTests, proposal: Proposal
) -> dict[str, Any]:
    """The `values` that give a payment date to tables without one: a period column
    (period_format), else the month in every such file's name (date_from_name); empty when
    neither is found."""
    values: dict[str, Any] = {}
    left = find_period(mapped, tests) if "payment_period" in column_names("spend") else []
    if "payment_period" in mapped.columns():
        values["period_format"] = period_format(mapped, proposal)
    months = [name_month(f"{folder}/{mapped.tables[i].file}") for i in left]
    found = [m for m in months if m]
    if left and len(found) == len(left) and len({m[0] for m in found}) == 1:
        pattern, year, month = found[0]
        values["date_from_name"] = pattern
        proposal.note(
            "values.date_from_name",
            f"no payment date column: all {len(left)} tables' file names carry a month "
            f"({mapped.tables[left[0]].file}: {MONTHS.split()[month - 1]} {year})",
        )
    elif left:
        return {}  # some tables would still have no date: better to say so than to guess
    return values


def threshold(mapped: Mapped, tests: ValueTests, proposal: Proposal) -> int:
    """A department's £25,000 when nine payments in ten are at least that, else a council's
    £500."""
    tests.register(tests.real(mapped.values("amount")))
    total, big = tests.con.execute(
        "select sum(n), coalesce(sum(n) filter (where parse_money(v) >= 25000), 0) from v "
        "where parse_money(v) > 0"
    ).fetchall()[0]
    share_big = big / total if total else 0
    department = share_big >= 0.9
    proposal.note(
        "threshold",
        f"{share_big:.0%} of the payments are £25,000 or more: "
        + ("a department's threshold" if department else "a council's threshold"),
    )
    return 25000 if department else 500


def beyond_header(tables: list[Table], tests: ValueTests, proposal: Proposal) -> bool:
    """Whether the tables have unnamed working columns past their header: values beyond the
    header's last column in most rows of a table (a row here and there is more likely broken,
    and is better quarantined), some of them more than a placeholder such as `#N/A`."""
    if "values_beyond_header" not in ReadOptions.model_fields:
        return False
    found: list[str] = []
    for t in tables:
        width = max((j + 1 for j, c in enumerate(t.header) if c), default=0)
        extra = [[c.strip() for c in r[width:] if c.strip()] for r in t.rows]
        filled = [cells for cells in extra if cells]
        real = [c for cells in filled for c in cells if c.lower() not in tests.placeholders]
        if real and len(filled) * 2 >= len(t.rows):
            found.append(f"{t.where} ({n(len(filled))} of {n(len(t.rows))} rows, e.g. {real[0]!r})")
    if found:
        proposal.note(
            "read",
            f"values past the header's last column: {'; '.join(found[:3])}"
            + (f" and {len(found) - 3} more tables" if len(found) > 3 else "")
            + ": unnamed working columns, ignored (the file's warnings count them)",
        )
    return bool(found)


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


# -- the dry run -------------------------------------------------------------------------------
