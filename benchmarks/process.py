"""Running one measured step in its own process: wall seconds, peak resident memory
(from `wait4`: the largest single process among it and its children; `pipeline_run` samples
the sum itself), and a memory guard that kills a step past its
limit so that one case cannot take the machine down; and a description of the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import psutil

from oversight.core import settings

ROOT = settings.PROJECT_ROOT


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def measure(
    cmd: list[str], env: dict[str, str], log_file: Path, limit_mb: float | None = None
) -> dict:
    """Run a command in its own process: wall seconds, peak RSS (MB), exit code. With
    `limit_mb`, a watcher kills the process (and its children) when their resident memory
    passes it, so one case cannot take the machine down; the result then says so
    (`killed_at_mb`) instead of raising."""
    start = time.perf_counter()
    killed: list[float] = []
    with log_file.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        watcher = None
        if limit_mb:
            watcher = threading.Thread(target=_guard, args=(proc, limit_mb, killed), daemon=True)
            watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if watcher:
        watcher.join()
    result = {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": code,
    }
    if killed:
        result["killed_at_mb"] = round(killed[0], 1)
        result["limit_mb"] = limit_mb
        return result
    if code != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}); end of {log_file}:\n{tail}")
    return result


def tree_rss_mb(root: psutil.Process) -> tuple[list[psutil.Process], float]:
    """`root` and every process under it, and their resident memory summed (MB): shared
    libraries loaded by two of them are counted twice, so the figure is, if anything, high.
    Raises psutil.NoSuchProcess when `root` is gone; a child that ends meanwhile counts 0."""
    tree = [root, *root.children(recursive=True)]
    total = root.memory_info().rss
    for process in tree[1:]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return tree, total / 2**20


def _guard(proc: subprocess.Popen, limit_mb: float, killed: list[float]) -> None:
    """Every 0.2 s, the resident memory of `proc` and its children; SIGKILL past the limit."""
    try:
        root = psutil.Process(proc.pid)
    except psutil.NoSuchProcess:
        return
    while proc.returncode is None:
        try:
            tree, rss = tree_rss_mb(root)
        except psutil.NoSuchProcess:
            return
        if rss > limit_mb:
            killed.append(rss)
            for p in reversed(tree):
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.send_signal(signal.SIGKILL)
            return
        time.sleep(0.2)


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "memory_gb": round(total_kb / 2**20, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "load_before": round(os.getloadavg()[0], 2),
    }
