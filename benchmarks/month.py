"""The incremental month alone, run more than once: what a new month costs against a full
run, and how much that figure moves between runs of the same code.

On a sample folder (`make bench` leaves one per scale under its work folder, `scale-10/raw`;
any raw folder in the catalogue's layout will do): the newest month of each monthly spend
source is held back, the full pipeline runs on a new warehouse, the warehouse is copied, the
month is put back (whatever happened), and the pipeline runs `--repeat` times, each from a
fresh copy of that warehouse: the same month from the same start. Each run is measured by
`benchmarks.pipeline_run` (wall time and peak memory per step and layer), in its own
process. Results: `<work>/month.json`, and one line per run on stdout.

    python -m benchmarks.month --raw /tmp/bench/scale-10/raw --work /tmp/month --repeat 2

At scale 10 (synthetic sample, 2 cores) the full run takes about 11 minutes and each month
about 2; the warehouse and its copy take about 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import yaml

from benchmarks.bench import pipeline_env, run_pipeline
from benchmarks.inputs import months_held_back, newest_months
from benchmarks.process import log


def _as_of(raw: Path) -> str:
    """The sample's as-of date (its planted.yaml), else today's: the date the runs judge."""
    planted = raw / "planted.yaml"
    if planted.exists():
        return str(yaml.safe_load(planted.read_text())["as_of"])
    return date.today().isoformat()


def run_months(raw: Path, work: Path, repeat: int) -> dict:
    """The full run without the newest months, then the month `repeat` times from a copy of
    its warehouse; each run's measures, and the month's share of the full run."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OVERSIGHT_", "DAGSTER"))}
    logs = work / "logs"
    warehouse, after_full = work / "warehouse" / "warehouse.duckdb", work / "after-full"
    for folder in (warehouse.parent, after_full):
        shutil.rmtree(folder, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    env = pipeline_env(base, raw, warehouse, _as_of(raw))
    if not newest_months(raw):
        raise ValueError(f"no monthly source in {raw} has more than one month to hold back")
    with months_held_back(raw, work / "held-back") as held:
        log(f"the full run, {len(held)} newest monthly files held back")
        full = run_pipeline(env, logs, "full")
    shutil.copytree(warehouse.parent, after_full)
    months = []
    for n in range(1, repeat + 1):
        shutil.rmtree(warehouse.parent)
        shutil.copytree(after_full, warehouse.parent)
        log(f"the month, run {n} of {repeat}, from the full run's warehouse")
        months.append(run_pipeline(env, logs, f"month-{n}"))
    return {
        "raw": str(raw),
        "new_files": [p.relative_to(raw).as_posix() for p in held],
        "full": full,
        "months": months,
        "month_share": [round(m["seconds"] / full["seconds"], 4) for m in months],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="the sample's raw folder")
    parser.add_argument("--work", type=Path, required=True, help="warehouses, logs, results")
    parser.add_argument("--repeat", type=int, default=2, help="how many times the month runs")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        result = run_months(args.raw.resolve(), args.work.resolve(), args.repeat)
    except ValueError as error:
        print(f"benchmarks.month: {error}", file=sys.stderr)
        return 2
    (args.work / "month.json").write_text(json.dumps(result, indent=2, default=str))
    full = result["full"]
    print(f"full run: {full['seconds']:.1f} s, peak {full['peak_rss_mb']:,.0f} MB")
    runs = zip(result["months"], result["month_share"], strict=True)
    for n, (month, share) in enumerate(runs, 1):
        print(
            f"month, run {n}: {month['seconds']:.1f} s ({share:.1%} of the full run), "
            f"peak {month['peak_rss_mb']:,.0f} MB"
        )
    print(f"results: {args.work / 'month.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
