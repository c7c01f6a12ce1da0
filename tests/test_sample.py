"""The embedded sample: generated deterministically, committed as generated, small, and its
planted file-level cases come out of the ingest as listed."""

import filecmp
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from oversight.core.catalogue import load_catalogue
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
    def events(kind: str, columns: str = "ocid, count(*)") -> list[tuple]:
        return query(
            sample_warehouse,
            f"select {columns} from staging.contract_events where event_type = '{kind}' "
            "and ocid like 'ocds-drr001-%' group by all order by all",
        )

    assert events("kpi_defined") == [
        ("ocds-drr001-000101", 3),
        ("ocds-drr001-000102", 2),
        ("ocds-drr001-000106", 3),
        ("ocds-drr001-000109", 3),
        ("ocds-drr001-000110", 3),
    ]
    # the pre-Act free text, and UK9 measureClassification ids on the s71 scale
    assert events("performance_rating", "ocid, max_by(rating, event_date), max(event_date)") == [
        ("ocds-drr001-000101", "requires improvement", date(2025, 12, 31)),
        ("ocds-drr001-000106", "requires improvement", date(2026, 6, 30)),
        ("ocds-drr001-000109", "good", date(2026, 3, 31)),
        ("ocds-drr001-000110", "good", date(2026, 6, 30)),
    ]
    assert events("no_kpis_reason", "ocid, event_date") == [
        ("ocds-drr001-000107", date(2025, 8, 4))
    ]
    assert events("performance_failure", "ocid, event_date, value_after") == [
        ("ocds-drr001-000107", date(2026, 5, 12), 45000)
    ]
    assert events("change", "ocid, event_date, value_before, value_after, has_notice") == [
        ("ocds-drr001-000101", date(2026, 3, 1), 24000000, 25800000, True),
        ("ocds-drr001-000102", date(2026, 3, 13), 6000000, 7200000, True),
        ("ocds-drr001-000103", date(2025, 10, 15), 900000, 1100000, False),
        ("ocds-drr001-000113", date(2026, 2, 16), 2000000, 2120000, False),
        ("ocds-drr001-000114", date(2025, 11, 17), 1500000, 1560000, False),
        ("ocds-drr001-000114", date(2026, 2, 23), 1560000, 1620000, False),
        ("ocds-drr001-000114", date(2026, 5, 18), 1620000, 1680000, False),
        ("ocds-drr001-000115", date(2025, 12, 15), 1500000, 1560000, False),
        ("ocds-drr001-000115", date(2026, 4, 20), 1560000, 1620000, False),
    ]
    assert events("extension", "ocid, event_date, end_date_after, has_notice") == [
        ("ocds-drr001-000104", date(2025, 11, 19), date(2026, 12, 31), True)
    ]
    assert events("termination", "ocid, event_date") == [
        ("ocds-drr001-000105", date(2025, 11, 30)),
        ("ocds-drr001-000109", date(2026, 5, 31)),
        ("ocds-drr001-000110", date(2026, 6, 30)),
    ]
    assert events("completion", "ocid, event_date, value_after") == [
        ("ocds-drr001-000105", date(2025, 11, 30), 61500)
    ]
    # s70: the payments published as transactions, with the release that published them
    assert query(
        sample_warehouse,
        "select e.ocid, e.event_date, e.value_after, r.release_date::date "
        "from staging.contract_events e join raw.releases r using (source_id, ocid, release_id) "
        "where e.event_type = 'payment_published' order by all",
    ) == [
        ("ocds-drr001-000111", date(2026, 5, 18), 48250, date(2026, 7, 14)),
        ("ocds-drr001-000111", date(2026, 6, 15), 52400, date(2026, 7, 14)),
        ("ocds-drr001-000112", date(2026, 5, 26), 36900, date(2026, 8, 14)),
    ]
    assert query(
        sample_warehouse,
        "select total_value, max_end_date from staging.contracts where ocid = 'ocds-drr001-000101'",
    ) == [(25800000, date(2029, 1, 31))]
    # The procurements commenced before the Act: 000101 alone.
    assert query(
        sample_warehouse,
        "select ocid from raw.releases where source_id = 'drr-notices' group by 1 "
        "having min(release_date) < date '2025-02-24'",
    ) == [("ocds-drr001-000101",)]
