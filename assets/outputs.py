"""Outputs: what analysts open outside the warehouse."""

from pathlib import Path

import dagster as dg

from assets.resources import Warehouse
from oversight.core.isolate import in_child
from oversight.outputs.exports import export_marts
from oversight.outputs.report import build_report
from oversight.validation.suites import SUITE_TABLES, build_data_docs, docs_current, docs_index


@dg.asset(
    key=["outputs", "data_docs"],
    group_name="outputs",
    kinds={"greatexpectations"},
    deps=[dg.AssetKey(t.split(".")) for t in SUITE_TABLES],
)
def data_docs(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The Great Expectations Data Docs site: for every suite in `expectations/`, the current
    result of each group of files validated together (a page per source and batch of rows;
    earlier runs' pages are dropped). It works offline: its CSS, scripts and fonts are copied
    into the site (`static/vendor/`, with their licences) and the pages load them from there.
    Open `data/gx/gx/uncommitted/data_docs/local_site/index.html` in a browser."""
    gx_dir = Path(warehouse.gx_dir)
    # Validation builds the site when the results change; built again here only when it is
    # missing or older than the results, in a process of its own, as GX is imported to build.
    built = not docs_current(gx_dir)
    index = Path(in_child(build_data_docs, str(gx_dir))) if built else docs_index(gx_dir)
    pages = sum(1 for _ in (index.parent / "validations").rglob("*.html"))
    context.log.info(f"Data Docs: {index} ({pages} validation pages)")
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(index)),
            "open": dg.MetadataValue.url(index.as_uri()),
            "validation pages": pages,
            "built by": "this asset" if built else "the validation (current)",
        }
    )


MARTS = [
    dg.AssetKey(["marts", t])
    for t in (
        "contract_oversight",
        "supplier_concentration",
        "buyer_scorecard",
        "publisher_quality",
    )
]


@dg.asset(
    key=["outputs", "exports"],
    group_name="outputs",
    kinds={"parquet", "csv", "xlsx"},
    deps=[*MARTS, dg.AssetKey(["entities", "buyers"]), dg.AssetKey(["entities", "suppliers"])],
)
def exports(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Every mart as Parquet and as CSV in `data/exports/`, and the buyers and suppliers as
    Parquet; for spreadsheets, the marts also as one workbook, `data/exports/oversight.xlsx`:
    a `README` sheet (each sheet, its rows, what it is, its as-of date), then a sheet per
    mart with a bold, frozen header and a filter, dates as dates and money as `£#,##0.00`.
    The workbook is for reading: a sheet holds at most 10,000 rows. A longer mart shows the
    rows to read first (contracts: flagged first, most flags first, then by value at risk;
    spend and shares: largest first), and its README line says how many of how many; the
    CSV and Parquet always hold every row.
    The CSV starts with a UTF-8 byte-order mark, so that Excel reads `£` and accents. In the
    CSV and the workbook a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
    return is prefixed with `'`, so opening it in a spreadsheet cannot run a formula.

    Notebooks read these files (`explore.connect()`), not the warehouse, so an open notebook
    never blocks the nightly run; each file is replaced whole when this asset runs."""
    out = Path(warehouse.path).parent / "exports"
    with warehouse.connect() as con:
        written = export_marts(con, out)
    context.log.info(f"{len(written)} files in {out}")
    metadata = {"folder": dg.MetadataValue.path(str(out)), "files": len(written)}
    for path in written:
        if path.suffix == ".xlsx":
            metadata["workbook"] = dg.MetadataValue.path(str(path))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(key=["outputs", "report"], group_name="outputs", kinds={"html"}, deps=MARTS)
def report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """A static HTML report, readable offline: `data/report/index.html` with the charts and
    the flags of every buyer, and a page per buyer with its scorecard, its top flagged
    contracts and their evidence, and its supplier concentration."""
    with warehouse.connect() as con:
        index = build_report(con, Path(warehouse.path).parent / "report")
    context.log.info(f"report: {index}")
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(index)),
            "open": dg.MetadataValue.url(index.as_uri()),
        }
    )
