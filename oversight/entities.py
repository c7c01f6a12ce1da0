"""Resolve the names and registration numbers that publishers print into suppliers and buyers.

A *mention* is one distinct (name, company number, charity number) as published. Mentions are
resolved in stages, each recorded with its method and score:

1. `identifier`: mentions sharing a company number (or, failing that, a charity number) are one
   supplier.
2. `name`: mentions whose normalised names are equal (case, punctuation, `&`/`and`, legal forms
   such as Ltd/Limited/PLC/LLP, "trading as") are one supplier.
3. `fuzzy`: normalised names that rapidfuzz scores at or above the threshold (token sort ratio),
   starting with the same three characters, with the same numbers in them, and whose differing
   words are spellings of one another (not "North" / "Group"), are one supplier.

Two different company numbers (or two different charity numbers) are never merged, at any
stage; a charitable company may carry one of each. Redacted and personal payees
("REDACTED", "Personal Data", "Mr J Smith", "SMITH, J") are never clustered: each stays its own
entity, flagged `is_personal`. Fuzzy matching uses rapidfuzz (C++, MIT, no training data
needed); splink would need labelled or EM-estimated weights over fields we mostly do not have.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

LEGAL_FORMS = (
    "public limited company",
    "limited liability partnership",
    "community interest company",
    "limited",
    "ltd",
    "plc",
    "llp",
    "lp",
    "cic",
    "inc",
    "incorporated",
    "co",
    "company",
)
_LEGAL = re.compile(r"\b(" + "|".join(re.escape(f) for f in LEGAL_FORMS) + r")\b")
_TRADING = re.compile(r"\s*\b(t/a|t\.a\.|trading as)\b\s*", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_PERSONAL = re.compile(
    r"redact|personal (data|information|details)|private individual|withheld|confidential|"
    r"^(mr|mrs|ms|miss|dr|mx)\.?\s|^[a-z' -]+, ?[a-z]\.?$|^[a-z]\.? [a-z]\.? [a-z'-]+$",
    re.IGNORECASE,
)
BUYER_WORDS = (
    "the",
    "of",
    "council",
    "city",
    "borough",
    "metropolitan",
    "district",
    "county",
    "mbc",
    "mdc",
    "cc",
    "dc",
)
FUZZY_SLICE = 2000  # rows of a block scored at once: 2,000 x block size bytes
_BUYER_WORDS = re.compile(r"\b(" + "|".join(BUYER_WORDS) + r")\b")


def normalise_name(name: str | None) -> str:
    """`'CAPITA BUSINESS SERVICES LTD'` and `'Capita Business Services Limited'` both become
    `'capita business services'`. For "X t/a Y" the legal entity X is kept; a name that starts
    with "T/A" keeps what follows."""
    if not name:
        return ""
    text = name.strip()
    parts = [p for p in _TRADING.split(text) if p and not _TRADING.fullmatch(p)]
    if parts:
        text = parts[0]
    text = text.casefold().replace("&", " and ").replace("+", " and ")
    text = _NON_ALNUM.sub(" ", text)
    text = re.sub(r"\bpublic limited company\b", "plc", text)
    text = re.sub(r"\b([a-z0-9]) (?=[a-z0-9]\b)", r"\1", text)  # "u k" -> "uk"
    words = text.split()
    while words and _is_legal_form(words[-1]):  # "Limited", also misspelt ("Limied")
        words.pop()
    text = _LEGAL.sub(" ", " ".join(words))
    text = re.sub(r"^the\s+", "", text.strip())
    return " ".join(text.split())


def _is_legal_form(word: str) -> bool:
    if word in LEGAL_FORMS:
        return True
    return len(word) >= 5 and any(
        Levenshtein.distance(word, form) <= 1 for form in ("limited", "company")
    )


def normalise_buyer(name: str | None) -> str:
    """`'Salford City Council'` and `'Salford Council'` both become `'salford'`."""
    text = _NON_ALNUM.sub(" ", (name or "").casefold().replace("&", " and "))
    return " ".join(_BUYER_WORDS.sub(" ", text).split())


def is_personal(name: str | None) -> bool:
    """A payee that is a redaction or a private individual, not an organisation."""
    if not name:
        return False
    text = name.strip()
    if re.search(
        r"\b(ltd|limited|plc|llp|council|trust|school|services|group)\b", text, re.IGNORECASE
    ):
        return False
    return bool(_PERSONAL.search(text))


@dataclass(frozen=True)
class Mention:
    name: str | None
    company_number: str | None = None
    charity_number: str | None = None


@dataclass
class Resolved:
    """Where one mention went, and why."""

    entity_id: str
    method: str  # identifier | name | fuzzy | single | personal
    score: float
    key: str = ""  # the normalised name it was compared on


@dataclass
class Entity:
    entity_id: str
    names: list[str] = field(default_factory=list)
    company_numbers: list[str] = field(default_factory=list)
    charity_numbers: list[str] = field(default_factory=list)
    is_personal: bool = False


class _Clusters:
    """Union-find that refuses to join two clusters holding different company numbers, or
    different charity numbers."""

    def __init__(self, mentions: list[Mention]) -> None:
        self.parent = list(range(len(mentions)))
        self.numbers = [{m.company_number} if m.company_number else set() for m in mentions]
        self.charities = [{m.charity_number} if m.charity_number else set() for m in mentions]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        for ids in (self.numbers, self.charities):
            if ids[ra] and ids[rb] and ids[ra] != ids[rb]:
                return False
        self.parent[rb] = ra
        self.numbers[ra] |= self.numbers[rb]
        self.charities[ra] |= self.charities[rb]
        return True


def _digits(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(re.findall(r"\d+", text))))


def _spelling_variants(a: str, b: str) -> bool:
    """True when the words that differ between two names are spellings of one another (a
    typo, a dropped letter, words run together), not different words: 'Crossfield Plumbing
    (North)' and 'Crossfield Plumbing Group' score 92+ on long names but are two companies."""
    words_a, words_b = Counter(a.split()), Counter(b.split())
    only_a = "".join(sorted((words_a - words_b).elements()))
    only_b = "".join(sorted((words_b - words_a).elements()))
    return Levenshtein.normalized_similarity(only_a, only_b) >= 0.75


