"""Marts: tables analysts read, built from the staging layer."""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets.entities import SUPPLIERS
from assets.ingest import RAW_FILES, STAGING_CONTRACTS, STAGING_EVENTS, STAGING_SPEND
from oversight import charts
from oversight.charts import coverage_heatmap, markdown_image
from oversight.explore import FLAG_COLUMNS
from oversight.indicators import (
    build_concentration,
    build_contract_oversight,
    build_scorecard,
    data_as_of,
)
from oversight.parameters import load_parameters
from oversight.warehouse import atomic
from pipelines.resources import SourceCatalogue, Warehouse

SQL = Path(__file__).parent / "sql"
CONTRACT_OVERSIGHT = dg.AssetKey(["marts", "contract_oversight"])
SUPPLIER_CONCENTRATION = dg.AssetKey(["marts", "supplier_concentration"])
LINKS = dg.AssetKey(["links", "spend_contract"])


class AsOf(dg.Config):
    """The date the indicators are judged on (YYYY-MM-DD); empty: OVERSIGHT_AS_OF, then
    catalogue/parameters.yaml, then the data's (the last day of the month of the newest
    payment, never after today), then today. The nightly schedule passes its own date."""

    as_of: str | None = None


@dg.asset(
    key=["marts", "publisher_quality"],
    group_name="marts",
    kinds={"duckdb"},
    deps=[RAW_FILES, STAGING_CONTRACTS, STAGING_SPEND, SUPPLIERS],
)
def publisher_quality(
    context: dg.AssetExecutionContext, warehouse: Warehouse, catalogue: SourceCatalogue
) -> dg.MaterializeResult:
    """One row per source: how complete and timely its publication is. Coverage of each
    Transparency Code field (`cov_*`: share of rows with a value), months missing from the
    monthly spend series, quarantine rate, share of spend paid to a supplier with a company or
    charity number, and share of register entries with a review date and a value;
    `identifier_conflicts`: names this source prints with a company or charity number that
    is printed elsewhere with a dissimilar name (`entities.identifier_conflicts`)."""
    sources = pd.DataFrame(
        [(s.id, s.publisher, s.kind, s.threshold) for s in catalogue.load().sources],
        columns=["source_id", "publisher", "kind", "threshold"],
    )
    with warehouse.connect() as con:
        con.register("sources", sources)
        with atomic(con):
            con.execute((SQL / "publisher_quality.sql").read_text())
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


FLAGS = list(FLAG_COLUMNS.values())


