"""Marts as Parquet (for tools), CSV and one XLSX workbook (for spreadsheets), written
atomically; the Parquet is also what notebooks read (`explore.connect`), so that a reader never
holds the warehouse's lock.

In the CSV and the workbook, any text cell that begins with `=`, `+`, `-`, `@`, a tab or a
carriage return is prefixed with a single quote, so that opening the file in a spreadsheet
cannot run a formula (OWASP "CSV injection"); control characters other than tab, line feed and
carriage return (NUL among them, which XML cannot hold) are dropped first, so both files carry
the same text. Numbers and dates are written as they are; the Parquet is untouched.

The CSV starts with a UTF-8 byte-order mark, which Excel needs to read `£` and accented names
as UTF-8 (pandas reads it with `encoding="utf-8-sig"`; Python's `csv` module likewise).
The workbook `oversight.xlsx` has a `README` sheet (each sheet, its rows, what it is, its
as-of date) and a sheet per mart: header bold and frozen, an autofilter, dates as dates,
DECIMAL columns (money, in this project) as numbers formatted `£#,##0.00`, booleans as
TRUE/FALSE, and every text cell written as a string, never as a formula.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import rustpy_xlsxwriter as xlsx

from oversight.outputs.ocds_out import write_releases

MART_TABLES = (
    "marts.contract_oversight",
    "marts.off_contract_spend",
    "marts.non_market_spend",
    "marts.expired_payments",
    "marts.unpublished_payments",
    "marts.supplier_concentration",
    "marts.supplier_shares",
    "marts.buyer_scorecard",
    "marts.publisher_quality",
)
# Written as Parquet only, beside the marts, so that notebooks can name a buyer or a supplier
# without opening the warehouse (see explore.connect).
LOOKUP_TABLES = ("entities.buyers", "entities.suppliers")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^([=+@\t\r-])"  # FORMULA_START as one RE2 class, for SQL
# C0 control characters but tab, line feed and carriage return: not allowed in XML (so not in
# a workbook), and dropped from the CSV too. The same pattern for Python's re and DuckDB's RE2.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
BOM = "\ufeff"

WORKBOOK = "oversight.xlsx"
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows in Excel, less the header
# The workbook is for reading: a sheet holds at most this many rows, the ones to read first
# (SHEET_ORDER); every row is in the mart's CSV and Parquet beside it. A sheet is held in
# memory as a DataFrame while the workbook is written, so the cap also bounds memory. (Before
# the cap, the workbook was most of a national run: supplier_shares alone, 275,547 rows at
# scale 1, took 52 s with XlsxWriter; see docs/performance.md.)
SHEET_ROWS = 10_000
# For a mart longer than SHEET_ROWS, the order that puts the rows to read first at the top,
# and how the README sheet says it. A mart that fits keeps its own order, row for row its CSV.
SHEET_ORDER = {
    "contract_oversight": (
        "flagged contracts first (most flags first), then by value at risk, largest first",
        "({flags}) desc, value_at_risk desc nulls last, contract_id",
    ),
    "supplier_shares": (
        "largest value first",
        "value desc nulls last, buyer_id, financial_year, supplier_id",
    ),
    "off_contract_spend": (
        "largest spend first",
        "spend desc nulls last, buyer_id, financial_year, supplier_id",
    ),
    "expired_payments": ("largest payment first", "amount desc nulls last, payment_id"),
    "unpublished_payments": ("largest payment first", "amount desc nulls last, payment_id"),
    "supplier_concentration": (
        "largest total first",
        "total desc nulls last, buyer_id, category, financial_year",
    ),
}
XLSX_MAX_TEXT = 32_767  # characters in a cell
MONEY_FORMAT = '"£"#,##0.00'
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_WIDTH = 50  # characters
README_COLUMNS = ("sheet", "rows", "what it is", "as of", "note")
README_WIDTHS = (24, 12, 90, 12, 60)
# Column kinds a sheet shows as DuckDB gives them (DECIMAL, HUGEINT and zoned times are cast;
# anything else is written as its text).
PLAIN_KINDS = {
    *["BOOLEAN", "DATE", "DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT"],
    *["UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"],
    '"NULL"',  # a column of nulls only
}
# One line per mart for the README sheet (the assets in assets/indicators.py say more).
PURPOSE = {
    "contract_oversight": "One row per contract, with every oversight flag OV01-OV15 "
    "(true, false or unknown), the evidence behind each flag and the value at risk",
    "off_contract_spend": "Spend with no contract behind it (OV12): buyer x supplier x "
    "financial year, market suppliers only",
    "non_market_spend": "Payments to public bodies, individuals, redacted payees and grants, "
    "which OV12 and concentration leave out: buyer x financial year x class",
    "expired_payments": "Each payment made after its contract had expired (OV07)",
    "unpublished_payments": "Each payment over £30,000 under a contract subject to s70 of the "
    "Procurement Act 2023 that the buyer did not publish by its due date (OV15)",
    "supplier_concentration": "Supplier concentration per buyer x category x financial year: "
    "HHI and its band, CR1/CR3/CR5, top supplier, change from the year before",
    "supplier_shares": "Each supplier's share of a buyer's spend, and its dependency on its "
    "largest buyer",
    "buyer_scorecard": "Per buyer: for each indicator the contracts flagged, unknown and the "
    "value behind them; register coverage; the latest concentration headline",
    "publisher_quality": "Per source: how complete and timely its publication is (field "
    "coverage, months missing, quarantine rate)",
}

_CONTROL = re.compile(CONTROL_CHARACTERS)


def neutralise(text: str | None) -> str | None:
    """`'=SUM(A1)'` becomes `"'=SUM(A1)"`; other text is unchanged."""
    if text is not None and text.startswith(FORMULA_START):
        return "'" + text
    return text


def spreadsheet_text(text: str) -> str:
    """Text as both the CSV and the workbook hold it: control characters dropped, then
    neutralised."""
    return neutralise(_CONTROL.sub("", text))


def _safe_text(column: str) -> str:
    """`spreadsheet_text` in SQL, on one text column (quoted): control characters dropped
    first (a NUL before `=` must not hide the formula), then a quote put before a formula's
    first character. Two regexes and no CASE: DuckDB 2.0.1 wrote a CSV from a select with a
    CASE over a regex in parallel without keeping the rows' order (from about 150,000 rows;
    tests/test_exports.py); RE2 leaves a value with nothing to replace as it is."""
    clean = f"regexp_replace({column}, '{CONTROL_CHARACTERS}', '', 'g')"
    return f"regexp_replace({clean}, '{FORMULA_PATTERN}', '''\\1')"


def _csv_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The CSV's rows: `spreadsheet_text` on every text column, and the first column named
    after a UTF-8 byte-order mark, so that the header DuckDB writes makes the file start with
    the mark (COPY cannot write one; mart column names are plain, never quoted in a CSV)."""
    columns = con.execute(f"describe {table}").fetchall()
    exprs = [
        (_safe_text(_quote(name)) if kind == "VARCHAR" else _quote(name))
        + " as "
        + _quote(BOM + name if i == 0 else name)
        for i, (name, kind, *_) in enumerate(columns)
    ]
    return f"select {', '.join(exprs)} from {table}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_file(table: str) -> str:
    """The file name a table is exported under: `marts.buyer_scorecard` ->
    `buyer_scorecard.parquet`, `entities.buyers` -> `entities.buyers.parquet`."""
    schema, name = table.split(".")
    return f"{name}.parquet" if schema == "marts" else f"{table}.parquet"


@contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    """A partial file to write, renamed over `target` once whole: a reader sees the old file
    or the new, never half of one. If writing fails the partial file is removed and `target`
    is left as it was."""
    partial = target.with_suffix(target.suffix + ".partial")
    try:
        yield partial
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, options: str) -> Path:
    """DuckDB's COPY, atomically, keeping the query's row order (`preserve_order` stated, not
    left to the planner: see `_safe_text`)."""
    with _atomic(target) as partial:
        quoted = str(partial).replace("'", "''")  # a quote in the warehouse's path
        con.execute(f"copy ({sql}) to '{quoted}' ({options}, preserve_order true)")
    return target


def export_table(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    parquet = _copy(con, f"select * from {table}", out / export_file(table), "format parquet")
    csv = _copy(
        con, _csv_select(con, table), parquet.with_suffix(".csv"), "format csv, header true"
    )
    return parquet, csv


def _widths(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple]) -> list[float]:
    """Each column's width in characters: its longest value in `table` (a sheet's rows) or its
    header, capped."""
    longest = con.execute(
        "select "
        + ", ".join(f"max(length(cast({_quote(name)} as varchar)))" for name, *_ in columns)
        + f" from {table}"
    ).fetchone()
    widths = []
    for (name, kind, *_), n in zip(columns, longest, strict=True):
        n = n or 0
        if kind.startswith("DECIMAL"):
            n += n // 3 + 1  # thousands separators and the £
        elif kind == "DATE":
            n = 10
        elif kind.startswith("TIMESTAMP"):
            n = 19
        widths.append(min(max(n, len(name), 6) + 2, MAX_WIDTH))
    return widths


