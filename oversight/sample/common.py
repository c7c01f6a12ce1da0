"""Shared pieces of the sample generator: the calendar, the record types, the word lists and the
file writers.

Writes nothing by itself. It holds the sample's fixed dates (first month, as-of date, seed and
default scale), the `Supplier` and `Contract` records every publisher module fills, the word
lists that random names, departments and expense types are drawn from, and the helpers that turn
rows into CSV text and write files and workbooks with fixed timestamps (so that the same sample
always gives the same bytes).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

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


# A spend line: payment date, amount, payee.
Payment = tuple[date, float, Supplier]

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


def named(name: str, number: str | None, charity: str | None = None) -> Supplier:
    """A supplier of a planted case, spelled as given."""
    return Supplier(name, number, charity, True, "M5 4WT")


def csv_text(rows: list[list[str]], newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue()


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_book(book: object, path: Path) -> None:
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
