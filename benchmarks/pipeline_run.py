"""Run the whole pipeline once, as `make run` does, and write where its time and memory went.

    python -m benchmarks.pipeline_run --out steps.json

The catalogue, raw folder and warehouse come from the usual environment variables. The
run is the real one (`pipelines.run.materialise_all`: the ingest job over every source
partition, then the derive job); a thread samples the resident memory of this process and
the processes it starts (steps run in processes of their own) every 50 ms, and each
Dagster step's start and end (from the run's event log) turn the samples into a peak per
step. Steps are grouped into layers.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from pathlib import Path

import dagster as dg
import psutil

from benchmarks.process import tree_rss_mb

LAYERS = (  # step-key prefix -> layer, in pipeline order
    ("ingest_sources", "ingest"),
    ("validate_", "expectations"),
    ("staging__", "staging"),
    ("entities__", "entities"),
    ("links__", "links"),
    ("marts__", "marts"),
    ("outputs__", "outputs"),
)


_ME = psutil.Process()


def layer_of(step_key: str) -> str:
    return next((layer for prefix, layer in LAYERS if step_key.startswith(prefix)), "other")


def _rss_mb() -> float:
    """Resident memory of this process and the steps it runs in processes of their own
    (`oversight.core.isolate`), summed."""
    return tree_rss_mb(_ME)[1]


class MemorySampler(threading.Thread):
    """Samples resident memory (MB) with timestamps until stopped."""

    def __init__(self, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.time(), _rss_mb()))
            time.sleep(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        inside = [mb for t, mb in self.samples if start <= t <= end]
        return max(inside, default=0.0)


def step_times(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """(step, start, end, status) from the run's event log."""
    starts: dict[str, float] = {}
    steps = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
            steps.append(
                {
                    "step": entry.step_key,
                    "start": starts[entry.step_key],
                    "end": entry.timestamp,
                    "status": "success" if kind == "STEP_SUCCESS" else "failure",
                }
            )
    return steps


def ingest_only(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The first half of `materialise_all`: the ingest job over every source partition."""
    from pipelines.automation import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )
    from pipelines.definitions import INGEST_JOB
    from pipelines.recovery import process_tags

    keys = [s.id for s in defs.resources["catalogue"].load().sources]
    return defs.resolve_job_def(INGEST_JOB).execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: keys[0],
            ASSET_PARTITION_RANGE_END_TAG: keys[-1],
            **process_tags(),
        },
        raise_on_error=False,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--ingest-only", action="store_true", help="only the ingest job (the large-file cases)"
    )
    args = parser.parse_args(argv)

    sampler = MemorySampler()
    sampler.start()
    began = time.time()
    from pipelines.definitions import build_defs  # imports counted: they are part of a run
    from pipelines.run import materialise_all

    defs = build_defs()
    instance = dg.DagsterInstance.ephemeral()
    if args.ingest_only:
        results = [ingest_only(defs, instance)]
    else:
        results = materialise_all(defs, instance, log_level="WARNING")
    ended = time.time()
    sampler.stop()

    steps = [s for r in results for s in step_times(instance, r.run_id)]
    layers: dict[str, dict] = {}
    for s in steps:
        s["seconds"] = round(s["end"] - s["start"], 2)
        s["peak_rss_mb"] = round(sampler.peak(s["start"], s["end"]), 1)
        layer = layers.setdefault(
            layer_of(s["step"]), {"seconds": 0.0, "peak_rss_mb": 0.0, "steps": []}
        )
        layer["seconds"] = round(layer["seconds"] + s["seconds"], 2)
        layer["peak_rss_mb"] = max(layer["peak_rss_mb"], s["peak_rss_mb"])
        layer["steps"].append(s["step"])
    failed = [f"{e.asset_key.to_user_string()}: {e.check_name}" for r in results
              for e in r.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]  # fmt: skip
    out = {
        "success": all(r.success for r in results) and len(results) == 2 - args.ingest_only,
        "seconds": round(ended - began, 2),
        "steps_seconds": round(sum(s["seconds"] for s in steps), 2),
        # the sampled peak of the process tree; this process's own peak as the kernel saw it
        "peak_rss_mb": round(
            max(
                max((mb for _, mb in sampler.samples), default=0.0),
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            ),
            1,
        ),
        "layers": layers,
        "steps": {s["step"]: [s["seconds"], s["peak_rss_mb"]] for s in steps},
        "blocking_failures": failed,
    }
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
