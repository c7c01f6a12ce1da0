"""What the asset checks share: failing rows as a markdown table, and a check that runs one
query function on the warehouse."""

from collections.abc import Callable

import dagster as dg
import duckdb

from assets.resources import Warehouse


def failing_rows(header: str, rows: list[tuple], limit: int = 10) -> dg.MetadataValue:
    """Up to `limit` failing rows as a markdown table under `header` ('| a | b |'), numeric
    columns right-aligned ('none' when there are none)."""
    if not rows:
        return dg.MetadataValue.md("none")
    shown = rows[:limit]
    align = [
        "---:" if all(len(r) > i and isinstance(r[i], int | float) for r in shown) else "---"
        for i in range(header.count("|") - 1)
    ]
    lines = [header, "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in shown]
    return dg.MetadataValue.md("\n".join(lines))


def warehouse_check(
    run: Callable[[duckdb.DuckDBPyConnection], dg.AssetCheckResult],
    *,
    asset: dg.AssetKey,
    name: str,
    description: str,
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """An asset check that opens the warehouse and returns `run(con)`."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=False) as con:
            return run(con)

    return check
