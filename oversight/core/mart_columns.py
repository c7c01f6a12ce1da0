"""The marts' columns, as the UI shows them (assets/indicators.py, `dagster/column_schema`):
one description per column of every table in the `marts` schema (`tests/test_mart_checks.py`
checks that none is missing). Every rule, threshold, source and "unknown when" is in
docs/indicators.md; a flag is true, false or null (unknown: the data the rule needs is not
published), never false for "cannot tell"."""

from __future__ import annotations

_WHO = {
    "buyer_id": "Resolved buyer (entities.buyers.buyer_id)",
    "buyer": "Buyer's resolved name (entities.buyers.name)",
    "supplier_id": "Resolved supplier (entities.suppliers.supplier_id), never a raw name",
    "supplier": "Supplier's resolved name (entities.suppliers.name)",
    "financial_year": "UK financial year, April to March, e.g. 2025-26",
    "as_of": "The date the indicators are judged on (parameters.yaml indicators.as_of, "
    "OVERSIGHT_AS_OF or the run's config; default: the last day of the newest payment's month)",
    "basis": "What the shares are of: 'spend' (market payments) or 'contracted value' "
    "(contract values, in the financial year the contract starts)",
}
MART_COLUMNS: dict[str, dict[str, str]] = {
    "marts.contract_oversight": {
        "contract_id": "The contract: source + reference + resolved supplier "
        "(links.contract_entries.contract_key), stable across register snapshots; a register "
        "entry and the notice that publishes it are one contract",
        "record_type": "register or notice (the latest period's row)",
        "source_id": "Catalogue source that published it",
        "contract_ref": "Publisher's reference (latest period)",
        "title": "Title as published (latest period)",
        "buyer_name": "Buyer as published",
        "buyer_id": _WHO["buyer_id"] + "; null when the name is not resolved",
        "supplier_name": "Supplier as published (latest period)",
        "supplier_id": _WHO["supplier_id"] + "; null when the name is not resolved",
        "start_date": "Earliest start date over its periods; null: liveness unknown",
        "end_date": "Latest end date over its periods, as published",
        "current_expiry_date": "Latest current expiry date over its periods",
        "effective_end": "Latest of end date, current expiry date and any change or extension "
        "that moved the end; null: open-ended",
        "value": "Total value summed over its periods (£), else the latest annual value",
        "live": "as_of falls inside one of its periods (start <= as_of <= effective end, or no "
        "end); null when a period has no start date and none is live",
        "as_of": _WHO["as_of"],
        "entries": "Rows (periods) of this contract: renewals and extensions under one reference",
        "periods": "Each period as 'start to effective end' ('?' no start, 'open' no end)",
        "no_longer_listed": "Missing from its source's latest register snapshot (kept, with the "
        "file it was last listed in)",
        "last_listed_in": "Snapshot sources only: the last register file that lists it",
        "procurement_commenced": "Notices: when the procurement commenced, the earliest of its "
        "ocid's first release date, its award date and its signature date; null: register "
        "only, or no date published",
        "under_act": "Notices: procurement commenced on or after 2025-02-24, so the "
        "Procurement Act 2023 duties (OV04, OV05, OV06, OV10, OV15) apply; false: 'not under "
        "the Act'; null: register only (a notice with no date counts as under the Act)",
        "ov01_no_review_date": "OV01: live, value over indicators.review_date_min_value (£5k), "
        "no review date. Null: the register has no review-date column, or start/value missing",
        "ov02_review_overdue": "OV02: live and review date before as_of. Null: no review-date "
        "column or no review date",
        "ov02_evidence": "OV02 evidence: the review date, when it is before as_of",
        "ov03_no_owner": "OV03: live, no contract owner / manager. Null: the register has no "
        "owner column, or start missing",
        "ov04_kpis_missing": "OV04 (s52): value over indicators.kpi_value_threshold (£5m), "
        "published as a notice under the Act, not carved out, fewer than indicators.min_kpis "
        "(3) KPIs, and not none with a published reason. Null: no value, or register only",
        "ov04_outcome": "OV04 outcome: flagged, not flagged, unknown, 'no KPIs, reason given' "
        "(no KPIs and a noAgreedMetricsRationale published), 'not under the Act' or 'carved "
        "out: <framework, concession, light touch or private utility>'",
        "ov04_evidence": "OV04 evidence: the number of KPIs published in notices, and the "
        "published reason for no KPIs",
        "ov05_rating_overdue": "OV05 (s71): OV04's scope. Live: no performance rating in the 12 "
        "months after the latest of the start, the contract details notice, 2026-01-01 (s71 in "
        "force) and the last rating. Ended (terminated or past its end) on or after "
        "2026-01-01: no rating from indicators.final_rating_days (30) before the end, and the "
        "end more than 30 days before as_of. Null: no value, liveness unknown, or register only",
        "ov05_outcome": "OV05 outcome: flagged, not flagged, 'not yet due' (the first 12 "
        "months, or the 30 days after the end, have not passed), unknown, 'not under the Act' "
        "or 'carved out: ...'",
        "ov05_evidence": "OV05 evidence: the date of the last performance rating (or 'never') "
        "and when the next assessment is (was) due",
        "ov06_poor_performance": "OV06: latest rating (measureClassification, else measure) is "
        "'requires improvement' or 'inadequate', or a performance failure is published. Null: "
        "no rating and no failure published",
        "ov06_outcome": "OV06 outcome: flagged, not flagged, unknown, 'not under the Act' or "
        "'carved out: ...' (s71's carve-outs)",
        "ov06_evidence": "OV06 evidence: the latest rating and its date; performance failures, "
        "the last one's date and the penalties",
        "ov07_expired_but_paid": "OV07: payments from the buyer to the supplier, linked to no "
        "contract, dated more than indicators.expired_grace_days (90) after the effective end. "
        "Null: no resolved buyer or supplier, the buyer publishes no spend, or its spend does "
        "not yet reach end + 90 days",
        "ov07_value_at_risk": "OV07 value at risk: the sum of those payments (£; "
        "marts.expired_payments)",
        "ov07_evidence": "OV07 evidence: each payment as 'date £amount (payment_id)'",
        "ov08_paid_beyond_value": "OV08: confidently linked payments (score >= "
        "links.min_confidence) / value above indicators.overpaid_ratio (1.0). Null: no value, "
        "no spend from the buyer, ratio above indicators.overpaid_plausible_ratio (3.0), or "
        "uncertain links could tip it over",
        "ov08_basis": "What OV08 compares with the value: 'payments' (confidently linked), "
        "'final value' (a notice's published final value, when no payment links to it); null: "
        "neither",
        "ov08_paid_ratio": "Confidently linked payments (or, basis 'final value', the final "
        "value) / value (4 decimals); null: no value",
        "ov08_band": "Above 1.0: 'within change tolerance' or 'beyond change tolerance' "
        "(indicators.overpaid_band_goods_services 1.10, overpaid_band_works 1.15)",
        "ov08_value_at_risk": "OV08 value at risk: linked payments minus value (£), when the "
        "ratio is above 1.0 and at most 3.0; basis 'final value': final value minus value",
        "ov08_evidence": "OV08 evidence: linked payments and their sum against the value, or "
        "why it is unknown",
        "ov09_not_closed": "OV09: effective end over indicators.not_closed_days (30) before "
        "as_of, no termination, completion or extension, and payments from the buyer to the "
        "supplier after the end or status still 'active'. Null: the buyer publishes no spend "
        "and no status",
        "ov09_evidence": "OV09 evidence: payments after the end and the last date, or 'status "
        "still active'",
        "ov10_change_beyond_tolerance": "OV10 (s75): changes without a change notice, added up "
        "since award, raised the value by more than indicators.change_tolerance_goods_services "
        "(10%; works 15%) of the value at award, or the term by more than "
        "change_tolerance_term (10%) of the term at award; notices under the Act, not carved "
        "out. Null: register only (no change history)",
        "ov10_outcome": "OV10 outcome: flagged, not flagged, unknown, 'not under the Act' or "
        "'carved out: ...' (light touch, private utility)",
        "ov10_evidence": "OV10 evidence: each change without a notice (date, type, value and "
        "end before -> after), then the cumulative share of the value and term at award",
        "ov11_no_pipeline": "OV11: live, effective end within indicators.pipeline_months (12) "
        "of as_of, and no successor published. Notice contracts: no procurement notice "
        "(staging.procurement_notices: UK1-UK4, or a tender or planning release) from the "
        "buyer in the contract's CPV division (first two digits; any division when it has no "
        "CPV code) in the 12 months before as_of, its own process left out. Register "
        "contracts: no notice from the buyer starting in those 12 months. Null: no end or "
        "start, or the buyer publishes no (procurement) notices",
        "ov11_evidence": "OV11 evidence (notice contracts): the latest procurement notice "
        "found, or the division and window searched",
        "ov13_value_missing": "OV13: live, no total or annual value. Null: start missing",
        "ov14_supplier_unidentified": "OV14: live, no company, charity or other registration "
        "number. Null: start missing, or the register has no registration-number column",
        "ov15_payment_not_published": "OV15 (s70): a payment over "
        "indicators.large_payment_threshold (£30,000) from the buyer's spend, confidently "
        "linked, under a notice whose procurement commenced on or after 2026-04-01 (not carved "
        "out), not published (implementation.transactions, amount within £1) within 30 days "
        "of the end of its quarter. Null: the buyer publishes no payments in its notices (on "
        "real data today, every buyer), or register only with a large payment",
        "ov15_outcome": "OV15 outcome: flagged, not flagged, 'not yet due' (every large "
        "payment's publication date is after as_of), unknown, 'not under the Act', "
        "'commenced before s70' (procurement commenced before 2026-04-01) or 'carved out: "
        "...' (framework, private utility)",
        "ov15_evidence": "OV15 evidence: each unpublished payment: date, amount, payment id, "
        "due date (and when it was published, if late); marts.unpublished_payments",
        "value_at_risk": "OV07 value at risk + OV08 value at risk (£); 0 when neither applies",
        "paid_linked": "Sum of payments confidently linked to the contract (£; score >= "
        "links.min_confidence)",
    },
    "marts.expired_payments": {
        "contract_id": "The contract (marts.contract_oversight.contract_id) the payment is "
        "counted against in OV07: the latest-ending one it follows",
        "entry_id": "The period (staging.contracts.contract_id) whose end it follows",
        "payment_id": "The payment (links.spend_contract.payment_id: source:file#row)",
        "payment_date": "Payment date, more than indicators.expired_grace_days after the end",
        "amount": "Amount paid (£)",
    },
    "marts.unpublished_payments": {
        "contract_id": "The contract (marts.contract_oversight.contract_id) the payment is "
        "confidently linked to",
        "payment_id": "The payment (links.spend_contract.payment_id: source:file#row)",
        "payment_date": "Payment date",
        "amount": "Amount paid (£), over indicators.large_payment_threshold (£30,000)",
        "due_date": "When it had to be published (s70): 30 days after the end of the calendar "
        "quarter it was paid in",
        "published_late_on": "When a notice published it after the due date; null: never "
        "published (as of as_of)",
    },
    "marts.buyer_scorecard": {
        "buyer_id": _WHO["buyer_id"],
        "buyer": _WHO["buyer"],
        "as_of": _WHO["as_of"],
        "contracts": "Contracts of this buyer in marts.contract_oversight",
        "live_contracts": "Of those, live on as_of",
        "live_value": "Value of the live contracts (£)",
        "spend": "All payments by the buyer (£, net of credits)",
        "spend_linked_share": "Share of spend (absolute amounts) linked to a contract: register "
        "coverage of spend",
        "concentration_year": "Latest financial year of the spend concentration headline",
        "hhi": "SC01 HHI of the buyer's market spend that year (0-10,000)",
        "band": "SC01 band: unconcentrated (< 1,500), moderately (1,500-2,500), highly "
        "concentrated (> 2,500); null: too little data",
        "cr1": "SC02 share of the largest supplier that year",
        "cr3": "SC02 share of the 3 largest suppliers that year",
        "top_supplier": "Largest supplier that year",
        "indicator": "OV01-OV15 (one row per buyer and indicator)",
        "flagged": "Contracts flagged true (OV12: buyer x supplier x year rows)",
        "unknown": "Contracts where the indicator is null (unknown); OV12 is never unknown",
        "value": "Value behind the flags (£): value at risk for OV07 and OV08, off-contract "
        "spend for OV12, contract value for the others",
    },
    "marts.off_contract_spend": {
        "buyer_id": _WHO["buyer_id"],
        "buyer": _WHO["buyer"],
        "supplier_id": _WHO["supplier_id"],
        "supplier": _WHO["supplier"],
        "payee_class": "Payee class: company, charity, sole_trader or unknown "
        "(payees.market_classes)",
        "financial_year": _WHO["financial_year"],
        "spend": "OV12: market spend (grants left out) that year, over "
        "indicators.off_contract_min_spend (£5k), with no register contract or notice for the "
        "buyer and supplier; the value at risk",
        "payments": "Payments behind it",
        "first_payment": "Earliest of those payments",
        "last_payment": "Latest of those payments (up to as_of)",
        "as_of": _WHO["as_of"],
    },
    "marts.non_market_spend": {
        "buyer_id": _WHO["buyer_id"],
        "buyer": _WHO["buyer"],
        "financial_year": _WHO["financial_year"],
        "what": "What OV12 and concentration leave out: 'grant', a non-market payee class "
        "(public_body, individual, redacted) or 'no supplier'",
        "payments": "Payments",
        "spend": "Their sum (£)",
        "payees": "Distinct payees (personal and redacted payees not counted)",
        "largest_payee": "Payee of the largest single payment (not shown for personal payees)",
        "as_of": _WHO["as_of"],
    },
    "marts.supplier_concentration": {
        "basis": _WHO["basis"],
        "buyer_id": _WHO["buyer_id"],
        "buyer": _WHO["buyer"],
        "category_scheme": "procurement category, expense type, a CPV or register scheme, or "
        "'all' (the buyer's whole year)",
        "category": "Category within the scheme ('all' for the whole year)",
        "financial_year": _WHO["financial_year"],
        "suppliers": "Market suppliers with a positive value",
        "total": "Sum of the suppliers' values (£; each supplier's net value, negatives as 0)",
        "hhi": "SC01 Herfindahl-Hirschman index: sum of (100 x share)^2, 0-10,000",
        "cr1": "SC02 share of the largest supplier",
        "cr3": "SC02 share of the 3 largest suppliers",
        "cr5": "SC02 share of the 5 largest suppliers",
        "top_supplier_id": "Largest supplier (entities.suppliers.supplier_id)",
        "top_supplier": "Largest supplier's name",
        "too_little_data": "Fewer than concentration.min_suppliers (5) suppliers or a total "
        "under concentration.min_spend (£100k): not banded",
        "band": "SC01 band, descriptive only: unconcentrated (< concentration.hhi_moderate "
        "1,500), moderately concentrated (to hhi_high 2,500), highly concentrated (above); "
        "null: too little data",
        "strategic_share": "SC05 share going to the government's strategic suppliers "
        "(catalogue/strategic_suppliers.yaml)",
        "hhi_change": "SC06 change in HHI from the previous year present for the same group",
        "cr3_change": "SC06 change in CR3 from the previous year present for the same group",
    },
    "marts.concentration_values": {
        "basis": _WHO["basis"],
        "buyer_id": _WHO["buyer_id"],
        "category_scheme": "Category scheme of `category` ('all': every category together)",
        "category": "Procurement category, else the payment's expense type ('all': every "
        "category together)",
        "fy": "Financial year as its starting year (2025: April 2025 to March 2026)",
        "supplier_id": _WHO["supplier_id"],
        "value": "The supplier's net value in the group (£): market payments (spend) or "
        "contract values (contracted value); null when no row summed has an amount",
        "counted": "Payments (spend) or contracts (contracted value) the value sums",
        "valued": "Of those, the ones with an amount in pounds",
    },
    "marts.concentration_build": {
        "code": "Fingerprint of the code that built marts.concentration_values "
        "(concentration_values.sql, indicators.py): other code means a full build",
        "links_epoch": "The links build log (links.link_build.epoch) the values were built "
        "from; a full links build starts a new one",
        "links_build": "The links build (links.link_build.build) the values include: the "
        "next build adds the changes of later ones (links.spend_contract_changes)",
        "token": "A random id written with each build of the values: marts.shares_build "
        "records the one its shares were built from",
    },
    "marts.shares_build": {
        "code": "Fingerprint of the code that built marts.supplier_shares "
        "(supplier_shares.sql, shares.py): other code means a full build",
        "values_token": "The values (marts.concentration_build.token) the shares were built "
        "from: a nightly build keeps the (basis, financial year) partitions whose values, "
        "names and strategic groups did not change since, and builds the others again",
    },
    "marts.supplier_shares": {
        "basis": _WHO["basis"],
        "buyer_id": _WHO["buyer_id"],
        "buyer": _WHO["buyer"],
        "financial_year": _WHO["financial_year"],
        "supplier_id": _WHO["supplier_id"],
        "supplier": _WHO["supplier"],
        "value": "The supplier's net value from this buyer that year (£, positive only)",
        "share_of_buyer_spend": "SC03 the supplier's share of the buyer's year (4 decimals; a "
        "buyer-year's shares sum to 1)",
        "dependency_on_largest_buyer": "SC04 share of the supplier's income in these sources "
        "that year that comes from its largest buyer",
        "is_largest_buyer": "This buyer is the supplier's largest that year",
        "buyers_paying": "Buyers in these sources paying the supplier that year",
        "strategic_group": "Strategic supplier group (catalogue/strategic_suppliers.yaml); null: "
        "not a strategic supplier",
    },
    "marts.publisher_quality": {
        "source_id": "Catalogue source",
        "publisher": "Publisher (catalogue)",
        "kind": "Source kind: contract_register, spend or ocds",
        "files": "Files recorded (removed files not counted)",
        "files_failed": "Files that could not be read",
        "rows_read": "Rows read from its files",
        "rows_loaded": "Rows loaded into staging",
        "rows_quarantined": "Rows quarantined (raw.quarantine)",
        "quarantine_rate": "rows_quarantined / rows_read",
        "last_ingested_at": "When a file of this source was last ingested",
        "spend_lines": "Payment lines in staging.spend",
        "spend_total": "Sum of the payments (£)",
        "first_month": "First month with a payment",
        "last_month": "Last month with a payment",
        "months_missing": "Months between the first and last with no payment (gaps in the "
        "monthly series)",
        "missing_months": "Those months, YYYY-MM",
        "share_spend_with_registration": "Share of spend (absolute) paid to a supplier printed "
        "with a company or charity number",
        "identifier_conflicts": "Names this source prints with a company or charity number "
        "printed elsewhere with a dissimilar name (entities.identifier_conflicts)",
        "register_entries": "Register rows in staging.contracts",
        "share_register_with_review_date": "Share of register rows with a review date (OV01)",
        "share_register_with_value": "Share of register rows with a total or annual value",
        "cov_buyer_name": "Share of payments with a buyer name",
        "cov_payment_date": "Share of payments with a date",
        "cov_transaction_id": "Share of payments with a transaction number",
        "cov_amount": "Share of payments with an amount",
        "cov_supplier_name": "Share of payments (registers: rows) with a supplier name",
        "cov_supplier_registration": "Share of payments (registers: rows) with a company, "
        "charity or other registration number",
        "cov_expense_type": "Share of payments with an expense type",
        "cov_expense_area": "Share of payments with an expense area",
        "cov_category": "Share of payments with a procurement category",
        "cov_irrecoverable_vat": "Share of payments (registers: rows) with irrecoverable VAT",
        "cov_contract_ref": "Share of register rows with a reference",
        "cov_title": "Share of register rows with a title",
        "cov_description": "Share of register rows with a description",
        "cov_department": "Share of register rows with a department",
        "cov_sme": "Share of register rows with the SME flag",
        "cov_vcse": "Share of register rows with the VCSE flag",
        "cov_start_date": "Share of register rows with a start date",
        "cov_end_date": "Share of register rows with an end date",
        "cov_review_date": "Share of register rows with a review date",
        "cov_value": "Share of register rows with a total or annual value",
        "cov_contract_owner": "Share of register rows with a contract owner",
    },
}
