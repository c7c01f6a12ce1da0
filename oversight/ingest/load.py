"""Ingest a source's files into the warehouse, one file per transaction.

For each file under the source's folder: hash it (or take the hash recorded when its size,
times and inode were the same: `file_hashes`); skip it when the same bytes were already read
with the same catalogue settings; otherwise read it and replace that file's rows in every table
in one transaction (tabular files: `oversight.ingest.tabular`; OCDS notices:
`oversight.ingest.notices`).
Every row read ends up loaded or in quarantine with its raw text and a reason; a file that
cannot be read at all is recorded in `raw.files` with its error, and the other files load.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from oversight.core import ledger, settings
from oversight.core.catalogue import Catalogue, Source, load_catalogue
from oversight.core.source_files import discover_files, recorded_path
from oversight.core.warehouse import atomic, open_warehouse
from oversight.ingest.notices import compile_ocids, load_ocds_file
from oversight.ingest.readers import FileError
from oversight.ingest.tabular import ParsedFile, drop_pending, load_file, parse_file

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class SourceSummary:
    """What one ingest of a source did, and the totals now in the warehouse for it."""

    source_id: str
    kind: str
    files: int = 0
    parsed: int = 0
    unchanged: int = 0
    failed: int = 0
    removed: int = 0
    duplicates: int = 0
    recorded: int = 0  # files newly recorded as failed or duplicate (no rows) by this ingest
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether this ingest changed the warehouse (a file read, recorded or removed)."""
        return bool(self.parsed or self.recorded or self.removed)


def _shown(rel: str) -> str:
    """A path as it can be stored and printed: bytes that are not UTF-8 (Python keeps them as
    surrogates) written as `\\xe9`."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def outside_reason(catalogue: Catalogue, source: Source, path: Path) -> str | None:
    """Why a file found for the source must not be read, or None: it is (or its folder is) a
    link that leads out of the raw folder (out of the source's own folder when the catalogue
    allows that folder to be outside)."""
    root = catalogue.raw_dir / source.folder if source.outside_raw_dir else catalogue.raw_dir
    target = path.resolve()
    if target.is_relative_to(root.resolve()):
        return None
    return (
        f"a link to a file outside the raw folder ({root}); not followed. Copy the file "
        "into the folder to read it"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A file modified less than this long ago is hashed again on every run until it is older: a
# write in the same tick of the file system's clock as the stat would leave its stat unchanged.
SETTLED_NS = 2_000_000_000


def _stat(path: Path) -> tuple[str, int]:
    """The file's size, modification and change times and inode, as one text; and its age."""
    st = path.stat()
    age = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}", age


def file_hashes(
    con: duckdb.DuckDBPyConnection,
    source_id: str,
    files: list[tuple[str, Path]],
    force: bool = False,
) -> list[str]:
    """The sha256 of each of a source's files (recorded path, file on disk). A file whose
    size, modification and change times and inode are those it had when it was last hashed
    (`raw.file_hashes`) keeps that hash without being read: at national scale, hashing every
    file again took seconds a night (2.5 GB of spend, scale 10), and grows with the years kept.
    A file rewritten in place changes its change time (which `touch` and `cp -p` cannot set
    back), so it is hashed again. `force` hashes every file."""
    stored = dict(
        con.execute(
            "select file_path, (stat, sha256) from raw.file_hashes where source_id = ?",
            [source_id],
        ).fetchall()
    )
    hashes: list[str] = []
    fresh: dict[str, tuple[str, str]] = {}  # by path: two names shown alike keep one row
    for rel, path in files:
        stat, age = _stat(path)  # before reading: a write while hashing changes it
        kept = stored.get(rel)
        if kept and kept[0] == stat and not force:
            hashes.append(kept[1])
            continue
        hashes.append(file_sha256(path))
        if age > SETTLED_NS:
            fresh[rel] = (stat, hashes[-1])
    on_disk = {rel for rel, _ in files}
    gone = [(source_id, rel) for rel in stored if rel not in on_disk]
    if fresh or gone:
        with atomic(con):
            con.executemany(
                "delete from raw.file_hashes where source_id = ? and file_path = ?",
                [*gone, *((source_id, rel) for rel in fresh)],
            )
            if fresh:
                con.executemany(
                    "insert into raw.file_hashes values (?, ?, ?, ?)",
                    [(source_id, rel, *kept) for rel, kept in fresh.items()],
                )
    return hashes


def _ocids_of_file(con: duckdb.DuckDBPyConnection, source: Source, rel: str) -> set[str]:
    if source.kind != "ocds":
        return set()
    return {
        r[0]
        for r in con.execute(
            "select distinct ocid from raw.releases where source_id = ? and file_path = ?",
            [source.id, rel],
        ).fetchall()
    }


