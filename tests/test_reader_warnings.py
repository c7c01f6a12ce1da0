"""Damage that used to be read silently (issue 16) now leaves a warning on the file in
`raw.files.warnings`, and the rows are recovered: a few cp1252 lines in a UTF-8 file, a quote
that never closes, and OCDS releases that share an id but not their content."""

import json
from decimal import Decimal

import pytest

from tests.conftest import OneSource
from tests.test_messy_files import SPEND_HEADER


def row(n: int, supplier: str, area: str = "A") -> str:
    return f"X,2021-05-04,{n},1,0,{n},{supplier},{area},B\n"


# ---------------------------------------------------------------- mixed encodings


def test_a_few_cp1252_lines_in_a_utf8_file_are_decoded_line_by_line(one_source):
    src: OneSource = one_source()
    utf8 = [row(1, "Café Ltd", "£ fees"), row(3, "Crème Ltd"), row(4, "Fine Ltd"), row(6, "Été")]
    cp1252 = [row(2, "Décor – Ltd"), row(5, "Naïve Ltd")]
    data = (
        (SPEND_HEADER + "\n").encode()
        + utf8[0].encode()
        + cp1252[0].encode("cp1252")  # line 3
        + utf8[1].encode()
        + utf8[2].encode()
        + cp1252[1].encode("cp1252")  # line 6
        + utf8[3].encode()
    )
    src.file("a.csv", data)
    src.ingest()
    assert src.rows("select supplier_name from staging.spend order by transaction_id") == [
        ("Café Ltd",),
        ("Décor – Ltd",),
        ("Crème Ltd",),
        ("Fine Ltd",),
        ("Naïve Ltd",),
        ("Été",),
    ]
    assert src.rows("select expense_area from staging.spend where transaction_id = '1'") == [
        ("£ fees",)
    ]
    row_ = src.file_row("a.csv")
    assert row_["encoding"] == "utf-8"
    assert row_["warnings"] == "2 lines were not UTF-8 and were read as cp1252: lines 3, 6"


def test_a_file_in_cp1252_throughout_has_no_encoding_warning(one_source):
    src: OneSource = one_source()
    src.file("a.csv", SPEND_HEADER + "\n" + row(1, "Café Ltd") + row(2, "£ Ltd"), encoding="cp1252")
    src.ingest()
    assert src.rows("select supplier_name from staging.spend order by 1") == [
        ("Café Ltd",),
        ("£ Ltd",),
    ]
    assert src.file_row("a.csv")["encoding"] == "cp1252"
    assert src.file_row("a.csv")["warnings"] is None


# ---------------------------------------------------------------- unbalanced quotes


def test_a_quote_that_never_closes_does_not_swallow_the_rows_after_it(one_source):
    src: OneSource = one_source()
    src.file(
        "a.csv",
        SPEND_HEADER
        + "\n"
        + row(1, "First Ltd")
        + row(2, '"Stray Ltd')  # line 3: the quote runs to the end of the file
        + row(3, "Third Ltd")
        + row(4, "Fourth Ltd"),
    )
    src.ingest()
    assert src.rows("select transaction_id, supplier_name from staging.spend order by 1") == [
        ("1", "First Ltd"),
        ("2", '"Stray Ltd'),  # read with the quote as a plain character
        ("3", "Third Ltd"),
        ("4", "Fourth Ltd"),
    ]
    row_ = src.file_row("a.csv")
    assert (row_["rows_read"], row_["rows_loaded"], row_["rows_quarantined"]) == (4, 4, 0)
    assert row_["warnings"] == (
        "1 line has a quote that is never closed (it would swallow the lines after it); "
        "read with the quote as a plain character: line 3"
    )


@pytest.mark.parametrize("second", [3, 4])
def test_two_stray_quotes_do_not_make_one_giant_value(one_source, second):
    """Before: the lines from the first stray quote to the second were one row whose supplier
    held the rows between them."""
    src: OneSource = one_source()
    names = ['"Stray Ltd', "Second Ltd", "Third Ltd", "Fourth Ltd", "Fifth Ltd"]
    names[second - 2] = '"Other Ltd'  # closes the first stray quote
    src.file("a.csv", SPEND_HEADER + "\n" + "".join(row(n, s) for n, s in enumerate(names, 1)))
    src.ingest()
    assert src.rows("select supplier_name from staging.spend order by transaction_id") == [
        (name,) for name in names
    ]
    row_ = src.file_row("a.csv")
    assert (row_["rows_read"], row_["rows_loaded"], row_["rows_quarantined"]) == (5, 5, 0)
    assert row_["warnings"].startswith("2 lines have a quote that is never closed")
    assert row_["warnings"].endswith(f": lines 2, {second}")


