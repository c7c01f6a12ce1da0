"""Exports for spreadsheets: the CSV carries a UTF-8 byte-order mark, and the marts are also one
workbook whose cells are the marts' values, typed, with every text cell a string (never a
formula) neutralised exactly as in the CSV; both are replaced whole or not at all."""

import csv
import zipfile
from datetime import date
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from oversight.outputs import exports
from oversight.outputs.exports import (
    FORMULA_START,
    MART_TABLES,
    PURPOSE,
    WORKBOOK,
    export_marts,
    export_table,
    spreadsheet_text,
)

ROWS = [
    ('=HYPERLINK("http://x")', Decimal("-1234.5"), date(2024, 1, 2), True, 3, 0.25),
    ("Café Zoë £ Ltd", Decimal("10"), None, False, None, None),
    ("\x00=cmd", Decimal("0.01"), date(2024, 3, 4), None, 1, 1.5),  # NUL before the `=`
    ("+44 20 7946 0000", None, date(2025, 12, 31), True, 0, -2.0),
]
COLUMNS = ["name", "value", "start_date", "live", "entries", "share"]


@pytest.fixture
def marts():
    """Two marts by hand: one of every kind of column, and one with an `as_of`."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.contract_oversight (name varchar, value decimal(18,2), "
        "start_date date, live boolean, entries bigint, share double)"
    )
    con.executemany("insert into marts.contract_oversight values (?, ?, ?, ?, ?, ?)", ROWS)
    con.execute(
        "create table marts.buyer_scorecard as select 'Ashby £' as buyer, "
        "date '2026-09-30' as as_of, 12.5::decimal(38,2) as spend from range(3)"
    )
    yield con
    con.close()


def expected_cell(value):
    """A mart's value as the workbook should hold it (python-calamine's reading)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_text(value)
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    return value


def test_csv_starts_with_a_bom_and_round_trips_pounds_and_accents(marts, tmp_path):
    _, path = export_table(marts, "marts.contract_oversight", tmp_path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and not data.startswith(b"\xef\xbb\xbf" * 2)
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert list(frame.columns) == COLUMNS  # no BOM stuck to the first header
    assert frame["name"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "Café Zoë £ Ltd",
        "'=cmd",  # the NUL is dropped before the test, so the `=` is still caught
        "'+44 20 7946 0000",
    ]
    with path.open(newline="", encoding="utf-8-sig") as f:
        assert [r["value"] for r in csv.DictReader(f)] == ["-1234.50", "10.00", "0.01", ""]
    # The Parquet is untouched: no BOM, no quote, the NUL kept.
    parquet = tmp_path / "contract_oversight.parquet"
    assert marts.execute(f"select name from '{parquet}'").fetchall() == [(r[0],) for r in ROWS]


def test_workbook_has_a_readme_and_a_sheet_per_mart_with_the_marts_values(marts, tmp_path):
    written = export_marts(marts, tmp_path)
    path = tmp_path / WORKBOOK
    assert path in written
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["README", "contract_oversight", "buyer_scorecard"]

    rows = book.get_sheet_by_name("contract_oversight").to_python()
    assert rows[0] == COLUMNS
    assert rows[1:] == [[expected_cell(v) for v in row] for row in ROWS]
    assert rows[1][:4] == ['\'=HYPERLINK("http://x")', -1234.5, date(2024, 1, 2), True]
    assert rows[3][0] == "'=cmd" and rows[4][0] == "'+44 20 7946 0000"
    assert rows[2][0] == "Café Zoë £ Ltd"

    # The workbook's text and the CSV's agree cell for cell.
    frame = pd.read_csv(tmp_path / "contract_oversight.csv", encoding="utf-8-sig")
    assert frame["name"].tolist() == [r[0] for r in rows[1:]]

    readme = book.get_sheet_by_name("README").to_python()
    assert readme[0][:4] == ["sheet", "rows", "what it is", "as of"]
    listed = {r[0]: r for r in readme[1:3]}
    assert listed["contract_oversight"][1:4] == [4, PURPOSE["contract_oversight"], ""]
    assert listed["buyer_scorecard"][1:4] == [3, PURPOSE["buyer_scorecard"], date(2026, 9, 30)]
    assert book.get_sheet_by_name("buyer_scorecard").to_python()[1] == [
        "Ashby £",
        date(2026, 9, 30),
        12.5,
    ]


def test_workbook_text_is_never_a_formula_and_the_header_is_bold_and_frozen(marts, tmp_path):
    export_marts(marts, tmp_path)
    path = tmp_path / WORKBOOK
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 3
        assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)
    book = load_workbook(path)
    sheet = book["contract_oversight"]
    assert [c.font.b for c in sheet[1]] == [True] * len(COLUMNS)
    assert sheet.freeze_panes == "A2" and book["README"].freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F5"
    names = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in names)
    assert names[0].value == '\'=HYPERLINK("http://x")'
    value, start, live = sheet["B2"], sheet["C2"], sheet["D2"]
    assert value.data_type == "n" and value.value == -1234.5
    assert value.number_format == '"£"#,##0.00'
    assert start.is_date and start.value.date() == date(2024, 1, 2)
    assert live.data_type == "b" and live.value is True
    widths = [sheet.column_dimensions[c].width for c in "ABCDEF"]
    assert all(8 <= w <= exports.MAX_WIDTH for w in widths), widths
    assert widths[0] > len("name") + 2  # sized to the longest text, not the header


