"""Publishers' shapes that YAML alone must express (issue 17): payment dates from a period or the
file name, two-digit years, money in other currencies. Values computed by hand."""

import pytest

from oversight.core.catalogue import CatalogueError, load_catalogue
from tests.conftest import OneSource, write_catalogue

PERIODS = """\
Supplier Name,Amount,Period,Updated
Alder Ltd,600.00,202205,15/09/2022
Birch Ltd,900.00,202210,15/09/2022
Cedar Ltd,700.00,202213,15/09/2022
"""


def spend(one_source, **values) -> OneSource:
    columns = {"supplier_name": "Supplier Name", "amount": "Amount"}
    return one_source(layout=None, columns=columns | values.pop("columns", {}), values=values)


def test_a_financial_year_period_gives_the_first_day_of_its_month(one_source):
    pay = spend(one_source, columns={"payment_period": "Period"})
    pay.file("2022-08.csv", PERIODS)
    pay.ingest()
    assert pay.rows(
        "select supplier_name, payment_date::varchar, payment_period, parse_issues "
        "from staging.spend order by 1"
    ) == [
        (
            "Alder Ltd",
            "2022-08-01",  # period 5 of 2022-23
            "202205",
            "payment_date: empty, so the first day of period 202205 (2022-08-01), "
            "not a published date",
        ),
        (
            "Birch Ltd",
            "2023-01-01",  # period 10 of 2022-23 is January 2023
            "202210",
            "payment_date: empty, so the first day of period 202210 (2023-01-01), "
            "not a published date",
        ),
    ]
    assert pay.rows("select reason from raw.quarantine") == [
        ("payment_date is empty (no readable payment_period either)",)  # period 13
    ]


def test_a_calendar_period_is_a_month(one_source):
    pay = spend(one_source, columns={"payment_period": "Period"}, period_format="calendar")
    pay.file("2022-08.csv", PERIODS)
    pay.ingest()
    assert pay.rows("select payment_date::varchar from staging.spend order by 1") == [
        ("2022-05-01",),
        ("2022-10-01",),
    ]


def test_a_bare_time_or_an_empty_date_falls_back_to_the_month_in_the_file_name(one_source):
    pay = spend(
        one_source,
        columns={"payment_date": "Paid"},
        date_from_name=r"(?P<year>\d{4})-(?P<month>\d{2})",
    )
    pay.file(
        "spend-2022-08.csv",
        "Supplier Name,Amount,Paid\n"
        "Alder Ltd,600,00:00:00\n"
        "Birch Ltd,900,\n"
        "Cedar Ltd,700,03/08/2022\n"
        "Damson Ltd,800,not a date\n",
    )
    pay.ingest()
    assert pay.rows(
        "select supplier_name, payment_date::varchar, parse_issues from staging.spend order by 1"
    ) == [
        (
            "Alder Ltd",
            "2022-08-01",
            "payment_date ('Paid'): a bare time 00:00:00, so the first day of the month in the "
            "file name (2022-08-01), not a published date",
        ),
        (
            "Birch Ltd",
            "2022-08-01",
            "payment_date ('Paid'): empty, so the first day of the month in the file name "
            "(2022-08-01), not a published date",
        ),
        ("Cedar Ltd", "2022-08-03", None),  # a published date is the date
    ]
    # A published value that is not a date is an error, never filled in.
    assert pay.rows("select raw_text from raw.quarantine") == [("Damson Ltd,800,not a date",)]


