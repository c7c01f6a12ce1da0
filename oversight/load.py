"""Ingest a source's files into the warehouse, one file per transaction.

For each file under the source's folder: hash it; skip it when the same bytes were already read
with the same catalogue settings; otherwise read it, map its columns, type its values in SQL and
replace that file's rows in `staging.*`, `raw.quarantine` and `raw.files` in one transaction.
Every data row read ends up either in the staging table or in quarantine with its raw text and a
reason; a file that cannot be read at all is recorded in `raw.files` with its error.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from oversight.catalogue import Catalogue, Source
from oversight.mapping import MappedPart, map_part
from oversight.readers import FileError, detect_format, read_parts
from oversight.schema import COLUMNS, REQUIRED, TABLES, column_names

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

TYPE_NOUN = {"date": "a date", "money": "an amount", "number": "a number", "flag": "yes/no"}


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
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def discover_files(catalogue: Catalogue, source: Source) -> list[Path]:
    """The source's files on disk, in a stable order."""
    folder = catalogue.raw_dir / source.folder
    found = {p for pattern in source.files for p in folder.glob(pattern) if p.is_file()}
    return sorted(found)


def typing_sql(source: Source, mapped: set[str], headers: dict[str, str]) -> str:
    """SQL that turns the registered `batch` (text) into typed canonical columns, with the
    parse issues of optional columns and the quarantine reason of bad rows."""
    rules = source.values
    placeholders = _sql_list(rules.all_placeholders)
    cleaned = ", ".join(
        f"case when lower(trim({c})) in {placeholders} then null else trim({c}) end as {c}"
        for c in sorted(mapped)
    )
    formats = _sql_list(list(rules.date_formats))
    serials = "true" if rules.excel_serial_dates else "false"

    def typed(col: str, kind: str) -> str:
        ref = f"c.{col}"
        return {
            "text": ref,
            "date": f"parse_date({ref}, {formats}, {serials})",
            "money": f"parse_money({ref})",
            "number": f"parse_number({ref})",
            "flag": (
                f"case when lower({ref}) in {_sql_list(rules.all_true)} then true "
                f"when lower({ref}) in {_sql_list(rules.all_false)} then false end"
            ),
            "company_number": f"company_number({ref})",
            "charity_number": f"charity_number({ref})",
        }[kind]

    selects, issues, reasons = [], [], []
    required = REQUIRED[source.kind]
    for column in COLUMNS[source.kind]:
        name, kind = column.name, column.type
        expr = typed(name, kind) if name in mapped else "null"
        if name == "supplier_charity_number" and "supplier_company_number" in mapped:
            expr = f"coalesce({expr}, charity_in_registration(c.supplier_company_number))"
        if name == "buyer_name":
            expr = f"coalesce({expr}, {_q(source.publisher)})"
        selects.append(f"{expr} as {name}")
        if name not in mapped:
            continue
        label = f"{name} ({headers[name]!r})"
        if name in required:
            reasons.append(f"case when c.{name} is null then {_q(label + ' is empty')} end")
        if kind in TYPE_NOUN:
            message = f"format('{{}}: {{}} is not {TYPE_NOUN[kind]}', {_q(label)}, c.{name})"
            bad = f"c.{name} is not null and {typed(name, kind)} is null"
            (reasons if name in required else issues).append(f"case when {bad} then {message} end")
    if "supplier_company_number" in mapped:
        selects.append(
            "case when company_number(c.supplier_company_number) is null "
            "and charity_in_registration(c.supplier_company_number) is null "
            "then c.supplier_company_number end as supplier_other_id"
        )
    else:
        selects.append("null as supplier_other_id")
    issue_sql = f"nullif(concat_ws('; ', {', '.join(issues)}), '')" if issues else "null"
    reason_sql = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "null"
    return (
        f"create or replace temp table typed as\n"
        f"with c as (select _p, _i, _part, _row, {cleaned} from batch)\n"
        f"select _p, _i, {', '.join(selects)},\n"
        f"    {issue_sql} as parse_issues, {reason_sql} as _reason,\n"
        f"    _part as part, _row as row_number\nfrom c"
    )


