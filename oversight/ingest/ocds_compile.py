"""Contract notices published as OCDS 1.1, compiled (releases read by `oversight.ingest.ocds`).

Compiling: the releases of each `ocid` are merged in date order with ocdsmerge (the Open
Contracting Partnership's implementation of the OCDS merge routine) into the current state, and
every step is compared with the one before to find what happened to each contract, so events
come from content, never from release tags (Contracts Finder tags every release `tender`).

Where each event comes from (OCDS paths; the Procurement Act 2023 notices use the metrics
extension and contract status):

- award: a new `awards[]` entry, dated `awards[].date`, value `awards[].value`.
- contract_signed: `contracts[].dateSigned` appearing or changing.
- change: a new `contracts[].amendments[]` entry (`has_notice` true), or the contract's value
  or end date differing from the previous release without one (`has_notice` false); the value
  and end date before and after come from the two compiled states.
- extension: a change that moves the end date later and leaves the value as it was.
- termination: `contracts[].status` becoming `terminated`, or a termination rationale first
  published (UK extension: `contracts[].terminationRationaleClassifications[]`, or the
  deprecated single `terminationRationaleClassification`), dated `contracts[].period.endDate`
  when given, else the release date; the detail is the rationales (each classification's
  `description`, else its `id`) then `statusDetails`, joined by "; ".
- kpi_defined: a new `contracts[].agreedMetrics[]` entry (its id and title).
- no_kpis_reason: `contracts[].noAgreedMetricsRationale` (UK extension) first published or
  changed: the reason no KPIs were set, dated by the release, the rationale as the detail.
- performance_rating: a new `contracts[].implementation.metrics[].observations[]` entry; the
  rating is its `measureClassification.id` (UK extension) read onto the Procurement Act
  2023 s71 scale (`UK_RATINGS`: met -> good, slightlyBelow -> approaching target, below ->
  requires improvement, significantlyBelow -> inadequate, other -> other), else the
  classification's `description` when it names a rating, else its `measure`; the date its
  `period.endDate` or the release date.
- performance_failure: a new `contracts[].implementation.performanceFailures[]` entry
  (performance failures extension, with the UK extension's fields), dated its `decisionDate`,
  else `penaltyDate`, else `period.endDate`, else the release date; `value_after` is its
  `penaltyValue.amount` (the penalty); the detail is its `description` (else `requirement`,
  else `category`), then "penalty: <penaltyType>" and the `partialTermination` text.
- completion: `contracts[].implementation.endDate` or `finalValue` (contract completion
  extension) first published or changed: dated `implementation.endDate`, else the release date;
  `value_before` the contract's value, `value_after` the `finalValue.amount`, `end_date_before`
  the contract's end date, `end_date_after` the `implementation.endDate`, the detail
  `finalValueDetails` (else `endDateDetails`).

- payment_published: a new `contracts[].implementation.transactions[]` entry (OCDS core
  Transaction: a payment published by the buyer, as Procurement Act 2023 s70 asks for
  payments over £30,000), dated the transaction's `date`, else the release date;
  `value_after` its `value.amount`, `kpi_id` its `id`, the detail its payee (`payee.name`)
  and any currency other than GBP. The release that first published it is `release_id`: its
  date (`raw.releases`) is when the payment was published.

The value of a contract is `contracts[].value`, else its award's `value`; its period is
`contracts[].period`, else the award's `contractPeriod`.

Also read from each contracting process (not events):

- its procurement notices (`notice_rows`, one per release that is one): a release any of
  whose documents (`planning.documents[]`, `tender.documents[]`, `awards[].documents[]`,
  `contracts[].documents[]`, `contracts[].implementation.documents[]`) has a UK extension
  `noticeType` UK1 (pipeline), UK2 (preliminary market engagement), UK3 (planned procurement)
  or UK4 (tender); a release with no `noticeType` anywhere counts when it has no `awards` and
  has a `tender` or `planning` section (Contracts Finder and pre-Act shapes). Its CPV codes
  are `tender.classification` and `tender.items[].classification` (scheme CPV); its buyer
  `buyer.name`, else the party with role buyer; each from the release, else the process as
  compiled up to it.
- the compiled contract's carve-outs from Procurement Act 2023 duties (`act_carve_outs`):
  'framework' (`tender.techniques.hasFrameworkAgreement` true: the framework itself, not a
  call-off), 'light touch' and 'concession' (`tender.specialRegime[]` "lightTouch",
  "concession", compared ignoring case, spaces, '-' and '_'), 'private utility' (the buyer's
  party `details.classifications[]` with scheme UK_CA_TYPE and id privateUtility).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import ocdsmerge

from oversight.ingest.ocds import _as_text

RATINGS = ("good", "approaching target", "requires improvement", "inadequate")
# UK extension `Observation.measureClassification.id` codes ("met, slightlyBelow, below,
# significantlyBelow and other") in order onto the s71 rating scale.
UK_RATINGS = {
    "met": "good",
    "slightlybelow": "approaching target",
    "below": "requires improvement",
    "significantlybelow": "inadequate",
    "other": "other",
}
CHARITY_SCHEMES = ("GB-CHC", "GB-SC", "GB-NIC")
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def clean_text(value: Any) -> str | None:
    """Text as a person would read it: HTML entities decoded, markup removed, spaces folded."""
    if value is None:
        return None
    text = html.unescape(html.unescape(str(value)))
    text = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return text or None


def _by_id(items: Any) -> dict[str, dict]:
    return {str(x.get("id")): x for x in (items or []) if isinstance(x, dict)}


def _amount(obj: Any) -> Any:
    value = obj.get("value") if isinstance(obj, dict) else None
    return value.get("amount") if isinstance(value, dict) else None


def _period(obj: Any, key: str) -> dict:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def compile_releases(releases: list[dict]) -> list[dict]:
    """The compiled state after each release (the last is the current state)."""
    merger = ocdsmerge.Merger(merge_rules={})
    return [merger.create_compiled_release(releases[: i + 1]) for i in range(len(releases))]


class _Contract:
    """A contract's value and end date in one compiled state (contract, else its award)."""

    def __init__(self, state: dict, contract: dict | None, award_id: str | None) -> None:
        award = _by_id(state.get("awards")).get(str(award_id)) if award_id else None
        self.value = _amount(contract) if _amount(contract) is not None else _amount(award)
        end = _period(contract, "period").get("endDate")
        self.end = end if end is not None else _period(award, "contractPeriod").get("endDate")


