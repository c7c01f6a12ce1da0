"""Indicators (`oversight.indicators`): the marts analysts read, built from staging, entities and
links, with their asset checks; publisher quality from `raw.files` (SQL in `sql/`)."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from assets.checks import failing_rows, warehouse_check
from assets.entities import SUPPLIERS
from assets.ingest import (
    RAW_FILES,
    STAGING_CONTRACTS,
    STAGING_EVENTS,
    STAGING_NOTICES,
    STAGING_SPEND,
)
from assets.resources import SourceCatalogue, Warehouse
from oversight.core.mart_columns import MART_COLUMNS
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import atomic, atomic_retrying
from oversight.indicators.indicators import (
    build_concentration,
    build_contract_oversight,
    build_scorecard,
    data_as_of,
)
from oversight.outputs import charts
from oversight.outputs.charts import coverage_heatmap, markdown_image
from oversight.outputs.explore import FLAG_COLUMNS, latest_top_shares

SQL = Path(__file__).parent / "sql"
CONTRACT_OVERSIGHT = dg.AssetKey(["marts", "contract_oversight"])
SUPPLIER_CONCENTRATION = dg.AssetKey(["marts", "supplier_concentration"])
LINKS = dg.AssetKey(["links", "spend_contract"])
# Who answers for the marts, and how the UI groups them (owners and tags show on each asset).
OWNERS = ["team:oversight"]


class AsOf(dg.Config):
    """The date the indicators are judged on (YYYY-MM-DD); empty: OVERSIGHT_AS_OF, then
    catalogue/parameters.yaml, then the data's (the last day of the month of the newest
    payment, never after today), then today. Automated rebuilds pass none: the data decides."""

    as_of: str | None = None


@dg.asset(
    key=["marts", "publisher_quality"],
    group_name="marts",
    kinds={"duckdb"},
    owners=OWNERS,
    tags={"layer": "marts", "topic": "data-quality"},
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
    is printed elsewhere with a dissimilar name (`entities.identifier_conflicts`). Every
    column is described under Columns."""
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
            "dagster/column_schema": table_schema(warehouse, "marts.publisher_quality"),
        }
    )


FLAGS = list(FLAG_COLUMNS.values())


@dg.asset(
    key=CONTRACT_OVERSIGHT,
    group_name="marts",
    kinds={"duckdb"},
    owners=OWNERS,
    tags={"layer": "marts", "indicators": "OV01-OV15"},
    deps=[LINKS, STAGING_EVENTS, STAGING_NOTICES, dg.AssetKey(["staging", "contract_matches"])],
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
    with every oversight flag OV01-OV15 (OV12 aside) as true, false or null (unknown: the
    data the rule needs is not published, or payments could belong to another contract), the
    evidence behind each true flag, and the value at risk (paid after expiry, paid above
    value). Live on D: D inside one of its periods. `as_of` on every row. OV07's payments are
    in `marts.expired_payments`, OV15's (large payments not published under s70) in
    `marts.unpublished_payments`. Each indicator's rule, threshold (catalogue/parameters.yaml),
    source and "unknown when": docs/indicators.md."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        as_of = parameters.as_of(config.as_of, data_as_of(con))
        n = atomic_retrying(
            con, lambda: build_contract_oversight(con, catalogue.load(), parameters, as_of)
        )
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
            "marts.expired_payments columns": dg.MetadataValue.table_schema(
                table_schema(warehouse, "marts.expired_payments")
            ),
            "marts.unpublished_payments columns": dg.MetadataValue.table_schema(
                table_schema(warehouse, "marts.unpublished_payments")
            ),
        }
    )


