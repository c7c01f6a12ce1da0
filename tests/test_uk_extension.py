"""Find a Tender's UK extension read into events and indicators: a published reason for no
KPIs, KPI ratings as `measureClassification`, performance failures with penalties, termination
rationales, contract completion (`implementation.endDate`, `finalValue`), and the Procurement
Act duties scoped to procurements commenced from 24 February 2025. Every release below is
hand-made on the shapes of the schemas in ../shared/data/ocds-schema/ (UK, metrics and
contract-completion extensions; performance failures extension), every expected value worked
out by hand."""

import json
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link
from oversight.indicators.indicators import ACT_COMMENCED, build_contract_oversight
from oversight.ingest.ocds_compile import compile_releases, events
from tests.conftest import OneSource, add_payments, write_catalogue

D = date(2026, 9, 30)
BUYER = {"id": "B1", "name": "Test Council"}


def process(
    key: str,
    first: str,
    value: float,
    *,
    kpis: int = 3,
    start: str = "2025-04-01",
    end: str = "2028-03-31",
    supplier: str | None = None,
    contract: dict | None = None,
    later: tuple[tuple[str, dict], ...] = (),
) -> list[dict]:
    """The releases of one contracting process: a first (award) release dated `first`, for a
    contract of `value` with `kpis` agreed metrics, then each (date, contract fields) in
    `later` as a release touching contract C1."""
    ocid = f"ocds-uktest-{key}"
    supplier = supplier or f"{key.title()} Ltd"
    award = {
        "id": "A1",
        "status": "active",
        "date": first,
        "value": {"amount": value, "currency": "GBP"},
        "suppliers": [{"id": "S1", "name": supplier}],
        "contractPeriod": {"startDate": f"{start}T00:00:00Z", "endDate": f"{end}T23:59:59Z"},
    }
    c1 = {
        "id": "C1",
        "awardID": "A1",
        "status": "active",
        "value": {"amount": value, "currency": "GBP"},
        "period": {"startDate": f"{start}T00:00:00Z", "endDate": f"{end}T23:59:59Z"},
        **(
            {"agreedMetrics": [{"id": f"K{i}", "title": f"KPI {i}"} for i in range(1, kpis + 1)]}
            if kpis
            else {}
        ),  # fmt: skip
        **(contract or {}),
    }
    base = {"ocid": ocid, "tag": ["award"], "buyer": BUYER}
    parties = [
        {**BUYER, "roles": ["buyer"]},
        {"id": "S1", "name": supplier, "roles": ["supplier"]},
    ]
    releases = [
        {
            **base,
            "id": f"{ocid}-1",
            "date": first,
            "parties": parties,
            "tender": {"id": key.upper(), "title": f"{key} services"},
            "awards": [award],
            "contracts": [c1],
        }
    ]
    for n, (when, fields) in enumerate(later, start=2):
        releases.append(
            {**base, "id": f"{ocid}-{n}", "date": when, "contracts": [{"id": "C1", **fields}]}
        )
    return releases


def rating(when: str, code: str, description: str | None = None) -> dict:
    """A UK9 KPI assessment of K1: an observation with a `measureClassification`."""
    classification = {"id": code, **({"description": description} if description else {})}
    return {
        "implementation": {
            "metrics": [
                {
                    "id": "K1",
                    "observations": [
                        {
                            "id": f"O-{when}",
                            "period": {"endDate": f"{when}T23:59:59Z"},
                            "measureClassification": classification,
                        }
                    ],
                }
            ]
        }
    }


# ------------------------------------------------------------ events read from releases

FAILURE = {
    "id": "PF1",
    "description": "Missed the response times in <b>three</b> months",
    "requirement": "Respond within 4 hours",
    "decisionDate": "2026-03-15T00:00:00Z",
    "penaltyDate": "2026-04-01T00:00:00Z",
    "penaltyType": "contracted",
    "penaltyValue": {"amount": 25000, "currency": "GBP"},
    "partialTermination": "Lot 2 removed",
}


