"""Oversight indicators (README, Indicators): the SQL beside this module (`*.sql`), run with the
parameters from `catalogue/parameters.yaml` and an as-of date."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from oversight.core import settings
from oversight.core.catalogue import Catalogue
from oversight.core.parameters import Parameters
from oversight.core.warehouse import has_tables
from oversight.entities.links import changes_since, current_build
from oversight.indicators.shares import build_supplier_shares

# What notices carry, in the canonical contract columns (no review dates or owners).
NOTICE_FIELDS = (
    "contract_ref",
    "title",
    "description",
    "buyer_name",
    "procedure",
    "supplier_name",
    "supplier_company_number",
    "supplier_charity_number",
    "sme",
    "vcse",
    "total_value",
    "start_date",
    "end_date",
    "category_code",
    "category",
    "status",
)


def _sql(name: str) -> str:
    return resources.files("oversight.indicators").joinpath(name).read_text("utf-8")


def data_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The date the data speaks for: the last day of the month of the newest realistic payment
    date (1990 to today; a date in the future is a typing slip, not the newest payment), but
    never after today. None when there are no payments."""
    newest = con.execute(
        "select max(payment_date) from staging.spend "
        "where payment_date between date '1990-01-01' and current_date"
    ).fetchone()[0]
    if newest is None:
        return None
    month_end = date(newest.year + newest.month // 12, newest.month % 12 + 1, 1) - timedelta(1)
    return min(month_end, date.today())


# The Procurement Act 2023 applies to procurements commenced on or after this date (the
# Procurement Act 2023 (Commencement No. 3 and Transitional and Saving Provisions)
# Regulations 2024): a statutory date, not a tunable threshold.
ACT_COMMENCED = date(2025, 2, 24)
# s71 (assessment of contract performance, OV05) is in force from this date: no assessment is
# due for a period before it.
S71_IN_FORCE = date(2026, 1, 1)
# s70 (payments over £30,000 published, OV15) applies to contracts whose procurement commenced
# on or after this date.
S70_IN_FORCE = date(2026, 4, 1)

# Which Procurement Act 2023 duty each carve-out lifts (staging.contracts.act_carve_outs, read
# from the notices by oversight/ingest/ocds_compile.py): section -> (the duty, its indicators, the
# carve-outs that lift it). Read from the Act's sections by the project, not verified line by line
# against legislation.gov.uk (docs/indicators.md, "Carve-outs").
ACT_CARVE_OUTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "s52": (
        "KPIs set and published",
        ("OV04",),
        ("framework", "concession", "light touch", "private utility"),
    ),
    "s71": (
        "performance assessed and published",
        ("OV05", "OV06"),
        ("framework", "concession", "light touch", "private utility"),
    ),
    "s75": ("change notices", ("OV10",), ("light touch", "private utility")),
    "s70": ("payments over £30,000 published", ("OV15",), ("framework", "private utility")),
}


def set_variables(con: duckdb.DuckDBPyConnection, parameters: Parameters, as_of: date) -> None:
    con.execute("set variable as_of = ?::date", [as_of.isoformat()])
    con.execute("set variable act_commenced = ?::date", [ACT_COMMENCED.isoformat()])
    con.execute("set variable s71_in_force = ?::date", [S71_IN_FORCE.isoformat()])
    con.execute("set variable s70_in_force = ?::date", [S70_IN_FORCE.isoformat()])
    for section, (_, _, carve_outs) in ACT_CARVE_OUTS.items():
        con.execute(f"set variable carve_outs_{section} = ?::varchar[]", [list(carve_outs)])
    for group in (parameters.indicators, parameters.concentration):
        for name, value in group.model_dump().items():
            if name != "as_of":
                con.execute(f"set variable {name} = ?", [value])
    con.execute(
        "set variable market_classes = ?::varchar[]", [list(parameters.payees.market_classes)]
    )
    con.execute("set variable min_confidence = ?", [parameters.links.min_confidence])


def source_fields(catalogue: Catalogue) -> pd.DataFrame:
    """Which canonical columns each source publishes (a rule needing one it does not
    publish answers unknown)."""
    rows = []
    for source in catalogue.sources:
        fields = NOTICE_FIELDS if source.kind == "ocds" else catalogue.source_columns(source.id)
        rows += [(source.id, f) for f in fields]
    return pd.DataFrame(rows, columns=["source_id", "field"])


