"""A new month built incrementally: supplier resolution, the links and what supplier
concentration builds from them equal a full build of everything, after a month and after each
kind of change an incremental build can see."""

from datetime import date

import pytest

from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link


def sample_without_newest_months(tmp_path):
    """A copy of the embedded sample with the newest month of two spend sources held back
    (renamed `.held`): (its catalogue, the held files; `put_back` restores them)."""
    import shutil

    from oversight.core.catalogue import load_catalogue
    from tests.conftest import PROJECT

    raw = tmp_path / "raw"
    shutil.copytree(PROJECT / "data" / "raw", raw)
    held = [raw / "northmoor/spend/2026-08.csv", raw / "kelder/spend/2026-09.csv"]
    for path in held:
        path.rename(path.with_suffix(".held"))
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    return catalogue.model_copy(update={"raw_dir": raw}), held


def put_back(held) -> None:
    for path in held:
        path.with_suffix(".held").rename(path)


@pytest.mark.parametrize(("cap", "build"), [(0.5, "incremental"), (0.0, "full")])
def test_a_new_month_extends_the_supplier_resolution_with_the_full_result(
    tmp_path, monkeypatch, cap, build
):
    """The sample without its newest months, resolved; then with them, resolved
    incrementally (or, when the part to resolve again is past the cap, in full): the tables
    equal those of a full resolution of everything."""
    from oversight.entities import resolution
    from oversight.entities.resolution import build_suppliers
    from tests.conftest import ingest_all

    monkeypatch.setattr(resolution, "INCREMENTAL_MAX_SHARE", cap)

    catalogue, held = sample_without_newest_months(tmp_path)
    parameters = load_parameters()
    tables = "select * from entities.{} order by all"
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    with open_warehouse(warehouse) as con:
        assert build_suppliers(con, parameters)["build"] == "full"
    put_back(held)
    ingest_all(catalogue, warehouse)
    with open_warehouse(warehouse) as con:
        # A new name, and a known one now printed by another source too: its mention's
        # sources, and its supplier's, change though its resolution does not.
        (known,) = con.execute(
            "select name from entities.supplier_mentions where company_number is null "
            "and charity_number is null and not is_personal order by name limit 1"
        ).fetchone()
        con.execute("insert into staging.spend (source_id, file_path, supplier_name, amount) "
                    "values ('x', 'x.csv', 'Brand New Supplier Ltd', 1), "
                    "('x', 'x.csv', ?, 1)", [known])  # fmt: skip
        assert build_suppliers(con, parameters)["build"] == build
        compared = ("suppliers", "supplier_mentions", "identifier_conflicts")
        incremental = {t: con.execute(tables.format(t)).fetchall() for t in compared}
        con.execute("drop table entities.supplier_build")
        assert build_suppliers(con, parameters)["build"] == "full"
        for t, rows in incremental.items():
            assert con.execute(tables.format(t)).fetchall() == rows, t
        sources = con.execute(
            "select m.sources, s.sources from entities.supplier_mentions m "
            "join entities.suppliers s using (supplier_id) where m.name = ?",
            [known],
        ).fetchall()
    assert any(r[0] == "Brand New Supplier Ltd" for r in incremental["supplier_mentions"])
    assert len(sources) == 1 and "x" in sources[0][0] and "x" in sources[0][1]


@pytest.fixture(scope="module")
def month_apart(tmp_path_factory):
    """The sample ingested without its newest months and linked (a full build); then with
    them. Returns the warehouse, ready for a second build."""
    from tests.conftest import ingest_all

    tmp_path = tmp_path_factory.mktemp("month_apart")
    catalogue, held = sample_without_newest_months(tmp_path)
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    with open_warehouse(warehouse) as con:
        resolve_and_link(con, load_parameters())
        assert con.execute("select count(*) from links.spend_contract").fetchall()[0][0] > 0
    put_back(held)
    ingest_all(catalogue, warehouse)
    return warehouse


LINK_TABLES = ("spend_contract", "contract_entries", "superseded_files")
# What supplier concentration builds from the links, extended from their changes.
CONCENTRATION_TABLES = ("concentration_values", "supplier_concentration", "supplier_shares")
AS_OF = date(2026, 9, 30)


