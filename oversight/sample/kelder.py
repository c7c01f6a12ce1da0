"""Kelder Valley Council: a Transparency Code register workbook and Calderdale's spend layout.

Writes `kelder/contract-register/contracts-register-2026-q3.xlsx` (title rows above the header,
some start dates typed in as Excel serial numbers, review dates, contract managers, a duplicated
``Notes`` column) and `kelder/spend/YYYY-MM.csv` for every month (Calderdale's columns: company
and charity numbers, refunds as negative lines, and one month where one amount repeats in more
than a tenth of the rows). The register holds the background contracts and Kelder's planted ones;
the spend files their payments, the council's ad hoc payments and its monthly payments to
Meridian.
"""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path

from oversight.sample import planted_contracts
from oversight.sample.common import AS_OF, Contract, Supplier, csv_text, write_book, write_file
from oversight.sample.pools import Builder


def write(sample: Builder, root: Path) -> None:
    """Kelder's register, then its spend files."""
    contractors, ad_hoc = sample.council_pools(1)
    contracts = sample.background_contracts("KVC/", max(20, int(15000 * sample.scale)), contractors)
    contracts += planted_contracts.kelder(sample)
    _write_register(root, contracts)
    _write_spend(sample, root, contracts, ad_hoc)


def _write_register(root: Path, contracts: list[Contract]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Contracts"
    ws.append(["Kelder Valley Council"])
    ws.append(["Contracts Register – published under the Local Government Transparency Code 2015"])
    ws.append([f"As at {AS_OF:%d %B %Y}"])
    ws.append([])
    ws.append(
        [
            "Reference Number",
            "Title of Agreement",
            "Description of Goods and Services",
            "Department Responsible",
            "Supplier Name",
            "Supplier Registration Number",
            "Charity Number",
            "SME",
            "VCSE",
            "Start Date",
            "End Date",
            "Review Date",
            "Value of Agreement",
            "Irrecoverable VAT",
            "Procurement Process",
            "Contract Manager",
            "Notes",
            "Notes",
        ]
    )
    for i, c in enumerate(contracts):
        start: object = c.start
        if i % 7 == 3:  # some dates typed in as numbers: Excel serials
            start = (c.start - date(1899, 12, 30)).days
        ws.append(
            [
                c.ref,
                c.title,
                c.title,
                c.department,
                c.supplier.name,
                c.supplier.company_number or "",
                c.supplier.charity_number or "",
                "Y" if c.supplier.sme else "N",
                "Y" if c.supplier.charity_number else "N",
                start,
                c.end,
                c.review,
                c.total_value,
                0,
                "Open tender",
                c.owner or "",
                "",
                "",
            ]
        )
    write_book(book, root / "kelder/contract-register/contracts-register-2026-q3.xlsx")


def _write_spend(
    sample: Builder, root: Path, contracts: list[Contract], ad_hoc: list[Supplier]
) -> None:
    header = [
        "Body",
        "Organisation Name",
        "Date",
        "Internal Ref Number",
        "Invoice Number",
        "Net Amount",
        "Irrecoverable VAT",
        "Supplier(Beneficiary) Name",
        "Supplier Registered Company Number",
        "Supplier Registered Charity Number",
        "Supplier ID",
        "VAT Registration Number",
        "Expense Area",
        "Procurement Classification: Council's Procurement Category Name",
        "Expense Code",
        "BVACOP",
        "Proclass",
        "Extended Description",
        "Source",
        "Subsource",
        "Definition",
        "Purpose of Spend (Summary)",
        "Voluntary Community and Social Enterprise Supplier",
    ]
    payments = [(d, a, c.supplier) for c in contracts for d, a in c.payments]
    payments += sample.sundry(int(300_000 * sample.scale), ad_hoc)
    payments += planted_contracts.kelder_meridian_payments(sample.months)
    ref = 31589000
    for i, m in enumerate(sample.months):
        rows = [header]
        lines = sorted(
            (p for p in payments if (p[0].year, p[0].month) == (m.year, m.month)),
            key=lambda p: (p[0], p[2].name),
        )
        for d, amount, s in lines:
            ref += 1
            rows.append(
                [
                    "http://statistics.data.gov.uk/doc/local-authority-district/00ZZ",
                    "Kelder Valley Council",
                    d.isoformat(),
                    str(ref),
                    f"INV{sample.rng.randrange(10000, 99999)}",
                    f"{amount:.2f}",
                    "N/A",
                    s.name,
                    s.company_number or "",
                    s.charity_number or "",
                    f"S{zlib.crc32(s.name.encode()) % 900000 + 100000}",
                    "",
                    "Adult Services and Wellbeing-Adult Health & Social Care",
                    "Private Contractors",
                    str(88760000 + ref % 1000),
                    "",
                    "",
                    "",
                    "IV",
                    "AP",
                    "Accounts Payable Invoices",
                    "Payment of accounts payable invoices",
                    "Y" if s.charity_number else "N",
                ]
            )
            if sample.rng.random() < 0.02:  # a refund
                rows.append([*rows[-1][:5], f"-{amount / 4:.2f}", *rows[-1][6:]])
        if i == 9:
            repeated = len(rows) // 6
            for r in rows[1 : 1 + repeated]:
                r[5] = "1250.00"
        write_file(root / f"kelder/spend/{m:%Y-%m}.csv", csv_text(rows).encode())
