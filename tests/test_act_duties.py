"""The Procurement Act 2023 duties as the indicators read them (docs/indicators.md): s71's
12-month clock and the assessment on termination (OV05), s75's tolerance added up since award
(OV10), a successor procurement notice in the contract's CPV division (OV11), s70's payments
over £30,000 published within 30 days of the quarter's end (OV15), and the carve-outs that
lift each duty. Releases are hand-made on the shapes of the schemas in
../shared/data/ocds-schema/ (UK extension `noticeType`, `specialRegime`, UK_CA_TYPE; core
`implementation.transactions`); every expected value is worked out by hand in the comments."""

import json
from datetime import date
from decimal import Decimal

import pytest

from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link
from oversight.indicators.indicators import (
    ACT_CARVE_OUTS,
    S70_IN_FORCE,
    S71_IN_FORCE,
    build_contract_oversight,
)
from oversight.ingest.ocds_compile import act_carve_outs, compile_releases, notice_rows
from tests.conftest import OneSource, add_payments, write_catalogue
from tests.test_uk_extension import BUYER, process, rating, row

D = date(2026, 9, 30)
QUIET = {"id": "B2", "name": "Quiet Council"}  # publishes no notices and no payments in them


def tendered(releases: list[dict], **tender: object) -> list[dict]:
    """The process with fields added to its first release's tender."""
    releases[0]["tender"] = {**releases[0]["tender"], **tender}
    return releases


def bought_by(releases: list[dict], buyer: dict) -> list[dict]:
    """The process published by another buyer."""
    for release in releases:
        release["buyer"] = buyer
        for party in release.get("parties", []):
            if "buyer" in party["roles"]:
                party.update(buyer)
    return releases


def cpv(code: str) -> dict:
    return {"classification": {"scheme": "CPV", "id": code}}


def notice(key: str, when: str, code: str | None, notice_type: str | None) -> list[dict]:
    """A procurement notice alone under its own ocid: a tender (UK4) or pipeline (UK1) notice,
    or (no notice type) a Contracts Finder tender release with no award."""
    tender = {"id": key.upper(), "title": f"{key} procurement", **(cpv(code) if code else {})}
    release = {"ocid": f"ocds-uktest-{key}", "id": f"{key}-1", "date": when, "tag": ["tender"]}
    if notice_type == "UK1":
        document = {"id": "N1", "documentType": "plannedProcurementNotice", "noticeType": "UK1"}
        release |= {"planning": {"documents": [document]}, "tender": tender}
    elif notice_type:
        document = {"id": "N1", "documentType": "tenderNotice", "noticeType": notice_type}
        release |= {"tender": {**tender, "documents": [document]}}
    else:
        release |= {"tender": tender}
    # the buyer named by its party only (no `buyer` block): the party with role buyer
    release["parties"] = [{**BUYER, "roles": ["buyer"]}]
    return [release]


def paid(key: str, when: str, amount: float, published: str | None = None) -> tuple:
    """A release publishing the payment (implementation.transactions) on `published`."""
    transaction = {
        "id": f"T-{key}-{when}",
        "date": f"{when}T00:00:00Z",
        "value": {"amount": amount, "currency": "GBP"},
        "payee": {"id": "S1", "name": f"{key.title()} Ltd"},
    }
    return (f"{published}T09:00:00Z", {"implementation": {"transactions": [transaction]}})


# A contract over £5m for the carve-outs: 2 KPIs (OV04), rated 'below' (OV06), value raised 20%
# with no change notice (OV10), a £60,000 payment never published (OV15); procurement
# commenced 2026-04-15 (after s70's 2026-04-01); rated 2026-06-30, so the next s71 assessment
# is due 2027-06-30: OV05 not flagged.
def carved(key: str, *, tender: dict | None = None, parties: list | None = None) -> list[dict]:
    releases = process(
        key,
        "2026-04-15T09:00:00Z",
        6_000_000,
        kpis=2,
        start="2026-05-01",
        end="2029-04-30",
        later=(
            ("2026-07-05T09:00:00Z", rating("2026-06-30", "below")),
            ("2026-08-01T09:00:00Z", {"value": {"amount": 7_200_000, "currency": "GBP"}}),
        ),
    )
    tendered(releases, **(tender or {}))
    if parties:
        releases[0]["parties"][0] |= parties[0]
    return releases


