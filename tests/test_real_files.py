"""Every real register and spend file in ../shared/data/real, read through a catalogue entry
(tests/catalogues/real.yaml): each file's rows accounted for, spot values checked against it."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from oversight.core.catalogue import load_catalogue
from oversight.core.source_files import discover_files
from tests.conftest import REAL, REAL_CATALOGUE, ingest_all, needs_real, query

pytestmark = needs_real


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> tuple:
    catalogue = load_catalogue(REAL_CATALOGUE)
    warehouse = tmp_path_factory.mktemp("real") / "w.duckdb"
    summaries = ingest_all(catalogue, warehouse)
    return catalogue, warehouse, summaries


def independent_count(path: Path) -> int:
    """Non-blank records below the first line (of each sheet), counted with the csv module
    (or calamine) alone."""
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(path))
        return sum(
            sum(
                1
                for r in book.get_sheet_by_name(n).to_python()[1:]
                if any(str(c).strip() for c in r)
            )
            for n in book.sheet_names
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    records = list(csv.reader(io.StringIO(text, newline="")))
    return sum(1 for r in records[1:] if any(c.strip() for c in r))


def test_every_real_file_is_read_and_accounted_for(real):
    catalogue, warehouse, summaries = real
    files = {
        p.relative_to(REAL).as_posix(): p
        for s in catalogue.sources
        if s.kind != "ocds"  # notices: tests/test_notices.py
        for p in discover_files(catalogue, s)
    }
    assert len(files) == 1 + 24 + 38 + 2 + 2 + 1 + 1 + 1
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select file_path, status, rows_read, rows_loaded, rows_quarantined from raw.files",
        )
    }
    assert set(rows) >= set(files)
    for rel, path in files.items():
        status, read, loaded, quarantined = rows[rel]
        assert status == "loaded", rel
        assert read == independent_count(path), rel
        assert read == loaded + quarantined, rel
    assert {
        s: (x.failed, x.rows_read) for s, x in summaries.items() if s != "contracts-finder"
    } == {
        "salford-register": (0, 360),
        "salford-spend": (0, 52522),
        "cabinet-office-spend": (0, 17535),
        "calderdale-spend": (0, 3538),
        "bradford-spend": (0, 19843),
        "gateshead-spend": (0, 8053),
        "newcastle-spend": (0, 6568),
        "lancashire-pcc-spend": (0, 9289),
    }


def test_gateshead_newcastle_and_lancashire_by_yaml_alone(real):
    """No payment date (a period), a value past the header on every row, a workbook of
    monthly sheets with `* ` headers: all read with catalogue entries only."""
    _, warehouse, _ = real
    assert query(
        warehouse,
        "select source_id, rows_read, rows_loaded, rows_quarantined from raw.files "
        "where source_id in ('gateshead-spend', 'newcastle-spend', 'lancashire-pcc-spend') "
        "order by 1",
    ) == [
        ("gateshead-spend", 8053, 8053, 0),
        ("lancashire-pcc-spend", 9289, 9289, 0),
        ("newcastle-spend", 6568, 6568, 0),
    ]
    # Gateshead's first line: period 202205 is August 2022; its date is derived and says so.
    assert query(
        warehouse,
        "select payment_date, payment_period, supplier_name, amount, transaction_id, "
        "parse_issues from staging.spend where source_id = 'gateshead-spend' and row_number = 2",
    ) == [
        (
            date(2022, 8, 1),
            "202205",
            "Barclaycard - Global Commercial Payments",
            Decimal("120.00"),
            "200078807",
            "payment_date: empty, so the first day of period 202205 (2022-08-01), "
            "not a published date",
        )
    ]
    assert query(
        warehouse,
        "select payment_date, supplier_name, amount from staging.spend "
        "where source_id = 'newcastle-spend' and row_number = 2",
    ) == [(date(2022, 8, 2), "18 SEA VIEW VILLAS", Decimal("1847.04"))]
    assert query(
        warehouse,
        "select part, payment_date, supplier_name, amount, expense_type from staging.spend "
        "where source_id = 'lancashire-pcc-spend' and row_number = 2 order by payment_date",
    )[0] == ("Apr", date(2023, 4, 1), "NCC GROUP SECURITY SERVICES LTD", Decimal("22000.00"),
             "Computer Software")  # fmt: skip


def test_salford_register_spot_values(real):
    _, warehouse, _ = real
    assert query(
        warehouse, "select rows_read from raw.files where source_id = 'salford-register'"
    ) == [(360,)]
    assert query(
        warehouse,
        "select total_value, start_date, end_date, supplier_name, "
        "supplier_company_number, sme, advertised, department, row_number "
        "from staging.contracts where contract_ref = 'S1417'",
    ) == [
        (
            Decimal("5015.20"),
            date(2022, 3, 7),
            date(2022, 3, 7),
            "Underwater Diving Services Ltd",
            "02535986",
            True,
            False,
            "Place",
            2,
        )
    ]
    # A typing slip in the register is kept visible rather than turned into year 222.
    assert query(
        warehouse,
        "select end_date, current_expiry_date, parse_issues from "
        "staging.contracts where contract_ref = 'S1454'",
    ) == [
        (
            None,
            date(2022, 4, 22),
            "end_date ('End Date'): 22/04/222 is not a date "
            "(none of the default formats fit: set values.date_formats)",
        )
    ]
    # Frameworks with 'Various' suppliers stay in the register, supplier unknown.
    assert query(
        warehouse,
        "select count(*) from staging.contracts where contract_ref = "
        "'S1232' and supplier_name is null",
    ) == [(6,)]
    assert (
        query(
            warehouse,
            "select supplier_charity_number, supplier_other_id from "
            "staging.contracts where supplier_name like 'Salford Community Leisure%' "
            "limit 1",
        )
        != []
    )


def test_salford_spend_header_variants(real):
    _, warehouse, _ = real
    assert query(
        warehouse,
        "select payment_date, transaction_id, gross_amount, vat_amount, "
        "amount, supplier_name, expense_area, expense_type from staging.spend "
        "where file_path = 'salford/spend/2020-07.csv' and row_number = 2",
    ) == [
        (
            date(2020, 7, 1),
            "1600649936",
            Decimal("535.68"),
            Decimal("89.28"),
            Decimal("446.40"),
            "T/A Vizwear Ltd",
            "Place Directorate",
            "Clothing & Uniforms",
        )
    ]
    assert query(
        warehouse,
        "select transaction_id, amount, supplier_name from staging.spend "
        "where file_path = 'salford/spend/2021-05.csv' and row_number = 2",
    ) == [("601319058", Decimal("799.61"), "Ays Estates Ltd")]


def test_cabinet_office_encodings_long_dates_and_index_rows(real):
    _, warehouse, _ = real
    assert query(
        warehouse,
        "select encoding from raw.files where file_path like 'cabinet-office/%/2019-09.csv'",
    ) == [("cp1252",)]
    assert query(
        warehouse,
        "select supplier_name, payment_date, amount from staging.spend "
        "where file_path like 'cabinet-office/%/2019-09.csv' and row_number = 277",
    ) == [("Montagu Evans – Client Account", date(2019, 9, 17), Decimal("276149.43"))]
    assert query(
        warehouse,
        "select payment_date, amount, buyer_name from staging.spend where "
        "file_path like 'cabinet-office/%/2022-04.csv' and row_number = 2",
    ) == [(date(2022, 4, 29), Decimal("250000.00"), "CABINET OFFICE")]
    # Rows holding only the '#' index are quarantined, not silently dropped.
    assert query(
        warehouse,
        "select count(*), min(raw_text) from raw.quarantine where "
        "file_path like 'cabinet-office/%/2022-04.csv'",
    ) == [(60, "452,,,,,,,,")]


def test_calderdale_registration_numbers_and_refunds(real):
    _, warehouse, _ = real
    assert query(
        warehouse,
        "select supplier_name, supplier_company_number, amount from "
        "staging.spend where file_path = 'calderdale/spend/2022-07.csv' and "
        "row_number in (3, 35) order by row_number",
    ) == [
        ("Achieve Together Ltd", None, Decimal("-438.80")),
        ("AB Jetting Limited", "08677938", Decimal("3200.00")),
    ]


def test_bradford_bracketed_negatives(real):
    _, warehouse, _ = real
    assert query(
        warehouse,
        "select amount, supplier_name from staging.spend where file_path "
        "= 'bradford/spend/2019-11.csv' and row_number = 243",
    ) == [(Decimal("-264795.53"), "NPOWER (ELECTRIC) YPO CONTRACT")]
    assert query(
        warehouse, "select encoding from raw.files where source_id = 'bradford-spend'"
    ) == [("cp1252",), ("cp1252",)]