@dg.asset(
    key=SUPPLIER_CONCENTRATION,
    group_name="marts",
    kinds={"duckdb"},
    owners=OWNERS,
    tags={"layer": "marts", "indicators": "SC01-SC06"},
    deps=[LINKS],
)
def supplier_concentration(
    context: dg.AssetExecutionContext, config: AsOf, warehouse: Warehouse
) -> dg.MaterializeResult:
    """SC01-SC06 per buyer x category x financial year (April-March) and per buyer x year
    (category 'all'), by spend and by contracted value, on resolved suppliers: HHI with its
    descriptive band, CR1/CR3/CR5, top supplier, strategic-supplier share, and the change in
    HHI and CR3 from the year before. A group with too few suppliers or too little spend is
    marked, not banded. `marts.supplier_shares` holds each supplier's share of a buyer's spend
    (SC03) and its dependency on its largest buyer (SC04). Both are measured on
    `marts.concentration_values` (each supplier's value per group), which a nightly run
    extends with the links that changed rather than summing every payment again; the shares
    are built again only for the financial years whose values, names or strategic groups
    changed. Rules, thresholds (catalogue/parameters.yaml `concentration`) and sources:
    docs/indicators.md."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        as_of = parameters.as_of(config.as_of, data_as_of(con))
        built = atomic_retrying(con, lambda: build_concentration(con, parameters, as_of))
        n = built["rows"]
        context.log.info(
            f"concentration values: {built['build']} build from {built['links']:,} link rows"
        )
        high = con.execute(
            "select count(*) from marts.supplier_concentration where band = 'highly concentrated'"
        ).fetchall()[0][0]
        concentration = con.execute("select * from marts.supplier_concentration").df()
        # The chart shows each buyer's top suppliers in its latest year: fetch only those
        # (the table has a row per buyer, year and supplier: millions at national scale).
        shares = latest_top_shares(con)
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
            # full: from every link; incremental: the stored values plus the links' changes
            "values build": built["build"],
            "link rows read": built["links"],
            # full: every (basis, financial year); partial: those whose values, names or
            # strategic groups changed
            "shares build": built["shares build"],
            "shares partitions built": built["shares partitions built"],
            "HHI by buyer": dg.MetadataValue.md(markdown_image(out / "hhi.png", "HHI")),
            "top suppliers by buyer": dg.MetadataValue.md(
                markdown_image(out / "top-suppliers.png", "top suppliers")
            ),
            "dagster/column_schema": table_schema(warehouse, "marts.supplier_concentration"),
            "marts.supplier_shares columns": dg.MetadataValue.table_schema(
                table_schema(warehouse, "marts.supplier_shares")
            ),
            "marts.concentration_values columns": dg.MetadataValue.table_schema(
                table_schema(warehouse, "marts.concentration_values")
            ),
        }
    )


@dg.asset(
    key=["marts", "buyer_scorecard"],
    group_name="marts",
    kinds={"duckdb"},
    owners=OWNERS,
    tags={"layer": "marts", "indicators": "OV01-OV15"},
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
    financial year x class). Each indicator's rule, threshold and source: docs/indicators.md."""
    parameters = load_parameters()
    with warehouse.connect() as con:
        as_of = parameters.as_of(config.as_of, data_as_of(con))
        n = atomic_retrying(con, lambda: build_scorecard(con, parameters, as_of))
        card = con.execute("select * from marts.buyer_scorecard").df()
    chart = Path(warehouse.outputs_dir) / "gaps.png"
    charts.oversight_gaps(card, chart)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "oversight gaps by type": dg.MetadataValue.md(markdown_image(chart, "gaps")),
            "dagster/column_schema": table_schema(warehouse, "marts.buyer_scorecard"),
            **{
                f"{table} columns": dg.MetadataValue.table_schema(table_schema(warehouse, table))
                for table in ("marts.off_contract_spend", "marts.non_market_spend")
            },
        }
    )


