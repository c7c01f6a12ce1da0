"""Load OCDS files into `raw.releases`, and compile each touched `ocid` into
`staging.contracts` (record_type 'notice'), `staging.contract_suppliers`,
`staging.contract_events` and `staging.procurement_notices`. A file and the recompilation of
its ocids are one transaction.

Releases of one ocid that share an id (within a file or across the source's files) are compiled
once: the first in date, file and position order (a zip's member, then the row). Copies with the
same content are harmless; a copy with different content is ignored too, but named in a warning
on the file being loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from oversight.core import ledger
from oversight.core.catalogue import Catalogue, Source
from oversight.core.warehouse import atomic
from oversight.ingest.ocds import Item, detect_format, file_format, iter_items
from oversight.ingest.ocds_compile import (
    CHARITY_SCHEMES,
    compile_releases,
    contract_rows,
    events,
    notice_rows,
)

BATCH = 2000
OCID_CHUNK = 500
SHOWN_CONFLICTS = 5  # releases named in a warning
_CHARITY = ", ".join(f"'{s}'" for s in CHARITY_SCHEMES)

# Text from the compiled releases is typed here, with the same macros as the registers.
CONTRACTS_SQL = f"""
insert into staging.contracts (
    contract_id, record_type, ocid, award_id, contract_ref, title, description, buyer_name,
    procedure, supplier_name, supplier_company_number, supplier_charity_number,
    supplier_other_id, sme, vcse, supplier_count, total_value, currency, start_date, end_date,
    max_end_date, category_code, category, category_scheme, status, act_carve_outs,
    parse_issues, source_id, file_path, file_sha256, part, row_number)
select contract_id, 'notice', ocid, award_id, contract_ref, title, description, buyer_name,
    procedure, supplier_name,
    case when supplier_scheme = 'GB-COH' then company_number(supplier_identifier) end,
    case when supplier_scheme in ({_CHARITY}) then charity_number(supplier_identifier) end,
    case when supplier_identifier is not null and not (supplier_scheme = 'GB-COH'
              and company_number(supplier_identifier) is not null)
              and coalesce(supplier_scheme, '') not in ({_CHARITY})
         then concat_ws('-', nullif(supplier_scheme, ''), supplier_identifier) end,
    try_cast(sme as boolean), try_cast(vcse as boolean), try_cast(supplier_count as double),
    parse_money(total_value), coalesce(currency, 'GBP'),
    try_cast(left(start_date, 10) as date), try_cast(left(end_date, 10) as date),
    try_cast(left(max_end_date, 10) as date), category_code, category, category_scheme, status,
    from_json(act_carve_outs, '["varchar"]'),
    nullif(concat_ws('; ',
        case when total_value is not null and parse_money(total_value) is null
             then format('total_value: {{}} is not an amount', excerpt(total_value)) end,
        case when start_date is not null and try_cast(left(start_date, 10) as date) is null
             then format('start_date: {{}} is not a date', excerpt(start_date)) end,
        case when end_date is not null and try_cast(left(end_date, 10) as date) is null
             then format('end_date: {{}} is not a date', excerpt(end_date)) end), ''),
    source_id, file_path, file_sha256, part, row_number
from notice_contracts
"""

SUPPLIERS_SQL = f"""
insert into staging.contract_suppliers
select contract_id, ocid, award_id, position, supplier_name, supplier_scheme,
    supplier_identifier,
    case when supplier_scheme = 'GB-COH' then company_number(supplier_identifier) end,
    case when supplier_scheme in ({_CHARITY}) then charity_number(supplier_identifier) end,
    case when supplier_identifier is not null and not (supplier_scheme = 'GB-COH'
              and company_number(supplier_identifier) is not null)
              and coalesce(supplier_scheme, '') not in ({_CHARITY})
         then concat_ws('-', nullif(supplier_scheme, ''), supplier_identifier) end,
    try_cast(sme as boolean), try_cast(vcse as boolean),
    source_id, file_path, file_sha256, part, row_number
from notice_suppliers
"""

NOTICES_SQL = """
insert into staging.procurement_notices (
    ocid, release_id, notice_date, buyer_name, notice_types, cpv_codes, title,
    source_id, file_path, file_sha256, part, row_number)
select ocid, release_id, try_cast(left(notice_date, 10) as date), buyer_name,
    from_json(notice_types, '["varchar"]'), from_json(cpv_codes, '["varchar"]'), title,
    source_id, file_path, file_sha256, part, row_number
from notice_releases
"""

EVENTS_SQL = """
insert into staging.contract_events
select concat_ws(':', ocid, release_id, event_type, coalesce(contract_ocds_id, award_id),
                 kpi_id, n) as event_id,
    concat(ocid, '/', award_id), ocid, award_id, event_type,
    try_cast(left(event_date, 10) as date), parse_money(value_before), parse_money(value_after),
    try_cast(left(end_date_before, 10) as date), try_cast(left(end_date_after, 10) as date),
    try_cast(has_notice as boolean), rating, kpi_id, detail, release_id,
    source_id, file_path, file_sha256, part, row_number
