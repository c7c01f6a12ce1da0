"""`python -m pipelines.run`: materialise every asset on the configured sources, then print a
summary per source and where the warehouse is. Runs are recorded in DAGSTER_HOME when it is
set (the Makefile sets it), so they show in the UI."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from oversight.core import settings
from oversight.core.catalogue import Catalogue, CatalogueError, load_catalogue
from oversight.core.ledger import NOTHING_LOADED_SQL
from oversight.core.parameters import AS_OF_ENV, PARAMETERS_ENV
from oversight.core.source_files import files_fingerprint
from oversight.core.warehouse import WarehouseBusy, connect, file_lock, open_warehouse

# Dagster, the assets and pandas are imported where they are used: a `make run` with nothing
# to do (`unchanged_since_last_run`) never imports them, and answers in about a second.
if TYPE_CHECKING:
    import dagster as dg

SUMMARY_SQL = """
select source_id,
       count(*) filter (status <> 'removed') as files,
       count(*) filter (status = 'failed') as failed,
       sum(rows_read) as rows_read, sum(rows_loaded) as loaded,
       sum(rows_quarantined) as quarantined
from raw.files group by source_id order by source_id
"""


# On each derive run `make run` starts: the fingerprint of everything the derived assets are
# computed from (derive_inputs). A later `make run` whose fingerprint equals that of a
# successful derive run skips the derive.
DERIVE_INPUTS_TAG = "oversight/derive_inputs"
# The code, SQL, suites, templates, layouts and parameters the derived assets are built with.
CODE_ROOTS = ("oversight", "assets", "expectations", "catalogue")
NOT_CODE = ("oversight/sample",)  # writes data/raw/, read like any publisher's files
CODE_SUFFIXES = {".py", ".sql", ".json", ".yaml", ".yml", ".html", ".j2", ".css"}
DERIVED_OUTPUTS = ("report/index.html", "exports/oversight.xlsx")


def derive_inputs(warehouse: str) -> str:
    """A fingerprint of what the derived assets would be built from: every file's row in
    `raw.files` (hash, settings, status, when ingested), the as-of date the data gives today,
    OVERSIGHT_AS_OF, the catalogue, the parameters and the project's code and SQL."""
    from oversight.indicators.indicators import data_as_of

    with open_warehouse(warehouse) as con:
        files = con.execute(
            "select source_id, file_path, sha256, config_hash, status, ingested_at::varchar "
            "from raw.files order by source_id, file_path"
        ).fetchall()
        as_of = data_as_of(con) or date.today()
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [str(Path(warehouse).resolve()), files, str(as_of), os.environ.get(AS_OF_ENV)],
            default=str,
        ).encode()
    )
    extra = [settings.catalogue_path(), Path(os.environ.get(PARAMETERS_ENV, "/nonexistent"))]
    root = settings.PROJECT_ROOT
    code = sorted(
        p
        for top in CODE_ROOTS
        for p in (root / top).rglob("*")
        if p.suffix in CODE_SUFFIXES
        and p.is_file()
        and not p.relative_to(root).as_posix().startswith(NOT_CODE)
    )
    for path in [*code, *(p for p in extra if p.is_file())]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


# In the warehouse's folder: the fingerprint (`run_fingerprint`) of the last `make run` that
# succeeded. A `make run` that finds the same fingerprint has nothing to do: no file is new,
# changed or removed, and the derived outputs were built from exactly this warehouse, code,
# catalogue, parameters and as-of date.
STAMP = ".last-make-run"
RUN_LOCK = ".make-run.lock"  # one `make run` at a time per warehouse: a second one waits


def files_on_disk(catalogue: Catalogue) -> dict[str, str]:
    """Each source's files on disk (`files_fingerprint`: paths, sizes, modification times)."""
    return {s.id: files_fingerprint(catalogue, s) for s in catalogue.sources}


def run_fingerprint(warehouse: str, on_disk: dict[str, str]) -> str:
    """What a `make run` starts from: `derive_inputs` and each source's files on disk."""
    text = json.dumps([derive_inputs(warehouse), on_disk], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def unchanged_since_last_run(warehouse: str, catalogue: Catalogue) -> bool:
    """Whether the last successful `make run` started from exactly what is there now, and its
    outputs still exist. Reads the files' metadata and the warehouse; imports no Dagster."""
    stamp = Path(warehouse).parent / STAMP
    if not (stamp.is_file() and Path(warehouse).is_file() and outputs_exist(warehouse)):
        return False
    return stamp.read_text().strip() == run_fingerprint(warehouse, files_on_disk(catalogue))


def outputs_exist(warehouse: str) -> bool:
    """Whether the derived outputs are there: the marts in the warehouse, the report and the
    workbook."""
    folder = Path(warehouse).parent
    if not all((folder / f).exists() for f in DERIVED_OUTPUTS):
        return False
    with open_warehouse(warehouse) as con:
        return bool(
            con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()[0][0]
        )


def up_to_date_run(instance: dg.DagsterInstance, warehouse: str, fingerprint: str) -> str | None:
    """The id of a successful derive run made from exactly these inputs, if there is one and
    its outputs are still there (the marts in the warehouse, the report and the workbook)."""
    import dagster as dg

    from pipelines.definitions import DERIVE_JOB

    if not outputs_exist(warehouse):
        return None
    runs = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=DERIVE_JOB,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            tags={DERIVE_INPUTS_TAG: fingerprint},
        ),
        limit=1,
    )
    return runs[0].dagster_run.run_id if runs else None


