"""What runs on its own: the nightly fetch and ingest (`on_cron`), one rebuild of everything
derived after upstream updates, and the new-files sensor. Ticked from a warehouse built the
way `make run` builds it, counting the runs Dagster would start."""

import os
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assets.fetch import DOWNLOADS
from assets.ingest import INGEST_KEYS, RAW_FILES
from pipelines.automation import (
    AS_OF_OPS,
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    as_of_run_config,
    changed_sources,
)
from pipelines.definitions import DERIVE_JOB, FETCH_JOB, INGEST_JOB, build_defs
from pipelines.run import materialise_all
from tests.conftest import PROJECT, write_catalogue

CATALOGUE = PROJECT / "catalogue" / "sources.yaml"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
LONDON = ZoneInfo("Europe/London")


def runs_requested(defs: dg.Definitions, result) -> list[dg.RunRequest]:
    """The runs the automation sensor would start for one evaluation. Dagster 1.13 has no
    public function for this step (the daemon calls it after evaluating the conditions), so
    this is the one private import here: if it moves, this test fails, not a night's run."""
    from dagster._core.definitions.automation_tick_evaluation_context import (
        build_run_requests,
    )

    sensor = defs.resolve_sensor_def("oversight_automation")
    return build_run_requests(
        list(result._requested_subsets),
        defs.resolve_asset_graph(),
        {},
        sensor.emit_backfills,
    )


def requested(defs: dg.Definitions, result) -> dict[str, int]:
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    return {
        k.to_user_string(): result.get_num_requested(k) for k in keys if result.get_num_requested(k)
    }


@pytest.fixture(scope="module")
def after_make_run(tmp_path_factory):
    """Definitions and an instance holding the two runs `make run` makes on a copy of the
    sample (the catalogue folder and data/raw/, so its relative raw_dir finds the copy), and
    the copy's raw folder."""
    root = tmp_path_factory.mktemp("automation")
    shutil.copytree(PROJECT / "catalogue", root / "catalogue")
    shutil.copytree(PROJECT / "data" / "raw", root / "data" / "raw")
    defs = build_defs(str(root / "catalogue" / "sources.yaml"), str(root / "warehouse.duckdb"))
    assert defs.resources["catalogue"].load().raw_dir == (root / "data" / "raw").resolve()
    instance = dg.DagsterInstance.ephemeral()
    assert all(r.success for r in materialise_all(defs, instance, log_level="ERROR"))
    return defs, instance, root / "data" / "raw"


def test_automation_after_make_run(after_make_run):
    defs, instance, raw = after_make_run
    catalogue = defs.resources["catalogue"].load()
    sources = [s.id for s in catalogue.sources]
    derived = {
        k.to_user_string()
        for k in defs.resolve_asset_graph().get_all_asset_keys()
        if k not in (DOWNLOADS, *INGEST_KEYS)
    }
    evaluate = dg.evaluate_automation_conditions

    # The first ticks after `make run` ask for nothing: no storm when `make ui` starts.
    assert changed_sources(defs.resources["catalogue"].load(), instance, None)[0] == []
    first = evaluate(defs, instance)
    assert first.total_requested == 0
    quiet = evaluate(defs, instance, cursor=first.cursor)
    assert quiet.total_requested == 0

    # `make run` again with nothing changed: the ingest materialises nothing (so no check, no
    # GX) and the derive is skipped (same inputs as the last derive run); no tick follows.
    (again,) = materialise_all(defs, instance, log_level="ERROR")
    assert again.success and not again.get_asset_materialization_events()
    assert not again.get_asset_check_evaluations()
    quiet = evaluate(defs, instance, cursor=quiet.cursor)
    assert quiet.total_requested == 0
    # ...and `make run REBUILD=1` reads everything again and rebuilds.
    assert len(materialise_all(defs, instance, log_level="ERROR", rebuild=True)) == 2
    quiet = evaluate(defs, instance, cursor=quiet.cursor)
    assert quiet.total_requested == 0  # the rebuild ran in the same run as its inputs' update

    # Two sources get a new file and are ingested in two runs (the new-files sensor, a click
    # in the UI): one rebuild of everything derived, each asset once, in one run.
    ingest = defs.resolve_job_def(INGEST_JOB)
    for source in catalogue.sources[:2]:
        folder = raw / source.folder
        first_file = sorted(p for p in folder.iterdir() if p.is_file())[0]
        shutil.copy(first_file, folder / f"copy-{first_file.name}")  # recorded: duplicate
        ingest.execute_in_process(instance=instance, partition_key=source.id, run_config=QUIET)
    after = evaluate(defs, instance, cursor=quiet.cursor)
    assert requested(defs, after) == dict.fromkeys(derived, 1)
    (run,) = runs_requested(defs, after)
    assert run.partition_key is None and run.asset_graph_subset is None
    handled = evaluate(defs, instance, cursor=after.cursor)
    assert handled.total_requested == 0  # asked once, not again while it runs

    # 02:00 London: fetch and ingest every source. Dagster asks for it as one backfill (the
    # sensor's emit_backfills); with the single-run backfill policy that is one run, where
    # without backfills it would be one run per source.
    night = datetime.now(LONDON).replace(hour=2, minute=0, second=30) + timedelta(days=1)
    nightly = evaluate(defs, instance, cursor=handled.cursor, evaluation_time=night)
    assert requested(defs, nightly) == {
        k.to_user_string(): len(sources) for k in (DOWNLOADS, *INGEST_KEYS)
    }
    (backfill,) = runs_requested(defs, nightly)
    assert backfill.asset_graph_subset is not None
    for key in (DOWNLOADS, RAW_FILES):
        policy = defs.resolve_asset_graph().get(key).backfill_policy
        assert policy == dg.BackfillPolicy.single_run()
    # ...and the derived assets wait for it: they are asked for once it has finished.
    assert not set(requested(defs, nightly)) & derived


