"""Run a memory-heavy step in a Python process of its own, and hand its memory back when it ends.

A run's steps share one process (DuckDB lets one process write the warehouse, and Dagster's
in-process executor runs the steps one after another). What a step leaves behind stays with
that process: Python keeps freed memory in partly used arenas, glibc in its per-thread heaps,
and the modules a step imported stay imported. After the ingest of the scale-10 sample the
process held about 780 MB against 250 MB before it, and every later step started from there.

`in_child(fn, *args)` calls `fn(*args)` in a fresh interpreter (`python -c`, given this
process's `sys.path`: no state is copied, and the child imports only what `fn` needs; not
multiprocessing's `spawn`, which would import the main module again, for a Dagster run
worker all of Dagster) and returns its result; when it ends, the
system has all its memory back. The step's warehouse connection is the child's own: the
parent must not hold the warehouse open meanwhile. Progress messages cross back as they
happen; an exception raised in the child is raised again in the parent, with the child's
traceback as a note; a child that dies (killed for memory, a crash in a library) is an error
that says how it died. The child dies with its parent, so a killed run leaves no process
writing the warehouse.

`OVERSIGHT_STEP_PROCESSES=0` runs every step in the calling process instead (a debugger or a
profiler that follows one process).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

STEP_PROCESSES_ENV = "OVERSIGHT_STEP_PROCESSES"
_PR_SET_PDEATHSIG = 1


class StepProcessDied(RuntimeError):
    """The step's process ended without an answer (killed, or crashed inside a library)."""


def isolating() -> bool:
    """Whether steps run in processes of their own (`OVERSIGHT_STEP_PROCESSES`, default 1)."""
    return os.environ.get(STEP_PROCESSES_ENV, "1").strip().lower() not in {"0", "false", "no"}


def in_child(
    fn: Callable[..., T],
    *args: Any,
    progress: Callable[..., None] | None = None,
    **kwargs: Any,
) -> T:
    """`fn(*args, **kwargs)` in a fresh process; its result. `fn` must be importable (a
    module-level function) and its arguments and result picklable. With `progress`, `fn` is
    also given `progress=`, a callable whose calls are made on `progress` in this process."""
    if not isolating():
        return fn(*args, **kwargs) if progress is None else fn(*args, progress=progress, **kwargs)
    here, there = multiprocessing.Pipe()  # a socket pair: the child gets one end's descriptor
    # A plain interpreter rather than multiprocessing's spawn, which imports the parent's
    # main module again in the child (for a Dagster run worker, all of Dagster).
    # PYTHONPATH: this process's path, so that the child finds this module (and fn's) even
    # when the project is not installed.
    path = os.pathsep.join(p for p in sys.path if p)
    child = subprocess.Popen(
        [sys.executable, "-c", _BOOT, str(there.fileno()), str(os.getpid())],
        pass_fds=[there.fileno()],
        env={**os.environ, "PYTHONPATH": path},
    )
    there.close()  # the child holds the only other end: EOF when it ends
    try:
        job = pickle.dumps((fn, args, kwargs, progress is not None))  # fails here, not there
        try:
            here.send(sys.path)  # first, so that the child can import fn's module
            here.send_bytes(job)
        except OSError:  # the child is gone already: recv() below says how
            pass
        while True:
            try:
                kind, *payload = here.recv()
            except EOFError:
                child.wait()
                raise StepProcessDied(
                    f"{fn.__qualname__} ran in a process of its own, which "
                    f"{_how(child.returncode)} before it finished; nothing it had not "
                    "committed was kept. If it was killed for memory, lower "
                    "OVERSIGHT_DUCKDB_MEMORY or give the machine more."
                ) from None
            if kind == "progress":
                progress(*payload[0], **payload[1])  # type: ignore[misc]
            elif kind == "result":
                child.wait()
                return payload[0]
            else:
                exc, child_traceback = payload
                exc.add_note(f"(raised in the step's own process)\n{child_traceback}")
                raise exc
    finally:
        here.close()
        if child.poll() is None:  # interrupted (Ctrl-C, a run terminated from the UI)
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


# The child's first lines: the socket to the parent, then `_child_main`.
_BOOT = (
    "import sys; from multiprocessing.connection import Connection; "
    "from oversight.core.isolate import _child_main; "
    "_child_main(Connection(int(sys.argv[1])), int(sys.argv[2]))"
)


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        cause = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{cause}"
    return f"exited with code {exitcode}"


def _child_main(parent: Connection, parent_pid: int) -> None:
    _die_with(parent_pid)
    sys.path[:] = parent.recv()
    fn, args, kwargs, with_progress = pickle.loads(parent.recv_bytes())  # imports fn's module
    if with_progress:
        kwargs["progress"] = lambda *a, **k: parent.send(("progress", a, k))
    try:
        message = ("result", fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        message = ("error", _picklable(exc), traceback.format_exc())
    parent.send(message)
    parent.close()


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself if it survives the trip between processes, else a RuntimeError
    that names it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any exception that cannot cross is described instead
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


def _die_with(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent dies (a killed run leaves no orphan
    holding the warehouse); if the parent is already gone, stop now."""
    # Not Linux: no prctl, and the daemon flag still ends the child when its parent exits.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