def materialise_all(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    log_level: str = "INFO",
    rebuild: bool = False,
) -> list[dg.ExecuteInProcessResult]:
    """Run the ingest job over every source partition in one run, then, if it succeeded,
    everything derived from it, unless a successful derive run was made from the same inputs
    (`derive_inputs`) and `rebuild` is not set (`rebuild` also reads every file again).
    Returns the results of the runs made."""
    from pipelines.automation import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )
    from pipelines.definitions import DERIVE_JOB, INGEST_JOB
    from pipelines.recovery import process_tags

    config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    ingest = defs.resolve_job_def(INGEST_JOB)
    # The valid sources (listed first); invalid entries are reported, not run.
    keys = [s.id for s in defs.resources["catalogue"].load().sources]
    results = [
        ingest.execute_in_process(
            run_config={**config, "ops": {"ingest_sources": {"config": {"force": rebuild}}}},
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: keys[0],
                ASSET_PARTITION_RANGE_END_TAG: keys[-1],
                **process_tags(),
            },
            raise_on_error=False,
        )
    ]
    if not results[0].success:
        return results
    warehouse = defs.resources["warehouse"].path
    fingerprint = derive_inputs(warehouse)
    done = None if rebuild else up_to_date_run(instance, warehouse, fingerprint)
    if done:
        print(
            f"Nothing changed since derive run {done}: entities, links, marts and outputs are "
            "up to date, not rebuilt (`make run REBUILD=1` reads and rebuilds everything)."
        )
        return results
    tags = {**process_tags(), DERIVE_INPUTS_TAG: fingerprint}
    derived = defs.resolve_job_def(DERIVE_JOB)
    results.append(
        derived.execute_in_process(
            run_config=config, instance=instance, tags=tags, raise_on_error=False
        )
    )
    return results


def report_failed_checks(results: list[dg.ExecuteInProcessResult]) -> None:
    """Blocking failures in full; warnings one line each (details in the UI and Data Docs)."""
    import dagster as dg

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
    from oversight.outputs.explore import INDICATOR_NAMES

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
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="read every file again, changed or not, and rebuild everything derived",
    )
    args = parser.parse_args(argv)
    warehouse = str(settings.warehouse_path())
    try:
        catalogue = load_catalogue(strict=False)
    except CatalogueError as exc:
        print(exc, file=sys.stderr)
        return 2
    invalid = catalogue.report()
    try:
        with file_lock(Path(warehouse).parent / RUN_LOCK, f"the warehouse {warehouse}"):
            # A second `make run` waits here for the first, then finds what the first did.
            ok, results = _run(warehouse, catalogue, args.rebuild)
    except WarehouseBusy as exc:
        print(exc, file=sys.stderr)
        return 3
    if invalid:
        print("\n" + invalid, file=sys.stderr)
    if not ok:
        print(
            "\nThe run failed: see the log above (or the run in the Dagster UI).", file=sys.stderr
        )
        return 1
    return 0


def _run(
    warehouse: str, catalogue: Catalogue, rebuild: bool
) -> tuple[bool, list[dg.ExecuteInProcessResult]]:
    """Skip (the stamp says nothing changed) or run everything; print the summary and where
    the outputs are. Whether it succeeded, and Dagster's results."""
    stamp = Path(warehouse).parent / STAMP
    if not rebuild and unchanged_since_last_run(warehouse, catalogue):
        print(
            "Nothing changed since the last `make run` (no file new, changed or removed; "
            "same code, catalogue, parameters and as-of date): nothing read or rebuilt "
            "(`make run REBUILD=1` reads and rebuilds everything)."
        )
        ok, results = True, []
    else:
        stamp.unlink(missing_ok=True)
        on_disk = files_on_disk(catalogue)  # before the ingest reads the files
        results = run_everything(warehouse, rebuild)
        ok = all(r.success for r in results)
        if ok:
            stamp.write_text(run_fingerprint(warehouse, on_disk) + "\n")
    print_summary(warehouse)
    report_failed_checks(results)
    print(
        f"Data Docs (expectation results): {settings.gx_dir(warehouse)}/gx/uncommitted/"
        "data_docs/local_site/index.html"
    )
    data = Path(warehouse).parent
    print(f"Report: {data / 'report' / 'index.html'}")
    print(f"Exports (Parquet, CSV and oversight.xlsx): {data / 'exports'}/")
    print(f"Charts: {settings.outputs_dir(warehouse)}/")
    return ok, results


def run_everything(warehouse: str, rebuild: bool) -> list[dg.ExecuteInProcessResult]:
    """Load the definitions and the Dagster instance (DAGSTER_HOME when set, so the runs show
    in the UI), mark runs left by dead processes failed, then `materialise_all`."""
    import dagster as dg

    from pipelines.definitions import build_defs
    from pipelines.recovery import fail_dead_runs

    defs = build_defs()
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    for run_id in fail_dead_runs(instance):
        print(f"run {run_id} was left 'Started' by a process that died; marked failed")
    # Wait for the write lock once, here, rather than failing inside the run with a trace.
    connect(warehouse).close()
    return materialise_all(defs, instance, rebuild=rebuild)


if __name__ == "__main__":
    sys.exit(main())
