"""Where things live. Every path can be changed with an environment variable (see README)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

WAREHOUSE_ENV = "OVERSIGHT_WAREHOUSE"
CATALOGUE_ENV = "OVERSIGHT_CATALOGUE"
RAW_DIR_ENV = "OVERSIGHT_RAW_DIR"
LOCK_TIMEOUT_ENV = "OVERSIGHT_LOCK_TIMEOUT"
GX_DIR_ENV = "OVERSIGHT_GX_DIR"
MEMORY_ENV = "OVERSIGHT_DUCKDB_MEMORY"
STREAMING_MEMORY_ENV = "OVERSIGHT_DUCKDB_STREAMING_MEMORY"


def warehouse_path() -> Path:
    """The DuckDB warehouse file (default `data/warehouse.duckdb`)."""
    return Path(os.environ.get(WAREHOUSE_ENV, PROJECT_ROOT / "data" / "warehouse.duckdb"))


def catalogue_path() -> Path:
    """The source catalogue YAML (default `catalogue/sources.yaml`)."""
    return Path(os.environ.get(CATALOGUE_ENV, PROJECT_ROOT / "catalogue" / "sources.yaml"))


def raw_dir_override() -> Path | None:
    """A raw-file root that overrides the catalogue's own `raw_dir`, when set."""
    value = os.environ.get(RAW_DIR_ENV)
    return Path(value) if value else None


def lock_timeout_seconds() -> float:
    """How long a writer waits for another process to release the warehouse (default 600 s)."""
    return float(os.environ.get(LOCK_TIMEOUT_ENV, "600"))


def duckdb_memory_limit() -> str:
    """How much memory DuckDB may use before it spills to disk (default 1GB): keeps a run's
    peak memory flat however large the input (the benchmark measures it). With the Python
    side of a run (Dagster, GX, pandas: 300-800 MB), 1.5GB took the links step to 2.1 GB at
    scale 1; 1GB: links alone 1,635 -> 1,325 MB peak for 6.7 -> 7.8 s. 768MB at scale 10:
    the run's peak 2,345 -> 2,299 MB (validation's pandas batches do not shrink with it)
    and links ran out of memory and went again on one thread (68.7 -> 171.8 s)."""
    return os.environ.get(MEMORY_ENV, "1GB")


def duckdb_streaming_memory_limit() -> str:
    """DuckDB's memory in the steps that stream rows through it, ingest and validation
    (default 512MB): they write or read a file's rows in bounded chunks, so DuckDB's memory is
    a cache of pages there, not room to join. Scale 10, ingest job (ingest and validation,
    each in a process of its own): 1GB peaked at 2,009 MB in 272 s, 512MB at 1,672 MB in
    269 s."""
    return os.environ.get(STREAMING_MEMORY_ENV, "512MB")


def gx_dir(warehouse: Path | str | None = None) -> Path:
    """Great Expectations' folder (validation results, Data Docs): `gx/` beside the warehouse."""
    value = os.environ.get(GX_DIR_ENV)
    return Path(value) if value else Path(warehouse or warehouse_path()).parent / "gx"


def outputs_dir(warehouse: Path | str | None = None) -> Path:
    """Charts and exports: `outputs/` beside the warehouse."""
    return Path(warehouse or warehouse_path()).parent / "outputs"
