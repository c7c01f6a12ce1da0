"""Oversight indicators and supplier concentration: hand-computed fixtures with their
boundaries, the sample's planted cases, and verified examples from the real Salford files."""

from datetime import date
from decimal import Decimal

import duckdb
import pytest
import yaml

from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link
from oversight.indicators.indicators import (
    build_concentration,
    build_contract_oversight,
    build_marts,
)
from oversight.outputs.explore import FLAG_COLUMNS
from tests.conftest import PROJECT, add_payments, ingest_all, needs_real, query, write_catalogue

D = date(2026, 9, 30)
SOURCES = [
    {
        "id": "reg",
        "publisher": "Test Council",
        "kind": "contract_register",
        "folder": "reg",
        "files": "*.csv",
        "layout": "lgtc-register",
    },
    {
        "id": "reg-bare",
        "publisher": "Test Council",
        "kind": "contract_register",
        "folder": "bare",
        "files": "*.csv",
        "layout": "salford-register",
    },
    {
        "id": "pay",
        "publisher": "Test Council",
        "kind": "spend",
        "folder": "pay",
        "files": "*.csv",
        "layout": "salford-spend",
    },
]
# contract_id, source, supplier, start, end, review, owner, value, category
CONTRACTS = [
    (
        "grace-edge",
        "reg",
        "Edge Ltd",
        "2024-01-01",
        "2026-03-31",
        "2026-12-01",
        "A",
        100000,
        "Services",
    ),
    (
        "grace-over",
        "reg",
        "Over Ltd",
        "2024-01-01",
        "2026-03-31",
        "2026-12-01",
        "A",
        100000,
        "Services",
    ),
    (
        "paid-110",
        "reg",
        "Ten Ltd",
        "2025-01-01",
        "2027-12-31",
        "2026-12-01",
        "A",
        10000,
        "Services",
    ),
    (
        "works-112",
        "reg",
        "Builder Ltd",
        "2025-01-01",
        "2027-12-31",
        "2026-12-01",
        "A",
        10000,
        "Works - construction",
    ),
    (
        "goods-112",
        "reg",
        "Goods Ltd",
        "2025-01-01",
        "2027-12-31",
        "2026-12-01",
        "A",
        10000,
        "Services",
    ),
    (
        "ends-today",
        "reg",
        "Today Ltd",
        "2024-01-01",
        "2026-09-30",
        "2026-09-30",
        None,
        20000,
        "Services",
    ),
    ("no-review", "reg", "Quiet Ltd", "2025-01-01", "2027-12-31", None, "A", 20000, "Services"),
    ("small-no-review", "reg", "Tiny Ltd", "2025-01-01", "2027-12-31", None, "A", 4000, "Services"),
    ("bare", "reg-bare", "Bare Ltd", "2025-01-01", "2027-12-31", None, None, 20000, "Services"),
]
# supplier, date, amount
PAYMENTS = [
    ("Edge Ltd", "2026-06-29", 500),  # end + 90 days: inside the grace period
    ("Over Ltd", "2026-06-30", 700),  # end + 91 days: expired but paid
    ("Ten Ltd", "2025-06-01", 11000),  # exactly 1.10 of value
    ("Builder Ltd", "2025-06-01", 11200),  # 1.12 of a works contract: within 15%
    ("Goods Ltd", "2025-06-01", 11200),  # 1.12 of a services contract: beyond 10%
]


@pytest.fixture(scope="module")
def oversight(tmp_path_factory):
    root = tmp_path_factory.mktemp("ov")
    catalogue = load_catalogue(write_catalogue(root, SOURCES))
    warehouse = root / "w.duckdb"
    with open_warehouse(warehouse) as con:
        for cid, src, supplier, start, end, review, owner, value, category in CONTRACTS:
            con.execute(
                "insert into staging.contracts (contract_id, record_type, source_id, file_path,"
                " contract_ref, title, buyer_name, supplier_name, start_date, end_date,"
                " review_date, contract_owner, total_value, category) values (?, 'register',"
                " ?, 'f.csv', ?, 't', 'Test Council', ?, ?, ?, ?, ?, ?, ?)",
                [cid, src, cid, supplier, start, end, review, owner, value, category],
            )
        add_payments(
            con,
            [
                {"row_number": i, "supplier_name": supplier, "payment_date": day, "amount": amount}
                for i, (supplier, day, amount) in enumerate(PAYMENTS, start=2)
            ]
            # the buyer's spend runs to the as-of date
            + [
                {
                    "row_number": 99,
                    "supplier_name": "Somebody Else Ltd",
                    "payment_date": "2026-09-29",
                    "amount": 600,
                }
            ],
        )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_contract_oversight(con, catalogue, parameters, D)
        rows = con.execute("select * from marts.contract_oversight").df()
    return rows.set_index("contract_ref")


