"""Contract notices (OCDS): reading, compiling releases per ocid, events, bad input, and
recognising a register entry and a notice as one contract."""

import json
from datetime import date
from decimal import Decimal

import pytest

from oversight.core.catalogue import load_catalogue
from oversight.core.warehouse import open_warehouse
from oversight.entities.matching import match_registers_to_notices
from oversight.ingest.ocds import FileError, iter_items
from tests.conftest import REAL_CATALOGUE, ingest_all, needs_real, query

OCID = "ocds-test01-000001"
BUYER = {"id": "B1", "name": "Test Council"}


def release(rid: str, when: str, **body) -> dict:
    return {"ocid": OCID, "id": rid, "date": when, "tag": ["tender"], "buyer": BUYER, **body}


def package(*releases: dict) -> str:
    return json.dumps({"version": "1.1", "releases": list(releases)})


AWARD = release(
    "r1",
    "2024-01-10T00:00:00Z",
    parties=[
        {**BUYER, "roles": ["buyer"]},
        {
            "id": "S1",
            "name": "Acme &amp; Sons <b>Ltd</b>",
            "roles": ["supplier"],
            "identifier": {"scheme": "GB-COH", "id": "2535986"},
            "details": {"scale": "sme"},
        },
        {
            "id": "S2",
            "name": "Helping Hands",
            "roles": ["supplier"],
            "identifier": {"scheme": "GB-CHC", "id": "1049226"},
        },
    ],
    tender={
        "id": "TC/001",
        "title": "Meals on wheels",
        "items": [
            {
                "id": "1",
                "classification": {
                    "scheme": "CPV",
                    "id": "55521200",
                    "description": "Meal delivery",
                },
            }
        ],
    },
    awards=[
        {
            "id": "A1",
            "status": "active",
            "date": "2024-01-05T00:00:00Z",
            "value": {"amount": 100000, "currency": "GBP"},
            "suppliers": [
                {"id": "S1", "name": "Acme &amp; Sons <b>Ltd</b>"},
                {"id": "S2", "name": "Helping Hands"},
            ],
            "contractPeriod": {
                "startDate": "2024-02-01T00:00:00Z",
                "endDate": "2025-12-31T00:00:00Z",
            },
        }
    ],
    contracts=[
        {
            "id": "C1",
            "awardID": "A1",
            "status": "active",
            "dateSigned": "2024-01-20T00:00:00Z",
            "value": {"amount": 100000, "currency": "GBP"},
            "period": {"startDate": "2024-02-01T00:00:00Z", "endDate": "2025-12-31T00:00:00Z"},
        }
    ],
)
CHANGE = release(
    "r2",
    "2024-09-01T00:00:00Z",
    contracts=[
        {
            "id": "C1",
            "value": {"amount": 130000, "currency": "GBP"},
            "period": {"endDate": "2026-06-30T00:00:00Z"},
            "amendments": [
                {"id": "AM1", "date": "2024-08-30T00:00:00Z", "rationale": "More rounds"}
            ],
        }
    ],
)
SILENT = release(
    "r3",
    "2025-03-01T00:00:00Z",
    contracts=[{"id": "C1", "value": {"amount": 150000, "currency": "GBP"}}],
)


@pytest.fixture
def notices(one_source):
    return one_source(kind="ocds", layout=None, files=["*.json", "*.jsonl"])


