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
