"""Links: which contract each payment pays."""

import dagster as dg

from assets.entities import BUYERS, SUPPLIERS
from assets.ingest import STAGING_EVENTS
from assets.resources import Warehouse
from oversight.parameters import load_parameters
from oversight.resolution import build_links
from oversight.warehouse import atomic


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
    `links.contract_entries`: each published entry with the contract it belongs to."""
    with warehouse.connect() as con:
        with atomic(con):
            by_method = build_links(con, load_parameters())
        share = con.execute("""
            select sum(abs(amount)) filter (where contract_id is not null)
                   / nullif(sum(abs(amount)), 0)
            from links.spend_contract""").fetchall()[0][0]
    context.log.info(f"payments by method: {by_method}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(by_method.values()),
            "payments by method": by_method,
            "share of spend linked (by value)": round(float(share or 0), 4),
        }
    )
