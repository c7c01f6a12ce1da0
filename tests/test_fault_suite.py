"""The fault suite: `make run` killed with SIGKILL at random points, each followed by a re-run
that must match a clean build; two `make run`s at once; a notebook reading during a run.

Every trial runs the real command (`python -m pipelines.run`) on the embedded sample, in its own
DAGSTER_HOME and warehouse. `make test` runs two kills; `make faults` runs twelve
(OVERSIGHT_FAULT_KILLS) and writes one JSON line per trial to OVERSIGHT_FAULT_REPORT, from which
the README's "Guarantees" figures come. Kill points are drawn from OVERSIGHT_FAULT_SEED, spread
over the whole run (ingest, validation, entities, links, indicators, outputs).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from oversight.core.warehouse import RUN_SPECIFIC_COLUMNS, fingerprint
from oversight.outputs import explore
from tests.conftest import PROJECT

KILLS = int(os.environ.get("OVERSIGHT_FAULT_KILLS", "2"))
SEED = int(os.environ.get("OVERSIGHT_FAULT_SEED", "20261125"))
REPORT = os.environ.get("OVERSIGHT_FAULT_REPORT")
STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}


class Home:
    """A DAGSTER_HOME and a warehouse of their own, and `make run` in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dagster_home = root / "dagster"
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / "catalogue" / "dagster.yaml", self.dagster_home / "dagster.yaml")
        self.warehouse = root / "warehouse.duckdb"
        with self.instance():  # creates the run storage now, not racing two processes to it
            pass

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            "OVERSIGHT_WAREHOUSE": str(self.warehouse),
        }

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.run", *args],
            cwd=PROJECT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, *args: str) -> tuple[int, str]:
        process = self.start(*args)
        out, _ = process.communicate(timeout=900)
        return process.returncode, out

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.dagster_home))

    def runs(self, *statuses: dg.DagsterRunStatus) -> list[dg.DagsterRun]:
        with self.instance() as instance:
            return list(instance.get_runs(dg.RunsFilter(statuses=list(statuses) or None)))

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return fingerprint(con)
        finally:
            con.close()

    def step_windows(self) -> list[tuple[str, float, float]]:
        """Every step of every run as (step, started, ended), in seconds after the first run
        started (epoch times from Dagster's event log)."""
        windows = []
        with self.instance() as instance:
            runs = sorted(instance.get_runs(), key=lambda r: r.run_id)
            opened: dict[str, float] = {}
            for run in runs:
                for entry in instance.all_logs(run.run_id, of_type=STEP_EVENTS):
                    event = entry.dagster_event
                    if event.event_type == dg.DagsterEventType.STEP_START:
                        opened[event.step_key] = entry.timestamp
                    elif event.step_key in opened:
                        windows.append(
                            (event.step_key, opened.pop(event.step_key), entry.timestamp)
                        )
            first = min(instance.get_run_record_by_id(r.run_id).start_time for r in runs)
        return sorted((k, a - first, b - first) for k, a, b in windows)

    def steps_in_flight(self, run_id: str) -> list[str]:
        """Steps started and not finished in a run (what a kill interrupted)."""
        open_steps: dict[str, None] = {}
        with self.instance() as instance:
            for entry in instance.all_logs(run_id, of_type=STEP_EVENTS):
                event = entry.dagster_event
                if event.event_type == dg.DagsterEventType.STEP_START:
                    open_steps[event.step_key] = None
                else:
                    open_steps.pop(event.step_key, None)
        return list(open_steps)


def differences(a: dict, b: dict) -> list[str]:
    return sorted(t for t in a.keys() | b.keys() if a.get(t) != b.get(t))


def record(trial: dict) -> None:
    if REPORT:
        Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
        with open(REPORT, "a") as f:
            f.write(json.dumps(trial) + "\n")


def layer(step: str) -> str:
    """The layer a step belongs to: ingest, validation, staging, entities, links, marts,
    outputs."""
    return "validation" if step.startswith("validate_") else step.split("__")[0].split("_")[0]


def kill_points(
    windows: list[tuple[str, float, float]], n: int, seed: int
) -> list[tuple[str, float]]:
    """`n` kill points (a step, and seconds after it starts), spread over the layers in turn:
    trial i kills inside a step of layer i mod (number of layers), at a random moment of its
    duration in the clean build, so every layer is hit, not only the long ones."""
    by_layer: dict[str, list[tuple[str, float]]] = {}
    for step, start, end in windows:
        by_layer.setdefault(layer(step), []).append((step, end - start))
    layers = sorted(by_layer)
    rng = random.Random(seed)
    points = []
    for i in range(n):
        step, duration = rng.choice(by_layer[layers[i % len(layers)]])
        points.append((step, rng.uniform(0, duration)))
    return points


