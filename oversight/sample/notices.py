"""Procurement notices in OCDS: DRR's releases from Find a Tender, and Kelder's own records.

DRR's releases are written by `drr_notices` (Find a Tender's Procurement Act shapes); the
shapes of before the Act (`award`, `kpis`, `rating`) are here. Writes
`kelder/notices/fts-records.json` (a record package) with two of Kelder's register contracts, one
under the register's reference and one findable only by supplier, value and dates. Every notice
here is part of a planted case (`planted.CASES`, sources `drr-notices` and `kelder-notices`).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from oversight.sample import drr_notices
from oversight.sample.common import Contract, Supplier, write_file
from oversight.sample.drr_notices import DRR
from oversight.sample.pools import Builder


def write(sample: Builder, root: Path) -> None:
    """DRR's notices, then Kelder's."""
    drr_notices.write(root)
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
