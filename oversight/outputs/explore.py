"""Functions for analysts (notebooks, the report): read the results, never write them.

from oversight.outputs import explore
con = explore.connect()            # the exported marts, as of the last run
explore.scorecard(con, "Northmoor City Council")

`connect()` does not open the warehouse: it gives an in-memory DuckDB whose `marts.*`,
`entities.buyers` and `entities.suppliers` are views over the Parquet files in `data/exports/`.
A notebook left open therefore never holds the warehouse's lock (DuckDB allows no writer while
another process has the file open, even read-only), so the nightly run is never blocked. What
a notebook sees is the last run's exports; each file is replaced whole at the end of a run, and
the next query reads the new one. `connect(live=True)` opens the warehouse itself, read-only,
for every table (raw, staging, links): close it when done, as a writer waits while it is open.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from oversight.core import settings
from oversight.core.warehouse import connect as _connect
from oversight.outputs.exports import LOOKUP_TABLES, MART_TABLES, export_file

INDICATOR_NAMES = {
    "OV01": "no review date",
    "OV02": "review overdue",
    "OV03": "no named owner",
    "OV04": "KPIs missing",
    "OV05": "performance notice overdue",
    "OV06": "poor performance",
    "OV07": "expired but paid",
    "OV08": "paid beyond value",
    "OV09": "past end, not closed",
    "OV10": "change beyond tolerance",
    "OV11": "expiring, no pipeline",
    "OV12": "off-contract spend",
    "OV13": "value missing",
    "OV14": "supplier unidentified",
    "OV15": "large payment not published",
}
FLAG_COLUMNS = {
    "OV01": "ov01_no_review_date",
    "OV02": "ov02_review_overdue",
    "OV03": "ov03_no_owner",
    "OV04": "ov04_kpis_missing",
    "OV05": "ov05_rating_overdue",
    "OV06": "ov06_poor_performance",
    "OV07": "ov07_expired_but_paid",
    "OV08": "ov08_paid_beyond_value",
    "OV09": "ov09_not_closed",
    "OV10": "ov10_change_beyond_tolerance",
    "OV11": "ov11_no_pipeline",
    "OV13": "ov13_value_missing",
    "OV14": "ov14_supplier_unidentified",
    "OV15": "ov15_payment_not_published",
}


def connect(path: Path | str | None = None, *, live: bool = False) -> duckdb.DuckDBPyConnection:
    """The results of the last run, for reading: views over the exports beside the warehouse
    at `path` (default: `settings.warehouse_path()`); `live=True` opens the warehouse itself,
    read-only (which blocks a writer while it stays open)."""
    path = Path(path or settings.warehouse_path())
    if live:
        return _connect(path, read_only=True, timeout=30)
    folder = path.parent / "exports"
    tables = [t for t in (*MART_TABLES, *LOOKUP_TABLES) if (folder / export_file(t)).exists()]
    if not tables:
        raise FileNotFoundError(f"no exports in {folder}: run `make run` first")
    con = duckdb.connect()
    for table in tables:
        con.execute(f"create schema if not exists {table.split('.')[0]}")
        parquet = str(folder / export_file(table)).replace("'", "''")
        con.execute(f"create view {table} as select * from read_parquet('{parquet}')")
    return con


def buyers(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select distinct buyer from marts.buyer_scorecard order by 1"
        ).fetchall()
    ]


def scorecard(con: duckdb.DuckDBPyConnection, buyer: str | None = None) -> pd.DataFrame:
    """Per buyer and indicator: contracts flagged, unknown, and the value behind them."""
    df = con.execute(
        "select buyer, as_of, indicator, flagged, unknown, value, spend_linked_share, hhi, band "
        "from marts.buyer_scorecard where ? is null or buyer = ? order by buyer, indicator",
        [buyer, buyer],
    ).df()
    df.insert(3, "name", df["indicator"].map(INDICATOR_NAMES))
    return df


def flagged_contracts(
    con: duckdb.DuckDBPyConnection,
    buyer: str | None = None,
    indicator: str | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Contracts with a true flag (of one indicator, or any), largest value at risk first,
    with their evidence."""
    columns = [FLAG_COLUMNS[indicator]] if indicator else list(FLAG_COLUMNS.values())
    any_flag = " or ".join(f"coalesce({c}, false)" for c in columns)
    flags = ", ".join(f"{c}" for c in columns)
    return con.execute(
        f"""
        select contract_ref, title, buyer_name, supplier_name, start_date, effective_end,
               value, value_at_risk, {flags}, ov07_evidence, ov08_evidence, ov09_evidence,
               ov10_evidence, ov15_evidence, contract_id
        from marts.contract_oversight
        where ({any_flag}) and (? is null or buyer_name = ? or buyer_id in (
            select buyer_id from entities.buyers where name = ?))
        order by value_at_risk desc nulls last, value desc nulls last, contract_ref
        limit {int(limit)}""",
        [buyer, buyer, buyer],
    ).df()


