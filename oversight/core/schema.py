"""The canonical tables: every publisher's columns are mapped onto these.

Each canonical column has a type that says how its published text is turned into a value:

- ``text``: trimmed; placeholders (``X``, ``TBC``, ``-``, ``N/A``...) become empty.
- ``date``: one of the source's date formats, or an Excel serial day number.
- ``money``: pounds as DECIMAL(18,2); ``£``, thousands separators, spaces and ``(1,234.50)``
  negatives are understood.
- ``number``: a plain number (durations in months, counts).
- ``flag``: yes/no values (``Yes``, ``Y``, ``No``...), per-source spellings allowed.
- ``company_number``: a supplier registration number as published; the loader derives the
  8-character Companies House number, a charity number, or keeps it as another identifier.
- ``charity_number``: a registered charity number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["contract_register", "spend", "ocds"]
ColumnType = Literal[
    "text",
    "date",
    "money",
    "number",
    "flag",
    "company_number",
    "charity_number",
    "integer",
    "timestamp",
    "text_list",
]

# What a payee can be (`oversight.entities.payees.classify`); here, in the core, because
# `catalogue/parameters.yaml` names them too (`oversight.core.parameters`).
PAYEE_CLASSES = (
    "company",
    "charity",
    "public_body",
    "sole_trader",
    "individual",
    "redacted",
    "unknown",
)
PERSONAL_CLASSES = ("individual", "redacted")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str


CONTRACT_COLUMNS: tuple[Column, ...] = (
    Column("contract_ref", "text", "The publisher's contract reference"),
    Column("title", "text", "Title of the agreement"),
    Column("description", "text", "Description of the goods, services or works"),
    Column(
        "buyer_name",
        "text",
        "Contracting authority: the source's publisher, unless the source declares a "
        "multi-buyer register (multi_buyer: true) and maps a buyer column",
    ),
    Column(
        "purchasing_body",
        "text",
        "Purchasing body or framework the contract was let through (AGMA/STAR, ESPO, YPO): "
        "for analysts, never used to link payments",
    ),
    Column("department", "text", "Department, directorate or service responsible"),
    Column("procedure", "text", "Procurement process used (ITT, RFQ, call-off...)"),
    Column(
        "advertised", "flag", "Whether the opportunity was advertised (OJEU/FTS/Contracts Finder)"
    ),
    Column("supplier_name", "text", "Supplier as published"),
    Column("supplier_postcode", "text", "Supplier postcode"),
    Column("supplier_company_number", "company_number", "Supplier registration number"),
    Column("supplier_charity_number", "charity_number", "Supplier registered charity number"),
    Column("sme", "flag", "Supplier is a small or medium enterprise"),
    Column("vcse", "flag", "Supplier is a voluntary, community or social enterprise"),
    Column("annual_value", "money", "Annual value in pounds"),
    Column("total_value", "money", "Total contract value in pounds (including extensions)"),
    Column("irrecoverable_vat", "money", "VAT that cannot be recovered, in pounds"),
    Column("start_date", "date", "Contract start date"),
    Column("end_date", "date", "Contract end date as let"),
    Column("current_expiry_date", "date", "Current expiry date, after extensions taken"),
    Column("review_date", "date", "Date the contract is next reviewed"),
    Column("duration_months", "number", "Contract duration in months"),
    Column("extension_months", "number", "Option to extend, in months"),
    Column("extensions_available", "number", "How many extensions the contract allows"),
    Column("contract_owner", "text", "Named contract manager or owner"),
    Column("category_code", "text", "Category code (ProClass, CPV...)"),
    Column("category", "text", "Category description"),
    Column("status", "text", "Contract status as published"),
)

SPEND_COLUMNS: tuple[Column, ...] = (
    Column("buyer_name", "text", "Paying body; the source's publisher when not a column"),
    Column("department", "text", "Departmental family, directorate or department"),
    Column("expense_area", "text", "Service area or cost centre"),
    Column("expense_type", "text", "Expense type, GL description or expenditure category"),
    Column("expense_code", "text", "Expense or ledger code"),
    Column("category", "text", "Procurement category (e.g. ProClass)"),
    Column(
        "payment_date",
        "date",
        "Date of payment. Where a publisher prints none (only a period, or the month in the "
        "file's name), the first day of that period, and the row's parse_issues says so",
    ),
    Column(
        "payment_period",
        "text",
        "The accounting period a payment is published under, as printed (202205: period 5 of "
        "2022-23, see values.period_format): the payment date's fallback",
    ),
    Column("transaction_id", "text", "Transaction or document number"),
    Column("invoice_ref", "text", "Invoice number"),
    Column(
        "contract_ref",
        "text",
        "Contract reference printed on the payment, where the publisher prints one: it "
        "decides the payment's contract when it equals a register entry's reference",
    ),
    Column(
        "amount",
        "money",
        "Amount paid (net of recoverable VAT where published), in `currency`: pounds unless "
        "the published amount carries another currency's symbol or code",
    ),
    Column(
        "currency",
        "text",
        "Currency of the amount: GBP, or EUR/USD when the published amount says so (€, $, "
        "EUR, USD). Only GBP amounts are summed into pound totals; others count as unknown "
        "value and are never converted",
    ),
    Column("gross_amount", "money", "Gross amount in pounds"),
    Column("vat_amount", "money", "VAT in pounds"),
    Column("irrecoverable_vat", "money", "Irrecoverable VAT in pounds"),
    Column("supplier_name", "text", "Supplier (beneficiary) as published"),
    Column("supplier_id", "text", "The publisher's own supplier number"),
    Column("supplier_company_number", "company_number", "Supplier registration number"),
    Column("supplier_charity_number", "charity_number", "Supplier registered charity number"),
    Column("supplier_vat_number", "text", "Supplier VAT registration number"),
    Column("vcse", "flag", "Supplier is a voluntary, community or social enterprise"),
    Column("description", "text", "Purpose of spend or extended description"),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "contract_register": CONTRACT_COLUMNS,
    "spend": SPEND_COLUMNS,
    "ocds": (),  # OCDS has a standard shape: no column mapping (see oversight/ingest/ocds.py)
}

# A row missing any of these (empty, placeholder or unparseable) goes to quarantine.
REQUIRED: dict[str, tuple[str, ...]] = {
    "contract_register": ("title",),
    "spend": ("payment_date", "amount", "supplier_name"),
    "ocds": (),
}

# Staging table per kind, and the columns the loader derives beyond the canonical ones.
TABLES: dict[str, str] = {
    "contract_register": "staging.contracts",
    "spend": "staging.spend",
    "ocds": "raw.releases",
}
DERIVED_COLUMNS: tuple[Column, ...] = (
    Column(
        "supplier_other_id",
        "text",
        "A published registration number that is neither a "
        "company nor a charity number (e.g. a mutuals register number), kept as published",
    ),
    Column(
        "parse_issues",
        "text",
        "Values that could not be read and were left empty, with the text as published",
    ),
)
# Columns of staging.contracts that say what kind of record a row is and, for notices, which
# OCDS award it is. Register rows get record_type 'register' and a contract_id from their lineage.
CONTRACT_RECORD_COLUMNS: tuple[Column, ...] = (
    Column(
        "contract_id",
        "text",
        "Stable id: '<source>:<file>#<row>' for a register entry, '<ocid>/<award id>' for a notice",
    ),
    Column(
        "record_type",
        "text",
        "'register' (a council's register entry) or 'notice' "
        "(an OCDS award compiled from Contracts Finder / Find a Tender releases)",
    ),
    Column("ocid", "text", "OCDS contracting process id (notices)"),
    Column("award_id", "text", "OCDS award id (notices)"),
    Column("currency", "text", "Currency of the values (notices; registers are in GBP)"),
    Column("max_end_date", "date", "Latest date the contract could run to, with all extensions"),
    Column("category_scheme", "text", "Scheme of category_code (CPV for notices)"),
    Column("supplier_count", "number", "Number of suppliers on the award (notices)"),
    Column(
        "act_carve_outs",
        "text_list",
        "Notices: what takes the contract out of some Procurement Act 2023 duties, read from "
        "the notice: 'framework' (the framework agreement itself; call-offs are not carved "
        "out), 'light touch' and 'concession' (tender.specialRegime), 'private utility' (the "
        "buyer's UK_CA_TYPE classification). Empty: none published; null: register entry. "
        "Which duty each lifts: docs/indicators.md, 'Carve-outs'",
    ),
)
LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("source_id", "text", "Catalogue source the row came from"),
    Column("file_path", "text", "File path under the raw-data folder"),
    Column("file_sha256", "text", "SHA-256 of the file's bytes"),
    Column("part", "text", "Sheet name (XLSX) or member name (zip); empty for plain files"),
    Column(
        "row_number",
        "integer",
        "Line (CSV), row (XLSX) or release (OCDS) where the record starts, 1-based",
    ),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "text", "Stable id of the event"),
    Column("contract_id", "text", "The contract (staging.contracts.contract_id) it happened to"),
    Column("ocid", "text", "OCDS contracting process id"),
    Column("award_id", "text", "OCDS award id"),
    Column(
        "event_type",
        "text",
        "award, contract_signed, change, extension, termination, kpi_defined, no_kpis_reason "
        "(a published reason for setting no KPIs), performance_rating, performance_failure, "
        "completion (implementation end date and final value) or payment_published (a "
        "payment the buyer published in a notice, implementation.transactions: s70)",
    ),
    Column(
        "event_date",
        "date",
        "When it happened (payment_published: the payment's date; when it was published is "
        "the date of release_id in raw.releases)",
    ),
    Column("value_before", "money", "Contract value before a change"),
    Column(
        "value_after",
        "money",
        "Contract value after a change (the award value for awards; the penalty for "
        "performance_failure; the final value for completion; the amount paid for "
        "payment_published)",
    ),
    Column("end_date_before", "date", "End date before a change or extension"),
    Column(
        "end_date_after",
        "date",
        "End date after a change or extension (completion: the actual end, implementation.endDate)",
    ),
    Column(
        "has_notice",
        "flag",
        "A change published as an amendment (true), or seen only as a "
        "difference between releases (false)",
    ),
    Column(
        "rating",
        "text",
        "Performance rating: good, approaching target, requires improvement, inadequate "
        "(other: the UK measureClassification 'other')",
    ),
    Column(
        "kpi_id",
        "text",
        "KPI (metric) id for kpi_defined and performance_rating; the failure id for "
        "performance_failure; the transaction id for payment_published",
    ),
    Column(
        "detail",
        "text",
        "What the notice says (KPI title, amendment rationale, reason for no KPIs, "
        "termination rationale, failure and penalty type, final value details...)",
    ),
    Column("release_id", "text", "OCDS release the event was read from"),
)

SUPPLIER_COLUMNS: tuple[Column, ...] = (
    Column("contract_id", "text", "The contract (staging.contracts.contract_id)"),
    Column("ocid", "text", "OCDS contracting process id"),
    Column("award_id", "text", "OCDS award id"),
    Column("position", "integer", "Order of the supplier on the award, from 1"),
    Column("supplier_name", "text", "Supplier as published"),
    Column("supplier_scheme", "text", "Identifier scheme as published (GB-COH, GB-CHC...)"),
    Column("supplier_identifier", "text", "Identifier as published"),
    Column("supplier_company_number", "company_number", "Companies House number, 8 characters"),
    Column("supplier_charity_number", "charity_number", "Registered charity number"),
    Column("supplier_other_id", "text", "Any other identifier, as '<scheme>-<id>'"),
    Column("sme", "flag", "Supplier is a small or medium enterprise"),
    Column("vcse", "flag", "Supplier is a voluntary, community or social enterprise"),
)

PROCUREMENT_NOTICE_COLUMNS: tuple[Column, ...] = (
    Column("ocid", "text", "OCDS contracting process id"),
    Column("release_id", "text", "OCDS release that is the notice"),
    Column("notice_date", "date", "When the notice was published (the release date)"),
    Column(
        "buyer_name",
        "text",
        "Buyer as published (buyer.name, else the party with role buyer)",
    ),
    Column(
        "notice_types",
        "text_list",
        "Find a Tender notice types on the release's documents (UK1 pipeline, UK2 market "
        "engagement, UK3 planned procurement, UK4 tender...); empty: a Contracts Finder or "
        "pre-Act tender or planning release, which counts as a procurement notice too",
    ),
    Column(
        "cpv_codes",
        "text_list",
        "CPV codes of what is being bought (tender classification and items); OV11 compares "
        "their first two digits (the CPV division) with the expiring contract's",
    ),
    Column("title", "text", "Title of the procurement (tender.title)"),
)

RELEASE_COLUMNS: tuple[Column, ...] = (
    Column("ocid", "text", "OCDS contracting process id"),
    Column("release_id", "text", "OCDS release id"),
    Column("release_date", "timestamp", "Release date"),
    Column("tags", "text", "Release tags as published (not trusted over content)"),
    Column("release_json", "text", "The release as published"),
)

LINEAGE = LINEAGE_COLUMNS
# Every table this layer writes, with its columns in order.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "staging.contracts": (*CONTRACT_COLUMNS, *DERIVED_COLUMNS, *CONTRACT_RECORD_COLUMNS, *LINEAGE),
    "staging.spend": (*SPEND_COLUMNS, *DERIVED_COLUMNS, *LINEAGE),
    "staging.contract_events": (*EVENT_COLUMNS, *LINEAGE),
    "staging.contract_suppliers": (*SUPPLIER_COLUMNS, *LINEAGE),
    "staging.procurement_notices": (*PROCUREMENT_NOTICE_COLUMNS, *LINEAGE),
    "raw.releases": (*RELEASE_COLUMNS, *LINEAGE),
}


def column_names(kind: str) -> list[str]:
    """Canonical column names for a source kind."""
    return [c.name for c in COLUMNS[kind]]
