"""Payments linked to contracts, on hand-made cases."""

from datetime import date

import pytest

from oversight.parameters import load_parameters
from oversight.resolution import resolve_and_link
from oversight.warehouse import open_warehouse

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
        for row, buyer, supplier, number, day, amount in PAYMENTS:
            con.execute(
                "insert into staging.spend (source_id, file_path, part, row_number, buyer_name,"
                " supplier_name, supplier_company_number, payment_date, amount) values "
                "('pay', 'p.csv', '', ?, ?, ?, ?, ?, ?)",
                [row, buyer, supplier, number, day, amount],
            )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        rows = con.execute(
            "select row_number, contract_id, method, score, candidates, "
            "unlinked_reason, supplier_id from links.spend_contract "
            "order by row_number"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_payment_that_fits_two_contracts_goes_to_the_narrowest(linked):
    assert linked[1][:4] == ("c-narrow", "narrowest_period", 1.0, 2)
    assert linked[2][:4] == ("c-wide", "only_candidate", 1.0, 1)


def test_same_period_goes_to_the_closest_value(linked):
    assert linked[3][:2] == ("c-twin-b", "narrowest_period")


def test_grace_and_margin_boundaries(linked):
    assert linked[4][:3] == ("c-wide", "only_candidate", 0.8)  # exactly end + 90 days
    assert linked[5][0] is None
    assert linked[5][4] == "no contract period covers the payment date"
    assert linked[6][:3] == ("c-wide", "only_candidate", 0.8)  # exactly start - 30 days


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
    from oversight.catalogue import load_catalogue
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


def test_a_new_month_extends_the_supplier_resolution_with_the_full_result(tmp_path):
    """The sample without its newest months, resolved; then with them, resolved
    incrementally: the tables equal those of a full resolution of everything."""
    import shutil

    from oversight.catalogue import load_catalogue
    from oversight.resolution import build_suppliers
    from tests.conftest import PROJECT, ingest_all

    raw = tmp_path / "raw"
    shutil.copytree(PROJECT / "data" / "raw", raw)
    held = [raw / "northmoor/spend/2026-08.csv", raw / "kelder/spend/2026-09.csv"]
    for path in held:
        path.rename(path.with_suffix(".held"))
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    catalogue = catalogue.model_copy(update={"raw_dir": raw})
    parameters = load_parameters()
    tables = "select * from entities.{} order by all"
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    with open_warehouse(warehouse) as con:
        assert build_suppliers(con, parameters)["build"] == "full"
    for path in held:
        path.with_suffix(".held").rename(path)
    ingest_all(catalogue, warehouse)
    with open_warehouse(warehouse) as con:
        con.execute("insert into staging.spend (source_id, file_path, supplier_name, amount) "
                    "values ('x', 'x.csv', 'Brand New Supplier Ltd', 1)")  # fmt: skip
        assert build_suppliers(con, parameters)["build"] == "incremental"
        incremental = {t: con.execute(tables.format(t)).fetchall()
                       for t in ("suppliers", "supplier_mentions")}  # fmt: skip
        con.execute("drop table entities.supplier_build")
        assert build_suppliers(con, parameters)["build"] == "full"
        for t, rows in incremental.items():
            assert con.execute(tables.format(t)).fetchall() == rows, t
    assert any(r[0] == "Brand New Supplier Ltd" for r in incremental["supplier_mentions"])