def _stable_id(prefix: str, key: str) -> str:
    return f"{prefix}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def resolve(
    mentions: Iterable[Mention],
    fuzzy_threshold: float = 92.0,
    use_identifiers: bool = True,
    normalise=normalise_name,
    prefix: str = "supplier",
) -> tuple[dict[Mention, Resolved], dict[str, Entity]]:
    """Resolve mentions into entities; returns where each mention went and the entities."""
    items = sorted(
        set(mentions), key=lambda m: (m.name or "", m.company_number or "", m.charity_number or "")
    )
    if not use_identifiers:
        items = sorted({Mention(m.name) for m in items}, key=lambda m: m.name or "")
    clusters = _Clusters(items)
    method = ["single"] * len(items)
    score = [1.0] * len(items)
    personal = [is_personal(m.name) for m in items]
    keys = [normalise(m.name) for m in items]

    def join(i: int, j: int, how: str, s: float) -> None:
        if clusters.union(i, j):
            for k in (i, j):
                if method[k] == "single":
                    method[k], score[k] = how, s

    by_number: dict[str, int] = {}
    by_charity: dict[str, int] = {}
    for i, m in enumerate(items):
        if personal[i]:
            continue
        if m.company_number:
            if m.company_number in by_number:
                join(by_number[m.company_number], i, "identifier", 1.0)
            by_number.setdefault(m.company_number, i)
        elif m.charity_number:
            if m.charity_number in by_charity:
                join(by_charity[m.charity_number], i, "identifier", 1.0)
            by_charity.setdefault(m.charity_number, i)

    by_key: dict[str, int] = {}
    for i, key in enumerate(keys):
        if personal[i] or not key:
            continue
        if key in by_key:
            join(by_key[key], i, "name", 1.0)
        by_key.setdefault(key, i)

    # Fuzzy stage: names are compared within blocks sharing their first three characters
    # (a typo later in the first word still meets its twin) and the numbers in them (names
    # with different numbers are never merged), with rapidfuzz's vectorised cdist, a slice
    # of rows at a time so that memory stays flat however large a block is.
    blocks: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for key in by_key:
        blocks[key[:3], _digits(key)].append(key)
    for block in blocks.values():
        for start in range(0, len(block) - 1, FUZZY_SLICE):
            scores = process.cdist(
                block[start : start + FUZZY_SLICE],
                block,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=fuzzy_threshold,
                dtype=np.uint8,
                workers=-1,
            )
            for x, y in zip(*scores.nonzero(), strict=True):
                a, b = block[start + x], block[y]
                if start + x < y and _spelling_variants(a, b):
                    join(by_key[a], by_key[b], "fuzzy", round(float(scores[x, y]) / 100, 3))

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(items)):
        groups[clusters.find(i)].append(i)
    resolved: dict[Mention, Resolved] = {}
    entities: dict[str, Entity] = {}
    for members in groups.values():
        numbers = sorted({items[i].company_number for i in members if items[i].company_number})
        charities = sorted({items[i].charity_number for i in members if items[i].charity_number})
        if personal[members[0]]:
            entity_id = _stable_id("personal", items[members[0]].name or "")
        elif numbers:
            entity_id = f"GB-COH-{numbers[0]}"
        elif charities:
            entity_id = f"GB-CHC-{charities[0]}"
        else:
            entity_id = _stable_id(prefix, min(keys[i] for i in members) or "(no name)")
        entity = entities.setdefault(entity_id, Entity(entity_id, is_personal=personal[members[0]]))
        entity.names = sorted({*entity.names, *(items[i].name for i in members if items[i].name)})
        entity.company_numbers = numbers
        entity.charity_numbers = charities
        for i in members:
            how = "personal" if personal[i] else method[i]
            resolved[items[i]] = Resolved(entity_id, how, score[i], keys[i])
    return resolved, entities


