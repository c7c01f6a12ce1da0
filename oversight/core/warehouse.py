"""The DuckDB warehouse: opening it safely and creating its tables.

DuckDB lets one process write a database file at a time. A writer that finds the file locked
waits (up to `settings.lock_timeout_seconds()`) and then fails with a message naming the process
that holds it. Changes are made in transactions, so a run killed half-way leaves the tables as
the last commit left them. Folders written beside it (the GX context and its Data Docs, a whole
`make run`) are guarded the same way by `file_lock`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb
import filelock
import pyarrow as pa

from oversight.core import settings
from oversight.core.schema import TABLE_COLUMNS

log = logging.getLogger(__name__)
T = TypeVar("T")

SQL_TYPES = {
    "text": "varchar",
    "date": "date",
    "money": "decimal(18, 2)",
    "number": "double",
    "flag": "boolean",
    "company_number": "varchar",
    "charity_number": "varchar",
    "integer": "integer",
    "timestamp": "timestamp",
    "text_list": "varchar[]",
}

RAW_FILES_DDL = """
create table if not exists raw.files (
    source_id varchar not null,
    file_path varchar not null,
    sha256 varchar,
    config_hash varchar,
    size_bytes bigint,
    format varchar,
    encoding varchar,
    delimiter varchar,
    parts integer,
    header_rows varchar,
    rows_read bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_quarantined bigint not null default 0,
    blank_rows bigint not null default 0,
    status varchar not null,
    error varchar,
    warnings varchar,
    unmapped_columns varchar,
    ingested_at timestamp
)"""

# The catalogue's options for each source, as of its last ingest: what the layers after
# staging need to know about a source (whether its files are snapshots of one register).
RAW_SOURCES_DDL = """
create table if not exists raw.sources (
    source_id varchar primary key,
    publisher varchar,
    kind varchar,
    snapshots boolean not null default false,
    multi_buyer boolean not null default false,
    period_from_name varchar
)"""

# Each file's sha256 as it was last computed, with the file's size, times and inode then: a
# file whose stat is the same is not read again only to be hashed (git and rsync judge a file
# unchanged the same way). A cache: it can be emptied at any time, and files are hashed again.
FILE_HASHES_DDL = """
create table if not exists raw.file_hashes (
    source_id varchar not null,
    file_path varchar not null,
    stat varchar not null,
    sha256 varchar not null,
    primary key (source_id, file_path)
)"""

QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    source_id varchar not null,
    file_path varchar not null,
    file_sha256 varchar not null,
    part varchar,
    row_number integer,
    raw_text varchar,
    reason varchar not null
)"""


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse's write lock."""


@contextmanager
def file_lock(path: Path, what: str, timeout: float | None = None) -> Iterator[None]:
    """`with file_lock(folder / ".lock", "the GX folder"):` one process at a time, across
    processes (an OS lock on `path`, released if the process dies). Others wait up to the
    warehouse's lock timeout, saying so once, then fail with WarehouseBusy."""
    timeout = settings.lock_timeout_seconds() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        log.warning("%s is in use by another process; waiting up to %.0fs", what, timeout)
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout as exc:
            raise WarehouseBusy(
                f"{what} was still in use by another process after {timeout:.0f}s (lock file "
                f"{path}). Wait for that run to finish (or stop it), then try again."
            ) from exc
    try:
        yield
    finally:
        lock.release()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and tables this layer owns, and add any column a newer version of
    the project expects (additive changes only: nothing is dropped or retyped)."""
    for schema in ("raw", "staging"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(RAW_FILES_DDL)
    con.execute(RAW_SOURCES_DDL)
    con.execute("alter table raw.sources add column if not exists period_from_name varchar")
    con.execute(QUARANTINE_DDL)
    con.execute(FILE_HASHES_DDL)
    for table, columns in TABLE_COLUMNS.items():
        body = ",\n".join(f"    {c.name} {SQL_TYPES[c.type]}" for c in columns)
        con.execute(f"create table if not exists {table} (\n{body}\n)")
        for c in columns:
            con.execute(
                f"alter table {table} add column if not exists {c.name} {SQL_TYPES[c.type]}"
            )


def has_tables(con: duckdb.DuckDBPyConnection, schema: str, tables: list[str]) -> bool:
    """Whether every one of `tables` exists in `schema`, asked of the catalogue: a query on a
    missing table would fail, and a failing query aborts the caller's transaction."""
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? "
        "and table_name in (select unnest(?::varchar[]))",
        [schema, tables],
    ).fetchall()[0][0]
    return found == len(tables)


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(resources.files("oversight.core").joinpath("macros.sql").read_text("utf-8"))