@dg.asset(
    key=CONTRACT_OVERSIGHT,
    group_name="marts",
    kinds={"duckdb"},
    deps=[LINKS, STAGING_EVENTS, dg.AssetKey(["staging", "contract_matches"])],
)
def contract_oversight(
    context: dg.AssetExecutionContext,
    config: AsOf,
    warehouse: Warehouse,
    catalogue: SourceCatalogue,
) -> dg.MaterializeResult:
    """One row per contract: a publisher's reference with its resolved supplier
    (`links.contract_entries.contract_key`, stable across register snapshots; its rows are
    its periods, its value their total; a register entry and its matching notice are one),
    with every live-contract oversight flag OV01-OV14 (README, Indicators) as true, false or
    null (unknown: the data the rule needs is not published, or payments could belong to
    another contract), the evidence behind each true flag, and the value at risk (paid after
    expiry, paid above value). Live on D: D inside one of its periods. `as_of` on every row."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        as_of = parameters.as_of(config.as_of, data_as_of(con))
        with atomic(con):
            n = build_contract_oversight(con, catalogue.load(), parameters, as_of)
        counts = con.execute(
            "select "
            + ", ".join(f"count(*) filter ({f}), count(*) filter ({f} is null)" for f in FLAGS)
            + " from marts.contract_oversight"
        ).fetchall()[0]
        expired = con.execute("select * from marts.expired_payments").df()
    chart = Path(warehouse.outputs_dir) / "expired.png"
    charts.payments_after_expiry(expired, chart, as_of=as_of)
    table = ["| indicator | flagged | unknown |", "|---|---:|---:|"]
    table += [f"| {f} | {counts[2 * i]} | {counts[2 * i + 1]} |" for i, f in enumerate(FLAGS)]
    context.log.info(f"contract oversight as of {as_of}: {n} contracts")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "as_of": as_of.isoformat(),
            "flags": dg.MetadataValue.md("\n".join(table)),
            "payments after expiry": dg.MetadataValue.md(markdown_image(chart, "after expiry")),
            "dagster/column_schema": table_schema(warehouse, "marts.contract_oversight"),
        }
    )


@dg.asset(key=SUPPLIER_CONCENTRATION, group_name="marts", kinds={"duckdb"}, deps=[LINKS])
def supplier_concentration(
    context: dg.AssetExecutionContext, config: AsOf, warehouse: Warehouse
) -> dg.MaterializeResult:
    """SC01-SC06 per buyer x category x financial year (April-March) and per buyer x year
    (category 'all'), by spend and by contracted value, on resolved suppliers: HHI with its
    descriptive band, CR1/CR3/CR5, top supplier, strategic-supplier share, and the change in
    HHI and CR3 from the year before. A group with too few suppliers or too little spend is
    marked, not banded. `marts.supplier_shares` holds each supplier's share of a buyer's spend
    (SC03) and its dependency on its largest buyer (SC04)."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        with atomic(con):
            as_of = parameters.as_of(config.as_of, data_as_of(con))
            n = build_concentration(con, parameters, as_of)
        high = con.execute(
            "select count(*) from marts.supplier_concentration where band = 'highly concentrated'"
        ).fetchall()[0][0]
        concentration = con.execute("select * from marts.supplier_concentration").df()
        # The chart shows each buyer's top suppliers in its latest year: fetch only those
        # (the table has a row per buyer, year and supplier: millions at national scale).
        shares = con.execute("""
            with latest as (
                select * from marts.supplier_shares where basis = 'spend'
                qualify financial_year = max(financial_year) over (partition by buyer))
            select * from latest
            qualify row_number() over (partition by buyer
                                       order by share_of_buyer_spend desc) <= 20""").df()
    out = Path(warehouse.outputs_dir)
    charts.hhi_by_buyer(
        concentration,
        out / "hhi.png",
        parameters.concentration.hhi_moderate,
        parameters.concentration.hhi_high,
        as_of=as_of,
    )
    charts.top_suppliers(shares, out / "top-suppliers.png", as_of=as_of)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "highly concentrated groups": high,
            "HHI by buyer": dg.MetadataValue.md(markdown_image(out / "hhi.png", "HHI")),
            "top suppliers by buyer": dg.MetadataValue.md(
                markdown_image(out / "top-suppliers.png", "top suppliers")
            ),
            "dagster/column_schema": table_schema(warehouse, "marts.supplier_concentration"),
        }
    )


@dg.asset(
    key=["marts", "buyer_scorecard"],
    group_name="marts",
    kinds={"duckdb"},
    deps=[CONTRACT_OVERSIGHT, SUPPLIER_CONCENTRATION],
)
def buyer_scorecard(
    context: dg.AssetExecutionContext, config: AsOf, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Per buyer and as-of date: for each indicator the contracts flagged, unknown, and the
    value behind them (value at risk for OV07, OV08 and OV12); the share of spend linked to a
    contract (register coverage); the latest year's concentration headline. Off-contract
    spend (OV12, buyer x supplier x year: market suppliers only, with their `payee_class`) is
    in `marts.off_contract_spend`; payments to public bodies, individuals, redacted payees and
    grants, which OV12 and concentration leave out, are in `marts.non_market_spend` (buyer x
    financial year x class)."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        with atomic(con):
            n = build_scorecard(con, parameters, parameters.as_of(config.as_of, data_as_of(con)))
        card = con.execute("select * from marts.buyer_scorecard").df()
    chart = Path(warehouse.outputs_dir) / "gaps.png"
    charts.oversight_gaps(card, chart)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "oversight gaps by type": dg.MetadataValue.md(markdown_image(chart, "gaps")),
            "dagster/column_schema": table_schema(warehouse, "marts.buyer_scorecard"),
        }
    )


def table_schema(warehouse: Warehouse, table: str) -> dg.TableSchema:
    """The table's columns as the warehouse has them, for the UI."""
    with warehouse.connect(read_only=False) as con:
        columns = con.execute(f"describe {table}").fetchall()
    return dg.TableSchema(
        columns=[dg.TableColumn(name, kind.lower()) for name, kind, *_ in columns]
    )
