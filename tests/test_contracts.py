"""Contract identity: lots, renewals, blank references, snapshots of one register, and the
buyer of a register entry. Registers are written as CSV and ingested through the catalogue."""

from datetime import date
from decimal import Decimal

from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.resolution import resolve_and_link
from oversight.indicators.indicators import build_contract_oversight
from tests.conftest import OneSource, query, write_catalogue

HEADER = "Reference Number,Title of Agreement,Supplier Name,Start Date,End Date,Value of Agreement"
D = date(2023, 1, 31)


def build(tmp_path, files: dict[str, str], **source) -> OneSource:
    """A register source with these files, ingested, resolved and turned into the mart."""
    reg = OneSource(tmp_path, kind="contract_register", layout="lgtc-register", **source)
    for name, body in files.items():
        reg.file(name, HEADER + "\n" + body)
    reg.ingest()
    catalogue = load_catalogue(write_catalogue(reg.root, [reg.source]))
    with open_warehouse(reg.warehouse) as con:
        parameters = load_parameters()
        resolve_and_link(con, parameters)
        build_contract_oversight(con, catalogue, parameters, D)
    return reg


def mart(reg: OneSource) -> dict[str, tuple]:
    rows = query(
        reg.warehouse,
        "select coalesce(contract_ref, '-') || ' ' || supplier_name, entries, value, periods,"
        " no_longer_listed,"
        " last_listed_in from marts.contract_oversight order by 1",
    )
    return {r[0]: r[1:] for r in rows}


def test_lots_renewals_and_blank_references(tmp_path):
    reg = build(
        tmp_path,
        {
            "2022-07.csv": (
                # one reference, two suppliers: two lots, two contracts
                "L1,Highways lot 1,Alder Ltd,01/04/2021,31/03/2023,100000\n"
                "L1,Highways lot 2,Birch Ltd,01/04/2021,31/03/2023,50000\n"
                # one reference, one supplier, two rows: a renewal, one contract, two periods
                "R7,Cleaning,Cedar Ltd,01/04/2019,31/03/2021,40000\n"
                "R7,Cleaning - Extension,Cedar Ltd,01/06/2021,31/05/2023,30000\n"
                # no reference: never grouped on it
                ",Catering,Damson Ltd,01/04/2022,31/03/2024,9000\n"
                ",Catering,Damson Ltd,01/04/2022,31/03/2024,9000\n"
            )
        },
    )
    rows = mart(reg)
    assert rows["L1 Alder Ltd"][:2] == (1, Decimal("100000.00"))
    assert rows["L1 Birch Ltd"][:2] == (1, Decimal("50000.00"))
    # value tests use the total across the contract's rows; its periods are kept
    assert rows["R7 Cedar Ltd"][:3] == (
        2,
        Decimal("70000.00"),
        "2019-04-01 to 2021-03-31; 2021-06-01 to 2023-05-31",
    )
    damson = query(
        reg.warehouse,
        "select count(*) from marts.contract_oversight where supplier_name = 'Damson Ltd'",
    )
    assert damson == [(2,)]  # two rows without a reference stay two contracts


def test_two_snapshots_of_one_register_neither_double_nor_drop(tmp_path):
    reg = build(
        tmp_path,
        {
            "2022-07.csv": (
                "A1,Parks,Elm Ltd,01/04/2021,31/03/2024,60000\n"
                "B2,Libraries,Fir Ltd,01/04/2020,31/03/2022,20000\n"
                ",Catering,Gorse Ltd,01/04/2022,31/03/2024,9000\n"
            ),
            "2022-10.csv": (
                "A1,Parks (varied),Elm Ltd,01/04/2021,31/03/2025,75000\n"
                "C3,Leisure,Hazel Ltd,01/10/2022,30/09/2025,80000\n"
                ",Catering,Gorse Ltd,01/04/2022,31/03/2024,9000\n"
            ),
        },
        snapshots=True,
    )
    rows = mart(reg)
    # A1 is in both snapshots: the latest row replaces the earlier one (not 135,000)
    assert rows["A1 Elm Ltd"][:3] == (1, Decimal("75000.00"), "2021-04-01 to 2025-03-31")
    assert rows["A1 Elm Ltd"][3] is False
    # B2 is gone from the latest snapshot: kept, marked, with where it was last listed
    assert rows["B2 Fir Ltd"][3:] == (True, "pub/2022-07.csv")
    assert rows["C3 Hazel Ltd"][3] is False
    # a row with no reference: the same supplier, title and start in both snapshots is one
    gorse = query(
        reg.warehouse,
        "select count(*), sum(value) from marts.contract_oversight"
        " where supplier_name = 'Gorse Ltd'",
    )
    assert gorse == [(1, Decimal("9000.00"))]
    assert len(rows) == 4  # A1, B2, C3 and the Gorse catering contract