def terminated(key: str, end: str, *later: tuple) -> list[dict]:
    """Over £5m, started 2025-07-01; terminated with a reason, ending on `end`."""
    ending = {
        "status": "terminated",
        "period": {"endDate": f"{end}T23:59:59Z"},
        "terminationRationaleClassifications": [{"id": "convenience", "description": "Ended"}],
    }
    return process(
        key,
        "2025-06-01T09:00:00Z",
        8_000_000,
        start="2025-07-01",
        end="2029-03-31",
        later=(*later, ("2026-07-05T09:00:00Z", ending)),
    )


def silent(key: str, *values: float, notice: bool = False) -> list[dict]:
    """£1m, changed to each value in turn (2026-01 onwards), with a change notice or not."""
    later = []
    for n, value in enumerate(values, start=1):
        fields: dict = {"value": {"amount": value, "currency": "GBP"}}
        if notice:
            fields["amendments"] = [
                {"id": f"AM{i}", "date": f"2026-0{i}-01T00:00:00Z", "rationale": f"Change {i}"}
                for i in range(1, n + 1)
            ]
        later.append((f"2026-0{n}-01T09:00:00Z", fields))
    return process(key, "2025-06-01T09:00:00Z", 1_000_000, later=tuple(later))


def expiring(key: str, code: str | None, buyer: dict = BUYER) -> list[dict]:
    """£1m, ending 2027-03-31: within 12 months of D."""
    releases = process(key, "2025-06-01T09:00:00Z", 1_000_000, end="2027-03-31")
    return bought_by(tendered(releases, **(cpv(code) if code else {})), buyer)


def own_tender() -> list[dict]:
    """Division 80, whose own process published a UK4 tender notice in the window."""
    releases = expiring("own", "80000000")
    first = {
        **notice("own", "2026-01-10T09:00:00Z", "80000000", "UK4")[0],
        "ocid": "ocds-uktest-own",
        "id": "own-0",
        "buyer": BUYER,
    }
    return [first, *releases]