def test_no_kpi_reason_ratings_failures_termination_and_completion_become_events():
    releases = process(
        "ev",
        "2025-05-01T09:00:00Z",
        1_000_000,
        kpis=0,
        contract={"noAgreedMetricsRationale": "Delivery is assured by the framework's levels"},
        later=(
            ("2025-08-01T09:00:00Z", {"agreedMetrics": [{"id": "K1", "title": "Response"}]}),
            ("2025-10-01T09:00:00Z", rating("2025-09-30", "below")),
            ("2026-01-05T09:00:00Z", rating("2025-12-31", "other", "Not assessed this time")),
            ("2026-02-01T09:00:00Z", rating("2026-01-31", "X", "Inadequate")),
            ("2026-04-10T09:00:00Z", {"implementation": {"performanceFailures": [FAILURE]}}),
            (
                "2026-05-20T09:00:00Z",
                {
                    "status": "terminated",
                    "period": {"endDate": "2026-05-15T23:59:59Z"},
                    "statusDetails": "Ended early",
                    "terminationRationaleClassifications": [
                        {"id": "performance", "description": "Poor performance"}
                    ],
                    "implementation": {
                        "endDate": "2026-05-15T00:00:00Z",
                        "finalValue": {"amount": 640000, "currency": "GBP"},
                        "finalValueDetails": "Terminated after 13 months",
                    },
                },
            ),
        ),
    )
    found = [
        (
            e["event_type"],
            e.get("event_date"),
            e.get("kpi_id"),
            e.get("rating"),
            e.get("value_before"),
            e.get("value_after"),
            e.get("end_date_before"),
            e.get("end_date_after"),
            e.get("detail"),
        )
        for e in events(releases, compile_releases(releases))
        if e["event_type"] not in ("award", "contract_signed", "change")
    ]
    assert found == [
        (
            "no_kpis_reason",
            "2025-05-01T09:00:00Z",
            None,
            None,
            None,
            None,
            None,
            None,
            "Delivery is assured by the framework's levels",
        ),
        ("kpi_defined", "2025-08-01T09:00:00Z", "K1", None, None, None, None, None, "Response"),
        # measureClassification ids in order onto the s71 scale: below -> requires improvement
        (
            "performance_rating",
            "2025-09-30T23:59:59Z",
            "K1",
            "requires improvement",
            None,
            None,
            None,
            None,
            None,
        ),
        ("performance_rating", "2025-12-31T23:59:59Z", "K1", "other", *[None] * 5),
        # an unlisted code whose description names a rating: the description
        ("performance_rating", "2026-01-31T23:59:59Z", "K1", "inadequate", *[None] * 5),
        # dated by its decision; the penalty as value_after; markup removed from the text
        (
            "performance_failure",
            "2026-03-15T00:00:00Z",
            "PF1",
            None,
            None,
            "25000",
            None,
            None,
            "Missed the response times in three months; penalty: contracted; Lot 2 removed",
        ),
        (
            "termination",
            "2026-05-15T23:59:59Z",
            None,
            None,
            None,
            None,
            None,
            None,
            "Poor performance; Ended early",
        ),
        (
            "completion",
            "2026-05-15T00:00:00Z",
            None,
            None,
            "1000000",
            "640000",
            "2026-05-15T23:59:59Z",
            "2026-05-15T00:00:00Z",
            "Terminated after 13 months",
        ),
    ]


def test_a_deprecated_single_termination_rationale_alone_is_a_termination():
    releases = process(
        "tr",
        "2025-05-01T09:00:00Z",
        100_000,
        later=(
            (
                "2026-02-01T09:00:00Z",
                {"terminationRationaleClassification": {"id": "convenience"}},
            ),
            # published again with the status: not a second termination
            ("2026-02-02T09:00:00Z", {"status": "terminated"}),
        ),
    )
    ended = [
        (e["event_date"], e["detail"])
        for e in events(releases, compile_releases(releases))
        if e["event_type"] == "termination"
    ]
    assert ended == [("2028-03-31T23:59:59Z", "convenience")]


def test_the_events_load_typed_into_staging(tmp_path):
    notices = OneSource(tmp_path, kind="ocds", layout=None, files=["*.json"])
    releases = process(
        "ld",
        "2025-05-01T09:00:00Z",
        1_000_000,
        later=(
            ("2026-04-10T09:00:00Z", {"implementation": {"performanceFailures": [FAILURE]}}),
            (
                "2026-06-01T09:00:00Z",
                {
                    "implementation": {
                        "endDate": "2026-05-31T00:00:00Z",
                        "finalValue": {"amount": 1150000.5, "currency": "GBP"},
                    }
                },
            ),
        ),
    )
    notices.file("p.json", json.dumps({"version": "1.1", "releases": releases}))
    notices.ingest()
    assert notices.rows(
        "select event_type, event_date, kpi_id, value_before, value_after, end_date_after "
        "from staging.contract_events where event_type in ('performance_failure', 'completion')"
        " order by event_date"
    ) == [
        ("performance_failure", date(2026, 3, 15), "PF1", None, Decimal("25000.00"), None),
        (
            "completion",
            date(2026, 5, 31),
            None,
            Decimal("1000000.00"),
            Decimal("1150000.50"),
            date(2026, 5, 31),
        ),
    ]


