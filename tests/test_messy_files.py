"""Each kind of mess publishers produce, read into the right values."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl

SPEND_HEADER = (
    "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name,Service Area,"
    "GL Description"
)


def test_cp1252_with_crlf(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"{SPEND_HEADER}\r\nX,2021-05-04,1,600,100,500,Café – Décor Ltd,A,B\r\n",
        encoding="cp1252",
    )
    src.ingest()
    assert src.rows("select supplier_name, amount from staging.spend") == [
        ("Café – Décor Ltd", Decimal("500.00"))
    ]
    assert src.file_row("a.csv")["encoding"] == "cp1252"


def test_utf8_with_and_without_bom(one_source):
    src = one_source()
    src.file(
        "bom.csv", b"\xef\xbb\xbf" + f"{SPEND_HEADER}\nX,2021-05-04,1,1,0,1,Bom Ltd,A,B\n".encode()
    )
    src.file("plain.csv", f"{SPEND_HEADER}\nX,2021-05-04,2,1,0,1,Plain Ltd,A,B\n")
    src.ingest()
    assert src.rows("select supplier_name from staging.spend order by 1") == [
        ("Bom Ltd",),
        ("Plain Ltd",),
    ]


def test_bom_encoded_twice(one_source):
    """Salford's files start with the UTF-8 BOM decoded as Latin-1 and encoded again."""
    src = one_source()
    double = "\ufeff".encode().decode("latin-1").encode()
    src.file("a.csv", double + f"{SPEND_HEADER}\nSalford,2021-05-04,1,1,0,1,Bom Ltd,A,B\n".encode())
    src.ingest()
    assert src.rows("select buyer_name, transaction_id from staging.spend") == [("Salford", "1")]


def test_header_not_on_the_first_line_and_blank_lines(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"""
        Payments over £500,,,,,,,,
        Published 1 June 2021,,,,,,,,
        ,,,,,,,,
        {SPEND_HEADER}
        X,2021-05-04,1,1,0,1,First Ltd,A,B

        ,,,,,,,,
        X,2021-05-05,2,1,0,2,Second Ltd,A,B
        """,
    )
    src.ingest()
    row = src.file_row("a.csv")
    assert (row["header_rows"], row["rows_read"], row["blank_rows"]) == ("4", 2, 2)
    assert src.rows("select row_number, supplier_name from staging.spend order by 1") == [
        (5, "First Ltd"),
        (8, "Second Ltd"),
    ]


def test_trailing_empty_columns_and_duplicated_names(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"""
        {SPEND_HEADER},Net,,
        X,2021-05-04,1,1,0,1.50,First Ltd,A,B,9.99,,
        X,2021-05-04,2,1,0,2.50,Second Ltd,A,B,,,
        """,
    )
    src.ingest()
    assert src.rows("select amount from staging.spend order by 1") == [
        (Decimal("1.50"),),
        (Decimal("2.50"),),
    ]
    assert (
        "columns 6 ('Net') and 10 ('Net') both map to amount; using column 6"
        in src.file_row("a.csv")["warnings"]
    )


def test_amounts_as_published(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"""
        {SPEND_HEADER}
        X,2021-05-04,1,1,0," £1,680.00 ",A Ltd,A,B
        X,2021-05-04,2,1,0,"(1,234.50)",B Ltd,A,B
        X,2021-05-04,3,1,0,£12,C Ltd,A,B
        X,2021-05-04,4,1,0,-7.25,D Ltd,A,B
        X,2021-05-04,5,1,0,"1,000.00-",E Ltd,A,B
        """,
    )
    src.ingest()
    assert src.rows("select transaction_id, amount from staging.spend order by 1") == [
        ("1", Decimal("1680.00")),
        ("2", Decimal("-1234.50")),
        ("3", Decimal("12.00")),
        ("4", Decimal("-7.25")),
        ("5", Decimal("-1000.00")),
    ]


def test_date_formats_including_excel_serials(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"""
        {SPEND_HEADER}
        X,04/05/2021,1,1,0,1,A Ltd,A,B
        X,2021-05-04,2,1,0,1,A Ltd,A,B
        X,3 Apr 2023,3,1,0,1,A Ltd,A,B
        X,44320,4,1,0,1,A Ltd,A,B
        X,"Friday, April 29, 2022",5,1,0,1,A Ltd,A,B
        X,2021-05-04 00:00:00,6,1,0,1,A Ltd,A,B
        """,
    )
    src.ingest()
    assert src.rows("select transaction_id, payment_date from staging.spend order by 1") == [
        ("1", date(2021, 5, 4)),
        ("2", date(2021, 5, 4)),
        ("3", date(2023, 4, 3)),
        ("4", date(2021, 5, 4)),
        ("5", date(2022, 4, 29)),
        ("6", date(2021, 5, 4)),
    ]