def events(releases: list[dict], states: list[dict]) -> list[dict]:
    """Every dated thing that happened, found by comparing successive compiled states."""
    out: list[dict] = []
    previous: dict = {}
    for release, state in zip(releases, states, strict=True):
        rdate = release.get("date")
        base = {"release_id": _as_text(release.get("id")), "ocid": state.get("ocid")}
        before_awards = _by_id(previous.get("awards"))
        for aid, award in _by_id(state.get("awards")).items():
            if aid not in before_awards:
                out.append(
                    {
                        **base,
                        "award_id": aid,
                        "event_type": "award",
                        "event_date": award.get("date") or rdate,
                        "value_after": _as_text(_amount(award)),
                        "end_date_after": _period(award, "contractPeriod").get("endDate"),
                        "detail": clean_text(award.get("title")),
                    }
                )
        before_contracts = _by_id(previous.get("contracts"))
        for cid, contract in _by_id(state.get("contracts")).items():
            award_id = _as_text(contract.get("awardID"))
            ev = {**base, "award_id": award_id, "contract_ocds_id": cid}
            old = before_contracts.get(cid)
            if (
                contract.get("dateSigned")
                and (old or {}).get("dateSigned") != contract["dateSigned"]
            ):
                out.append(
                    {**ev, "event_type": "contract_signed", "event_date": contract["dateSigned"]}
                )
            reasons = _termination_reasons(contract)
            was_terminated = (old or {}).get("status") == "terminated" or bool(
                _termination_reasons(old or {})
            )
            terminated = not was_terminated and (
                contract.get("status") == "terminated" or bool(reasons)
            )
            if old is not None:
                # A termination explains its own end date: only amendments count as changes.
                out += _changes(
                    ev, rdate, old, contract, previous, state, award_id, amendments_only=terminated
                )
            if terminated:
                out.append(
                    {
                        **ev,
                        "event_type": "termination",
                        "event_date": _period(contract, "period").get("endDate") or rdate,
                        "detail": "; ".join(
                            t for t in (*reasons, clean_text(contract.get("statusDetails"))) if t
                        )
                        or None,
                    }
                )
            rationale = clean_text(contract.get("noAgreedMetricsRationale"))
            if rationale and rationale != clean_text((old or {}).get("noAgreedMetricsRationale")):
                out.append(
                    {**ev, "event_type": "no_kpis_reason", "event_date": rdate, "detail": rationale}
                )
            old_metrics = _by_id((old or {}).get("agreedMetrics"))
            for mid, metric in _by_id(contract.get("agreedMetrics")).items():
                if mid not in old_metrics:
                    out.append(
                        {
                            **ev,
                            "event_type": "kpi_defined",
                            "event_date": rdate,
                            "kpi_id": mid,
                            "detail": clean_text(metric.get("title")),
                        }
                    )
            out += _ratings(ev, rdate, old, contract)
            out += _failures(ev, rdate, old, contract)
            out += _completion(ev, rdate, old, contract, state, award_id)
            out += _transactions(ev, rdate, old, contract)
        previous = state
    return out


