"""Entities: suppliers and buyers resolved across every source."""

import dagster as dg

from assets.ingest import (
    RAW_FILES,
    STAGING_CONTRACTS,
    STAGING_NOTICES,
    STAGING_SPEND,
    STAGING_SUPPLIERS,
)
from assets.resources import Warehouse
from oversight.parameters import load_parameters
from oversight.resolution import build_buyers, build_suppliers
from oversight.warehouse import atomic

SUPPLIERS = dg.AssetKey(["entities", "suppliers"])
BUYERS = dg.AssetKey(["entities", "buyers"])


@dg.asset(
    key=SUPPLIERS,
    group_name="entities",
    kinds={"duckdb"},
    deps=[RAW_FILES, STAGING_CONTRACTS, STAGING_SPEND, STAGING_SUPPLIERS],
)
def suppliers(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per resolved supplier, with every name, identifier and source seen, its payee
    class (company, charity, public_body, sole_trader, individual, redacted, unknown) and the
    evidence for it. Names are taken apart first (decorations after `#`, trading names,
    brackets, cut legal forms), then resolved: shared company/charity number when the names
    agree (a number printed with two dissimilar names is a conflict, listed in
    `entities.identifier_conflicts`, not a merge), equal name, a parent or swapped trading
    name, fuzzy name (rapidfuzz), abbreviation. Individuals and redacted payees are never
    clustered. `entities.supplier_mentions` maps every published (name, number) to its
    supplier, with the method, score and class. Measured on real labels:
    docs/entity-resolution.md."""
    with warehouse.connect() as con:
        with atomic(con):
            by_method = build_suppliers(con, load_parameters())
        n = con.execute("select count(*) from entities.suppliers").fetchall()[0][0]
    build = by_method.pop("build")
    context.log.info(
        f"{n} suppliers from {sum(by_method.values())} mentions ({build} build): {by_method}"
    )
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n, "mentions by method": by_method, "build": build}
    )


@dg.asset(
    key=BUYERS,
    group_name="entities",
    kinds={"duckdb"},
    deps=[RAW_FILES, STAGING_CONTRACTS, STAGING_SPEND, STAGING_NOTICES],
)
def buyers(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per buyer ("Salford City Council" and "Salford Council" are one), with every
    name and source; `entities.buyer_mentions` maps each published name to its buyer."""
    with warehouse.connect() as con, atomic(con):
        counts = build_buyers(con, load_parameters())
    return dg.MaterializeResult(
        metadata={"dagster/row_count": counts["buyers"], "names": counts["names"]}
    )
