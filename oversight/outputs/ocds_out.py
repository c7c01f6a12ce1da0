"""Council contract registers as OCDS 1.1: one release per register entry, in one release
package (`data/exports/register-releases.json`), so that OCP's own tools (ocdskit, the Data
Review Tool, Kingfisher) can read registers that are otherwise published only as spreadsheets.

What a release holds, from `staging.contracts` (`record_type = 'register'`):

- `ocid`: `OCID_PREFIX` + the source + a hash of the contract's key
  (`links.contract_entries.contract_key`: source + reference + resolved supplier, stable across
  register snapshots; the entry's own id when the links are not built). The same contract in
  two snapshots is one contracting process with two releases, which ocdskit compiles into one.
  **The prefix is a placeholder**: OCDS requires a prefix registered with the Open Contracting
  Partnership (`ocds-` and six characters). `ocds-xxxxxx` is not registered; whoever publishes
  this file registers a prefix and sets it (`OVERSIGHT_OCID_PREFIX`, or `ocid_prefix=`).
- `id`: the entry's lineage, `<source>:<file>#<row>`; `date`: when the pipeline ingested that
  file (`raw.files.ingested_at`, UTC), else the package's `publishedDate`.
- `tag: ["award", "contract"]`, `initiationType: "tender"` (the only value OCDS 1.1 allows).
- `parties`: the buyer (role `buyer`) and the supplier (role `supplier`), each with its resolved
  name. The supplier's identifier: `GB-COH` (Companies House, 8 characters) from the number the
  register prints or, failing that, from the supplier it was resolved to; else a registered
  charity number: `GB-SC` (Scottish, `SC...`), `GB-NIC` (Northern Ireland, `NIC...`) or `GB-CHC`
  (Charity Commission for England and Wales). Buyers carry no identifier: the warehouse holds
  no registered code for them (org-id.guide's `GB-LAE`, local authorities in England, or
  `GB-GOR`, the Government Organisation Register, would be the schemes); their party id is the
  resolved buyer id. A party's id is `<scheme>-<id>` when it has an identifier.
- `awards[0]` and `contracts[0]`: one id for both (the reference and the start date: periods of
  one contract under one reference stay apart, a period republished in a later snapshot
  replaces the earlier), the supplier, `value` (the total value, GBP; left out when the register
  prints none: an annual value is not a contract's value), the title and description, and the
  `period`: `startDate`, `endDate` (the current expiry date after extensions, else the end date
  as let) and `maxExtentDate` (the latest end with every extension). Dates are the day's start
  (end dates: its last second) in UK time, with the offset (`+00:00` or `+01:00`).
- `tender.procurementMethodDetails`: the procedure as published, when there is one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

OCID_PREFIX = "ocds-xxxxxx-oversight-"  # PLACEHOLDER: not a registered OCDS prefix
PACKAGE_URI = "https://example.org/oversight/register-releases.json"  # PLACEHOLDER
PUBLISHER = {"name": "Contract oversight (unofficial: republished from council registers)"}
FILE = "register-releases.json"
FINGERPRINT = ".register-releases.fingerprint"
VERSION = "1.1"
UK = ZoneInfo("Europe/London")

_COLUMNS = """
    c.contract_id, c.source_id, c.file_path, c.row_number, c.contract_ref, c.title,
    c.description, c.buyer_name, c.procedure, c.supplier_name, c.supplier_company_number,
    c.supplier_charity_number, c.total_value, c.start_date, c.end_date,
    c.current_expiry_date, c.max_end_date
