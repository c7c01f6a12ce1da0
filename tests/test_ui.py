"""`make ui` starts the Dagster UI, and one Ctrl-C stops every process it started (the
webserver, the daemon, the code servers), not only the first."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil

from pipelines.ui import session_processes
from tests.conftest import PROJECT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ctrl_c_stops_everything_make_ui_started(tmp_path):
    (tmp_path / "home").mkdir()
    shutil.copy(PROJECT / "catalogue" / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "OVERSIGHT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }
    port = free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "pipelines.ui", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline, "the UI did not start in 3 minutes"
            assert ui.poll() is None, "pipelines.ui exited early"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        (dg_dev,) = psutil.Process(ui.pid).children()
        started = session_processes(dg_dev.pid)
        # dg dev, its webserver, its daemon and at least one code server
        assert len(started) >= 4, [p.cmdline() for p in started]
        ui.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends
        assert ui.wait(timeout=60) == 0
        assert session_processes(dg_dev.pid) == []
        assert not any(p.is_running() for p in started)
    finally:
        if ui.poll() is None:
            ui.kill()
