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
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from benchmarks.pandas_baseline import buyer_key
from benchmarks.pipeline_run import LAYERS
from oversight import settings

ROOT = settings.PROJECT_ROOT
MONTHLY = re.compile(r"\d{4}-\d{2}\.csv")
TARGETS = {
    "pipeline_vs_floor": 3.0,  # at the largest scale
    "incremental_share": 0.10,
    "peak_rss_mb": 4096,
    "speedup_vs_pandas": 10.0,  # at scale 1
}


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def measure(cmd: list[str], env: dict[str, str], log_file: Path) -> dict:
    """Run a command in its own process: wall seconds, peak RSS (MB), exit code."""
    start = time.perf_counter()
    with log_file.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    result = {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": code,
    }
    if code != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}); end of {log_file}:\n{tail}")
    return result


def _generator_hash() -> str:
    return hashlib.sha256((ROOT / "oversight/sample/generator.py").read_bytes()).hexdigest()[:12]


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
        log(f"scale {scale:g}: the floor (DuckDB reads the files, no transformation)")
        result["floor"] = measure(
            [sys.executable, "-m", "benchmarks.floor", str(raw)], base, logs / "floor.log"
        )
        result["floor"]["rows"] = int((logs / "floor.log").read_text().split()[-1])

        warehouse = folder / "warehouse" / "warehouse.duckdb"
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        env = pipeline_env(base, raw, warehouse, as_of)
        log(f"scale {scale:g}: the full pipeline (all but the newest month)")
        result["pipeline"] = run_pipeline(env, logs, "pipeline")
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

    con = duckdb.connect(str(warehouse), read_only=True)
    result["payment_lines"], result["contracts"] = con.execute(
        "select (select count(*) from staging.spend), (select count(*) from staging.contracts)"
    ).fetchone()
    con.close()
    pipeline, floor = result["pipeline"], result["floor"]
    result["ratios"] = {
        "pipeline_vs_floor": round(pipeline["seconds"] / floor["seconds"], 2),
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


def plot(results: dict, path: Path) -> None:
    """The scaling curve: seconds against payment lines, log-log, one line per measure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = results["scales"]
    lines = [s["payment_lines"] for s in scales]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = {
        "floor (DuckDB reads the files)": [s["floor"]["seconds"] for s in scales],
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
    ax.legend(fontsize=8, loc="lower right")
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
    }


def targets(scales: list[dict]) -> list[dict]:
    """Each target, where it is judged, the measure and whether it is met."""
    largest = max(scales, key=lambda s: s["scale"])
    at_one = next((s for s in scales if s["scale"] == 1), None)
    out = [
        {
            "target": f"full pipeline within {TARGETS['pipeline_vs_floor']:g}x the parse floor",
            "scale": largest["scale"],
            "measured": largest["ratios"]["pipeline_vs_floor"],
            "met": largest["ratios"]["pipeline_vs_floor"] <= TARGETS["pipeline_vs_floor"],
        },
        {
            "target": f"incremental month within {TARGETS['incremental_share']:.0%} of a full run",
            "scale": largest["scale"],
            "measured": largest["ratios"]["incremental_share"],
            "met": largest["ratios"]["incremental_share"] <= TARGETS["incremental_share"],
        },
        {
            "target": f"peak memory under {TARGETS['peak_rss_mb']:,} MB",
            "scale": largest["scale"],
            "measured": max(
                largest["pipeline"]["peak_rss_mb"], largest["incremental"]["peak_rss_mb"]
            ),
            "met": max(largest["pipeline"]["peak_rss_mb"], largest["incremental"]["peak_rss_mb"])
            < TARGETS["peak_rss_mb"],
        },
    ]
    if at_one:
        speedup = at_one["ratios"].get("speedup_vs_pandas_loop")
        out.append(
            {
                "target": f"at least {TARGETS['speedup_vs_pandas']:g}x faster than the pandas "
                "baseline (notebook style)",
                "scale": 1,
                "measured": speedup,
                "met": speedup is not None and speedup >= TARGETS["speedup_vs_pandas"],
            }
        )
    return out


def markdown(results: dict) -> str:
    rows = [
        "| scale | payment lines | contracts | raw MB | floor s | pipeline s | x floor | "
        "peak MB | incremental s | incr. share | pandas s (vectorised / loop) | "
        "pandas = pipeline |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in results["scales"]:
        loop_run = s["pandas_loop"]
        loop = (
            f"{loop_run['seconds']:.0f}{' (projected)' if loop_run.get('projected') else ''}"
            if "seconds" in loop_run
            else "skipped"
        )
        same = s["pandas_vectorised"]["matches_pipeline"]["equal"]
        rows.append(
            f"| {s['scale']:g} | {s['payment_lines']:,} | {s['contracts']:,} | "
            f"{s['generate']['megabytes']:,} | {s['floor']['seconds']:.1f} | "
            f"{s['pipeline']['seconds']:.1f} | {s['ratios']['pipeline_vs_floor']:.1f} | "
            f"{s['pipeline']['peak_rss_mb']:,.0f} | {s['incremental']['seconds']:.1f} | "
            f"{s['ratios']['incremental_share']:.0%} | "
            f"{s['pandas_vectorised']['seconds']:.1f} / {loop} | {'yes' if same else 'NO'} |"
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
    rows += ["", "| target | scale | measured | met |", "|---|---:|---:|---|"]
    for t in results["targets"]:
        rows.append(
            f"| {t['target']} | {t['scale']:g} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        )
    m = results["machine"]
    rows += [
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"DuckDB {m['duckdb']}, pandas {m['pandas']}. {results['when']}.",
    ]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1, 10])
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
    args = parser.parse_args(argv)
    previous = args.out / "results.json"
    if args.report:
        results = json.loads(previous.read_text())
        results["targets"] = targets(results["scales"])
        previous.write_text(json.dumps(results, indent=1, default=str))
        (args.out / "results.md").write_text(markdown(results))
        plot(results, args.out / "scaling.png")
        print(markdown(results))
        return 0
    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "scales": json.loads(previous.read_text())["scales"]
        if args.merge and previous.exists()
        else [],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for scale in args.scales:
        done = bench_scale(scale, args.work, args.baseline_loop_max, args.loop_budget)
        results["scales"] = sorted(
            [s for s in results["scales"] if s["scale"] != scale] + [done],
            key=lambda s: s["scale"],
        )
        results["targets"] = targets(results["scales"])
        (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        (args.out / "results.md").write_text(markdown(results))
        plot(results, args.out / "scaling.png")
    print(markdown(results))
    print(f"Results: {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