def _changes(
    ev: dict,
    rdate: Any,
    old: dict,
    new: dict,
    prev_state: dict,
    state: dict,
    award_id: str | None,
    amendments_only: bool = False,
) -> list[dict]:
    before, after = _Contract(prev_state, old, award_id), _Contract(state, new, award_id)
    values_moved = before.value != after.value or before.end != after.end
    kind = (
        "extension"
        if (
            before.end
            and after.end
            and str(after.end) > str(before.end)
            and before.value == after.value
        )
        else "change"
    )
    fields = {
        "value_before": _as_text(before.value),
        "value_after": _as_text(after.value),
        "end_date_before": before.end,
        "end_date_after": after.end,
    }
    old_ids = {str(a.get("id", i)) for i, a in enumerate(old.get("amendments") or [])}
    new_amendments = [
        a
        for i, a in enumerate(new.get("amendments") or [])
        if isinstance(a, dict) and str(a.get("id", i)) not in old_ids
    ]
    if new_amendments:
        return [
            {
                **ev,
                **fields,
                "event_type": kind,
                "event_date": a.get("date") or rdate,
                "has_notice": True,
                "detail": clean_text(a.get("rationale") or a.get("description")),
            }
            for a in new_amendments
        ]
    if values_moved and not amendments_only:
        return [
            {
                **ev,
                **fields,
                "event_type": kind,
                "event_date": rdate,
                "has_notice": False,
                "detail": "value or end date changed between releases with no amendment",
            }
        ]
    return []


def _ratings(ev: dict, rdate: Any, old: dict | None, new: dict) -> list[dict]:
    def observations(contract: dict | None) -> dict[tuple, tuple]:
        found = {}
        implementation = (contract or {}).get("implementation") or {}
        for metric in implementation.get("metrics") or []:
            for i, obs in enumerate(metric.get("observations") or []):
                found[(str(metric.get("id")), str(obs.get("id", i)))] = (metric, obs)
        return found

    seen = observations(old)
    out = []
    for key, (metric, obs) in observations(new).items():
        if key in seen:
            continue
        rating = _rating(obs)
        out.append(
            {
                **ev,
                "event_type": "performance_rating",
                "kpi_id": key[0],
                "event_date": _period(obs, "period").get("endDate") or rdate,
                "rating": rating,
                "detail": clean_text(metric.get("title")),
            }
        )
    return out


def _rating(obs: dict) -> str | None:
    """An observation's rating: its UK `measureClassification` (code, else a description that
    names a rating), else its `measure` as published, lower-cased."""
    classification = obs.get("measureClassification")
    if isinstance(classification, dict):
        code = (_as_text(classification.get("id")) or "").replace(" ", "").lower()
        if code in UK_RATINGS:
            return UK_RATINGS[code]
        described = (clean_text(classification.get("description")) or "").lower()
        if described in RATINGS:
            return described
    measure = clean_text(obs.get("measure"))
    return measure.lower() if measure else None


def _implementation(contract: dict | None) -> dict:
    value = (contract or {}).get("implementation")
    return value if isinstance(value, dict) else {}


