"""Write the entity and link tables: `entities.suppliers`, `entities.supplier_mentions`,
`entities.buyers`, `entities.buyer_mentions` and `links.spend_contract`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from oversight.core.parameters import Parameters, load_parameters
from oversight.core.warehouse import atomic_retrying, has_tables, lend_memory, open_warehouse
from oversight.entities import entities, incremental, names, payees
from oversight.entities.entities import (
    Mention,
    Resolution,
    Resolved,
    normalise_buyer,
    resolve,
    resolve_columns,
)
from oversight.entities.incremental import incremental_part, references_within
from oversight.entities.links import build_links
from oversight.entities.matching import match_registers_to_notices

# Every distinct supplier mention, and the sources that print it (joined back onto the
# resolved mentions in SQL, so that Python holds only the three printed fields). The
# distinct (mention, source) pairs first, then a list of those: at scale 10 (14M payment
# lines) this took 3.3 s where `list(distinct source_id order by source_id)` took 6 s.
SUPPLIER_MENTIONS_SQL = """
select supplier_name as name, supplier_company_number as company_number,
       supplier_charity_number as charity_number, list_sort(list(source_id)) as sources
from (
    select distinct supplier_name, supplier_company_number, supplier_charity_number, source_id
    from (
        select supplier_name, supplier_company_number, supplier_charity_number, source_id
        from staging.spend
        union all
        select supplier_name, supplier_company_number, supplier_charity_number, source_id
        from staging.contracts
        union all
        select supplier_name, supplier_company_number, supplier_charity_number, source_id
        from staging.contract_suppliers
    )
    where supplier_name is not null or supplier_company_number is not null
       or supplier_charity_number is not null
)
group by all
"""

# Mentions printed under one contract reference of one register: the evidence that two
# numbers one character apart are a typo (`SG298533` / `SC298533`).
REFERENCES_SQL = """
select source_id || ' ' || contract_ref as reference,
       list(distinct {'name': supplier_name, 'number': supplier_company_number,
                      'charity': supplier_charity_number})
