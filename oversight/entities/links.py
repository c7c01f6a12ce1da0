"""Link every payment to the contract it most likely pays (`links.spend_contract`), in full or
incrementally.

What a payment's link depends on is small and explicit: its own row in `staging.spend`, its
buyer and supplier mentions (`entities.buyer_mentions`, `entities.supplier_mentions` and its
supplier's payee class), the contracts of its buyer-supplier pair, and the link parameters.
None of it depends on the as-of date. `link_inputs.sql` gathers those inputs (`links.input_*`);
after each build they are stored (`links.built_from_*`), and the next build compares:

- a spend file that is new, gone, superseded, or whose rows changed (a hash of the columns
  linking reads) has its payments linked again (or removed);
- a supplier or buyer mention whose resolution changed has its payments linked again;
- a buyer-supplier pair whose contracts changed (a new register row, a moved end date, a
  contract whose supplier resolved differently) has its payments linked again;
- every other stored link is kept as it is: it is what a full build would compute.

Changed link code or parameters, no stored inputs, or more than `INCREMENTAL_MAX_SHARE` of
all payments to link again mean a full build. `tests/test_links.py` checks that an
incremental build equals a full one.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import duckdb

from oversight.core.parameters import Parameters

# An incremental build that would link more than this share of all payments again links
# them all: the candidates step is the cost, and a full build then costs no more.
INCREMENTAL_MAX_SHARE = 0.5

_SQL = resources.files("oversight.entities")
# A stored link can be kept only if it was computed by the same SQL and this file.
LINKS_CODE = hashlib.sha256(
    b"".join(
        _SQL.joinpath(name).read_bytes()
        for name in ("contract_entries.sql", "link_inputs.sql", "spend_contract.sql", "links.py")
    )
).hexdigest()[:16]

# The inputs link_inputs.sql builds (links.input_*), kept after the build as what it was
# computed from (links.built_from_*).
INPUTS = ("contracts", "mentions", "buyers", "files")

KEY = ("source_id", "file_path", "part", "row_number")


def _settings(parameters: Parameters) -> str:
    """The parameters a link depends on, as one comparable text."""
    return json.dumps(
        {
            "start_margin_days": parameters.links.start_margin_days,
            "grace_days": parameters.links.grace_days,
            "market_classes": list(parameters.payees.market_classes),
            "grant_expense_pattern": parameters.payees.grant_expense_pattern,
        },
        sort_keys=True,
    )


def _on(a: str, b: str, columns: tuple[str, ...]) -> str:
    """SQL: rows `a` and `b` agree on `columns`, nulls included."""
    return " and ".join(f"{a}.{c} is not distinct from {b}.{c}" for c in columns)


def _changed(name: str, columns: str) -> str:
    """SQL: the distinct `columns` of rows in today's input `name` or in the stored one, but
    not in both."""
    now, before = f"links.input_{name}", f"links.built_from_{name}"
    return (
        f"select distinct {columns} from ((from {now} except all from {before}) "
        f"union all (from {before} except all from {now}))"
    )


def _stored_build(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(code, settings) of the stored links, or None when there is nothing to extend."""
    wanted = ["spend_contract", "link_build", *(f"built_from_{t}" for t in INPUTS)]
    found = con.execute(  # (no failing query: it would abort the caller's transaction)
        "select count(*) from duckdb_tables() where schema_name = 'links' "
        "and table_name in (select unnest(?::varchar[]))",
        [wanted],
    ).fetchall()[0][0]
    if found < len(wanted):
        return None
    rows = con.execute("select code, settings from links.link_build").fetchall()
    return rows[0] if len(rows) == 1 else None