def _termination_reasons(contract: dict) -> list[str]:
    """The published rationales for terminating a contract (UK extension), as text."""
    found = contract.get("terminationRationaleClassifications")
    items = [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []
    single = contract.get("terminationRationaleClassification")
    if isinstance(single, dict) and single not in items:
        items.append(single)
    reasons = [clean_text(c.get("description")) or _as_text(c.get("id")) for c in items]
    return [r for r in reasons if r]


def _failures(ev: dict, rdate: Any, old: dict | None, new: dict) -> list[dict]:
    """New performance failures (`implementation.performanceFailures[]`), with the penalty."""

    def failures(contract: dict | None) -> dict[str, dict]:
        listed = _implementation(contract).get("performanceFailures") or []
        return {str(f.get("id", i)): f for i, f in enumerate(listed) if isinstance(f, dict)}

    seen = failures(old)
    out = []
    for fid, failure in failures(new).items():
        if fid in seen:
            continue
        what = clean_text(
            failure.get("description") or failure.get("requirement") or failure.get("category")
        )
        kind = _as_text(failure.get("penaltyType")) or clean_text(failure.get("penaltyTypeEntered"))
        parts = [
            what,
            f"penalty: {kind}" if kind else None,
            clean_text(failure.get("partialTermination")),
        ]
        out.append(
            {
                **ev,
                "event_type": "performance_failure",
                "event_date": failure.get("decisionDate")
                or failure.get("penaltyDate")
                or _period(failure, "period").get("endDate")
                or rdate,
                "value_after": _as_text(_amount({"value": failure.get("penaltyValue")})),
                "kpi_id": fid,
                "detail": "; ".join(p for p in parts if p) or None,
            }
        )
    return out


def _completion(
    ev: dict, rdate: Any, old: dict | None, new: dict, state: dict, award_id: str | None
) -> list[dict]:
    """The contract's completion (`implementation.endDate`, `finalValue`), when first
    published or changed."""

    def completed(contract: dict | None) -> tuple[Any, Any]:
        implementation = _implementation(contract)
        return implementation.get("endDate"), _amount({"value": implementation.get("finalValue")})

    end, final = completed(new)
    if (end is None and final is None) or completed(old) == (end, final):
        return []
    implementation = _implementation(new)
    contract = _Contract(state, new, award_id)
    return [
        {
            **ev,
            "event_type": "completion",
            "event_date": end or rdate,
            "value_before": _as_text(contract.value),
            "value_after": _as_text(final),
            "end_date_before": contract.end,
            "end_date_after": end,
            "detail": clean_text(
                implementation.get("finalValueDetails") or implementation.get("endDateDetails")
            ),
        }
    ]


def _transactions(ev: dict, rdate: Any, old: dict | None, new: dict) -> list[dict]:
    """Payments newly published (`implementation.transactions[]`): s70 payment notices."""

    def transactions(contract: dict | None) -> dict[str, dict]:
        listed = _implementation(contract).get("transactions") or []
        return {str(t.get("id", i)): t for i, t in enumerate(listed) if isinstance(t, dict)}

    seen = transactions(old)
    out = []
    for tid, transaction in transactions(new).items():
        if tid in seen:
            continue
        value = transaction.get("value") if isinstance(transaction.get("value"), dict) else {}
        payee = transaction.get("payee") if isinstance(transaction.get("payee"), dict) else {}
        currency = _as_text(value.get("currency"))
        parts = [
            f"payee: {clean_text(payee.get('name'))}" if clean_text(payee.get("name")) else None,
            f"currency: {currency}" if currency and currency != "GBP" else None,
        ]
        out.append(
            {
                **ev,
                "event_type": "payment_published",
                "event_date": transaction.get("date") or rdate,
                "value_after": _as_text(value.get("amount")),
                "kpi_id": tid,
                "detail": "; ".join(p for p in parts if p) or None,
            }
        )
    return out


# ---------------------------------------------------------------- notices and carve-outs

PROCUREMENT_NOTICE_TYPES = ("UK1", "UK2", "UK3", "UK4")
CARVE_OUT_REGIMES = {"lighttouch": "light touch", "concession": "concession"}
_FOLD = re.compile(r"[\s_\-]+")


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _section(obj: Any, key: str) -> dict:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def notice_types(release: dict) -> list[str]:
    """The UK extension `noticeType`s of a release's own documents (UK1..UK12), in order."""
    documents = [
        *_dicts(_section(release, "planning").get("documents")),
        *_dicts(_section(release, "tender").get("documents")),
    ]
    for award in _dicts(release.get("awards")):
        documents += _dicts(award.get("documents"))
    for contract in _dicts(release.get("contracts")):
        documents += _dicts(contract.get("documents"))
        documents += _dicts(_implementation(contract).get("documents"))
    found: list[str] = []
    for document in documents:
        kind = (_as_text(document.get("noticeType")) or "").strip().upper()
        if kind and kind not in found:
            found.append(kind)
    return found


def _buyer_name(state: dict) -> str | None:
    buyer = _section(state, "buyer")
    return clean_text(buyer.get("name")) or next(
        (
            clean_text(p.get("name"))
            for p in _dicts(state.get("parties"))
            if "buyer" in (p.get("roles") or []) and clean_text(p.get("name"))
        ),
        None,
    )


def cpv_codes(state: dict) -> list[str]:
    """CPV codes of a release's tender: its classification and its items' (scheme CPV, or no
    scheme), in order, without repeats."""
    tender = _section(state, "tender")
    found: list[str] = []
    for c in [
        _section(tender, "classification"),
        *(_section(i, "classification") for i in _dicts(tender.get("items"))),
    ]:
        code = _as_text(c.get("id"))
        scheme = (_as_text(c.get("scheme")) or "CPV").upper()
        if code and scheme == "CPV" and code.strip() not in found:
            found.append(code.strip())
    return found


def notice_rows(releases: list[dict], states: list[dict]) -> list[dict]:
    """One row per release that is a procurement notice (UK1-UK4, or a pre-Act tender or
    planning release without awards), with its notice types, CPV codes, buyer and title."""
    rows = []
    for release, state in zip(releases, states, strict=True):
        types = notice_types(release)
        if types:
            if not set(types) & set(PROCUREMENT_NOTICE_TYPES):
                continue
        elif _dicts(release.get("awards")) or not (
            isinstance(release.get("tender"), dict) or isinstance(release.get("planning"), dict)
        ):
            continue
        rows.append(
            {
                "ocid": state.get("ocid"),
                "release_id": _as_text(release.get("id")),
                "notice_date": release.get("date"),
                "buyer_name": _buyer_name(release) or _buyer_name(state),
                "notice_types": json.dumps(types),
                "cpv_codes": json.dumps(cpv_codes(release) or cpv_codes(state)),
                "title": clean_text(
                    _section(release, "tender").get("title")
                    or _section(state, "tender").get("title")
                ),
            }
        )
    return rows


def act_carve_outs(state: dict) -> list[str]:
    """The compiled process's carve-outs from Procurement Act 2023 duties (see the module
    docstring): 'framework', 'light touch', 'concession', 'private utility'."""
    tender = _section(state, "tender")
    found = []
    framework = _section(tender, "techniques").get("hasFrameworkAgreement")
    if framework is True or str(framework).lower() == "true":
        found.append("framework")
    regimes = tender.get("specialRegime")
    regimes = regimes if isinstance(regimes, list) else [regimes] if regimes else []
    folded = {_FOLD.sub("", str(r)).lower() for r in regimes if r is not None}
    found += [name for code, name in CARVE_OUT_REGIMES.items() if code in folded]
    buyer_id = _as_text(_section(state, "buyer").get("id"))
    parties = _dicts(state.get("parties"))
    buyer = next((p for p in parties if buyer_id and _as_text(p.get("id")) == buyer_id), None)
    buyer = buyer or next((p for p in parties if "buyer" in (p.get("roles") or [])), {})
    for c in _dicts(_section(buyer, "details").get("classifications")):
        if (_as_text(c.get("scheme")) or "").upper() == "UK_CA_TYPE" and (
            _as_text(c.get("id")) or ""
        ).lower() == "privateutility":
            found.append("private utility")
            break
    return found


def _party_flags(party: dict) -> tuple[Any, Any]:
    details = party.get("details") if isinstance(party.get("details"), dict) else {}
    sme = party.get("sme")
    if sme is None and details.get("scale"):
        sme = details["scale"] in ("sme", "micro", "small", "medium")
    vcse = party.get("vco", details.get("vcse"))
    return sme, vcse


def _identifier(party: dict) -> tuple[str | None, str | None]:
    identifier = party.get("identifier") if isinstance(party.get("identifier"), dict) else {}
    scheme = _as_text(identifier.get("scheme"))
    value = _as_text(identifier.get("id"))
    if not value:
        return None, None
    if scheme and value.upper().startswith(scheme.upper() + "-"):
        value = value[len(scheme) + 1 :]
    return scheme, value


def contract_rows(state: dict) -> tuple[list[dict], list[dict]]:
    """One row per award of the compiled state (text values, typed later in SQL), and one row
    per supplier of each award."""
    parties = _by_id(state.get("parties"))
    tender = state.get("tender") if isinstance(state.get("tender"), dict) else {}
    buyer = state.get("buyer") if isinstance(state.get("buyer"), dict) else {}
    buyer_name = buyer.get("name") or next(
        (p.get("name") for p in parties.values() if "buyer" in (p.get("roles") or [])), None
    )
    classification = (
        tender.get("classification")
        or next(
            (
                i.get("classification")
                for i in tender.get("items") or []
                if isinstance(i, dict) and i.get("classification")
            ),
            None,
        )
        or {}
    )
    contracts = [c for c in state.get("contracts") or [] if isinstance(c, dict)]
    carve_outs = act_carve_outs(state)
    rows, suppliers = [], []
    for aid, award in _by_id(state.get("awards")).items():
        contract = next((c for c in contracts if str(c.get("awardID")) == aid), None)
        period = _period(contract, "period") or _period(award, "contractPeriod")
        value = _amount(contract) if _amount(contract) is not None else _amount(award)
        currency_of = (contract if _amount(contract) is not None else award) or {}
        contract_id = f"{state.get('ocid')}/{aid}"
        award_suppliers = [s for s in award.get("suppliers") or [] if isinstance(s, dict)]
        for position, supplier in enumerate(award_suppliers, start=1):
            party = {**supplier, **parties.get(str(supplier.get("id")), {})}
            scheme, identifier = _identifier(party)
            sme, vcse = _party_flags(party)
            suppliers.append(
                {
                    "contract_id": contract_id,
                    "ocid": state.get("ocid"),
                    "award_id": aid,
                    "position": position,
                    "supplier_name": clean_text(supplier.get("name") or party.get("name")),
                    "supplier_scheme": scheme,
                    "supplier_identifier": identifier,
                    "sme": _as_text(sme),
                    "vcse": _as_text(vcse),
                }
            )
        first = next((s for s in suppliers if s["contract_id"] == contract_id), {})
        rows.append(
            {
                "contract_id": contract_id,
                "ocid": state.get("ocid"),
                "award_id": aid,
                "contract_ref": _as_text(tender.get("id")) or state.get("ocid"),
                "title": clean_text(
                    award.get("title") or (contract or {}).get("title") or tender.get("title")
                ),
                "description": clean_text(tender.get("description") or award.get("description")),
                "buyer_name": clean_text(buyer_name),
                "procedure": clean_text(
                    tender.get("procurementMethodDetails") or tender.get("procurementMethod")
                ),
                "supplier_name": first.get("supplier_name"),
                "supplier_scheme": first.get("supplier_scheme"),
                "supplier_identifier": first.get("supplier_identifier"),
                "sme": first.get("sme"),
                "vcse": first.get("vcse"),
                "supplier_count": str(len(award_suppliers)),
                "total_value": _as_text(value),
                "currency": _as_text((currency_of.get("value") or {}).get("currency")),
                "start_date": period.get("startDate"),
                "end_date": period.get("endDate"),
                "max_end_date": period.get("maxExtentDate"),
                "category_code": _as_text(classification.get("id")),
                "category": clean_text(classification.get("description")),
                "category_scheme": _as_text(classification.get("scheme")),
                "status": _as_text((contract or {}).get("status") or award.get("status")),
                "act_carve_outs": json.dumps(carve_outs),
            }
        )
    return rows, suppliers