def wait_for_step(home: Home, process: subprocess.Popen, step: str, limit: float = 300) -> None:
    """Until `step` has started in one of the runs (polling Dagster's event log)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with home.instance() as instance:
            for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                started = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
                if any(e.dagster_event.step_key == step for e in started):
                    return
        assert process.poll() is None, f"the run ended before step {step} started"
        time.sleep(0.05)
    raise AssertionError(f"step {step} never started")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict:
    """A clean build: its fingerprint, and where in time each step ran (for the kills)."""
    home = Home(tmp_path_factory.mktemp("clean"))
    code, out = home.run()
    assert code == 0, out
    windows = home.step_windows()
    return {
        "home": home,
        "fingerprint": home.fingerprint(),
        "kill_points": kill_points(windows, KILLS, SEED),
    }


def test_the_fingerprint_leaves_out_run_times_only(clean):
    """Every timestamp in a built warehouse is either a run time, listed in
    RUN_SPECIFIC_COLUMNS, or data that the fingerprint compares (a release's date): a new run
    time that is not listed makes two identical builds differ, and this names it."""
    data_times = {"raw.releases.release_date"}
    con = duckdb.connect(str(clean["home"].warehouse), read_only=True)
    try:
        stamps = {
            ".".join(row)
            for row in con.execute(
                "select schema_name, table_name, column_name from duckdb_columns() "
                "join duckdb_tables() using (database_name, schema_name, table_name) "
                "where data_type like 'TIMESTAMP%'"
            ).fetchall()
        }
    finally:
        con.close()
    assert stamps - data_times <= RUN_SPECIFIC_COLUMNS
    assert "raw.releases.release_date" in stamps


@pytest.mark.parametrize("trial", range(KILLS))
def test_a_run_killed_anywhere_recovers_to_the_clean_build(clean, tmp_path, trial):
    home = Home(tmp_path)
    step, delay = clean["kill_points"][trial]
    process = home.start()
    wait_for_step(home, process, step)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    stuck = home.runs(dg.DagsterRunStatus.STARTED)
    assert len(stuck) == 1, "the killed run is left 'Started', as Dagster cannot see it die"
    killed = stuck[0]
    interrupted = home.steps_in_flight(killed.run_id)

    code, out = home.run()  # the next `make run` marks the dead run failed, then runs

    assert code == 0, out
    assert f"run {killed.run_id} was left 'Started'" in out
    assert home.runs(dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.QUEUED) == []
    with home.instance() as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    differ = differences(home.fingerprint(), clean["fingerprint"])
    same = not differ
    record(
        {
            "case": "kill",
            "trial": trial,
            "seconds_into_step": round(delay, 2),
            "job": killed.job_name,
            "aimed_at": step,
            "interrupted": interrupted,
            "held": same,
        }
    )
    assert same, f"the re-run after the kill differs from a clean build in {differ}"


def test_two_runs_at_once_both_finish_and_match_the_clean_build(clean, tmp_path):
    home = Home(tmp_path)
    first, second = home.start(), home.start()
    outputs = [p.communicate(timeout=1200)[0] for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    # One waited for the other (`make run`'s lock) and then found nothing left to do.
    assert sum("Nothing changed since the last `make run`" in out for out in outputs) == 1
    differ = differences(home.fingerprint(), clean["fingerprint"])
    record({"case": "two writers", "held": not differ})
    assert not differ


def test_a_notebook_reading_during_a_run_neither_blocks_it_nor_fails(clean):
    """A reader keeps a connection open and queries throughout a rebuild of the clean build
    (`make run REBUILD=1`: every file read again and everything derived rebuilt)."""
    home: Home = clean["home"]
    reader = explore.connect(home.warehouse)
    errors: list[Exception] = []
    queries = 0
    done = threading.Event()

    def read() -> None:
        nonlocal queries
        while not done.is_set():
            try:
                assert len(explore.scorecard(reader)) > 0
                queries += 1
            except Exception as exc:  # noqa: BLE001 - any failure of a reader counts
                errors.append(exc)
            time.sleep(0.2)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        code, out = home.run("--rebuild")
    finally:
        done.set()
        thread.join()
        reader.close()
    record({"case": "reader during a run", "queries": queries, "held": not errors and code == 0})
    assert code == 0, out
    assert errors == [] and queries > 0
    assert differences(home.fingerprint(), clean["fingerprint"]) == []  # nothing changed


def test_a_run_with_nothing_changed_starts_no_run_and_changes_nothing(clean):
    """After a successful `make run`, the next one with no file new, changed or removed (and
    the same code, catalogue and parameters) answers from the warehouse folder's stamp: no
    Dagster run, no write, the same summary."""
    home: Home = clean["home"]
    before = len(home.runs())
    code, out = home.run()
    assert code == 0, out
    assert "Nothing changed since the last `make run`" in out
    assert "Warehouse: " in out and "Findings as of" in out
    assert len(home.runs()) == before
    assert differences(home.fingerprint(), clean["fingerprint"]) == []


def summarise(lines: list[str]) -> str:
    """The trials of a `make faults` run, as the README states them."""
    trials = [json.loads(line) for line in lines if line.strip()]
    kills = [t for t in trials if t["case"] == "kill"]
    steps = sorted({layer(s) for t in kills for s in t["interrupted"]})
    lines_out = [
        f"kills: {sum(t['held'] for t in kills)} of {len(kills)} re-runs equal to a clean build",
        f"  layers interrupted: {', '.join(steps) or 'none (between steps)'}",
    ]
    for t in kills:
        lines_out.append(
            f"  {t['aimed_at']:<36} +{t['seconds_into_step']:>5}s: "
            f"{', '.join(t['interrupted']) or '(between steps)'}: "
            f"{'held' if t['held'] else 'DIFFERED'}"
        )
    lines_out += [
        f"{t['case']}: {'held' if t['held'] else 'FAILED'}" for t in trials if t["case"] != "kill"
    ]
    return "\n".join(lines_out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]).read_text().splitlines()))
