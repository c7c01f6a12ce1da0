"""In the pipeline: a blocking expectation failure stops the marts and says why; a warning
does not; the publisher quality mart and the Data Docs site are built."""

from pathlib import Path

import duckdb
import pytest

from pipelines.definitions import build_defs
from tests.conftest import write_catalogue
from tests.test_definitions import run_everything
from tests.test_expectations import REGISTER_HEADER, SOURCES, SPEND_HEADER, clean_files


def swap_dates(raw: Path, rows: int) -> None:
    """Make the first `rows` register entries end three years before they start."""
    path = raw / "register" / "register.csv"
    lines = path.read_text().splitlines()
    for i in range(1, rows + 1):
        lines[i] = lines[i].replace("2026-03-31", "2020-03-31")
    path.write_text("\n".join(lines) + "\n")


def pipeline(root: Path, sources: list[dict] = SOURCES):
    warehouse = root / "w.duckdb"
    defs = build_defs(str(write_catalogue(root, sources)), str(warehouse), lock_timeout=5)
    return warehouse, run_everything(defs)


def evaluations(results) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for r in results
        for e in r.get_asset_check_evaluations()
    }


def tables(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables()"
            ).fetchall()
        }
    finally:
        con.close()


def test_blocking_failure_stops_the_marts_and_says_why(tmp_path):
    clean_files(tmp_path / "raw")
    swap_dates(tmp_path / "raw", rows=30)  # a publisher swapped its date columns
    warehouse, results = pipeline(tmp_path)
    assert len(results) == 1 and not results[0].success
    blocking = evaluations(results)[("staging/contracts", "expectations_blocking")]
    assert not blocking.passed
    assert blocking.metadata["failed"].value == "start_not_after_end_mostly"
    assert blocking.metadata["rows failing"].value == 30
    assert "end_date" in blocking.metadata["details"].value
    assert "marts.publisher_quality" not in tables(warehouse)


def test_warning_is_reported_and_the_marts_still_build(tmp_path):
    clean_files(tmp_path / "raw")
    swap_dates(tmp_path / "raw", rows=1)
    warehouse, results = pipeline(tmp_path)
    assert all(r.success for r in results)
    found = evaluations(results)
    assert found[("staging/contracts", "expectations_blocking")].passed
    warning = found[("staging/contracts", "expectations_warnings")]
    assert not warning.passed and warning.metadata["failed"].value == "start_not_after_end"
    assert "marts.publisher_quality" in tables(warehouse)
    index = tmp_path / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.exists() and "staging.contracts" in index.read_text()
    assert (tmp_path / "outputs" / "publisher_quality.png").stat().st_size > 10_000


def test_publisher_quality_values(tmp_path):
    raw = tmp_path / "raw"
    (raw / "spend").mkdir(parents=True)
    (raw / "spend" / "2024.csv").write_text(
        "\n".join(
            [
                SPEND_HEADER + ",Company",
                "Test Council,2024-01-10,1,1200,200,1000,A Ltd,Area,01234567",
                "Test Council,2024-04-10,2,3600,600,3000,B Ltd,Area,",
                "Test Council,not a date,3,600,100,500,C Ltd,Area,",
            ]
        )
        + "\n"
    )
    (raw / "register").mkdir()
    (raw / "register" / "r.csv").write_text(
        "\n".join(
            [
                REGISTER_HEADER,
                "C1,One,A Ltd,1234567,Y,2023-04-01,2026-03-31,2025-04-01,1000,",
                "C2,Two,B Ltd,,Y,2023-04-01,2026-03-31,2025-04-01,2000,",
                "C3,Three,C Ltd,,Y,2023-04-01,2026-03-31,,3000,",
                "C4,Four,D Ltd,,Y,2023-04-01,2026-03-31,,-,",
            ]
        )
        + "\n"
    )
    sources = [
        {**SOURCES[0], "columns": {"supplier_company_number": "Company"}},
        SOURCES[1],
    ]
    warehouse, results = pipeline(tmp_path, sources)
    assert all(r.success for r in results)
    con = duckdb.connect(str(warehouse), read_only=True)
    row = con.execute("""
        select rows_read, rows_loaded, rows_quarantined, quarantine_rate, months_missing,
               missing_months, share_spend_with_registration, cov_supplier_registration,
               cov_transaction_id, cov_expense_type
        from marts.publisher_quality where source_id = 'spend'""").fetchall()[0]
    expected = (3, 2, 1, pytest.approx(1 / 3), 2, "2024-02, 2024-03", pytest.approx(0.25), 0.5)
    assert row == (*expected, 1.0, 0.0)
    register = con.execute("""
        select register_entries, share_register_with_review_date, share_register_with_value,
               cov_supplier_registration, cov_contract_owner, cov_payment_date
        from marts.publisher_quality where source_id = 'register'""").fetchall()[0]
    con.close()
    assert register == (4, 0.5, 0.75, 0.25, 0.0, None)
