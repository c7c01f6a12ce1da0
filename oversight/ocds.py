"""Contract notices published as OCDS 1.1 (Contracts Finder, Find a Tender).

Reading: release packages and record packages are streamed with ijson (a file is never loaded
whole), JSON Lines one release per line. A release that is not an object or has no `ocid` is
quarantined with its JSON and the reason; malformed JSON in a package fails the file with the
position ijson reports.

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
- termination: `contracts[].status` becoming `terminated`, dated `contracts[].period.endDate`
  when given, else the release date; `statusDetails` kept as the detail.
- kpi_defined: a new `contracts[].agreedMetrics[]` entry (its id and title).
- performance_rating: a new `contracts[].implementation.metrics[].observations[]` entry; the
  rating is its `measure`, the date its `period.endDate` or the release date.

The value of a contract is `contracts[].value`, else its award's `value`; its period is
`contracts[].period`, else the award's `contractPeriod`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson
import ocdsmerge

from oversight.readers import FileError

RATINGS = ("good", "approaching target", "requires improvement", "inadequate")
CHARITY_SCHEMES = ("GB-CHC", "GB-SC", "GB-NIC")
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


@dataclass
class Item:
    """One release read from a file, or the reason it could not be used."""

    row_number: int
    release: dict | None
    raw_text: str
    reason: str | None = None


def clean_text(value: Any) -> str | None:
    """Text as a person would read it: HTML entities decoded, markup removed, spaces folded."""
    if value is None:
        return None
    text = html.unescape(html.unescape(str(value)))
    text = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return text or None


MAX_DEPTH = 64  # OCDS releases nest about 8 levels; far deeper is damage or an attack


def _depth(obj: Any) -> int:
    """How deeply a JSON value nests (iteratively: a 10,000-deep value must not recurse)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _check(n: int, obj: Any, raw: str | None = None) -> Item:
    if _depth(obj) > MAX_DEPTH:
        shown = raw[:2000] if raw is not None else "(not shown: nested too deeply to print)"
        return Item(n, None, shown, f"nested more than {MAX_DEPTH} levels deep")
    raw = raw if raw is not None else json.dumps(obj, ensure_ascii=False, default=str)
    if not isinstance(obj, dict):
        return Item(n, None, raw, f"not a JSON object but {type(obj).__name__}")
    ocid = obj.get("ocid")
    if not isinstance(ocid, str) or not ocid.strip():
        return Item(n, None, raw, "release has no ocid")
    return Item(n, obj, raw)


def _open(path: Path):
    """The file, opened past a UTF-8 byte-order mark if it starts with one (Windows tools
    write one; JSON parsers refuse it)."""
    f = path.open("rb")
    if f.read(3) != b"\xef\xbb\xbf":
        f.seek(0)
    return f


def _top_level_keys(path: Path) -> list[str]:
    keys = []
    with _open(path) as f:
        try:
            for prefix, event, value in ijson.parse(f):
                if prefix == "" and event == "map_key":
                    keys.append(value)
                    if value in ("releases", "records"):
                        break
                elif prefix == "" and event == "start_array":
                    raise FileError(
                        "not an OCDS package: the file is a JSON array, expected an "
                        "object with 'releases' or 'records'"
                    )
        except ijson.JSONError as exc:
            raise FileError(f"malformed JSON: {exc}") from exc
    return keys


def iter_items(path: Path, fmt: str) -> Iterator[Item]:
    """Stream the releases of a release package, record package or JSON Lines file."""
    if fmt == "jsonl":
        with path.open("rb") as f:
            for n, line in enumerate(f, start=1):
                text = line.decode("utf-8-sig", errors="replace").strip()
                if not text:
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Item(n, None, text, f"malformed JSON: {exc}")
                    continue
                yield _check(n, obj, text)
        return
    keys = _top_level_keys(path)
    if "releases" in keys:
        prefix = "releases.item"
    elif "records" in keys:
        prefix = "records.item"
    else:
        raise FileError(
            "not an OCDS release or record package: no 'releases' or 'records' "
            f"(top-level keys: {keys[:12]})"
        )
    with _open(path) as f:
        n = 0
        try:
            for obj in ijson.items(f, prefix, use_float=True):
                n += 1
                if prefix == "releases.item":
                    yield _check(n, obj)
                    continue
                embedded = (
                    [r for r in (obj.get("releases") or []) if isinstance(r, dict) and "ocid" in r]
                    if isinstance(obj, dict)
                    else []
                )
                if embedded:
                    for release in embedded:
                        yield _check(n, release)
                elif isinstance(obj, dict) and isinstance(obj.get("compiledRecord"), dict):
                    yield _check(n, obj["compiledRecord"])
                else:
                    yield Item(
                        n,
                        None,
                        json.dumps(obj, default=str)[:20000],
                        "record has no embedded releases and no compiledRecord",
                    )
        except ijson.JSONError as exc:
            raise FileError(f"malformed JSON after {n} {prefix.split('.')[0]}: {exc}") from exc


def file_format(name: str, override: str | None) -> str:
    if override in ("json", "jsonl"):
        return override
    return "jsonl" if name.lower().endswith((".jsonl", ".ndjson")) else "json"


# ---------------------------------------------------------------- compiling


def _by_id(items: Any) -> dict[str, dict]:
    return {str(x.get("id")): x for x in (items or []) if isinstance(x, dict)}


def _amount(obj: Any) -> Any:
    value = obj.get("value") if isinstance(obj, dict) else None
    return value.get("amount") if isinstance(value, dict) else None


def _period(obj: Any, key: str) -> dict:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
            terminated = (
                contract.get("status") == "terminated" and (old or {}).get("status") != "terminated"
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
                        "detail": clean_text(contract.get("statusDetails")),
                    }
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
        measure = clean_text(obs.get("measure"))
        rating = measure.lower() if measure else None
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
            }
        )
    return rows, suppliers
