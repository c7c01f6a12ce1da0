"""A run whose process is gone is marked failed; a run whose process lives is left alone."""

import subprocess
import sys
import time

import dagster as dg
import psutil

from pipelines.recovery import (
    HOST_TAG,
    PID_TAG,
    PROCESS_STARTED_TAG,
    fail_dead_runs,
    is_alive,
    process_tags,
)


def started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = instance.create_run_for_job(dg.GraphDefinition("g").to_job(), tags=tags)
    instance.handle_run_event(
        run.run_id,
        dg.DagsterEvent(event_type_value="PIPELINE_START", job_name=run.job_name),
    )
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    return run


def test_is_alive_tells_a_dead_process_and_a_reused_pid_from_a_live_one():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    me = psutil.Process()
    assert not is_alive(child.pid, None)
    assert is_alive(me.pid, me.create_time())
    # the same number, recorded by a process that was started before this one: a reused pid
    assert not is_alive(me.pid, me.create_time() - 3600)


def test_dead_runs_are_marked_failed_and_live_ones_left_alone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with dg.DagsterInstance.ephemeral() as instance:
        dead = started_run(
            instance, {PID_TAG: str(child.pid), PROCESS_STARTED_TAG: f"{time.time():.3f}"}
        )
        live = started_run(instance, process_tags())
        elsewhere = started_run(instance, {PID_TAG: str(child.pid), HOST_TAG: "another-host"})
        assert fail_dead_runs(instance) == [dead.run_id]
        status = {r.run_id: r.status for r in instance.get_runs()}
        assert status[dead.run_id] == dg.DagsterRunStatus.FAILURE
        assert status[live.run_id] == status[elsewhere.run_id] == dg.DagsterRunStatus.STARTED
        assert "no longer exists" in next(
            e.message
            for e in instance.all_logs(dead.run_id)
            if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
        )
