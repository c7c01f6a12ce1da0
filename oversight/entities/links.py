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
all payments to link again mean a full build. `tests/test_incremental.py` checks that an
incremental build equals a full one.

Each build is numbered (`links.link_build.build`), and each incremental build logs what it
changed in `links.spend_contract_changes`: every link it removed (`change` -1) and every link
it added (+1), as whole rows. A step that derives something from the links (supplier
concentration's values) can then apply the changes since the build it last read instead of
reading all the links again (`changes_since`). A full build starts a new log (a new `epoch`);
when the log outgrows a quarter of the links, it keeps only the latest build's changes
(`log_from` says which builds it still holds), and a reader whose builds it no longer holds
reads everything again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from importlib import resources

import duckdb

from oversight.core.parameters import Parameters
from oversight.core.warehouse import has_tables

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

# When the change log holds more rows than this share of the links, the builds before the
# latest are dropped from it: it is read by steps that run after every links build (a
# nightly run reads one build's changes), and a step further behind reads every link.
LOG_MAX_SHARE = 0.25

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
    not in both (as many times: a row's copies are counted). Rows are compared by the 64-bit
    hash of the whole row, as `links.input_files` compares a file's rows: a changed row
    is missed only if its hash equals another row's (for a million changed rows among 1.2M,
    under one chance in ten million). At scale 10: 1.1 s for the 1.2M mentions and 0.3 s
    for the 500k contracts, where `except all` both ways took 3.0 and 1.9 s."""
    now, before = f"links.input_{name}", f"links.built_from_{name}"
    first = ", ".join(f"any_value({c.strip()}) as {c.strip()}" for c in columns.split(","))
    rows = "select hash(t) as row_hash, count(*) as copies, {first} from {table} t group by 1"
    return f"""
        with now as ({rows.format(first=first, table=now)}),
             before as ({rows.format(first=first, table=before)})
        select distinct {columns} from (
            (select {columns} from now anti join before using (row_hash, copies))
            union all
            (select {columns} from before anti join now using (row_hash, copies)))"""


BUILD_COLUMNS = "code, settings, build, epoch, log_from"


def _stored_build(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(code, settings, build, epoch, log_from) of the stored links, or None when there is
    nothing to extend."""
    wanted = ["spend_contract", "link_build", "spend_contract_changes"]
    if not has_tables(con, "links", wanted + [f"built_from_{t}" for t in INPUTS]):
        return None
    names = {r[0] for r in con.execute("describe links.link_build").fetchall()}
    if not {c.strip() for c in BUILD_COLUMNS.split(",")} <= names:
        return None  # a warehouse from before builds were numbered
    rows = con.execute(f"select {BUILD_COLUMNS} from links.link_build").fetchall()
    return rows[0] if len(rows) == 1 else None


def changes_since(con: duckdb.DuckDBPyConnection, epoch: str | None, build: int | None) -> str:
    """What a reader that last read build `build` of log `epoch` must do now: `'none'` (no
    build since), `'changes'` (the changes of every later build are in
    `links.spend_contract_changes`, `where build > {build}`) or `'all'` (read every link
    again: a full build since, or the log no longer holds the builds it needs)."""
    if epoch is None or build is None:
        return "all"
    stored = _stored_build(con)
    if stored is None or stored[3] != epoch or build > stored[2]:
        return "all"
    if build == stored[2]:
        return "none"
    return "changes" if build + 1 >= stored[4] else "all"


def current_build(con: duckdb.DuckDBPyConnection) -> tuple[str | None, int | None]:
    """(epoch, build) of the links as they stand: what a reader records having read;
    (None, None) for links with no numbered build."""
    stored = _stored_build(con)
    return (stored[3], stored[2]) if stored is not None else (None, None)


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


def _relink(con: duckdb.DuckDBPyConnection, select: str, build: int) -> None:
    """Replace the stored links of the payments in `relink` (and drop those of `gone_files`)
    with new ones from `select`, logging both in `links.spend_contract_changes`."""
    on = _on("s", "r", KEY)
    con.execute(f"""
        create or replace temp view spend_to_link as
        select s.rowid as pid, s.* from staging.spend s semi join relink r on {on}""")
    con.execute(f"""
        create or replace temp table unlinked as
        select s.rowid as link_row from links.spend_contract s
        where exists (select 1 from relink r where {on})
           or exists (select 1 from gone_files g where {_on("s", "g", KEY[:2])})""")
    con.execute(
        "insert into links.spend_contract_changes by name "
        "select ?::bigint as build, -1::tinyint as change, * from links.spend_contract "
        "where rowid in (select link_row from unlinked)",
        [build],
    )
    con.execute("delete from links.spend_contract where rowid in (select link_row from unlinked)")
    con.execute(f"create or replace temp table linked as {select}")
    con.execute("insert into links.spend_contract by name from linked")
    con.execute(
        "insert into links.spend_contract_changes by name "
        "select ?::bigint as build, 1::tinyint as change, * from linked",
        [build],
    )
    con.execute("drop table linked")


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
    stored = _stored_build(con)
    if stored is not None and stored[:2] == (LINKS_CODE, settings):
        relink = _relink_scope(con)
        total = con.execute("select sum(payments) from links.input_files").fetchall()[0][0] or 0
        if relink > INCREMENTAL_MAX_SHARE * total:
            relink = None
    build = (stored[2] if stored is not None else 0) + 1
    if relink is None:
        con.execute("create or replace temp view spend_to_link as "
                    "select rowid as pid, * from staging.spend")  # fmt: skip
        con.execute(f"create or replace table links.spend_contract as {select}")
        con.execute(
            "create or replace table links.spend_contract_changes as select 0::bigint as build,"
            " 0::tinyint as change, * from links.spend_contract limit 0"
        )
        epoch, log_from = uuid.uuid4().hex, build + 1
    else:
        _relink(con, select, build)
        epoch, log_from = stored[3], stored[4]
        logged, links = con.execute(
            "select (select count(*) from links.spend_contract_changes), "
            "(select count(*) from links.spend_contract)"
        ).fetchall()[0]
        if logged > LOG_MAX_SHARE * links:
            con.execute("delete from links.spend_contract_changes where build < ?", [build])
            log_from = build
    for name in INPUTS:
        con.execute(f"drop table if exists links.built_from_{name}")
        con.execute(f"alter table links.input_{name} rename to built_from_{name}")
    con.execute(
        f"create or replace table links.link_build ({BUILD_COLUMNS}) as "
        "select ?::varchar, ?::varchar, ?::bigint, ?::varchar, ?::bigint",
        [LINKS_CODE, settings, build, epoch, log_from],
    )
    counts = dict(
        con.execute(
            "select method, count(*) from links.spend_contract group by 1 order by 1"
        ).fetchall()
    )
    if relink is None:
        return {**counts, "build": "full", "relinked": sum(counts.values())}
    return {**counts, "build": "incremental", "relinked": relink}