def test_releases_of_one_ocid_compile_in_date_order_with_change_events(notices):
    # The newest release comes first, in another file: order is by release date, not file.
    notices.file("a-late.json", package(SILENT))
    notices.file("b-early.json", package(AWARD, CHANGE))
    summary = notices.ingest()
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 3, 0)
    assert notices.rows(
        "select contract_id, record_type, contract_ref, title, buyer_name, supplier_name, "
        "supplier_company_number, sme, supplier_count, total_value, start_date, end_date, "
        "category_code, category_scheme, status from staging.contracts"
    ) == [
        (
            f"{OCID}/A1",
            "notice",
            "TC/001",
            "Meals on wheels",
            "Test Council",
            "Acme & Sons Ltd",
            "02535986",
            True,
            2.0,
            Decimal("150000.00"),
            date(2024, 2, 1),
            date(2026, 6, 30),
            "55521200",
            "CPV",
            "active",
        )
    ]
    assert notices.rows(
        "select event_type, event_date, value_before, value_after, end_date_before, "
        "end_date_after, has_notice, detail from staging.contract_events "
        "order by event_date"
    ) == [
        (
            "award",
            date(2024, 1, 5),
            None,
            Decimal("100000.00"),
            None,
            date(2025, 12, 31),
            None,
            None,
        ),
        ("contract_signed", date(2024, 1, 20), None, None, None, None, None, None),
        (
            "change",
            date(2024, 8, 30),
            Decimal("100000.00"),
            Decimal("130000.00"),
            date(2025, 12, 31),
            date(2026, 6, 30),
            True,
            "More rounds",
        ),
        (
            "change",
            date(2025, 3, 1),
            Decimal("130000.00"),
            Decimal("150000.00"),
            date(2026, 6, 30),
            date(2026, 6, 30),
            False,
            "value or end date changed between releases with no amendment",
        ),
    ]
    assert notices.rows(
        "select position, supplier_name, supplier_company_number, supplier_charity_number, sme "
        "from staging.contract_suppliers order by position"
    ) == [
        (1, "Acme & Sons Ltd", "02535986", None, True),
        (2, "Helping Hands", None, "1049226", None),
    ]


def test_extension_termination_kpis_and_ratings(notices):
    kpis = release(
        "r2",
        "2024-03-01T00:00:00Z",
        contracts=[
            {
                "id": "C1",
                "agreedMetrics": [
                    {"id": "K1", "title": "On time"},
                    {"id": "K2", "title": "Hot food"},
                ],
            }
        ],
    )
    rated = release(
        "r3",
        "2024-07-01T00:00:00Z",
        contracts=[
            {
                "id": "C1",
                "implementation": {
                    "metrics": [
                        {
                            "id": "K1",
                            "observations": [
                                {
                                    "id": "O1",
                                    "measure": "Requires improvement",
                                    "period": {"endDate": "2024-06-30T00:00:00Z"},
                                }
                            ],
                        }
                    ]
                },
            }
        ],
    )
    extended = release(
        "r4",
        "2025-11-01T00:00:00Z",
        contracts=[
            {
                "id": "C1",
                "period": {"endDate": "2026-12-31T00:00:00Z"},
                "amendments": [{"id": "X1", "date": "2025-10-31T00:00:00Z"}],
            }
        ],
    )
    ended = release(
        "r5",
        "2026-02-01T00:00:00Z",
        contracts=[
            {"id": "C1", "status": "terminated", "period": {"endDate": "2026-01-31T00:00:00Z"}}
        ],
    )
    notices.file("p.json", package(AWARD, kpis, rated, extended, ended))
    notices.ingest()
    assert notices.rows(
        "select event_type, event_date, kpi_id, rating, detail, end_date_before, end_date_after "
        "from staging.contract_events where event_type not in ('award', 'contract_signed') "
        "order by event_date, kpi_id"
    ) == [
        ("kpi_defined", date(2024, 3, 1), "K1", None, "On time", None, None),
        ("kpi_defined", date(2024, 3, 1), "K2", None, "Hot food", None, None),
        ("performance_rating", date(2024, 6, 30), "K1", "requires improvement", None, None, None),
        ("extension", date(2025, 10, 31), None, None, None, date(2025, 12, 31), date(2026, 12, 31)),
        ("termination", date(2026, 1, 31), None, None, None, None, None),
    ]


