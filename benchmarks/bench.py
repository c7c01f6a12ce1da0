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

This module runs the cases; `benchmarks.inputs` makes what they read (the sample at a scale,
the large files), `benchmarks.process` measures a process, `benchmarks.report` writes the
tables, the targets and the chart.

    python -m benchmarks.bench --scales 0.1 1 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from benchmarks.inputs import (
    SAMPLE,
    _sample_hash,
    generate,
    large_csv,
    large_workbook,
    months_held_back,
)
from benchmarks.pandas_baseline import buyer_key
from benchmarks.process import log, machine, measure
from benchmarks.report import markdown, plot, targets
from oversight.core import settings

ROOT = settings.PROJECT_ROOT


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
    # wait4's peak is the largest single process; the run's own sampler sums the process and
    # the step processes it starts (oversight.core.isolate), which is what the run occupies.
    peak = max(inner["peak_rss_mb"], outer["peak_rss_mb"])
    return {**inner, "seconds": outer["seconds"], "peak_rss_mb": peak}


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

    with months_held_back(raw, folder / "held-back") as held:
        warehouse = folder / "warehouse" / "warehouse.duckdb"
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        env = pipeline_env(base, raw, warehouse, as_of)
        log(f"scale {scale:g}: the full pipeline (all but the newest month)")
        result["pipeline"] = run_pipeline(env, logs, "pipeline")
        # After the pipeline: the floor takes each file's dialect from its raw.files.
        log(f"scale {scale:g}: the floor (DuckDB reads the files, no transformation)")
        result["floor"] = run_floor(raw, warehouse, base, logs, "floor")
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
        ingest["peak_rss_mb"] = max(ingest["peak_rss_mb"], inner["peak_rss_mb"])  # the tree's
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
        "--rerun-only",
        action="store_true",
        help="only the nothing-changed run, merged into <out>/results.json",
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
    # The large files and the rerun set their own OVERSIGHT_ and DAGSTER_ variables.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OVERSIGHT_", "DAGSTER"))}
    if args.rerun_only:
        results.update({k: old[k] for k in ("scales", "large_files") if k in old})
        results["rerun"] = bench_rerun(args.work, base, args.memory_limit_mb)
        save()
        print(markdown(results))
        return 0
    if args.large_only:
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
