"""Onboarding, the values: what a column's values say when its heading does not (an amount
headed `TOTAL`, a period column `202205`, a month in the file's name, finance-system codes and
descriptions), and the date formats, placeholders, threshold and cells beyond the header a
catalogue entry needs, tested in DuckDB with the pipeline's own macros. What comes in: `Mapped`
tables (`oversight.onboard.headings`); what goes out: their columns placed, and the settings
and notes of the `Proposal`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import duckdb
from rapidfuzz import fuzz

from oversight.core.catalogue import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_FALSE,
    DEFAULT_PLACEHOLDERS,
    DEFAULT_TRUE,
    ReadOptions,
)
from oversight.core.schema import COLUMNS, column_names
from oversight.core.warehouse import load_macros
from oversight.ingest.mapping import fold
from oversight.onboard.headings import KEYWORDS, Mapped, Match, Table, n, words

if TYPE_CHECKING:
    from oversight.onboard.propose import Proposal

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


def example(values: Iterable[str], k: int = 3) -> str:
    return ", ".join(repr(v) for v in list(values)[:k])


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