def test_the_buyer_of_a_register_entry_is_its_publisher(tmp_path):
    """Salford's layout prints a purchasing body (AGMA/STAR, YPO): the framework the contract
    was let through, kept for analysts; the buyer is the council."""
    reg = OneSource(
        tmp_path,
        kind="contract_register",
        layout="salford-register",
        publisher="Salford City Council",
    )
    reg.file(
        "2022-07.csv",
        "Contract Reference,Contract Title,Purchasing Body,Supplier Name,Start Date\n"
        "S1,Fuel cards,YPO 981,Allstar Ltd,01/04/2021\n"
        "S2,Agency staff,AGMA/STAR,Reed Ltd,01/04/2021\n",
    )
    reg.ingest()
    assert reg.rows(
        "select contract_ref, buyer_name, purchasing_body from staging.contracts order by 1"
    ) == [
        ("S1", "Salford City Council", "YPO 981"),
        ("S2", "Salford City Council", "AGMA/STAR"),
    ]
    shared = OneSource(
        tmp_path / "shared",
        kind="contract_register",
        layout="salford-register",
        publisher="STAR Procurement",
        multi_buyer=True,
    )
    shared.file(
        "2022-07.csv",
        "Contract Reference,Contract Title,Purchasing Body,Supplier Name,Start Date\n"
        "S1,Fuel cards,Stockport Council,Allstar Ltd,01/04/2021\n",
    )
    shared.ingest()
    assert shared.rows("select buyer_name, purchasing_body from staging.contracts") == [
        ("Stockport Council", "Stockport Council")
    ]


def test_a_spend_month_republished_with_corrections_supersedes_the_first(tmp_path):
    """The source declares the period a file covers: the last file by name for a period
    replaces the others in links and indicators (their rows stay in staging, with lineage)."""
    pay = OneSource(tmp_path, period_from_name=r"(\d{4}-\d{2})")
    header = "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name\n"
    pay.file("2022-09.csv", header + "Salford,05/09/2022,1,600,0,600,Alder Ltd\n"
             "Salford,06/09/2022,2,900,0,900,Birch Ltd\n")  # fmt: skip
    pay.file("2022-09-corrected.csv", header + "Salford,05/09/2022,1,650,0,650,Alder Ltd\n"
             "Salford,06/09/2022,2,900,0,900,Birch Ltd\n")  # fmt: skip
    pay.file("2022-10.csv", header + "Salford,05/10/2022,3,700,0,700,Alder Ltd\n")
    pay.ingest()
    with open_warehouse(pay.warehouse) as con:
        resolve_and_link(con, load_parameters())
    assert pay.rows("select count(*) from staging.spend") == [(5,)]  # nothing lost
    assert pay.rows(
        "select file_path, sum(amount) from links.spend_contract group by 1 order by 1"
    ) == [
        ("pub/2022-09-corrected.csv", Decimal("1550.00")),
        ("pub/2022-10.csv", Decimal("700.00")),
    ]
    assert pay.rows("select file_path, superseded_by from links.superseded_files") == [
        ("pub/2022-09.csv", "pub/2022-09-corrected.csv")
    ]


def test_a_contract_takes_its_title_from_its_latest_period(tmp_path):
    """A contract's rows are its periods; its title (and review date, owner, status) is the
    latest row's: the latest start, then, two rows starting the same day (a contract and its
    extension), the later row of the register, whatever order the rows are printed in."""
    reg = build(
        tmp_path,
        {
            "2022-07.csv": (
                "R8,Grounds - Extension,Elder Ltd,01/06/2021,31/05/2023,30000\n"
                "R8,Grounds,Elder Ltd,01/04/2019,31/03/2021,40000\n"
                "R9,Waste,Furze Ltd,01/04/2021,31/03/2022,10000\n"
                "R9,Waste - Varied,Furze Ltd,01/04/2021,31/03/2023,15000\n"
            )
        },
    )
    titles = query(
        reg.warehouse,
        "select contract_ref, title, entries from marts.contract_oversight order by 1",
    )
    assert titles == [("R8", "Grounds - Extension", 2), ("R9", "Waste - Varied", 2)]
