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

Kind = Literal["contract_register", "spend"]
ColumnType = Literal["text", "date", "money", "number", "flag", "company_number", "charity_number"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str


CONTRACT_COLUMNS: tuple[Column, ...] = (
    Column("contract_ref", "text", "The publisher's contract reference"),
    Column("title", "text", "Title of the agreement"),
    Column("description", "text", "Description of the goods, services or works"),
    Column("buyer_name", "text", "Contracting authority; the source's publisher when not a column"),
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
    Column("payment_date", "date", "Date of payment"),
    Column("transaction_id", "text", "Transaction or document number"),
    Column("invoice_ref", "text", "Invoice number"),
    Column("amount", "money", "Amount paid in pounds (net of recoverable VAT where published)"),
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
}

# A row missing any of these (empty, placeholder or unparseable) goes to quarantine.
REQUIRED: dict[str, tuple[str, ...]] = {
    "contract_register": ("title",),
    "spend": ("payment_date", "amount", "supplier_name"),
}

# Staging table per kind, and the columns the loader derives beyond the canonical ones.
TABLES: dict[str, str] = {"contract_register": "staging.contracts", "spend": "staging.spend"}
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
LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("source_id", "text", "Catalogue source the row came from"),
    Column("file_path", "text", "File path under the raw-data folder"),
    Column("file_sha256", "text", "SHA-256 of the file's bytes"),
    Column("part", "text", "Sheet name (XLSX) or member name (zip); empty for plain files"),
    Column("row_number", "number", "Line (CSV) or row (XLSX) where the record starts, 1-based"),
)


def column_names(kind: str) -> list[str]:
    """Canonical column names for a source kind."""
    return [c.name for c in COLUMNS[kind]]
