"""Who a payee is: company, charity, public body, sole trader, individual, redacted or unknown.

Decided from evidence, in this order, and the evidence is returned with the class:

1. `redacted`: the name is a redaction form (`catalogue/payee_classes.yaml: redacted`), unless
   a trading name follows it (`Redacted - Personal Data#T/A Baxter Rhodes Music` is a sole
   trader whose own name was withheld).
2. `public_body`: the name matches a public-body pattern (councils, NHS, CCGs, police, fire,
   central government, pension funds, universities).
3. `company` / `charity`: a Companies House number (scheme GB-COH; `RC`, royal charter, counts
   as a charity) or a charity number.
4. `company` when the name carries a legal form (Ltd, Limited, PLC, LLP, CIC).
5. `individual`: a person's name form (a title, "SMITH, J", initials and a surname) with no
   business word; `sole_trader` when the same form carries one ("J R PLUMBING",
   "Dr Patel & Partners", "Mr J Smith T/A Smith Roofing").
6. `charity` when the name says "charity" or "charitable".
7. `unknown` otherwise ("Vodafone", "Arrow County Supplies"): most are businesses printed
   without their legal form.

`individual` and `redacted` payees are never clustered or linked (`is_personal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oversight.names import name_parts, reference

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

_TITLE = re.compile(r"^(mr|mrs|ms|miss|mx|dr|rev|revd|prof|sir|dame|lady|lord)\.?\s+\w", re.I)
_SURNAME_INITIAL = re.compile(r"^[a-z'\- ]+,\s*[a-z]{1,2}\.?(\s*[a-z]\.?)*$", re.I)
_INITIALS_SURNAME = re.compile(r"^([a-z]\.?\s+){1,3}[a-z'\-]{2,}$", re.I)
_LEGAL_FORM = re.compile(r"\b(ltd|limited|plc|llp|cic|llc|l\.t\.d)\b\.?", re.I)
_CHARITY = re.compile(r"\bcharit(y|able)\b", re.I)


@dataclass(frozen=True)
class PayeeClass:
    payee_class: str
    evidence: str

    @property
    def is_personal(self) -> bool:
        return self.payee_class in PERSONAL_CLASSES


def _person_shaped(text: str) -> bool:
    text = text.strip()
    return bool(_TITLE.match(text) or _SURNAME_INITIAL.match(text) or _INITIALS_SURNAME.match(text))


def classify(
    name: str | None, company_number: str | None = None, charity_number: str | None = None
) -> PayeeClass:
    """The class of one payee as printed, with the evidence that decided it."""
    ref = reference()
    parts = name_parts(name)
    core = parts.core or ""
    if parts.redacted and not parts.key:
        return PayeeClass("redacted", "redaction form in the name")
    if parts.redacted:
        return PayeeClass("sole_trader", "redacted name with a trading name")
    if found := ref.public_body.search(core):
        return PayeeClass("public_body", f"public-body pattern '{found.group(0).strip()}'")
    if company_number:
        if company_number.upper().startswith("RC"):
            return PayeeClass("charity", f"royal charter number {company_number}")
        return PayeeClass("company", f"company number {company_number}")
    if charity_number:
        return PayeeClass("charity", f"charity number {charity_number}")
    if _LEGAL_FORM.search(core):
        return PayeeClass("company", "legal form in the name")
    trading = bool(parts.aliases) and core != (name or "").strip()
    if _person_shaped(core):
        if found := ref.business.search(core):
            return PayeeClass("sole_trader", f"person's name with '{found.group(0).strip()}'")
        if trading:
            return PayeeClass("sole_trader", "person's name with a trading name")
        return PayeeClass("individual", "person's name form")
    if _CHARITY.search(core):
        return PayeeClass("charity", "'charity' in the name")
    return PayeeClass("unknown", "no number, legal form or name form")


def is_personal(name: str | None) -> bool:
    """A payee that is a redaction or a private individual, not an organisation."""
    return bool(name) and classify(name).is_personal