def _relink_scope(con: duckdb.DuckDBPyConnection) -> int:
    """Compare the inputs with those the stored links were computed from; leave in temp
    tables the payments to link again (`relink`) and the files whose stored links go
    (`gone_files`). Returns the number of payments to link again."""
    con.execute(f"""
        create or replace temp table changed_pairs as
        {_changed("contracts", "buyer_id, supplier_id")}""")
    con.execute(f"""
        create or replace temp table changed_mentions as
        {_changed("mentions", "name, company_number, charity_number")}""")
    con.execute(f"""
        create or replace temp table changed_buyers as
        {_changed("buyers", "name")}""")
    for name, now, before in (("new", "input", "built_from"), ("gone", "built_from", "input")):
        con.execute(f"""
            create or replace temp table {name}_files as select source_id, file_path
            from (from links.{now}_files except from links.{before}_files)""")
    mention = " and ".join(
        f"s.supplier_{c} is not distinct from c.{c}"
        for c in ("name", "company_number", "charity_number")
    )
    keys = ", ".join(KEY)
    con.execute(f"""
        create or replace temp table relink as
        select {keys} from staging.spend semi join new_files using (source_id, file_path)
        union
        select {keys} from staging.spend s semi join changed_mentions c on {mention}
        union
        select {keys} from staging.spend semi join changed_buyers c on c.name = buyer_name
        union
        select {keys} from links.spend_contract semi join changed_pairs c
            using (buyer_id, supplier_id)""")
    return con.execute("select count(*) from relink").fetchall()[0][0]


def build_links(con: duckdb.DuckDBPyConnection, parameters: Parameters) -> dict:
    """Group contract entries into contracts (`links.contract_entries`), then link every
    payment to the contract entry it most likely pays (or to none): only the payments whose
    inputs changed when the stored links allow it (module docstring). Returns the number of
    payments by method, and `build` (`full` or `incremental`) and `relinked` (payments
    linked in this build)."""
    con.execute("create schema if not exists links")
    con.execute(_SQL.joinpath("contract_entries.sql").read_text("utf-8"))
    con.execute("set variable start_margin_days = ?", [parameters.links.start_margin_days])
    con.execute("set variable grace_days = ?", [parameters.links.grace_days])
    con.execute(
        "set variable market_classes = ?::varchar[]", [list(parameters.payees.market_classes)]
    )
    con.execute("set variable grant_expense_pattern = ?", [parameters.payees.grant_expense_pattern])
    con.execute(_SQL.joinpath("link_inputs.sql").read_text("utf-8"))
    select = _SQL.joinpath("spend_contract.sql").read_text("utf-8").strip().rstrip(";")
    settings = _settings(parameters)

    relink = None
    if _stored_build(con) == (LINKS_CODE, settings):
        relink = _relink_scope(con)
        total = con.execute("select sum(payments) from links.input_files").fetchall()[0][0] or 0
        if relink > INCREMENTAL_MAX_SHARE * total:
            relink = None
    if relink is None:
        con.execute("create or replace temp view spend_to_link as "
                    "select rowid as pid, * from staging.spend")  # fmt: skip
        con.execute(f"create or replace table links.spend_contract as {select}")
    else:
        on = _on("s", "r", KEY)
        con.execute(f"""
            create or replace temp view spend_to_link as
            select s.rowid as pid, s.* from staging.spend s semi join relink r on {on}""")
        con.execute(f"""
            delete from links.spend_contract s
            where exists (select 1 from relink r where {on})
               or exists (select 1 from gone_files g where {_on("s", "g", KEY[:2])})""")
        con.execute(f"insert into links.spend_contract by name {select}")
    for name in INPUTS:
        con.execute(f"drop table if exists links.built_from_{name}")
        con.execute(f"alter table links.input_{name} rename to built_from_{name}")
    con.execute(
        "create or replace table links.link_build as "
        "select ?::varchar as code, ?::varchar as settings",
        [LINKS_CODE, settings],
    )
    counts = dict(
        con.execute(
            "select method, count(*) from links.spend_contract group by 1 order by 1"
        ).fetchall()
    )
    if relink is None:
        return {**counts, "build": "full", "relinked": sum(counts.values())}
    return {**counts, "build": "incremental", "relinked": relink}
