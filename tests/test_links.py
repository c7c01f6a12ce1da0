"""Payments linked to contracts, on hand-made cases."""

from datetime import date

import pytest

from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link
from tests.conftest import add_payments, query

CONTRACTS = [
    # contract_id, buyer, supplier, company number, start, end, current expiry, value
    (
        "c-wide",
        "Salford City Council",
        "Acme Ltd",
        "01234567",
        "2021-01-01",
        "2024-12-31",
        None,
        500000,
    ),
    (
        "c-narrow",
        "Salford Council",
        "ACME LIMITED",
        "01234567",
        "2022-01-01",
        "2022-12-31",
        None,
        50000,
    ),
    (
        "c-twin-a",
        "Salford City Council",
        "Brook Ltd",
        None,
        "2022-01-01",
        "2022-12-31",
        None,
        90000,
    ),
    (
        "c-twin-b",
        "Salford City Council",
        "Brook Ltd",
        None,
        "2022-01-01",
        "2022-12-31",
        None,
        10000,
    ),
    (
        "c-extended",
        "Salford City Council",
        "Cedar Ltd",
        None,
        "2020-01-01",
        "2021-03-31",
        "2022-03-31",
        80000,
    ),
]
PAYMENTS = [
    # row, buyer, supplier, company number, date, amount
    (1, "Salford City Council", "Acme Limited", None, "2022-06-01", 4000),  # two fit: narrow
    (2, "Salford City Council", "ACME LTD", "01234567", "2023-06-01", 4000),  # only the wide
    (3, "Salford City Council", "Brook Ltd", None, "2022-05-01", 9000),  # same period: value
    (4, "Salford City Council", "Acme Ltd", None, "2025-03-31", 700),  # end + 90: grace edge
    (5, "Salford City Council", "Acme Ltd", None, "2025-04-01", 700),  # end + 91: unlinked
    (6, "Salford City Council", "Acme Ltd", None, "2020-12-02", 700),  # start - 30: margin
    (7, "Bolton Council", "Acme Ltd", None, "2022-06-01", 700),  # another buyer
    (8, "Salford City Council", "Cedar Ltd", None, "2022-01-15", 700),  # after the extension
    (9, "Salford City Council", "REDACTED", None, "2022-01-15", 700),
    (10, "Salford City Council", "REDACTED", None, "2022-02-15", 700),
]