# What a flag means, said about one contract, when the mart has no evidence column for it.
PLAIN_EVIDENCE = {
    "OV01": "no review date published for this live contract",
    "OV03": "no contract owner named",
    "OV11": "ends {effective_end} and no renewal or new procurement is published",
    "OV13": "no value published",
    "OV14": "the supplier '{supplier_name}' is not identified (no registration number, and "
    "no match to an identified supplier)",
}


def flag_explanations(
    con: duckdb.DuckDBPyConnection, buyer: str | None = None, limit: int = 20
) -> list[dict]:
    """A buyer's flagged contracts, most money at risk first (then most flags, then largest),
    each with its flags in words: [{code, name, evidence}], the evidence for every flag."""
    columns = list(FLAG_COLUMNS.values())
    evidence = [c.split("_")[0] + "_evidence" for c in columns]
    present = {r[0] for r in con.execute("describe marts.contract_oversight").fetchall()}
    evidence_sql = ", ".join(e if e in present else f"null as {e}" for e in evidence)
    any_flag = " or ".join(f"coalesce({c}, false)" for c in columns)
    count = " + ".join(f"coalesce({c}, false)::int" for c in columns)
    rows = con.execute(
        f"""
        select contract_ref, title, supplier_name, start_date, effective_end, value,
               coalesce(value_at_risk, 0) as value_at_risk, {", ".join(columns)}, {evidence_sql}
        from marts.contract_oversight
        where ({any_flag}) and (? is null or buyer_name = ? or buyer_id in (
            select buyer_id from entities.buyers where name = ?))
        order by value_at_risk desc, {count} desc, value desc nulls last, contract_ref
        limit {int(limit)}""",
        [buyer, buyer, buyer],
    ).df()
    out = []
    for row in rows.to_dict("records"):
        flags = []
        for code, column in FLAG_COLUMNS.items():
            if row[column] is not True:
                continue
            said = row.get(code.lower() + "_evidence")
            if not isinstance(said, str) or not said:
                said = PLAIN_EVIDENCE.get(code, "").format(
                    effective_end=day(row["effective_end"]),
                    supplier_name=row["supplier_name"],
                )
            flags.append({"code": code, "name": INDICATOR_NAMES[code], "evidence": said})
        out.append({**{k: row[k] for k in list(rows.columns)[:7]}, "flags": flags})
    return out


def day(value: object) -> str:
    """A date as YYYY-MM-DD (never with a time), or empty."""
    return "" if pd.isna(value) else str(value)[:10]


def concentration(
    con: duckdb.DuckDBPyConnection,
    buyer: str | None = None,
    basis: str = "spend",
    category_scheme: str = "all",
) -> pd.DataFrame:
    return con.execute(
        "select * from marts.supplier_concentration where basis = ? and category_scheme = ? "
        "and (? is null or buyer = ?) order by buyer, category, financial_year",
        [basis, category_scheme, buyer, buyer],
    ).df()


def supplier_shares(con: duckdb.DuckDBPyConnection, buyer: str | None = None) -> pd.DataFrame:
    return con.execute(
        "select * from marts.supplier_shares where ? is null or buyer = ? "
        "order by buyer, financial_year, value desc",
        [buyer, buyer],
    ).df()


def latest_top_shares(con: duckdb.DuckDBPyConnection, n: int = 20) -> pd.DataFrame:
    """Each buyer's `n` largest suppliers by share of its spend in its latest financial year
    (what the top-suppliers chart draws): `marts.supplier_shares` has a row per buyer, year
    and supplier, 2.8M at scale 10, which as a DataFrame took the report to 3.6 GB."""
    return con.execute(
        """with latest as (
               select * from marts.supplier_shares where basis = 'spend'
               qualify financial_year = max(financial_year) over (partition by buyer))
           select * from latest
           qualify row_number() over (partition by buyer
                                      order by share_of_buyer_spend desc, value desc,
                                               supplier) <= ?
           order by buyer, financial_year, value desc""",
        [n],
    ).df()


def expired_payments(con: duckdb.DuckDBPyConnection, buyer: str | None = None) -> pd.DataFrame:
    return con.execute(
        "select e.*, o.contract_ref, o.supplier_name, o.buyer_name, o.as_of "
        "from marts.expired_payments e"
        " join marts.contract_oversight o using (contract_id)"
        " where ? is null or o.buyer_id in (select buyer_id from entities.buyers where name = ?)"
        " order by payment_date",
        [buyer, buyer],
    ).df()


def unpublished_payments(con: duckdb.DuckDBPyConnection, buyer: str | None = None) -> pd.DataFrame:
    """OV15: large payments under s70 not published in a notice by their due date."""
    return con.execute(
        "select u.*, o.contract_ref, o.supplier_name, o.buyer_name, o.as_of "
        "from marts.unpublished_payments u"
        " join marts.contract_oversight o using (contract_id)"
        " where ? is null or o.buyer_id in (select buyer_id from entities.buyers where name = ?)"
        " order by payment_date",
        [buyer, buyer],
    ).df()
