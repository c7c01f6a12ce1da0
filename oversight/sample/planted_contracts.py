"""The register contracts and payments behind the planted cases.

Writes nothing by itself: it builds the contracts (with their payments) that the planted cases
in `planted.CASES` are about, for the publisher modules to write into their registers and spend
files. Northmoor's register gets contracts paid after expiry, over their value, after their end,
with '-' for a value or no registration number, and its spend file the payments with no contract
behind them; Kelder's register gets contracts with no or a passed review date, no owner, an end
within the year or on the as-of date, and one that starts after it ends; Ashby's register one that
starts in 1985. Some of these draw from the sample's random stream, so each is called at the point
of its publisher's build where it has always been.
"""

from __future__ import annotations

from datetime import date, timedelta

from oversight.sample.common import AS_OF, CATEGORIES, Contract, Payment, Supplier, named
from oversight.sample.pools import Builder

MERIDIAN = ("Meridian Facilities Management Ltd", "04455667")


def northmoor(sample: Builder) -> list[Contract]:
    """Northmoor's planted register contracts, with their payments."""
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

    hollins = named("Hollins Landscapes Ltd", "07654321")
    c = add(
        "NCC-P07A",
        "Grounds maintenance north",
        hollins,
        date(2023, 7, 1),
        date(2025, 6, 30),
        120000,
    )
    sample.pay_evenly(c, 0.9)
    c.payments += [
        (date(2025, 11, 14), 4800.0),
        (date(2025, 12, 12), 4800.0),
        (date(2026, 1, 16), 5100.0),
    ]
    c = add(
        "NCC-P07B",
        "Street cleansing",
        named("Redbrook Cleaning Limited", "04511230"),
        date(2023, 4, 1),
        date(2025, 3, 31),
        96000,
        expiry=date(2026, 3, 31),
    )
    sample.pay_evenly(c, 0.85)
    c = add(
        "NCC-P07C",
        "Bridge inspections",
        named("Stonebridge Surveying LLP", "OC301122"),
        date(2024, 1, 1),
        date(2025, 12, 31),
        60000,
    )
    sample.pay_evenly(c, 0.8)
    c.payments.append((date(2026, 3, 31), 2500.0))
    c = add(
        "NCC-P08A",
        "Agency social workers",
        named("Kestrel Recruitment Ltd", "09876543"),
        date(2024, 10, 1),
        date(2026, 12, 31),
        50000,
    )
    for m in sample.months[:20]:
        c.payments.append((m + timedelta(days=9), 3050.0))
    c = add(
        "NCC-P08B",
        "Pest control",
        named("Oakfield Pest Control Ltd", "05566778"),
        date(2024, 10, 1),
        date(2026, 12, 31),
        80000,
    )
    for m in sample.months[:18]:
        c.payments.append((m + timedelta(days=11), 4000.0))
    c = add(
        "NCC-P08C",
        "Tree surgery",
        named("Whitmore Arboriculture Ltd", "03322110"),
        date(2024, 10, 1),
        date(2026, 12, 31),
        40000,
    )
    for m in sample.months[:11]:
        c.payments.append((m + timedelta(days=5), 4000.0))
    c = add(
        "NCC-P09A",
        "Library self-service kiosks",
        named("Millbrook IT Solutions Ltd", "08123456"),
        date(2023, 7, 1),
        date(2026, 6, 30),
        90000,
    )
    sample.pay_evenly(c, 0.85, until=date(2026, 9, 20))
    c = add(
        "NCC-P13A",
        "Community transport",
        named("Fairhaven Transport Ltd", "06677889"),
        date(2025, 4, 1),
        date(2027, 3, 31),
        0,
        value_text="-",
    )
    c = add(
        "NCC-P14A",
        "Youth outreach",
        Supplier("Larkspur Youth Projects", None),
        date(2025, 6, 1),
        date(2027, 5, 31),
        45000,
    )
    sample.pay_evenly(c, 0.5)
    c = add(
        "NCC-P01U",
        "Highway drainage",
        named("Granite Highways Ltd", "02535986"),
        date(2025, 1, 1),
        date(2027, 12, 31),
        250000,
        company_text="2535986",
    )
    sample.pay_evenly(c, 0.8)
    return planted


def northmoor_sundry() -> list[Payment]:
    """Northmoor's payments to suppliers with no contract: one pair over the OV12 threshold in
    2025-26, one under it."""
    brightwater = named("Brightwater Consulting Ltd", "10293847")
    pennine = named("Pennine Catering Supplies", "11223344")
    return [
        (date(2025, 5, 12), 3200.0, brightwater),
        (date(2025, 8, 11), 3200.0, brightwater),
        (date(2025, 11, 10), 3200.0, brightwater),
        (date(2026, 2, 9), 3200.0, brightwater),
        (date(2025, 6, 3), 900.0, pennine),
        (date(2025, 9, 2), 900.0, pennine),
        (date(2026, 1, 6), 900.0, pennine),
    ]


# Kelder's planted contracts: reference, title and what differs from the template contract.
KELDER: list[tuple[str, str, dict[str, object]]] = [
    ("KVC/P01", "Home care framework", dict(review=None)),
    ("KVC/P02", "Leisure centre management", dict(review=date(2026, 3, 31))),
    ("KVC/P02T", "Parks maintenance", dict(review=AS_OF)),
    ("KVC/P03", "School meals", dict(owner=None)),
    ("KVC/P03C", "Fleet servicing", dict(owner="R. Whitfield")),
    ("KVC/P11", "Waste collection", dict(end=date(2027, 3, 31))),
    ("KVC/PEND", "CCTV monitoring", dict(end=AS_OF)),
]


def kelder(sample: Builder) -> list[Contract]:
    """Kelder's planted register contracts, with their payments (kept in `sample.kelder` for
    its notices), then one that starts after it ends."""
    meridian = named(*MERIDIAN)
    contracts = []
    for ref, title, overrides in KELDER:
        c = Contract(
            ref,
            title,
            meridian
            if ref == "KVC/P03"
            else named(
                f"{ref[4:]} {title.split()[0]} Services Ltd", f"0770{len(sample.kelder):04d}"
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
        sample.pay_evenly(c, 0.6)
        contracts.append(c)
        sample.kelder[ref] = c
    bad = Contract(
        "KVC/PDQ",
        "Roof repairs",
        named("Slate Roofing Services Ltd", "07709999"),
        date(2026, 5, 1),
        date(2025, 5, 1),
        30000,
        CATEGORIES[1],
        "Place",
        review=date(2026, 1, 1),
        owner="A. Nowak",
    )
    contracts.append(bad)
    return contracts


def kelder_meridian_payments(months: list[date]) -> list[Payment]:
    """Kelder's monthly payments to Meridian, its only payer in the sample (SC04)."""
    meridian = named(*MERIDIAN)
    return [(m + timedelta(days=4), 2100.0, meridian) for m in months]


def ashby(sample: Builder) -> Contract:
    """Ashby's register contract that starts in 1985 (a random background supplier)."""
    return Contract(
        "ASH-PDQ",
        "Café concession – Ashby Park",
        sample.rng.choice(sample.suppliers),
        date(1985, 4, 1),
        date(2026, 12, 31),
        12000,
        CATEGORIES[5],
        "Leisure",
        review=date(2026, 10, 1),
        owner="M. Hughes",
    )
