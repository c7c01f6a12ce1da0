"""Ashby Metropolitan District Council: a cp1252 register, and Bradford's spend layout.

Writes `ashby/contract-register/register.csv` (cp1252 with CRLF, ``3 Apr 2025`` and
``03/04/2025`` dates, ``£1,234.50`` values, blank lines, a duplicated column and trailing
empty ones, one contract that starts in 1985) and `ashby/spend/`: a zip of monthly cp1252 CSVs for
the first year (February 2025 never published), a workbook with one sheet per month for the
second, amounts as ``(1,234.50)`` credits and `` £1,234.50 `` with spaces, and an HTML error page
saved as the next month's CSV.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from datetime import date
from pathlib import Path

from oversight.sample import planted_contracts
from oversight.sample.common import (
    EXPENSE_TYPES,
    Contract,
    Supplier,
    csv_text,
    write_book,
    write_file,
)
from oversight.sample.pools import Builder


def write(sample: Builder, root: Path) -> None:
    """Ashby's register, then its spend files."""
    contractors, ad_hoc = sample.council_pools(2)
    contracts = sample.background_contracts("ASH-", max(20, int(15000 * sample.scale)), contractors)
    contracts.append(planted_contracts.ashby(sample))
    _write_register(root, contracts)
    _write_spend(sample, root, contracts, ad_hoc)


def _write_register(root: Path, contracts: list[Contract]) -> None:
    header = [
        "Reference",
        "Title",
        "Description",
        "Department",
        "Department",
        "Supplier Name",
        "Company Registration Number",
        "SME (Y/N)",
        "VCSE (Y/N)",
        "Contract Start Date",
        "Contract End Date",
        "Contract Review Date",
        "Contract Value",
        "Contract Owner",
        "",
        "",
        "",
    ]
    rows: list[list[str]] = [header]
    for i, c in enumerate(contracts):
        fmt = "%d %b %Y" if i % 2 else "%d/%m/%Y"
        rows.append(
            [
                c.ref,
                c.title,
                c.title,
                c.department,
                "",
                c.supplier.name,
                c.supplier.company_number or "",
                "Y" if c.supplier.sme else "N",
                "N",
                c.start.strftime(fmt).lstrip("0"),
                c.end.strftime(fmt),
                c.review.strftime(fmt) if c.review else "",
                f"£{c.total_value:,.2f}",
                c.owner or "",
                "",
                "",
                "",
            ]
        )
        if i % 25 == 24:
            rows.append([])
    write_file(
        root / "ashby/contract-register/register.csv", csv_text(rows, "\r\n").encode("cp1252")
    )


def _write_spend(
    sample: Builder, root: Path, contracts: list[Contract], ad_hoc: list[Supplier]
) -> None:
    import openpyxl

    header = [
        "Service Code",
        "Service Label",
        "Expenditure code",
        "Expenditure category",
        "Payment date",
        "Transaction Number",
        "Net Amount",
        "Supplier Number",
        "Supplier Name",
    ]
    payments = [(d, a, c.supplier) for c in contracts for d, a in c.payments]
    payments += sample.sundry(int(300_000 * sample.scale), ad_hoc)

    def amount_text(a: float, k: int) -> str:
        if a < 0:
            return f"({-a:,.2f})"
        return f" £{a:,.2f} " if k % 9 == 0 else f"{a:.2f}"

    def month_rows(m: date) -> list[list[str]]:
        lines = sorted(
            (p for p in payments if (p[0].year, p[0].month) == (m.year, m.month)),
            key=lambda p: (p[0], p[2].name),
        )
        out = []
        for k, (d, a, s) in enumerate(lines):
            if k % 40 == 39:
                a = -round(a / 3, 2)  # a credit note
            out.append(
                [
                    "",
                    sample.rng.choice(["Access & Inclusion", "Highways", "Libraries"]),
                    str(6000 + k % 300),
                    sample.rng.choice(EXPENSE_TYPES),
                    d.isoformat(),
                    str(1900200000 + k + m.month * 10000),
                    amount_text(a, k),
                    str(100000 + zlib.crc32(s.name.encode()) % 90000),
                    s.name.upper(),
                ]
            )
        return out

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for m in sample.months[:12]:  # fixed entry times: the same sample gives the same bytes
            if m == date(2025, 2, 1):
                continue  # a month never published
            archive.writestr(
                zipfile.ZipInfo(f"ashby-spend-{m:%Y-%m}.csv", (2026, 10, 1, 0, 0, 0)),
                csv_text([header, *month_rows(m)]).encode("cp1252"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    write_file(root / "ashby/spend/ashby-spend-2024-25.zip", buffer.getvalue())
    book = openpyxl.Workbook()
    book.remove(book.active)
    for m in sample.months[12:]:
        ws = book.create_sheet(f"{m:%b %Y}")
        ws.append(header)
        for r in month_rows(m):
            r[6] = float(
                r[6].strip().replace("£", "").replace(",", "").replace("(", "-").rstrip(")")
            )
            ws.append(r)
    write_book(book, root / "ashby/spend/ashby-spend-2025-26.xlsx")
    write_file(
        root / "ashby/spend/ashby-spend-2026-10.csv",
        b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
        b"<body><h1>Service Unavailable</h1></body></html>\n",
    )
