"""Tabular files (CSV, XLSX, zip): map their columns and type their values into
`staging.contracts` or `staging.spend`, one transaction per file."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from oversight.core import ledger
from oversight.core.catalogue import DEFAULT_DATE_FORMATS, Catalogue, Source, required_columns
from oversight.core.schema import COLUMNS, TABLES, column_names
from oversight.core.warehouse import atomic
from oversight.ingest import readers
from oversight.ingest.mapping import Header, MappedPart, beyond_header_warnings, map_part
from oversight.ingest.readers import FileError, Part, detect_format, read_parts

TYPE_NOUN = {"date": "a date", "money": "an amount", "number": "a number", "flag": "yes/no"}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _name_date(source: Source, file_path: str) -> date | None:
    """The first day of the month a file's path names, by `values.date_from_name`."""
    pattern = source.values.date_from_name
    found = re.search(pattern, file_path) if pattern else None
    if not found:
        return None
    try:
        return date(int(found["year"]), int(found["month"]), 1)
    except ValueError:
        return None


def _bare_time(once: Callable[[str, str], str]) -> str:
    """Whether the published payment date is a bare time (`00:00:00`), once per row."""
    return once("payment_date__bare", "bare_time(c.payment_date)")


def _payment_date(
    source: Source,
    mapped: set[str],
    headers: dict[str, str],
    file_path: str,
    published: str,
    once: Callable[[str, str], str],
) -> tuple[str, list[str], list[str]]:
    """A spend row's payment date: as published; else (empty, or a bare time such as
    `00:00:00`) the first day of its period, else of the month in the file's name. Returns
    (expression, parse-issue cases, quarantine-reason cases). `once(name, expression)`: a
    column computed once per row (see `typing_sql`)."""
    here = "payment_date" in mapped
    label = f"payment_date ({headers['payment_date']!r})" if here else "payment_date"
    raw = "c.payment_date" if here else "null"
    bare = _bare_time(once) if here else "null"
    own = f"case when {bare} then null else {published} end" if here else "null"
    financial = "true" if source.values.period_format == "financial_year" else "false"
    period = (
        once("payment_period__start", f"period_start(c.payment_period, {financial})")
        if "payment_period" in mapped
        else "null"
    )
    named = _name_date(source, file_path)
    from_name = f"date '{named.isoformat()}'" if named else "null"
    # A published value that is not a date is an error, not a gap to fill.
    missing = f"({raw} is null or {bare})"
    how = f"coalesce('a bare time ' || {raw}, 'empty')"
    via_period = _q(f"{label}: {{}}, so the first day of period {{}} ({{}}), not a published date")
    via_name = _q(
        f"{label}: {{}}, so the first day of the month in the file name ({{}}), not a "
        "published date"
    )
    issues = [
        f"case when {missing} and {period} is null and {from_name} is not null "
        f"then format({via_name}, {how}, {from_name}) end"
    ]
    if "payment_period" in mapped:
        issues.append(
            f"case when {missing} and {period} is not null "
            f"then format({via_period}, {how}, c.payment_period, {period}) end"
        )
    tried = []
    if "payment_period" in mapped:
        tried.append("no readable payment_period")
    if source.values.date_from_name:
        tried.append("no month in the file name")
    reason = f"{label} is empty" + (f" ({', '.join(tried)} either)" if tried else "")
    reasons = [
        f"case when {missing} and coalesce({period}, {from_name}) is null then {_q(reason)} end"
    ]
    return f"coalesce({own}, {period}, {from_name})", issues, reasons