def table_schema(warehouse: Warehouse, table: str) -> dg.TableSchema:
    """The table's columns as the warehouse has them, with their descriptions, for the UI."""
    with warehouse.connect(read_only=False) as con:
        return column_schema(con, table)


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The table's columns and types from DuckDB, each described from
    oversight.core.mart_columns.MART_COLUMNS (empty when a column is not described there)."""
    described = MART_COLUMNS.get(table, {})
    columns = con.execute(f"describe {table}").fetchall()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind.lower(), description=described.get(name))
            for name, kind, *_ in columns
        ]
    )


# Asset checks on the marts (docs/indicators.md, "Checks on the marts"). A blocking check
# fails with ERROR only when the numbers are wrong (the marts downstream are then not built);
# a finding an analyst should read is a WARN.
SHARES_SUM_TO_ONE = "shares_sum_to_one"
HHI_IN_RANGE = "hhi_in_range"
FLAGS_HAVE_EVIDENCE = "flags_have_evidence"
VALUE_AT_RISK_VALID = "value_at_risk_valid"
SHARE_TOLERANCE = 0.001
# A published share is rounded to 4 decimals, so n of them can sum up to n x 0.00005 away from
# 1 (many suppliers with shares under 0.00005 all round to 0).
SHARE_ROUNDING = 0.00005
# The flags that carry an evidence column (OV01, OV03, OV13 and OV14 are a missing field or
# date: the row itself is the evidence; OV11's evidence is for notice contracts only).
EVIDENCE = {
    "OV02": ("ov02_review_overdue", "ov02_evidence"),
    "OV04": ("ov04_kpis_missing", "ov04_evidence"),
    "OV05": ("ov05_rating_overdue", "ov05_evidence"),
    "OV06": ("ov06_poor_performance", "ov06_evidence"),
    "OV07": ("ov07_expired_but_paid", "ov07_evidence"),
    "OV08": ("ov08_paid_beyond_value", "ov08_evidence"),
    "OV09": ("ov09_not_closed", "ov09_evidence"),
    "OV10": ("ov10_change_beyond_tolerance", "ov10_evidence"),
    "OV15": ("ov15_payment_not_published", "ov15_evidence"),
}


SHARES_SQL = f"""
with shares as (
    select basis, buyer_id, financial_year, count(*) as n, sum(value) as value,
           sum(share_of_buyer_spend) as share_sum
    from marts.supplier_shares group by all
), groups as (
    select basis, buyer_id, financial_year, suppliers, total
    from marts.supplier_concentration where category_scheme = 'all' and total > 0
), rows_off as (
    -- each published share against the supplier's value over the buyer-year's total
    select s.basis, s.buyer_id, s.financial_year, count(*) as n
    from marts.supplier_shares s
    join shares t using (basis, buyer_id, financial_year)
    where t.value = 0 or abs(s.share_of_buyer_spend - s.value / t.value)
                         > {SHARE_ROUNDING} + 1e-9
    group by all
)
select coalesce(g.basis, s.basis) as basis, coalesce(g.buyer_id, s.buyer_id) as buyer_id,
       coalesce(g.financial_year, s.financial_year) as financial_year,
       round(s.share_sum, 6) as share_sum, s.n as shares, g.suppliers, s.value, g.total,
       coalesce(r.n, 0) as shares_off_value
from groups g
full join shares s using (basis, buyer_id, financial_year)
left join rows_off r using (basis, buyer_id, financial_year)
where s.share_sum is null or g.total is null
   or abs(s.share_sum - 1) > {SHARE_TOLERANCE} + {SHARE_ROUNDING} * s.n
   or s.n <> g.suppliers or abs(s.value - g.total) > 0.01 or r.n > 0