def _sheet_facts(con: duckdb.DuckDBPyConnection, table: str) -> dict:
    columns = con.execute(f"describe {table}").fetchall()
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    as_of = None
    if "as_of" in [name for name, *_ in columns]:
        first, last = con.execute(f"select min(as_of), max(as_of) from {table}").fetchone()
        as_of = first if first == last else f"{first} to {last}"
    return {"columns": columns, "rows": rows, "as_of": as_of}


def _sheet_rows() -> int:
    """The most rows a sheet shows (below Excel's own limit)."""
    return min(SHEET_ROWS, XLSX_MAX_ROWS)


def _sheet_query(table: str, facts: dict) -> str:
    """The rows a sheet shows: the whole mart in its own order (row for row its CSV) when it
    fits in SHEET_ROWS; else the first SHEET_ROWS in the mart's SHEET_ORDER."""
    shown = _sheet_rows()
    order = SHEET_ORDER.get(_sheet_name(table))
    if facts["rows"] <= shown or not order:
        return f"select * from {table} limit {shown}"
    flags = " + ".join(
        f"coalesce(cast({_quote(name)} as integer), 0)"
        for name, kind, *_ in facts["columns"]
        if kind == "BOOLEAN" and re.fullmatch(r"ov\d\d_.*", name)
    )
    return f"select * from {table} order by {order[1].format(flags=flags or '0')} limit {shown}"


def _sheet(
    con: duckdb.DuckDBPyConnection, table: str, facts: dict
) -> tuple[pd.DataFrame, list[float]]:
    """The rows a sheet shows (`_sheet_query`), selected once, as the workbook holds them: text
    cleaned and neutralised as in the CSV and cut to Excel's cell limit, money (DECIMAL) and
    HUGEINT as doubles (Excel's numbers), times with a zone as their wall-clock time (Excel
    has no time zones), anything else (a list, a struct) as its text; and the columns'
    widths, measured on those rows (not on the whole mart: 2.8M rows of supplier shares at
    scale 10)."""
    exprs = []
    for name, kind, *_ in facts["columns"]:
        column = _quote(name)
        if kind.startswith("DECIMAL") or kind in ("HUGEINT", "UHUGEINT"):
            exprs.append(f"cast({column} as double) as {column}")
        elif kind == "TIMESTAMP WITH TIME ZONE":
            exprs.append(f"cast({column} as timestamp) as {column}")
        elif kind in PLAIN_KINDS or kind.startswith("TIMESTAMP"):
            exprs.append(column)
        else:
            text = column if kind == "VARCHAR" else f"cast({column} as varchar)"
            exprs.append(f"left({_safe_text(text)}, {XLSX_MAX_TEXT}) as {column}")
    con.execute(f"create or replace temp table sheet_rows as {_sheet_query(table, facts)}")
    try:
        frame = con.execute(f"select {', '.join(exprs)} from sheet_rows").df()
        return frame, _widths(con, "sheet_rows", facts["columns"])
    finally:
        con.execute("drop table if exists sheet_rows")


def _column_formats(facts: dict) -> dict[str, object]:
    """Money in pounds, dates and times as such; other columns Excel's General."""
    formats = {}
    for name, kind, *_ in facts["columns"]:
        if kind.startswith("DECIMAL"):
            formats[name] = xlsx.Format().set_num_format(MONEY_FORMAT)
        elif kind == "DATE":
            formats[name] = xlsx.Format().set_num_format(DATE_FORMAT)
        elif kind.startswith("TIMESTAMP"):
            formats[name] = xlsx.Format().set_num_format(DATETIME_FORMAT)
    return formats


