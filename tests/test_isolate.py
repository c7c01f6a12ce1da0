"""Steps in processes of their own (`oversight.core.isolate`): the answer, progress and errors
come back; a dead child is an error that says how it died; the child dies with its parent;
its memory goes back to the system."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from oversight.core import isolate
from oversight.core.isolate import StepProcessDied, in_child
from tests.conftest import PROJECT

# What the children run: module-level, so that a spawned process can import them.


def pid_and_sum(values: list[int], *, offset: int = 0) -> tuple[int, int]:
    return os.getpid(), sum(values) + offset


def counts_to(n: int, progress) -> str:
    for i in range(1, n + 1):
        progress(i, n, message=f"step {i}")
    return "done"


class Unpicklable(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickle calls it with one argument
        super().__init__(f"{a} and {b}")


def fails(kind: str) -> None:
    if kind == "value":
        raise ValueError("a bad value, row 7")
    raise Unpicklable("one", "two")


def dies() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def holds_memory(mb: int) -> int:
    block = bytearray(mb * 2**20)  # zero pages: write one byte per page so they are resident
    for i in range(0, len(block), 4096):
        block[i] = 1
    return psutil.Process().memory_info().rss // 2**20


def sleeps_writing_pid(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(120)


def test_the_result_is_computed_in_another_process():
    child_pid, total = in_child(pid_and_sum, [1, 2, 3], offset=10)
    assert total == 16
    assert child_pid != os.getpid()


def test_progress_arrives_in_order():
    seen = []
    assert in_child(counts_to, 3, progress=lambda *a, **k: seen.append((a, k))) == "done"
    assert seen == [((i, 3), {"message": f"step {i}"}) for i in (1, 2, 3)]


def test_an_error_in_the_child_is_raised_here_with_its_traceback():
    with pytest.raises(ValueError, match="a bad value, row 7") as raised:
        in_child(fails, "value")
    assert any("in fails" in note for note in raised.value.__notes__)


def test_an_error_that_cannot_cross_is_described():
    with pytest.raises(RuntimeError, match="Unpicklable: one and two"):
        in_child(fails, "unpicklable")


def test_a_child_killed_is_an_error_that_says_how():
    with pytest.raises(StepProcessDied, match="killed by SIGKILL"):
        in_child(dies)


def test_the_child_dies_with_its_parent(tmp_path):
    """A run killed with SIGKILL (its process only, not its group) leaves no step process
    behind holding the warehouse."""
    pid_file = tmp_path / "child.pid"
    code = (
        "from oversight.core.isolate import in_child\n"
        "from tests.test_isolate import sleeps_writing_pid\n"
        f"in_child(sleeps_writing_pid, {str(pid_file)!r})\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the child never started"
        time.sleep(0.1)
    child = psutil.Process(int(pid_file.read_text()))
    parent.kill()
    parent.wait()
    child.wait(timeout=10)  # raises TimeoutExpired if it outlives its parent
    assert not psutil.pid_exists(child.pid) or child.status() == psutil.STATUS_ZOMBIE


def test_the_childs_memory_is_not_kept_here():
    before = psutil.Process().memory_info().rss // 2**20
    child_rss = in_child(holds_memory, 300)
    after = psutil.Process().memory_info().rss // 2**20
    assert child_rss >= 300
    assert after - before < 50


def test_steps_can_run_in_this_process(monkeypatch):
    monkeypatch.setenv(isolate.STEP_PROCESSES_ENV, "0")
    seen = []
    assert in_child(pid_and_sum, [1], offset=1) == (os.getpid(), 2)
    assert in_child(counts_to, 2, progress=lambda *a, **k: seen.append(a)) == "done"
    assert seen == [(1, 2), (2, 2)]


def test_the_streaming_steps_give_duckdb_less_memory(monkeypatch, tmp_path):
    """Ingest and validation stream rows in chunks: DuckDB gets OVERSIGHT_DUCKDB_STREAMING_MEMORY
    there (512MB by default), the other steps OVERSIGHT_DUCKDB_MEMORY."""
    from contextlib import contextmanager

    from oversight.core import settings, warehouse
    from oversight.ingest import load
    from oversight.validation import suites

    monkeypatch.setenv(settings.STREAMING_MEMORY_ENV, "300MB")
    monkeypatch.delenv(settings.MEMORY_ENV, raising=False)
    limits = []

    def spy(real):
        @contextmanager
        def opened(*args, **kwargs):
            with real(*args, **kwargs) as con:
                limits.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
                yield con

        return opened

    monkeypatch.setattr(load, "open_warehouse", spy(warehouse.open_warehouse))
    monkeypatch.setattr(suites, "open_warehouse", spy(warehouse.open_warehouse))
    path = str(tmp_path / "w.duckdb")
    load.ingest_sources(path, str(settings.catalogue_path()), [])
    suites.validate_tables(path, str(tmp_path / "gx"), [])
    with warehouse.open_warehouse(path) as con:
        usual = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limits == ["286.1 MiB", "286.1 MiB"]
    assert usual == "953.6 MiB"


def test_arguments_that_cannot_cross_fail_here():
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        in_child(pid_and_sum, [1], offset=lambda: 1)  # a lambda cannot be pickled