def _concentration(con) -> dict:
    """Build supplier concentration; its tables (the shares also in the order they are
    stored, which must be the documented order), and how its values and shares were built."""
    from oversight.indicators.indicators import build_concentration
    from oversight.indicators.shares import PARTITIONS, WITHIN_PARTITION

    built = build_concentration(con, load_parameters(), AS_OF)
    tables = {
        t: con.execute(f"select * from marts.{t} order by all").fetchall()
        for t in CONCENTRATION_TABLES
    }
    stored = con.execute("select * from marts.supplier_shares").fetchall()
    documented = f"select * from marts.supplier_shares order by {PARTITIONS}, {WITHIN_PARTITION}"
    assert stored == con.execute(documented).fetchall()
    return {
        **tables,
        "shares as stored": stored,
        "values build": built["build"],
        "link rows read": built["links"],
        "shares build": built["shares build"],
    }


def _links_then_full(con) -> tuple[dict, dict, dict]:
    """Link (incrementally if it can) and build concentration from the links' changes, then
    both again in full: (the links build's counts, the tables they left, the tables of the
    full builds). Concentration must have been built before, from the links as they were."""
    from oversight.entities.links import build_links

    parameters = load_parameters()
    counts = build_links(con, parameters)
    logged = con.execute(
        "select count(*) from links.spend_contract_changes where build = "
        "(select build from links.link_build)"
    ).fetchall()[0][0]
    tables = "select * from links.{} order by all"
    incremental = {t: con.execute(tables.format(t)).fetchall() for t in LINK_TABLES}
    incremental |= _concentration(con)
    # the values were extended from exactly this build's changes: each link it removed or
    # added (a payment linked again counts twice)
    assert incremental.pop("values build") == "incremental"
    assert incremental.pop("link rows read") == logged >= counts["relinked"]
    assert incremental.pop("shares build") == "partial"
    con.execute("drop table links.link_build")
    assert build_links(con, parameters)["build"] == "full"
    full = {t: con.execute(tables.format(t)).fetchall() for t in LINK_TABLES}
    full |= _concentration(con)  # a full links build: concentration reads every link again
    assert full.pop("values build") == "full"
    assert full.pop("link rows read") == len(full["spend_contract"])
    assert full.pop("shares build") == "full"
    return counts, incremental, full


def test_a_new_month_links_only_its_payments_with_the_full_result(month_apart, tmp_path):
    """A new month: only its payments (and those whose supplier resolution or pair's
    contracts moved) are linked again, and the links equal a full build's."""
    import shutil

    from oversight.entities.resolution import build_buyers, build_suppliers

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(month_apart, warehouse)
    with open_warehouse(warehouse) as con:
        before = _concentration(con)  # from the links before the month
        assert (before["values build"], before["shares build"]) == ("full", "full")
        unchanged = _concentration(con)  # nothing linked since: no link read
        assert (unchanged["values build"], unchanged["link rows read"]) == ("incremental", 0)
        assert unchanged == before | {
            "values build": "incremental",
            "link rows read": 0,
            "shares build": "partial",
        }
        build_suppliers(con, load_parameters())
        build_buyers(con, load_parameters())
        new = con.execute(
            "select count(*) from staging.spend where file_path in "
            "('northmoor/spend/2026-08.csv', 'kelder/spend/2026-09.csv')"
        ).fetchall()[0][0]
        total = con.execute("select count(*) from staging.spend").fetchall()[0][0]
        counts, incremental, full = _links_then_full(con)
    assert counts["build"] == "incremental"
    assert new <= counts["relinked"] < total / 2
    for table, rows in incremental.items():
        assert rows == full[table], table
    # the month moved concentration (its values are not merely those of before)
    assert incremental["concentration_values"] != before["concentration_values"]


