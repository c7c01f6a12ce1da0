"""`make bench`: the pipeline at national scale, against the parse floor and plain pandas.

For each scale (1 = about 1.4M payment lines and 50k contracts):

1. generate the sample at that scale (`oversight.sample.generator`: the real layouts, with
   their mess), and hold back the newest month of each monthly spend source;
2. the floor: DuckDB reading the same files into tables, no transformation
   (`benchmarks.floor`);
3. the full pipeline on a new warehouse, as `make run` runs it, with wall time and peak
   memory per layer (`benchmarks.pipeline_run`);
4. an incremental run after the held-back month is added;
5. the pandas baseline (`benchmarks.pandas_baseline`) on all the files, and its results
   compared with the pipeline's: rows loaded, OV07 per contract, SC01 per buyer and year.

Each measured step runs in its own process; its peak memory is that process's maximum
resident set size. Results go to `<out>/results.json` and `<out>/results.md`.

    python -m benchmarks.bench --scales 0.1 1 10
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from benchmarks.pandas_baseline import buyer_key
from benchmarks.pipeline_run import LAYERS
from oversight.core import settings

ROOT = settings.PROJECT_ROOT
MONTHLY = re.compile(r"\d{4}-\d{2}\.csv")
TARGETS = {  # issue 19
    "pipeline_vs_floor": 3.0,  # at the largest scale and at scale 1 (dialect-given floor)
    "incremental_share": 0.10,  # at the largest scale
    "peak_rss_mb": 2048,  # at every scale, and for each large file
    "speedup_vs_pandas": 1.0,  # faster than vectorised pandas at scale 1 and the largest
    "rerun_seconds": 10.0,  # make run on the embedded sample, nothing changed
}


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


def _guard(proc: subprocess.Popen, limit_mb: float, killed: list[float]) -> None:
    """Every 0.2 s, the resident memory of `proc` and its children; SIGKILL past the limit."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
    except psutil.NoSuchProcess:
        return
    while proc.returncode is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree) / 2**20
        except psutil.NoSuchProcess:
            return
        if rss > limit_mb:
            killed.append(rss)
            for p in reversed(tree):
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.send_signal(signal.SIGKILL)
            return
        time.sleep(0.2)


