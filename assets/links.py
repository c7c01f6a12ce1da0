"""Links: which contract each payment pays."""

import dagster as dg

from assets.entities import BUYERS, SUPPLIERS
from assets.ingest import STAGING_EVENTS
from oversight.parameters import load_parameters
from oversight.resolution import build_links
from oversight.warehouse import atomic
from pipelines.resources import Warehouse


@dg.asset(
    key=["links", "spend_contract"],
    group_name="links",
    kinds={"duckdb"},
    deps=[SUPPLIERS, BUYERS, STAGING_EVENTS, dg.AssetKey(["staging", "contract_matches"])],
    pool="warehouse",
)
def spend_contract(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Every payment, with the contract it most likely pays: same buyer, same resolved
    supplier, paid between the contract's start (less a margin) and its effective end plus a
    grace period (catalogue/parameters.yaml). Several candidates: the narrowest period, then
    the closest value. Method and score kept; unlinked payments stay, with the reason."""
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