def test_readers_of_the_links_change_log_know_what_to_read(month_apart, tmp_path, monkeypatch):
    """A reader of the links (concentration's values) that last read build b of log E is
    told to read nothing, the changes since b, or every link again."""
    import shutil

    from oversight.entities import links
    from oversight.entities.resolution import build_buyers, build_suppliers

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(month_apart, warehouse)
    with open_warehouse(warehouse) as con:
        epoch, first = links.current_build(con)  # the fixture's full build
        assert links.changes_since(con, epoch, first) == "none"
        assert links.changes_since(con, epoch, first - 1) == "all"  # before the full build
        assert links.changes_since(con, "another log", first) == "all"
        assert links.changes_since(con, epoch, first + 1) == "all"  # a build never made
        assert links.changes_since(con, None, None) == "all"
        build_suppliers(con, load_parameters())
        build_buyers(con, load_parameters())
        assert links.build_links(con, load_parameters())["build"] == "incremental"
        assert links.current_build(con) == (epoch, first + 1)
        assert links.changes_since(con, epoch, first) == "changes"
        logged = con.execute("select count(*) from links.spend_contract_changes").fetchall()
        assert logged[0][0] > 0
        # the log outgrows what it may hold: it keeps the latest build's changes only, and a
        # reader further behind reads everything
        monkeypatch.setattr(links, "LOG_MAX_SHARE", 0.0)
        con.execute(
            "update staging.spend set amount = amount + 1 where row_number = 2 "
            "and file_path = (select min(file_path) from staging.spend)"
        )
        assert links.build_links(con, load_parameters())["build"] == "incremental"
        kept = con.execute(
            "select build, change, count(*) from links.spend_contract_changes group by all"
        ).fetchall()
        rows = con.execute(  # a changed file is linked again, all of it
            "select count(*) from staging.spend "
            "where file_path = (select min(file_path) from staging.spend)"
        ).fetchall()[0][0]
        assert sorted(kept) == [(first + 2, -1, rows), (first + 2, 1, rows)]
        assert links.changes_since(con, epoch, first) == "all"
        assert links.changes_since(con, epoch, first + 1) == "changes"
        assert links.changes_since(con, epoch, first + 2) == "none"


@pytest.mark.parametrize(
    "change",
    [
        # a contract's period moves: its buyer-supplier pair is linked again
        "update staging.contracts set start_date = start_date + 1000 "
        "where contract_id = (select contract_id from links.spend_contract where method = "
        "'own_period' group by 1 order by count(*) desc, 1 limit 1)",
        # a contract is gone (a register row removed): its pair's payments are linked again
        "delete from staging.contracts where contract_id = (select min(contract_id) from "
        "staging.contracts where record_type = 'register')",
        # a payment's date and amount change in an old file: that file is linked again
        "update staging.spend set payment_date = payment_date - 200, amount = amount * 3 "
        "where (file_path, row_number) = (select (min(file_path), min(row_number)) from "
        "staging.spend where file_path like 'northmoor/spend/2025%')",
        # an old file is gone: its links go
        "delete from staging.spend where file_path = 'kelder/spend/2025-01.csv'",
        # a payment's supplier is now printed otherwise: its mention is new
        "update staging.spend set supplier_name = upper(supplier_name) || ' LIMITED' "
        "where file_path = 'northmoor/spend/2025-03.csv' and row_number < 40",
        # resolution changes (after the supplier build): a mention now resolves to another
        # supplier, a supplier's class changes, a buyer name resolves to another buyer
        "update entities.supplier_mentions set supplier_id = 'S-moved' where name = "
        "(select min(supplier_name) from staging.spend where file_path like 'northmoor%2025%')",
        "update entities.suppliers set payee_class = 'public_body' where supplier_id = "
        "(select min(supplier_id) from entities.supplier_mentions where name = "
        "(select min(supplier_name) from staging.spend where file_path like 'kelder%'))",
        "update entities.buyer_mentions set buyer_id = 'B-moved' where name = "
        "(select min(buyer_name) from staging.spend where file_path like 'northmoor%')",
    ],
    ids=[
        "period_moves",
        "contract_gone",
        "payment_changes",
        "file_gone",
        "supplier_renamed",
        "mention_moves",
        "class_changes",
        "buyer_moves",
    ],
)
def test_each_kind_of_change_is_linked_again_as_a_full_build_would(month_apart, tmp_path, change):
    """Each input a link depends on, changed on its own after the new month: the incremental
    build equals a full build."""
    import shutil

    from oversight.entities.resolution import build_buyers, build_suppliers

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(month_apart, warehouse)
    with open_warehouse(warehouse) as con:
        before = con.execute("select count(*) from links.spend_contract").fetchall()[0][0]
        _concentration(con)  # from the links before the change
        resolved = change.startswith("update entities")
        if not resolved:
            con.execute(change)
        build_suppliers(con, load_parameters())
        build_buyers(con, load_parameters())
        if resolved:
            assert con.execute(change).fetchall()[0][0] >= 1
        counts, incremental, full = _links_then_full(con)
    assert counts["build"] == "incremental"
    assert 0 < counts["relinked"] < before / 2
    for table, rows in incremental.items():
        assert rows == full[table], table


