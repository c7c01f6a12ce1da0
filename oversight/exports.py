"""Marts as Parquet (for tools) and CSV (for spreadsheets), written atomically; these are
also what notebooks read (`explore.connect`), so that a reader never holds the warehouse's lock.

In the CSV, any text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is
prefixed with a single quote, so that opening the file in a spreadsheet cannot run a formula
(OWASP "CSV injection"). Numbers and dates are written as they are; the Parquet is untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

MART_TABLES = (
    "marts.contract_oversight",
    "marts.off_contract_spend",
    "marts.non_market_spend",
    "marts.expired_payments",
    "marts.supplier_concentration",
    "marts.supplier_shares",
    "marts.buyer_scorecard",
    "marts.publisher_quality",
)
# Written as Parquet only, beside the marts, so that notebooks can name a buyer or a supplier
# without opening the warehouse (see explore.connect).
LOOKUP_TABLES = ("entities.buyers", "entities.suppliers")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str | None) -> str | None:
    """`'=SUM(A1)'` becomes `"'=SUM(A1)"`; other text is unchanged."""
    if text is not None and text.startswith(FORMULA_START):
        return "'" + text
    return text


def _safe_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    columns = con.execute(f"describe {table}").fetchall()
    starts = ", ".join(f"'{c}'" for c in ("=", "+", "-", "@")) + ", chr(9), chr(13)"
    # NUL bytes (a late one in a published file survives to staging) are dropped: a CSV cell
    # must not carry one into a spreadsheet.
    exprs = [
        f"case when left({name}, 1) in ({starts}) then '''' || replace({name}, chr(0), '') "
        f"else replace({name}, chr(0), '') end as {name}"
        if kind == "VARCHAR"
        else name
        for name, kind, *_ in columns
    ]
    return f"select {', '.join(exprs)} from {table}"


def export_file(table: str) -> str:
    """The file name a table is exported under: `marts.buyer_scorecard` ->
    `buyer_scorecard.parquet`, `entities.buyers` -> `entities.buyers.parquet`."""
    schema, name = table.split(".")
    return f"{name}.parquet" if schema == "marts" else f"{table}.parquet"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, options: str) -> Path:
    """Write to a partial file, then rename: a reader sees the old file or the new, whole."""
    partial = target.with_suffix(target.suffix + ".partial")
    quoted = str(partial).replace("'", "''")  # a quote in the warehouse's path
    con.execute(f"copy ({sql}) to '{quoted}' ({options})")
    os.replace(partial, target)
    return target


def export_table(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    parquet = _copy(con, f"select * from {table}", out / export_file(table), "format parquet")
    csv = _copy(
        con, _safe_select(con, table), parquet.with_suffix(".csv"), "format csv, header true"
    )
    return parquet, csv


def export_marts(con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    """Every mart that exists, as Parquet and CSV in `out`."""
    existing = {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    written = []
    for table in MART_TABLES:
        if table in existing:
            written += export_table(con, table, out)
    for table in LOOKUP_TABLES:
        if table in existing:
            out.mkdir(parents=True, exist_ok=True)
            written.append(
                _copy(con, f"select * from {table}", out / export_file(table), "format parquet")
            )
    return written
