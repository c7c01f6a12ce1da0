"""Runs whose process died: found and marked failed, so they do not hold the run queue.

`make run` executes its runs in its own process, with no daemon or run launcher watching it, and
Dagster's run monitoring cannot see such a run (the default run launcher has no worker health
check either). A `make run` killed with `kill -9`, a closed laptop lid or an out-of-memory kill
leaves its run "Started" in DAGSTER_HOME for ever; with one run at a time
(catalogue/dagster.yaml) the nightly automation, the new-files sensor and UI launches then queue
behind it for ever.

So every run says which process runs it (the `oversight/pid` tag that `make run` sets, or the
pid Dagster's own engine event records for runs launched from the UI or the daemon), and at the
start of `make run` and `make ui` every run still "Started" whose process no longer exists, or
is now a different, younger process with the same number, is marked failed with the reason.

    python -m pipelines.recovery     # what `make ui` runs first; prints what it marked
"""

from __future__ import annotations

import os
import socket
import sys

import dagster as dg
import psutil

PID_TAG = "oversight/pid"
HOST_TAG = "oversight/host"
PROCESS_STARTED_TAG = "oversight/process_started"

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
# A process created this many seconds after the run recorded its pid is another process that
# happens to have the same number (pids are reused).
CLOCK_SLACK_SECONDS = 2.0


def process_tags() -> dict[str, str]:
    """Tags naming this process, for a run executed in it (`execute_in_process`)."""
    me = psutil.Process()
    return {
        PID_TAG: str(me.pid),
        HOST_TAG: socket.gethostname(),
        PROCESS_STARTED_TAG: f"{me.create_time():.3f}",
    }


def _recorded_process(
    instance: dg.DagsterInstance, run: dg.DagsterRun
) -> tuple[int, float | None] | None:
    """(pid, when the process started or was recorded) for a run, or None when the run never
    said (a run that is only just starting, or one from another host)."""
    tags = run.tags
    if PID_TAG in tags:
        if tags.get(HOST_TAG) not in (None, socket.gethostname()):
            return None
        started = tags.get(PROCESS_STARTED_TAG)
        return int(tags[PID_TAG]), float(started) if started else None
    # Runs launched by the UI or the daemon: Dagster records the worker's pid in an engine
    # event ("Started process for run (pid: N)" / "Executing steps in process (pid: N)").
    for entry in reversed(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid") if data else None
        if pid is not None:
            return int(getattr(pid, "value", pid)), entry.timestamp
    return None


def is_alive(pid: int, since: float | None) -> bool:
    """True when process `pid` exists and is not a younger process reusing the number."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists, and we cannot tell more
        return True
    return since is None or created <= since + CLOCK_SLACK_SECONDS


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every in-progress run whose process is gone; returns their run ids."""
    marked = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        recorded = _recorded_process(instance, run)
        if recorded is None or run.run_id == os.environ.get("DAGSTER_RUN_ID"):
            continue
        pid, since = recorded
        if is_alive(pid, since):
            continue
        instance.report_run_failed(
            run,
            f"Marked failed by pipelines.recovery: the process that ran it (pid {pid}) no "
            "longer exists (killed, or the machine stopped). Its warehouse changes were rolled "
            "back to the last committed file; re-run to continue.",
        )
        marked.append(run.run_id)
    return marked


def main() -> int:
    if not os.environ.get("DAGSTER_HOME"):
        return 0
    for run_id in fail_dead_runs(dg.DagsterInstance.get()):
        print(f"run {run_id} was left 'Started' by a process that died; marked failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