def connect(
    path: Path | str | None = None, *, read_only: bool = False, timeout: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers wait for a lock held by another process, then give up with
    a WarehouseBusy error that says who holds it."""
    path = Path(path) if path else settings.warehouse_path()
    timeout = settings.lock_timeout_seconds() if timeout is None else timeout
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `make run` first")
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is being written by another process and was not "
                    f"released within {timeout:.0f}s. Wait for that run to finish (or stop it), "
                    f"then try again. DuckDB said: {exc}"
                ) from exc
            if delay == 0.2:  # say it once, not at every retry
                log.warning(
                    "warehouse %s is locked by another process; waiting up to %.0fs",
                    path,
                    timeout,
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    con.execute("set memory_limit = ?", [settings.duckdb_memory_limit()])
    # Hand memory DuckDB freed back to the system in the background, not when a later query
    # happens to flush it: without this, the memory a finished query used stays with the
    # process (the supplier mentions' aggregate at scale 10: 961 MB resident two seconds
    # after the query with 402 MB in use; 583 MB with it), and every later step starts higher.
    con.execute("set allocator_background_threads = true")
    if not read_only:
        # Checkpoint (rewrite the tables from the write-ahead log) every 256 MB of changes, not
        # every 16 MB: an ingest commits once per file, and checkpointing after most of them
        # cost a sixth of the ingest time. A clean close still checkpoints. Measured on the
        # scale-1 synthetic sample, ingest job (2026-11-26, loaded machine, so CPU seconds):
        # 1GB 1,088 MB ingest peak, 115 CPU s; 256MB 834 MB, 113 s; DuckDB's default (16 MB)
        # 735 MB, 122 s (+6%). Validation's peak (~1.16 GB) was the same under all three.
        con.execute("set checkpoint_threshold = '256MB'")
    load_macros(con)
    return con


def atomic_retrying(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """`work()` in one transaction, as `atomic`; if DuckDB runs out of its memory limit, run
    again on one thread. Some of DuckDB's operators (window partitions, the sort of a wide
    result) hold memory per thread that they cannot spill, and at the limit whether a large
    step fits depends on how its threads happened to overlap: the links step at scale 10
    failed in one pipeline run of three with 953 MB of 954 MB in use. On one thread it needs
    less and takes longer; the retry is logged."""
    try:
        with atomic(con):
            return work()
    except duckdb.OutOfMemoryException as exc:
        threads = con.execute("select current_setting('threads')").fetchall()[0][0]
        log.warning("DuckDB ran out of memory (%s); running the step again on one thread", exc)
        con.execute("set threads = 1")
        try:
            with atomic(con):
                return work()
        finally:
            con.execute(f"set threads = {int(threads)}")


@contextmanager
def lend_memory(con: duckdb.DuckDBPyConnection, limit: str = "64MB") -> Iterator[None]:
    """`with lend_memory(con):` while Python holds a lot (entity resolution's mentions),
    DuckDB keeps at most `limit` in memory: its cached pages are dropped (temp tables go to
    its temp directory) and come back when read. At scale 10 a 400 MB temp table took
    resident memory 587 -> 234 MB; reading it back took 0.02 s."""
    try:
        con.execute("set memory_limit = ?", [limit])
    except duckdb.Error as exc:  # pages it cannot drop: carry on with the usual limit
        log.info("DuckDB could not give back its memory (%s); carrying on", exc)
    try:
        yield
    finally:
        con.execute("set memory_limit = ?", [settings.duckdb_memory_limit()])


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """`with atomic(con):` one transaction: committed at the end, rolled back on any error
    (a killed process loses only the uncommitted work)."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


@contextmanager
def open_warehouse(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    timeout: float | None = None,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`with open_warehouse() as con:` a connection with the schema in place, closed after;
    DuckDB may use `memory_limit` (default `settings.duckdb_memory_limit()`)."""
    con = connect(path, read_only=read_only, timeout=timeout)
    if memory_limit:
        con.execute("set memory_limit = ?", [memory_limit])
    try:
        if not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()
        # Arrow's memory pool (mimalloc; pandas' strings and the frames DuckDB returns live
        # there) keeps what it freed for reuse: hand it back when a step is done with the
        # warehouse. After the ingest job at scale 10: 741 -> 598 MB resident.
        pa.default_memory_pool().release_unused()


# Columns that differ between two runs over the same files by design: when a file was read or
# validated, the generated id of a group of files validated together, and the links builds'
# numbering (how many builds ran, and the random id of the latest full one's change log), and
# the random id written with each build of the concentration values.
# Every other column, timestamps of the data included (`raw.releases.release_date`), is
# compared.
RUN_SPECIFIC_COLUMNS = {
    "raw.files.ingested_at",
    "quality.validation_units.unit",
    "quality.validation_units.ingested_at",
    "quality.unit_outcomes.unit",
    "quality.unit_outcomes.validated_at",
    "quality.rule_files.ingested_at",
    "marts.publisher_quality.last_ingested_at",
    "links.link_build.build",
    "links.link_build.epoch",
    "links.link_build.log_from",
    "links.spend_contract_changes.build",
    "marts.concentration_build.links_epoch",
    "marts.concentration_build.links_build",
    "marts.concentration_build.token",
    "marts.shares_build.values_token",
}
# Tables left out whole: the hashes cached with the files' stat (inodes and times, and which
# files were old enough to be cached, differ from one copy of the files to another).
RUN_SPECIFIC_TABLES = {"raw.file_hashes"}


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Every table's (row count, order-independent hash of its rows), leaving out
    `RUN_SPECIFIC_COLUMNS` and `RUN_SPECIFIC_TABLES`: two warehouses built from the same
    files, catalogue and code have equal fingerprints (`raw.files.config_hash` and
    `entities.supplier_build.code` hash the code that wrote them, so they differ across code
    changes). Used to compare a re-run after a crash with a clean build, and a warehouse
    before and after a refactoring."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() order by 1, 2"
    ).fetchall()
    result = {}
    for schema, table in tables:
        if f"{schema}.{table}" in RUN_SPECIFIC_TABLES:
            continue
        columns = [
            f'"{name}"'
            for name, kind, *_ in con.execute(f'describe "{schema}"."{table}"').fetchall()
            if f"{schema}.{table}.{name}" not in RUN_SPECIFIC_COLUMNS
        ]
        row = f"row({', '.join(columns)})" if columns else "1"
        count, digest = con.execute(
            f'select count(*), coalesce(sum(hash({row})::hugeint), 0) from "{schema}"."{table}"'
        ).fetchone()
        result[f"{schema}.{table}"] = (count, int(digest))
    return result