"""


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }


def _register_sql(tables: set[str]) -> str:
    """Register entries with what resolution and linking added, where those tables exist."""
    select = [_COLUMNS]
    joins = []
    if "links.contract_entries" in tables:
        select.append("coalesce(e.contract_key, c.contract_id) as contract_key")
        joins.append("left join links.contract_entries e on e.entry_id = c.contract_id")
    else:
        select.append("c.contract_id as contract_key")
    if {"entities.supplier_mentions", "entities.suppliers"} <= tables:
        select.append(
            "s.supplier_id, s.name as supplier, "
            "case when not s.is_personal then s.company_number end as resolved_company, "
            "case when not s.is_personal then s.charity_number end as resolved_charity"
        )
        joins.append(
            "left join entities.supplier_mentions sm"
            " on sm.name is not distinct from c.supplier_name"
            " and sm.company_number is not distinct from c.supplier_company_number"
            " and sm.charity_number is not distinct from c.supplier_charity_number"
            " left join entities.suppliers s on s.supplier_id = sm.supplier_id"
        )
    else:
        select.append(
            "null as supplier_id, null as supplier, null as resolved_company, "
            "null as resolved_charity"
        )
    if {"entities.buyer_mentions", "entities.buyers"} <= tables:
        select.append("b.buyer_id, b.name as buyer")
        joins.append(
            "left join entities.buyer_mentions bm on bm.name = c.buyer_name"
            " left join entities.buyers b on b.buyer_id = bm.buyer_id"
        )
    else:
        select.append("null as buyer_id, null as buyer")
    if "raw.files" in tables:
        select.append("f.ingested_at")
        joins.append(
            "left join (select source_id, file_path, max(ingested_at) as ingested_at"
            " from raw.files group by all) f"
            " on f.source_id = c.source_id and f.file_path = c.file_path"
        )
    else:
        select.append("null::timestamp as ingested_at")
    return (
        f"select {', '.join(select)} from staging.contracts c {' '.join(joins)} "
        "where c.record_type = 'register' order by c.source_id, c.file_path, c.row_number"
    )


def _instant(day: date | None, end: bool = False) -> str | None:
    """A date as the start (or, for an end, the last second) of that day in UK time."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59) if end else time(), UK).isoformat()


def _utc(moment: datetime) -> str:
    """A naive UTC timestamp (or an aware one) as ISO 8601 with its offset."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _amount(value: Decimal | None) -> dict | None:
    if value is None:
        return None
    number = float(value) if value != value.to_integral_value() else int(value)
    return {"amount": number, "currency": "GBP"}


def charity_scheme(number: str) -> str:
    """`SC012345` -> GB-SC, `NIC100123` -> GB-NIC, anything else -> GB-CHC."""
    upper = number.upper()
    if upper.startswith("SC"):
        return "GB-SC"
    if upper.startswith("NI"):
        return "GB-NIC"
    return "GB-CHC"


def supplier_identifier(row: dict) -> dict | None:
    """The supplier's registered identifier: Companies House first, then a charity number."""
    company = row["supplier_company_number"] or row["resolved_company"]
    if company:
        return {"scheme": "GB-COH", "id": company}
    charity = row["supplier_charity_number"] or row["resolved_charity"]
    if charity:
        return {"scheme": charity_scheme(charity), "id": charity}
    return None


def _local_id(kind: str, text: str) -> str:
    return f"{kind}-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _party(name: str | None, role: str, fallback_id: str, identifier: dict | None) -> dict:
    party: dict = {
        "id": f"{identifier['scheme']}-{identifier['id']}" if identifier else fallback_id,
        "name": name,
        "roles": [role],
    }
    if identifier:
        party["identifier"] = {**identifier, "legalName": name}
    return _clean(party)


def _clean(value):
    """Drop empty fields (OCDS: omit rather than publish null)."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (_clean(v) for v in value) if v not in (None, "", [], {})]
    return value


def release(row: dict, ocid_prefix: str, published: str) -> dict:
    """One register entry (a row of `_register_sql`) as an OCDS 1.1 release."""
    ocid = ocid_prefix + _local_id(row["source_id"], row["contract_key"])
    buyer_name = row["buyer"] or row["buyer_name"]
    buyer = _party(
        buyer_name, "buyer", row["buyer_id"] or _local_id("buyer", buyer_name or ""), None
    )
    supplier_name = row["supplier"] or row["supplier_name"]
    supplier = _party(
        supplier_name,
        "supplier",
        row["supplier_id"] or _local_id("supplier", supplier_name or ""),
        supplier_identifier(row),
    )
    if not supplier.get("name") and not supplier.get("identifier"):  # no supplier printed
        parties, supplier = [buyer], None
    elif supplier["id"] == buyer["id"]:  # one body both buying and supplying: one party
        buyer["roles"].append("supplier")
        parties, supplier = [buyer], buyer
    else:
        parties = [buyer, supplier]
    contract_id = row["contract_ref"] or "contract"
    if row["start_date"]:
        contract_id += f"-{row['start_date']}"
    end = row["current_expiry_date"] or row["end_date"]
    max_end = row["max_end_date"]
    if max_end and end and max_end < end:  # an extension's end before the current one
        max_end = None
    value = _amount(row["total_value"])
    suppliers = [{"id": supplier["id"], "name": supplier.get("name")}] if supplier else []
    return _clean(
        {
            "ocid": ocid,
            "id": row["contract_id"],
            "date": _utc(row["ingested_at"]) if row["ingested_at"] else published,
            "tag": ["award", "contract"],
            "initiationType": "tender",
            "language": "en",
            "parties": parties,
            "buyer": {"id": buyer["id"], "name": buyer.get("name")},
            "tender": {
                "id": contract_id,
                "procurementMethodDetails": row["procedure"],
            },
            "awards": [
                {
                    "id": contract_id,
                    "title": row["title"],
                    "status": "active",
                    "suppliers": suppliers,
                    "value": value,
                }
            ],
            "contracts": [
                {
                    "id": contract_id,
                    "awardID": contract_id,
                    "title": row["title"],
                    "description": row["description"],
                    "period": {
                        "startDate": _instant(row["start_date"]),
                        "endDate": _instant(end, end=True),
                        "maxExtentDate": _instant(max_end, end=True),
                    },
                    "value": value,
                }
            ],
        }
    )


def _prefix(ocid_prefix: str | None) -> str:
    return ocid_prefix or os.environ.get("OVERSIGHT_OCID_PREFIX") or OCID_PREFIX


def _uri(uri: str | None) -> str:
    return uri or os.environ.get("OVERSIGHT_OCDS_URI") or PACKAGE_URI


def _header(uri: str | None, published: str) -> dict:
    """The package's fields but its releases."""
    return {
        "uri": _uri(uri),
        "version": VERSION,
        "publishedDate": published,
        "publisher": PUBLISHER,
    }