def _features(mention: Mention, key: str) -> set[tuple]:
    """What a mention can be joined on: its numbers, its name key and its fuzzy block."""
    out: set[tuple] = set()
    if key:
        out |= {("key", key), ("block", key[:3], _digits(key))}
    if mention.company_number:
        out.add(("number", mention.company_number))
    if mention.charity_number:
        out.add(("charity", mention.charity_number))
    return out


def resolve_incrementally(
    previous: dict[Mention, Resolved],
    new: Iterable[Mention],
    fuzzy_threshold: float = 92.0,
    normalise=normalise_name,
    prefix: str = "supplier",
) -> dict[Mention, Resolved]:
    """What `resolve` gives for the previous mentions plus new ones, computed again only
    where the new ones can change it (a nightly run brings a few new names, not 100k).

    The part resolved again is closed under everything resolution joins on: every previous
    mention sharing a company or charity number, a name key or a fuzzy block with a new
    mention, every other mention of the suppliers those belong to, and so on until nothing
    is added. Resolution treats that part exactly as it would inside the whole (the same
    items in the same order, and nothing outside can join them), so the result equals a full
    resolution; tests compare the two."""
    new = {m for m in new if m not in previous}
    if not new:
        return dict(previous)
    index: dict[tuple, list[Mention]] = defaultdict(list)
    members: dict[str, list[Mention]] = defaultdict(list)
    for m, r in previous.items():
        members[r.entity_id].append(m)
        if r.method != "personal":
            for f in _features(m, r.key):
                index[f].append(m)
    part = set(new)
    frontier: set[tuple] = set()
    for m in new:
        if not is_personal(m.name):
            frontier |= _features(m, normalise(m.name))
    seen_features: set[tuple] = set()
    seen_entities: set[str] = set()
    while frontier:
        feature = frontier.pop()
        seen_features.add(feature)
        for m in index.get(feature, ()):
            entity = previous[m].entity_id
            if entity in seen_entities:
                continue
            seen_entities.add(entity)
            for x in members[entity]:
                part.add(x)
                if previous[x].method != "personal":
                    frontier |= _features(x, previous[x].key) - seen_features
    again, _ = resolve(part, fuzzy_threshold, normalise=normalise, prefix=prefix)
    return {**{m: r for m, r in previous.items() if m not in part}, **again}