order by abs(coalesce(s.share_sum, 0) - 1) desc, basis, buyer_id, financial_year
"""


def check_shares_sum_to_one(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """SC03: the supplier shares of each basis x buyer x financial year sum to 1 (within
    0.001, plus the rounding of the published 4-decimal shares); each share is the supplier's
    value over the buyer-year's total; and the suppliers and total agree with the buyer-year's
    row of marts.supplier_concentration (category 'all'), so no supplier is lost or counted
    twice."""
    bad = con.execute(SHARES_SQL).fetchall()
    groups = con.execute(
        "select count(*) from marts.supplier_concentration "
        "where category_scheme = 'all' and total > 0"
    ).fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "buyer-years checked": groups,
            "buyer-years failing": len(bad),
            "examples": failing_rows(
                "| basis | buyer | year | sum of shares | shares | suppliers | sum of values "
                "| total | shares off their value |",
                bad,
            ),
        },
    )


def check_hhi_in_range(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """SC01/SC02: every HHI is in [0, 10,000] (null only when no supplier has a positive
    value); 10,000 x CR1^2 <= HHI <= 10,000 x CR1 (the bounds the largest share sets, within
    the rounding of CR1); CR1 <= CR3 <= CR5 <= 1; and where the shares are in
    marts.supplier_shares (category 'all'), HHI equals the sum of (100 x share)^2 within 0.1."""
    rules = {
        "HHI outside [0, 10000]": "hhi < 0 or hhi > 10000",
        "HHI null with suppliers": "hhi is null and suppliers > 0",
        "HHI outside its CR1 bounds": "hhi < 10000 * cr1 * cr1 - 1.1 or hhi > 10000 * cr1 + 0.6",
        "CR1 <= CR3 <= CR5 <= 1 broken": "cr1 > cr3 or cr3 > cr5 or cr5 > 1.0001 or cr1 < 0",
    }
    failing = {
        name: con.execute(
            "select basis, buyer_id, category_scheme, category, financial_year, suppliers, "
            f"hhi, cr1, cr3, cr5 from marts.supplier_concentration where {rule}"
        ).fetchall()
        for name, rule in rules.items()
    }
    failing["HHI not the sum of the shares squared"] = con.execute("""
        with s as (
            select basis, buyer_id, financial_year, value,
                   value / sum(value) over (partition by basis, buyer_id, financial_year)
                       as share
            from marts.supplier_shares
        ), computed as (
            select basis, buyer_id, financial_year, sum(power(100 * share, 2)) as hhi
            from s group by all
        )
        select c.basis, c.buyer_id, c.category_scheme, c.category, c.financial_year,
               c.suppliers, c.hhi, c.cr1, c.cr3, c.cr5, round(x.hhi, 2) as from_shares
        from marts.supplier_concentration c
        join computed x using (basis, buyer_id, financial_year)
        where c.category_scheme = 'all' and abs(c.hhi - x.hhi) > 0.1""").fetchall()
    rows = con.execute("select count(*) from marts.supplier_concentration").fetchall()[0][0]
    bad = [(name, *r) for name, found in failing.items() for r in found]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "groups checked": rows,
            "failures": len(bad),
            "failed": ", ".join(f"{n} ({len(f)})" for n, f in failing.items() if f) or "none",
            "examples": failing_rows(
                "| rule | basis | buyer | scheme | category | year | suppliers | HHI | CR1 "
                "| CR3 | CR5 | from shares |",
                bad,
            ),
        },
    )


def check_flags_have_evidence(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Every true flag that carries an evidence column (OV02, OV04-OV10, OV15) has non-empty
    evidence, and every true OV07 and OV08 has its value at risk."""
    parts = [
        f"select '{code}', contract_id, source_id from marts.contract_oversight "
        f"where {flag} and coalesce(trim({evidence}), '') = ''"
        for code, (flag, evidence) in EVIDENCE.items()
    ]
    parts += [
        f"select '{code} value at risk', contract_id, source_id from marts.contract_oversight "
        f"where {flag} and {risk} is null"
        for code, flag, risk in (
            ("OV07", "ov07_expired_but_paid", "ov07_value_at_risk"),
            ("OV08", "ov08_paid_beyond_value", "ov08_value_at_risk"),
        )
    ]
    bad = con.execute(" union all ".join(parts) + " order by 1, 2").fetchall()
    flagged = con.execute(
        "select "
        + " + ".join(f"count(*) filter ({flag})" for flag, _ in EVIDENCE.values())
        + " from marts.contract_oversight"
    ).fetchall()[0][0]
    missing: dict[str, int] = {}
    for code, *_ in bad:
        missing[code] = missing.get(code, 0) + 1
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "true flags checked": flagged,
            "failed": ", ".join(f"{c} ({n})" for c, n in missing.items()) or "none",
            "rows failing": len(bad),
            "examples": failing_rows("| indicator | contract | source |", bad),
        },
    )