# ------------------------------------------------------------ the indicators

# Every contract is a notice of Test Council. D = 2026-09-30.
PROCESSES = [
    # The Act's boundary: identical contracts whose procurement commenced (first notice, award)
    # on 23 and 24 Feb 2025, over £5m with 2 KPIs, rated "significantlyBelow" (inadequate), and
    # their value raised 20% between releases with no change notice.
    *[
        process(
            key,
            f"{day}T12:00:00Z",
            6_000_000,
            kpis=2,
            later=(
                ("2026-01-05T09:00:00Z", rating("2025-12-31", "significantlyBelow")),
                ("2026-02-01T09:00:00Z", {"value": {"amount": 7_200_000, "currency": "GBP"}}),
            ),
        )
        for key, day in (("feb23", "2025-02-23"), ("feb24", "2025-02-24"))
    ],
    # s52: no KPIs and a published reason; 2 KPIs and a reason; three KPIs.
    process(
        "reason",
        "2025-06-01T09:00:00Z",
        8_000_000,
        kpis=0,
        contract={"noAgreedMetricsRationale": "Assured by the framework's service levels"},
    ),
    process(
        "twoandreason",
        "2025-06-01T09:00:00Z",
        8_000_000,
        kpis=2,
        contract={"noAgreedMetricsRationale": "Some aspects cannot be measured"},
    ),
    process("three", "2025-06-01T09:00:00Z", 8_000_000, kpis=3),
    # s71: a good ("met") rating but a performance failure with a penalty; a good rating alone.
    process(
        "failure",
        "2025-06-01T09:00:00Z",
        8_000_000,
        later=(
            ("2026-01-05T09:00:00Z", rating("2025-12-31", "met")),
            ("2026-04-10T09:00:00Z", {"implementation": {"performanceFailures": [FAILURE]}}),
        ),
    ),
    process(
        "goodonly",
        "2025-06-01T09:00:00Z",
        8_000_000,
        later=(("2026-01-05T09:00:00Z", rating("2025-12-31", "met")),),
    ),
    # OV08 on completed notices with no payment linked: final value 1.15 and 0.95 of value;
    # one with a final value and a payment linked (payments are used).
    *[
        process(
            key,
            "2025-06-01T09:00:00Z",
            1_000_000,
            start="2025-07-01",
            end="2026-03-31",
            later=(
                (
                    "2026-04-20T09:00:00Z",
                    {
                        "implementation": {
                            "endDate": "2026-03-31T00:00:00Z",
                            "finalValue": {"amount": final, "currency": "GBP"},
                        }
                    },
                ),
            ),
        )
        for key, final in (("over", 1_150_000), ("within", 950_000), ("paidtoo", 2_000_000))
    ],
]
# the buyer publishes spend: one payment on the "paidtoo" contract, one to somebody else
PAYMENTS = [
    {"row_number": 2, "supplier_name": "Paidtoo Ltd", "payment_date": "2025-12-01",
     "amount": 500000},
    {"row_number": 3, "supplier_name": "Somebody Else Ltd", "payment_date": "2026-09-29",
     "amount": 600},
]  # fmt: skip


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    root = tmp_path_factory.mktemp("uk")
    notices = OneSource(root, kind="ocds", layout=None, files=["*.json"])
    for n, releases in enumerate(PROCESSES):
        notices.file(f"p{n}.json", json.dumps({"version": "1.1", "releases": releases}))
    notices.ingest()
    catalogue = load_catalogue(write_catalogue(root, [notices.source]))
    with open_warehouse(notices.warehouse) as con:
        add_payments(con, PAYMENTS)
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_contract_oversight(con, catalogue, parameters, D)
        rows = con.execute(
            "select split_part(contract_id, '/', 1) as ocid, * from marts.contract_oversight"
        ).df()
    rows["key"] = rows["ocid"].str.removeprefix("ocds-uktest-")
    return rows.set_index("key")


