"""What runs without anyone clicking, all with Dagster's declarative automation except what
is outside Dagster (files appearing on disk):

- `NIGHTLY` (`AutomationCondition.on_cron`, 02:00 Europe/London) on the fetch and the ingest:
  every source is fetched (where fetching is on) and ingested (unchanged files are skipped).
  The automation sensor asks for it as one backfill; both multi-assets have a single-run
  backfill policy, so it is one run over every source, then one run for what is derived.
- `AFTER_INGEST` on everything derived: rebuilt once when any upstream table updated, after
  no upstream run is still in progress, so ten ingests in a row give one rebuild, not ten.
- `new_published_files`: a sensor that ingests only the sources whose files changed on disk,
  judged against what the last ingest of each source saw (so a `make run` is remembered).

The derived assets take their as-of date from the data (see `assets/indicators.py`), so an
automated rebuild judges the same date a `make run` would."""

import json

import dagster as dg

from assets.ingest import RAW_FILES, SOURCE_FINGERPRINTS
from oversight.core.catalogue import Catalogue
from oversight.core.source_files import files_fingerprint

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

NIGHTLY = dg.AutomationCondition.on_cron(NIGHTLY_CRON, NIGHTLY_TIMEZONE).with_label(
    "nightly at 02:00 Europe/London"
)
# Dagster's `eager`, less "no dependency missing": an upstream source partition that has never
# loaded (a new catalogue entry, an invalid one) must not hold back the other sources' results.
# Blocking checks upstream (row accounting, the blocking expectations) must have passed.
AFTER_INGEST = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("after any upstream update, once no upstream run is in progress")


def automated(assets: list, condition: dg.AutomationCondition) -> list:
    """The assets with every asset in them given the automation condition."""
    return dg.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=condition), assets
    )


def all_partitions_tags(keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover every source partition (single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}


def as_of_run_config(as_of: str | None) -> dict:
    """Run config that judges the marts as of a given date (a launch from the UI, a test)."""
    if not as_of:
        return {}
    return {"ops": {op: {"config": {"as_of": as_of}} for op in AS_OF_OPS}}


def build_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "oversight_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Evaluates each asset's automation condition every 30 s: the nightly "
        "fetch and ingest at 02:00 Europe/London, and one rebuild of everything derived "
        "after upstream tables update.",
    )


def last_ingested_fingerprint(instance: dg.DagsterInstance, source_id: str) -> str | None:
    """The fingerprint of a source's files as its last ingest saw them (from the metadata of
    `raw/files`'s latest materialisation for that partition), or None if never ingested."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_FILES, asset_partitions=[source_id]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    entry = records[0].asset_materialization.metadata.get(SOURCE_FINGERPRINTS)
    return (getattr(entry, "value", None) or {}).get(source_id)


def changed_sources(
    catalogue: Catalogue, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[str], dict[str, str]]:
    """The valid sources whose files differ from what was last seen, and the new cursor.
    Without a cursor entry for a source (a first tick, a new source) the baseline is what its
    last ingest saw, so the first tick after a `make run` asks for nothing."""
    current = {s.id: files_fingerprint(catalogue, s) for s in catalogue.sources}
    seen = json.loads(cursor) if cursor else {}
    for source_id in current.keys() - seen.keys():
        seen[source_id] = last_ingested_fingerprint(instance, source_id)
    return [s for s, fp in current.items() if seen.get(s) != fp], current


def build_new_files_sensor(ingest_job, catalogue_loader) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_published_files",
        job=ingest_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every minute, notices new or changed files under data/raw/ (compared "
        "with what each source's last ingest saw) and ingests only those sources, in one run.",
    )
    def new_published_files(context: dg.SensorEvaluationContext):
        changed, current = changed_sources(catalogue_loader(), context.instance, context.cursor)
        context.update_cursor(json.dumps(current))
        if not changed:
            return dg.SkipReason("no new or changed files")
        if len(changed) == 1:
            return dg.RunRequest(
                partition_key=changed[0], run_key=f"{changed[0]}:{current[changed[0]]}"
            )
        # Several sources changed at once: one run over the range of partitions from the first
        # to the last (the valid sources come first, so no invalid entry falls inside it; an
        # unchanged source inside it has its files recognised and skipped).
        return dg.RunRequest(
            run_key=":".join(f"{s}:{current[s]}" for s in changed),
            tags={
                ASSET_PARTITION_RANGE_START_TAG: changed[0],
                ASSET_PARTITION_RANGE_END_TAG: changed[-1],
            },
        )

    return new_published_files