def build_contract_oversight(
    con: duckdb.DuckDBPyConnection, catalogue: Catalogue, parameters: Parameters, as_of: date
) -> int:
    set_variables(con, parameters, as_of)
    con.register("source_fields", source_fields(catalogue))
    con.execute(_sql("contract_oversight.sql"))
    con.unregister("source_fields")
    return con.execute("select count(*) from marts.contract_oversight").fetchall()[0][0]


def strategic_suppliers(con: duckdb.DuckDBPyConnection, path=None) -> pd.DataFrame:
    """Resolved suppliers in the strategic-supplier reference list (SC05): a listed company
    number, or a normalised name equal to (or starting with) a listed one; the first group
    listed wins."""
    path = Path(path or settings.PROJECT_ROOT / "catalogue" / "strategic_suppliers.yaml")
    groups = yaml.safe_load(path.read_text())["groups"]
    listed = pd.DataFrame(
        [
            (order, group, name, None)
            for order, (group, spec) in enumerate(groups.items())
            for name in spec.get("names", [])
        ]
        + [
            (order, group, None, number)
            for order, (group, spec) in enumerate(groups.items())
            for number in spec.get("company_numbers", [])
        ],
        columns=["group_order", "strategic_group", "name_key", "company_number"],
    )
    con.register("strategic_list", listed)
    try:
        # A name equal to a listed one, or starting with it and a space, starts with its
        # first word: only mentions with a listed first word (or suppliers with a listed
        # number) are compared with the list (1.1M mentions at scale 10: 0.55-0.73 s -> 0.14-0.17
        # s, the query alone).
        return con.execute("""
            with m as (
                select distinct name, normalised_name from entities.supplier_mentions
                where split_part(normalised_name, ' ', 1) in
                      (select split_part(name_key, ' ', 1) from strategic_list)
            ), candidates as (
                select s.supplier_id, s.company_number, m.normalised_name
                from entities.suppliers s left join m on m.name = s.name
                where not s.is_personal
                  and (m.name is not null
                       or s.company_number in (select company_number from strategic_list))
            )
            select c.supplier_id, l.strategic_group
            from candidates c
            join strategic_list l
              on c.company_number = l.company_number
              or c.normalised_name = l.name_key
              or starts_with(c.normalised_name, l.name_key || ' ')
            qualify row_number() over (partition by c.supplier_id order by l.group_order) = 1
            order by c.supplier_id""").df()
    finally:
        con.unregister("strategic_list")


# Stored values can be extended only if they were computed by the same SQL and this file.
VALUES_CODE = hashlib.sha256(
    _sql("concentration_values.sql").encode() + Path(__file__).read_bytes()
).hexdigest()[:16]
VALUE_KEY = ("basis", "buyer_id", "category_scheme", "category", "fy", "supplier_id")


def _values_read(con: duckdb.DuckDBPyConnection) -> tuple[str | None, int | None, str | None]:
    """(links epoch, links build) the stored values were computed from, and the token
    written with them; (None, None, None) when there are none to extend (none stored, or
    computed by other SQL)."""
    if not has_tables(con, "marts", ["concentration_values", "concentration_build"]):
        return None, None, None
    rows = con.execute("from marts.concentration_build").fetchall()
    names = [d[0] for d in con.description]
    if len(rows) != 1 or "token" not in names or rows[0][0] != VALUES_CODE:
        return None, None, None
    build = dict(zip(names, rows[0], strict=True))
    return build["links_epoch"], build["links_build"], build["token"]


def values_token(con: duckdb.DuckDBPyConnection) -> str | None:
    """The random token written with the stored values (`marts.concentration_build.token`):
    what is built from them (`marts.supplier_shares`) records it, to know that it was built
    from these values and no others. None when there are no values to extend."""
    return _values_read(con)[2]


# The (basis, financial year) pairs whose contracted values ('all' categories) a build
# changes: the stored values against the new ones (value_changes), before they replace them.
_CONTRACTED_CHANGED = """
    select distinct coalesce(o.basis, n.basis) as basis, coalesce(o.fy, n.fy) as fy
    from (from marts.concentration_values
          where basis = 'contracted value' and category_scheme = 'all') o
    full join (from value_changes
               where basis = 'contracted value' and category_scheme = 'all') n
      on o.buyer_id = n.buyer_id and o.supplier_id = n.supplier_id
     and o.fy is not distinct from n.fy
    where o.basis is null or n.basis is null or o.value is distinct from n.value"""


