"""Run a memory-heavy step in a Python process of its own, and hand its memory back when it ends.

A run's steps share one process (DuckDB lets one process write the warehouse, and Dagster's
in-process executor runs the steps one after another). What a step leaves behind stays with
that process: Python keeps freed memory in partly used arenas, glibc in its per-thread heaps,
and the modules a step imported stay imported. After the ingest of the scale-10 sample the
process held about 780 MB against 250 MB before it, and every later step started from there.

`in_child(fn, *args)` calls `fn(*args)` in a fresh process (multiprocessing's `spawn`: no
state is copied, the child imports what `fn` needs) and returns its result; when it ends, the
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
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

STEP_PROCESSES_ENV = "OVERSIGHT_STEP_PROCESSES"
_SPAWN = multiprocessing.get_context("spawn")
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
    receiver, sender = _SPAWN.Pipe(duplex=False)
    child = _SPAWN.Process(
        target=_child_main,
        args=(sender, os.getpid(), fn, args, kwargs, progress is not None),
        name=f"oversight step {fn.__module__}.{fn.__qualname__}",
        daemon=True,
    )
    child.start()
    sender.close()  # the child holds the only writing end: EOF when it ends
    try:
        while True:
            try:
                kind, *payload = receiver.recv()
            except EOFError:
                child.join()
                raise StepProcessDied(
                    f"{fn.__qualname__} ran in a process of its own, which {_how(child.exitcode)} "
                    "before it finished; nothing it had not committed was kept. If it was "
                    "killed for memory, lower OVERSIGHT_DUCKDB_MEMORY or give the machine more."
                ) from None
            if kind == "progress":
                progress(*payload[0], **payload[1])  # type: ignore[misc]
            elif kind == "result":
                child.join()
                return payload[0]
            else:
                exc, child_traceback = payload
                exc.add_note(f"(raised in the step's own process)\n{child_traceback}")
                raise exc
    finally:
        receiver.close()
        if child.is_alive():  # interrupted (Ctrl-C, a run terminated from the UI)
            child.terminate()
            child.join(10)
            if child.is_alive():
                child.kill()
                child.join()


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        cause = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{cause}"
    return f"exited with code {exitcode}"


def _child_main(
    sender, parent_pid: int, fn: Callable, args: tuple, kwargs: dict, with_progress: bool
) -> None:
    _die_with(parent_pid)
    if with_progress:
        kwargs["progress"] = lambda *a, **k: sender.send(("progress", a, k))
    try:
        message = ("result", fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        message = ("error", _picklable(exc), traceback.format_exc())
    sender.send(message)
    sender.close()


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