PROCESSES = {
    # OV05, s71: over £5m, 3 KPIs published at award (2025-06-01), started 2025-07-01: the 12
    # months run from 2026-01-01 (s71 in force, the latest of the three): due 2027-01-01.
    "clock": process("clock", "2025-06-01T09:00:00Z", 8_000_000, start="2025-07-01",
                     end="2029-03-31"),
    # ...the KPIs (the contract details notice) published only on 2026-03-15: due 2027-03-15.
    "details": process(
        "details", "2025-06-01T09:00:00Z", 8_000_000, kpis=0, start="2025-07-01",
        end="2029-03-31",
        later=(("2026-03-15T09:00:00Z",
                {"agreedMetrics": [{"id": f"K{i}", "title": f"KPI {i}"} for i in (1, 2, 3)]}),),
    ),
    # ...rated on 2026-11-30: the clock restarts, next due 2027-11-30.
    "rated": process("rated", "2025-06-01T09:00:00Z", 8_000_000, start="2025-07-01",
                     end="2029-03-31",
                     later=(("2026-12-05T09:00:00Z", rating("2026-11-30", "met")),)),
    # Terminated 2026-06-30 with no rating: the assessment on termination was due 2026-07-30.
    "ended": terminated("ended", "2026-06-30"),
    # ...rated 2026-06-15 (on or after 30 days before the end, 2026-05-31): done.
    "endedrated": terminated(
        "endedrated", "2026-06-30", ("2026-06-20T09:00:00Z", rating("2026-06-15", "met"))
    ),
    # ...ending 2026-09-15: due 2026-10-15, after D.
    "endednow": terminated("endednow", "2026-09-15"),
    # OV10, s75, cumulative: +4% three times (12% > 10%), twice (8%); with change notices.
    "plus3": silent("plus3", 1_040_000, 1_080_000, 1_120_000),
    "plus2": silent("plus2", 1_040_000, 1_080_000),
    "noticed": silent("noticed", 1_040_000, 1_080_000, 1_120_000, notice=True),
    # ...the boundary: exactly +10% is within tolerance; two +6% changes are 12.36%, beyond it
    "exactly10": silent("exactly10", 1_100_000),
    "two6": silent("two6", 1_060_000, 1_123_600),
    # OV11: the buyer's procurement notices: UK4 in division 72 (2026-03-01), UK1 in 45
    # (2026-05-01), a Contracts Finder tender release in 50 (2026-02-01), a UK4 in 79 from
    # before the 12 months (2025-06-01), and a UK6 award notice in 79 (not a procurement
    # notice).
    "pipe72": notice("pipe72", "2026-03-01T09:00:00Z", "72500000", "UK4"),
    "pipe45": notice("pipe45", "2026-05-01T09:00:00Z", "45000000", "UK1"),
    "cf50": notice("cf50", "2026-02-01T09:00:00Z", "50100000", None),
    "old79": notice("old79", "2025-06-01T09:00:00Z", "79000000", "UK4"),
    "award79": notice("award79", "2026-06-01T09:00:00Z", "79000000", "UK6"),
    "cpv72": expiring("cpv72", "72000000"),
    "cpv50": expiring("cpv50", "50000000"),
    "cpv79": expiring("cpv79", "79000000"),
    "nocpv": expiring("nocpv", None),
    "own": own_tender(),
    # OV15, s70: £1m, procurement commenced 2026-04-15 (on or after 2026-04-01).
    **{
        key: process(key, "2026-04-15T09:00:00Z", 1_000_000, start="2026-05-01",
                     end="2028-04-30", later=later)
        for key, later in (
            ("intime", (paid("intime", "2026-05-20", 50_000, "2026-07-10"),)),
            ("late", (paid("late", "2026-05-20", 40_000, "2026-08-15"),)),
            ("never", ()),
            ("notdue", ()),
            ("small", ()),
        )
    },
    # commenced 2026-03-01, before s70 applies
    "before": process("before", "2026-03-01T09:00:00Z", 1_000_000, start="2026-05-01",
                      end="2028-04-30"),
    # a buyer with no s70 data at all (and no procurement notices): OV15 and OV11 unknown
    "quiet": bought_by(
        process("quiet", "2026-04-15T09:00:00Z", 1_000_000, start="2026-05-01",
                end="2027-03-31"),
        QUIET,
    ),
    # Carve-outs
    "cbase": carved("cbase"),
    "cframe": carved("cframe", tender={"techniques": {"hasFrameworkAgreement": True}}),
    "clight": carved("clight", tender={"specialRegime": ["Light_Touch"]}),
    "cconc": carved("cconc", tender={"specialRegime": ["concession"]}),
    "cutil": carved(
        "cutil",
        parties=[{"details": {"classifications": [
            {"scheme": "UK_CA_TYPE", "id": "privateUtility", "description": "Private utility"}
        ]}}],
    ),
}  # fmt: skip

