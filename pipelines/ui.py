"""`make ui`: the Dagster UI (`dg dev`: the webserver, the daemon that runs the automation and
the sensors, and the code servers), stopped whole by one Ctrl-C.

`dg dev` leaves its code servers running after Ctrl-C until their heartbeat times out (about a
minute, during which they hold the project's code loaded). So `dg dev` runs in a session of its
own; Ctrl-C (or SIGTERM) here is passed on to it, and whatever of that session is still alive
`GRACE_SECONDS` later is terminated, then killed.

    python -m pipelines.ui --host 127.0.0.1 --port 3000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from pipelines.recovery import main as fail_dead_runs

GRACE_SECONDS = 15.0


def session_processes(sid: int) -> list[psutil.Process]:
    """Every live process in a session (a process keeps its session when orphaned)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.pid != os.getpid():
                found.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def stop_session(sid: int, grace: float = GRACE_SECONDS) -> list[int]:
    """Terminate, then kill, what is left of a session; returns the pids that had to be."""
    left = session_processes(sid)
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)
    return [p.pid for p in left]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="3000")
    args = parser.parse_args(argv)
    fail_dead_runs()
    dg_bin = Path(sys.executable).parent / "dg"
    env = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    child = subprocess.Popen(
        [str(dg_bin), "dev", "--host", args.host, "--port", str(args.port)],
        env=env,
        start_new_session=True,
    )
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    deadline = time.monotonic() + GRACE_SECONDS
    while session_processes(child.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    stopped = stop_session(child.pid)
    if stopped:
        print(f"stopped {len(stopped)} leftover Dagster processes", file=sys.stderr)
    return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