def test_placeholders_flags_and_registration_numbers(one_source):
    src = one_source(
        kind="contract_register",
        layout="salford-register",
        values={"placeholders": ["Various"], "false_values": ["Noo"]},
    )
    header = (
        "Directorate Name,Contract Reference,Contract Title,Supplier Company Name,"
        "Total Contract Value (including extensions),Start Date,End Date,SME Supplier?,"
        "Company Number"
    )
    src.file(
        "r.csv",
        f"""
        {header}
        Place,S1,Roads,A Ltd,-,TBC,2022-01-01,Noo,2535986
        Place,S2,Parks,B Ltd,N/A,X,22/04/222,Yes,SC95000
        Place,S3,Care,Various,100,2021-01-01,2022-01-01,Various,CHA1049226
        Place,S4,Rail,D Ltd,100,2021-01-01,2022-01-01,Maybe,IP29627R
        """,
    )
    src.ingest()
    rows = src.rows(
        "select contract_ref, total_value, start_date, end_date, sme, supplier_name,"
        " supplier_company_number, supplier_charity_number, supplier_other_id,"
        " parse_issues from staging.contracts order by 1"
    )
    assert rows == [
        ("S1", None, None, date(2022, 1, 1), False, "A Ltd", "02535986", None, None, None),
        (
            "S2",
            None,
            None,
            None,
            True,
            "B Ltd",
            "SC095000",
            None,
            None,
            "end_date ('End Date'): 22/04/222 is not a date "
            "(none of the default formats fit: set values.date_formats)",
        ),
        (
            "S3",
            Decimal("100.00"),
            date(2021, 1, 1),
            date(2022, 1, 1),
            None,
            None,
            None,
            "1049226",
            None,
            None,
        ),
        (
            "S4",
            Decimal("100.00"),
            date(2021, 1, 1),
            date(2022, 1, 1),
            None,
            "D Ltd",
            None,
            None,
            "IP29627R",
            "sme ('SME Supplier?'): Maybe is not yes/no",
        ),
    ]


def test_xlsx_with_one_sheet_per_month_and_title_rows(one_source):
    src = one_source()
    book = openpyxl.Workbook()
    book.remove(book.active)
    for month, day in (("Apr 2023", 3), ("May 2023", 9)):
        ws = book.create_sheet(month)
        ws.append(["Payments over £500"])
        ws.append([])
        ws.append(SPEND_HEADER.split(","))
        ws.append(
            ["X", date(2023, 4 if day == 3 else 5, day), 11, 120, 20, 100.5, "A Ltd", "A", "B"]
        )
        ws.append(["X", 45055, 12, 120, 20, 7, "B Ltd", "A", "B"])  # a serial typed as number
    buffer = io.BytesIO()
    book.save(buffer)
    src.file("spend.xlsx", buffer.getvalue())
    src.ingest()
    assert src.rows(
        "select part, row_number, payment_date, amount, transaction_id "
        "from staging.spend order by 1, 2"
    ) == [
        ("Apr 2023", 4, date(2023, 4, 3), Decimal("100.50"), "11"),
        ("Apr 2023", 5, date(2023, 5, 9), Decimal("7.00"), "12"),
        ("May 2023", 4, date(2023, 5, 9), Decimal("100.50"), "11"),
        ("May 2023", 5, date(2023, 5, 9), Decimal("7.00"), "12"),
    ]
    assert src.file_row("spend.xlsx")["header_rows"] == "Apr 2023:3, May 2023:3"


def test_zip_holding_csvs(one_source):
    src = one_source()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("2021-05.csv", f"{SPEND_HEADER}\nX,2021-05-04,1,1,0,1,A Ltd,A,B\n")
        archive.writestr(
            "2021-06.csv",
            f"{SPEND_HEADER}\nX,2021-06-04,2,1,0,2,B Ltd,A,B\nX,2021-06-05,3,1,0,3,C Ltd,A,B\n",
        )
        archive.writestr("readme.txt", "not data")
    src.file("spend.zip", buffer.getvalue())
    src.ingest()
    assert src.rows("select part, row_number, supplier_name from staging.spend order by 1, 2") == [
        ("2021-05.csv", 2, "A Ltd"),
        ("2021-06.csv", 2, "B Ltd"),
        ("2021-06.csv", 3, "C Ltd"),
    ]
    assert src.file_row("spend.zip")["rows_read"] == 3


def test_semicolon_delimiter_is_sniffed(one_source):
    src = one_source()
    src.file("a.csv", SPEND_HEADER.replace(",", ";") + "\nX;2021-05-04;1;1;0;1,5;A Ltd;A;B\n")
    src.ingest()
    assert src.file_row("a.csv")["delimiter"] == ";"
    assert src.rows("select supplier_name from staging.spend") == [("A Ltd",)]


def test_bad_rows_go_to_quarantine_with_raw_text_and_reason(one_source):
    src = one_source()
    src.file(
        "a.csv",
        f"""
        {SPEND_HEADER}
        X,2021-05-04,1,1,0,1,Good Ltd,A,B
        X,2021-02-31,2,1,0,1,Bad Date Ltd,A,B
        X,2021-05-04,3,1,0,TBC,No Amount Ltd,A,B
        X,2021-05-04,4,1,0,1,,A,B
        X,2021-05-04,5,1,0,1,Too Many Ltd,A,B,extra
        {SPEND_HEADER}
        """,
    )
    src.ingest()
    assert src.rows("select row_number, raw_text, reason from raw.quarantine order by 1") == [
        (
            3,
            "X,2021-02-31,2,1,0,1,Bad Date Ltd,A,B",
            "payment_date ('Date of Payment'): 2021-02-31 is not a date "
            "(none of the default formats fit: set values.date_formats)",
        ),
        (4, "X,2021-05-04,3,1,0,TBC,No Amount Ltd,A,B", "amount ('Net') is empty"),
        (5, "X,2021-05-04,4,1,0,1,,A,B", "supplier_name ('Vendor Name') is empty"),
        (
            6,
            "X,2021-05-04,5,1,0,1,Too Many Ltd,A,B,extra",
            "row has values in 10 columns but the header has 9",
        ),
        (7, SPEND_HEADER, "repeated header row"),
    ]
    row = src.file_row("a.csv")
    assert (row["rows_read"], row["rows_loaded"], row["rows_quarantined"]) == (6, 1, 5)