def _cut(name: str, facts: dict) -> str | None:
    """What the README sheet says of a sheet that shows fewer rows than its mart has."""
    shown = _sheet_rows()
    if facts["rows"] <= shown:
        return None
    order = SHEET_ORDER.get(name)
    which = f"the first {shown:,} rows of {facts['rows']:,}"
    if order:
        which += f", {order[0]}"
    return f"{which}; every row is in {name}.csv and {name}.parquet"


def _readme_frame(sheets: dict[str, dict]) -> pd.DataFrame:
    """The README sheet: a line per sheet (its rows, what it is, its as-of date, and which rows
    it shows when not all), then how to read the workbook."""
    lines = [
        [name, facts["rows"], PURPOSE.get(name, ""), facts["as_of"], _cut(name, facts)]
        for name, facts in sheets.items()
    ]
    lines.append([None] * len(README_COLUMNS))
    for line in (
        "Text that begins with =, +, -, @, a tab or a carriage return starts with ' here, so "
        "that it cannot run as a formula (remove the ' to see the published text).",
        "Money is in pounds; dates are dates. The same tables are beside this file as CSV and "
        f"Parquet, whole: a sheet here shows at most {SHEET_ROWS:,} rows, the ones to read "
        "first (the note says which).",
    ):
        lines.append([line] + [None] * (len(README_COLUMNS) - 1))
    return pd.DataFrame(lines, columns=list(README_COLUMNS), dtype=object)


def _sheet_name(table: str) -> str:
    return table.split(".")[-1][:31]  # Excel's limit


def export_workbook(
    con: duckdb.DuckDBPyConnection, tables: list[str] | tuple[str, ...], target: Path
) -> Path:
    """`tables` (marts) as one workbook, a sheet each after a `README` sheet, atomically.
    Written by rust_xlsxwriter (the Rust port of XlsxWriter, through `rustpy-xlsxwriter`) from
    one DataFrame per sheet of at most SHEET_ROWS rows, so memory is bounded by the cap
    (the contracts sheet, 10,000 rows x 58 columns: 0.5 s, where XlsxWriter took 7 s)."""
    facts = {table: _sheet_facts(con, table) for table in tables}
    names = {table: _sheet_name(table) for table in tables}
    shown = {table: _sheet(con, table, facts[table]) for table in tables}
    sheets = [("README", _readme_frame({names[t]: f for t, f in facts.items()}))]
    sheets += [(names[t], shown[t][0]) for t in tables]
    with _atomic(target) as partial:
        _write_book(
            sheets,
            partial,
            freeze_panes={"general": {"row": 1, "col": 0}},
            bold_headers=True,
            column_widths={
                "README": list(README_WIDTHS),
                **{names[t]: shown[t][1] for t in tables},
            },
            column_formats={
                "README": {"as of": xlsx.Format().set_num_format(DATE_FORMAT)},
                **{names[t]: _column_formats(facts[t]) for t in tables},
            },
            autofilter={names[t]: True for t in tables},
            inf_value="inf",  # "inf" and "-inf" as text; NaN, like NULL, is an empty cell
        )
    return target


def _write_book(sheets: list[tuple[str, pd.DataFrame]], path: Path, **options: object) -> None:
    """Write the workbook: `(sheet name, rows)` in order, with rust_xlsxwriter's per-sheet
    options. A text cell is always written as a string, never as a formula."""
    xlsx.write_worksheets(sheets, str(path), **options)


def export_marts(con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    """Every mart that exists, as Parquet and CSV in `out` and as a sheet of
    `out/oversight.xlsx`; the lookup tables as Parquet; and the register entries as OCDS 1.1
    releases, `out/register-releases.json` (`oversight.outputs.ocds_out`)."""
    existing = {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    marts = [table for table in MART_TABLES if table in existing]
    written = []
    for table in marts:
        written += export_table(con, table, out)
    for table in LOOKUP_TABLES:
        if table in existing:
            out.mkdir(parents=True, exist_ok=True)
            written.append(
                _copy(con, f"select * from {table}", out / export_file(table), "format parquet")
            )
    if marts:
        written.append(export_workbook(con, marts, out / WORKBOOK))
    if releases := write_releases(con, out):
        written.append(releases)
    return written
