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

import math
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
from xlsxwriter import Workbook

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
# C0 control characters but tab, line feed and carriage return: not allowed in XML (so not in
# a workbook), and dropped from the CSV too. The same pattern for Python's re and DuckDB's RE2.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
BOM = "\ufeff".encode()

WORKBOOK = "oversight.xlsx"
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows in Excel, less the header
# The workbook is for reading: a sheet holds at most this many rows, the ones to read first
# (SHEET_ORDER); every row is in the mart's CSV and Parquet beside it. Writing a cell costs
# about 20 microseconds in Python, so without a cap the workbook was most of a national run
# (supplier_shares alone, 275,547 rows at scale 1: 52 s; see docs/performance.md).
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


def _safe_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`spreadsheet_text` in SQL, on every text column."""
    columns = con.execute(f"describe {table}").fetchall()
    starts = ", ".join(f"'{c}'" for c in ("=", "+", "-", "@")) + ", chr(9), chr(13)"
    exprs = []
    for name, kind, *_ in columns:
        column = _quote(name)
        if kind == "VARCHAR":
            # Dropped before the test: a NUL before `=` must not hide the formula.
            clean = f"regexp_replace({column}, '{CONTROL_CHARACTERS}', '', 'g')"
            exprs.append(
                f"case when left({clean}, 1) in ({starts}) then '''' || {clean} "
                f"else {clean} end as {column}"
            )
        else:
            exprs.append(column)
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


def _copy(
    con: duckdb.DuckDBPyConnection, sql: str, target: Path, options: str, bom: bool = False
) -> Path:
    """DuckDB's COPY, atomically; with `bom`, the file starts with a UTF-8 byte-order mark
    (COPY cannot write one, so its output is appended to the mark)."""
    with _atomic(target) as partial:
        body = partial.with_suffix(partial.suffix + ".body") if bom else partial
        quoted = str(body).replace("'", "''")  # a quote in the warehouse's path
        try:
            con.execute(f"copy ({sql}) to '{quoted}' ({options})")
            if bom:
                with partial.open("wb") as out, body.open("rb") as data:
                    out.write(BOM)
                    shutil.copyfileobj(data, out, 1 << 20)
        finally:
            if bom:
                body.unlink(missing_ok=True)
    return target


def export_table(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    parquet = _copy(con, f"select * from {table}", out / export_file(table), "format parquet")
    csv = _copy(
        con,
        _safe_select(con, table),
        parquet.with_suffix(".csv"),
        "format csv, header true",
        bom=True,
    )
    return parquet, csv


class _Sheet:
    """A sheet being written row by row (XlsxWriter's constant-memory mode: each row goes to
    disk once the next starts), with the workbook's formats."""

    def __init__(self, book: Workbook, name: str, formats: dict) -> None:
        self.ws = book.add_worksheet(name)
        self.formats = formats
        self.row = 0

    def append(self, values: list[object], bold: bool = False) -> None:
        for col, value in enumerate(values):
            self.write(col, value, bold)
        self.row += 1

    def write(self, col: int, value: object, bold: bool = False) -> None:
        """A value as the workbook holds it: text always as a string (never a formula), money
        and dates with their formats, numbers and booleans as themselves."""
        ws, row, f = self.ws, self.row, self.formats
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_boolean(row, col, value)
        elif isinstance(value, int):
            ws.write_number(row, col, value)
        elif isinstance(value, float):
            if math.isfinite(value):
                ws.write_number(row, col, value)
            else:
                ws.write_string(row, col, str(value))
        elif isinstance(value, Decimal):
            ws.write_number(row, col, float(value), f["money"])
        elif isinstance(value, datetime):  # Excel has no time zones: the wall-clock time
            ws.write_datetime(row, col, value.replace(tzinfo=None), f["datetime"])
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, f["date"])
        else:
            text = spreadsheet_text(value if isinstance(value, str) else str(value))
            ws.write_string(row, col, text[:XLSX_MAX_TEXT], f["bold"] if bold else None)


def _widths(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple]) -> list[float]:
    """Each column's width in characters: its longest value or its header, capped."""
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


def _write_sheet(sheet: _Sheet, con: duckdb.DuckDBPyConnection, table: str, facts: dict) -> None:
    columns = facts["columns"]
    for i, width in enumerate(_widths(con, table, columns)):
        sheet.ws.set_column(i, i, width)
    sheet.ws.freeze_panes(1, 0)
    shown = min(facts["rows"], _sheet_rows())
    sheet.ws.autofilter(0, 0, shown, len(columns) - 1)
    sheet.append([name for name, *_ in columns], bold=True)
    result = con.execute(_sheet_query(table, facts))
    while batch := result.fetchmany(10_000):
        for row in batch:
            sheet.append(row)


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


def _write_readme(sheet: _Sheet, sheets: dict[str, dict]) -> None:
    sheet.ws.freeze_panes(1, 0)
    for i, width in enumerate((24, 12, 90, 12, 60)):
        sheet.ws.set_column(i, i, width)
    sheet.append(["sheet", "rows", "what it is", "as of", "note"], bold=True)
    for name, facts in sheets.items():
        sheet.append(
            [name, facts["rows"], PURPOSE.get(name, ""), facts["as_of"], _cut(name, facts)]
        )
    sheet.row += 1
    for line in (
        "Text that begins with =, +, -, @, a tab or a carriage return starts with ' here, so "
        "that it cannot run as a formula (remove the ' to see the published text).",
        "Money is in pounds; dates are dates. The same tables are beside this file as CSV and "
        f"Parquet, whole: a sheet here shows at most {SHEET_ROWS:,} rows, the ones to read "
        "first (the note says which).",
    ):
        sheet.append([line])


def _sheet_name(table: str) -> str:
    return table.split(".")[-1][:31]  # Excel's limit


def export_workbook(
    con: duckdb.DuckDBPyConnection, tables: list[str] | tuple[str, ...], target: Path
) -> Path:
    """`tables` (marts) as one workbook, a sheet each after a `README` sheet, atomically.
    Written with XlsxWriter in constant-memory mode: rows stream to disk, so memory stays
    flat however large a mart is (twice as fast as openpyxl's write-only mode, measured on
    40,000 rows x 14 columns: 15 s against 30 s on a loaded machine)."""
    facts = {table: _sheet_facts(con, table) for table in tables}
    with _atomic(target) as partial:
        book = Workbook(
            str(partial),
            {
                "constant_memory": True,
                "strings_to_formulas": False,  # text is only ever text
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        formats = {
            "money": book.add_format({"num_format": MONEY_FORMAT}),
            "date": book.add_format({"num_format": DATE_FORMAT}),
            "datetime": book.add_format({"num_format": DATETIME_FORMAT}),
            "bold": book.add_format({"bold": True}),
        }
        try:
            _write_readme(
                _Sheet(book, "README", formats), {_sheet_name(t): f for t, f in facts.items()}
            )
            for table in tables:
                sheet = _Sheet(book, _sheet_name(table), formats)
                _write_sheet(sheet, con, table, facts[table])
        finally:
            book.close()  # writes the file (and removes XlsxWriter's temporary files)
    return target


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
