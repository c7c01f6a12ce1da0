"""The planted cases, as data: what `data/raw/planted.yaml` lists.

Writes `planted.yaml`'s list of cases. Each `PlantedCase` names an indicator (or `DQ`, `FILE`,
`EVENT`, `MATCH`, `LIVE` for data quality, file-level, notice-event, matching and liveness cases),
whether it must flag (`True`), must not (`False`, a clean twin) or cannot be judged from the data
(`None`), the source it is planted in, what it is, and the keys that find it (contract reference,
OCDS id, supplier, file). The rows and files behind the cases are written by the publisher and
notice modules (the register contracts and payments by `planted_contracts`); this table is in the
order the cases have always been listed in, source by source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class PlantedCase:
    """One planted case: `keys` find it (in the order they are listed)."""

    indicator: str
    expected: bool | None
    source_id: str
    what: str
    keys: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The case as `planted.yaml` lists it."""
        return {
            "indicator": self.indicator,
            "expected": self.expected,
            "source_id": self.source_id,
            **self.keys,
            "what": self.what,
        }


CASES: list[PlantedCase] = [
    # Northmoor's register (no review-date or owner column)
    PlantedCase(
        "OV07",
        True,
        "northmoor-register",
        "paid 4.5 to 6.5 months after expiry, no other contract",
        {"contract_ref": "NCC-P07A", "value_at_risk": 14700.0},
    ),
    PlantedCase(
        "OV07",
        False,
        "northmoor-register",
        "payments continue but the extension runs to 2026-03-31",
        {"contract_ref": "NCC-P07B"},
    ),
    PlantedCase(
        "OV07",
        False,
        "northmoor-register",
        "one payment exactly 90 days after expiry: at the grace limit, not beyond it",
        {"contract_ref": "NCC-P07C"},
    ),
    PlantedCase(
        "OV08",
        True,
        "northmoor-register",
        "paid 61,000 against a total value of 50,000 (1.22)",
        {"contract_ref": "NCC-P08A", "value_at_risk": 11000.0},
    ),
    PlantedCase(
        "OV08",
        False,
        "northmoor-register",
        "paid 72,000 of 80,000",
        {"contract_ref": "NCC-P08B"},
    ),
    PlantedCase(
        "OV08",
        True,
        "northmoor-register",
        "paid exactly 1.10 of value: above 1.0, at (not above) the 1.10 band",
        {"contract_ref": "NCC-P08C", "ratio": 1.10},
    ),
    PlantedCase(
        "OV09",
        True,
        "northmoor-register",
        "ended 2026-06-30, payments continue to September 2026 "
        "(within the 90-day grace, so not OV07), no termination or extension",
        {"contract_ref": "NCC-P09A"},
    ),
    PlantedCase(
        "OV09",
        True,
        "northmoor-register",
        "paid after its end (Nov 2025 - Jan 2026), nothing closed it",
        {"contract_ref": "NCC-P07A"},
    ),
    PlantedCase(
        "OV09",
        True,
        "northmoor-register",
        "paid 90 days after its end, no termination or extension recorded",
        {"contract_ref": "NCC-P07C"},
    ),
    PlantedCase(
        "OV09",
        False,
        "northmoor-register",
        "its extension runs to 2026-03-31 and payments stop there",
        {"contract_ref": "NCC-P07B"},
    ),
    PlantedCase(
        "OV13",
        True,
        "northmoor-register",
        "live contract published with '-' for both values",
        {"contract_ref": "NCC-P13A"},
    ),
    PlantedCase(
        "OV14",
        True,
        "northmoor-register",
        "live contract with no registration number",
        {"contract_ref": "NCC-P14A"},
    ),
    PlantedCase(
        "OV01",
        None,
        "northmoor-register",
        "the register has no review-date column: unknown, not false",
        {"contract_ref": "NCC-P01U"},
    ),
    PlantedCase(
        "OV03",
        None,
        "northmoor-register",
        "the register has no owner column: unknown, not false",
        {"contract_ref": "NCC-P01U"},
    ),
    # Northmoor's spend
    PlantedCase(
        "OV12",
        True,
        "northmoor-spend",
        "12,800 paid in 2025-26 with no contract for the pair",
        {
            "supplier": "Brightwater Consulting Ltd",
            "financial_year": "2025-26",
            "value_at_risk": 12800.0,
        },
    ),
    PlantedCase(
        "OV12",
        False,
        "northmoor-spend",
        "2,700 in a year: under the 5,000 threshold",
        {"supplier": "Pennine Catering Supplies", "financial_year": "2025-26"},
    ),
    PlantedCase(
        "DQ",
        True,
        "northmoor-spend",
        "an impossible date (2025-02-31) and an amount of "
        "'TBC': both rows quarantined with their reason",
        {"file": "northmoor/spend/2025-03.csv", "quarantined_rows": 2},
    ),
    # Kelder's register
    PlantedCase(
        "OV01", True, "kelder-register", "live, no review date", {"contract_ref": "KVC/P01"}
    ),
    PlantedCase(
        "OV02",
        True,
        "kelder-register",
        "review date 2026-03-31 passed while live",
        {"contract_ref": "KVC/P02"},
    ),
    PlantedCase(
        "OV02",
        False,
        "kelder-register",
        "review date is the as-of date: due today, not overdue",
        {"contract_ref": "KVC/P02T"},
    ),
    PlantedCase(
        "OV03", True, "kelder-register", "no contract manager", {"contract_ref": "KVC/P03"}
    ),
    PlantedCase(
        "OV03", False, "kelder-register", "contract manager named", {"contract_ref": "KVC/P03C"}
    ),
    PlantedCase(
        "OV11",
        True,
        "kelder-register",
        "ends within 12 months of the as-of date; no successor notice",
        {"contract_ref": "KVC/P11"},
    ),
    PlantedCase(
        "LIVE",
        True,
        "kelder-register",
        "ends on the as-of date: still live that day",
        {"contract_ref": "KVC/PEND"},
    ),
    PlantedCase(
        "DQ", True, "kelder-register", "start date after end date", {"contract_ref": "KVC/PDQ"}
    ),
    # Kelder's spend
    PlantedCase(
        "SC04",
        True,
        "kelder-spend",
        "all of Meridian's public income in the sample comes from Kelder (dependency 1.0)",
        {"supplier": "Meridian Facilities Management Ltd"},
    ),
    PlantedCase(
        "DQ",
        True,
        "kelder-spend",
        "one amount (1,250.00) repeated in more than 10% of the month's rows",
        {"file": "kelder/spend/2025-07.csv"},
    ),
    # Ashby's register and spend
    PlantedCase(
        "DQ",
        True,
        "ashby-register",
        "start date 1985: outside 1990-2050",
        {"contract_ref": "ASH-PDQ"},
    ),
    PlantedCase(
        "DQ",
        True,
        "ashby-spend",
        "February 2025 is missing from the monthly series",
        {"missing_months": "2025-02"},
    ),
    PlantedCase(
        "FILE",
        True,
        "ashby-spend",
        "an HTML error page saved as CSV: recorded as failed with its error, the other files load",
        {"file": "ashby/spend/ashby-spend-2026-10.csv"},
    ),
    # DRR's spend over £25k
    PlantedCase(
        "SC01",
        True,
        "drr-spend",
        "one supplier takes about 45% of spend in 2024-25 (HHI about 2,100: moderate) "
        "and 65% later (HHI above 2,500: high)",
        {"supplier": "Northgate Security Services Ltd"},
    ),
    PlantedCase(
        "SC06",
        True,
        "drr-spend",
        "HHI and CR3 rise from the first year to the second",
        {"supplier": "Northgate Security Services Ltd"},
    ),
    PlantedCase(
        "DQ",
        True,
        "drr-spend",
        "one transaction number on two lines each month; the "
        "invoice must be summed before any £25k threshold check",
    ),
    PlantedCase(
        "FILE",
        True,
        "drr-spend",
        "index-only rows at the end of the '#' months: "
        "quarantined as empty, never silently dropped",
    ),
    # DRR's notices (Find a Tender, drr_notices): 000101 commenced before the Act; every other
    # procurement from 24 Feb 2025 on, so the Act's duties apply unless carved out. `outcome`
    # is the indicator's outcome column (ovNN_outcome) where it says more than the flag.
    *(
        PlantedCase(
            code,
            False,
            "drr-notices",
            f"tendered 2024-11-01, before the Act commenced: {what}",
            {"ocid": "ocds-drr001-000101", "outcome": "not under the Act"},
        )
        for code, what in (
            ("OV04", "3 KPIs over £5m"),
            ("OV05", "live over £5m, rated 2025-12-31"),
            ("OV06", "latest rating 'Requires improvement', free text"),
            ("OV10", "value up 7.5% with an amendment"),
        )
    ),
    PlantedCase(
        "OV04",
        True,
        "drr-notices",
        "UK7 over £5m (£6m) with only 2 KPIs",
        {"ocid": "ocds-drr001-000102"},
    ),
    PlantedCase(
        "OV04",
        False,
        "drr-notices",
        "UK7 over £5m (£12m) with 3 KPIs",
        {"ocid": "ocds-drr001-000106", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV04",
        False,
        "drr-notices",
        "UK7 over £5m with no KPIs and noAgreedMetricsRationale",
        {"ocid": "ocds-drr001-000107", "outcome": "no KPIs, reason given"},
    ),
    PlantedCase(
        "OV04",
        False,
        "drr-notices",
        "light-touch (tender.specialRegime) £8m contract with no KPIs and no reason",
        {"ocid": "ocds-drr001-000108", "outcome": "carved out: light touch"},
    ),
    PlantedCase(
        "OV05",
        False,
        "drr-notices",
        "live £6m contract started 2025-08-01, not rated yet: its first rating is due 12 "
        "months after 2026-01-01 (s71 in force), after the as-of date",
        {"ocid": "ocds-drr001-000102", "outcome": "not yet due"},
    ),
    PlantedCase(
        "OV05",
        True,
        "drr-notices",
        "UK11 terminated 2026-05-31 with a reason, last rated to 2026-03-31: "
        "no assessment on termination 30 days on",
        {"ocid": "ocds-drr001-000109"},
    ),
    PlantedCase(
        "OV05",
        False,
        "drr-notices",
        "UK11 terminated 2026-06-30, a UK9 rating for the period to 2026-06-30",
        {"ocid": "ocds-drr001-000110", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV06",
        True,
        "drr-notices",
        "latest UK9 rating 'below' (measureClassification)",
        {"ocid": "ocds-drr001-000106"},
    ),
    PlantedCase(
        "OV06",
        False,
        "drr-notices",
        "latest UK9 rating 'met' (its assessment on termination)",
        {"ocid": "ocds-drr001-000110", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV06",
        True,
        "drr-notices",
        "UK9 performance failure with a £45,000 penalty (no KPIs to rate)",
        {"ocid": "ocds-drr001-000107"},
    ),
    PlantedCase(
        "OV10",
        True,
        "drr-notices",
        "value up 22% between releases with no change notice",
        {"ocid": "ocds-drr001-000103", "value_before": 900000.0, "value_after": 1100000.0},
    ),
    PlantedCase(
        "OV10",
        False,
        "drr-notices",
        "value up 6% between releases with no change notice: within the 10%",
        {"ocid": "ocds-drr001-000113", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV10",
        False,
        "drr-notices",
        "term more than doubled by a UK10 change notice (tendered on 2025-02-24, "
        "the day the Act commenced)",
        {"ocid": "ocds-drr001-000104", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV10",
        False,
        "drr-notices",
        "value up 20% (£6m -> £7.2m) by a UK10 change notice",
        {"ocid": "ocds-drr001-000102", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV10",
        True,
        "drr-notices",
        "three rises of 4% of the award value with no notice: 12% since award",
        {"ocid": "ocds-drr001-000114"},
    ),
    PlantedCase(
        "OV10",
        False,
        "drr-notices",
        "two rises of 4% of the award value with no notice: 8% since award",
        {"ocid": "ocds-drr001-000115", "outcome": "not flagged"},
    ),
    PlantedCase(
        "OV11",
        False,
        "drr-notices",
        "ends 2026-12-31; a UK1 pipeline notice in its CPV division (71) on 2026-06-01",
        {"ocid": "ocds-drr001-000103"},
    ),
    PlantedCase(
        "OV11",
        True,
        "drr-notices",
        "ends 2026-12-31; DRR's pipeline notices of the last 12 months are all in other "
        "CPV divisions than its 80",
        {"ocid": "ocds-drr001-000104"},
    ),
    PlantedCase(
        "OV15",
        False,
        "drr-notices",
        "tendered 2026-04-01; paid £48,250 and £52,400.40 in May-June 2026, both published "
        "as transactions on 2026-07-14 (one as £52,400.00); £30,000.00 paid 2026-06-29 "
        "(not over £30,000) never published",
        {"ocid": "ocds-drr001-000111"},
    ),
    PlantedCase(
        "OV15",
        True,
        "drr-notices",
        "tendered 2026-04-02; paid £36,900 on 2026-05-26 (published 2026-08-14, after the "
        "30 July due date) and £41,750 on 2026-06-22 (never published)",
        {"ocid": "ocds-drr001-000112"},
    ),
    PlantedCase(
        "EVENT",
        True,
        "drr-notices",
        "a UK10 extension: end 2025-12-31 -> 2026-12-31, value unchanged",
        {"ocid": "ocds-drr001-000104"},
    ),
    PlantedCase(
        "EVENT",
        True,
        "drr-notices",
        "a UK11 termination dated 2025-11-30, with its completion",
        {"ocid": "ocds-drr001-000105"},
    ),
    # Kelder's notices: two of its register contracts
    PlantedCase(
        "MATCH",
        True,
        "kelder-notices",
        "the notice is the register's contract (same reference)",
        {"ocid": "ocds-kvc001-000001", "contract_ref": "KVC/P01"},
    ),
    PlantedCase(
        "MATCH",
        True,
        "kelder-notices",
        "the notice is the register's contract (supplier, value, dates)",
        {"ocid": "ocds-kvc001-000002", "contract_ref": "KVC/P03"},
    ),
]
