"""DRR's notices as Find a Tender publishes them under the Procurement Act 2023.

Writes `drr/notices/2024-25-releases.json` and `drr/notices/2026-27-releases.json` (release
packages declaring the UK, metrics, performance failures and contract completion extensions) and
`drr/notices/2025-26-releases.jsonl` (the year's releases one a line, no package), each release
in the file of the financial year of its date. One procurement (000101) commenced before the Act
(24 February 2025) and keeps the shapes of then: no notice types, ratings as free text, a
release tagged `tender` that carries the award. Every other procurement is a run of Procurement
Act notices, each a release whose document names its notice type (`Document.noticeType`): UK1 to
UK3 in `planning.documents`, UK4 in `tender.documents`, UK6 in `awards[].documents`, UK7, UK10 and
UK11 in `contracts[].documents`, UK9 in `contracts[].implementation.documents`; KPIs as
`agreedMetrics`, UK9 ratings as `measureClassification`, performance failures with a
`penaltyValue`, UK10 `amendments` with `rationaleClassifications`, UK11
`terminationRationaleClassifications`, and the payments over £30,000 that s70 has published as
`implementation.transactions`. Descriptions carry HTML entities, as Find a Tender's do.

Each procurement is a planted case or its clean twin (`planted.CASES`, source `drr-notices`);
the DRR payments that the s70 cases need (`S70_PAYMENTS`) are written into DRR's spend by `drr`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from oversight.sample.common import Supplier, named, write_file

DRR = {"id": "GB-GOR-DRR", "name": "Department for Regional Resilience"}
FTS_NOTICE = "https://www.find-tender.service.gov.uk/Notice/"
EXTENSIONS = [
    "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/"
    "master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_performance_failures_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_contract_completion_extension/master/extension.json",
]
# noticeType -> (documentType, release tag, what the notice is)
NOTICES = {
    "UK1": ("plannedProcurementNotice", "planning", "Pipeline notice"),
    "UK2": ("marketEngagementNotice", "planning", "Preliminary market engagement notice"),
    "UK3": ("plannedProcurementNotice", "planning", "Planned procurement notice"),
    "UK4": ("tenderNotice", "tender", "Tender notice"),
    "UK6": ("awardNotice", "award", "Contract award notice"),
    "UK7": ("contractNotice", "contract", "Contract details notice"),
    "UK9": ("implementationNotice", "implementation", "Contract performance notice"),
    "UK10": ("contractAmendmentNotice", "contractAmendment", "Contract change notice"),
    "UK11": ("contractTerminationNotice", "contractTermination", "Contract termination notice"),
}
# The suppliers of the s70 cases, and DRR's payments to them (date, amount): the spend file
# prints them (`drr`), the notices publish some of them as transactions.
FELLSIDE = named("Fellside Software Ltd", "12345098")
GLENTHORNE = named("Glenthorne Media Ltd", "13579246")
S70_PAYMENTS: list[tuple[date, float, Supplier]] = [
    (date(2026, 5, 18), 48250.00, FELLSIDE),  # published 2026-07-14: on time
    (date(2026, 6, 15), 52400.40, FELLSIDE),  # published as 52,400.00 (within £1), on time
    (date(2026, 6, 29), 30000.00, FELLSIDE),  # exactly £30,000: not over, never published
    (date(2026, 5, 26), 36900.00, GLENTHORNE),  # published 2026-08-14: after 30 July
    (date(2026, 6, 22), 41750.00, GLENTHORNE),  # never published
]


def _stamp(day: date, end: bool = False) -> str:
    return f"{day}T23:59:59Z" if end else f"{day}T00:00:00Z"


def _money(amount: float) -> dict:
    return {"amount": amount, "currency": "GBP"}


class Notices:
    """DRR's releases, numbered per procurement, with Find a Tender notice numbers."""

    def __init__(self) -> None:
        self.releases: list[dict] = []
        self.serial = 0

    def document(self, notice: str, when: date) -> dict:
        self.serial += 1
        number = f"{when.year % 100:02d}{4100 + self.serial:04d}-{when.year}"
        document_type, _, title = NOTICES[notice]
        return {
            "id": number,
            "documentType": document_type,
            "noticeType": notice,
            "title": title,
            "url": FTS_NOTICE + number,
            "datePublished": f"{when}T09:00:00Z",
            "format": "text/html",
            "language": "en",
        }

    def release(self, ocid: str, when: date, tag: str, **body: object) -> dict:
        n = sum(r["ocid"] == ocid for r in self.releases) + 1
        for contract in body.get("contracts", []):  # type: ignore[attr-defined]
            contract.setdefault("awardID", "1")  # required in every release that has it
        out = {
            "ocid": ocid,
            "id": f"{ocid}-{n:02d}",
            "date": f"{when}T09:00:00Z",
            "tag": [tag],
            "initiationType": "tender",
            "buyer": DRR,
            "parties": [{**DRR, "roles": ["buyer"]}],
            **body,
        }
        self.releases.append(out)
        return out

    def notice(self, ocid: str, when: date, notice: str, **body: object) -> dict:
        """A Procurement Act notice: its document where Find a Tender puts it."""
        doc = self.document(notice, when)
        if notice in ("UK1", "UK2", "UK3"):
            body["planning"] = {"documents": [doc]}
        elif notice == "UK4":
            body["tender"]["documents"] = [doc]  # type: ignore[index]
        elif notice == "UK6":
            body["awards"][0]["documents"] = [doc]  # type: ignore[index]
        elif notice == "UK9":
            contract = body["contracts"][0]  # type: ignore[index]
            contract.setdefault("implementation", {})["documents"] = [doc]
        else:
            body["contracts"][0]["documents"] = [doc]  # type: ignore[index]
        return self.release(ocid, when, NOTICES[notice][1], **body)

    def procurement(
        self,
        n: int,
        title: str,
        cpv: tuple[str, str],
        supplier: Supplier,
        value: float,
        period: tuple[date, date],
        dates: tuple[date, date, date],
        tender: dict | None = None,
        contract: dict | None = None,
    ) -> str:
        """UK4 tender, UK6 award and UK7 contract details notices of one procurement; `dates`
        are the three notices' (the award is dated 3 days before its notice, the contract
        signed 4 days before the UK7)."""
        ocid = f"ocds-drr001-{n:06d}"
        tender_on, award_on, contract_on = dates
        start, end = period
        self.notice(
            ocid,
            tender_on,
            "UK4",
            tender={
                "id": f"DRR-{n:06d}",
                "title": title,
                "description": f"{title} &amp; associated services for the "
                "&lt;b&gt;Department&lt;/b&gt;",
                "status": "active",
                "classification": {"scheme": "CPV", "id": cpv[0], "description": cpv[1]},
                "value": _money(value),
                "procurementMethod": "open",
                "procurementMethodDetails": "Open procedure",
                "tenderPeriod": {"endDate": _stamp(tender_on.replace(day=28), end=True)},
                **(tender or {}),
            },
        )
        party = {
            "id": f"GB-COH-{supplier.company_number}",
            "name": supplier.name,
            "roles": ["supplier"],
            "identifier": {"scheme": "GB-COH", "id": supplier.company_number},
            "details": {"scale": "sme"},
        }
        self.notice(
            ocid,
            award_on,
            "UK6",
            parties=[{**DRR, "roles": ["buyer"]}, party],
            awards=[
                {
                    "id": "1",
                    "title": title,
                    "status": "active",
                    "date": _stamp(date.fromordinal(award_on.toordinal() - 3)),
                    "value": _money(value),
                    "suppliers": [{"id": party["id"], "name": supplier.name}],
                    "contractPeriod": {"startDate": _stamp(start), "endDate": _stamp(end, True)},
                }
            ],
        )
        self.notice(
            ocid,
            contract_on,
            "UK7",
            contracts=[
                {
                    "id": "1",
                    "awardID": "1",
                    "title": title,
                    "status": "active",
                    "dateSigned": _stamp(date.fromordinal(contract_on.toordinal() - 4)),
                    "value": _money(value),
                    "period": {"startDate": _stamp(start), "endDate": _stamp(end, True)},
                    **(contract or {}),
                }
            ],
        )
        return ocid

    def rating(self, ocid: str, when: date, kpi: str, code: str, period: tuple[date, date]) -> None:
        """A UK9 contract performance notice: one KPI rated for a period."""
        described = {"met": "Met", "slightlyBelow": "Slightly below", "below": "Below"}
        self.notice(
            ocid,
            when,
            "UK9",
            contracts=[
                {
                    "id": "1",
                    "implementation": {
                        "metrics": [
                            {
                                "id": kpi,
                                "observations": [
                                    {
                                        "id": f"{kpi}-{period[1]}",
                                        "period": {
                                            "startDate": _stamp(period[0]),
                                            "endDate": _stamp(period[1], True),
                                        },
                                        "measureClassification": {
                                            "id": code,
                                            "description": described[code],
                                        },
                                    }
                                ],
                            }
                        ]
                    },
                }
            ],
        )

    def republished(self, ocid: str, when: date, value: float) -> None:
        """The contract details published again with a new value and no change notice: a
        change without a notice (no `amendments` entry)."""
        self.notice(ocid, when, "UK7", contracts=[{"id": "1", "value": _money(value)}])

    def terminated(self, ocid: str, when: date, end: date, reason: tuple[str, str], **more) -> None:
        """A UK11 contract termination notice with its reason."""
        self.notice(
            ocid,
            when,
            "UK11",
            contracts=[
                {
                    "id": "1",
                    "status": "terminated",
                    "period": {"endDate": _stamp(end, True)},
                    "terminationRationaleClassifications": [
                        {
                            "scheme": "UK_TERMINATION_REASON",
                            "id": reason[0],
                            "description": reason[1],
                        }
                    ],
                    **more,
                }
            ],
        )

    def payments(self, ocid: str, when: date, paid: list[tuple[date, float]], payee: Supplier):
        """Payments over £30,000 published (s70) as the contract's transactions."""
        self.release(
            ocid,
            when,
            "implementation",
            contracts=[
                {
                    "id": "1",
                    "implementation": {
                        "transactions": [
                            {
                                "id": f"PAY-{day}",
                                "date": _stamp(day),
                                "value": _money(amount),
                                "payer": {"id": DRR["id"], "name": DRR["name"]},
                                "payee": {
                                    "id": f"GB-COH-{payee.company_number}",
                                    "name": payee.name,
                                },
                            }
                            for day, amount in paid
                        ]
                    },
                }
            ],
        )


