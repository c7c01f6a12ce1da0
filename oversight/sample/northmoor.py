"""Northmoor City Council, in Salford's layouts: a contract register and monthly spend files.

Writes `northmoor/contract-register/2026-09.csv` (Salford's register columns, a byte-order mark
encoded twice, placeholders such as ``TBC``, ``X``, ``N/A``, a typo'd flag and an extension row,
no review-date or owner column) and `northmoor/spend/YYYY-MM.csv` for every month (headers
renamed between months, VAT and gross beside the net amount, a BOM on the first month, redacted
personal payees, and one month with an impossible date and an amount of ``TBC``). The register
holds the background contracts and the planted ones; the spend files their payments and the
council's ad hoc payments.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from oversight.sample import planted_contracts
from oversight.sample.common import (
    DEPARTMENTS,
    EXPENSE_TYPES,
    PERSONAL,
    Contract,
    Payment,
    Supplier,
    csv_text,
    write_file,
)
from oversight.sample.pools import Builder


def write(sample: Builder, root: Path) -> None:
    """Northmoor's register, then its spend files."""
    contracts, sundry = _contracts_and_sundry(sample)
    _write_register(sample, root, contracts)
    _write_spend(sample, root, contracts, sundry)


def _contracts_and_sundry(sample: Builder) -> tuple[list[Contract], list[Payment]]:
    contractors, ad_hoc = sample.council_pools(0)
    contracts = sample.background_contracts("NCC-", max(20, int(20000 * sample.scale)), contractors)
    contracts += planted_contracts.northmoor(sample)

    sundry = sample.sundry(int(300_000 * sample.scale), ad_hoc)
    sundry += planted_contracts.northmoor_sundry()
    sundry += [
        (
            sample.rng.choice(sample.months) + timedelta(days=3),
            round(sample.rng.uniform(500, 900), 2),
            Supplier(sample.rng.choice(PERSONAL)),
        )
        for _ in range(12)
    ]
    return contracts, sundry


def _write_register(sample: Builder, root: Path, contracts: list[Contract]) -> None:
    header = [
        "Directorate Name",
        "Process Used",
        "Purchasing Body",
        "Contract Reference",
        "Contract Title",
        "Contract Description",
        "Supplier Company Name",
        "Supplier Postcode",
        "Annual Value",
        "Total Contract Value (including extensions)",
        "OJEU/FTS?",
        "Start Date",
        "End Date",
        "Contract Duration (months)",
        "Option to extend (months)",
        "How many extensions",
        "Extension 1 Taken?",
        "Extension 2 Taken?",
        "Current Expiry Date",
        "SME Supplier?",
        "ProClass Classification",
        "ProClass Description",
        "Company Number",
        "Visibility",
    ]
    rows = []
    for c in contracts:
        number = (
            c.company_text
            if c.company_text is not None
            else (
                str(int(c.supplier.company_number))
                if (c.supplier.company_number or "").isdigit()
                else c.supplier.company_number or ""
            )
        )
        annual = c.value_text or f"{c.total_value / max(c.months / 12, 1):.2f}"
        extended = c.expiry and c.expiry != c.end
        rows.append(
            [
                c.department,
                sample.rng.choice(["ITT", "RFQ", "Mini-Comp", "CSO Exception", "Direct Call-Off"]),
                "Northmoor City Council",
                c.ref,
                c.title,
                c.title,
                c.supplier.name,
                c.supplier.postcode,
                annual,
                c.value_text or f"{c.total_value:.2f}",
                sample.rng.choice(["Yes", "No", "No", "No"]),
                c.start.isoformat(),
                c.end.isoformat(),
                str(c.months),
                "12" if extended else "0",
                "1" if extended else "0",
                "Yes" if extended else "N/A",
                "N/A",
                (c.expiry or c.end).isoformat(),
                sample.rng.choice(["Yes", "No"]) if c.supplier.sme else "No",
                c.category[0],
                c.category[1],
                number,
                "Public",
            ]
        )
    # The mess real registers have: placeholders, a typo'd flag, an extension row.
    rows[3][12] = "TBC"
    rows[5][19] = "Noo"
    rows[7][6] = "Various"
    rows[8][13] = "X"
    ext = list(rows[10])
    ext[4] = ext[5] = ext[4] + " - Extension"
    rows.insert(11, ext)
    text = csv_text([header, *rows])
    double_bom = "\ufeff".encode().decode("latin-1").encode()
    write_file(root / "northmoor/contract-register/2026-09.csv", double_bom + text.encode())


def _write_spend(
    sample: Builder, root: Path, contracts: list[Contract], sundry: list[Payment]
) -> None:
    payments = [(d, a, c.supplier, c.department) for c in contracts for d, a in c.payments]
    payments += [(d, a, s, sample.rng.choice(DEPARTMENTS)) for d, a, s in sundry]
    variants = [
        [
            "Authority Name",
            "Date of Payment",
            "SAP Document Number",
            "Gross",
            "VAT",
            "Net",
            "Supplier Name",
            "Directorate",
            "G/L description.",
        ],
        [
            "Authority Name",
            "Date of Payment",
            "DocumentNo",
            "Gross",
            "VAT",
            "Net",
            "Vendor Name",
            "Service Area",
            "GL Description",
        ],
        [
            "Authority Name",
            "Date of Payment",
            "Document Number",
            "Gross",
            "VAT",
            "Net",
            "Vendor Name",
            "Service Area",
            "GL Description",
        ],
    ]
    doc = 6003000000
    for i, m in enumerate(sample.months):
        lines = sorted(
            (p for p in payments if p[0].year == m.year and p[0].month == m.month),
            key=lambda p: (p[0], p[2].name),
        )
        out = [variants[0] if i == 0 else variants[2] if i == 7 else variants[1]]
        for d, amount, supplier, dept in lines:
            doc += sample.rng.randrange(1, 40)
            vat = round(amount * 0.2, 2) if sample.rng.random() < 0.6 else 0.0
            out.append(
                [
                    "Northmoor City Council",
                    d.isoformat(),
                    str(doc),
                    f"{amount + vat:.2f}",
                    f"{vat:.2f}",
                    f"{amount:.2f}",
                    supplier.name,
                    dept,
                    sample.rng.choice(EXPENSE_TYPES),
                ]
            )
        if i == 5:  # two rows a person must look at: an impossible date and no amount
            out.append(
                [
                    "Northmoor City Council",
                    "2025-02-31",
                    str(doc + 1),
                    "612.00",
                    "102.00",
                    "510.00",
                    "Calder Print & Design Ltd",
                    "Place",
                    "Printing & Stationery",
                ]
            )
            out.append(
                [
                    "Northmoor City Council",
                    "2025-03-14",
                    str(doc + 2),
                    "TBC",
                    "",
                    "TBC",
                    "Calder Print & Design Ltd",
                    "Place",
                    "Printing & Stationery",
                ]
            )
        data = csv_text(out).encode()
        if i == 0:
            data = "\ufeff".encode().decode("latin-1").encode() + data
        write_file(root / f"northmoor/spend/{m:%Y-%m}.csv", data)