def typing_sql(
    source: Source, mapped: set[str], headers: dict[str, str], file_path: str = ""
) -> str:
    """SQL that turns the registered `batch` (text) into typed canonical columns, with the
    parse issues of optional columns and the quarantine reason of bad rows. `file_path` is
    the file's path (a payment date may come from it: `values.date_from_name`).

    Three layers: the text trimmed and cleaned (`cleaned`), each value parsed once (`c`: the
    cleaned columns and a `<column>__<what>` column per parse), then the typed row, its issues
    and its reason from those. A parse is used two to four times (the value, whether it failed,
    its currency): written out each time, the macros made a plan DuckDB took about 50 ms to
    bind and optimise, for every file, sheet and zip member."""
    rules = source.values
    parsed: dict[str, str] = {}

    def once(name: str, expression: str) -> str:
        """`expression` (over the cleaned columns), computed once per row as `c.<name>`."""
        parsed.setdefault(name, expression)
        return f"c.{name}"

    # Each value trimmed once, then a placeholder ('n/a', 'tbc') is no value. An IN list (not
    # a list literal), and only for values as short as the longest placeholder (DuckDB's
    # lower() maps character to character): the cleaning was 75% of a spend file's typing.
    trimmed = ", ".join(f"trim({c}) as {c}" for c in sorted(mapped))
    placeholders = ", ".join(_q(p) for p in rules.all_placeholders)
    longest = max((len(p) for p in rules.all_placeholders), default=0)
    cleaned = ", ".join(
        f"case when length({c}) <= {longest} and lower({c}) in ({placeholders}) then null "
        f"else {c} end as {c}"
        if placeholders
        else c
        for c in sorted(mapped)
    )
    # Four-digit years first: '%d-%b-%Y' reads '27-Mar-23' as the year 23, which the
    # realistic range rejects; then '%d-%b-%y' reads it as 2023.
    long = [f for f in rules.date_formats if "%y" not in f]
    short = [f for f in rules.date_formats if "%y" in f]
    serials = "true" if rules.excel_serial_dates else "false"
    # Which formats a value failed: named when the catalogue chose them, else the defaults.
    tried = (
        "none of the default formats fit: set values.date_formats"
        if tuple(rules.date_formats) == DEFAULT_DATE_FORMATS
        else "formats tried: " + " | ".join(rules.date_formats)
    )

    def parse_date(ref: str) -> str:
        forms = [f"parse_date({ref}, {_sql_list(fs)}, {serials})" for fs in (long, short) if fs]
        return forms[0] if len(forms) == 1 else f"coalesce({', '.join(forms)})"

    def typed(col: str, kind: str) -> str:
        ref = f"c.{col}"
        if kind == "text":
            return ref
        return once(f"{col}__{kind}", parse(ref, kind))

    def parse(ref: str, kind: str) -> str:
        return {
            "date": parse_date(ref),
            "money": f"parse_money({ref})",
            "number": f"parse_number({ref})",
            "flag": (
                f"case when lower({ref}) in {_sql_list(rules.all_true)} then true "
                f"when lower({ref}) in {_sql_list(rules.all_false)} then false end"
            ),
            "company_number": f"company_number({ref})",
            "charity_number": f"charity_number({ref})",
        }[kind]

    def currency(col: str) -> str:
        return once(f"{col}__currency", f"money_currency(c.{col})")

    def charity_in_registration(col: str) -> str:
        return once(f"{col}__charity", f"charity_in_registration(c.{col})")

    selects, issues, reasons = [], [], []
    required = required_columns(source, mapped)
    money = [c.name for c in COLUMNS[source.kind] if c.type == "money" and c.name in mapped]
    for column in COLUMNS[source.kind]:
        name, kind = column.name, column.type
        expr = typed(name, kind) if name in mapped else "null"
        if name == "payment_date":
            expr, more_issues, more_reasons = _payment_date(
                source, mapped, headers, file_path, expr, once
            )
            issues += more_issues
            reasons += more_reasons
        if name == "currency" and name not in mapped and money:
            named = ", ".join(currency(m) for m in money)
            expr = f"coalesce({named}, 'GBP')"
        if kind == "money" and name in mapped:
            label = f"{name} ({headers[name]!r})"
            foreign = currency(name)
            if source.kind == "spend":  # the number, in its currency (kept out of pound sums)
                said = _q(f"{label}: {{}} is in {{}}: kept out of pound totals")
            else:  # a contract value in another currency is an unknown value in pounds
                expr = f"case when {foreign} is null then {expr} end"
                said = _q(f"{label}: {{}} is in {{}}: not a value in pounds, left empty")
            issues.append(
                f"case when {foreign} is not null "
                f"then format({said}, excerpt(c.{name}), {foreign}) end"
            )
            unreadable = _q(f"{label}: {{}} has an unreadable currency sign, read as pounds")
            issues.append(
                f"case when contains(c.{name}, chr(65533)) "
                f"then format({unreadable}, excerpt(c.{name})) end"
            )
        if name == "supplier_charity_number" and "supplier_company_number" in mapped:
            expr = f"coalesce({expr}, {charity_in_registration('supplier_company_number')})"
        if name == "buyer_name":
            # A register's buyer is its publisher; a buyer column means something else
            # (the framework it was let through) unless the register lists several buyers.
            single = source.kind == "contract_register" and not source.multi_buyer
            if not single and name not in mapped and "purchasing_body" in mapped:
                expr = typed("purchasing_body", "text")  # a shared register's buying body
            expr = _q(source.publisher) if single else f"coalesce({expr}, {_q(source.publisher)})"
        if name == "purchasing_body" and "buyer_name" in mapped and not source.multi_buyer:
            expr = f"coalesce({expr}, {typed('buyer_name', 'text')})"
        selects.append(f"{expr} as {name}")
        if name not in mapped:
            continue
        label = f"{name} ({headers[name]!r})"
        if name in required and name != "payment_date":
            reasons.append(f"case when c.{name} is null then {_q(label + ' is empty')} end")
        if kind in TYPE_NOUN:
            noun = TYPE_NOUN[kind] + (f" ({tried})" if kind == "date" else "")
            message = f"format({_q('{}: {} is not ' + noun)}, {_q(label)}, excerpt(c.{name}))"
            bad = f"c.{name} is not null and {typed(name, kind)} is null"
            if name == "payment_date":
                bad += f" and not {_bare_time(once)}"
            (reasons if name in required or name == "payment_date" else issues).append(
                f"case when {bad} then {message} end"
            )
    if "supplier_company_number" in mapped:
        selects.append(
            f"case when {typed('supplier_company_number', 'company_number')} is null "
            f"and {charity_in_registration('supplier_company_number')} is null "
            "then c.supplier_company_number end as supplier_other_id"
        )
    else:
        selects.append("null as supplier_other_id")
    issue_sql = f"nullif(concat_ws('; ', {', '.join(issues)}), '')" if issues else "null"
    reason_sql = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "null"
    parses = "".join(f", {expression} as {name}" for name, expression in parsed.items())
    return (
        f"create or replace temp table typed as\n"
        f"with trimmed as (select _i, _part, _row, {trimmed} from batch),\n"
        f"cleaned as (select _i, _part, _row, {cleaned} from trimmed),\n"
        f"c as (select *{parses} from cleaned c)\n"
        f"select _i, {', '.join(selects)},\n"
        f"    {issue_sql} as parse_issues, {reason_sql} as _reason,\n"
        f"    _part as part, _row as row_number\nfrom c"
    )


