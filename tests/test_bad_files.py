"""A file that cannot be read is recorded with a readable error; the other files still load."""

import io
import zipfile

import pytest

from tests.test_messy_files import SPEND_HEADER

GOOD = f"{SPEND_HEADER}\nX,2021-05-04,1,1,0,1,Good Ltd,A,B\n"


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("empty.csv", b"", "file is empty (0 bytes)"),
        ("junk.csv", bytes(range(256)) * 40, "not a text file: it contains NUL bytes"),
        (
            "pdf.csv",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
            "not a CSV file: it looks like a PDF",
        ),
        ("header.csv", SPEND_HEADER + "\n", "header only: no data rows below the header (line 1)"),
        ("semicolons.csv", SPEND_HEADER.replace(",", ";") + "\nX;2021-05-04;1;1;0;1;A;A;B\n", None),
        ("html.csv", b"<!DOCTYPE html><html><body>503</body></html>", "it is an HTML page"),
        (
            "other.csv",
            "Date,Payee,Value\n2021-01-01,A,1\n",
            "no header row matches the mapping (required columns not found: payment_date, "
            "amount, supplier_name)",
        ),
        ("truncated.xlsx", None, "not a readable XLSX workbook"),
        ("notes.txt.zip", None, "not a readable zip archive"),
    ],
)
def test_unreadable_file_is_recorded_and_others_load(one_source, name, content, error):
    src = one_source()
    src.file("good.csv", GOOD)
    if name == "truncated.xlsx":
        buffer = io.BytesIO()
        import openpyxl

        openpyxl.Workbook().save(buffer)
        content = buffer.getvalue()[:300]
    if name == "notes.txt.zip":
        content = b"PK\x03\x04 cut short"
    src.file(name, content)
    summary = src.ingest()
    assert src.rows("select supplier_name from staging.spend where file_path = 'pub/good.csv'") == [
        ("Good Ltd",)
    ]
    row = src.file_row(name)
    if error is None:  # the sniffer copes with it: nothing to report
        assert row["status"] == "loaded"
        return
    assert row["status"] == "failed"
    assert error in row["error"]
    assert (row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (0, 0, 0)
    assert summary.failed == 1 and summary.parsed == 1


def test_wrong_delimiter_in_the_catalogue_says_so(one_source):
    src = one_source(read={"delimiter": ","})
    src.file("a.csv", SPEND_HEADER.replace(",", ";") + "\nX;2021-05-04;1;1;0;1;A;A;B\n")
    src.ingest()
    error = src.file_row("a.csv")["error"]
    assert "Headers found: ['Authority Name;Date of Payment;DocumentNo" in error
    assert "payment_date (required): 'Date of Payment' | 'Payment Date'" in error
    assert "The header looks ';'-delimited, but the file was read with ','" in error


def test_truncated_csv_keeps_its_complete_rows(one_source):
    src = one_source()
    src.file("cut.csv", GOOD + 'X,2021-05-05,2,1,0,1,"Half a na')
    src.ingest()
    row = src.file_row("cut.csv")
    assert (row["status"], row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (
        "loaded",
        2,
        1,
        1,
    )
    assert src.rows("select row_number, raw_text, reason from raw.quarantine") == [
        (
            3,
            'X,2021-05-05,2,1,0,1,"Half a na',
            "row has 7 values but the header has 9 columns (a broken quote or a truncated file?)",
        )
    ]


def test_zip_bomb_member_is_refused(one_source):
    src = one_source()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.csv", GOOD + "0" * 5_000_000)
    src.file("bomb.zip", buffer.getvalue())
    src.ingest()
    assert "would expand to 5,000," in src.file_row("bomb.zip")["error"]