def _generator_hash() -> str:
    """The sample generator's code (every module of oversight/sample/)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "oversight" / "sample").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def generate(scale: float, raw: Path, env: dict[str, str], logs: Path) -> dict:
    """The sample at `scale` in `raw` (kept between runs while the generator is unchanged)."""
    marker = raw.parent / "generated.json"
    wanted = {"scale": scale, "generator": _generator_hash()}
    if marker.exists() and json.loads(marker.read_text()).get("key") == wanted:
        return json.loads(marker.read_text())["result"]
    marker.unlink(missing_ok=True)
    shutil.rmtree(raw, ignore_errors=True)
    cmd = [sys.executable, "-m", "oversight.sample.generator", "--out", str(raw)]
    result = measure([*cmd, "--scale", str(scale)], env, logs / "generate.log")
    files = [p for p in raw.rglob("*") if p.is_file() and p.name != "planted.yaml"]
    result.update(files=len(files), megabytes=round(sum(p.stat().st_size for p in files) / 2**20))
    marker.write_text(json.dumps({"key": wanted, "result": result}))
    return result


def newest_months(raw: Path) -> list[Path]:
    """The newest `YYYY-MM.csv` of every folder of monthly files: the month held back."""
    folders: dict[Path, list[Path]] = {}
    for path in raw.rglob("*.csv"):
        if MONTHLY.fullmatch(path.name):
            folders.setdefault(path.parent, []).append(path)
    return sorted(max(files) for files in folders.values() if len(files) > 1)


def pipeline_env(base: dict[str, str], raw: Path, warehouse: Path, as_of: str) -> dict:
    return {
        **base,
        "OVERSIGHT_RAW_DIR": str(raw),
        "OVERSIGHT_WAREHOUSE": str(warehouse),
        "OVERSIGHT_AS_OF": as_of,
        "OVERSIGHT_CATALOGUE": str(ROOT / "catalogue" / "sources.yaml"),
    }


def run_pipeline(env: dict[str, str], logs: Path, name: str) -> dict:
    steps = logs / f"{name}.json"
    outer = measure(
        [sys.executable, "-m", "benchmarks.pipeline_run", "--out", str(steps)],
        env,
        logs / f"{name}.log",
    )
    inner = json.loads(steps.read_text())
    if not inner["success"]:
        raise RuntimeError(f"the pipeline run failed: see {logs / name}.log")
    return {**inner, "seconds": outer["seconds"], "peak_rss_mb": outer["peak_rss_mb"]}


def pipeline_results(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The pipeline's rows, OV07 per register contract and SC01 (spend, all categories)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.sql(
            "select 'spend' as table, count(*) as rows from staging.spend union all "
            "select 'contracts', count(*) from staging.contracts where record_type = 'register'"
        ).df()
        ov07 = con.sql(
            "select o.buyer_name, coalesce(o.contract_ref, o.title) as contract, "
            "count(*) as payments, sum(e.amount)::double as paid_after "
            "from marts.contract_oversight o join marts.expired_payments e using (contract_id) "
            "where o.record_type = 'register' group by all"
        ).df()
        sc01 = con.sql(
            "select buyer, cast(left(financial_year, 4) as integer) as fy, hhi "
            "from marts.supplier_concentration where basis = 'spend' and category = 'all'"
        ).df()
    finally:
        con.close()
    ov07.insert(0, "buyer_key", buyer_key(ov07.pop("buyer_name")))
    sc01.insert(0, "buyer_key", buyer_key(sc01.pop("buyer")))
    return {"rows": rows, "ov07": ov07, "sc01": sc01}


def compare(warehouse: Path, baseline: Path) -> dict:
    """Does the baseline give the pipeline's results? Differences are listed."""
    ours = pipeline_results(warehouse)
    keys = {"rows": ["table"], "ov07": ["buyer_key", "contract"], "sc01": ["buyer_key", "fy"]}
    out: dict[str, object] = {}
    for name, key in keys.items():
        theirs = pd.read_csv(baseline / f"{name}.csv")
        both = ours[name].merge(theirs, on=key, how="outer", suffixes=("", "_pandas"))
        value_cols = [c for c in ours[name].columns if c not in key]
        diff = pd.Series(False, index=both.index)
        for c in value_cols:
            a, b = both[c].astype(float), both[f"{c}_pandas"].astype(float)
            tolerance = 0.051 if c == "hhi" else 0.005  # HHI is rounded to 0.1 by both
            diff |= a.isna() | b.isna() | ((a - b).abs() > tolerance)
        out[name] = {
            "pipeline": len(ours[name]),
            "pandas": len(theirs),
            "different": int(diff.sum()),
            "examples": both[diff].head(5).astype(str).to_dict("records"),
        }
    out["equal"] = all(v["different"] == 0 for v in out.values() if isinstance(v, dict))
    return out


def run_floor(raw: Path, warehouse: Path, env: dict[str, str], logs: Path, name: str,
              limit_mb: float | None = None) -> dict:  # fmt: skip
    """The floor in its own process, both ways; `seconds` is the dialect-given read (the
    one ratios use), `sniffed_seconds` DuckDB sniffing each file. Its rows are checked
    against the files' own count (`benchmarks.floor` raises when they differ)."""
    figures = logs / f"{name}.json"
    cmd = [sys.executable, "-m", "benchmarks.floor", str(raw), "--warehouse", str(warehouse)]
    outer = measure([*cmd, "--out", str(figures)], env, logs / f"{name}.log", limit_mb)
    if "killed_at_mb" in outer:
        return outer
    inner = json.loads(figures.read_text())
    return {
        "seconds": inner["given"]["seconds"],
        "sniffed_seconds": inner["sniffed"]["seconds"],
        "rows": inner["given"]["rows"],
        "true_rows": inner["true_rows"],
        "files": inner["files"],
        "transcoded": inner["transcoded"],
        "prepare_seconds": inner["prepare_seconds"],
        "process_seconds": outer["seconds"],
        "peak_rss_mb": outer["peak_rss_mb"],
    }


