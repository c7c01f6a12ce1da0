"""`python -m pipelines.run`: materialise every asset on the configured sources, then print a
summary per source and where the warehouse is. Runs are recorded in DAGSTER_HOME when it is
set (the Makefile sets it), so they show in the UI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import dagster as dg

from assets.ingest import NOTHING_LOADED_SQL
from oversight import settings
from oversight.catalogue import CatalogueError
from oversight.explore import INDICATOR_NAMES
from oversight.warehouse import WarehouseBusy, connect, open_warehouse
from pipelines.automation import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from pipelines.definitions import DERIVE_JOB, INGEST_JOB, build_defs
from pipelines.recovery import fail_dead_runs, process_tags

SUMMARY_SQL = """
select source_id,
       count(*) filter (status <> 'removed') as files,
       count(*) filter (status = 'failed') as failed,
       sum(rows_read) as rows_read, sum(rows_loaded) as loaded,
       sum(rows_quarantined) as quarantined
from raw.files group by source_id order by source_id
"""


def materialise_all(
    defs: dg.Definitions, instance: dg.DagsterInstance, log_level: str = "INFO"
) -> list[dg.ExecuteInProcessResult]:
    """Run the ingest job over every source partition in one run, then, if it succeeded,
    everything derived from it. Returns the results of the runs made."""
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    ingest = defs.resolve_job_def(INGEST_JOB)
    # The valid sources (listed first); invalid entries are reported, not run.
    keys = [s.id for s in defs.resources["catalogue"].load().sources]
    results = [
        ingest.execute_in_process(
            run_config=config,
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: keys[0],
                ASSET_PARTITION_RANGE_END_TAG: keys[-1],
                **process_tags(),
            },
            raise_on_error=False,
        )
    ]
    if results[0].success:
        derived = defs.resolve_job_def(DERIVE_JOB)
        results.append(
            derived.execute_in_process(
                run_config=config, instance=instance, tags=process_tags(), raise_on_error=False
            )
        )
    return results


def report_failed_checks(results: list[dg.ExecuteInProcessResult]) -> None:
    """Blocking failures in full; warnings one line each (details in the UI and Data Docs)."""
    for result in results:
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                continue
            asset = evaluation.asset_key.to_user_string()
            meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
            if evaluation.severity == dg.AssetCheckSeverity.WARN:
                print(
                    f"warning: {asset}: {meta.get('failed')} "
                    f"({meta.get('rows failing')} rows; see the UI or Data Docs)"
                )
                continue
            print(f"\nBLOCKING check {evaluation.check_name} on {asset} failed:", file=sys.stderr)
            for name, value in meta.items():
                print(f"  {name}: {value}", file=sys.stderr)


HEADLINE_SQL = """
select indicator, sum(flagged)::bigint, sum(unknown)::bigint, sum(value), any_value(as_of)
from marts.buyer_scorecard group by indicator order by indicator
"""


def print_headline(con) -> None:
    """The findings, by indicator, over every buyer: what an analyst reads first."""
    if not con.execute(
        "select 1 from duckdb_tables() where schema_name = 'marts' and table_name = "
        "'buyer_scorecard'"
    ).fetchall():
        return
    rows = con.execute(HEADLINE_SQL).fetchall()
    if not rows:
        return
    print(
        f"\nFindings as of {rows[0][4]}, every buyer (value: at risk for OV07, OV08 and OV12; "
        "of the contracts flagged for the others):"
    )
    print(f"  {'indicator':<36}{'flagged':>9}{'unknown':>9}{'value':>16}")
    for indicator, flagged, unknown, value, _ in rows:
        name = f"{indicator} {INDICATOR_NAMES.get(indicator, '')}"
        shown = f"£{value:,.0f}" if value else ""
        print(f"  {name:<36}{flagged:>9,}{unknown:>9,}{shown:>16}")


def print_summary(warehouse: str) -> None:
    with open_warehouse(warehouse) as con:
        rows = con.execute(SUMMARY_SQL).fetchall()
        failures = con.execute(
            "select source_id, file_path, error from raw.files where status = 'failed' "
            "order by 1, 2"
        ).fetchall()
        empty = con.execute(NOTHING_LOADED_SQL).fetchall()
        print_headline(con)
    header = (
        f"{'source':<28}{'files':>7}{'failed':>8}{'rows read':>12}{'loaded':>12}{'quarantined':>13}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for source, files, failed, read, loaded, quarantined in rows:
        print(f"{source:<28}{files:>7}{failed:>8}{read:>12,}{loaded:>12,}{quarantined:>13,}")
    if failures:
        print("\nFiles that could not be read (recorded in raw.files):")
        for source, path, error in failures:
            print(f"  {source}: {path}: {error.splitlines()[0]}")
    if empty:
        print("\nWARNING: files read but with every row quarantined (status nothing_loaded):")
        for source, path, n, reason in empty:
            print(f"  {source}: {path}: {n:,} rows quarantined, mostly: {reason}")
    print(f"\nWarehouse: {warehouse}")
    print("Quarantined rows, with their raw text and reason: table raw.quarantine")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    try:
        defs = build_defs()
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 2
    warehouse = str(settings.warehouse_path())
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    invalid = defs.resources["catalogue"].load().report()
    for run_id in fail_dead_runs(instance):
        print(f"run {run_id} was left 'Started' by a process that died; marked failed")
    try:
        # Wait for the write lock once, here, rather than failing inside the run with a trace.
        connect(warehouse).close()
        results = materialise_all(defs, instance)
        print_summary(warehouse)
        if invalid:
            print("\n" + invalid, file=sys.stderr)
        report_failed_checks(results)
        print(
            f"Data Docs (expectation results): {settings.gx_dir(warehouse)}/gx/uncommitted/"
            "data_docs/local_site/index.html"
        )
        data = Path(warehouse).parent
        print(f"Report: {data / 'report' / 'index.html'}")
        print(f"Exports (Parquet, CSV and oversight.xlsx): {data / 'exports'}/")
        print(f"Charts: {settings.outputs_dir(warehouse)}/")
        ok = all(r.success for r in results)
    except WarehouseBusy as exc:
        print(exc, file=sys.stderr)
        return 3
    if not ok:
        print(
            "\nThe run failed: see the log above (or the run in the Dagster UI).", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
