"""Outputs: what analysts open outside the warehouse."""

from pathlib import Path

import dagster as dg

from pipelines.expectations import SUITE_TABLES, SuiteRunner
from pipelines.resources import Warehouse


@dg.asset(
    key=["outputs", "data_docs"],
    group_name="outputs",
    kinds={"greatexpectations"},
    deps=[dg.AssetKey(t.split(".")) for t in SUITE_TABLES],
)
def data_docs(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The Great Expectations Data Docs site, built from the latest validation of every
    suite in `expectations/` (one validation per source and batch of rows). Open
    `data/gx/gx/uncommitted/data_docs/local_site/index.html` in a browser."""
    index = SuiteRunner(Path(warehouse.gx_dir)).build_docs()
    context.log.info(f"Data Docs: {index}")
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(index)),
            "open": dg.MetadataValue.url(index.as_uri()),
        }
    )