def bench_scale(scale: float, work: Path, baseline_loop_max: float, loop_budget: float) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OVERSIGHT_", "DAGSTER"))}
    folder = work / f"scale-{scale:g}"
    raw, logs = folder / "raw", folder / "logs"
    result: dict[str, object] = {"scale": scale}
    log(f"scale {scale:g}: generating the sample")
    logs.mkdir(parents=True, exist_ok=True)
    result["generate"] = generate(scale, raw, base, logs)
    as_of = str(yaml.safe_load((raw / "planted.yaml").read_text())["as_of"])

    held_dir = folder / "held-back"
    shutil.rmtree(held_dir, ignore_errors=True)
    held = newest_months(raw)
    for path in held:
        target = held_dir / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    try:
        warehouse = folder / "warehouse" / "warehouse.duckdb"
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        env = pipeline_env(base, raw, warehouse, as_of)
        log(f"scale {scale:g}: the full pipeline (all but the newest month)")
        result["pipeline"] = run_pipeline(env, logs, "pipeline")
        # After the pipeline: the floor takes each file's dialect from its raw.files.
        log(f"scale {scale:g}: the floor (DuckDB reads the files, no transformation)")
        result["floor"] = run_floor(raw, warehouse, base, logs, "floor")
    finally:
        for path in held:  # put the month back, whatever happened
            (held_dir / path.relative_to(raw)).rename(path)
    log(f"scale {scale:g}: incremental run ({len(held)} new monthly files)")
    result["incremental"] = run_pipeline(env, logs, "incremental")
    result["incremental"]["new_files"] = [p.relative_to(raw).as_posix() for p in held]

    for style in ("vectorised", "loop"):
        if style == "loop" and scale > baseline_loop_max:
            result[f"pandas_{style}"] = {"skipped": f"scale above {baseline_loop_max:g}"}
            continue
        log(f"scale {scale:g}: pandas baseline ({style})")
        out = folder / f"pandas-{style}"
        cmd = [sys.executable, "-m", "benchmarks.pandas_baseline", str(raw), "--as-of", as_of]
        cmd += ["--out", str(out), "--style", style]
        if style == "loop":
            cmd += ["--budget", str(loop_budget)]
        measured = measure(cmd, base, logs / f"pandas-{style}.log")
        timing = json.loads((out / "timing.json").read_text())
        measured.update(timing)
        if timing["ov07_share_done"] < 1:  # stopped at its budget: the rest is projected
            measured["projected"] = True
            measured["seconds"] = round(
                measured["seconds"] - timing["ov07_seconds"] + timing["ov07_projected_seconds"], 1
            )
        else:
            measured["matches_pipeline"] = compare(warehouse, out)
        result[f"pandas_{style}"] = measured

    log(f"scale {scale:g}: plain DuckDB script baseline")
    out = folder / "duckdb-script"
    cmd = [sys.executable, "-m", "benchmarks.duckdb_baseline", str(raw), "--as-of", as_of]
    measured = measure([*cmd, "--out", str(out)], base, logs / "duckdb-script.log")
    measured.update(json.loads((out / "timing.json").read_text()), seconds=measured["seconds"])
    measured["matches_pipeline"] = compare(warehouse, out)
    result["duckdb_script"] = measured

    con = duckdb.connect(str(warehouse), read_only=True)
    result["payment_lines"], result["contracts"] = con.execute(
        "select (select count(*) from staging.spend), (select count(*) from staging.contracts)"
    ).fetchone()
    con.close()
    pipeline, floor = result["pipeline"], result["floor"]
    result["ratios"] = {
        "pipeline_vs_floor": round(pipeline["seconds"] / floor["seconds"], 2),
        "pipeline_vs_floor_sniffed": round(pipeline["seconds"] / floor["sniffed_seconds"], 2),
        "speedup_vs_duckdb_script": round(
            result["duckdb_script"]["seconds"] / pipeline["seconds"], 2
        ),
        "incremental_share": round(result["incremental"]["seconds"] / pipeline["seconds"], 3),
        "speedup_vs_pandas_vectorised": round(
            result["pandas_vectorised"]["seconds"] / pipeline["seconds"], 2
        ),
    }
    if "seconds" in result["pandas_loop"]:
        result["ratios"]["speedup_vs_pandas_loop"] = round(
            result["pandas_loop"]["seconds"] / pipeline["seconds"], 2
        )
    log(f"scale {scale:g}: done {json.dumps(result['ratios'])}")
    return result