def test_a_sheet_over_excels_rows_is_cut_with_a_note(marts, tmp_path, monkeypatch):
    marts.execute("drop table marts.contract_oversight")  # by hand: not the real mart's columns
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    export_marts(marts, tmp_path)
    book = CalamineWorkbook.from_path(str(tmp_path / WORKBOOK))
    assert len(book.get_sheet_by_name("buyer_scorecard").to_python()) == 1 + 2
    readme = {r[0]: r for r in book.get_sheet_by_name("README").to_python()}
    assert readme["buyer_scorecard"][1] == 3
    assert "the first 2 rows of 3" in readme["buyer_scorecard"][4]
    assert "every row is in buyer_scorecard.csv" in readme["buyer_scorecard"][4]


def test_a_long_mart_shows_the_rows_to_read_first_and_the_csv_keeps_every_row(
    tmp_path, monkeypatch
):
    """Contracts (by hand): C1 no flag, large value at risk; C2 one flag, 10 at risk; C3 two
    flags, nothing at risk; C4 one flag, 500 at risk; C5 one flag unknown (null). With three
    rows to a sheet: C3 (two flags), then C4 and C2 (one flag, by value at risk)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.contract_oversight as select * from (values "
        "('C1', false, false, 9000.00::decimal(18,2)), ('C2', true, false, 10.00), "
        "('C3', true, true, null), ('C4', false, true, 500.00), ('C5', null, false, 1.00)"
        ") t(contract_id, ov01_no_review_date, ov07_expired_but_paid, value_at_risk)"
    )
    monkeypatch.setattr(exports, "SHEET_ROWS", 3)
    export_marts(con, tmp_path)
    book = CalamineWorkbook.from_path(str(tmp_path / WORKBOOK))
    rows = book.get_sheet_by_name("contract_oversight").to_python()
    assert [r[0] for r in rows[1:]] == ["C3", "C4", "C2"]
    readme = {r[0]: r for r in book.get_sheet_by_name("README").to_python()}
    assert readme["contract_oversight"][1] == 5
    assert readme["contract_oversight"][4] == (
        "the first 3 rows of 5, flagged contracts first (most flags first), then by value at "
        "risk, largest first; every row is in contract_oversight.csv and "
        "contract_oversight.parquet"
    )
    frame = pd.read_csv(tmp_path / "contract_oversight.csv", encoding="utf-8-sig")
    assert frame["contract_id"].tolist() == ["C1", "C2", "C3", "C4", "C5"]


def test_a_cut_sheets_columns_are_as_wide_as_the_rows_it_shows(tmp_path, monkeypatch):
    """A 40-character title in a row the sheet leaves out (no flag) does not widen the
    title column: the sheet shows C2 alone, whose title is 12 characters."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.contract_oversight as select * from (values "
        "('C1', false, repeat('x', 40), 9000.00::decimal(18,2)), "
        "('C2', true, 'Short title.', 10.00)) t(contract_id, ov01_no_review_date, title, "
        "value_at_risk)"
    )
    monkeypatch.setattr(exports, "SHEET_ROWS", 1)
    export_marts(con, tmp_path)
    sheet = load_workbook(tmp_path / WORKBOOK)["contract_oversight"]
    assert sheet["A2"].value == "C2"
    assert int(sheet.column_dimensions["C"].width) == len("Short title.") + 2  # 42 before