def forget_file(con: duckdb.DuckDBPyConnection, source: Source, rel: str, **row: object) -> None:
    """Remove a file's rows and record why (it failed, or it is gone), atomically."""
    with atomic(con):
        ocids = _ocids_of_file(con, source, rel)
        ledger.delete_file_rows(con, source.id, rel)
        ledger.record_file(con, source_id=source.id, file_path=rel, **row)
        compile_ocids(con, source.id, ocids)


def _parse(catalogue: Catalogue, source: Source, path: Path) -> ParsedFile:
    return parse_file(catalogue, source, path.name, path)


def _read_file(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    path: Path,
    parsed: Future | None,
) -> tuple[int, int, int]:
    if source.kind == "ocds":
        return load_ocds_file(con, catalogue, source, rel, sha, path)
    parsed_file = parsed.result() if parsed else _parse(catalogue, source, path)
    return load_file(con, catalogue, source, rel, sha, parsed_file)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """`with collector_paused():` Python's cyclic garbage collector off, back on after; for
    bulk work that builds millions of objects with no cycles among them (rows as lists of
    strings), which the collector walks again and again as they pile up: a 217k-line spend
    CSV parsed in 1.0 to 1.2 s with it, 0.8 s without (docs/performance.md). Only around code
    that makes no cycles item by item: whatever it leaves is collected once the collector is
    back. Not around supplier resolution: it makes some cyclic garbage, and at scale 10 a
    pause (whole, or of the full collections only) saved about 5% of its time for 110 to
    135 MB more at the run's peak. Left as it was when it was off already."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def ingest_sources(
    warehouse: str,
    catalogue_path: str,
    source_ids: list[str],
    force: bool = False,
    timeout: float | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
) -> list[SourceSummary]:
    """Each source in turn (`ingest_source`) on the warehouse file `warehouse`, with the
    catalogue at `catalogue_path`; `progress(source_id, done, total, message)` after each
    file. Opens the warehouse itself, so that the ingest step can run it in a process of its
    own (`oversight.core.isolate.in_child`)."""
    catalogue = load_catalogue(catalogue_path, strict=False)
    summaries = []
    limit = settings.duckdb_streaming_memory_limit()
    with collector_paused(), open_warehouse(warehouse, timeout=timeout, memory_limit=limit) as con:
        for source_id in source_ids:

            def file_done(done: int, total: int, message: str, key: str = source_id) -> None:
                if progress is not None:
                    progress(key, done, total, message)

            summaries.append(ingest_source(con, catalogue, source_id, file_done, force=force))
    return summaries


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source_id: str,
    progress: Progress | None = None,
    force: bool = False,
) -> SourceSummary:
    """Bring the warehouse up to date with the source's files on disk (`force`: read every
    file again, changed or not)."""
    source = catalogue.source(source_id)
    summary = SourceSummary(source.id, source.kind)
    drop_pending(con)  # what a run killed while loading a large file left
    config_hash = catalogue.config_hash(source.id)
    con.execute(
        "insert or replace into raw.sources (source_id, publisher, kind, snapshots, "
        "multi_buyer, period_from_name) values (?, ?, ?, ?, ?, ?)",
        [
            source.id,
            source.publisher,
            source.kind,
            source.snapshots,
            source.multi_buyer,
            source.period_from_name,
        ],
    )
    known = {
        path: (sha, cfg, status)
        for path, sha, cfg, status in con.execute(
            "select file_path, sha256, config_hash, status from raw.files where source_id = ?",
            [source.id],
        ).fetchall()
    }
    files = discover_files(catalogue, source)
    summary.files = len(files)
    if not files:
        log.warning(
            "source %s: no files match %s under %s",
            source.id,
            list(source.files),
            catalogue.raw_dir / source.folder,
        )
    # Links out of the raw folder are refused before a byte of them is read.
    refused = {i: r for i, p in enumerate(files) if (r := outside_reason(catalogue, source, p))}
    rels = [recorded_path(catalogue, p) for p in files]
    readable = [(_shown(rels[i]), p) for i, p in enumerate(files) if i not in refused]
    readable_names = {rel for i, rel in enumerate(rels) if i not in refused and _shown(rel) == rel}
    found = iter(file_hashes(con, source.id, readable, force))
    hashes = [None if i in refused else next(found) for i in range(len(files))]
    # The same bytes under a second name (`2025-09 (1).csv`, a browser's second download):
    # the shortest name is read, the copy is recorded as a duplicate naming it, with no rows.
    first_of: dict[str, int] = {}
    for i in sorted(range(len(files)), key=lambda i: (len(files[i].name), files[i].name)):
        if i not in refused:
            first_of.setdefault(hashes[i], i)
    original = {i: first_of[sha] for i, sha in enumerate(hashes) if i not in refused}
    duplicates = {i for i, j in original.items() if i != j}
    to_read = [
        i
        for i, sha in enumerate(hashes)
        if i not in duplicates
        and i not in refused
        and (
            force
            or known.get(rels[i])
            not in {(sha, config_hash, s) for s in ("loaded", "nothing_loaded", "failed")}
        )
    ]
    # Tabular files are parsed (Python, holding the GIL) one file ahead, in a thread, while
    # DuckDB (which releases the GIL) types and loads the previous one: two cores busy.
    # (OCDS files are streamed by their own loader: nothing is parsed ahead for them.)
    reading = set(to_read)
    following = dict(zip(to_read, to_read[1:], strict=False))  # file -> next file to read

    def record(rel: str, sha: str | None, path: Path, status: str, error: str) -> None:
        """A file that contributes no rows (failed, or a duplicate), with why."""
        summary.recorded += 1
        forget_file(
            con,
            source,
            rel,
            sha256=sha,
            config_hash=config_hash,
            size_bytes=None if sha is None else path.stat().st_size,
            status=status,
            error=error,
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as pool:
        ahead: dict[int, Future] = {}

        def parse_ahead(i: int) -> None:
            if source.kind != "ocds":
                ahead[i] = pool.submit(_parse, catalogue, source, files[i])

        if to_read:
            parse_ahead(to_read[0])
        for n, path in enumerate(files, start=1):
            rel = rels[n - 1]
            sha = hashes[n - 1]
            error = refused.get(n - 1)
            shown = _shown(rel)
            if error or shown != rel:  # a link out, or a name that is not valid UTF-8
                error = error or "the file name is not valid UTF-8: rename the file to read it"
                # Not recorded when a readable file is shown under the same name (a latin-1
                # `café.csv` beside a `caf\xe9.csv` typed out): its record would replace that
                # file's and delete its rows. The error is still reported.
                unseen = known.get(shown) != (sha, config_hash, "failed")
                if unseen and shown not in readable_names:
                    record(shown, sha, path, "failed", error)
                summary.failed += 1
                summary.errors.append(f"{shown}: {error}")
                if progress:
                    progress(n, len(files), f"{shown}: FAILED: {error}")
                continue
            if n - 1 in duplicates:
                first = rels[original[n - 1]]
                summary.duplicates += 1
                if known.get(rel) != (sha, config_hash, "duplicate"):
                    record(
                        rel, sha, path, "duplicate", f"the same bytes as {first}: not loaded again"
                    )
                if progress:
                    progress(n, len(files), f"{rel}: duplicate of {first}, not loaded")
                continue
            if n - 1 not in reading:
                summary.unchanged += 1
                if progress:
                    progress(n, len(files), f"{rel}: unchanged, skipped")
                continue
            if n - 1 in following:
                parse_ahead(following[n - 1])
            try:
                read, loaded, quarantined = _read_file(
                    con, catalogue, source, rel, sha, path, ahead.pop(n - 1, None)
                )
                summary.parsed += 1
                message = (
                    f"{rel}: {read:,} rows read, {loaded:,} loaded, {quarantined:,} quarantined"
                )
            except (duckdb.Error, MemoryError, KeyboardInterrupt):
                for future in ahead.values():
                    future.cancel()
                raise
            except Exception as exc:  # FileError, or a reader bug: it must not stop the others
                if isinstance(exc, FileError):
                    error = str(exc)
                else:
                    log.error("unexpected error reading %s:\n%s", rel, traceback.format_exc())
                    error = f"unexpected error ({type(exc).__name__}): {exc}"
                record(rel, sha, path, "failed", error)
                summary.failed += 1
                summary.errors.append(f"{rel}: {error}")
                message = f"{rel}: FAILED: {error}"
            if progress:
                progress(n, len(files), message)
    on_disk = {_shown(rel) for rel in rels}
    for rel, (_, _, status) in known.items():
        if rel not in on_disk and status != "removed":
            forget_file(
                con,
                source,
                rel,
                status="removed",
                error="file no longer present; its rows were removed",
            )
            summary.removed += 1
    totals = con.execute(
        "select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
        "coalesce(sum(rows_quarantined), 0) from raw.files where source_id = ?",
        [source.id],
    ).fetchall()[0]
    summary.rows_read, summary.rows_loaded, summary.rows_quarantined = (int(x) for x in totals)
    return summary
