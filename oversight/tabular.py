"""Tabular files (CSV, XLSX, zip): map their columns and type their values into
`staging.contracts` or `staging.spend`, one transaction per file."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from oversight import ledger
from oversight.catalogue import Catalogue, Source
from oversight.mapping import MappedPart, map_part
from oversight.readers import FileError, detect_format, read_parts
from oversight.schema import COLUMNS, REQUIRED, TABLES, column_names
from oversight.warehouse import atomic

TYPE_NOUN = {"date": "a date", "money": "an amount", "number": "a number", "flag": "yes/no"}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


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
    with atomic(con):
        ledger.delete_file_rows(con, source.id, rel)
        con.register("batch", table)
        con.execute(typing_sql(source, mapped, headers))
        con.unregister("batch")
        cols = ", ".join(staging_cols)
        record_cols, record_exprs, params = "", "", [source.id, rel, sha]
        if source.kind == "contract_register":
            record_cols = ", contract_id, record_type"
            record_exprs = (
                ", concat(?, ':', ?, '#', case when part <> '' then part || ':' end, "
                "row_number), 'register'"
            )
            params = [source.id, rel, *params]
        con.execute(
            f"insert into {TABLES[source.kind]} ({cols}{record_cols}, source_id, file_path, "
            f"file_sha256, part, row_number) select {cols}{record_exprs}, ?, ?, ?, part, "
            "row_number from typed where _reason is null order by _p, _i",
            params,
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
        ledger.record_file(
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
    return rows_read, loaded, len(quarantine)
