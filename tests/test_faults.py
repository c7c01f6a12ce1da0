"""Reliability under bad input, each case reproduced first: a file downloaded twice, a
five-digit number in a date column, a file name that is not UTF-8, maths markup in a name."""

import pytest

from tests.conftest import OneSource

HEADER = "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name\n"
MONTH = (
    HEADER + "Salford,05/09/2025,1,600,0,600,Alder Ltd\nSalford,06/09/2025,2,900,0,900,Birch Ltd\n"
)


def test_the_same_bytes_under_a_second_name_are_recorded_as_a_duplicate(one_source):
    pay: OneSource = one_source()
    pay.file("2025-09.csv", MONTH)
    pay.file("2025-09 (1).csv", MONTH)  # a browser's second download
    summary = pay.ingest()
    assert summary.duplicates == 1
    assert pay.rows("select count(*), sum(amount) from staging.spend") == [(2, 1500)]
    copy = pay.file_row("2025-09 (1).csv")
    assert copy["status"] == "duplicate" and copy["rows_loaded"] == 0
    assert copy["error"] == "the same bytes as pub/2025-09.csv: not loaded again"
    again = pay.ingest()  # a re-run changes nothing
    assert again.duplicates == 1 and pay.rows("select count(*) from staging.spend") == [(2,)]
    # The original gone: the copy is read in its place.
    (pay.raw / "2025-09.csv").unlink()
    pay.ingest()
    assert pay.rows("select distinct file_path from staging.spend") == [("pub/2025-09 (1).csv",)]


def test_a_five_digit_number_is_not_a_date_far_in_the_future(one_source):
    pay: OneSource = one_source(values={"excel_serial_dates": True})
    pay.file(
        "2025-09.csv",
        HEADER + "Salford,45905,1,600,0,600,Alder Ltd\n"  # 2025-09-05 as an Excel serial
        "Salford,99999,2,900,0,900,Birch Ltd\n",  # not a realistic date: quarantined
    )
    pay.ingest()
    assert pay.rows("select payment_date::varchar from staging.spend") == [("2025-09-05",)]
    reasons = pay.rows("select reason from raw.quarantine")
    assert len(reasons) == 1 and "99999" in reasons[0][0]


def test_a_file_name_that_is_not_utf8_is_one_failed_file(one_source):
    pay: OneSource = one_source()
    bad = "caf" + b"\xe9".decode("utf-8", "surrogateescape") + ".csv"  # latin-1 on disk
    pay.file(bad, MONTH)
    pay.file("2025-10.csv", MONTH.replace("/09/", "/10/"))
    summary = pay.ingest()
    assert summary.failed == 1
    assert pay.rows("select count(*) from staging.spend") == [(2,)]  # the other file loaded
    failed = pay.rows("select file_path, status, error from raw.files where status = 'failed'")
    assert failed == [
        (
            "pub/caf\\xe9.csv",
            "failed",
            "the file name is not valid UTF-8: rename the file to read it",
        )
    ]
    assert pay.ingest().failed == 1  # and the next night is the same, not a crash


def test_two_file_names_shown_alike_keep_the_readable_files_rows(one_source, monkeypatch):
    """`caf\\xe9.csv` as typed and a latin-1 `café.csv` are shown as the same path. The
    readable one is loaded and stays loaded night after night; the other is reported as
    failed but not recorded in raw.files, where its record would replace the readable file's
    and delete its rows. The hash cache (raw.file_hashes) keeps one row for the two."""
    from oversight.ingest import load

    monkeypatch.setattr(load, "SETTLED_NS", 0)  # cache both at once
    pay: OneSource = one_source()
    pay.file("caf" + b"\xe9".decode("utf-8", "surrogateescape") + ".csv", MONTH)
    pay.file("caf\\xe9.csv", MONTH.replace("/09/", "/10/"))
    for _ in range(2):
        summary = pay.ingest()
        assert summary.failed == 1
        assert any("not valid UTF-8" in e for e in summary.errors)
        assert pay.rows("select file_path, status from raw.files") == [
            ("pub/caf\\xe9.csv", "loaded")
        ]
        assert pay.rows("select count(*) from staging.spend") == [(2,)]
    assert pay.rows("select file_path from raw.file_hashes") == [("pub/caf\\xe9.csv",)]