from notice_events
"""

CONTRACT_FIELDS = [
    "contract_id",
    "ocid",
    "award_id",
    "contract_ref",
    "title",
    "description",
    "buyer_name",
    "procedure",
    "supplier_name",
    "supplier_scheme",
    "supplier_identifier",
    "sme",
    "vcse",
    "supplier_count",
    "total_value",
    "currency",
    "start_date",
    "end_date",
    "max_end_date",
    "category_code",
    "category",
    "category_scheme",
    "status",
    "act_carve_outs",
]
NOTICE_FIELDS = [
    "ocid",
    "release_id",
    "notice_date",
    "buyer_name",
    "notice_types",
    "cpv_codes",
    "title",
]
SUPPLIER_FIELDS = [
    "contract_id",
    "ocid",
    "award_id",
    "position",
    "supplier_name",
    "supplier_scheme",
    "supplier_identifier",
    "sme",
    "vcse",
]
EVENT_FIELDS = [
    "ocid",
    "award_id",
    "contract_ocds_id",
    "release_id",
    "event_type",
    "event_date",
    "value_before",
    "value_after",
    "end_date_before",
    "end_date_after",
    "has_notice",
    "rating",
    "kpi_id",
    "detail",
    "n",
]
LINEAGE_FIELDS = ["source_id", "file_path", "file_sha256", "part", "row_number"]


def _text_table(rows: list[dict], fields: list[str]) -> pa.Table:
    columns = {f: [None if r.get(f) is None else str(r.get(f)) for r in rows] for f in fields}
    columns["row_number"] = [int(r["row_number"]) for r in rows]
    schema = [(f, pa.string()) for f in fields if f != "row_number"] + [("row_number", pa.int32())]
    return pa.table(columns, schema=pa.schema(schema))


def _insert_releases(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    table = pa.table(
        {
            name: [r[i] for r in rows]
            for i, name in enumerate(
                [
                    "source_id",
                    "file_path",
                    "file_sha256",
                    "part",
                    "row_number",
                    "ocid",
                    "release_id",
                    "release_date",
                    "tags",
                    "release_json",
                ]
            )
        },
        schema=pa.schema(
            [
                ("source_id", pa.string()),
                ("file_path", pa.string()),
                ("file_sha256", pa.string()),
                ("part", pa.string()),
                ("row_number", pa.int32()),
                ("ocid", pa.string()),
                ("release_id", pa.string()),
                ("release_date", pa.string()),
                ("tags", pa.string()),
                ("release_json", pa.string()),
            ]
        ),
    )
    con.register("release_batch", table)
    con.execute("""
        insert into raw.releases (ocid, release_id, release_date, tags, release_json,
                                  source_id, file_path, file_sha256, part, row_number)
        select ocid, release_id, try_cast(replace(release_date, 'Z', '') as timestamp), tags,
               release_json, source_id, file_path, file_sha256, part, row_number
        from release_batch""")
    con.unregister("release_batch")


def _ocids_in(con: duckdb.DuckDBPyConnection, source_id: str, rel: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select distinct ocid from raw.releases where source_id = ? and file_path = ?",
            [source_id, rel],
        ).fetchall()
    }


class Conflict(NamedTuple):
    """A release ignored in compiling because an earlier one of its ocid has its id but
    different content; `kept` and `ignored` are each (file path, row number, part), the part
    being the zip member ('' for a plain file)."""

    ocid: str
    release_id: str
    kept: tuple[str, int, str]
    ignored: tuple[str, int, str]


def _where(at: tuple[str, int, str]) -> str:
    path, row, part = at
    return f"{path}:{part} #{row}" if part else f"{path} #{row}"


def conflict_warning(conflicts: list[Conflict]) -> str:
    """The warning naming the ignored releases (the first few) and the rule that chose."""
    n = len(conflicts)
    named = ", ".join(
        f"{c.ocid} release {c.release_id} (compiled {_where(c.kept)}; ignored {_where(c.ignored)})"
        for c in conflicts[:SHOWN_CONFLICTS]
    )
    return (
        f"{n} release{'s have' if n > 1 else ' has'} the id of another release of its ocid but "
        "different content; of releases sharing an id only the first by date, then file and "
        f"position, is compiled: {named}{', ...' if n > SHOWN_CONFLICTS else ''}"
    )


def load_ocds_file(
    con: duckdb.DuckDBPyConnection,
    catalogue: Catalogue,
    source: Source,
    rel: str,
    sha: str,
    path: Path,
) -> tuple[int, int, int]:
    """Replace this file's releases and recompile every ocid it touches, atomically."""
    fmt = detect_format(path, file_format(path.name, source.read.format))
    # Zip members: the catalogue's globs when it names some, else every member (the default
    # globs are the tabular ones, *.csv and *.xlsx).
    members = source.read.members if "members" in source.read.model_fields_set else None
    with atomic(con):
        touched = _ocids_in(con, source.id, rel)
        ledger.delete_file_rows(con, source.id, rel)
        read = loaded = 0
        batch: list[tuple] = []
        quarantine: list[Item] = []
        for item in iter_items(path, fmt, members):
            read += 1
            if item.release is None:
                quarantine.append(item)
                continue
            release = item.release
            tags = release.get("tag")
            batch.append(
                (
                    source.id,
                    rel,
                    sha,
                    item.part,
                    item.row_number,
                    release["ocid"].strip(),
                    None if release.get("id") is None else str(release["id"]),
                    release.get("date"),
                    json.dumps(tags) if tags else None,
                    json.dumps(release, ensure_ascii=False, default=str),
                )
            )
            touched.add(release["ocid"].strip())
            loaded += 1
            if len(batch) >= BATCH:
                _insert_releases(con, batch)
                batch = []
        if batch:
            _insert_releases(con, batch)
        ledger.record_quarantine(
            con,
            source.id,
            rel,
            sha,
            [(q.part, q.row_number, q.raw_text, q.reason) for q in quarantine],
        )
        conflicts = [
            c for c in compile_ocids(con, source.id, touched) if rel in (c.kept[0], c.ignored[0])
        ]
        ledger.record_file(
            con,
            source_id=source.id,
            file_path=rel,
            sha256=sha,
            config_hash=catalogue.config_hash(source.id),
            size_bytes=path.stat().st_size,
            format=fmt,
            encoding="utf-8",
            parts=1,
            rows_read=read,
            rows_loaded=loaded,
            rows_quarantined=len(quarantine),
            status="loaded",
            warnings=conflict_warning(conflicts) if conflicts else None,
        )
    return read, loaded, len(quarantine)


