"""Staging layer, across sources: registers and notices reconciled."""

import dagster as dg

from assets.ingest import RAW_FILES, STAGING_CONTRACTS
from assets.resources import Warehouse
from oversight.matching import match_registers_to_notices


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