def flag(rows, contract, column):
    value = rows.loc[contract, column]
    return None if value is None or value is pd_na() else bool(value)


def pd_na():
    import pandas as pd

    return pd.NA


def test_expired_but_paid_at_the_grace_boundary(oversight):
    assert flag(oversight, "grace-edge", "ov07_expired_but_paid") is False
    assert flag(oversight, "grace-over", "ov07_expired_but_paid") is True
    assert oversight.loc["grace-over", "ov07_value_at_risk"] == Decimal("700.00")
    assert "2026-06-30 £700.00" in oversight.loc["grace-over", "ov07_evidence"]


def test_paid_beyond_value_and_its_bands(oversight):
    assert flag(oversight, "paid-110", "ov08_paid_beyond_value") is True
    assert oversight.loc["paid-110", "ov08_paid_ratio"] == 1.1
    assert oversight.loc["paid-110", "ov08_band"] == "within change tolerance"
    assert oversight.loc["paid-110", "ov08_value_at_risk"] == Decimal("1000.00")
    assert oversight.loc["works-112", "ov08_band"] == "within change tolerance"
    assert oversight.loc["goods-112", "ov08_band"] == "beyond change tolerance"


def test_contract_ending_on_the_as_of_date_is_live_and_review_due_today_is_not_overdue(oversight):
    assert flag(oversight, "ends-today", "live") is True
    assert flag(oversight, "ends-today", "ov02_review_overdue") is False
    assert flag(oversight, "ends-today", "ov03_no_owner") is True
    assert flag(oversight, "ends-today", "ov11_no_pipeline") is None  # no notices published


def test_review_date_rules_and_the_unknown_case(oversight):
    assert flag(oversight, "no-review", "ov01_no_review_date") is True
    assert flag(oversight, "small-no-review", "ov01_no_review_date") is False  # under £5k
    # Salford's layout has no review-date or owner column: unknown, never false.
    assert flag(oversight, "bare", "ov01_no_review_date") is None
    assert flag(oversight, "bare", "ov03_no_owner") is None
    assert oversight.loc["bare", "as_of"].date() == D


def concentration(tmp_path, shares_by_year: dict[int, list[float]]):
    """A buyer paying suppliers the given amounts (in £1,000s) in financial years."""
    warehouse = tmp_path / "c.duckdb"
    with open_warehouse(warehouse) as con:
        lines = [
            (f"Supplier {chr(65 + i)} Ltd", day, amount * 500)
            for fy, amounts in shares_by_year.items()
            for i, amount in enumerate(amounts)
            for day in (f"{fy}-04-01", f"{fy + 1}-03-31")  # both ends of the year
        ]
        add_payments(
            con,
            [
                {
                    "row_number": row,
                    "supplier_name": supplier,
                    "payment_date": day,
                    "amount": amount,
                    "expense_type": "Care",
                }
                for row, (supplier, day, amount) in enumerate(lines, start=1)
            ],
        )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_concentration(con, parameters, D)
        return con.execute(
            "select financial_year, suppliers, total, hhi, cr1, cr3, cr5, band, too_little_data,"
            " hhi_change, cr3_change, top_supplier from marts.supplier_concentration"
            " where basis = 'spend' and category_scheme = 'all' order by 1"
        ).fetchall()


def test_hhi_and_concentration_ratios_by_hand(tmp_path):
    rows = concentration(tmp_path, {2024: [50, 30, 20], 2025: [40, 20, 20, 10, 10]})
    small, wide = rows
    # 50/30/20: HHI 2,500 + 900 + 400 = 3,800; three suppliers is too few to band.
    assert small[:9] == ("2024-25", 3, Decimal("100000.00"), 3800.0, 0.5, 1.0, 1.0, None, True)
    # 40/20/20/10/10 of £100k: HHI 1,600 + 400 + 400 + 100 + 100 = 2,600 -> high.
    assert wide[:9] == (
        "2025-26",
        5,
        Decimal("100000.00"),
        2600.0,
        0.4,
        0.8,
        1.0,
        "highly concentrated",
        False,
    )
    assert wide[9:] == (-1200.0, -0.2, "Supplier A Ltd")