@pytest.mark.parametrize(
    "name", ["$\\nosuchcommand$ Cleaning Ltd", "Cash $^{ 4 U$ Ltd", "Mr $\\alpha$ Builders"]
)
def test_text_from_the_data_is_never_read_as_chart_markup(tmp_path, name):
    import pandas as pd

    from oversight.outputs.charts import top_suppliers

    shares = pd.DataFrame(
        {
            "basis": ["spend"] * 2,
            "buyer": ["Test Council"] * 2,
            "financial_year": ["2025-26"] * 2,
            "supplier": [name, "Other Ltd"],
            "share_of_buyer_spend": [0.6, 0.4],
            "value": [600.0, 400.0],
        }
    )
    path = top_suppliers(shares, tmp_path / "top.png")
    assert path.exists() and path.stat().st_size > 1000


def test_a_nul_byte_and_a_quote_in_the_path_do_not_reach_or_break_the_csv_export(tmp_path):
    import duckdb

    from oversight.outputs.exports import export_table

    con = duckdb.connect()
    con.execute("create schema marts; create table marts.t (name varchar)")
    con.execute("insert into marts.t values ('Acme' || chr(0) || ' Ltd'), ('=1+1')")
    out = tmp_path / "it's here"  # a quote in the warehouse's folder
    _, csv_path = export_table(con, "marts.t", out)
    text = csv_path.read_bytes()
    assert b"\x00" not in text
    assert text.decode("utf-8-sig").splitlines() == ["name", "Acme Ltd", "'=1+1"]  # a BOM first


def test_two_buyers_whose_names_give_one_page_name_get_two_pages():
    from oversight.outputs.report import page_keys

    keys = page_keys(["St. Helens Council", "St Helens Council", "Bolton Council"])
    assert keys["Bolton Council"] == "bolton-council"
    assert len(set(keys.values())) == 3
    assert keys["St Helens Council"].startswith("st-helens-council-")


def _ocds(tmp_path, data: bytes):
    import tempfile
    from pathlib import Path

    src = OneSource(Path(tempfile.mkdtemp(dir=tmp_path)), kind="ocds", layout=None, files="*.json")
    src.file("p.json", data)
    src.ingest()
    return src


RELEASE = {
    "ocid": "ocds-1",
    "id": "r1",
    "date": "2022-01-01T00:00:00Z",
    "buyer": {"name": "Test Council"},
    "awards": [{"id": "a1", "value": {"amount": 1000}, "suppliers": [{"name": "Acme Ltd"}]}],
}


