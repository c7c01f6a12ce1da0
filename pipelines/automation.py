"""What runs without anyone clicking: the nightly refresh, the new-files sensor, and the
rebuild of everything derived after any successful ingest."""

import hashlib
import json

import dagster as dg

from oversight.catalogue import Catalogue
from oversight.load import discover_files, recorded_path

AS_OF_TAG = "oversight/as_of"
# Dagster's tags for one run over a range of partitions (a single-run backfill). Dagster 1.13
# has no public constant or RunRequest parameter for them (RunRequest.partition_key_range is
# read back from these tags), so they are spelt here; tests/test_automation.py checks them
# against Dagster's own, so a rename in a new release fails a test instead of a night's run.
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Europe/London"
# The marts that take an as-of date (their op names: the asset key joined by "__").
AS_OF_OPS = ("marts__contract_oversight", "marts__supplier_concentration", "marts__buyer_scorecard")


def all_partitions_tags(keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover every source partition (single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}


def as_of_run_config(as_of: str | None) -> dict:
    if not as_of:
        return {}
    return {"ops": {op: {"config": {"as_of": as_of}} for op in AS_OF_OPS}}


def build_nightly_schedule(ingest_job, keys: list[str]) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=NIGHTLY_TIMEZONE,
        job=ingest_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="02:00 Europe/London: fetch what publishers released (sources with "
        "fetching enabled), ingest every source (unchanged files are skipped), then "
        "`rebuild_after_ingest` rebuilds the marts as of the run's date.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(
            run_key=f"nightly-{day}", tags={**all_partitions_tags(keys), AS_OF_TAG: day}
        )

    return nightly_refresh


def build_rebuild_sensor(ingest_jobs: list, derive_job) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        name="rebuild_after_ingest",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=ingest_jobs,
        request_job=derive_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After an ingest run succeeds (its blocking checks passed), rebuild the "
        "entities, links and marts; a nightly run's date becomes their as-of date.",
    )
    def rebuild_after_ingest(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        as_of = context.dagster_run.tags.get(AS_OF_TAG)
        return dg.RunRequest(
            run_key=context.dagster_run.run_id,
            run_config=as_of_run_config(as_of),
            tags={AS_OF_TAG: as_of} if as_of else {},
        )

    return rebuild_after_ingest


def source_fingerprints(catalogue: Catalogue) -> dict[str, str]:
    """Per source, a fingerprint of its files on disk (paths, sizes, modification times)."""
    out = {}
    for source in catalogue.sources:
        files = discover_files(catalogue, source)
        state = [
            (recorded_path(catalogue, p), p.stat().st_size, p.stat().st_mtime_ns) for p in files
        ]
        digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]
        out[source.id] = digest if state else "empty"
    return out


def build_new_files_sensor(ingest_job, catalogue_loader) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_published_files",
        job=ingest_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Notices new or changed files under data/raw/ and ingests only the "
        "sources (partitions) they belong to.",
    )
    def new_published_files(context: dg.SensorEvaluationContext):
        current = source_fingerprints(catalogue_loader())
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = [s for s, fp in current.items() if previous.get(s) != fp]
        context.update_cursor(json.dumps(current))
        if not changed:
            return dg.SkipReason("no new or changed files")
        return [dg.RunRequest(partition_key=s, run_key=f"{s}:{current[s]}") for s in changed]

    return new_published_files