def row(marts, key: str, *columns: str) -> tuple:
    values = marts.loc[key, list(columns)].tolist()
    return tuple(
        None
        if not isinstance(v, str) and pd.isna(v)
        else v.date()
        if isinstance(v, pd.Timestamp)
        else v
        for v in values
    )


def test_the_act_applies_from_24_february_2025(marts):
    assert date(2025, 2, 24) == ACT_COMMENCED
    assert row(marts, "feb23", "procurement_commenced", "under_act") == (date(2025, 2, 23), False)
    assert row(marts, "feb24", "procurement_commenced", "under_act") == (date(2025, 2, 24), True)
    # 23 Feb: every Act duty "not under the Act", never flagged, never unknown.
    for code, flag in (
        ("ov04", "ov04_kpis_missing"),
        ("ov05", "ov05_rating_overdue"),
        ("ov06", "ov06_poor_performance"),
        ("ov10", "ov10_change_beyond_tolerance"),
        ("ov15", "ov15_payment_not_published"),
    ):
        assert row(marts, "feb23", flag, f"{code}_outcome") == (False, "not under the Act")
    # 24 Feb: 2 KPIs over £5m flagged; s71's 12 months run from 2026-01-01 (in force after the
    # 2025-04-01 start; the 2025-12-31 rating is before it): due 2027-01-01, not yet due on D;
    # rated inadequate: flagged; value up 20% silently: flagged.
    assert row(marts, "feb24", "ov04_kpis_missing", "ov04_outcome", "ov04_evidence") == (
        True,
        "flagged",
        "2 KPIs published",
    )
    assert row(marts, "feb24", "ov05_rating_overdue", "ov05_outcome", "ov05_evidence") == (
        False,
        "not yet due",
        "last rated 2025-12-31; next assessment due 2027-01-01",
    )
    assert row(marts, "feb24", "ov06_poor_performance", "ov06_outcome", "ov06_evidence") == (
        True,
        "flagged",
        "latest rating inadequate (2025-12-31)",
    )
    assert row(marts, "feb24", "ov10_change_beyond_tolerance", "ov10_outcome") == (
        True,
        "flagged",
    )


def test_kpis_missing_with_a_published_reason(marts):
    assert row(marts, "reason", "ov04_kpis_missing", "ov04_outcome", "ov04_evidence") == (
        False,
        "no KPIs, reason given",
        "0 KPIs published; reason for no KPIs: Assured by the framework's service levels",
    )
    # s52's exception is setting none: two KPIs and a reason are still fewer than three.
    assert row(marts, "twoandreason", "ov04_kpis_missing", "ov04_outcome") == (True, "flagged")
    assert row(marts, "three", "ov04_kpis_missing", "ov04_outcome") == (False, "not flagged")


def test_poor_performance_reads_classifications_and_failures(marts):
    assert row(marts, "failure", "ov06_poor_performance", "ov06_outcome", "ov06_evidence") == (
        True,
        "flagged",
        "latest rating good (2025-12-31); 1 performance failure, last 2026-03-15, "
        "penalties £25000.00",
    )
    assert row(marts, "goodonly", "ov06_poor_performance", "ov06_outcome") == (
        False,
        "not flagged",
    )
    # no rating and no failure: unknown
    assert row(marts, "three", "ov06_poor_performance", "ov06_outcome") == (None, "unknown")


def test_paid_beyond_value_on_the_final_value_when_no_spend_links(marts):
    over = row(
        marts,
        "over",
        "ov08_paid_beyond_value",
        "ov08_basis",
        "ov08_paid_ratio",
        "ov08_band",
        "ov08_value_at_risk",
        "value_at_risk",
        "ov08_evidence",
    )
    assert over == (
        True,
        "final value",
        1.15,
        "beyond change tolerance",
        Decimal("150000.00"),
        Decimal("150000.00"),
        "final value £1150000.00 against £1000000.00 (completion published 2026-03-31; "
        "no payment linked)",
    )
    assert row(marts, "within", "ov08_paid_beyond_value", "ov08_basis", "ov08_paid_ratio") == (
        False,
        "final value",
        0.95,
    )
    # a payment links: the payments are the basis (500,000 of 1,000,000), not the final value
    assert row(marts, "paidtoo", "ov08_paid_beyond_value", "ov08_basis", "ov08_paid_ratio") == (
        False,
        "payments",
        0.5,
    )
    # a completion is the closing notice: ended 2026-03-31, status still active, not OV09
    assert row(marts, "over", "ov09_not_closed") == (False,)