def test_one_bad_release_is_quarantined_and_the_rest_of_its_file_kept(tmp_path):
    import json

    wrong_types = {**RELEASE, "ocid": "ocds-2", "awards": [{"id": "a1", "value": {"amount": {}},
                   "contractPeriod": "2022"}]}  # fmt: skip
    deep = ('{"ocid": "ocds-3", "id": "r3", "x": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    body = b'{"releases": [' + json.dumps(RELEASE).encode() + b", "
    body += json.dumps(wrong_types).encode() + b", " + deep + b"]}"
    src = _ocds(tmp_path, body)
    assert src.rows("select status, rows_read, rows_loaded, rows_quarantined from raw.files") == [
        ("loaded", 3, 2, 1)
    ]
    assert src.rows("select reason from raw.quarantine") == [("nested more than 64 levels deep",)]
    assert src.rows("select contract_id, total_value from staging.contracts order by 1") == [
        ("ocds-1/a1", 1000),
        ("ocds-2/a1", None),  # an amount that is not a number is left empty
    ]


def test_a_package_with_a_byte_order_mark_reads(tmp_path):
    import json

    src = _ocds(tmp_path, b"\xef\xbb\xbf" + json.dumps({"releases": [RELEASE]}).encode())
    assert src.rows("select status, rows_loaded from raw.files") == [("loaded", 1)]


def test_a_folder_outside_the_raw_folder_needs_saying_so(one_source, tmp_path):
    from oversight.core.catalogue import CatalogueError, load_catalogue
    from tests.conftest import write_catalogue

    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "passwd.csv").write_text("root:x:0:0:root:/root:/bin/bash\n")
    pay: OneSource = one_source(folder="../outside")
    with pytest.raises(CatalogueError, match="outside the raw folder.*outside_raw_dir: true"):
        load_catalogue(write_catalogue(pay.root, [pay.source]))
    pay.source["files"] = ["../../outside/*.csv"]
    pay.source["folder"] = "pub"
    with pytest.raises(CatalogueError, match="must name files under the folder"):
        load_catalogue(write_catalogue(pay.root, [pay.source]))
    pay.source["files"] = ["*.csv"]
    pay.source |= {"folder": str(secret), "outside_raw_dir": True}  # said explicitly: read
    assert pay.ingest().files == 1
    # ...and the new-files sensor fingerprints it like any other (it raised on such a path).
    from oversight.core.source_files import files_fingerprint

    catalogue = load_catalogue(write_catalogue(pay.root, [pay.source]))
    assert files_fingerprint(catalogue, catalogue.sources[0]) != "empty"


def test_a_link_out_of_the_raw_folder_is_refused_unread(one_source, tmp_path):
    secret = tmp_path / "system.csv"
    secret.write_text("first line of a system file\n")
    pay: OneSource = one_source()
    pay.file("2025-09.csv", MONTH)
    (pay.raw / "2025-10.csv").symlink_to(secret)
    (pay.raw / "2025-11.csv").symlink_to(pay.raw / "2025-09.csv")  # a link inside: a copy
    summary = pay.ingest()
    assert (summary.failed, summary.duplicates) == (1, 1)
    row = pay.file_row("2025-10.csv")
    assert row["status"] == "failed" and row["sha256"] is None
    assert row["error"].startswith("a link to a file outside the raw folder")
    assert "system file" not in pay.rows("select string_agg(error, '') from raw.files")[0][0]


def test_errors_quote_a_bounded_excerpt_of_the_file(one_source):
    pay: OneSource = one_source()
    pay.file("2025-09.csv", "A" * 1_000_000 + "\n")  # one 1 MB line: no header
    long_date = "9" * 500_000
    pay.file("2025-10.csv", MONTH + f"Salford,{long_date},3,10,0,10,Cedar Ltd\n")
    pay.ingest()
    error = pay.file_row("2025-09.csv")["error"]
    assert error.startswith("no header row matches the mapping") and len(error) < 2_500
    reason, raw = pay.rows("select reason, raw_text from raw.quarantine")[0]
    assert len(reason) < 300 and "(500000 characters)" in reason
    assert long_date in raw  # the whole row is kept: nothing lost


def test_text_from_the_data_is_escaped_in_the_report():
    from oversight.outputs.report import TEMPLATES

    page = TEMPLATES.get_template("buyer.html").render(
        as_of="2026-09-30", buyer="<script>alert(1)</script> & Co", page="x", linked=None,
        scorecard=[], concentration=[], concentration_columns=[],
        contracts=[{"contract_ref": "<b>R1</b>", "title": "t", "supplier_name": "s",
                    "start_date": None, "effective_end": None, "value": None,
                    "value_at_risk": 0, "flags": [{"code": "OV14", "name": "n",
                                                   "evidence": "<img src=x onerror=alert(1)>"}]}],
    )  # fmt: skip
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "<img src=x" not in page and "&lt;b&gt;R1&lt;/b&gt;" in page