# A CSV up to this size is parsed whole ahead of loading, in a thread, while the previous
# file loads; a larger one is parsed chunk by chunk while it loads, so memory holds a chunk.
PARSE_AHEAD_BYTES = 32 * 1024**2


@dataclass
class ParsedFile:
    """A file's parts, each with its mapped rows, and those rows as the Arrow table DuckDB
    types (`_batch`). A small CSV's parts are read when the file is parsed (ahead of loading,
    in a thread); a large CSV's chunks, a workbook's sheets and a zip's members are read one
    at a time while loading, so memory holds one part (or chunk of readers.CHUNK_LINES lines),
    not the whole file. The Arrow table is built where the part is read, in that thread: like
    parsing it holds Python's lock, which the loading thread (in DuckDB) does not need."""

    format: str
    parts: Iterable[tuple[Part, MappedPart, pa.Table]]
    size: int


def parse_file(
    catalogue: Catalogue,
    source: Source,
    name: str,
    data: bytes | Path,
    chunk_lines: int | None = None,
) -> ParsedFile:
    """Read (or prepare to read) every part of a file (its bytes or its path) and map its
    columns. Raises FileError when the file cannot be read; `load_file` raises it for problems
    found part by part."""
    columns = catalogue.source_columns(source.id)
    fmt = detect_format(name, source.read)
    size = len(data) if isinstance(data, bytes) else data.stat().st_size

    def mapped_parts() -> Iterator[tuple[Part, MappedPart, pa.Table]]:
        header: Header | None = None
        for part in read_parts(name, data, source.read, chunk_lines or readers.CHUNK_LINES):
            m = map_part(
                part,
                columns,
                required_columns(source, columns),
                source.read.header_row,
                placeholders=source.values.all_placeholders,
                beyond_header=source.read.values_beyond_header,
                header=header if part.continued else None,
            )
            header = m.header
            yield part, m, _batch(m)

    if fmt == "csv" and size <= PARSE_AHEAD_BYTES:
        return ParsedFile(fmt, list(mapped_parts()), size)
    return ParsedFile(fmt, read_ahead(mapped_parts()), size)