def test_json_lines_record_packages_and_bad_releases(notices):
    no_ocid = {"id": "x", "date": "2024-01-01T00:00:00Z"}
    notices.file(
        "lines.jsonl",
        "\n".join([json.dumps(AWARD), "{not json", json.dumps(no_ocid), "", json.dumps(CHANGE)])
        + "\n",
    )
    linked_only = {
        "ocid": "ocds-test01-000002",
        "releases": [{"url": "http://x/1.json"}],
        "compiledRecord": {**AWARD, "ocid": "ocds-test01-000002", "id": "c"},
    }
    notices.file("records.json", json.dumps({"records": [linked_only, {"ocid": "o3"}]}))
    notices.ingest()
    assert notices.rows(
        "select file_path, row_number, reason from raw.quarantine order by 1, 2"
    ) == [
        (
            "pub/lines.jsonl",
            2,
            "malformed JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)",
        ),
        ("pub/lines.jsonl", 3, "release has no ocid"),
        ("pub/records.json", 2, "record has no embedded releases and no compiledRecord"),
    ]
    assert notices.rows("select raw_text from raw.quarantine where row_number = 3") == [
        (json.dumps(no_ocid),)
    ]
    row = notices.file_row("lines.jsonl")
    assert (row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (4, 2, 2)
    assert notices.rows("select ocid, total_value from staging.contracts order by 1") == [
        (OCID, Decimal("130000.00")),
        ("ocds-test01-000002", Decimal("100000.00")),
    ]


def test_broken_packages_fail_with_their_reason_and_the_rest_loads(notices):
    notices.file("good.json", package(AWARD))
    notices.file("cut.json", package(AWARD, CHANGE)[:400])
    notices.file("no-releases.json", json.dumps({"version": "1.1", "publisher": {"name": "X"}}))
    notices.file("array.json", json.dumps([AWARD]))
    notices.ingest()
    errors = dict(notices.rows("select file_path, error from raw.files where status = 'failed'"))
    assert errors["pub/cut.json"].startswith("malformed JSON after 0 releases")
    assert errors["pub/no-releases.json"] == (
        "not an OCDS release or record package: no 'releases' or 'records' (top-level keys: "
        "['version', 'publisher'])"
    )
    assert errors["pub/array.json"].startswith("not an OCDS package: the file is a JSON array")
    assert notices.rows("select count(*) from staging.contracts") == [(1,)]


def test_amount_that_is_not_a_number_is_kept_visible(notices):
    odd = json.loads(json.dumps(AWARD))
    odd["awards"][0]["value"]["amount"] = "about 5k"
    del odd["contracts"]
    notices.file("p.json", package(odd))
    notices.ingest()
    assert notices.rows("select total_value, parse_issues from staging.contracts") == [
        (None, "total_value: about 5k is not an amount")
    ]


def test_packages_are_streamed(tmp_path):
    """Releases come out one by one: a file broken near its end still yields what precedes
    the break before the error, so nothing needs the whole file in memory."""
    path = tmp_path / "big.json"
    body = ",".join(json.dumps({**AWARD, "id": f"r{i}"}) for i in range(500))
    path.write_text('{"releases": [' + body + ", {broken")
    items = iter_items(path, "json")
    assert [next(items).release["id"] for _ in range(3)] == ["r0", "r1", "r2"]
    with pytest.raises(FileError, match="malformed JSON after 500 releases"):
        list(items)


def test_changing_or_removing_a_notice_file_recompiles_its_ocids(notices):
    notices.file("a.json", package(AWARD))
    changes = notices.file("b.json", package(CHANGE))
    notices.ingest()
    assert notices.rows("select total_value from staging.contracts") == [(Decimal("130000.00"),)]
    changes.unlink()
    notices.ingest()
    assert notices.rows("select total_value from staging.contracts") == [(Decimal("100000.00"),)]
    assert notices.rows(
        "select count(*) from staging.contract_events where event_type = 'change'"
    ) == [(0,)]


def test_register_and_notice_recognised_as_one_contract(tmp_path, warehouse):
    with open_warehouse(warehouse) as con:
        con.execute("""
            insert into staging.contracts (contract_id, record_type, source_id, buyer_name,
                supplier_name, supplier_company_number, contract_ref, total_value, start_date)
            values
            ('r:1', 'register', 'reg', 'Test City Council', 'Acme Ltd', '02535986', 'TC/001',
             100000, '2024-02-01'),
            ('r:2', 'register', 'reg', 'Test Council', 'Brook Limited', null, 'R-9', 50000,
             '2024-05-01'),
            ('r:3', 'register', 'reg', 'Test Council', 'Other Ltd', '11111111', 'R-10', 70000,
             '2024-06-01'),
            ('n:1', 'notice', 'cf', 'TEST COUNCIL', 'ACME LIMITED', '02535986', 'TC/001',
             120000, '2024-03-01'),
            ('n:2', 'notice', 'cf', 'Test Council', 'Brook Ltd', null, 'FTS-1', 50200,
             '2024-05-20'),
            ('n:3', 'notice', 'cf', 'Test Council', 'Other Ltd', '22222222', 'R-10', 70000,
             '2024-06-01'),
            ('n:4', 'notice', 'cf', 'Test Council', 'Brook Ltd', null, 'FTS-2', 50000,
             '2024-08-01')
        """)
        assert match_registers_to_notices(con) == 2
        rows = con.execute(
            "select register_contract_id, notice_contract_id, rule, evidence "
            "from staging.contract_matches order by 1"
        ).fetchall()
    assert [r[:3] for r in rows] == [("r:1", "n:1", "reference"), ("r:2", "n:2", "value_and_dates")]
    assert "company 02535986" in rows[0][3] and "same name" in rows[1][3]


@needs_real
def test_real_contracts_finder_packages(tmp_path):
    catalogue = load_catalogue(REAL_CATALOGUE)
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    assert query(
        warehouse,
        "select count(*), sum(rows_read), sum(rows_loaded), "
        "sum(rows_quarantined) from raw.files where source_id = 'contracts-finder'",
    ) == [(100, 100, 100, 0)]
    assert query(warehouse, "select count(*), count(distinct ocid) from raw.releases") == [
        (100, 100)
    ]
    ocid = "ocds-b5fd17raw-1f59613d-9095-4a12-89ec-88d3372dda97"
    assert query(
        warehouse,
        "select buyer_name, supplier_name, supplier_company_number, sme, "
        "supplier_count, total_value, start_date, end_date from staging.contracts "
        "where ocid = ?",
        [ocid],
    ) == [
        (
            "UNIVERSITY OF SHEFFIELD",
            "RAZOR LTD",
            "07003896",
            True,
            3.0,
            Decimal("1000000.00"),
            date(2020, 5, 21),
            date(2024, 5, 20),
        )
    ]
    assert [
        r[0]
        for r in query(
            warehouse,
            "select supplier_name from staging.contract_suppliers where ocid = ? order by position",
            [ocid],
        )
    ] == ["RAZOR LTD", "MMT Limited", "BJSS LIMITED"]
    bfi = "ocds-b5fd17raw-0054a4e6-0715-42c6-9109-e219fe9d3289"
    value, start, end, description = query(
        warehouse,
        "select total_value, start_date, end_date, description from "
        "staging.contracts where ocid = ?",
        [bfi],
    )[0]
    assert (value, start, end) == (Decimal("93527.00"), date(2019, 12, 9), date(2020, 12, 8))
    assert "umbrella brand 'UK FILM' under which UK's national" in description
    # Every release is tagged 'tender', yet each carries an award: content wins over tags.
    assert query(
        warehouse, "select count(*) from staging.contract_events where event_type = 'award'"
    ) == [(100,)]
    assert query(warehouse, "select count(*) from raw.releases where tags = '[\"tender\"]'") == [
        (100,)
    ]
    assert query(
        warehouse,
        "select count(*) from staging.contract_suppliers where supplier_other_id like 'GB-CQC-%'",
    ) == [(6,)]


def test_an_empty_window_loads_as_a_file_with_no_releases(notices):
    """Find a Tender answers a quarter-day window with no notices (most nights) with an empty
    `releases` list, and the fetcher saves it whole: it is a file read with 0 releases, status
    loaded, no error and no warning, and the releases of other files are untouched."""
    notices.file("good.json", package(AWARD))
    notices.file("2026-11-26T00-06.json", package())
    notices.ingest()
    assert notices.rows(
        "select file_path, status, rows_read, rows_loaded, rows_quarantined, error, warnings "
        "from raw.files order by file_path"
    ) == [
        ("pub/2026-11-26T00-06.json", "loaded", 0, 0, 0, None, None),
        ("pub/good.json", "loaded", 1, 1, 0, None, None),
    ]
    assert notices.rows("select count(*) from staging.contracts") == [(1,)]
