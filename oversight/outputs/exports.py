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
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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
_BOLD = Font(bold=True)


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


def _cell(ws, value: object) -> object:
    """A value as the workbook holds it: text always as a string (never a formula), money and
    dates with their formats, numbers and booleans as themselves."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _text(ws, str(value))
    if isinstance(value, Decimal):
        return _styled(ws, value, MONEY_FORMAT)
    if isinstance(value, datetime):  # Excel has no time zones: the wall-clock time
        return _styled(ws, value.replace(tzinfo=None), DATETIME_FORMAT)
    if isinstance(value, date):
        return _styled(ws, value, DATE_FORMAT)
    return _text(ws, value if isinstance(value, str) else str(value))


def _styled(ws, value: object, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    cell.number_format = number_format
    return cell


def _text(ws, text: str, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    cell.value = spreadsheet_text(text)[:XLSX_MAX_TEXT]
    cell.data_type = "s"  # openpyxl takes text that starts with `=` for a formula
    if bold:
        cell.font = _BOLD
    return cell


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


def _write_sheet(ws, con: duckdb.DuckDBPyConnection, table: str, facts: dict) -> None:
    columns = facts["columns"]
    for i, width in enumerate(_widths(con, table, columns), 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"  # before the first row: write-only sheets write their top first
    shown = min(facts["rows"], XLSX_MAX_ROWS)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{shown + 1}"
    ws.append([_text(ws, name, bold=True) for name, *_ in columns])
    result = con.execute(f"select * from {table} limit {XLSX_MAX_ROWS}")
    while batch := result.fetchmany(10_000):
        for row in batch:
            ws.append([_cell(ws, value) for value in row])


def _write_readme(ws, sheets: dict[str, dict]) -> None:
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDE", (24, 12, 90, 12, 60), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append([_text(ws, h, bold=True) for h in ("sheet", "rows", "what it is", "as of", "note")])
    for name, facts in sheets.items():
        note = None
        if facts["rows"] > XLSX_MAX_ROWS:
            note = (
                f"cut: the first {XLSX_MAX_ROWS:,} rows of {facts['rows']:,} (Excel holds no "
                f"more); the whole table is in {name}.csv and {name}.parquet"
            )
        ws.append(
            [
                _text(ws, name),
                facts["rows"],
                _text(ws, PURPOSE.get(name, "")),
                _cell(ws, facts["as_of"]),
                _text(ws, note) if note else None,
            ]
        )
    ws.append([])
    for line in (
        "Text that begins with =, +, -, @, a tab or a carriage return starts with ' here, so "
        "that it cannot run as a formula (remove the ' to see the published text).",
        "Money is in pounds; dates are dates. The same tables are beside this file as CSV and "
        "Parquet.",
    ):
        ws.append([_text(ws, line)])


def _sheet_name(table: str) -> str:
    return table.split(".")[-1][:31]  # Excel's limit


def export_workbook(
    con: duckdb.DuckDBPyConnection, tables: list[str] | tuple[str, ...], target: Path
) -> Path:
    """`tables` (marts) as one workbook, a sheet each after a `README` sheet, atomically.
    Write-only: rows stream to disk, so memory stays flat however large a mart is."""
    facts = {table: _sheet_facts(con, table) for table in tables}
    with _atomic(target) as partial:
        workbook = Workbook(write_only=True)
        _write_readme(
            workbook.create_sheet("README"), {_sheet_name(t): f for t, f in facts.items()}
        )
        for table in tables:
            _write_sheet(workbook.create_sheet(_sheet_name(table)), con, table, facts[table])
        workbook.save(partial)
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