def compile_ocids(
    con: duckdb.DuckDBPyConnection, source_id: str, ocids: set[str]
) -> list[Conflict]:
    """Rebuild the notice rows of these ocids from all their releases (inside a transaction).
    Returns the releases ignored for sharing an id with an earlier, different release."""
    conflicts: list[Conflict] = []
    ordered = sorted(ocids)
    for start in range(0, len(ordered), OCID_CHUNK):
        chunk = ordered[start : start + OCID_CHUNK]
        for table in (
            "staging.contracts",
            "staging.contract_suppliers",
            "staging.contract_events",
            "staging.procurement_notices",
        ):
            con.execute(
                f"delete from {table} where source_id = ? and ocid in "
                "(select unnest(?::varchar[]))",
                [source_id, chunk],
            )
        rows = con.execute(
            "select ocid, release_json, file_path, file_sha256, part, row_number "
            "from raw.releases where source_id = ? and ocid in (select unnest(?::varchar[])) "
            "order by ocid, release_date nulls first, file_path, part, row_number",
            [source_id, chunk],
        ).fetchall()
        contracts: list[dict] = []
        suppliers: list[dict] = []
        found: list[dict] = []
        notices: list[dict] = []
        by_ocid: dict[str, list[tuple]] = {}
        for row in rows:
            by_ocid.setdefault(row[0], []).append(row)
        for group in by_ocid.values():
            releases, lineages = [], {}
            seen: dict[object, tuple[dict, tuple[str, int, str]]] = {}
            for ocid, text, file_path, sha, part, row_number in group:
                release = json.loads(text)
                at = (file_path, row_number, part)
                # Without an id, a release is itself (the releases of one record, or of one
                # JSON Lines package, share a row number).
                key = release.get("id") or (*at, text)
                if key in seen:  # the same release published twice (or a different one)
                    first, kept = seen[key]
                    if release != first:
                        conflicts.append(Conflict(ocid, str(key), kept, at))
                    continue
                seen[key] = (release, at)
                releases.append(release)
                lineages[str(release.get("id"))] = {
                    "source_id": source_id,
                    "file_path": file_path,
                    "file_sha256": sha,
                    "part": part,
                    "row_number": row_number,
                }
            latest = lineages[str(releases[-1].get("id"))]
            states = compile_releases(releases)
            c_rows, s_rows = contract_rows(states[-1])
            contracts += [{**r, **latest} for r in c_rows]
            notices += [
                {**r, **lineages.get(str(r.get("release_id")), latest)}
                for r in notice_rows(releases, states)
            ]
            suppliers += [{**r, **latest} for r in s_rows]
            found += [
                {**e, **lineages.get(str(e.get("release_id")), latest), "n": i}
                for i, e in enumerate(events(releases, states))
                if e.get("award_id")
            ]
        for name, data, fields, sql in (
            ("notice_contracts", contracts, CONTRACT_FIELDS, CONTRACTS_SQL),
            ("notice_suppliers", suppliers, SUPPLIER_FIELDS, SUPPLIERS_SQL),
            ("notice_events", found, EVENT_FIELDS, EVENTS_SQL),
            ("notice_releases", notices, NOTICE_FIELDS, NOTICES_SQL),
        ):
            if data:
                con.register(name, _text_table(data, fields + LINEAGE_FIELDS))
                con.execute(sql)
                con.unregister(name)
    return conflicts