@dataclass
class ParsedFile:
    format: str
    encoding: str | None
    delimiter: str | None
    parts: list[tuple]  # (Part, MappedPart)

    @property
    def mapped(self) -> list[MappedPart]:
        return [m for _, m in self.parts]


def parse_file(catalogue: Catalogue, source: Source, name: str, data: bytes) -> ParsedFile:
    """Read every part of a file and map its columns. Raises FileError when nothing usable."""
    columns = catalogue.source_columns(source.id)
    fmt = detect_format(name, source.read)
    parts = []
    for part in read_parts(name, data, source.read):
        parts.append((part, map_part(part, columns, REQUIRED[source.kind], source.read.header_row)))
    if not parts:
        raise FileError("no tables found in the file")
    if all(m.rows_read == 0 for _, m in parts):
        where = ", ".join(f"{m.part or 'line'} {m.header_row}" for _, m in parts)
        raise FileError(f"header only: no data rows below the header ({where})")
    first = parts[0][0]
    return ParsedFile(fmt, first.encoding, first.delimiter, parts)


def _batch(parsed: ParsedFile) -> tuple[pa.Table, set[str], dict[str, str]]:
    mapped: set[str] = set()
    headers: dict[str, str] = {}
    for m in parsed.mapped:
        mapped.update(m.columns)
        for k, v in m.headers.items():
            headers.setdefault(k, v)
    data: dict[str, list] = {"_p": [], "_i": [], "_part": [], "_row": []}
    data.update({c: [] for c in sorted(mapped)})
    for p, m in enumerate(parsed.mapped):
        n = len(m.row_numbers)
        data["_p"] += [p] * n
        data["_i"] += list(range(n))
        data["_part"] += [m.part] * n
        data["_row"] += m.row_numbers
        for c in mapped:
            data[c] += m.columns.get(c, [""] * n)
    schema = pa.schema(
        [("_p", pa.int32()), ("_i", pa.int64()), ("_part", pa.string()), ("_row", pa.int32())]
        + [(c, pa.string()) for c in sorted(mapped)]
    )
    return pa.table(data, schema=schema), mapped, headers


def _delete_file_rows(con: duckdb.DuckDBPyConnection, kind: str, source_id: str, rel: str) -> None:
    con.execute(
        f"delete from {TABLES[kind]} where source_id = ? and file_path = ?", [source_id, rel]
    )
    con.execute(
        "delete from raw.quarantine where source_id = ? and file_path = ?", [source_id, rel]
    )
    con.execute("delete from raw.files where source_id = ? and file_path = ?", [source_id, rel])


