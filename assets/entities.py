"""Entities and links (`oversight.entities`): registers matched to notices
(`staging.contract_matches`), suppliers and buyers resolved across every source
(`entities.*`), and which contract each payment pays (`links.spend_contract`)."""

import dagster as dg

from assets.ingest import (
    RAW_FILES,
    STAGING_CONTRACTS,
    STAGING_EVENTS,
    STAGING_NOTICES,
    STAGING_SPEND,
    STAGING_SUPPLIERS,
)
from assets.resources import Warehouse
from oversight.core.isolate import in_child
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import atomic, atomic_retrying
from oversight.entities.links import build_links
from oversight.entities.matching import match_registers_to_notices
from oversight.entities.resolution import build_buyers, build_suppliers_at

SUPPLIERS = dg.AssetKey(["entities", "suppliers"])
BUYERS = dg.AssetKey(["entities", "buyers"])


@dg.asset(
    key=["staging", "contract_matches"],
    group_name="staging",
    kinds={"duckdb"},
    deps=[STAGING_CONTRACTS, RAW_FILES],
)
def contract_matches(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Register entries that are the same contract as a published notice: same buyer, same
    supplier (never two different company numbers), and the same reference or a value within
    1% and start dates within 31 days. One row per match with the rule and its evidence, so
    that values are counted once downstream."""
    with warehouse.connect() as con:
        n = match_registers_to_notices(con)
        by_rule = con.execute(
            "select rule, count(*) from staging.contract_matches group by 1 order by 1"
        ).fetchall()
    context.log.info(f"{n} register entries matched to notices")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n, "matches by rule": dict(by_rule) or "none"}
    )


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
    # In a process of its own: resolution holds every distinct mention in Python (1.2M at
    # scale 10), and that memory goes back to the system when it ends.
    by_method = in_child(build_suppliers_at, warehouse.path, warehouse.lock_timeout)
    n, build = by_method.pop("suppliers"), by_method.pop("build")
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


@dg.asset(
    key=["links", "spend_contract"],
    group_name="links",
    kinds={"duckdb"},
    deps=[SUPPLIERS, BUYERS, STAGING_EVENTS, dg.AssetKey(["staging", "contract_matches"])],
)
def spend_contract(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Every payment, with the contract entry it most likely pays and its contract
    (`contract_key`): same buyer, same resolved supplier, paid between the contract's start
    (less a margin) and its effective end plus a grace period (catalogue/parameters.yaml).
    The method says why: `reference` (printed on the payment), `own_period` (inside one
    contract's own period, which beats any margin or grace), `margin_or_grace`, `ambiguous`
    (several fit equally: candidates in `tied_contracts`, confidence shared), `invalid_period`
    (the period ends before it starts). `score` is the confidence OV07 and OV08 rely on
    (`links.min_confidence`). Unlinked payments stay, with the reason. Also builds
    `links.contract_entries`: each published entry with the contract it belongs to. Only the
    payments whose file, supplier or buyer, or buyer-supplier pair's contracts changed are
    linked again (`build` says incremental); the as-of date does not enter."""
    with warehouse.connect() as con:
        by_method = atomic_retrying(con, lambda: build_links(con, load_parameters()))
        share = con.execute("""
            select sum(abs(amount)) filter (where contract_id is not null)
                   / nullif(sum(abs(amount)), 0)
            from links.spend_contract""").fetchall()[0][0]
    build, relinked = by_method.pop("build"), by_method.pop("relinked")
    context.log.info(f"payments by method: {by_method} ({build} build, {relinked} linked)")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(by_method.values()),
            "payments by method": by_method,
            "share of spend linked (by value)": round(float(share or 0), 4),
            "build": build,
            "payments linked in this build": relinked,
        }
    )
