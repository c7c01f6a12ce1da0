"""Marts: tables analysts read, built from the staging layer."""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets.ingest import RAW_FILES, STAGING_CONTRACTS, STAGING_SPEND
from oversight.charts import coverage_heatmap, markdown_image
from pipelines.resources import SourceCatalogue, Warehouse

SQL = Path(__file__).parent / "sql"


@dg.asset(
    key=["marts", "publisher_quality"],
    group_name="marts",
    kinds={"duckdb"},
    deps=[RAW_FILES, STAGING_CONTRACTS, STAGING_SPEND],
    pool="warehouse",
)
def publisher_quality(
    context: dg.AssetExecutionContext, warehouse: Warehouse, catalogue: SourceCatalogue
) -> dg.MaterializeResult:
    """One row per source: how complete and timely its publication is. Coverage of each
    Transparency Code field (`cov_*`: share of rows with a value), months missing from the
    monthly spend series, quarantine rate, share of spend paid to a supplier with a company or
    charity number, and share of register entries with a review date and a value."""
    sources = pd.DataFrame(
        [(s.id, s.publisher, s.kind, s.threshold) for s in catalogue.load().sources],
        columns=["source_id", "publisher", "kind", "threshold"],
    )
    with warehouse.connect() as con:
        con.register("sources", sources)
        con.begin()
        con.execute((SQL / "publisher_quality.sql").read_text())
        con.commit()
        quality = con.execute("select * from marts.publisher_quality").df()
    chart = coverage_heatmap(quality, Path(warehouse.outputs_dir) / "publisher_quality.png")
    context.log.info(f"publisher quality chart: {chart}")
    worst = quality.sort_values("quarantine_rate", ascending=False).head(3)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(quality),
            "chart": dg.MetadataValue.md(markdown_image(chart, "publisher quality")),
            "chart file": dg.MetadataValue.path(str(chart)),
            "highest quarantine rates": dg.MetadataValue.md(
                worst[
                    ["source_id", "rows_read", "rows_quarantined", "quarantine_rate"]
                ].to_markdown(index=False)
            ),
        }
    )