VALUE_AT_RISK_SQL = """
select contract_id, source_id, value_at_risk, ov07_value_at_risk, ov08_value_at_risk,
       case when value_at_risk is null then 'null'
            when value_at_risk <> coalesce(ov07_value_at_risk, 0)
                                  + coalesce(ov08_value_at_risk, 0)
            then 'not OV07 + OV08'
            when ov08_value_at_risk <= 0 then 'OV08 not above value'
            when ov07_value_at_risk < 0 then 'OV07 negative (credits after expiry)'
            else 'negative' end as problem
from marts.contract_oversight
where value_at_risk is null or value_at_risk < 0 or ov07_value_at_risk < 0
   or ov08_value_at_risk <= 0
   or value_at_risk <> coalesce(ov07_value_at_risk, 0) + coalesce(ov08_value_at_risk, 0)
order by contract_id
"""


def check_value_at_risk(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """value_at_risk is never null and equals OV07's plus OV08's value at risk, and OV08's is
    positive (ERROR: the arithmetic is wrong); a negative value at risk is otherwise OV07's
    payments after expiry netting below zero (credit notes), a WARN for an analyst to read."""
    bad = con.execute(VALUE_AT_RISK_SQL).fetchall()
    wrong = [r for r in bad if not r[-1].startswith("OV07 negative")]
    rows = con.execute("select count(*) from marts.contract_oversight").fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR if wrong else dg.AssetCheckSeverity.WARN,
        metadata={
            "contracts checked": rows,
            "failed": ", ".join(sorted({r[-1] for r in bad})) or "none",
            "rows failing": len(bad),
            "examples": failing_rows(
                "| contract | source | value at risk | OV07 | OV08 | problem |", wrong or bad
            ),
        },
    )


MART_CHECKS = [
    warehouse_check(
        check_shares_sum_to_one,
        asset=SUPPLIER_CONCENTRATION,
        name=SHARES_SUM_TO_ONE,
        blocking=True,
        description="marts.supplier_shares: each basis x buyer x financial year's supplier "
        "shares sum to 1 (within 0.001 plus the 4-decimal rounding), each share is the "
        "supplier's value over the total, and suppliers and total agree with "
        "marts.supplier_concentration. Fails (ERROR) when the shares are wrong.",
    ),
    warehouse_check(
        check_hhi_in_range,
        asset=SUPPLIER_CONCENTRATION,
        name=HHI_IN_RANGE,
        blocking=True,
        description="marts.supplier_concentration: HHI in [0, 10,000], between 10,000 x CR1^2 "
        "and 10,000 x CR1, CR1 <= CR3 <= CR5 <= 1, and (category 'all') equal to the sum of "
        "(100 x share)^2 of marts.supplier_shares. Fails (ERROR) when the measures are wrong.",
    ),
    warehouse_check(
        check_flags_have_evidence,
        asset=CONTRACT_OVERSIGHT,
        name=FLAGS_HAVE_EVIDENCE,
        description="marts.contract_oversight: every true flag with an evidence column (OV02, "
        "OV04-OV10, OV15) has non-empty evidence, and true OV07 and OV08 have their value at risk "
        "(WARN: the flag stands, its explanation is missing).",
    ),
    warehouse_check(
        check_value_at_risk,
        asset=CONTRACT_OVERSIGHT,
        name=VALUE_AT_RISK_VALID,
        blocking=True,
        description="marts.contract_oversight: value_at_risk is never null or negative and "
        "equals OV07's plus OV08's value at risk. ERROR (blocking) when the arithmetic is "
        "wrong; WARN when OV07's payments after expiry net below zero (credit notes).",
    ),
]