PAYMENTS = [
    ("intime", "2026-05-20", 50_000),
    ("late", "2026-05-20", 40_000),
    ("never", "2026-06-10", 35_000),
    ("notdue", "2026-08-10", 45_000),
    ("small", "2026-05-20", 20_000),
    ("before", "2026-05-20", 50_000),
    *[(k, "2026-05-20", 60_000) for k in ("cbase", "cframe", "clight", "cconc", "cutil")],
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("act")
    notices = OneSource(root, kind="ocds", layout=None, files=["*.json"])
    for key, releases in PROCESSES.items():
        notices.file(f"{key}.json", json.dumps({"version": "1.1", "releases": releases}))
    notices.ingest()
    catalogue = load_catalogue(write_catalogue(root, [notices.source]))
    with open_warehouse(notices.warehouse) as con:
        rows = [
            {"row_number": n, "supplier_name": f"{key.title()} Ltd", "payment_date": day,
             "amount": amount}
            for n, (key, day, amount) in enumerate(PAYMENTS, start=2)
        ]  # fmt: skip
        rows.append(
            {"row_number": 99, "supplier_name": "Quiet Ltd", "payment_date": "2026-05-20",
             "amount": 50_000, "buyer_name": "Quiet Council"}
        )  # fmt: skip
        add_payments(con, rows)
        resolve_and_link(con, load_parameters())
    return notices, catalogue


def marts_at(warehouse, as_of: date):
    notices, catalogue = warehouse
    with open_warehouse(notices.warehouse) as con:
        build_contract_oversight(con, catalogue, load_parameters(), as_of)
        rows = con.execute(
            "select split_part(contract_id, '/', 1) as ocid, * from marts.contract_oversight"
        ).df()
        unpublished = con.execute(
            "select split_part(contract_id, '/', 1), payment_date, amount, due_date, "
            "published_late_on from marts.unpublished_payments order by 1"
        ).fetchall()
    rows["key"] = rows["ocid"].str.removeprefix("ocds-uktest-")
    return rows.set_index("key"), unpublished


@pytest.fixture(scope="module")
def marts(warehouse):
    return marts_at(warehouse, D)[0]


# ------------------------------------------------------------ reading


def test_the_statutory_dates_and_the_carve_out_table():
    assert (date(2026, 1, 1), date(2026, 4, 1)) == (S71_IN_FORCE, S70_IN_FORCE)
    assert {s: ACT_CARVE_OUTS[s][2] for s in ACT_CARVE_OUTS} == {
        "s52": ("framework", "concession", "light touch", "private utility"),
        "s71": ("framework", "concession", "light touch", "private utility"),
        "s75": ("light touch", "private utility"),
        "s70": ("framework", "private utility"),
    }


def test_carve_outs_are_read_from_the_compiled_process():
    def read(releases):
        return act_carve_outs(compile_releases(releases)[-1])

    assert read(PROCESSES["cbase"]) == []
    assert read(PROCESSES["cframe"]) == ["framework"]
    # "Light_Touch": case, spaces, '-' and '_' ignored
    assert read(PROCESSES["clight"]) == ["light touch"]
    assert read(PROCESSES["cconc"]) == ["concession"]
    assert read(PROCESSES["cutil"]) == ["private utility"]
    both = tendered(process("x", "2026-01-01", 1), specialRegime=["light touch", "Concession"])
    both[0]["tender"]["techniques"] = {"hasFrameworkAgreement": "true"}
    assert read(both) == ["framework", "light touch", "concession"]


def test_procurement_notices_and_payments_load_into_staging(warehouse):
    notices, _ = warehouse
    # UK1/UK4 and a Contracts Finder tender release count; a UK6 and award releases do not.
    assert notices.rows(
        "select ocid, release_id, notice_date, buyer_name, notice_types, cpv_codes "
        "from staging.procurement_notices order by notice_date, ocid"
    ) == [
        ("ocds-uktest-old79", "old79-1", date(2025, 6, 1), "Test Council", ["UK4"],
         ["79000000"]),
        ("ocds-uktest-own", "own-0", date(2026, 1, 10), "Test Council", ["UK4"], ["80000000"]),
        ("ocds-uktest-cf50", "cf50-1", date(2026, 2, 1), "Test Council", [], ["50100000"]),
        ("ocds-uktest-pipe72", "pipe72-1", date(2026, 3, 1), "Test Council", ["UK4"],
         ["72500000"]),
        ("ocds-uktest-pipe45", "pipe45-1", date(2026, 5, 1), "Test Council", ["UK1"],
         ["45000000"]),
    ]  # fmt: skip
    assert notices.rows(
        "select ocid, event_date, value_after, kpi_id, detail, release_id "
        "from staging.contract_events where event_type = 'payment_published' order by ocid"
    ) == [
        ("ocds-uktest-intime", date(2026, 5, 20), Decimal("50000.00"), "T-intime-2026-05-20",
         "payee: Intime Ltd", "ocds-uktest-intime-2"),
        ("ocds-uktest-late", date(2026, 5, 20), Decimal("40000.00"), "T-late-2026-05-20",
         "payee: Late Ltd", "ocds-uktest-late-2"),
    ]  # fmt: skip
    carve = dict(
        notices.rows(
            "select split_part(contract_id, '/', 1), act_carve_outs from staging.contracts"
        )
    )
    assert carve["ocds-uktest-cutil"] == ["private utility"]
    assert carve["ocds-uktest-clock"] == []


def test_a_release_is_a_procurement_notice_by_its_notice_types():
    def rows(release):
        return notice_rows([release], compile_releases([release]))

    uk4 = PROCESSES["pipe72"][0]
    assert [r["release_id"] for r in rows(uk4)] == ["pipe72-1"]
    # an award notice (UK6) is not, even with a tender section and no awards
    assert rows(PROCESSES["award79"][0]) == []
    # no notice type, an award: not a procurement notice
    assert rows(PROCESSES["clock"][0]) == []


# ------------------------------------------------------------ OV05 (s71)


def test_the_twelve_months_run_from_the_latest_of_start_details_and_s71(warehouse):
    at = {d: marts_at(warehouse, d)[0] for d in (date(2026, 12, 31), date(2027, 1, 2))}
    flag = ("ov05_rating_overdue", "ov05_outcome")
    assert row(at[date(2026, 12, 31)], "clock", *flag) == (False, "not yet due")
    assert row(at[date(2027, 1, 2)], "clock", *flag, "ov05_evidence") == (
        True,
        "flagged",
        "last rated never; next assessment due 2027-01-01",
    )
    # the contract details notice on 2026-03-15 is the latest: due 2027-03-15
    assert row(at[date(2027, 1, 2)], "details", *flag, "ov05_evidence") == (
        False,
        "not yet due",
        "last rated never; next assessment due 2027-03-15",
    )
    # rated 2026-11-30: the next is due 2027-11-30
    assert row(at[date(2027, 1, 2)], "rated", *flag, "ov05_evidence") == (
        False,
        "not flagged",
        "last rated 2026-11-30; next assessment due 2027-11-30",
    )
    # day 365 after the rating is the due date itself (not late); day 366 is late
    assert row(marts_at(warehouse, date(2027, 11, 30))[0], "rated", *flag) == (
        False,
        "not flagged",
    )
    assert row(marts_at(warehouse, date(2027, 12, 1))[0], "rated", *flag) == (True, "flagged")


def test_an_assessment_is_due_on_termination(marts):
    flag = ("ov05_rating_overdue", "ov05_outcome", "ov05_evidence")
    assert row(marts, "ended", *flag) == (
        True,
        "flagged",
        "last rated never; ended 2026-06-30, assessment on termination due 2026-07-30",
    )
    assert row(marts, "endedrated", *flag)[:2] == (False, "not flagged")
    assert row(marts, "endednow", *flag) == (
        False,
        "not yet due",
        "last rated never; ended 2026-09-15, assessment on termination due 2026-10-15",
    )


# ------------------------------------------------------------ OV10 (s75)


def test_changes_without_notice_add_up_since_award(marts):
    flag = ("ov10_change_beyond_tolerance", "ov10_outcome")
    assert row(marts, "plus3", *flag, "ov10_evidence") == (
        True,
        "flagged",
        "2026-01-01 change: 1000000.00 -> 1040000.00, end 2028-03-31 -> 2028-03-31; "
        "2026-02-01 change: 1040000.00 -> 1080000.00, end 2028-03-31 -> 2028-03-31; "
        "2026-03-01 change: 1080000.00 -> 1120000.00, end 2028-03-31 -> 2028-03-31; "
        "without a change notice since award: value +12.0% of 1000000.00, term +0.0%",
    )
    assert row(marts, "plus2", *flag) == (False, "not flagged")
    assert row(marts, "noticed", *flag, "ov10_evidence") == (False, "not flagged", None)
    assert row(marts, "exactly10", *flag) == (False, "not flagged")
    assert row(marts, "two6", *flag, "ov10_evidence") == (
        True,
        "flagged",
        "2026-01-01 change: 1000000.00 -> 1060000.00, end 2028-03-31 -> 2028-03-31; "
        "2026-02-01 change: 1060000.00 -> 1123600.00, end 2028-03-31 -> 2028-03-31; "
        "without a change notice since award: value +12.4% of 1000000.00, term +0.0%",
    )


# ------------------------------------------------------------ OV11


def test_a_successor_is_a_procurement_notice_in_the_cpv_division(marts):
    flag = ("ov11_no_pipeline", "ov11_evidence")
    assert row(marts, "cpv72", *flag) == (False, "procurement notice ocds-uktest-pipe72 "
                                                 "(2026-03-01)")  # fmt: skip
    # a Contracts Finder tender release (no notice type, no award) counts
    assert row(marts, "cpv50", *flag) == (False, "procurement notice ocds-uktest-cf50 "
                                                 "(2026-02-01)")  # fmt: skip
    # division 79: a UK4 before the 12 months and a UK6 award notice only
    assert row(marts, "cpv79", *flag) == (
        True,
        "no procurement notice from the buyer in CPV division 79 published 2025-09-30 to "
        "2026-09-30 (its own process left out)",
    )
    # its own process's tender notice is not a successor
    assert row(marts, "own", "ov11_no_pipeline") == (True,)
    # no CPV code: any procurement notice of the buyer in the 12 months (the latest, UK1)
    assert row(marts, "nocpv", *flag) == (False, "procurement notice ocds-uktest-pipe45 "
                                                 "(2026-05-01)")  # fmt: skip
    # the buyer publishes no procurement notices
    assert row(marts, "quiet", *flag) == (None, None)


# ------------------------------------------------------------ OV15 (s70)


def test_large_payments_are_published_within_30_days_of_the_quarter(warehouse, marts):
    flag = ("ov15_payment_not_published", "ov15_outcome", "ov15_evidence")
    # paid 2026-05-20 (quarter ends 2026-06-30: due 2026-07-30), published 2026-07-10
    assert row(marts, "intime", *flag) == (False, "not flagged", None)
    assert row(marts, "late", *flag) == (
        True,
        "flagged",
        "2026-05-20 £40000.00 (pay:p.csv#3), due 2026-07-30, published 2026-08-15",
    )
    assert row(marts, "never", *flag) == (
        True,
        "flagged",
        "2026-06-10 £35000.00 (pay:p.csv#4), due 2026-07-30",
    )
    # paid 2026-08-10: due 2026-10-30, after D
    assert row(marts, "notdue", *flag) == (False, "not yet due", None)
    assert row(marts, "small", *flag) == (False, "not flagged", None)
    assert row(marts, "before", *flag[:2]) == (False, "commenced before s70")
    # Quiet Council publishes no payment in any notice: unknown
    assert row(marts, "quiet", *flag[:2]) == (None, "unknown")
    # not in value at risk
    assert row(marts, "never", "value_at_risk") == (Decimal("0.00"),)
    unpublished = marts_at(warehouse, D)[1]
    assert [u for u in unpublished if u[0] in ("ocds-uktest-late", "ocds-uktest-never")] == [
        ("ocds-uktest-late", date(2026, 5, 20), Decimal("40000.00"), date(2026, 7, 30),
         date(2026, 8, 15)),
        ("ocds-uktest-never", date(2026, 6, 10), Decimal("35000.00"), date(2026, 7, 30), None),
    ]  # fmt: skip


# ------------------------------------------------------------ carve-outs


def test_each_carve_out_lifts_its_duties_and_no_others(marts):
    columns = ("ov04_outcome", "ov05_outcome", "ov06_outcome", "ov10_outcome", "ov15_outcome")
    assert row(marts, "cbase", *columns) == (
        "flagged",
        "not flagged",
        "flagged",
        "flagged",
        "flagged",
    )
    fw, lt, co, pu = (
        "carved out: framework",
        "carved out: light touch",
        "carved out: concession",
        "carved out: private utility",
    )
    assert row(marts, "cframe", *columns) == (fw, fw, fw, "flagged", fw)
    assert row(marts, "clight", *columns) == (lt, lt, lt, lt, "flagged")
    assert row(marts, "cconc", *columns) == (co, co, co, "flagged", "flagged")
    assert row(marts, "cutil", *columns) == (pu, pu, pu, pu, pu)
    # carved out: not flagged, never unknown
    assert (
        row(
            marts,
            "cutil",
            "ov04_kpis_missing",
            "ov05_rating_overdue",
            "ov06_poor_performance",
            "ov10_change_beyond_tolerance",
            "ov15_payment_not_published",
        )
        == (False,) * 5
    )