T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, each produced one ahead in a thread: the next chunk or sheet is parsed (Python,
    holding the GIL) while DuckDB (which releases it) types and loads this one. An error in the
    thread is raised here, where its item would have come; closing this stops the thread."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(message: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    thread = threading.Thread(target=produce, name="parse-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _batch(m: MappedPart) -> pa.Table:
    """A part's mapped rows as text columns, with their order (`_i`), part and row number."""
    n = len(m.row_numbers)
    data: dict[str, list] = {"_i": list(range(n)), "_part": [m.part] * n, "_row": m.row_numbers}
    data.update({c: m.columns[c] for c in sorted(m.columns)})
    schema = pa.schema(
        [("_i", pa.int64()), ("_part", pa.string()), ("_row", pa.int32())]
        + [(c, pa.string()) for c in sorted(m.columns)]
    )
    return pa.table(data, schema=schema)


def _load_part(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    params: list[str],
    part: Part,
    m: MappedPart,
    batch: pa.Table,
    target: str,
) -> tuple[int, list[tuple]]:
    """Type one part's rows (`batch`: `m`'s rows as `_batch` gives them) and insert the good
    ones into `target` (the staging table, or pending.rows); returns (loaded, quarantine
    rows)."""
    staging_cols = ", ".join([*column_names(source.kind), "supplier_other_id", "parse_issues"])
    con.register("batch", batch)
    con.execute(typing_sql(source, set(m.columns), m.headers, params[1]))
    con.unregister("batch")
    record_cols, record_exprs = "", ""
    if source.kind == "contract_register":
        record_cols = ", contract_id, record_type"
        record_exprs = (
            ", concat(?, ':', ?, '#', case when part <> '' then part || ':' end, "
            "row_number), 'register'"
        )
        params = [params[0], params[1], *params]
    con.execute(
        f"insert into {target} ({staging_cols}{record_cols}, source_id, file_path, "
        f"file_sha256, part, row_number) select {staging_cols}{record_exprs}, ?, ?, ?, part, "
        "row_number from typed where _reason is null order by _i",
        params,
    )
    bad = con.execute("select _i, _reason from typed where _reason is not null order by _i")
    quarantine = [
        (m.part, m.row_numbers[i], part.raw_text(m.record_index[i]), reason)
        for i, reason in bad.fetchall()
    ]
    quarantine += [(m.part, r.row_number, r.raw_text, r.reason) for r in m.rejects]
    loaded = con.execute("select count(*) from typed where _reason is null").fetchall()[0][0]
    con.execute("drop table typed")
    return loaded, quarantine


def load_file(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    parsed: ParsedFile,
) -> tuple[int, int, int]:
    """Replace this file's rows with the parsed ones, atomically: the staging tables,
    raw.quarantine and raw.files change in one transaction, all at once or not at all.
    Returns (read, loaded, quarantined).

    A file parsed ahead (the parts a list) is typed and loaded inside that one transaction. A
    streamed file's chunks are typed into `pending.rows` and `pending.quarantine`, committed
    chunk by chunk, then moved in the one transaction: DuckDB holds a transaction's uncommitted
    rows in memory, so one transaction over a 1 GB CSV's chunks took 3.6 GB where committed
    chunks stay within DuckDB's memory limit. A run killed meanwhile leaves only the pending
    tables, dropped by the next load."""
    target = TABLES[source.kind]
    if isinstance(parsed.parts, list):
        with atomic(con):
            ledger.delete_file_rows(con, source.id, rel)
            params = [source.id, rel, sha]
            tally = _load_parts(con, source, params, parsed, target, "raw.quarantine")
            _record(con, catalogue, source, rel, sha, parsed, tally)
        return tally.read, tally.loaded, tally.quarantined
    drop_pending(con)
    con.execute("create schema pending")
    con.execute(f"create table pending.rows as from {target} limit 0")
    con.execute("create table pending.quarantine as from raw.quarantine limit 0")
    try:
        tally = _load_parts(
            con,
            source,
            [source.id, rel, sha],
            parsed,
            "pending.rows",
            "pending.quarantine",
            committed=True,
        )
        with atomic(con):
            ledger.delete_file_rows(con, source.id, rel)
            con.execute(f"insert into {target} from pending.rows")
            con.execute("insert into raw.quarantine from pending.quarantine")
            _record(con, catalogue, source, rel, sha, parsed, tally)
    finally:
        drop_pending(con)
    return tally.read, tally.loaded, tally.quarantined


