"""Write a deterministic, fictional sample of published files into `data/raw/`.

Four fictional publishers, each in the layout (column names, encoding, messiness) of a real one:

- Northmoor City Council: Salford's register and spend layouts (a BOM encoded twice, headers
  renamed between months, placeholders such as ``X``, ``TBC``, ``-``, ``N/A``).
- Kelder Valley Council: a Transparency Code register workbook (title rows above the header,
  Excel dates, review dates and owners) and Calderdale's spend layout (company and charity
  numbers, refunds as negatives).
- Ashby Metropolitan District Council: a cp1252 register with ``3 Apr 2025`` dates, blank lines,
  trailing empty and duplicated columns; Bradford's spend layout in a zip of monthly CSVs for the
  first year and a workbook with one sheet per month for the second, ``(1,234.50)`` amounts.
- Department for Regional Resilience: the Cabinet Office spend-over-£25k layout (cp1252 and CRLF
  early on, a ``#`` column and long dates later, transaction numbers repeated across lines).

Cases for the indicators (README, Indicators) are planted beside clean twins and listed in
`data/raw/planted.yaml`, with the as-of date they are judged on.

`scale` 1 is about 1.4M payment lines and 50k contracts; the committed sample uses 0.01.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import re
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

from oversight import settings

FIRST_MONTH = date(2024, 10, 1)
MONTHS = 24  # October 2024 to September 2026
AS_OF = date(2026, 9, 30)
SAMPLE_SCALE = 0.01
SEED = 20261122


def month_starts() -> list[date]:
    out, d = [], FIRST_MONTH
    for _ in range(MONTHS):
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def month_end(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1) - timedelta(days=1)


@dataclass
class Supplier:
    name: str
    company_number: str | None = None
    charity_number: str | None = None
    sme: bool = True
    postcode: str = ""


@dataclass
class Contract:
    ref: str
    title: str
    supplier: Supplier
    start: date
    end: date
    total_value: float
    category: tuple[str, str]
    department: str
    expiry: date | None = None
    review: date | None = None
    owner: str | None = None
    value_text: str | None = None  # published instead of the value (e.g. '-')
    company_text: str | None = None  # published instead of the company number
    payments: list[tuple[date, float]] = field(default_factory=list)

    @property
    def months(self) -> int:
        return max(
            1, (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        )


NAME_A = [
    "Hollins",
    "Pennine",
    "Meridian",
    "Brightwater",
    "Calder",
    "Oakfield",
    "Redbrook",
    "Ashworth",
    "Kestrel",
    "Northgate",
    "Fairhaven",
    "Millbrook",
    "Stonebridge",
    "Harlow",
    "Whitmore",
    "Greenway",
    "Thornley",
    "Crossfield",
    "Beacon",
    "Riverside",
    "Elmhurst",
    "Westfield",
    "Highcroft",
    "Larkspur",
    "Moorside",
    "Granite",
    "Silverdale",
    "Copperfield",
]
NAME_B = [
    "Landscapes",
    "Catering Supplies",
    "Facilities Management",
    "Consulting",
    "Care Services",
    "Building Contractors",
    "IT Solutions",
    "Transport",
    "Cleaning",
    "Training",
    "Print & Design",
    "Legal Services",
    "Surveying",
    "Electrical",
    "Security",
    "Waste Management",
    "Recruitment",
    "Highways",
    "Plumbing & Heating",
]
FORMS = ["Ltd", "Limited", "LTD", "PLC", "LLP", "Limited"]
CATEGORIES = [
    ("231810", "Surveys"),
    ("390000", "Works - Construction, Repair & Maintenance"),
    ("391400", "Roads"),
    ("180000", "Information Communication Technology"),
    ("130000", "Social Care"),
    ("210000", "Facilities Management"),
    ("250000", "Transport"),
    ("160000", "Human Resources"),
]
DEPARTMENTS = [
    "Place",
    "People (Adults)",
    "People (Children)",
    "Service Reform",
    "Regeneration",
    "Chief Executive",
]
EXPENSE_TYPES = [
    "Rents",
    "Training expenses",
    "Telephones & Fax",
    "Private Contractors",
    "Equipment Furniture And Materials",
    "Consultants Fees",
    "Printing & Stationery",
    "Vehicle Repairs",
    "Grounds Maintenance",
    "Agency Staff",
]
OWNERS = ["J. Patel", "S. Okafor", "R. Whitfield", "A. Nowak", "M. Hughes", "L. Chen"]
PERSONAL = ["REDACTED", "Personal Data", "Redacted - Personal Information"]
# Suppliers of the planted cases: kept out of the background pool so that no other supplier
# shares their name.
PLANTED_NAMES = {
    "Hollins Landscapes",
    "Redbrook Cleaning",
    "Stonebridge Surveying",
    "Kestrel Recruitment",
    "Millbrook IT Solutions",
    "Fairhaven Transport",
    "Granite Highways",
    "Brightwater Consulting",
    "Meridian Facilities Management",
    "Westfield Transport",
    "Silverdale Consulting",
    "Beacon IT Solutions",
    "Larkspur Training",
    "Pennine Catering Supplies",
    "Calder Print & Design",
}


class Sample:
    """Builds the whole sample in memory, then writes it."""

    def __init__(self, scale: float) -> None:
        self.rng = random.Random(SEED)
        self.scale = scale
        self.months = month_starts()
        self.planted: list[dict] = []
        self.suppliers = self._supplier_pool(max(1200, int(120000 * scale)))
        self.kelder: dict[str, Contract] = {}

    # ---------- building blocks ----------
    def _supplier_pool(self, n: int) -> list[Supplier]:
        """n suppliers with distinct names (the printings vary later, per publisher)."""
        qualifiers = ["", "(North)", "Group", "(Midlands)", "Partners", "(Yorkshire)"]
        combos = [
            (a, b, q)
            for q in qualifiers
            for a in NAME_A
            for b in NAME_B
            if f"{a} {b}" not in PLANTED_NAMES
        ]
        self.rng.shuffle(combos)
        pool = []
        numbers: set[str] = set()  # a company number is one company's: never drawn twice
        for i in range(n):
            a, b, q = combos[i % len(combos)]
            extra = f" No. {i // len(combos) + 1}" if i >= len(combos) else ""
            name = " ".join(x for x in (a, b, q) if x) + extra + " " + self.rng.choice(FORMS)
            roll = self.rng.random()
            number = None
            if roll < 0.8:
                prefix = self.rng.choice(["", "", "", "", "SC", "OC"])
                digits = 6 if prefix else 8
                while number is None or number in numbers:
                    number = prefix + str(self.rng.randrange(10 ** (digits - 2), 10**digits)).zfill(
                        digits
                    )
                numbers.add(number)
            charity = None
            while 0.8 <= roll < 0.88 and (charity is None or charity in numbers):
                charity = str(self.rng.randrange(200000, 1199999))
            numbers.add(charity or "")
            pool.append(
                Supplier(
                    name,
                    number,
                    charity,
                    self.rng.random() < 0.5,
                    f"{self.rng.choice(['M', 'HX', 'BD', 'LS'])}"
                    f"{self.rng.randrange(1, 30)} {self.rng.randrange(1, 9)}"
                    f"{self.rng.choice('ABDEFGHJ')}{self.rng.choice('LNPQRSTU')}",
                )
            )
        return pool

    def _council_pools(self, k: int) -> tuple[list[Supplier], list[Supplier]]:
        """Council k's suppliers: those it contracts with, and those it only pays ad hoc
        (so that a contract's payments come from its own supplier, as they mostly do)."""
        mine = self.suppliers[k::3]
        cut = int(len(mine) * 0.6)
        return mine[:cut], mine[cut:]

    def _background_contracts(
        self, prefix: str, n: int, suppliers: list[Supplier]
    ) -> list[Contract]:
        out = []
        for i in range(n):
            start = date(2021, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 5 + 200))
            months = self.rng.choice([12, 12, 24, 24, 36, 36, 48, 60])
            end = start + timedelta(days=int(months * 30.44) - 1)
            value = round(
                self.rng.choice([8, 15, 25, 40, 60, 90, 150, 300, 800])
                * 1000
                * self.rng.uniform(0.7, 1.3),
                2,
            )
            cat = self.rng.choice(CATEGORIES)
            c = Contract(
                f"{prefix}{1000 + i}",
                f"{cat[1]} services {self.rng.randrange(1, 99)}",
                suppliers[i % len(suppliers)],
                start,
                end,
                value,
                cat,
                self.rng.choice(DEPARTMENTS),
                expiry=end,
                review=start + timedelta(days=365) if end > AS_OF else None,
                owner=self.rng.choice(OWNERS),
            )
            self._pay_evenly(c, 0.85)
            out.append(c)
        return out

    def _pay_evenly(self, c: Contract, share: float, until: date | None = None) -> None:
        """Monthly payments over the contract's life inside the sample period; less often when
        a month's share would fall under the £500 publication threshold (small contracts are
        invoiced quarterly or yearly)."""
        last = until or (c.expiry or c.end)
        base = c.total_value * share / c.months
        step = max(1, math.ceil(600 / max(base, 1)))
        monthly = base * step
        for k, m in enumerate(self.months):
            if k % step == 0 and c.start <= month_end(m) and m <= last:
                day = min(month_end(m), max(m, c.start) + timedelta(days=self.rng.randrange(0, 20)))
                if day <= last:
                    c.payments.append((day, round(monthly * self.rng.uniform(0.97, 1.03), 2)))

    def _sundry(
        self, n: int, buyer_suppliers: list[Supplier]
    ) -> list[tuple[date, float, Supplier]]:
        out = []
        for _ in range(n):
            m = self.rng.choice(self.months)
            day = m + timedelta(days=self.rng.randrange(0, 28))
            out.append(
                (day, round(self.rng.uniform(500, 4800), 2), self.rng.choice(buyer_suppliers))
            )
        return out

    def plant(self, code: str, expected: bool, source: str, what: str, **keys: object) -> None:
        self.planted.append(
            {"indicator": code, "expected": expected, "source_id": source, **keys, "what": what}
        )

    def named(self, name: str, number: str | None, charity: str | None = None) -> Supplier:
        return Supplier(name, number, charity, True, "M5 4WT")

    # ---------- Northmoor City Council: Salford's layouts ----------
    def northmoor(self) -> tuple[list[Contract], list[tuple[date, float, Supplier]]]:
        src, reg = "northmoor-spend", "northmoor-register"
        contractors, ad_hoc = self._council_pools(0)
        contracts = self._background_contracts(
            "NCC-", max(20, int(20000 * self.scale)), contractors
        )
        planted = []

        def add(
            ref: str,
            title: str,
            supplier: Supplier,
            start: date,
            end: date,
            value: float,
            **kw: object,
        ) -> Contract:
            c = Contract(
                ref,
                title,
                supplier,
                start,
                end,
                value,
                CATEGORIES[5],
                "Place",
                expiry=kw.pop("expiry", end),
                **kw,
            )  # type: ignore[arg-type]
            planted.append(c)
            return c

        hollins = self.named("Hollins Landscapes Ltd", "07654321")
        c = add(
            "NCC-P07A",
            "Grounds maintenance north",
            hollins,
            date(2023, 7, 1),
            date(2025, 6, 30),
            120000,
        )
        self._pay_evenly(c, 0.9)
        c.payments += [
            (date(2025, 11, 14), 4800.0),
            (date(2025, 12, 12), 4800.0),
            (date(2026, 1, 16), 5100.0),
        ]
        self.plant(
            "OV07",
            True,
            reg,
            "paid 4.5 to 6.5 months after expiry, no other contract",
            contract_ref=c.ref,
            value_at_risk=14700.0,
        )
        c = add(
            "NCC-P07B",
            "Street cleansing",
            self.named("Redbrook Cleaning Limited", "04511230"),
            date(2023, 4, 1),
            date(2025, 3, 31),
            96000,
            expiry=date(2026, 3, 31),
        )
        self._pay_evenly(c, 0.85)
        self.plant(
            "OV07",
            False,
            reg,
            "payments continue but the extension runs to 2026-03-31",
            contract_ref=c.ref,
        )
        c = add(
            "NCC-P07C",
            "Bridge inspections",
            self.named("Stonebridge Surveying LLP", "OC301122"),
            date(2024, 1, 1),
            date(2025, 12, 31),
            60000,
        )
        self._pay_evenly(c, 0.8)
        c.payments.append((date(2026, 3, 31), 2500.0))
        self.plant(
            "OV07",
            False,
            reg,
            "one payment exactly 90 days after expiry: at the grace limit, not beyond it",
            contract_ref=c.ref,
        )
        c = add(
            "NCC-P08A",
            "Agency social workers",
            self.named("Kestrel Recruitment Ltd", "09876543"),
            date(2024, 10, 1),
            date(2026, 12, 31),
            50000,
        )
        for m in self.months[:20]:
            c.payments.append((m + timedelta(days=9), 3050.0))
        self.plant(
            "OV08",
            True,
            reg,
            "paid 61,000 against a total value of 50,000 (1.22)",
            contract_ref=c.ref,
            value_at_risk=11000.0,
        )
        c = add(
            "NCC-P08B",
            "Pest control",
            self.named("Oakfield Pest Control Ltd", "05566778"),
            date(2024, 10, 1),
            date(2026, 12, 31),
            80000,
        )
        for m in self.months[:18]:
            c.payments.append((m + timedelta(days=11), 4000.0))
        self.plant("OV08", False, reg, "paid 72,000 of 80,000", contract_ref=c.ref)
        c = add(
            "NCC-P08C",
            "Tree surgery",
            self.named("Whitmore Arboriculture Ltd", "03322110"),
            date(2024, 10, 1),
            date(2026, 12, 31),
            40000,
        )
        for m in self.months[:11]:
            c.payments.append((m + timedelta(days=5), 4000.0))
        self.plant(
            "OV08",
            True,
            reg,
            "paid exactly 1.10 of value: above 1.0, at (not above) the 1.10 band",
            contract_ref=c.ref,
            ratio=1.10,
        )
        c = add(
            "NCC-P09A",
            "Library self-service kiosks",
            self.named("Millbrook IT Solutions Ltd", "08123456"),
            date(2023, 7, 1),
            date(2026, 6, 30),
            90000,
        )
        self._pay_evenly(c, 0.85, until=date(2026, 9, 20))
        self.plant(
            "OV09",
            True,
            reg,
            "ended 2026-06-30, payments continue to September 2026 "
            "(within the 90-day grace, so not OV07), no termination or extension",
            contract_ref=c.ref,
        )
        self.plant(
            "OV09",
            True,
            reg,
            "paid after its end (Nov 2025 - Jan 2026), nothing closed it",
            contract_ref="NCC-P07A",
        )
        self.plant(
            "OV09",
            True,
            reg,
            "paid 90 days after its end, no termination or extension recorded",
            contract_ref="NCC-P07C",
        )
        self.plant(
            "OV09",
            False,
            reg,
            "its extension runs to 2026-03-31 and payments stop there",
            contract_ref="NCC-P07B",
        )
        c = add(
            "NCC-P13A",
            "Community transport",
            self.named("Fairhaven Transport Ltd", "06677889"),
            date(2025, 4, 1),
            date(2027, 3, 31),
            0,
            value_text="-",
        )
        self.plant(
            "OV13",
            True,
            reg,
            "live contract published with '-' for both values",
            contract_ref=c.ref,
        )
        c = add(
            "NCC-P14A",
            "Youth outreach",
            Supplier("Larkspur Youth Projects", None),
            date(2025, 6, 1),
            date(2027, 5, 31),
            45000,
        )
        self._pay_evenly(c, 0.5)
        self.plant(
            "OV14", True, reg, "live contract with no registration number", contract_ref=c.ref
        )
        c = add(
            "NCC-P01U",
            "Highway drainage",
            self.named("Granite Highways Ltd", "02535986"),
            date(2025, 1, 1),
            date(2027, 12, 31),
            250000,
            company_text="2535986",
        )
        self._pay_evenly(c, 0.8)
        self.plant(
            "OV01",
            None,
            reg,
            "the register has no review-date column: unknown, not false",
            contract_ref=c.ref,
        )
        self.plant(
            "OV03",
            None,
            reg,
            "the register has no owner column: unknown, not false",
            contract_ref=c.ref,
        )
        contracts += planted

        sundry = self._sundry(int(300_000 * self.scale), ad_hoc)
        brightwater = self.named("Brightwater Consulting Ltd", "10293847")
        sundry += [
            (date(2025, 5, 12), 3200.0, brightwater),
            (date(2025, 8, 11), 3200.0, brightwater),
            (date(2025, 11, 10), 3200.0, brightwater),
            (date(2026, 2, 9), 3200.0, brightwater),
        ]
        self.plant(
            "OV12",
            True,
            src,
            "12,800 paid in 2025-26 with no contract for the pair",
            supplier="Brightwater Consulting Ltd",
            financial_year="2025-26",
            value_at_risk=12800.0,
        )
        pennine = self.named("Pennine Catering Supplies", "11223344")
        sundry += [
            (date(2025, 6, 3), 900.0, pennine),
            (date(2025, 9, 2), 900.0, pennine),
            (date(2026, 1, 6), 900.0, pennine),
        ]
        self.plant(
            "OV12",
            False,
            src,
            "2,700 in a year: under the 5,000 threshold",
            supplier="Pennine Catering Supplies",
            financial_year="2025-26",
        )
        sundry += [
            (
                self.rng.choice(self.months) + timedelta(days=3),
                round(self.rng.uniform(500, 900), 2),
                Supplier(self.rng.choice(PERSONAL)),
            )
            for _ in range(12)
        ]
        return contracts, sundry

    def write_northmoor(self, root: Path) -> None:
        contracts, sundry = self.northmoor()
        src = "northmoor-spend"
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
                    self.rng.choice(
                        ["ITT", "RFQ", "Mini-Comp", "CSO Exception", "Direct Call-Off"]
                    ),
                    "Northmoor City Council",
                    c.ref,
                    c.title,
                    c.title,
                    c.supplier.name,
                    c.supplier.postcode,
                    annual,
                    c.value_text or f"{c.total_value:.2f}",
                    self.rng.choice(["Yes", "No", "No", "No"]),
                    c.start.isoformat(),
                    c.end.isoformat(),
                    str(c.months),
                    "12" if extended else "0",
                    "1" if extended else "0",
                    "Yes" if extended else "N/A",
                    "N/A",
                    (c.expiry or c.end).isoformat(),
                    self.rng.choice(["Yes", "No"]) if c.supplier.sme else "No",
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
        text = _csv_text([header, *rows])
        double_bom = "\ufeff".encode().decode("latin-1").encode()
        _write(root / "northmoor/contract-register/2026-09.csv", double_bom + text.encode())

        payments = [(d, a, c.supplier, c.department) for c in contracts for d, a in c.payments]
        payments += [(d, a, s, self.rng.choice(DEPARTMENTS)) for d, a, s in sundry]
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
        for i, m in enumerate(self.months):
            lines = sorted(
                (p for p in payments if p[0].year == m.year and p[0].month == m.month),
                key=lambda p: (p[0], p[2].name),
            )
            out = [variants[0] if i == 0 else variants[2] if i == 7 else variants[1]]
            for d, amount, supplier, dept in lines:
                doc += self.rng.randrange(1, 40)
                vat = round(amount * 0.2, 2) if self.rng.random() < 0.6 else 0.0
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
                        self.rng.choice(EXPENSE_TYPES),
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
                self.plant(
                    "DQ",
                    True,
                    src,
                    "an impossible date (2025-02-31) and an amount of "
                    "'TBC': both rows quarantined with their reason",
                    file=f"northmoor/spend/{m:%Y-%m}.csv",
                    quarantined_rows=2,
                )
            data = _csv_text(out).encode()
            if i == 0:
                data = "\ufeff".encode().decode("latin-1").encode() + data
            _write(root / f"northmoor/spend/{m:%Y-%m}.csv", data)

    # ---------- Kelder Valley Council: a Transparency Code register, Calderdale's spend ----------
    def write_kelder(self, root: Path) -> None:
        import openpyxl

        reg, src = "kelder-register", "kelder-spend"
        contractors, ad_hoc = self._council_pools(1)
        contracts = self._background_contracts(
            "KVC/", max(20, int(15000 * self.scale)), contractors
        )
        meridian = self.named("Meridian Facilities Management Ltd", "04455667")
        cases = [
            (
                "KVC/P01",
                "Home care framework",
                dict(review=None),
                "OV01",
                True,
                "live, no review date",
            ),
            (
                "KVC/P02",
                "Leisure centre management",
                dict(review=date(2026, 3, 31)),
                "OV02",
                True,
                "review date 2026-03-31 passed while live",
            ),
            (
                "KVC/P02T",
                "Parks maintenance",
                dict(review=AS_OF),
                "OV02",
                False,
                "review date is the as-of date: due today, not overdue",
            ),
            ("KVC/P03", "School meals", dict(owner=None), "OV03", True, "no contract manager"),
            (
                "KVC/P03C",
                "Fleet servicing",
                dict(owner="R. Whitfield"),
                "OV03",
                False,
                "contract manager named",
            ),
            (
                "KVC/P11",
                "Waste collection",
                dict(end=date(2027, 3, 31)),
                "OV11",
                True,
                "ends within 12 months of the as-of date; no successor notice",
            ),
            (
                "KVC/PEND",
                "CCTV monitoring",
                dict(end=AS_OF),
                "LIVE",
                True,
                "ends on the as-of date: still live that day",
            ),
        ]
        for ref, title, overrides, code, expected, what in cases:
            c = Contract(
                ref,
                title,
                meridian
                if ref == "KVC/P03"
                else self.named(
                    f"{ref[4:]} {title.split()[0]} Services Ltd", f"0770{len(self.kelder):04d}"
                ),
                date(2024, 4, 1),
                overrides.get("end", date(2027, 12, 31)),
                180000,
                CATEGORIES[6],
                "Adult Services",
                review=date(2027, 1, 31),
                owner="S. Okafor",
            )
            for k, v in overrides.items():
                setattr(c, k, v)
            c.expiry = c.end
            self._pay_evenly(c, 0.6)
            contracts.append(c)
            self.kelder[ref] = c
            self.plant(code, expected, reg, what, contract_ref=ref)
        bad = Contract(
            "KVC/PDQ",
            "Roof repairs",
            self.named("Slate Roofing Services Ltd", "07709999"),
            date(2026, 5, 1),
            date(2025, 5, 1),
            30000,
            CATEGORIES[1],
            "Place",
            review=date(2026, 1, 1),
            owner="A. Nowak",
        )
        contracts.append(bad)
        self.plant("DQ", True, reg, "start date after end date", contract_ref=bad.ref)

        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "Contracts"
        ws.append(["Kelder Valley Council"])
        ws.append(
            ["Contracts Register – published under the Local Government Transparency Code 2015"]
        )
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
        _write_book(book, root / "kelder/contract-register/contracts-register-2026-q3.xlsx")

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
        payments += self._sundry(int(300_000 * self.scale), ad_hoc)
        payments += [(m + timedelta(days=4), 2100.0, meridian) for m in self.months]
        self.plant(
            "SC04",
            True,
            src,
            "all of Meridian's public income in the sample comes from Kelder (dependency 1.0)",
            supplier="Meridian Facilities Management Ltd",
        )
        ref = 31589000
        for i, m in enumerate(self.months):
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
                        f"INV{self.rng.randrange(10000, 99999)}",
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
                if self.rng.random() < 0.02:  # a refund
                    rows.append([*rows[-1][:5], f"-{amount / 4:.2f}", *rows[-1][6:]])
            if i == 9:
                repeated = len(rows) // 6
                for r in rows[1 : 1 + repeated]:
                    r[5] = "1250.00"
                self.plant(
                    "DQ",
                    True,
                    src,
                    "one amount (1,250.00) repeated in more than 10% of the month's rows",
                    file=f"kelder/spend/{m:%Y-%m}.csv",
                )
            _write(root / f"kelder/spend/{m:%Y-%m}.csv", _csv_text(rows).encode())

    # ---------- Ashby MDC: cp1252 register; Bradford's spend as zip and workbook ----------
    def write_ashby(self, root: Path) -> None:
        import openpyxl

        contractors, ad_hoc = self._council_pools(2)
        contracts = self._background_contracts(
            "ASH-", max(20, int(15000 * self.scale)), contractors
        )
        early = Contract(
            "ASH-PDQ",
            "Café concession – Ashby Park",
            self.rng.choice(self.suppliers),
            date(1985, 4, 1),
            date(2026, 12, 31),
            12000,
            CATEGORIES[5],
            "Leisure",
            review=date(2026, 10, 1),
            owner="M. Hughes",
        )
        contracts.append(early)
        self.plant(
            "DQ",
            True,
            "ashby-register",
            "start date 1985: outside 1990-2050",
            contract_ref=early.ref,
        )
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
        _write(
            root / "ashby/contract-register/register.csv", _csv_text(rows, "\r\n").encode("cp1252")
        )

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
        payments += self._sundry(int(300_000 * self.scale), ad_hoc)

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
                        self.rng.choice(["Access & Inclusion", "Highways", "Libraries"]),
                        str(6000 + k % 300),
                        self.rng.choice(EXPENSE_TYPES),
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
            for m in self.months[:12]:  # fixed entry times: the same sample gives the same bytes
                if m == date(2025, 2, 1):
                    continue  # a month never published
                archive.writestr(
                    zipfile.ZipInfo(f"ashby-spend-{m:%Y-%m}.csv", (2026, 10, 1, 0, 0, 0)),
                    _csv_text([header, *month_rows(m)]).encode("cp1252"),
                    compress_type=zipfile.ZIP_DEFLATED,
                )
        _write(root / "ashby/spend/ashby-spend-2024-25.zip", buffer.getvalue())
        self.plant(
            "DQ",
            True,
            "ashby-spend",
            "February 2025 is missing from the monthly series",
            missing_months="2025-02",
        )
        book = openpyxl.Workbook()
        book.remove(book.active)
        for m in self.months[12:]:
            ws = book.create_sheet(f"{m:%b %Y}")
            ws.append(header)
            for r in month_rows(m):
                r[6] = float(
                    r[6].strip().replace("£", "").replace(",", "").replace("(", "-").rstrip(")")
                )
                ws.append(r)
        _write_book(book, root / "ashby/spend/ashby-spend-2025-26.xlsx")
        _write(
            root / "ashby/spend/ashby-spend-2026-10.csv",
            b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
            b"<body><h1>Service Unavailable</h1></body></html>\n",
        )
        self.plant(
            "FILE",
            True,
            "ashby-spend",
            "an HTML error page saved as CSV: recorded as "
            "failed with its error, the other files load",
            file="ashby/spend/ashby-spend-2026-10.csv",
        )

    # ---------- Department for Regional Resilience: spend over £25k ----------
    def write_drr(self, root: Path) -> None:
        src = "drr-spend"
        big = self.named("Northgate Security Services Ltd", "03958211")
        others = self.rng.sample(self.suppliers, 12)
        tx = 10004000
        for i, m in enumerate(self.months):
            share = 0.45 if i < 12 else 0.65  # concentration rises in the second year
            n = max(6, int(40_000 * self.scale / MONTHS))
            lines = []
            for _ in range(n):
                s = big if self.rng.random() < share else self.rng.choice(others)
                lines.append(
                    (
                        m + timedelta(days=self.rng.randrange(0, 27)),
                        round(self.rng.uniform(25000, 120000), 2),
                        s,
                    )
                )
            lines.sort(key=lambda p: p[0])
            long_dates, index = i >= 18, i >= 18
            header = [
                "Departmental Family",
                "Entity",
                "Date",
                "Expense Type",
                "Expense Area",
                "Supplier",
                "Transaction number",
                "Amount",
            ]
            rows = [(["#"] if index else []) + header]
            for k, (d, a, s) in enumerate(lines):
                tx += 1
                when = f"{d:%A, %B} {d.day}, {d.year}" if long_dates else d.isoformat()
                parts = [a] if k != 2 else [round(a * 0.4, 2), round(a * 0.6, 2)]
                for amount in parts:  # one invoice paid in two lines: same transaction number
                    rows.append(
                        ([str(len(rows))] if index else [])
                        + [
                            "DRR",
                            "DEPARTMENT FOR REGIONAL RESILIENCE",
                            when,
                            "EXP - PURCHASE OF GOODS/SERVICES - "
                            + self.rng.choice(
                                ["CONSULTANCY", "FACILITIES", "SECURITY", "OTHER ICT COSTS"]
                            ),
                            self.rng.choice(["CORPORATE SERVICES", "RESILIENCE PROGRAMME"]),
                            s.name.upper().replace("LIMITED", "LTD"),
                            str(tx),
                            f"{amount:.2f}",
                        ]
                    )
            if index:
                rows += [[str(len(rows) + j)] + [""] * 8 for j in range(2)]
            text = _csv_text(rows, "\r\n" if i < 6 else "\n")
            if i == 1:
                text = text.replace("CORPORATE SERVICES", "CORPORATE SERVICES – HQ", 3)
            _write(
                root / f"drr/spend-over-25k/{m:%Y-%m}.csv",
                text.encode("cp1252" if i < 6 else "utf-8"),
            )
        self.plant(
            "SC01",
            True,
            src,
            "one supplier takes about 45% of spend in 2024-25 (HHI about 2,100: moderate) "
            "and 65% later (HHI above 2,500: high)",
            supplier="Northgate Security Services Ltd",
        )
        self.plant(
            "SC06",
            True,
            src,
            "HHI and CR3 rise from the first year to the second",
            supplier="Northgate Security Services Ltd",
        )
        self.plant(
            "DQ",
            True,
            src,
            "one transaction number on two lines each month; the "
            "invoice must be summed before any £25k threshold check",
        )
        self.plant(
            "FILE",
            True,
            src,
            "index-only rows at the end of the '#' months: "
            "quarantined as empty, never silently dropped",
        )

    # ---------- Notices (OCDS): Find a Tender for DRR, and Kelder's own notices ----------
    def write_notices(self, root: Path) -> None:
        """Procurement Act 2023 style notices: awards with KPIs, performance ratings, changes
        with and without a change notice, an extension and a termination."""
        drr = {"id": "GB-GOR-DRR", "name": "Department for Regional Resilience"}
        northgate = self.named("Northgate Security Services Ltd", "03958211")
        early: list[dict] = []
        late: list[dict] = []
        src = "drr-notices"

        def release(ocid: str, n: int, when: date, tag: str, **body: object) -> dict:
            out = {
                "ocid": ocid,
                "id": f"{ocid}-{n:02d}",
                "date": f"{when.isoformat()}T09:00:00Z",
                "tag": [tag],
                "initiationType": "tender",
                "buyer": drr,
                "parties": [{**drr, "roles": ["buyer"]}],
                **body,
            }
            (early if when <= date(2025, 3, 31) else late).append(out)
            return out

        def award(
            ocid: str,
            title: str,
            supplier: Supplier,
            value: float,
            start: date,
            end: date,
            cpv: tuple[str, str],
            **contract: object,
        ) -> dict:
            party = {
                "id": f"GB-COH-{supplier.company_number}",
                "name": supplier.name,
                "roles": ["supplier"],
                "identifier": {"scheme": "GB-COH", "id": supplier.company_number},
                "details": {"scale": "large"},
            }
            return {
                "tender": {
                    "id": ocid.split("-")[-1],
                    "title": title,
                    "description": f"{title} &amp; associated services for the "
                    "&lt;b&gt;Department&lt;/b&gt;",
                    "procurementMethodDetails": "Open procedure",
                    "classification": {"scheme": "CPV", "id": cpv[0], "description": cpv[1]},
                },
                "parties": [{**drr, "roles": ["buyer"]}, party],
                "awards": [
                    {
                        "id": "1",
                        "title": title,
                        "status": "active",
                        "date": f"{start - timedelta(days=20)}T00:00:00Z",
                        "value": {"amount": value, "currency": "GBP"},
                        "suppliers": [{"id": party["id"], "name": supplier.name}],
                        "contractPeriod": {
                            "startDate": f"{start}T00:00:00Z",
                            "endDate": f"{end}T23:59:59Z",
                        },
                    }
                ],
                "contracts": [
                    {
                        "id": "1",
                        "awardID": "1",
                        "status": "active",
                        "dateSigned": f"{start - timedelta(days=5)}T00:00:00Z",
                        "value": {"amount": value, "currency": "GBP"},
                        "period": {
                            "startDate": f"{start}T00:00:00Z",
                            "endDate": f"{end}T23:59:59Z",
                        },
                        **contract,
                    }
                ],
            }

        def kpis(*titles: str) -> list[dict]:
            return [{"id": f"KPI-{i}", "title": t} for i, t in enumerate(titles, start=1)]

        def rating(kpi: str, measure: str, end: date) -> dict:
            return {
                "implementation": {
                    "metrics": [
                        {
                            "id": kpi,
                            "observations": [
                                {
                                    "id": f"{kpi}-{end}",
                                    "measure": measure,
                                    "period": {
                                        "startDate": f"{end - timedelta(days=90)}T00:00:00Z",
                                        "endDate": f"{end}T00:00:00Z",
                                    },
                                }
                            ],
                        }
                    ]
                }
            }

        a = "ocds-drr001-000101"
        release(
            a,
            1,
            date(2024, 11, 1),
            "tender",
            tender={"id": "000101", "title": "Regional resilience hubs", "status": "active"},
        )
        body = award(
            a,
            "Regional resilience hubs",
            northgate,
            24_000_000,
            date(2025, 2, 1),
            date(2028, 1, 31),
            ("75222000", "Civil defence services"),
            agreedMetrics=kpis("Hub availability", "Response time", "Staff vetting"),
        )
        body["contracts"][0]["period"]["maxExtentDate"] = "2029-01-31T23:59:59Z"
        release(a, 2, date(2025, 1, 15), "tender", **body)  # tagged tender, carries the award
        release(
            a,
            3,
            date(2025, 7, 31),
            "contractImplementation",
            contracts=[{"id": "1", **rating("KPI-1", "Good", date(2025, 6, 30))}],
        )
        release(
            a,
            4,
            date(2026, 1, 31),
            "contractImplementation",
            contracts=[{"id": "1", **rating("KPI-2", "Requires improvement", date(2025, 12, 31))}],
        )
        release(
            a,
            5,
            date(2026, 3, 2),
            "contractAmendment",
            contracts=[
                {
                    "id": "1",
                    "value": {"amount": 25_800_000, "currency": "GBP"},
                    "amendments": [
                        {
                            "id": "CHG-1",
                            "date": "2026-03-01T00:00:00Z",
                            "rationale": "Two additional hubs (7.5%, within tolerance)",
                        }
                    ],
                }
            ],
        )
        self.plant("OV04", False, src, "over £5m with 3 KPIs", ocid=a)
        self.plant("OV05", False, src, "rated 2026-01-31, within 12 months", ocid=a)
        self.plant("OV06", True, src, "latest rating 'Requires improvement'", ocid=a)
        self.plant("OV10", False, src, "value up 7.5% with a change notice", ocid=a)

        b = "ocds-drr001-000102"
        release(
            b,
            1,
            date(2025, 2, 10),
            "award",
            **award(
                b,
                "Emergency stockpile logistics",
                self.named("Westfield Transport Limited", "05123987"),
                6_000_000,
                date(2025, 3, 1),
                date(2027, 2, 28),
                ("63120000", "Storage and warehousing services"),
                agreedMetrics=kpis("Stock accuracy", "Dispatch time"),
            ),
        )
        release(
            b,
            2,
            date(2025, 3, 31),
            "contractImplementation",
            contracts=[{"id": "1", **rating("KPI-1", "Good", date(2025, 3, 31))}],
        )
        self.plant("OV04", True, src, "over £5m with only 2 KPIs", ocid=b)
        self.plant("OV05", True, src, "last rated 2025-03-31: over 12 months before as-of", ocid=b)
        self.plant("OV06", False, src, "latest rating 'Good'", ocid=b)

        c = "ocds-drr001-000103"
        release(
            c,
            1,
            date(2024, 12, 2),
            "award",
            **award(
                c,
                "Flood modelling services",
                self.named("Silverdale Consulting LLP", "OC412345"),
                900_000,
                date(2025, 1, 6),
                date(2026, 12, 31),
                ("71351000", "Geological services"),
            ),
        )
        release(
            c,
            2,
            date(2025, 10, 15),
            "contract",
            contracts=[{"id": "1", "value": {"amount": 1_100_000, "currency": "GBP"}}],
        )
        self.plant(
            "OV10",
            True,
            src,
            "value up 22% between releases with no change notice",
            ocid=c,
            value_before=900000.0,
            value_after=1100000.0,
        )

        d = "ocds-drr001-000104"
        release(
            d,
            1,
            date(2025, 1, 20),
            "award",
            **award(
                d,
                "Resilience training platform",
                self.named("Beacon IT Solutions Ltd", "07711223"),
                400_000,
                date(2025, 2, 1),
                date(2025, 12, 31),
                ("80500000", "Training services"),
            ),
        )
        release(
            d,
            2,
            date(2025, 11, 20),
            "contractAmendment",
            contracts=[
                {
                    "id": "1",
                    "period": {"endDate": "2026-12-31T23:59:59Z"},
                    "amendments": [
                        {
                            "id": "EXT-1",
                            "date": "2025-11-19T00:00:00Z",
                            "rationale": "Option to extend by 12 months taken",
                        }
                    ],
                }
            ],
        )
        self.plant(
            "EVENT",
            True,
            src,
            "an extension: end 2025-12-31 -> 2026-12-31, value unchanged",
            ocid=d,
        )

        e = "ocds-drr001-000105"
        release(
            e,
            1,
            date(2025, 3, 3),
            "award",
            **award(
                e,
                "Translation and interpreting",
                self.named("Larkspur Training Ltd", "06655443"),
                200_000,
                date(2025, 4, 1),
                date(2027, 3, 31),
                ("79530000", "Translation services"),
            ),
        )
        release(
            e,
            2,
            date(2025, 12, 5),
            "contractTermination",
            contracts=[
                {
                    "id": "1",
                    "status": "terminated",
                    "statusDetails": "Ended early by agreement",
                    "period": {"endDate": "2025-11-30T23:59:59Z"},
                }
            ],
        )
        self.plant("EVENT", True, src, "a termination dated 2025-11-30", ocid=e)

        package = {
            "uri": "https://example.org/drr/releases",
            "version": "1.1",
            "publishedDate": "2025-04-01T00:00:00Z",
            "publisher": {"name": "Department for Regional Resilience"},
            "license": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            "releases": early,
        }
        _write(
            root / "drr/notices/2024-25-releases.json",
            json.dumps(package, indent=1, ensure_ascii=False).encode(),
        )
        _write(
            root / "drr/notices/2025-26-releases.jsonl",
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in late).encode(),
        )

        # Kelder publishes two of its register contracts as notices too: one with the same
        # reference, one recognisable only by supplier, value and dates.
        kelder = {"id": "GB-KVC", "name": "Kelder Valley Council"}
        records = []
        for n, (ref, reference) in enumerate((("KVC/P01", "KVC/P01"), ("KVC/P03", "FT-2024-0117"))):
            contract = self.kelder[ref]
            ocid = f"ocds-kvc001-{n + 1:06d}"
            body = award(
                ocid,
                contract.title,
                contract.supplier,
                contract.total_value,
                contract.start,
                contract.end,
                ("55524000", "School catering services"),
            )
            body["tender"]["id"] = reference
            body["parties"][0] = {**kelder, "roles": ["buyer"]}
            rel = {
                "ocid": ocid,
                "id": f"{ocid}-01",
                "date": f"{contract.start}T00:00:00Z",
                "tag": ["award"],
                "buyer": kelder,
                **body,
            }
            records.append({"ocid": ocid, "releases": [rel], "compiledRecord": rel})
            self.plant(
                "MATCH",
                True,
                "kelder-notices",
                "the notice is the register's contract "
                f"({'same reference' if ref == reference else 'supplier, value, dates'})",
                ocid=ocid,
                contract_ref=ref,
            )
        _write(
            root / "kelder/notices/fts-records.json",
            json.dumps(
                {"version": "1.1", "publishedDate": "2024-04-01T00:00:00Z", "records": records},
                indent=1,
            ).encode(),
        )

    def write(self, root: Path) -> None:
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        self.write_northmoor(root)
        self.write_kelder(root)
        self.write_ashby(root)
        self.write_drr(root)
        self.write_notices(root)
        doc = {
            "as_of": AS_OF.isoformat(),
            "scale": self.scale,
            "seed": SEED,
            "note": "Cases planted by oversight.sample.generator; expected is true (flag), "
            "false (clean twin) or null (unknown: the data cannot say).",
            "cases": self.planted,
        }
        (root / "planted.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=100))


def _csv_text(rows: list[list[str]], newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_book(book: object, path: Path) -> None:
    """Save a workbook with fixed timestamps so the same sample gives the same bytes."""
    from datetime import datetime

    book.properties.created = datetime(2026, 10, 1)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    book.save(buffer)  # type: ignore[attr-defined]
    # Zip entries carry the current time; rewrite them with a fixed one.
    src = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    fixed = io.BytesIO()
    with zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            info.date_time = (2026, 10, 1, 0, 0, 0)
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-10-01T00:00:00Z", content
                )
            dst.writestr(info, content)
    path.write_bytes(fixed.getvalue())


def generate(out: Path | None = None, scale: float = SAMPLE_SCALE) -> Path:
    """Write the sample (default: the project's `data/raw/`); returns the folder."""
    out = out or settings.PROJECT_ROOT / "data" / "raw"
    Sample(scale).write(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder (default data/raw)")
    parser.add_argument(
        "--scale",
        type=float,
        default=SAMPLE_SCALE,
        help="1 = about 1.4M payment lines and 50k contracts (default 0.01)",
    )
    args = parser.parse_args(argv)
    print(f"sample written to {generate(args.out, args.scale)}")


if __name__ == "__main__":
    main()