def _record_file(con: duckdb.DuckDBPyConnection, **row: object) -> None:
    row.setdefault("ingested_at", datetime.now(UTC).replace(tzinfo=None))
    names = ", ".join(row)
    con.execute(
        f"insert into raw.files ({names}) values ({', '.join('?' * len(row))})", list(row.values())
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    data: bytes,
    parsed: ParsedFile,
) -> tuple[int, int, int]:
    """Replace this file's rows with the parsed ones, atomically. Returns (read, loaded, quar.)."""
    table, mapped, headers = _batch(parsed)
    rows_read = sum(m.rows_read for m in parsed.mapped)
    staging_cols = [*column_names(source.kind), "supplier_other_id", "parse_issues"]
    con.begin()
    try:
        _delete_file_rows(con, source.kind, source.id, rel)
        con.register("batch", table)
        con.execute(typing_sql(source, mapped, headers))
        con.unregister("batch")
        cols = ", ".join(staging_cols)
        con.execute(
            f"insert into {TABLES[source.kind]} ({cols}, source_id, file_path, file_sha256, part,"
            f" row_number) select {cols}, ?, ?, ?, part, row_number from typed "
            "where _reason is null order by _p, _i",
            [source.id, rel, sha],
        )
        bad = con.execute(
            "select _p, _i, _reason from typed where _reason is not null order by _p, _i"
        ).fetchall()
        quarantine = []
        for p, i, reason in bad:
            part, m = parsed.parts[p]
            k = m.record_index[i]
            quarantine.append((m.part, m.row_numbers[i], part.raw_text(k), reason))
        for _, m in parsed.parts:
            quarantine += [(m.part, r.row_number, r.raw_text, r.reason) for r in m.rejects]
        if quarantine:
            con.executemany(
                "insert into raw.quarantine values (?, ?, ?, ?, ?, ?, ?)",
                [(source.id, rel, sha, *q) for q in quarantine],
            )
        loaded = con.execute("select count(*) from typed where _reason is null").fetchall()[0][0]
        con.execute("drop table typed")
        warnings = [f"{m.part}: {w}" if m.part else w for m in parsed.mapped for w in m.warnings]
        unmapped = sorted({c for m in parsed.mapped for c in m.unmapped})
        _record_file(
            con,
            source_id=source.id,
            file_path=rel,
            sha256=sha,
            config_hash=catalogue.config_hash(source.id),
            size_bytes=len(data),
            format=parsed.format,
            encoding=parsed.encoding,
            delimiter=parsed.delimiter,
            parts=len(parsed.parts),
            header_rows=", ".join(
                f"{m.part}:{m.header_row}" if m.part else str(m.header_row) for m in parsed.mapped
            ),
            rows_read=rows_read,
            rows_loaded=loaded,
            rows_quarantined=len(quarantine),
            blank_rows=sum(m.blank_rows for m in parsed.mapped),
            status="loaded",
            warnings="\n".join(warnings) or None,
            unmapped_columns=", ".join(unmapped) or None,
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return rows_read, loaded, len(quarantine)


def record_failure(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    size: int,
    error: str,
) -> None:
    """The file cannot be read: it keeps no rows, and raw.files says why."""
    con.begin()
    try:
        _delete_file_rows(con, source.kind, source.id, rel)
        _record_file(
            con,
            source_id=source.id,
            file_path=rel,
            sha256=sha,
            config_hash=catalogue.config_hash(source.id),
            size_bytes=size,
            status="failed",
            error=error,
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source_id: str,
    progress: Progress | None = None,
) -> SourceSummary:
    """Bring the warehouse up to date with the source's files on disk."""
    source = catalogue.source(source_id)
    summary = SourceSummary(source.id, source.kind)
    config_hash = catalogue.config_hash(source.id)
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
    for n, path in enumerate(files, start=1):
        rel = path.relative_to(catalogue.raw_dir).as_posix()
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        previous = known.get(rel)
        if (
            previous
            and previous[0] == sha
            and previous[1] == config_hash
            and previous[2] != "removed"
        ):
            summary.unchanged += 1
            if progress:
                progress(n, len(files), f"{rel}: unchanged, skipped")
            continue
        try:
            parsed = parse_file(catalogue, source, path.name, data)
            read, loaded, quarantined = load_file(con, catalogue, source, rel, sha, data, parsed)
            summary.parsed += 1
            message = f"{rel}: {read:,} rows read, {loaded:,} loaded, {quarantined:,} quarantined"
        except FileError as exc:
            record_failure(con, catalogue, source, rel, sha, len(data), str(exc))
            summary.failed += 1
            summary.errors.append(f"{rel}: {exc}")
            message = f"{rel}: FAILED: {exc}"
        except (duckdb.Error, MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # a reader bug must not stop the other files
            log.error("unexpected error reading %s:\n%s", rel, traceback.format_exc())
            error = f"unexpected error ({type(exc).__name__}): {exc}"
            record_failure(con, catalogue, source, rel, sha, len(data), error)
            summary.failed += 1
            summary.errors.append(f"{rel}: {error}")
            message = f"{rel}: FAILED: {error}"
        if progress:
            progress(n, len(files), message)
    on_disk = {p.relative_to(catalogue.raw_dir).as_posix() for p in files}
    for rel, (_, _, status) in known.items():
        if rel not in on_disk and status != "removed":
            con.begin()
            _delete_file_rows(con, source.kind, source.id, rel)
            _record_file(
                con,
                source_id=source.id,
                file_path=rel,
                status="removed",
                error="file no longer present; its rows were removed",
            )
            con.commit()
            summary.removed += 1
    totals = con.execute(
        "select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
        "coalesce(sum(rows_quarantined), 0) from raw.files where source_id = ?",
        [source.id],
    ).fetchall()[0]
    summary.rows_read, summary.rows_loaded, summary.rows_quarantined = (int(x) for x in totals)
    return summary
