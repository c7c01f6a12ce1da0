"""The embedded sample: generated deterministically, committed as generated, small, and its
planted file-level cases come out of the ingest as listed."""

import filecmp
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from oversight.catalogue import load_catalogue
from oversight.sample.generator import generate
from tests.conftest import PROJECT, ingest_all, query

RAW = PROJECT / "data" / "raw"


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_committed_sample_is_what_the_generator_writes(tmp_path):
    out = generate(tmp_path / "raw")
    assert _files(out) == _files(RAW)
    different = [f for f in _files(out) if not filecmp.cmp(out / f, RAW / f, shallow=False)]
    assert different == [], "data/raw is stale: run `make sample` and commit the result"


def test_sample_is_small_enough_to_commit():
    assert sum(p.stat().st_size for p in RAW.rglob("*") if p.is_file()) < 5 * 1024 * 1024


def test_sample_uses_real_layouts_and_their_mess():
    northmoor = (RAW / "northmoor/contract-register/2026-09.csv").read_bytes()
    assert northmoor.startswith(b"\xc3\xaf\xc2\xbb\xc2\xbfDirectorate Name,Process Used")
    early = (RAW / "drr/spend-over-25k/2024-11.csv").read_bytes()
    assert b"\r\n" in early and "–".encode("cp1252") in early
    late = (RAW / "drr/spend-over-25k/2026-06.csv").read_text()
    assert late.startswith("#,Departmental Family,Entity,Date")
    assert re.search(r'"[A-Z][a-z]+day, June \d{1,2}, 2026"', late)


def test_planted_cases_cover_the_indicators():
    planted = yaml.safe_load((RAW / "planted.yaml").read_text())
    assert planted["as_of"] == "2026-09-30"
    codes = {c["indicator"] for c in planted["cases"]}
    assert {
        "OV01",
        "OV02",
        "OV03",
        "OV07",
        "OV08",
        "OV09",
        "OV11",
        "OV12",
        "OV13",
        "OV14",
        "SC01",
        "SC04",
        "SC06",
        "DQ",
    } <= codes
    for code in ("OV01", "OV02", "OV03", "OV07", "OV08", "OV12"):
        expected = {c["expected"] for c in planted["cases"] if c["indicator"] == code}
        assert {True, False} <= expected or None in expected, f"{code} needs a clean twin"


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("sample") / "w.duckdb"
    ingest_all(load_catalogue(PROJECT / "catalogue" / "sources.yaml"), warehouse)
    return warehouse


def test_planted_file_cases_come_out_as_listed(sample_warehouse):
    assert query(
        sample_warehouse, "select file_path, status, error from raw.files where status <> 'loaded'"
    ) == [
        (
            "ashby/spend/ashby-spend-2026-10.csv",
            "failed",
            "not a CSV file: it is an HTML page (an error page saved as data?)",
        )
    ]
    assert query(
        sample_warehouse,
        "select file_path, reason from raw.quarantine where "
        "source_id = 'northmoor-spend' order by row_number",
    ) == [
        (
            "northmoor/spend/2025-03.csv",
            "payment_date ('Date of Payment'): 2025-02-31 is not a date "
            "(none of the default formats fit: set values.date_formats)",
        ),
        ("northmoor/spend/2025-03.csv", "amount ('Net') is empty"),
    ]
    assert query(
        sample_warehouse, "select count(*) from raw.quarantine where source_id = 'drr-spend'"
    ) == [(12,)]


def test_sample_register_values(sample_warehouse):
    rows = query(
        sample_warehouse,
        "select contract_ref, review_date, contract_owner, "
        "total_value from staging.contracts where record_type = 'register' and contract_ref in "
        "('KVC/P01', 'KVC/P02', 'KVC/P03', 'NCC-P13A') order by 1",
    )
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
        ("KVC/P01", "None", "S. Okafor", 180000),
        ("KVC/P02", "2026-03-31", "S. Okafor", 180000),
        ("KVC/P03", "2027-01-31", None, 180000),
        ("NCC-P13A", "None", None, None),
    ]
    # Title rows above the header in the Kelder workbook; dates typed in as Excel serials.
    assert query(
        sample_warehouse, "select header_rows from raw.files where source_id = 'kelder-register'"
    ) == [("Contracts:5",)]
    assert query(
        sample_warehouse,
        "select count(*) from staging.contracts where source_id = "
        "'kelder-register' and start_date is null",
    ) == [(0,)]


def test_sample_notices_carry_the_planted_events(sample_warehouse):
    kpis = query(
        sample_warehouse,
        "select ocid, count(*) from staging.contract_events where "
        "event_type = 'kpi_defined' group by 1 order by 1",
    )
    assert kpis == [("ocds-drr001-000101", 3), ("ocds-drr001-000102", 2)]
    assert query(
        sample_warehouse,
        "select ocid, max_by(rating, event_date), max(event_date) "
        "from staging.contract_events where event_type = 'performance_rating' "
        "group by 1 order by 1",
    ) == [
        ("ocds-drr001-000101", "requires improvement", date(2025, 12, 31)),
        ("ocds-drr001-000102", "good", date(2025, 3, 31)),
    ]
    assert query(
        sample_warehouse,
        "select ocid, value_before, value_after, has_notice from "
        "staging.contract_events where event_type = 'change' order by 1",
    ) == [
        ("ocds-drr001-000101", 24000000, 25800000, True),
        ("ocds-drr001-000103", 900000, 1100000, False),
    ]
    assert query(
        sample_warehouse,
        "select ocid, event_type, event_date from "
        "staging.contract_events where event_type in ('extension', 'termination') "
        "order by 1",
    ) == [
        ("ocds-drr001-000104", "extension", date(2025, 11, 19)),
        ("ocds-drr001-000105", "termination", date(2025, 11, 30)),
    ]
    assert query(
        sample_warehouse,
        "select total_value, max_end_date from staging.contracts where ocid = 'ocds-drr001-000101'",
    ) == [(25800000, date(2029, 1, 31))]
