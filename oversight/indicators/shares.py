"""SC03 and SC04, `marts.supplier_shares`: each market supplier's share of a buyer's financial
year and its dependency on its largest buyer, per basis (spend, contracted value), one row per
basis x buyer x financial year x supplier (2.8M rows on the scale-10 synthetic sample).

A (basis, financial year) partition depends on nothing outside it but the buyers' and
suppliers' names and the strategic-supplier groups, so a nightly run builds again only the
partitions whose values changed (a new month's payments touch one or two financial years) or
whose names or groups did, and keeps the others' rows as they are stored. The table is kept in
the order analysts read it: by financial year, spend before contracted value, then buyer, then
the largest value first; a month's payments change the newest year, which is last, so only
its rows are written again."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import duckdb

from oversight.core.warehouse import has_tables

_SQL = resources.files("oversight.indicators").joinpath("supplier_shares.sql").read_text("utf-8")
# Stored shares can be kept only if they were computed by the same SQL and this file.
SHARES_CODE = hashlib.sha256(_SQL.encode() + Path(__file__).read_bytes()).hexdigest()[:16]
# The table's order: partitions by financial year, spend before contracted value; within one,
# by buyer, the largest value first.
PARTITIONS = "financial_year nulls last, basis desc"
WITHIN_PARTITION = "buyer, buyer_id, value desc, supplier_id"

# A stored row (m) in a partition (p) of shares_partitions.
_SAME_FY = "m.basis = p.basis and left(m.financial_year, 4)::integer is not distinct from p.fy"
# Partitions whose stored rows carry a buyer name, supplier name or strategic group that is no
# longer the entity's (an entity renamed, a group listed or unlisted).
_NAMES_CHANGED = """
    select distinct m.basis, left(m.financial_year, 4)::integer as fy
    from marts.supplier_shares m
    anti join (select s.supplier_id, s.name, g.strategic_group
               from entities.suppliers s left join strategic g using (supplier_id)) e
      on m.supplier_id = e.supplier_id and m.supplier is not distinct from e.name
     and m.strategic_group is not distinct from e.strategic_group
    union
    select distinct m.basis, left(m.financial_year, 4)::integer
    from (select distinct basis, financial_year, buyer_id, buyer
          from marts.supplier_shares) m
    anti join entities.buyers b
      on m.buyer_id = b.buyer_id and m.buyer is not distinct from b.name"""


def _stored_token(con: duckdb.DuckDBPyConnection) -> str | None:
    """The values token (`marts.concentration_build.token`) the stored shares were built
    from, None when they cannot be kept (none stored, or built by other code)."""
    if not has_tables(con, "marts", ["supplier_shares", "shares_build"]):
        return None
    rows = con.execute("select code, values_token from marts.shares_build").fetchall()
    if len(rows) != 1 or rows[0][0] != SHARES_CODE:
        return None
    return rows[0][1]


def build_supplier_shares(
    con: duckdb.DuckDBPyConnection,
    values_before: str | None,
    touched: list[tuple[str, int]] | None,
) -> dict:
    """`marts.supplier_shares` from `marts.concentration_values`, in one transaction with
    them (`build_concentration`). `values_before` is the token of the values before this
    night's build; `touched`, the (basis, financial year) pairs whose values the build may
    have changed (None: every pair). The stored partitions are kept when they were built from
    exactly those values and none of their names or groups changed; the others are built
    again. The result equals a full build's, rows and order (`tests/test_incremental.py` checks).
    Needs the registered table `strategic`. Returns `shares build` (`full` or `partial`),
    `shares partitions built` and `shares partitions written` (those built and the kept
    ones after the first built, written again to keep the order)."""
    partial = touched is not None and values_before is not None
    partial = partial and _stored_token(con) == values_before
    con.execute("create or replace temp table shares_partitions (basis varchar, fy integer)")
    if partial:
        changed = set(touched) | set(con.execute(_NAMES_CHANGED).fetchall())
        if changed:
            con.executemany("insert into shares_partitions values (?, ?)", list(changed))
    else:
        con.execute(
            "insert into shares_partitions select distinct basis, fy "
            "from marts.concentration_values where category_scheme = 'all'"
        )
    con.execute(_SQL)
    # Every partition in the table's order, built again or kept (a partition built again with
    # no rows left is gone). From the first built again on, partitions are written again in
    # order, the kept ones among them from a copy; those before it are left in place. A month
    # of payments changes the newest year, the last: only it is written.
    kept = (
        "select distinct basis, financial_year, false as built from marts.supplier_shares m "
        f"anti join shares_partitions p on {_SAME_FY} union all "
        if partial
        else ""
    )
    con.execute(f"""
        create or replace temp table shares_order as
        select basis, financial_year, built
        from ({kept} select distinct basis, financial_year, true as built from shares_built)
        qualify bool_or(built) over (order by {PARTITIONS})
        order by {PARTITIONS}""")
    partitions = con.execute("select basis, financial_year, built from shares_order").fetchall()
    if partial:
        same = "m.basis = o.basis and m.financial_year is not distinct from o.financial_year"
        con.execute(
            "create or replace temp table shares_kept as from marts.supplier_shares m "
            f"semi join shares_order o on {same} and not o.built"
        )
        con.execute(f"delete from marts.supplier_shares m using shares_order o where {same}")
    else:
        con.execute(
            "create or replace table marts.supplier_shares as "
            "select * exclude (fy) from shares_built limit 0"
        )
    # Each partition sorted as it is inserted, the kept ones too (a copy through a join need
    # not keep the stored order).
    where = "where basis = ? and financial_year is not distinct from ?"
    for basis, year, built in partitions:
        rows = "select * exclude (fy) from shares_built" if built else "from shares_kept"
        con.execute(
            f"insert into marts.supplier_shares {rows} {where} order by {WITHIN_PARTITION}",
            [basis, year],
        )
    for table in ("shares_built", "shares_order", "shares_kept"):
        con.execute(f"drop table if exists {table}")
    con.execute(
        "create or replace table marts.shares_build as "
        "select ?::varchar as code, token as values_token from marts.concentration_build",
        [SHARES_CODE],
    )
    return {
        "shares build": "partial" if partial else "full",
        "shares partitions built": sum(built for _, _, built in partitions),
        "shares partitions written": len(partitions),
    }