def test_bands_are_descriptive_thresholds(tmp_path):
    rows = concentration(tmp_path, {2024: [20, 20, 20, 20, 20], 2025: [30, 30, 20, 10, 10]})
    assert [(r[3], r[7]) for r in rows] == [
        (2000.0, "moderately concentrated"),
        (2400.0, "moderately concentrated"),
    ]
    rows = concentration(tmp_path / "x", {2024: [10] * 10})
    assert (rows[0][3], rows[0][7]) == (1000.0, "unconcentrated")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("sample") / "w.duckdb"
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    ingest_all(catalogue, warehouse)
    planted = yaml.safe_load((PROJECT / "data" / "raw" / "planted.yaml").read_text())
    as_of = date.fromisoformat(planted["as_of"])
    with open_warehouse(warehouse) as con:
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_marts(con, catalogue, parameters, as_of)
    return warehouse, planted["cases"]


COLUMN = {"OV15": "ov15_payment_not_published", **FLAG_COLUMNS, "LIVE": "live"}


def test_every_planted_contract_case_is_found_and_every_clean_twin_is_not(sample):
    """Each case's flag, and its outcome where the case names one ("not under the Act",
    "carved out: light touch", "no KPIs, reason given", "not yet due", ...)."""
    warehouse, cases = sample
    checked = outcomes = 0
    for case in cases:
        if case["indicator"] not in COLUMN:
            continue
        where = "ocid = ?" if "ocid" in case else "contract_ref = ?"
        key = case.get("ocid") or case["contract_ref"]
        column = COLUMN[case["indicator"]]
        if "outcome" in case:
            column += f", o.ov{case['indicator'][2:]}_outcome"
        rows = query(
            warehouse,
            f"select {column} from "
            f"marts.contract_oversight o join links.contract_entries ce"
            f" on ce.contract_key = o.contract_id"
            f" join staging.contracts c on c.contract_id = ce.entry_id "
            f"where c.{where}",
            [key],
        )
        assert [r[0] for r in rows] == [case["expected"]], (case, rows)
        if "outcome" in case:
            assert rows[0][1] == case["outcome"], (case, rows)
            outcomes += 1
        checked += 1
    assert checked >= 45
    assert outcomes >= 14
    # Every Procurement Act duty is planted on DRR's notices, flagged and clean.
    act = {
        (c["indicator"], c["expected"])
        for c in cases
        if c["source_id"] == "drr-notices" and c["indicator"] in COLUMN
    }
    for code in ("OV04", "OV05", "OV06", "OV10", "OV11", "OV15"):
        assert {(code, True), (code, False)} <= act, code


def test_planted_value_at_risk_and_off_contract_spend(sample):
    warehouse, cases = sample
    assert query(
        warehouse,
        "select o.ov07_value_at_risk, o.ov08_value_at_risk from "
        "marts.contract_oversight o where o.contract_ref in ('NCC-P07A', 'NCC-P08A') "
        "order by o.contract_ref",
    ) == [(Decimal("14700.00"), None), (None, Decimal("11000.00"))]
    off = {
        r[0]: r[1]
        for r in query(
            warehouse,
            "select supplier, spend from marts.off_contract_spend where financial_year = '2025-26'",
        )
    }
    assert off["Brightwater Consulting Ltd"] == Decimal("12800.00")
    assert "Pennine Catering Supplies" not in off


def test_planted_concentration(sample):
    warehouse, _ = sample
    drr = query(
        warehouse,
        "select financial_year, band, hhi_change > 0, top_supplier from "
        "marts.supplier_concentration where basis = 'spend' and category_scheme = 'all'"
        " and upper(buyer) like 'DEPARTMENT%' order by 1",
    )
    assert [r[1] for r in drr] == [
        "moderately concentrated",
        "highly concentrated",
        "highly concentrated",
    ]
    assert drr[1][2] and drr[1][3].upper() == "NORTHGATE SECURITY SERVICES LTD"
    assert query(
        warehouse,
        "select max(dependency_on_largest_buyer) from marts.supplier_shares"
        " where supplier = 'Meridian Facilities Management Ltd'",
    ) == [(1.0,)]