def test_a_source_without_any_date_needs_a_fallback(one_source):
    pay = spend(one_source)
    with pytest.raises(CatalogueError, match="no mapping for required column.*payment_date"):
        load_catalogue(write_catalogue(pay.root, [pay.source]))
    pay.source["values"] = {"date_from_name": r"(\d{4})-(\d{2})"}
    with pytest.raises(CatalogueError, match="needs groups named year and month"):
        load_catalogue(write_catalogue(pay.root, [pay.source]))


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("27-Mar-23", "2023-03-27"),
        ("27/03/23", "2023-03-27"),
        ("27.03.23", "2023-03-27"),
        ("01/01/69", "1969-01-01"),  # 69-99 is 19xx, as Python's %y
        ("27-Mar-2023", "2023-03-27"),
        ("27/03/2023", "2023-03-27"),
    ],
)
def test_two_digit_years_read_as_python_reads_them(one_source, printed, expected):
    pay = spend(one_source, columns={"payment_date": "Paid"})
    pay.file("a.csv", f"Supplier Name,Amount,Paid\nAlder Ltd,600,{printed}\n")
    pay.ingest()
    assert pay.rows("select payment_date::varchar from staging.spend") == [(expected,)]


def test_chosen_date_formats_are_named_when_a_value_fits_none(one_source):
    pay = spend(one_source, columns={"payment_date": "Paid"}, date_formats=["%d/%m/%Y"])
    pay.file("a.csv", "Supplier Name,Amount,Paid\nAlder Ltd,600,2022-08-03\n")
    pay.ingest()
    assert pay.rows("select reason from raw.quarantine") == [
        ("payment_date ('Paid'): 2022-08-03 is not a date (formats tried: %d/%m/%Y)",)
    ]


def test_money_in_another_currency_is_read_with_its_currency_and_never_in_pounds(one_source):
    pay = spend(one_source, columns={"payment_date": "Paid"})
    pay.file(
        "a.csv",
        "Supplier Name,Amount,Paid\n"
        'Alder Ltd,"€1,200.50",03/08/2022\n'
        "Birch Ltd,USD 15,03/08/2022\n"
        "Cedar Ltd,\ufffd500,03/08/2022\n"
        "Damson Ltd,£700,03/08/2022\n",
    )
    pay.ingest()
    assert pay.rows(
        "select supplier_name, amount, currency, parse_issues from staging.spend order by 1"
    ) == [
        (
            "Alder Ltd",
            1200.50,
            "EUR",
            "amount ('Amount'): €1,200.50 is in EUR: kept out of pound totals",
        ),
        ("Birch Ltd", 15, "USD", "amount ('Amount'): USD 15 is in USD: kept out of pound totals"),
        (
            "Cedar Ltd",
            500,
            "GBP",
            "amount ('Amount'): \ufffd500 has an unreadable currency sign, read as pounds",
        ),
        ("Damson Ltd", 700, "GBP", None),
    ]


def test_a_file_whose_every_row_is_quarantined_stands_out(one_source, capsys):
    from oversight.core.ledger import NOTHING_LOADED_SQL
    from pipelines.run import print_summary

    pay = spend(one_source, columns={"payment_date": "Paid"}, date_formats=["%d/%m/%Y"])
    pay.file("good.csv", "Supplier Name,Amount,Paid\nAlder Ltd,600,03/08/2022\n")
    pay.file("us.csv", "Supplier Name,Amount,Paid\nAlder Ltd,600,08-03-2022\nB Ltd,5,08-04-2022\n")
    pay.ingest()
    assert pay.file_row("good.csv")["status"] == "loaded"
    assert pay.file_row("us.csv")["status"] == "nothing_loaded"
    reason = "payment_date ('Paid'): 08-03-2022 is not a date (formats tried: %d/%m/%Y)"
    assert pay.rows(NOTHING_LOADED_SQL)[0][:3] == ("pub", "pub/us.csv", 2)
    assert pay.ingest().parsed == 0  # not read again while unchanged
    print_summary(str(pay.warehouse))
    printed = capsys.readouterr().out
    assert "WARNING: files read but with every row quarantined" in printed
    assert "pub: pub/us.csv: 2 rows quarantined, mostly: payment_date ('Paid'): 08-0" in printed
    assert reason.startswith("payment_date ('Paid'): 08-03-2022")