from staging.contracts
where contract_ref is not null and supplier_company_number is not null
group by 1 having count(distinct supplier_company_number) > 1
"""

# The class of a supplier, from its mentions: the strongest evidence wins.
CLASS_RANK = "list_position(['public_body', 'company', 'charity', 'sole_trader', 'unknown', \
'individual', 'redacted'], payee_class)"

BUYER_MENTIONS_SQL = """
select buyer_name as name, list_sort(list(source_id)) from (
    select distinct buyer_name, source_id from (
        select buyer_name, source_id from staging.spend
        union all select buyer_name, source_id from staging.contracts
        union all select buyer_name, source_id from staging.procurement_notices
    ) where buyer_name is not null
) group by all
"""


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("frame", frame)
    con.execute(f"create or replace table {table} as select * from frame")
    con.unregister("frame")


# An incremental build whose part reaches past this share of all mentions resolves them all.
INCREMENTAL_MAX_SHARE = 0.5

# A previous resolution can be extended only if it was made by the same code (this file
# too: it decides the stored columns), reference lists and threshold.
ENTITIES_CODE = hashlib.sha256(
    b"".join(
        Path(p).read_bytes()
        for p in (
            __file__,
            entities.__file__,
            incremental.__file__,
            names.__file__,
            payees.__file__,
            Path(names.__file__).parents[2] / "catalogue" / "payee_classes.yaml",
        )
    )
).hexdigest()[:16]


def references(con: duckdb.DuckDBPyConnection) -> dict[str, list[Mention]]:
    """Register mentions grouped by contract reference, where a reference carries two or more
    company numbers (the only groups that can hold a typo)."""
    return {
        ref: [Mention(m["name"], m["number"], m["charity"]) for m in group]
        for ref, group in con.execute(REFERENCES_SQL).fetchall()
    }


MENTION_COLUMNS = pa.schema(
    [
        ("name", pa.string()),
        ("company_number", pa.string()),
        ("charity_number", pa.string()),
        ("normalised_name", pa.string()),
        ("supplier_id", pa.string()),
        ("method", pa.string()),
        ("score", pa.float64()),
        ("payee_class", pa.string()),
        ("payee_evidence", pa.string()),
        ("identifier_conflict", pa.string()),
        ("aliases", pa.list_(pa.string())),
    ]
)


def _as_arrow(resolution: Resolution, chunk: int = 100_000) -> pa.Table:
    """The resolved mentions as Arrow columns (compact buffers DuckDB scans without a copy),
    built a chunk of mentions at a time from the resolution's own columns (an object per
    mention cost 13 s of a full resolution at scale 10 under the profiler)."""
    batches = [
        pa.record_batch(resolution.columns(start, start + chunk), schema=MENTION_COLUMNS)
        for start in range(0, len(resolution.items), chunk)
    ]
    return pa.Table.from_batches(batches, MENTION_COLUMNS)


def _same(a: str, b: str) -> str:
    """SQL: rows `a` and `b` are the same mention (name and numbers equal, nulls included)."""
    return " and ".join(
        f"{a}.{c} is not distinct from {b}.{c}"
        for c in ("name", "company_number", "charity_number")
    )


def _can_extend(con: duckdb.DuckDBPyConnection, threshold: float) -> bool:
    """Whether the stored resolution can be extended: made by this code with this threshold,
    and every mention it resolved still printed (else a file was replaced: build again)."""
    if not has_tables(con, "entities", ["supplier_build", "supplier_mentions", "suppliers"]):
        return False
    info = con.execute("select threshold, code from entities.supplier_build").fetchall()
    if info != [(threshold, ENTITIES_CODE)]:
        return False
    gone = con.execute(f"""
        select count(*) from entities.supplier_mentions k anti join mention_sources s
            on {_same("k", "s")}""").fetchall()[0][0]
    return gone == 0


def _incremental_part(
    con: duckdb.DuckDBPyConnection, threshold: float, refs: dict[str, list[Mention]]
) -> set[Mention] | None:
    """The mentions an incremental build resolves: the new ones (not in the stored
    resolution) and every stored one they can reach (`incremental_part`); None when that is
    most of them (a full build is no dearer)."""
    new = {
        Mention(*row)
        for row in con.execute(f"""
            select name, company_number, charity_number from mention_sources s
            anti join entities.supplier_mentions k
                on {_same("k", "s")}""").fetchall()
    }
    if not new:
        return set()
    # Where each stored mention went, with the key and aliases it was resolved on (so that
    # no stored name is taken apart again); one string per supplier, not one per mention.
    previous: dict[Mention, Resolved] = {}
    ids: dict[str, str] = {}
    for name, number, charity, supplier, method, key, aliases in con.execute(
        "select name, company_number, charity_number, supplier_id, method, normalised_name, "
        "aliases from entities.supplier_mentions"
    ).fetchall():
        supplier = ids.setdefault(supplier, supplier)
        previous[Mention(name, number, charity)] = Resolved(
            supplier, method, 0.0, key, aliases=tuple(aliases) if aliases else ()
        )
    del ids
    with lend_memory(con):
        return incremental_part(previous, new, refs, INCREMENTAL_MAX_SHARE)


def _mention_keys(mentions: Iterable[Mention]) -> pa.Table:
    ms = list(mentions)
    return pa.table(
        {
            "name": pa.array([m.name for m in ms], pa.string()),
            "company_number": pa.array([m.company_number for m in ms], pa.string()),
            "charity_number": pa.array([m.charity_number for m in ms], pa.string()),
        }
    )


# A resolved mention's columns in entities.supplier_mentions (`r`: a row of resolved_part),
# before the sources that print it.
RESOLVED_COLUMNS = """r.name, r.company_number, r.charity_number, r.normalised_name, r.aliases,
       r.supplier_id, r.method, r.score, r.method = 'personal' as is_personal,
       r.payee_class, r.payee_evidence, r.identifier_conflict"""


def _suppliers_sql(where: str) -> str:
    """SQL: entities.suppliers' rows of the suppliers whose mentions hold `where` (a condition
    on `supplier_id`), each from all of its rows in entities.supplier_mentions."""
    return f"""
        select supplier_id,
               -- the name printed most often; on a tie, not in capitals, then alphabetical
               first(name order by name_mentions desc, name = upper(name), name)
                   filter (where name is not null) as name,
               list_sort(list_distinct(list(name))) as names,
               min(company_number) filter (where identifier_conflict is null)
                   as company_number,
               min(charity_number) filter (where identifier_conflict is null)
                   as charity_number,
               list_sort(list_distinct(list(company_number)
                   filter (where identifier_conflict is null))) as company_numbers,
               first(payee_class order by {CLASS_RANK}, payee_evidence) as payee_class,
               first(payee_evidence order by {CLASS_RANK}, payee_evidence) as payee_evidence,
               list_sort(list_distinct(list(identifier_conflict))) as identifier_conflicts,
               list_sort(list_distinct(flatten(list(sources)))) as sources,
               count(*) as mentions,
               list_sort(list_distinct(list(method))) as methods,
               min(score) as min_score,
               bool_or(is_personal) as is_personal
        from (select *, count(*) over (partition by supplier_id, name) as name_mentions
              from entities.supplier_mentions where {where})
        group by supplier_id"""


def _write_incrementally(con: duckdb.DuckDBPyConnection) -> None:
    """Write an incremental build's result into the stored tables: the mentions resolved
    again (`part_mentions`) replaced by their new resolution (`resolved_part`), the sources
    of every other mention brought up to date (`mention_sources`: a known mention now printed
    by another source), and the suppliers those changes touch built again from their
    mentions. Every other row stays as it is: it is what a full build would write (a
    supplier's row depends on its mentions' rows alone). Rows are appended, so the tables are
    no longer in supplier order; `tests/test_incremental.py` compares them with a full build's."""
    # The stored rows of the part's mentions: found once, to delete and for their suppliers.
    con.execute(f"""
        create or replace temp table replaced as
        select k.rowid as row_id, k.supplier_id from entities.supplier_mentions k
            semi join part_mentions p on {_same("k", "p")}""")
    con.unregister("part_mentions")
    con.execute(f"""
        create or replace temp table touched as
        select supplier_id from replaced
        union
        select supplier_id from resolved_part
        union
        select k.supplier_id from entities.supplier_mentions k
            join mention_sources s on {_same("k", "s")}
            where k.sources <> s.sources""")
    con.execute(
        "delete from entities.supplier_mentions where rowid in (select row_id from replaced)"
    )
    con.execute(f"""
        update entities.supplier_mentions k set sources = s.sources
        from mention_sources s
        where {_same("k", "s")} and k.sources <> s.sources""")
    con.execute(f"""
        insert into entities.supplier_mentions
        select {RESOLVED_COLUMNS}, s.sources
        from resolved_part r
        join mention_sources s
          on {_same("r", "s")}""")
    con.execute("delete from entities.suppliers where supplier_id in (from touched)")
    con.execute("insert into entities.suppliers " + _suppliers_sql("supplier_id in (from touched)"))
    con.execute("drop table touched; drop table replaced")