def test_scorecard_counts_match_the_oversight_table(sample):
    warehouse, _ = sample
    card = dict(
        query(
            warehouse,
            "select indicator, flagged from marts.buyer_scorecard "
            "where buyer = 'Northmoor City Council'",
        )
    )
    direct = query(
        warehouse,
        "select count(*) filter (ov07_expired_but_paid), count(*) filter"
        " (ov09_not_closed) from marts.contract_oversight o join entities.buyers b"
        " using (buyer_id) where b.name = 'Northmoor City Council'",
    )[0]
    assert (card["OV07"], card["OV09"]) == direct == (1, 3)
    assert set(card) == {f"OV{i:02d}" for i in range(1, 16)}


@needs_real
def test_salford_expired_but_paid_examples_read_from_the_csvs(tmp_path):
    """S1122 (ARCH Consulting): the register gives its current expiry as 2020-11-10 and the
    next row of the same reference and supplier (a renewal: one contract, two periods) starts
    2021-12-16; spend/2021-10.csv rows 385 and 1203 pay £2,925.00 and £30,059.25 in the gap,
    while nothing was live. S1073 (Language Empire, expiry 2021-10-31) is paid from March
    2022 on (spend/2022-03.csv rows 88 and 89)."""
    from oversight.evaluation.evaluate import build_real_warehouse

    warehouse = tmp_path / "real.duckdb"
    build_real_warehouse(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select contract_ref || ' ' || supplier_name, effective_end, ov07_value_at_risk,"
            " ov07_evidence, periods from marts.contract_oversight where ov07_expired_but_paid"
        ).fetchall()
    }
    con.close()
    arch = rows["S1122 ARCH Consulting Ltd"]
    assert arch[1] == Decimal("32984.25")
    assert arch[3] == "2015-11-11 to 2020-11-10; 2021-12-16 to 2022-12-15"
    assert "salford/spend/2021-10.csv#385" in arch[2]
    assert "salford/spend/2021-10.csv#1203" in arch[2]
    empire = rows["S1073 Language Empire"]
    assert empire[0] == date(2021, 10, 31)
    assert "2022-03-02 £4118.49 (salford-spend:salford/spend/2022-03.csv#88)" in empire[2]


def test_public_bodies_individuals_and_grants_are_beside_the_market_not_inside(tmp_path):
    """A council whose largest payee is a CCG (a pooled health budget), with a grant and a
    private individual: off-contract spend and concentration count the market only, and the
    rest is in marts.non_market_spend. Amounts in £, financial year 2025-26."""
    catalogue = load_catalogue(write_catalogue(tmp_path, SOURCES))
    payments = [  # supplier, amount, expense type
        ("NHS Salford CCG", 900_000, "Pooled budget"),
        ("Greater Manchester Pension Fund", 300_000, "Pension contributions"),
        ("Mr J Smith", 8_000, "Direct payments"),
        ("Helping Hands Community Group", 50_000, "Voluntary Sector Grants"),
        ("Alpha Ltd", 40_000, "Services"),
        ("Beta Ltd", 30_000, "Services"),
        ("Gamma Ltd", 20_000, "Services"),
        ("Delta Ltd", 6_000, "Services"),
        ("Epsilon Ltd", 4_000, "Services"),
    ]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        add_payments(
            con,
            [
                {
                    "row_number": i,
                    "supplier_name": supplier,
                    "payment_date": "2025-06-01",
                    "amount": amount,
                    "expense_type": expense,
                }
                for i, (supplier, amount, expense) in enumerate(payments, start=2)
            ],
        )
        # Alpha has a contract with the council (its payment is under contract, not OV12)
        con.execute(
            "insert into staging.contracts (contract_id, record_type, source_id, file_path,"
            " contract_ref, title, buyer_name, supplier_name, start_date, end_date,"
            " total_value) values ('reg:f.csv#2', 'register', 'reg', 'f.csv', 'A1', 't',"
            " 'Test Council', 'Alpha Ltd', '2025-04-01', '2027-03-31', 50000)"
        )
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_marts(con, catalogue, parameters, D)
        off = con.execute(
            "select supplier, spend, payee_class from marts.off_contract_spend order by 1"
        ).fetchall()
        # Over £5k with no contract, market suppliers only (Epsilon's £4k is under; Alpha's
        # £40k is under its contract).
        assert off == [
            ("Beta Ltd", Decimal("30000.00"), "company"),
            ("Delta Ltd", Decimal("6000.00"), "company"),
            ("Gamma Ltd", Decimal("20000.00"), "company"),
        ]
        beside = con.execute(
            "select what, payments, spend from marts.non_market_spend order by spend desc"
        ).fetchall()
        assert beside == [
            ("public_body", 2, Decimal("1200000.00")),
            ("grant", 1, Decimal("50000.00")),
            ("individual", 1, Decimal("8000.00")),
        ]
        total, hhi, cr1, top = con.execute(
            "select total, hhi, cr1, top_supplier from marts.supplier_concentration"
            " where basis = 'spend' and category_scheme = 'all'"
        ).fetchall()[0]
    # Market: 40 + 30 + 20 + 6 + 4 = £100k; shares 40/30/20/6/4:
    # HHI = 1,600 + 900 + 400 + 36 + 16 = 2,952; the CCG (90% of all spend) is not in it.
    assert (total, hhi, cr1, top) == (Decimal("100000.00"), 2952.0, 0.4, "Alpha Ltd")