def build_concentration_values(con: duckdb.DuckDBPyConnection) -> dict:
    """`marts.concentration_values`, the values concentration is measured on: from every
    link (a full build), or the stored values plus the links' changes since they were built
    (`links.spend_contract_changes`; the result equals a full build's, which
    `tests/test_incremental.py` checks after each kind of change). Contracted values are built in
    full each time. Needs the variable `market_classes` (`set_variables`). Returns `build`
    (`full` or `incremental`), `links` (the link rows read) and `touched`: the (basis,
    financial year) pairs whose 'all' values may have changed, None after a full build (every
    pair)."""
    epoch, since, _ = _values_read(con)
    read = changes_since(con, epoch, since)
    if read == "all":
        links = "select 1::tinyint as change, * from links.spend_contract"
    elif read == "changes":
        links = f"select * from links.spend_contract_changes where build > {int(since)}"
    else:  # no links build since: only the contracted values are built again
        links = "select * from links.spend_contract_changes limit 0"
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace temp view spend_changes as {links}")
    con.execute(_sql("concentration_values.sql"))
    touched = None
    if read == "all":
        con.execute("create or replace table marts.concentration_values as from value_changes")
    else:
        spend = "select distinct basis, fy from value_changes where basis = 'spend'"
        touched = con.execute(f"{spend} union {_CONTRACTED_CHANGED}").fetchall()
        on = " and ".join(f"v.{c} is not distinct from d.{c}" for c in VALUE_KEY)
        con.execute(f"""
            merge into marts.concentration_values v
            using (from value_changes where basis = 'spend') d on ({on})
            when matched and v.counted + d.counted = 0 then delete
            when matched then update set
                value = case when v.valued + d.valued > 0
                             then coalesce(v.value, 0) + coalesce(d.value, 0) end,
                counted = v.counted + d.counted, valued = v.valued + d.valued
            when not matched and d.counted <> 0 then insert by name""")
        con.execute("delete from marts.concentration_values where basis = 'contracted value'")
        con.execute(
            "insert into marts.concentration_values "
            "from value_changes where basis = 'contracted value'"
        )
    epoch, build = current_build(con)
    con.execute(
        "create or replace table marts.concentration_build as "
        "select ?::varchar as code, ?::varchar as links_epoch, ?::bigint as links_build, "
        "gen_random_uuid()::varchar as token",
        [VALUES_CODE, epoch, build],
    )
    read_rows = con.execute("select count(*) from spend_changes").fetchall()[0][0]
    con.execute("drop view spend_changes")
    build = "full" if read == "all" else "incremental"
    return {"build": build, "links": read_rows, "touched": touched}


def build_concentration(
    con: duckdb.DuckDBPyConnection, parameters: Parameters, as_of: date
) -> dict:
    """SC01-SC06 (`marts.supplier_concentration`, `marts.supplier_shares`) from
    `marts.concentration_values`, which is built first. Returns the concentration rows
    (`rows`), how the values were built (`build_concentration_values`) and which of the
    shares' partitions were built again (`build_supplier_shares`)."""
    set_variables(con, parameters, as_of)
    before = values_token(con)
    values = build_concentration_values(con)
    touched = values.pop("touched")
    # as text even when empty: an empty frame's columns would register as DuckDB's NULL type,
    # and the shares' strategic_group with them
    con.register("strategic", strategic_suppliers(con).astype("string"))
    con.execute(_sql("supplier_concentration.sql"))
    shares = build_supplier_shares(con, before, touched)
    con.unregister("strategic")
    rows = con.execute("select count(*) from marts.supplier_concentration").fetchall()[0][0]
    return {"rows": rows, **values, **shares}


def build_scorecard(con: duckdb.DuckDBPyConnection, parameters: Parameters, as_of: date) -> int:
    set_variables(con, parameters, as_of)
    con.execute(_sql("buyer_scorecard.sql"))
    return con.execute("select count(*) from marts.buyer_scorecard").fetchall()[0][0]


def build_marts(
    con: duckdb.DuckDBPyConnection, catalogue: Catalogue, parameters: Parameters, as_of: date
) -> None:
    """The indicator marts, in dependency order: oversight, concentration, scorecard."""
    build_contract_oversight(con, catalogue, parameters, as_of)
    build_concentration(con, parameters, as_of)
    build_scorecard(con, parameters, as_of)