def test_every_mart_has_a_purpose_and_a_sheet_name_excel_accepts():
    names = [t.split(".")[-1] for t in MART_TABLES]
    assert set(PURPOSE) == set(names)
    assert all(len(n) <= 31 for n in names)


def test_an_interrupted_workbook_leaves_the_old_one_and_no_partial(marts, tmp_path, monkeypatch):
    export_marts(marts, tmp_path)
    before = (tmp_path / WORKBOOK).read_bytes()

    write = exports._write_book

    def disk_full(sheets, path, **options):  # the partial file written, then the disk fills
        write(sheets, path, **options)
        assert zipfile.is_zipfile(path)
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_book", disk_full)
    marts.execute("insert into marts.buyer_scorecard values ('New', null, 1)")
    with pytest.raises(OSError, match="disk full"):
        export_marts(marts, tmp_path)
    assert (tmp_path / WORKBOOK).read_bytes() == before
    assert not list(tmp_path.glob("*.partial*"))


def test_an_interrupted_csv_leaves_the_old_one_and_no_partial(marts, tmp_path, monkeypatch):
    _, path = export_table(marts, "marts.contract_oversight", tmp_path)
    before = path.read_bytes()

    def failing_half_way(con, table):
        # Rows are written before the error: the partial file has begun.
        return (
            "select i, if(i < 200000, 'row ' || i, error('disk full')) as name "
            "from range(300000) r(i)"
        )

    monkeypatch.setattr(exports, "_csv_select", failing_half_way)
    with pytest.raises(duckdb.Error, match="disk full"):
        export_table(marts, "marts.contract_oversight", tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "contract_oversight.csv",
        "contract_oversight.parquet",
    ]


def test_a_long_csv_and_parquet_keep_the_marts_row_order(tmp_path):
    """DuckDB 2.0.1 wrote the CSV of a select with a CASE over a regex (the old
    `spreadsheet_text` in SQL) in parallel, out of order from about 150,000 rows: a mart
    sorted for reading came out with blocks swapped, and differently each run."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.supplier_shares as select i as position, "
        "'supplier ' || (i % 997) as supplier, '=x' || i as note "
        "from range(300000) r(i) order by i"
    )
    parquet, path = export_table(con, "marts.supplier_shares", tmp_path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["position"]) for r in rows] == list(range(300000))
    assert rows[7]["note"] == "'=x7"
    in_file = con.execute(
        "select list(position order by file_row_number) = range(300000) "
        f"from read_parquet('{parquet}', file_row_number = true)"
    )
    assert in_file.fetchone()[0]


@pytest.mark.parametrize(
    "text", [*(c + "x" for c in FORMULA_START), "a=b", "", "\x00\x1f-1", "x\n=y", "\t", "£"]
)
def test_the_csvs_sql_neutralises_as_spreadsheet_text_does(text):
    con = duckdb.connect()
    sql = exports._safe_text("?")
    assert con.execute(f"select {sql}", [text]).fetchone()[0] == spreadsheet_text(text)


def test_workbook_writes_other_kinds_as_text_and_keeps_zoned_times_wall_clock(tmp_path):
    """Kinds a sheet has no cell type for: a list and a struct as their text (neutralised like
    any text), an infinity as "inf"; a time with a zone as its wall-clock time in the
    connection's zone; a HUGEINT as a number."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'Europe/London'")
    con.execute("create schema marts")
    con.execute(
        "create table marts.buyer_scorecard as select ['=a', 'b'] as l, {'k': 1} as s, "
        "'-inf'::double as i, timestamptz '2026-07-01 12:30:00+00' as t, 12::hugeint as h"
    )
    exports.export_workbook(con, ["marts.buyer_scorecard"], tmp_path / WORKBOOK)
    book = CalamineWorkbook.from_path(str(tmp_path / WORKBOOK))
    row = book.get_sheet_by_name("buyer_scorecard").to_python()[1]
    assert row[:3] == ["['=a', b]", "{'k': 1}", "-inf"]
    assert str(row[3]) == "2026-07-01 13:30:00"  # British Summer Time
    assert row[4] == 12