def build_suppliers_at(warehouse: str, timeout: float | None = None) -> dict:
    """`build_suppliers` on the warehouse file `warehouse` with the parameters in force, in
    one transaction (run again on one thread if DuckDB runs out of memory); its counts, and
    `suppliers`, how many there are after. Opens the warehouse itself, so that the step can
    run it in a process of its own (`oversight.core.isolate.in_child`): resolution holds
    every distinct mention in Python, and that memory goes back to the system with the
    process."""
    with open_warehouse(warehouse, timeout=timeout) as con:
        counts = atomic_retrying(con, lambda: build_suppliers(con, load_parameters()))
        (counts["suppliers"],) = con.execute("select count(*) from entities.suppliers").fetchone()
    return counts


def build_suppliers(con: duckdb.DuckDBPyConnection, parameters: Parameters) -> dict:
    """Resolve every supplier mention in staging; returns counts by method (and `build`:
    `full`, or `incremental` when only mentions new since the last build were resolved
    against it)."""
    threshold = parameters.entities.supplier_fuzzy_threshold
    # Aggregated once; Python gets the three printed fields it resolves, the sources wait in
    # DuckDB, and so do the stored mentions an incremental build keeps.
    con.execute(f"create or replace temp table mention_sources as {SUPPLIER_MENTIONS_SQL}")
    refs = references(con)
    part = _incremental_part(con, threshold, refs) if _can_extend(con, threshold) else None
    build = "full" if part is None else "incremental"
    if part is None:  # everything: first build, new code or threshold, mentions gone
        found = con.execute(
            "select name, company_number, charity_number from mention_sources"
        ).fetchall()
        part = {Mention(*row) for row in found}
        del found
    else:
        refs = references_within(refs, part)
    # While Python resolves (about 1 GB at scale 10), DuckDB lends it the memory its pages
    # held; no query runs inside.
    with lend_memory(con):
        resolution = resolve_columns(part, threshold, references=refs, with_entities=False)
        del refs
        table = _as_arrow(resolution)
        del resolution
    con.register("resolved_part", table)
    del table
    if build == "incremental":
        con.register("part_mentions", _mention_keys(part))
    # The mentions (1.2M at scale 10: about 200 MB) and the name caches (about 100 MB at
    # scale 1) go before DuckDB writes.
    del part
    names.forget_names()
    con.execute("create schema if not exists entities")
    if build == "incremental":
        _write_incrementally(con)
    else:
        con.execute(f"""
            create or replace table entities.supplier_mentions as
            select {RESOLVED_COLUMNS}, s.sources
            from resolved_part r
            join mention_sources s
              on {_same("r", "s")}
            order by r.supplier_id, r.name, r.company_number, r.charity_number""")
        con.execute(
            f"create or replace table entities.suppliers as {_suppliers_sql('true')} "
            "order by supplier_id"
        )
    con.unregister("resolved_part")
    con.execute("drop table mention_sources")
    # A number printed with two dissimilar names: the minority name, where it went, and the
    # supplier that keeps the number.
    con.execute("""
        create or replace table entities.identifier_conflicts as
        select m.identifier_conflict as number, m.name, m.supplier_id, m.sources,
               k.supplier_id as number_kept_by, k.name as number_kept_by_name
        from entities.supplier_mentions m
        left join entities.suppliers k
               on list_contains(k.company_numbers, m.identifier_conflict)
               or k.charity_number = m.identifier_conflict
        where m.identifier_conflict is not null
        order by number, m.name""")
    con.execute(
        "create or replace table entities.supplier_build as select ?::double as threshold, "
        "?::varchar as code",
        [threshold, ENTITIES_CODE],
    )
    counts = dict(
        con.execute(
            "select method, count(*) from entities.supplier_mentions group by 1 order by 1"
        ).fetchall()
    )
    return {**counts, "build": build}


