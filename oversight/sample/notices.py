"""Procurement notices in OCDS: DRR's releases from Find a Tender, and Kelder's own records.

Writes `drr/notices/2024-25-releases.json` (a release package) and
`drr/notices/2025-26-releases.jsonl` (one release a line): Procurement Act 2023 style notices,
with awards carrying KPIs, performance ratings, a value change with and without a change notice,
an extension and a termination, and HTML entities in descriptions. Also writes
`kelder/notices/fts-records.json` (a record package) with two of Kelder's register contracts, one
under the register's reference and one findable only by supplier, value and dates. Every notice
here is part of a planted case (`planted.CASES`, sources `drr-notices` and `kelder-notices`).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from oversight.sample.common import Contract, Supplier, named, write_file
from oversight.sample.pools import Builder

DRR = {"id": "GB-GOR-DRR", "name": "Department for Regional Resilience"}


def write(sample: Builder, root: Path) -> None:
    """DRR's notices, then Kelder's."""
    _write_drr(root)
    _write_kelder(sample.kelder, root)


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
        "parties": [{**DRR, "roles": ["buyer"]}, party],
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


def _write_drr(root: Path) -> None:
    """Procurement Act 2023 style notices: awards with KPIs, performance ratings, changes
    with and without a change notice, an extension and a termination."""
    northgate = named("Northgate Security Services Ltd", "03958211")
    early: list[dict] = []
    late: list[dict] = []

    def release(ocid: str, n: int, when: date, tag: str, **body: object) -> dict:
        out = {
            "ocid": ocid,
            "id": f"{ocid}-{n:02d}",
            "date": f"{when.isoformat()}T09:00:00Z",
            "tag": [tag],
            "initiationType": "tender",
            "buyer": DRR,
            "parties": [{**DRR, "roles": ["buyer"]}],
            **body,
        }
        (early if when <= date(2025, 3, 31) else late).append(out)
        return out

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

    b = "ocds-drr001-000102"
    release(
        b,
        1,
        date(2025, 2, 10),
        "award",
        **award(
            b,
            "Emergency stockpile logistics",
            named("Westfield Transport Limited", "05123987"),
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

    c = "ocds-drr001-000103"
    release(
        c,
        1,
        date(2024, 12, 2),
        "award",
        **award(
            c,
            "Flood modelling services",
            named("Silverdale Consulting LLP", "OC412345"),
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

    d = "ocds-drr001-000104"
    release(
        d,
        1,
        date(2025, 1, 20),
        "award",
        **award(
            d,
            "Resilience training platform",
            named("Beacon IT Solutions Ltd", "07711223"),
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

    e = "ocds-drr001-000105"
    release(
        e,
        1,
        date(2025, 3, 3),
        "award",
        **award(
            e,
            "Translation and interpreting",
            named("Larkspur Training Ltd", "06655443"),
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

    package = {
        "uri": "https://example.org/drr/releases",
        "version": "1.1",
        "publishedDate": "2025-04-01T00:00:00Z",
        "publisher": {"name": "Department for Regional Resilience"},
        "license": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        "releases": early,
    }
    write_file(
        root / "drr/notices/2024-25-releases.json",
        json.dumps(package, indent=1, ensure_ascii=False).encode(),
    )
    write_file(
        root / "drr/notices/2025-26-releases.jsonl",
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in late).encode(),
    )


def _write_kelder(kelder_contracts: dict[str, Contract], root: Path) -> None:
    """Kelder publishes two of its register contracts as notices too: one with the same
    reference, one recognisable only by supplier, value and dates."""
    kelder = {"id": "GB-KVC", "name": "Kelder Valley Council"}
    records = []
    for n, (ref, reference) in enumerate((("KVC/P01", "KVC/P01"), ("KVC/P03", "FT-2024-0117"))):
        contract = kelder_contracts[ref]
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
    write_file(
        root / "kelder/notices/fts-records.json",
        json.dumps(
            {"version": "1.1", "publishedDate": "2024-04-01T00:00:00Z", "records": records},
            indent=1,
        ).encode(),
    )
