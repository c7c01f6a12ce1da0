"""Who a payee is: company, charity, public body, sole trader, individual, redacted or unknown.

Decided from evidence, in this order, and the evidence is returned with the class:

1. `redacted`: the name is a redaction form (`catalogue/payee_classes.yaml: redacted`), unless
   a trading name follows it (`Redacted - Personal Data#T/A <trading name>` is a sole
   trader whose own name was withheld).
2. `public_body`: the name matches a public-body pattern (councils, NHS, CCGs, police, fire,
   central government, pension funds, universities, council-maintained schools).
3. `company` / `charity`: a Companies House number (scheme GB-COH; `RC`, royal charter, counts
   as a charity) or a charity number.
4. `company` when the name carries a legal form (Ltd, Limited, PLC, LLP, CIC, a closing Inc,
   GmbH or "Company"), also misspelt by a letter ("Limted") or cut short by a fixed-width field
   ("... Redesign Limite", "... Services L").
5. `individual`: a person's name form (a title, "SMITH, J", initials and a surname; "Mr A &
   Mrs B Smith" is two people) with no business word; `sole_trader` when the same form carries
   one ("J R PLUMBING", "Dr Patel & Partners") or a trading name ("Mr J Smith T/A Smith
   Roofing", "K Smith T/As Y"). Business words count only at the start of a word: "Douglas"
   holds no "gas", "Parsons" no "sons".
6. `sole_trader`: initials, or a forename and a middle initial, then words with a business
   word ("A J Smith Groundwork & Plant Hire", "John A Smith Solicitors").
7. `charity` when the name says "charity" or "charitable", is a trust or a foundation, a
   church or another place of worship, scouts, cadets, the Legion, a hospice, a community or
   residents' association.
8. `sole_trader`: two or three words trading under another name ("Jane Smith T/A Y").
9. `unknown` otherwise ("Vodafone", "Arrow County Supplies"): most are businesses printed
   without their legal form.

A forename and a surname with nothing else ("Jane Smith") is `unknown`: without a list of
forenames it cannot be told from a business ("Peek A Blue", "Arthur J. Gallagher"). Measured
on hand-labelled real names by `oversight.evaluation.payee_eval`.

`individual` and `redacted` payees are never clustered or linked (`is_personal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from oversight.core.schema import PERSONAL_CLASSES
from oversight.entities.names import NameParts, name_parts, reference

# A title opens a person's name. "Lady" and "Lord" are not counted: in payee lists they open
# place names ("Lady Lane ...", "Lord Street ...") more often than people's.
_TITLE = re.compile(r"^(mr|mrs|ms|miss|mx|dr|rev|revd|prof|professor|sir|dame)\.?\s+\w", re.I)
# "SMITH, J", "SMITH, J R", "SMITH, J.R.": one or two words, a comma, initials (each after a
# space or a dot, so that a name cut after a comma, "..., Mancheste", or "X, INC." is not one).
_SURNAME_INITIAL = re.compile(
    r"^[a-z'\-]+( [a-z'\-]+)?,\s*[a-z]{1,2}\.?(?:(?:\s+|(?<=\.)\s*)[a-z]\.?)*$", re.I
)
_INITIALS_SURNAME = re.compile(r"^([a-z](?:\.\s*|\s+)){1,3}[a-z'\-]{2,}$", re.I)
# Initials and more words: a sole trader when a business word is among them ("A B Smith
# Plumbing & Heating"), otherwise not a person's name form at all.
_INITIALS_WORDS = re.compile(
    r"^([a-z](?:\.\s*|\s+)){1,3}(?!(?:and|for|the|of|on|in|to)\b)[a-z'\-]{2,}(\s+\S+)+$", re.I
)
# A forename, a middle initial and a surname ("John A Smith Plumbing"; not "A", "N", "U",
# which stand for words: "Pret A Manger", "Spice N Spirits").
_MIDDLE_INITIAL = re.compile(r"^[a-z'\-]{2,}\s+(?![anu]\b)[a-z]\.?\s+[a-z'\-]{2,}", re.I)
# Two people with titles ("Mr A & Mrs B Smith"): that "&" joins people, not partners in trade.
_COUPLE = re.compile(r"\s(?:&|and)\s+(?=(?:mr|mrs|ms|miss|mx|dr)\b)", re.I)
# "X T/A Y", "X T/As Y", "X trading as Y": X is the owner.
_TRADING_AS = re.compile(r"\s+(?:t\s*/\s*as?|trading\s+as)\s+", re.I)
# Any trading-as phrase, "TA" too, as `oversight.entities.names` splits on it (not a `#` segment).
_TRADES_AS = re.compile(r"(?:^|\s)(?:t\s*/\s*as?|t\.a\.|trading\s+as|ta)\s", re.I)
# An owner trading under another name: two or three words ("Jane Smith", "Jane A Smith").
_OWNER = re.compile(r"^[a-z'\-]{2,}( [a-z]\.?)? [a-z'\-]+$", re.I)
_LEGAL_FORM = re.compile(
    r"\b(ltd|limited|plc|llp|cic|llc|l\.t\.d|c\.i\.c|p\.l\.c)\b\.?"
    r"|\b(inc|gmbh|company)\b\.?\s*$|[a-z]ltd\.?$",  # "X Inc", "X Company", "Developmentltd"
    re.I,
)
# What a fixed-width field leaves of "Limited" ("... Redesign Limite", "... Services L").
_CUT_LIMITED = {"l", "li", "lim", "limi", "limit", "limite", "lt"}
_CUT_WIDTH = 30
# Charities and voluntary bodies: "charity", a trust or foundation (not a unit trust; NHS trusts
# are public bodies, found first), churches and other places of worship, scouts and cadets,
# the Legion, hospices, community and residents' associations.
_CHARITY = re.compile(
    r"\bcharit(y|able)\b|(?<!\bunit )\b(trust|foundation)\b"
    r"|\b(church|cathedral|mosque|synagogue|scouts?|cadets|legion|hospice)\b"
    r"|\bcommunity (association|centre|center|hall|group)\b|\b(residents|tenants).? association\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class PayeeClass:
    payee_class: str
    evidence: str

    @property
    def is_personal(self) -> bool:
        return self.payee_class in PERSONAL_CLASSES


def _person_shaped(text: str) -> bool:
    text = text.strip()
    return bool(_TITLE.match(text) or _SURNAME_INITIAL.match(text) or _INITIALS_SURNAME.match(text))


def _has_legal_form(text: str) -> bool:
    """A legal form in the name, also misspelt by a letter ("Limted") or, in a name that
    fills a fixed-width field, cut short ("Fandangle Furniture Redesign Limite")."""
    if _LEGAL_FORM.search(text):
        return True
    words = text.casefold().replace(".", " ").split()
    if len(words) < 2:
        return False
    if len(words[-1]) >= 5 and Levenshtein.distance(words[-1], "limited") <= 1:
        return True
    return len(text.strip()) >= _CUT_WIDTH and len(words) >= 3 and words[-1] in _CUT_LIMITED


def _business_word(text: str) -> str | None:
    """The first business word (`catalogue/payee_classes.yaml: business_words`) that starts a
    word of `text`: "Douglas" holds no "gas", "Bishop" no "shop", "Parsons" no "sons"."""
    for found in reference().business.finditer(text):
        start = found.start()
        if start == 0 or not (text[start - 1].isalnum() and found.group(0)[0].isalnum()):
            return found.group(0).strip()
    return None


def classify(
    name: str | None,
    company_number: str | None = None,
    charity_number: str | None = None,
    parts: NameParts | None = None,
) -> PayeeClass:
    """The class of one payee as printed, with the evidence that decided it. `parts`: the
    name taken apart (`name_parts(name)`), when the caller has it already: at scale 10 entity
    resolution takes 1.2M names apart, more than `name_parts`' cache holds, so asking again
    took each name apart twice (about a third of a full resolution)."""
    ref = reference()
    if parts is None:
        parts = name_parts(name)
    core = parts.core or ""
    printed = (name or "").strip()
    if parts.redacted and not parts.key:
        return PayeeClass("redacted", "redaction form in the name")
    if parts.redacted:
        return PayeeClass("sole_trader", "redacted name with a trading name")
    if (found := ref.public_body.first(core)) is not None:
        return PayeeClass("public_body", f"public-body pattern '{found.strip()}'")
    if company_number:
        if company_number.upper().startswith("RC"):
            return PayeeClass("charity", f"royal charter number {company_number}")
        return PayeeClass("company", f"company number {company_number}")
    if charity_number:
        return PayeeClass("charity", f"charity number {charity_number}")
    if _has_legal_form(core):
        return PayeeClass("company", "legal form in the name")
    owner = _TRADING_AS.split(core, maxsplit=1)[0].strip()
    trading = (bool(parts.aliases) and core != printed) or bool(_TRADING_AS.search(printed))
    if _person_shaped(owner):
        if found := _business_word(_COUPLE.sub(" ", owner)):
            return PayeeClass("sole_trader", f"person's name with '{found}'")
        if trading:
            return PayeeClass("sole_trader", "person's name with a trading name")
        return PayeeClass("individual", "person's name form")
    if (_INITIALS_WORDS.match(core) or _MIDDLE_INITIAL.match(core)) and (
        found := _business_word(core)
    ):
        return PayeeClass("sole_trader", f"a person's initials and '{found}'")
    if found := _CHARITY.search(core):
        return PayeeClass("charity", f"'{found.group(0)}' in the name")
    if _TRADES_AS.search(printed) and _OWNER.match(owner) and not _business_word(owner):
        return PayeeClass("sole_trader", "a name trading under another name")
    return PayeeClass("unknown", "no number, legal form or name form")


def is_personal(name: str | None) -> bool:
    """A payee that is a redaction or a private individual, not an organisation."""
    return bool(name) and classify(name).is_personal