def build_buyers(con: duckdb.DuckDBPyConnection, parameters: Parameters) -> dict:
    """Resolve buyer names ("Salford City Council", "Salford Council") into buyers."""
    rows = con.execute(BUYER_MENTIONS_SQL).fetchall()
    sources = {Mention(n): s for n, s in rows}
    resolved, entities = resolve(
        sources,
        parameters.entities.buyer_fuzzy_threshold,
        normalise=normalise_buyer,
        prefix="buyer",
    )
    con.execute("create schema if not exists entities")
    _replace(
        con,
        "entities.buyer_mentions",
        pd.DataFrame(
            [
                (m.name, normalise_buyer(m.name), r.entity_id, r.method, r.score, sources[m])
                for m, r in resolved.items()
            ],
            columns=["name", "normalised_name", "buyer_id", "method", "score", "sources"],
        ),
    )
    con.execute("""
        create or replace table entities.buyers as
        select buyer_id, first(name order by name = upper(name), length(name) desc, name) as name,
               list_sort(list(name)) as names,
               list_sort(list_distinct(flatten(list(sources)))) as sources,
               list_sort(list_distinct(list(method))) as methods
        from entities.buyer_mentions group by 1 order by 1""")
    return {"buyers": len(entities), "names": len(resolved)}


def resolve_and_link(con: duckdb.DuckDBPyConnection, parameters: Parameters) -> None:
    """Everything between staging and the marts, in the order the assets run it: register
    entries matched to notices, suppliers, buyers, then payments linked to contracts."""
    match_registers_to_notices(con)
    build_suppliers(con, parameters)
    build_buyers(con, parameters)
    build_links(con, parameters)