def _pre_act(out: Notices) -> None:
    """000101: tendered in November 2024, before the Act; the shapes of then (no notice
    types), its award carried by a release tagged `tender`, ratings as free text, a value
    change with an amendment."""
    from oversight.sample.notices import award, kpis, rating

    a = "ocds-drr001-000101"
    out.release(
        a,
        date(2024, 11, 1),
        "tender",
        tender={"id": "000101", "title": "Regional resilience hubs", "status": "active"},
    )
    body = award(
        a,
        "Regional resilience hubs",
        named("Northgate Security Services Ltd", "03958211"),
        24_000_000,
        date(2025, 2, 1),
        date(2028, 1, 31),
        ("75222000", "Civil defence services"),
        agreedMetrics=kpis("Hub availability", "Response time", "Staff vetting"),
    )
    body["contracts"][0]["period"]["maxExtentDate"] = "2029-01-31T23:59:59Z"
    out.release(a, date(2025, 1, 15), "tender", **body)  # tagged tender, carries the award
    out.release(
        a,
        date(2025, 7, 31),
        "contractImplementation",
        contracts=[{"id": "1", **rating("KPI-1", "Good", date(2025, 6, 30))}],
    )
    out.release(
        a,
        date(2026, 1, 31),
        "contractImplementation",
        contracts=[{"id": "1", **rating("KPI-2", "Requires improvement", date(2025, 12, 31))}],
    )
    out.release(
        a,
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


def _kpis_and_ratings(out: Notices) -> None:
    """s52 KPIs (OV04) and s71 ratings and failures (OV05, OV06) over £5m."""
    three = {
        "agreedMetrics": [
            {"id": "KPI-1", "title": "Availability"},
            {"id": "KPI-2", "title": "Incident response"},
            {"id": "KPI-3", "title": "Security accreditation"},
        ]
    }
    # 000102: two KPIs over £5m (OV04 flagged); live, not rated yet, its first rating due 12
    # months after 1 January 2026 (OV05 not yet due); value up 20% by a UK10 change notice
    # (OV10 not flagged: a change with a notice).
    b = out.procurement(
        102,
        "Emergency stockpile logistics",
        ("63120000", "Storage and warehousing services"),
        named("Westfield Transport Limited", "05123987"),
        6_000_000,
        (date(2025, 8, 1), date(2027, 11, 30)),
        (date(2025, 3, 3), date(2025, 6, 2), date(2025, 7, 14)),
        contract={
            "agreedMetrics": [
                {"id": "KPI-1", "title": "Stock accuracy"},
                {"id": "KPI-2", "title": "Dispatch time"},
            ]
        },
    )
    out.notice(
        b,
        date(2026, 3, 16),
        "UK10",
        contracts=[
            {
                "id": "1",
                "value": _money(7_200_000),
                "amendments": [
                    {
                        "id": "CHG-1",
                        "date": "2026-03-13T00:00:00Z",
                        "description": "Two further regional stockpiles added after the "
                        "winter storms",
                        "rationaleClassifications": [
                            {
                                "scheme": "UK_MODIFICATION_GROUND",
                                "id": "unforeseeableCircumstances",
                                "description": "Circumstances a diligent authority could not "
                                "have foreseen",
                            }
                        ],
                        "value": _money(7_200_000),
                    }
                ],
            }
        ],
    )
    # 000106: three KPIs (OV04 twin), latest rating 'below' (OV06 flagged).
    f = out.procurement(
        106,
        "Regional data hosting",
        ("72317000", "Data storage services"),
        named("Ravensworth Data Centres Ltd", "09876512"),
        12_000_000,
        (date(2025, 7, 1), date(2028, 6, 30)),
        (date(2025, 4, 7), date(2025, 6, 16), date(2025, 7, 1)),
        contract=three,
    )
    out.rating(f, date(2026, 4, 20), "KPI-1", "met", (date(2026, 1, 1), date(2026, 3, 31)))
    out.rating(f, date(2026, 7, 20), "KPI-2", "below", (date(2026, 4, 1), date(2026, 6, 30)))
    # 000107: no KPIs, the reason given (OV04 'no KPIs, reason given'); a performance failure
    # with a penalty (OV06 flagged).
    g = out.procurement(
        107,
        "Resilience helpline",
        ("79512000", "Call centre"),
        named("Dunmore Contact Centres Ltd", "11224466"),
        7_000_000,
        (date(2025, 9, 1), date(2028, 8, 31)),
        (date(2025, 5, 6), date(2025, 7, 7), date(2025, 8, 4)),
        contract={
            "noAgreedMetricsRationale": "Demand is driven by emergencies: call volumes cannot "
            "be forecast, so KPIs would not be an appropriate means of assessing performance "
            "&amp; service levels are managed under the call-off schedule instead."
        },
    )
    out.notice(
        g,
        date(2026, 5, 18),
        "UK9",
        contracts=[
            {
                "id": "1",
                "implementation": {
                    "performanceFailures": [
                        {
                            "id": "PF-1",
                            "requirement": "Answer 95% of calls within 60 seconds",
                            "description": "Calls went unanswered during the March floods "
                            "and the supplier failed to improve after a warning",
                            "decisionDate": "2026-05-12T00:00:00Z",
                            "penaltyDate": "2026-05-12T00:00:00Z",
                            "penaltyType": "contracted",
                            "penaltyValue": _money(45000),
                            "suppliers": [
                                {"id": "GB-COH-11224466", "name": "Dunmore Contact Centres Ltd"}
                            ],
                        }
                    ]
                },
            }
        ],
    )
    # 000108: a light-touch contract over £5m with no KPIs (OV04 'carved out: light touch').
    out.procurement(
        108,
        "Community recovery support",
        ("85320000", "Social services"),
        named("Ashgrove Community Care Ltd", "10293847"),
        8_000_000,
        (date(2025, 10, 1), date(2028, 9, 30)),
        (date(2025, 6, 2), date(2025, 8, 11), date(2025, 9, 1)),
        tender={"specialRegime": ["lightTouch"]},
    )
    # 000109: terminated 2026-05-31 with a reason, last rated to 2026-03-31: no assessment
    # on termination 30 days on (OV05 flagged).
    h = out.procurement(
        109,
        "Emergency accommodation",
        ("98341000", "Accommodation services"),
        named("Kingsmere Housing Services Ltd", "08765431"),
        9_000_000,
        (date(2025, 9, 1), date(2028, 8, 31)),
        (date(2025, 5, 12), date(2025, 7, 21), date(2025, 8, 18)),
        contract=three,
    )
    out.rating(h, date(2026, 4, 27), "KPI-1", "met", (date(2026, 1, 1), date(2026, 3, 31)))
    out.terminated(
        h,
        date(2026, 6, 8),
        date(2026, 5, 31),
        ("convenience", "Requirement transferred to the local resilience forums"),
    )
    # 000110: its twin, terminated 2026-06-30 and rated 'met' to its end (OV05 not flagged;
    # the OV06 twin of 000106).
    k = out.procurement(
        110,
        "Mobile flood barrier maintenance",
        ("50800000", "Miscellaneous repair and maintenance services"),
        named("Brackenfield Flood Defence Ltd", "07345612"),
        6_500_000,
        (date(2025, 9, 1), date(2028, 8, 31)),
        (date(2025, 5, 19), date(2025, 7, 28), date(2025, 8, 26)),
        contract=three,
    )
    out.rating(k, date(2026, 4, 27), "KPI-1", "met", (date(2026, 1, 1), date(2026, 3, 31)))
    out.terminated(
        k,
        date(2026, 7, 6),
        date(2026, 6, 30),
        ("convenience", "Barriers replaced by permanent defences"),
    )
    out.rating(k, date(2026, 7, 20), "KPI-2", "met", (date(2026, 4, 1), date(2026, 6, 30)))


def _changes(out: Notices) -> None:
    """s75 changes (OV10), the extension and the terminated contract the events show."""
    # 000103: value up 22% between releases with no change notice (OV10 flagged).
    c = out.procurement(
        103,
        "Flood modelling services",
        ("71351000", "Geological services"),
        named("Silverdale Consulting LLP", "OC412345"),
        900_000,
        (date(2025, 6, 2), date(2026, 12, 31)),
        (date(2025, 3, 17), date(2025, 5, 12), date(2025, 5, 27)),
    )
    out.republished(c, date(2025, 10, 15), 1_100_000)
    # 000104: tendered on the day the Act commenced; its term more than doubled by a UK10
    # change notice (OV10 not flagged: a change with notice), value unchanged (an extension).
    d = out.procurement(
        104,
        "Resilience training platform",
        ("80500000", "Training services"),
        named("Beacon IT Solutions Ltd", "07711223"),
        400_000,
        (date(2025, 4, 1), date(2025, 12, 31)),
        (date(2025, 2, 24), date(2025, 3, 10), date(2025, 3, 24)),
    )
    out.notice(
        d,
        date(2025, 11, 20),
        "UK10",
        contracts=[
            {
                "id": "1",
                "period": {"endDate": "2026-12-31T23:59:59Z"},
                "amendments": [
                    {
                        "id": "EXT-1",
                        "date": "2025-11-19T00:00:00Z",
                        "description": "Option to extend by 12 months taken",
                        "rationaleClassifications": [
                            {
                                "scheme": "UK_MODIFICATION_GROUND",
                                "id": "provisionedChange",
                                "description": "Change provided for in the contract",
                            }
                        ],
                        "period": {
                            "startDate": "2025-04-01T00:00:00Z",
                            "endDate": "2026-12-31T23:59:59Z",
                        },
                    }
                ],
            }
        ],
    )
    # 000105: terminated 2025-11-30 with a reason, and its completion published.
    e = out.procurement(
        105,
        "Translation and interpreting",
        ("79530000", "Translation services"),
        named("Larkspur Training Ltd", "06655443"),
        200_000,
        (date(2025, 6, 1), date(2027, 5, 31)),
        (date(2025, 2, 27), date(2025, 4, 28), date(2025, 5, 12)),
    )
    out.terminated(
        e,
        date(2025, 12, 5),
        date(2025, 11, 30),
        ("agreement", "Ended early by agreement"),
        implementation={
            "endDate": "2025-11-30T23:59:59Z",
            "finalValue": _money(61_500),
            "finalValueDetails": "Paid for the services delivered to the end of November",
        },
    )
    # 000113: value up 6% with no change notice: within the 10% (OV10 not flagged).
    m = out.procurement(
        113,
        "Satellite communications support",
        ("64200000", "Telecommunications services"),
        named("Cobaltline Communications Ltd", "09182736"),
        2_000_000,
        (date(2025, 8, 1), date(2028, 7, 31)),
        (date(2025, 4, 14), date(2025, 6, 23), date(2025, 7, 7)),
    )
    out.republished(m, date(2026, 2, 16), 2_120_000)
    # 000114: three rises of 4% of the original value, none with a notice: 12% since award
    # (OV10 flagged, though no single step is over 10%).
    p = out.procurement(
        114,
        "Resilience exercise programme",
        ("79419000", "Evaluation consultancy services"),
        named("Tarnside Consulting Ltd", "08273645"),
        1_500_000,
        (date(2025, 8, 1), date(2028, 7, 31)),
        (date(2025, 4, 28), date(2025, 6, 30), date(2025, 7, 21)),
    )
    for when, value in (
        (date(2025, 11, 17), 1_560_000),
        (date(2026, 2, 23), 1_620_000),
        (date(2026, 5, 18), 1_680_000),
    ):
        out.republished(p, when, value)
    # 000115: its twin, two rises of 4%: 8% since award (OV10 not flagged).
    q = out.procurement(
        115,
        "Emergency radio maintenance",
        ("50330000", "Maintenance services of telecommunications equipment"),
        named("Hartcliffe Radio Services Ltd", "10564738"),
        1_500_000,
        (date(2025, 9, 1), date(2028, 8, 31)),
        (date(2025, 5, 5), date(2025, 7, 14), date(2025, 8, 4)),
    )
    for when, value in ((date(2025, 12, 15), 1_560_000), (date(2026, 4, 20), 1_620_000)):
        out.republished(q, when, value)


def _pipeline(out: Notices) -> None:
    """Notices of procurements to come (OV11): a UK1 pipeline notice in flood modelling's CPV
    division (71), a UK2 market engagement and a UK3 planned procurement notice in others; none
    in training's (80)."""
    for n, when, notice, title, cpv in (
        (120, date(2026, 6, 1), "UK1", "Flood modelling services from 2027",
         ("71351000", "Geological services")),
        (121, date(2026, 3, 9), "UK2", "Next generation incident reporting",
         ("72260000", "Software-related services")),
        (122, date(2026, 8, 3), "UK3", "Regional stockpile warehousing",
         ("63120000", "Storage and warehousing services")),
    ):  # fmt: skip
        out.notice(
            f"ocds-drr001-{n:06d}",
            when,
            notice,
            tender={
                "id": f"DRR-{n:06d}",
                "title": title,
                "status": "planned" if notice != "UK2" else "planning",
                "classification": {"scheme": "CPV", "id": cpv[0], "description": cpv[1]},
            },
        )


def _payments(out: Notices) -> None:
    """s70 (OV15): two procurements commenced from 1 April 2026 and paid over £30,000 in
    April to June 2026 (due published by 30 July 2026)."""
    r = out.procurement(
        111,
        "Incident reporting software",
        ("72260000", "Software-related services"),
        FELLSIDE,
        1_200_000,
        (date(2026, 5, 1), date(2028, 4, 30)),
        (date(2026, 4, 1), date(2026, 4, 20), date(2026, 4, 27)),
    )
    out.payments(
        r,
        date(2026, 7, 14),
        [(date(2026, 5, 18), 48250.00), (date(2026, 6, 15), 52400.00)],
        FELLSIDE,
    )
    s = out.procurement(
        112,
        "Public information campaign",
        ("79341000", "Advertising services"),
        GLENTHORNE,
        850_000,
        (date(2026, 5, 1), date(2027, 10, 31)),
        (date(2026, 4, 2), date(2026, 4, 22), date(2026, 4, 29)),
    )
    out.payments(s, date(2026, 8, 14), [(date(2026, 5, 26), 36900.00)], GLENTHORNE)


def package(releases: list[dict], published: date) -> dict:
    """A release package as Find a Tender's API gives it, declaring its extensions."""
    return {
        "uri": "https://www.find-tender.service.gov.uk/api/1.0/ocdsReleasePackages"
        f"?buyer=DRR&published={published}",
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": f"{published}T00:00:00Z",
        "publisher": {"name": "Find a Tender", "uri": "https://www.find-tender.service.gov.uk"},
        "license": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        "publicationPolicy": "https://www.find-tender.service.gov.uk/Home/Privacy",
        "releases": releases,
    }


def write(root: Path) -> None:
    """DRR's releases, in the file of their financial year."""
    out = Notices()
    _pre_act(out)
    _kpis_and_ratings(out)
    _changes(out)
    _pipeline(out)
    _payments(out)
    years: dict[int, list[dict]] = {}
    for release in sorted(out.releases, key=lambda r: (r["date"], r["id"])):
        day = date.fromisoformat(release["date"][:10])
        years.setdefault(day.year - (day.month < 4), []).append(release)
    assert set(years) == {2024, 2025, 2026}, years.keys()
    write_file(
        root / "drr/notices/2024-25-releases.json",
        json.dumps(package(years[2024], date(2025, 4, 1)), indent=1, ensure_ascii=False).encode(),
    )
    write_file(
        root / "drr/notices/2025-26-releases.jsonl",
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in years[2025]).encode(),
    )
    write_file(
        root / "drr/notices/2026-27-releases.json",
        json.dumps(package(years[2026], date(2026, 9, 30)), indent=1, ensure_ascii=False).encode(),
    )