def test_changed_link_parameters_link_everything_again(month_apart, tmp_path):
    """Other link parameters: a full build; then, nothing changed, nothing linked again."""
    import shutil

    from oversight.entities.links import build_links

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(month_apart, warehouse)
    parameters = load_parameters()
    wider = parameters.model_copy(
        update={"links": parameters.links.model_copy(update={"grace_days": 400})}
    )
    with open_warehouse(warehouse) as con:
        first = build_links(con, wider)
        again = build_links(con, wider)
    assert first["build"] == "full"
    # nothing changed since: nothing is linked again, and the links are the same
    assert again == first | {"build": "incremental", "relinked": 0}


@pytest.mark.parametrize(
    "change",
    [
        "update entities.suppliers set name = name || ' (renamed)' where supplier_id = ?",
        "update entities.buyers set name = name || ' (renamed)' where buyer_id = ?",
        "strategic",
    ],
    ids=["supplier_renamed", "buyer_renamed", "strategic_listed"],
)
def test_shares_of_a_year_no_value_changed_follow_names_and_groups(
    month_apart, tmp_path, monkeypatch, change
):
    """A supplier or buyer renamed, or a supplier listed as strategic, with no link or value
    changed: only the (basis, year) partitions it appears in are built again, and the shares
    equal a full build's, rows and order."""
    import shutil

    import pandas as pd

    from oversight.indicators import indicators

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(month_apart, warehouse)
    with open_warehouse(warehouse) as con:
        _concentration(con)
        # a supplier paid by one buyer in one spend year, not the newest (and that buyer)
        (supplier, buyer, year) = con.execute(
            "select supplier_id, min(buyer_id), min(financial_year) "
            "from marts.supplier_shares where basis = 'spend' group by 1 "
            "having count(distinct financial_year) = 1 and count(distinct buyer_id) = 1 "
            "and min(financial_year) < (select max(financial_year) "
            "from marts.supplier_shares where basis = 'spend') order by 1 limit 1"
        ).fetchone()
        if change == "strategic":
            listed = pd.DataFrame({"supplier_id": [supplier], "strategic_group": ["Listed"]})
            monkeypatch.setattr(indicators, "strategic_suppliers", lambda con: listed)
        else:
            con.execute(change, [buyer if "buyers" in change else supplier])
        built = indicators.build_concentration(con, load_parameters(), AS_OF)
        assert built["shares build"] == "partial"
        partitions = con.execute(
            "select count(distinct (basis, financial_year)) from marts.supplier_shares "
            "where supplier_id = ? or buyer_id = ?",
            [supplier, buyer if "buyers" in change else None],
        ).fetchall()[0][0]
        assert built["shares partitions built"] == partitions
        shown = con.execute(
            "select supplier, buyer, strategic_group from marts.supplier_shares "
            "where supplier_id = ? and financial_year = ?",
            [supplier, year],
        ).fetchall()
        partial = con.execute("select * from marts.supplier_shares").fetchall()
        con.execute("drop table marts.shares_build")
        assert indicators.build_concentration(con, load_parameters(), AS_OF)["shares build"] == (
            "full"
        )
        assert con.execute("select * from marts.supplier_shares").fetchall() == partial
    if change == "strategic":
        assert {g for _, _, g in shown} == {"Listed"}
    else:
        assert all("(renamed)" in (b if "buyers" in change else s) for s, b, _ in shown)