def test_the_sensor_and_the_jobs():
    defs = build_defs(str(CATALOGUE))
    sensor = defs.resolve_sensor_def("oversight_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.emit_backfills
    assert not defs.schedules  # the nightly cron is an automation condition now
    graph = defs.resolve_asset_graph()
    assert graph.get(RAW_FILES).automation_condition.get_label() == "nightly at 02:00 Europe/London"
    assert defs.resolve_job_def(FETCH_JOB).asset_layer  # fetch then ingest, for a click
    derive = defs.resolve_job_def(DERIVE_JOB)
    assert set(AS_OF_OPS) <= {node.name for node in derive.graph.node_defs}
    config = as_of_run_config("2026-11-22")
    assert config["ops"]["marts__contract_oversight"]["config"]["as_of"] == "2026-11-22"
    assert as_of_run_config(None) == {}


def test_new_files_are_ingested_once_per_change(tmp_path):
    for folder in ("a", "b", "c"):
        (tmp_path / "raw" / folder).mkdir(parents=True)
        (tmp_path / "raw" / folder / "2024-01.csv").write_text("x\n")
    sources = [
        {
            "id": s,
            "publisher": "P",
            "kind": "spend",
            "folder": s,
            "files": "*.csv",
            "layout": "salford-spend",
        }
        for s in ("a", "b", "c")
    ]
    defs = build_defs(str(write_catalogue(tmp_path, sources)), str(tmp_path / "w.duckdb"))
    sensor = defs.resolve_sensor_def("new_published_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor=None):
        return sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        )

    # Never ingested: all three, in one run over the range of partitions.
    first = tick()
    (run,) = first.run_requests
    assert run.tags[ASSET_PARTITION_RANGE_START_TAG] == "a"
    assert run.tags[ASSET_PARTITION_RANGE_END_TAG] == "c"
    quiet = tick(first.cursor)
    assert quiet.run_requests == [] and "no new or changed files" in quiet.skip_message
    (tmp_path / "raw" / "b" / "2024-02.csv").write_text("x\n")
    changed = tick(first.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["b"]
    # A file rewritten in place (new size) is a change too.
    (tmp_path / "raw" / "a" / "2024-01.csv").write_text("x,y\n")
    os.utime(tmp_path / "raw" / "a" / "2024-01.csv")
    assert [r.partition_key for r in tick(changed.cursor).run_requests] == ["a"]
    # A new sensor (no cursor) compares with what each source's last ingest saw: ingest "a"
    # and "c", then only "b" (never ingested) is asked for.
    ingest = defs.resolve_job_def(INGEST_JOB)
    for source in ("a", "c"):
        ingest.execute_in_process(instance=instance, partition_key=source, run_config=QUIET)
    (fresh,) = tick().run_requests
    assert fresh.partition_key == "b"


def test_the_partition_range_tags_are_dagsters_own():
    """The check that our spelling of Dagster's range tags (no public constant exists in
    1.13) is still Dagster's."""
    from dagster._core.storage import tags

    from pipelines import automation

    assert automation.ASSET_PARTITION_RANGE_START_TAG == tags.ASSET_PARTITION_RANGE_START_TAG
    assert automation.ASSET_PARTITION_RANGE_END_TAG == tags.ASSET_PARTITION_RANGE_END_TAG