@pytest.fixture
def linked(warehouse):
    with open_warehouse(warehouse) as con:
        for cid, buyer, supplier, number, start, end, expiry, value in CONTRACTS:
            con.execute(
                "insert into staging.contracts (contract_id, record_type, source_id, file_path,"
                " buyer_name, supplier_name, supplier_company_number, start_date, end_date,"
                " current_expiry_date, total_value, title) values (?, 'register', 'reg', 'r.csv',"
                " ?, ?, ?, ?, ?, ?, ?, 'x')",
                [cid, buyer, supplier, number, start, end, expiry, value],
            )
        add_payments(
            con,
            [
                {
                    "row_number": row,
                    "buyer_name": buyer,
                    "supplier_name": supplier,
                    "supplier_company_number": number,
                    "payment_date": day,
                    "amount": amount,
                }
                for row, buyer, supplier, number, day, amount in PAYMENTS
            ],
        )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        rows = con.execute(
            "select row_number, contract_id, method, score, candidates, "
            "unlinked_reason, supplier_id, tied_contracts from links.spend_contract "
            "order by row_number"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_payment_inside_two_contracts_own_periods_is_ambiguous(linked):
    # c-narrow (2022) lies inside c-wide (2021-24): nothing separates them, so the link is
    # ambiguous, shows the narrowest, lists both, and its confidence is shared.
    assert linked[1][:4] == ("c-narrow", "ambiguous", 0.5, 2)
    assert linked[1][6] == ["c-narrow", "c-wide"]
    assert linked[2][:4] == ("c-wide", "own_period", 1.0, 1)


def test_same_period_twins_are_ambiguous_showing_the_closest_value(linked):
    assert linked[3][:3] == ("c-twin-b", "ambiguous", 0.5)


def test_grace_and_margin_boundaries(linked):
    assert linked[4][:3] == ("c-wide", "margin_or_grace", 0.8)  # exactly end + 90 days
    assert linked[5][0] is None
    assert linked[5][4] == "no contract period covers the payment date"
    assert linked[6][:3] == ("c-wide", "margin_or_grace", 0.8)  # exactly start - 30 days


def test_unlinked_payments_stay_visible_with_a_reason(linked):
    assert linked[7][0] is None and linked[7][4] == "no contract for this buyer and supplier"
    assert linked[9][4] == linked[10][4] == "personal or redacted payee"
    assert linked[9][5] != linked[10][5]  # redacted payees are never one supplier


def test_current_expiry_extends_the_contract(linked):
    assert linked[8][0] == "c-extended"


def test_parameters_change_the_links(warehouse, monkeypatch, tmp_path):
    custom = tmp_path / "parameters.yaml"
    custom.write_text("links: {start_margin_days: 0, grace_days: 0}\n")
    monkeypatch.setenv("OVERSIGHT_PARAMETERS", str(custom))
    assert load_parameters().links.grace_days == 0
    custom.write_text("links: {grace_dayz: 0}\n")
    with pytest.raises(ValueError, match="grace_dayz"):
        load_parameters()


def test_sample_planted_expiry_cases(tmp_path):
    """On the embedded sample: payments after NCC-P07A's expiry stay unlinked, the one at
    exactly 90 days after NCC-P07C's is linked."""
    from oversight.core.catalogue import load_catalogue
    from tests.conftest import PROJECT, ingest_all, query

    warehouse = tmp_path / "w.duckdb"
    ingest_all(load_catalogue(PROJECT / "catalogue" / "sources.yaml"), warehouse)
    with open_warehouse(warehouse) as con:
        parameters = load_parameters()
        resolve_and_link(con, parameters)
    late = query(
        warehouse,
        """
        select l.payment_date, l.contract_id, l.unlinked_reason from links.spend_contract l
        join staging.spend s using (source_id, file_path, row_number)
        where s.supplier_name = 'Hollins Landscapes Ltd' and l.payment_date > '2025-09-28'
        order by 1""",
    )
    assert [(d, c, r) for d, c, r in late] == [
        (date(2025, 11, 14), None, "no contract period covers the payment date"),
        (date(2025, 12, 12), None, "no contract period covers the payment date"),
        (date(2026, 1, 16), None, "no contract period covers the payment date"),
    ]
    edge = query(
        warehouse,
        """
        select c.contract_ref, l.score from links.spend_contract l
        join staging.contracts c using (contract_id) where l.payment_date = '2026-03-31'
          and c.contract_ref = 'NCC-P07C'""",
    )
    assert edge == [("NCC-P07C", 0.8)]


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


def link(contracts: list[tuple], payments: list[tuple], warehouse, as_of=None):
    """Link hand-made payments (row, supplier, date, amount) to register rows (id, supplier,
    start, end, value) of one buyer; with `as_of`, also build the oversight mart."""
    from oversight.indicators.indicators import build_contract_oversight
    from tests.conftest import write_catalogue

    with open_warehouse(warehouse) as con:
        for cid, supplier, start, end, value in contracts:
            con.execute(
                "insert into staging.contracts (contract_id, record_type, source_id, file_path,"
                " contract_ref, buyer_name, supplier_name, start_date, end_date, total_value,"
                " title) values (?, 'register', 'reg', 'r.csv', ?, 'Test Council', ?, ?, ?, ?,"
                " 'x')",
                [cid, cid, supplier, start, end, value],
            )
        add_payments(
            con,
            [
                {
                    "row_number": row,
                    "supplier_name": supplier,
                    "payment_date": day,
                    "amount": amount,
                }
                for row, supplier, day, amount in payments
            ],
        )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        links = {
            r[0]: r[1:]
            for r in con.execute(
                "select row_number, contract_id, method, score from links.spend_contract"
            ).fetchall()
        }
        if as_of is None:
            return links, None
        from oversight.core.catalogue import load_catalogue

        source = {"id": "reg", "publisher": "Test Council", "kind": "contract_register",
                  "folder": "reg", "files": "*.csv", "layout": "lgtc-register"}  # fmt: skip
        catalogue = load_catalogue(write_catalogue(warehouse.parent, [source]))
        build_contract_oversight(con, catalogue, parameters, as_of)
        flags = {
            r[0]: r[1:]
            for r in con.execute(
                "select contract_ref, ov08_paid_beyond_value, ov08_value_at_risk, ov08_evidence"
                " from marts.contract_oversight"
            ).fetchall()
        }
        return links, flags


def test_a_payment_inside_its_own_contract_beats_another_contracts_grace(warehouse):
    links, _ = link(
        [
            ("old", "Dale Ltd", "2020-01-01", "2021-12-31", 10000),
            ("new", "Dale Ltd", "2022-01-01", "2023-12-31", 10000),
        ],  # fmt: skip
        [(2, "Dale Ltd", "2022-02-01", 500)],  # in new's own period and old's grace
        warehouse,
    )
    assert links[2] == ("new", "own_period", 1.0)


def test_a_period_that_ends_before_it_starts_never_wins(warehouse):
    links, _ = link(
        [
            ("typo", "Eden Ltd", "2022-03-01", "2021-03-01", 5000),  # end before start
            ("real", "Eden Ltd", "2021-01-01", "2022-02-28", 90000),
        ],  # fmt: skip
        [
            (2, "Eden Ltd", "2022-03-10", 800),  # in real's grace and typo's window
            (3, "Eden Ltd", "2023-01-01", 800),
        ],  # only typo's window would not reach; none
        warehouse,
    )
    assert links[2] == ("real", "margin_or_grace", 0.8)
    assert links[3][0] is None
    only, _ = link(
        [("typo", "Eden Ltd", "2022-03-01", "2021-03-01", 5000)],
        [(2, "Eden Ltd", "2022-03-10", 800)],
        warehouse.parent / "only.duckdb",
    )
    assert only[2] == ("typo", "invalid_period", 0.3)


def test_an_ambiguous_supplier_makes_paid_beyond_value_unknown_not_flagged(warehouse, tmp_path):
    # Two live contracts with one supplier, same period: each payment fits both. £12k paid
    # against £10k contracts could be over either value, or neither: unknown, no £ at risk.
    links, flags = link(
        [
            ("a", "Fern Ltd", "2022-01-01", "2022-12-31", 10000),
            ("b", "Fern Ltd", "2022-01-01", "2022-12-31", 10000),
        ],  # fmt: skip
        [(2, "Fern Ltd", "2022-03-01", 6000), (3, "Fern Ltd", "2022-04-01", 6000)],
        warehouse,
        as_of=date(2022, 12, 31),
    )
    assert {v[1] for v in links.values()} == {"ambiguous"}
    assert flags["a"][:2] == (None, None) and flags["b"][:2] == (None, None)
    assert "may be this contract's or another's" in (flags["a"][2] or flags["b"][2])
    # With one contract, the same payments are confidently linked and flagged.
    _, flags = link(
        [("a", "Fern Ltd", "2022-01-01", "2022-12-31", 10000)],
        [(2, "Fern Ltd", "2022-03-01", 6000), (3, "Fern Ltd", "2022-04-01", 6000)],
        tmp_path / "one.duckdb",
        as_of=date(2022, 12, 31),
    )
    assert flags["a"][0] is True and flags["a"][1] == 2000


def test_a_payment_in_another_currency_is_linked_but_never_counted_in_pounds(warehouse):
    """Contract C1 (£1,000): a £900 payment and a €5,000 one. Without the currency rule the
    euros would read as pounds: £5,900 paid on a £1,000 contract."""
    with open_warehouse(warehouse) as con:
        add_payments(
            con,
            [
                {"row_number": 1, "supplier_name": "Alder Ltd", "payment_date": "2022-03-01",
                 "amount": 900, "currency": "GBP"},
                {"row_number": 2, "supplier_name": "Alder Ltd", "payment_date": "2022-03-02",
                 "amount": 5000, "currency": "EUR"},
            ],
        )  # fmt: skip
    links, flags = link(
        [("C1", "Alder Ltd", "2022-01-01", "2022-12-31", 1000)], [], warehouse, date(2023, 6, 30)
    )
    assert {row: method for row, (_, method, _) in links.items()} == {
        1: "own_period",
        2: "own_period",
    }
    assert query(
        warehouse, "select row_number, amount, currency from links.spend_contract order by 1"
    ) == [(1, 900, "GBP"), (2, None, "EUR")]
    assert flags["C1"][0] is False  # £900 of £1,000: not paid beyond value


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
    """Build supplier concentration; its tables, and how its values were built."""
    from oversight.indicators.indicators import build_concentration

    built = build_concentration(con, load_parameters(), AS_OF)
    tables = {
        t: con.execute(f"select * from marts.{t} order by all").fetchall()
        for t in CONCENTRATION_TABLES
    }
    return {**tables, "values build": built["build"], "link rows read": built["links"]}


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
    con.execute("drop table links.link_build")
    assert build_links(con, parameters)["build"] == "full"
    full = {t: con.execute(tables.format(t)).fetchall() for t in LINK_TABLES}
    full |= _concentration(con)  # a full links build: concentration reads every link again
    assert full.pop("values build") == "full"
    assert full.pop("link rows read") == len(full["spend_contract"])
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
        assert before["values build"] == "full"
        unchanged = _concentration(con)  # nothing linked since: no link read
        assert (unchanged["values build"], unchanged["link rows read"]) == ("incremental", 0)
        assert unchanged == before | {"values build": "incremental", "link rows read": 0}
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