def test_a_stray_quote_with_too_many_values_quarantines_only_its_line(one_source):
    src: OneSource = one_source()
    src.file(
        "a.csv",
        SPEND_HEADER + "\n" + row(1, '"Smith, John') + row(2, "Second Ltd") + row(3, "Third Ltd"),
    )
    src.ingest()
    assert src.rows("select transaction_id from staging.spend order by 1") == [("2",), ("3",)]
    assert src.rows("select row_number, reason from raw.quarantine") == [
        (2, "row has values in 10 columns but the header has 9")
    ]
    row_ = src.file_row("a.csv")
    assert (row_["rows_read"], row_["rows_loaded"], row_["rows_quarantined"]) == (3, 2, 1)
    assert "quote that is never closed" in row_["warnings"]


def test_a_quoted_value_over_several_lines_is_still_one_value(one_source):
    src: OneSource = one_source()
    src.file(
        "a.csv",
        SPEND_HEADER
        + "\n"
        + row(1, "First Ltd", '"Unit 4, The Yard,\r\n12 High St, Salford,\r\nM5 4WT"')
        + row(2, "Second Ltd"),
    )
    src.ingest()
    assert src.rows("select row_number, supplier_name, expense_area from staging.spend") == [
        (2, "First Ltd", "Unit 4, The Yard,\r\n12 High St, Salford,\r\nM5 4WT"),
        (5, "Second Ltd", "A"),
    ]
    assert src.file_row("a.csv")["warnings"] is None


# ---------------------------------------------------------------- OCDS release ids


def release(rid: str, when: str, amount: int, ocid: str = "ocds-1") -> dict:
    return {
        "ocid": ocid,
        "id": rid,
        "date": when,
        "buyer": {"name": "Test Council"},
        "awards": [{"id": "a1", "value": {"amount": amount}, "suppliers": [{"name": "Acme"}]}],
    }


def _notices(tmp_path) -> OneSource:
    return OneSource(tmp_path, kind="ocds", layout=None, files="*.json")


def test_releases_sharing_an_id_with_different_content_are_reported(tmp_path):
    src = _notices(tmp_path)
    first = release("r1", "2022-01-01T00:00:00Z", 1000)
    corrected = release("r1", "2022-01-01T00:00:00Z", 1200)
    later = release("r2", "2022-02-01T00:00:00Z", 1500)
    src.file("p.json", json.dumps({"releases": [first, later, first, corrected]}))
    src.ingest()
    # The rule is unchanged (the first in date, file, position order is compiled) but visible.
    assert src.rows("select total_value from staging.contracts") == [(Decimal("1500.00"),)]
    row_ = src.file_row("p.json")
    assert (row_["rows_read"], row_["rows_loaded"], row_["rows_quarantined"]) == (4, 4, 0)
    assert row_["warnings"] == (
        "1 release has the id of another release of its ocid but different content; of "
        "releases sharing an id only the first by date, then file and position, is compiled: "
        "ocds-1 release r1 (compiled pub/p.json #1; ignored pub/p.json #4)"
    )


def test_a_conflicting_release_in_a_second_file_is_reported_on_it(tmp_path):
    src = _notices(tmp_path)
    src.file("a.json", json.dumps({"releases": [release("r1", "2022-01-01T00:00:00Z", 1000)]}))
    src.ingest()
    src.file(
        "b.json",
        json.dumps(
            {
                "releases": [
                    release("r1", "2022-01-01T00:00:00Z", 1000),  # the same: harmless
                    release("r1", "2021-12-01T00:00:00Z", 900, ocid="ocds-2"),  # other ocid
                    release("r1", "2022-01-01T00:00:00Z", 999),  # a different r1 of ocds-1
                ]
            }
        ),
    )
    src.ingest()
    assert src.file_row("a.json")["warnings"] is None
    assert src.file_row("b.json")["warnings"].endswith(
        "ocds-1 release r1 (compiled pub/a.json #1; ignored pub/b.json #3)"
    )
    assert src.rows("select ocid, total_value from staging.contracts order by 1") == [
        ("ocds-1", Decimal("1000.00")),
        ("ocds-2", Decimal("900.00")),
    ]


def test_identical_copies_of_a_release_need_no_warning(tmp_path):
    src = _notices(tmp_path)
    same = release("r1", "2022-01-01T00:00:00Z", 1000)
    src.file("a.json", json.dumps({"releases": [same, same]}))
    src.file("b.json", json.dumps({"releases": [same]}))
    src.ingest()
    assert src.rows("select warnings from raw.files") == [(None,), (None,)]
    assert src.rows("select count(*) from staging.contracts") == [(1,)]
