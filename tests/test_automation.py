"""The nightly schedule, the new-files sensor and the rebuild-after-ingest sensor."""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.automation import (
    AS_OF_OPS,
    AS_OF_TAG,
    ASSET_PARTITION_RANGE_END_TAG,
    as_of_run_config,
)
from pipelines.definitions import DERIVE_JOB, INGEST_JOB, NIGHTLY_JOB, REBUILD_JOB, build_defs
from tests.conftest import PROJECT, write_catalogue

CATALOGUE = PROJECT / "catalogue" / "sources.yaml"


def test_nightly_schedule_runs_at_two_london_time_by_default():
    defs = build_defs(str(CATALOGUE))
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == NIGHTLY_JOB  # fetch, then ingest
    when = datetime(2026, 11, 22, 2, 0, tzinfo=ZoneInfo("Europe/London"))
    context = dg.build_schedule_context(scheduled_execution_time=when)
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags[AS_OF_TAG] == "2026-11-22"
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == "kelder-notices"
    assert request.run_key == "nightly-2026-11-22"


def test_new_file_requests_only_its_partition(tmp_path):
    for folder in ("a", "b"):
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
        for s in ("a", "b")
    ]
    defs = build_defs(str(write_catalogue(tmp_path, sources)), str(tmp_path / "w.duckdb"))
    sensor = defs.resolve_sensor_def("new_published_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor=None):
        return dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)

    first = sensor.evaluate_tick(tick())
    assert sorted(r.partition_key for r in first.run_requests) == ["a", "b"]
    quiet = sensor.evaluate_tick(tick(first.cursor))
    assert quiet.run_requests == [] and "no new or changed files" in quiet.skip_message
    (tmp_path / "raw" / "b" / "2024-02.csv").write_text("x\n")
    changed = sensor.evaluate_tick(tick(first.cursor))
    assert [r.partition_key for r in changed.run_requests] == ["b"]
    # A file rewritten in place (new size) is a change too.
    (tmp_path / "raw" / "a" / "2024-01.csv").write_text("x,y\n")
    os.utime(tmp_path / "raw" / "a" / "2024-01.csv")
    again = sensor.evaluate_tick(tick(changed.cursor))
    assert [r.partition_key for r in again.run_requests] == ["a"]


def test_marts_are_rebuilt_after_any_ingest_with_the_nightly_date():
    defs = build_defs(str(CATALOGUE))
    sensor = defs.resolve_sensor_def("rebuild_after_ingest")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    derive = defs.resolve_job_def(DERIVE_JOB)
    ops = {node.name for node in derive.graph.node_defs}
    assert set(AS_OF_OPS) <= ops
    config = as_of_run_config("2026-11-22")
    assert config["ops"]["marts__contract_oversight"]["config"]["as_of"] == "2026-11-22"
    assert as_of_run_config(None) == {}
    rebuild = defs.resolve_job_def(REBUILD_JOB)
    assert (
        rebuild.partitions_def.get_partition_keys()
        == defs.resolve_job_def(INGEST_JOB).partitions_def.get_partition_keys()
    )


def test_the_partition_range_tags_are_dagsters_own():
    """The only private import left: the check that our spelling of Dagster's range tags
    (no public constant exists in 1.13) is still Dagster's."""
    from dagster._core.storage import tags

    from pipelines import automation

    assert automation.ASSET_PARTITION_RANGE_START_TAG == tags.ASSET_PARTITION_RANGE_START_TAG
    assert automation.ASSET_PARTITION_RANGE_END_TAG == tags.ASSET_PARTITION_RANGE_END_TAG