def iter_releases(
    con: duckdb.DuckDBPyConnection, ocid_prefix: str | None, published: str
) -> Iterator[dict]:
    """Every register entry in the warehouse as a release, a batch of rows at a time."""
    prefix = _prefix(ocid_prefix)
    tables = _tables(con)
    if "staging.contracts" not in tables:
        return
    cursor = con.execute(_register_sql(tables))
    names = [d[0] for d in cursor.description]
    while batch := cursor.fetchmany(10_000):
        for values in batch:
            yield release(dict(zip(names, values, strict=True)), prefix, published)


def build_package(
    con: duckdb.DuckDBPyConnection,
    *,
    ocid_prefix: str | None = None,
    uri: str | None = None,
    published: datetime | None = None,
) -> dict:
    """Every register entry in the warehouse as a release, in one OCDS 1.1 release package
    held in memory (for tests and small registers; `write_releases` streams the file)."""
    published_date = _utc(published or datetime.now(UTC))
    return _header(uri, published_date) | {
        "releases": list(iter_releases(con, ocid_prefix, published_date))
    }


def _fingerprint(
    con: duckdb.DuckDBPyConnection, ocid_prefix: str | None, uri: str | None, published: str | None
) -> str | None:
    """What the package would be made from: the register rows (hashed in DuckDB, in any
    order), the options, and this module's code; None when there is no register entry."""
    tables = _tables(con)
    if "staging.contracts" not in tables:
        return None
    rows, digest = con.execute(
        f"select count(*), bit_xor(hash(t)) from ({_register_sql(tables)}) t"
    ).fetchone()
    if not rows:
        return None
    options = [
        rows,
        digest,
        _prefix(ocid_prefix),
        _uri(uri),
        published,
        hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    ]
    return hashlib.sha256(json.dumps(options, default=str).encode()).hexdigest()


def write_releases(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    *,
    ocid_prefix: str | None = None,
    uri: str | None = None,
    published: datetime | None = None,
) -> Path | None:
    """The release package as `out/register-releases.json`, replaced whole or not at all;
    nothing is written when the warehouse holds no register entry. Written as it is built,
    one release per line (the package's fields first), so memory stays flat however many
    entries there are; the line layout is also what `grep` and `head` want.

    When the register rows, the options and this code are those the file was written from
    (`.register-releases.fingerprint` beside it), the file is left as it is, with its
    `publishedDate`: a night that brings only spend does not republish the registers (9 s
    at scale 1)."""
    from oversight.outputs.exports import _atomic  # the exports' own atomic write

    fingerprint = _fingerprint(con, ocid_prefix, uri, published and _utc(published))
    if fingerprint is None:
        return None
    target = out / FILE
    stamp = out / FINGERPRINT
    if target.is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
        return target
    published_date = _utc(published or datetime.now(UTC))
    releases = iter_releases(con, ocid_prefix, published_date)
    out.mkdir(parents=True, exist_ok=True)
    header = json.dumps(_header(uri, published_date), ensure_ascii=False)
    with _atomic(target) as partial, partial.open("w", encoding="utf-8") as f:
        f.write(header[:-1] + ', "releases": [\n')
        for n, entry in enumerate(releases):
            f.write((",\n" if n else "") + json.dumps(entry, ensure_ascii=False))
        f.write("\n]}\n")
    stamp.write_text(fingerprint)  # after the file: a crash between leaves a stale stamp
    return target