# ---------- large single files and the nothing-changed run ----------
SAMPLE = ROOT / "data" / "raw"  # the embedded sample: the layouts the large files copy
EXTRA_COLUMNS = ["Department", "Cost Centre", "Narrative"]  # 9 published + 3 = 12 columns


def large_csv(path: Path, megabytes: float) -> dict:
    """One Northmoor spend CSV of about `megabytes` MB: the sample's monthly rows, repeated."""
    files = sorted((SAMPLE / "northmoor" / "spend").glob("*.csv"))
    header = files[0].read_text(encoding="utf-8-sig").splitlines()[0]
    body = [line for f in files for line in f.read_text(encoding="utf-8-sig").splitlines()[1:]]
    block = ("\n".join(body) + "\n").encode()
    target = int(megabytes * 2**20)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write((header + "\n").encode())
        written = 0
        while written < target:
            out.write(block)
            written += len(block)
    return {"megabytes": round(path.stat().st_size / 2**20), "rows": written // len(block)
            * len(body)}  # fmt: skip


def large_workbook(path: Path, rows: int) -> dict:
    """One Ashby spend workbook of `rows` rows x 12 columns over 12 sheets (the sample's
    sheet per month, its rows repeated, three more columns)."""
    import openpyxl
    import python_calamine

    source = python_calamine.CalamineWorkbook.from_path(
        str(SAMPLE / "ashby" / "spend" / "ashby-spend-2025-26.xlsx")
    )
    book = openpyxl.Workbook(write_only=True)
    per_sheet = -(-rows // len(source.sheet_names))
    written = 0
    for name in source.sheet_names:
        head, *body = source.get_sheet_by_name(name).to_python()
        sheet = book.create_sheet(name)
        sheet.append([*head, *EXTRA_COLUMNS])
        for i in range(min(per_sheet, rows - written)):
            row = body[i % len(body)]
            sheet.append([*row, "Place", f"CC{i % 97:03d}", f"line {i}"])
        written += min(per_sheet, rows - written)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return {"megabytes": round(path.stat().st_size / 2**20, 1), "rows": written,
            "sheets": len(source.sheet_names), "columns": 9 + len(EXTRA_COLUMNS)}  # fmt: skip


def bench_large_file(kind: str, size: float, work: Path, base: dict, limit_mb: float) -> dict:
    """The ingest job alone on one large file (everything else in the catalogue empty), with
    its peak memory under a guard, then the floor reading the same file."""
    folder = work / f"large-{kind}-{size:g}"
    raw, logs = folder / "raw", folder / "logs"
    marker = folder / "made.json"
    if kind == "csv":
        path, make = raw / "northmoor" / "spend" / "2026-01.csv", large_csv
    else:
        path, make = raw / "ashby" / "spend" / "ashby-spend-big.xlsx", large_workbook
    wanted = {"size": size, "sample": _sample_hash()}
    if not (marker.exists() and json.loads(marker.read_text())["key"] == wanted and path.exists()):
        shutil.rmtree(raw, ignore_errors=True)
        log(f"large {kind}: writing {size:g} {'MB' if kind == 'csv' else 'rows'}")
        started = time.perf_counter()
        made = make(path, size)
        made["seconds_to_write"] = round(time.perf_counter() - started, 1)
        marker.write_text(json.dumps({"key": wanted, "made": made}))
    result: dict[str, object] = {"kind": kind, "size": size,
                                 **json.loads(marker.read_text())["made"]}  # fmt: skip
    logs.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse" / "warehouse.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    env = pipeline_env(base, raw, warehouse, "2026-09-30")
    log(f"large {kind}: the pipeline's ingest (memory limit {limit_mb:,.0f} MB)")
    steps = logs / "ingest.json"
    cmd = [sys.executable, "-m", "benchmarks.pipeline_run", "--ingest-only", "--out", str(steps)]
    ingest = measure(cmd, env, logs / "ingest.log", limit_mb)
    if "killed_at_mb" not in ingest:
        inner = json.loads(steps.read_text())
        if not inner["success"]:
            raise RuntimeError(f"the ingest of the large {kind} failed: see {logs}/ingest.log")
        con = duckdb.connect(str(warehouse), read_only=True)
        ingest["rows_read"], ingest["rows_loaded"] = con.execute(
            "select sum(rows_read), sum(rows_loaded) from raw.files"
        ).fetchone()
        con.close()
    result["pipeline_ingest"] = ingest
    log(f"large {kind}: the floor")
    result["floor"] = run_floor(raw, warehouse, base, logs, "floor", limit_mb)
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    return result


def _sample_hash() -> str:
    digest = hashlib.sha256()
    for p in sorted(SAMPLE.rglob("*")):
        if p.is_file():
            digest.update(p.name.encode() + p.read_bytes()[:4096])
    return digest.hexdigest()[:12]


def bench_rerun(work: Path, base: dict, limit_mb: float) -> dict:
    """`python -m pipelines.run` (what `make run` runs) on the embedded sample twice, with a
    Dagster home as `make run` has: the second run has nothing new to do."""
    folder = work / "rerun"
    shutil.rmtree(folder, ignore_errors=True)
    logs, home = folder / "logs", folder / "dagster"
    logs.mkdir(parents=True)
    home.mkdir()
    shutil.copy(ROOT / "catalogue" / "dagster.yaml", home / "dagster.yaml")
    shutil.copytree(SAMPLE, folder / "raw")  # a snapshot: data/raw may be regenerated meanwhile
    env = {
        **base,
        "DAGSTER_HOME": str(home),
        "OVERSIGHT_RAW_DIR": str(folder / "raw"),
        "OVERSIGHT_WAREHOUSE": str(folder / "warehouse" / "warehouse.duckdb"),
        "OVERSIGHT_CATALOGUE": str(ROOT / "catalogue" / "sources.yaml"),
    }
    cmd = [sys.executable, "-m", "pipelines.run"]
    log("nothing changed: make run on the embedded sample, twice")
    first = measure(cmd, env, logs / "first.log", limit_mb)
    second = measure(cmd, env, logs / "second.log", limit_mb)
    return {"first": first, "second": second, "target_seconds": 10}


def plot(results: dict, path: Path) -> None:
    """The scaling curve: seconds against payment lines, log-log, one line per measure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = results["scales"]
    if not scales:
        return
    lines = [s["payment_lines"] for s in scales]
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    series = {
        "floor, dialect given": [s["floor"]["seconds"] for s in scales],
        "floor, sniffed": [s["floor"]["sniffed_seconds"] for s in scales],
        "DuckDB script": [s["duckdb_script"]["seconds"] for s in scales],
        "full pipeline": [s["pipeline"]["seconds"] for s in scales],
        "incremental month": [s["incremental"]["seconds"] for s in scales],
        "pandas, vectorised": [s["pandas_vectorised"]["seconds"] for s in scales],
    }
    for label, values in series.items():
        ax.plot(lines, values, marker="o", label=label)
    loop = [(s["payment_lines"], s["pandas_loop"]["seconds"]) for s in scales
            if "seconds" in s["pandas_loop"]]  # fmt: skip
    if loop:
        ax.plot(*zip(*loop, strict=True), marker="o", linestyle="--",
                label="pandas, notebook loop (projected where marked)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("payment lines")
    ax.set_ylabel("seconds (2 cores)")
    ax.set_title("Scaling: sample scales " + ", ".join(f"{s['scale']:g}" for s in scales))
    ax.grid(True, which="both", alpha=0.3)
    # Beside the axes, not over them: the largest scale's points sit in every corner.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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


def targets(results: dict) -> list[dict]:
    """Each target, where it is judged, the measure and whether it is met."""
    scales = results["scales"]
    out: list[dict] = []

    def add(target: str, where: object, measured: object, met: bool) -> None:
        out.append({"target": target, "scale": where, "measured": measured, "met": bool(met)})

    if scales:
        largest = max(scales, key=lambda s: s["scale"])
        judged = [largest] + [s for s in scales if s["scale"] == 1 and s is not largest]
        for s in judged:
            ratio = s["ratios"]["pipeline_vs_floor"]
            add(f"full pipeline within {TARGETS['pipeline_vs_floor']:g}x the floor (dialect "
                "given)", s["scale"], ratio, ratio <= TARGETS["pipeline_vs_floor"])  # fmt: skip
        share = largest["ratios"]["incremental_share"]
        add(f"incremental month within {TARGETS['incremental_share']:.0%} of a full run",
            largest["scale"], share, share <= TARGETS["incremental_share"])  # fmt: skip
        for s in scales:
            peak = max(s["pipeline"]["peak_rss_mb"], s["incremental"]["peak_rss_mb"])
            add(f"peak memory at most {TARGETS['peak_rss_mb']:,} MB", s["scale"], peak,
                peak <= TARGETS["peak_rss_mb"])  # fmt: skip
        for s in judged:
            speedup = s["ratios"]["speedup_vs_pandas_vectorised"]
            add("faster than the vectorised pandas baseline", s["scale"], speedup,
                speedup >= TARGETS["speedup_vs_pandas"])  # fmt: skip
    for big in results.get("large_files", []):
        ingest = big["pipeline_ingest"]
        peak = ingest.get("killed_at_mb", ingest["peak_rss_mb"])
        add(f"peak memory at most {TARGETS['peak_rss_mb']:,} MB ingesting one large file",
            _large_label(big), peak, "killed_at_mb" not in ingest
            and peak <= TARGETS["peak_rss_mb"])  # fmt: skip
    if results.get("rerun"):
        second = results["rerun"]["second"]["seconds"]
        add(f"make run, nothing changed, under {TARGETS['rerun_seconds']:g} s", "sample",
            second, second < TARGETS["rerun_seconds"])  # fmt: skip
    return out


def _large_label(big: dict) -> str:
    if big["kind"] == "csv":
        return f"CSV {big['megabytes']:,} MB"
    return f"workbook {big['rows']:,} rows x {big['columns']} cols, {big['sheets']} sheets"


def markdown(results: dict) -> str:
    rows = [
        "Measured on the synthetic sample (`oversight/sample`, generated at each scale).",
        "",
        "| scale | payment lines | contracts | raw MB | floor s (given / sniffed) | floor rows "
        "= files' rows | pipeline s | x floor | peak MB | incremental s | incr. share |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for s in results["scales"]:
        f = s["floor"]
        rows.append(
            f"| {s['scale']:g} | {s['payment_lines']:,} | {s['contracts']:,} | "
            f"{s['generate']['megabytes']:,} | {f['seconds']:.1f} / {f['sniffed_seconds']:.1f} | "
            f"{f['rows']:,} = {f['true_rows']:,} ({f['transcoded']} transcoded) | "
            f"{s['pipeline']['seconds']:.1f} | {s['ratios']['pipeline_vs_floor']:.1f} | "
            f"{s['pipeline']['peak_rss_mb']:,.0f} | {s['incremental']['seconds']:.1f} | "
            f"{s['ratios']['incremental_share']:.0%} |"
        )
    rows += [
        "",
        "Baselines (rows loaded, OV07 per contract, HHI per buyer and year): seconds, peak MB, "
        "pipeline speed-up (baseline s / pipeline s), rows that differ from the pipeline's",
        "",
        "| scale | pandas vectorised | pandas loop | DuckDB script | x pandas | x DuckDB script "
        "| differences (pandas / DuckDB script) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in results["scales"]:
        loop_run, duck, pv = s["pandas_loop"], s["duckdb_script"], s["pandas_vectorised"]
        loop = (
            f"{loop_run['seconds']:.0f}{' (projected)' if loop_run.get('projected') else ''}"
            if "seconds" in loop_run
            else "skipped"
        )
        rows.append(
            f"| {s['scale']:g} | {pv['seconds']:.1f} ({pv['peak_rss_mb']:,.0f}) | {loop} | "
            f"{duck['seconds']:.1f} ({duck['peak_rss_mb']:,.0f}) | "
            f"{s['ratios']['speedup_vs_pandas_vectorised']:.2f} | "
            f"{s['ratios']['speedup_vs_duckdb_script']:.2f} | "
            f"{_differences(pv['matches_pipeline'])} / {_differences(duck['matches_pipeline'])} |"
        )
    order = [layer for _, layer in LAYERS] + ["other"]
    layers = [k for k in order if any(k in s["pipeline"]["layers"] for s in results["scales"])]
    rows += ["", "Per layer, full run: seconds (peak MB)", ""]
    rows.append("| scale | " + " | ".join(layers) + " | process total |")
    rows.append("|---:|" + "---:|" * (len(layers) + 1))
    for s in results["scales"]:
        cells = []
        for layer in layers:
            v = s["pipeline"]["layers"].get(layer)
            cells.append(f"{v['seconds']:.1f} ({v['peak_rss_mb']:,.0f})" if v else "-")
        rows.append(
            f"| {s['scale']:g} | " + " | ".join(cells) + f" | {s['pipeline']['seconds']:.1f} |"
        )
    if results.get("large_files"):
        rows += [
            "",
            "One large file: the ingest job alone, and the floor reading the same file",
            "",
            "| file | rows | ingest s | ingest peak MB | floor s (given / sniffed) | floor peak MB "
            "|",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for big in results["large_files"]:
            ingest, floor = big["pipeline_ingest"], big["floor"]
            if "killed_at_mb" in ingest:
                time_cell = f"stopped at {ingest['seconds']:.0f}"
                peak = f"> {ingest['limit_mb']:,.0f} (killed)"
            else:
                time_cell, peak = f"{ingest['seconds']:.1f}", f"{ingest['peak_rss_mb']:,.0f}"
            floor_cell = (
                f"{floor['seconds']:.1f} / {floor['sniffed_seconds']:.1f}"
                if "sniffed_seconds" in floor
                else "killed"
            )
            rows.append(
                f"| {_large_label(big)} | {big['rows']:,} | {time_cell} | {peak} | {floor_cell} | "
                f"{floor['peak_rss_mb']:,.0f} |"
            )
    if results.get("rerun"):
        r = results["rerun"]
        rows += [
            "",
            f"`make run` on the embedded sample, nothing changed: {r['second']['seconds']:.1f} s "
            f"(peak {r['second']['peak_rss_mb']:,.0f} MB); the first run, from an empty "
            f"warehouse: {r['first']['seconds']:.1f} s.",
        ]
    rows += ["", "| target | where | measured | met |", "|---|---|---:|---|"]
    for t in results["targets"]:
        where = f"{t['scale']:g}" if isinstance(t["scale"], int | float) else t["scale"]
        rows.append(
            f"| {t['target']} | {where} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        )
    m = results["machine"]
    rows += [
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"DuckDB {m['duckdb']}, pandas {m['pandas']}. {results['when']}; load average "
        f"{m.get('load_before', '?')} before, {m.get('load_after', '?')} after (above "
        f"{m['cpus']}: other jobs were running, and the times are the slower for it).",
    ]
    return "\n".join(rows) + "\n"


def _differences(same: dict) -> str:
    if same["equal"]:
        return "none"
    parts = [f"{k} {v['different']}" for k, v in same.items() if isinstance(v, dict) and
             v["different"]]  # fmt: skip
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="*", default=[0.1, 1, 10])
    parser.add_argument(
        "--work", type=Path, default=ROOT / "data" / "bench", help="generated data, warehouses"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--baseline-loop-max",
        type=float,
        default=1,
        help="largest scale the notebook-style (loop) pandas baseline runs at (it is slow)",
    )
    parser.add_argument(
        "--loop-budget",
        type=float,
        default=300,
        help="seconds the notebook-style baseline's OV07 loop may run before its time is "
        "projected from the share of contracts done",
    )
    parser.add_argument(
        "--merge", action="store_true", help="keep other scales already in <out>/results.json"
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="only rewrite results.md and the chart from <out>/results.json",
    )
    parser.add_argument("--scales-only", action="store_true", help="no large files, no rerun")
    parser.add_argument(
        "--large-only",
        choices=["csv", "workbook"],
        help="only this large-file case, merged into <out>/results.json (no scales, no rerun)",
    )
    parser.add_argument(
        "--large-csv-mb",
        type=float,
        default=300,
        help="size of the one-large-CSV case (the issue's target is 1024; the pipeline held a "
        "CSV at about 20x its size, so 1 GB may not fit: the memory limit stops it)",
    )
    parser.add_argument(
        "--large-workbook-rows", type=int, default=1_000_000, help="rows of the workbook case"
    )
    parser.add_argument(
        "--memory-limit-mb",
        type=float,
        default=12_000,
        help="a large-file or rerun process is killed past this resident memory",
    )
    args = parser.parse_args(argv)
    previous = args.out / "results.json"
    old = json.loads(previous.read_text()) if previous.exists() else {}
    if args.report:
        results = old
        results["targets"] = targets(results)
        previous.write_text(json.dumps(results, indent=1, default=str))
        (args.out / "results.md").write_text(markdown(results))
        plot(results, args.out / "scaling.png")
        print(markdown(results))
        return 0
    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "scales": old.get("scales", []) if args.merge else [],
    }
    if args.merge:
        results.update({k: old[k] for k in ("large_files", "rerun") if k in old})

    def save() -> None:
        results["machine"]["load_after"] = round(os.getloadavg()[0], 2)
        results["targets"] = targets(results)
        (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        (args.out / "results.md").write_text(markdown(results))
        plot(results, args.out / "scaling.png")

    args.out.mkdir(parents=True, exist_ok=True)
    if args.large_only:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OVERSIGHT_", "DAGSTER"))}
        size = args.large_csv_mb if args.large_only == "csv" else args.large_workbook_rows
        done = bench_large_file(args.large_only, size, args.work, base, args.memory_limit_mb)
        results.update({k: old[k] for k in ("scales", "large_files", "rerun") if k in old})
        results["large_files"] = [
            b for b in results.get("large_files", []) if b["kind"] != args.large_only
        ] + [done]
        save()
        print(markdown(results))
        return 0
    for scale in args.scales:
        done = bench_scale(scale, args.work, args.baseline_loop_max, args.loop_budget)
        results["scales"] = sorted(
            [s for s in results["scales"] if s["scale"] != scale] + [done],
            key=lambda s: s["scale"],
        )
        save()
    if not args.scales_only:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OVERSIGHT_", "DAGSTER"))}
        results["large_files"] = [
            bench_large_file("csv", args.large_csv_mb, args.work, base, args.memory_limit_mb),
            bench_large_file(
                "workbook", args.large_workbook_rows, args.work, base, args.memory_limit_mb
            ),
        ]
        save()
        results["rerun"] = bench_rerun(args.work, base, args.memory_limit_mb)
        save()
    print(markdown(results))
    print(f"Results: {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