def drop_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the pending rows of a streamed file (left by a run killed while loading one)."""
    con.execute("drop schema if exists pending cascade")


@dataclass
class _Tally:
    """What a file's parts added up to."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    blank: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    header_rows: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unmapped: set[str] = field(default_factory=set)


def _load_parts(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    params: list[str],
    parsed: ParsedFile,
    target: str,
    quarantine: str,
    committed: bool = False,
) -> _Tally:
    """Type and insert every part (or chunk) of a file into `target`, its bad rows into
    `quarantine`. `committed` (the pending tables of a streamed file): each part is its own
    transaction; else the parts join the file's transaction (`atomic` already begun)."""
    tally = _Tally()
    beyond: dict[str, list[int]] = {}  # table -> [header width, placeholder rows, ignored rows]
    for part, m, batch in parsed.parts:
        if not tally.header_rows:
            tally.encoding, tally.delimiter = part.encoding, part.delimiter
        with atomic(con) if committed else nullcontext():
            n, bad = _load_part(con, source, params, part, m, batch, target)
            ledger.record_quarantine(con, *params, bad, table=quarantine)
        del batch  # (a streamed file's chunk: only one held at a time)
        tally.read += m.rows_read
        tally.loaded += n
        tally.blank += m.blank_rows
        tally.quarantined += len(bad)
        if not m.continued:
            tally.header_rows.append((m.part, m.header_row))
        texts = part.warnings + m.warnings
        tally.warnings += [f"{m.part}: {w}" if m.part else w for w in texts]
        tally.unmapped |= set(m.unmapped)
        counts = beyond.setdefault(m.part, [m.header.width if m.header else 0, 0, 0])
        counts[1] += m.beyond_placeholders
        counts[2] += m.beyond_ignored
    for table, (width, placeholders, ignored) in beyond.items():
        texts = beyond_header_warnings(width, placeholders, ignored)
        tally.warnings += [f"{table}: {w}" if table else w for w in texts]
    if not tally.header_rows:
        raise FileError("no tables found in the file")
    if tally.read == 0:
        where = ", ".join(f"{p or 'line'} {h}" for p, h in tally.header_rows)
        raise FileError(f"header only: no data rows below the header ({where})")
    return tally


def _record(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    parsed: ParsedFile,
    tally: _Tally,
) -> None:
    ledger.record_file(
        con,
        source_id=source.id,
        file_path=rel,
        sha256=sha,
        config_hash=catalogue.config_hash(source.id),
        size_bytes=parsed.size,
        format=parsed.format,
        encoding=tally.encoding,
        delimiter=tally.delimiter,
        parts=len(tally.header_rows),
        header_rows=", ".join(f"{p}:{h}" if p else str(h) for p, h in tally.header_rows),
        rows_read=tally.read,
        rows_loaded=tally.loaded,
        rows_quarantined=tally.quarantined,
        blank_rows=tally.blank,
        # Every row quarantined: read, but nothing in it is usable (wrong dates, a layout
        # that maps the wrong columns...). Its own status, so that it stands out.
        status="loaded" if tally.loaded or not tally.quarantined else "nothing_loaded",
        warnings="\n".join(tally.warnings) or None,
        unmapped_columns=", ".join(sorted(tally.unmapped)) or None,
    )