def test_the_as_of_date_comes_from_the_data_not_the_calendar(warehouse):
    """The last day of the newest payment's month; a date after today is a slip, not the
    newest payment; never after today; no payments: none (then today)."""
    from datetime import timedelta

    from oversight.core.parameters import load_parameters
    from oversight.core.warehouse import open_warehouse
    from oversight.indicators.indicators import data_as_of
    from tests.conftest import add_payments

    today = date.today()
    with open_warehouse(warehouse) as con:
        assert data_as_of(con) is None
        assert load_parameters().as_of(None, data_as_of(con)) == today
        add_payments(
            con,
            [
                {"row_number": 1, "payment_date": "2026-09-28", "amount": 1},
                {"row_number": 2, "payment_date": "2099-01-01", "amount": 1},  # a slip
                {"row_number": 3, "payment_date": "2025-02-03", "amount": 1},
            ],
        )
        expected = min(date(2026, 9, 30), today)
        assert data_as_of(con) == expected
        assert load_parameters().as_of(None, data_as_of(con)) == expected
        assert load_parameters().as_of("2025-01-31", data_as_of(con)) == date(2025, 1, 31)
        add_payments(con, [{"row_number": 4, "payment_date": today, "amount": 1}])
        assert data_as_of(con) == today  # this month's end is after today: today
        con.execute("delete from staging.spend where row_number = 4")
        con.execute("update staging.spend set payment_date = ? where row_number = 3",
                    [today - timedelta(days=400)])  # fmt: skip
        assert data_as_of(con) == expected


def test_strategic_suppliers_by_number_name_and_name_prefix(tmp_path):
    """SC05's list: a listed company number, a normalised name equal to a listed one or
    starting with it and a space; not a longer word, not a person; the first group listed
    wins."""
    from oversight.indicators.indicators import strategic_suppliers

    listed = tmp_path / "strategic.yaml"
    listed.write_text(
        yaml.safe_dump(
            {
                "groups": {
                    "BT": {"names": ["british telecommunications", "bt"]},
                    "BAE Systems": {"names": ["bae systems"], "company_numbers": ["01470151"]},
                    "Also BT": {"names": ["bt group"]},
                }
            },
            sort_keys=False,
        )
    )
    con = duckdb.connect()
    con.execute("""
        create schema entities;
        create table entities.suppliers as select * from (values
            ('s1', 'BT Group PLC', null, false),
            ('s2', 'BTX Cleaning Ltd', null, false),
            ('s3', 'British Telecommunications', null, false),
            ('s4', 'Defence Works Ltd', '01470151', false),
            ('s5', 'BAE Systemsx Ltd', null, false),
            ('s6', 'BT', null, true),
            ('s7', 'Bae Systems Applied Intelligence', null, false),
            ('s8', 'Other Ltd', '99999999', false))
            t(supplier_id, name, company_number, is_personal);
        create table entities.supplier_mentions as select * from (values
            ('BT Group PLC', 'bt group'),
            ('BTX Cleaning Ltd', 'btx cleaning'),
            ('British Telecommunications', 'british telecommunications'),
            ('Defence Works Ltd', 'defence works'),
            ('BAE Systemsx Ltd', 'bae systemsx'),
            ('BT', 'bt'),
            ('Bae Systems Applied Intelligence', 'bae systems applied intelligence'),
            ('Other Ltd', 'other')) t(name, normalised_name)""")
    found = strategic_suppliers(con, listed)
    assert found.values.tolist() == [
        ["s1", "BT"],
        ["s3", "BT"],
        ["s4", "BAE Systems"],
        ["s7", "BAE Systems"],
    ]
