"""Resolve the names and registration numbers that publishers print into suppliers and buyers.

A *mention* is one distinct (name, company number, charity number) as published. Names are
first taken apart (`oversight.entities.names`: the legal name without decorations, its aliases) and
classed (`oversight.entities.payees`). Mentions are then resolved in stages, each recorded with its
method and score:

1. `identifier`: mentions sharing a company number (or, failing that, a charity number) are one
   supplier, **when their names agree**: a number printed against two dissimilar names
   ("Gazprom" under the number of "Scottish & Southern Electric") is a conflict, recorded on the
   mention (`conflict`), and the minority name is resolved by its name alone. Two numbers one
   keystroke apart (`SG298533` / `SC298533`, `02459259` / `25459259`) are one supplier only
   on the same contract reference or with an equal normalised name.
2. `name`: equal keys (case, punctuation, `&`/`and`, legal forms, decorations after `#`, a
   dash or a legal form, brackets after the name), or equal keys once spaces are removed
   (`MDS Minibuses` / `Mds Mini Buses`).
3. `alias`: a parent printed in brackets is the key of another (`Pontville School (Part of
   Witherslack Group)`), or two printings swap a legal and a trading name
   (`Sakinas Healthcare Limited T/A SureCare Bolton` / `SureCare Bolton#Sakinas Healthcare
   Limited`). A trading name alone does not join: sister companies share them.
4. `fuzzy`: keys that rapidfuzz scores at or above the threshold (plain or token-sort ratio),
   starting
   with the same three characters, with the same numbers in them, and whose differing words
   are spellings of one another (not "North" / "Group").
5. `abbreviation`: every word of the shorter key stands for the longer key's words in order:
   equal, a prefix of three letters or more (`Assoc`), the initials of a run of words
   (`GMW` = Greater Manchester West), or a last word cut off at a fixed width with the rest
   of the name (`... Support Servi`); joined only when one supplier is the only candidate.

Two different company numbers (or two different charity numbers) are never merged, at any
stage, except the one-character typos above; a charitable company may carry one of each.
Individuals and redacted payees (`oversight.entities.payees`) are never clustered: each stays
its own entity, flagged `is_personal`. Fuzzy matching uses rapidfuzz (C++, MIT, no training data
needed); splink would need labelled or EM-estimated weights over fields we mostly do not have.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from oversight.entities.names import NameParts, forget_names, name_parts, normalise_name
from oversight.entities.payees import classify, is_personal

__all__ = [
    "Mention",
    "Resolved",
    "Entity",
    "Resolution",
    "resolve",
    "resolve_columns",
    "normalise_name",
    "is_personal",
]

STAGES = ("identifier", "name", "alias", "fuzzy", "abbreviation")
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
ABBREVIATION_BLOCK = 2000  # keys sharing a first word compared word by word, at most
_BUYER_WORDS = re.compile(r"\b(" + "|".join(BUYER_WORDS) + r")\b")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Words that may follow a name without making it another company ("Focus Academy Trust UK").
# Not regions: "X (Midlands) Ltd" and "X (North) Ltd" are usually companies of their own.
_COUNTRY_WORDS = {"uk", "gb"}
_SKIP_IN_INITIALS = {"and", "of", "the", "for", "in"}


def normalise_buyer(name: str | None) -> str:
    """`'Salford City Council'` and `'Salford Council'` both become `'salford'`."""
    text = _NON_ALNUM.sub(" ", (name or "").casefold().replace("&", " and "))
    return " ".join(_BUYER_WORDS.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class Mention:
    name: str | None
    company_number: str | None = None
    charity_number: str | None = None


@dataclass(slots=True)
class Resolved:
    """Where one mention went, and why."""

    entity_id: str
    method: str  # identifier | name | alias | fuzzy | abbreviation | single | personal
    score: float
    key: str = ""  # the normalised name it was compared on
    payee_class: str = "unknown"  # oversight.core.schema.PAYEE_CLASSES
    evidence: str = ""  # what decided the class
    conflict: str | None = None  # a number printed with this name and, elsewhere, with a
    # dissimilar one: not used to resolve this mention
    aliases: tuple[str, ...] = ()  # the parents and trading names in it, as keys


@dataclass(slots=True)
class Entity:
    entity_id: str
    names: list[str] = field(default_factory=list)
    company_numbers: list[str] = field(default_factory=list)
    charity_numbers: list[str] = field(default_factory=list)
    is_personal: bool = False


def near_numbers(a: str, b: str) -> bool:
    """Two registration numbers one keystroke apart, once zero-padding is set aside: a letter
    changed (`SG298533` / `SC298533` in Salford's register) or a digit slipped in
    (`02459259` printed as `25459259`, also Salford's)."""
    a, b = a.lstrip("0"), b.lstrip("0")
    return a != b and min(len(a), len(b)) >= 5 and Levenshtein.distance(a, b) == 1


class _Clusters:
    """Union-find that refuses to join two clusters holding different company numbers, or
    different charity numbers, unless told the numbers are one typo apart and it may."""

    def __init__(self, numbers: list[str | None], charities: list[str | None]) -> None:
        self.parent = array("q", range(len(numbers)))  # 8 bytes a mention, not 36
        # A cluster's numbers: None while it has none (most mentions: a set each would cost
        # 216 bytes a mention, 0.5 GB at scale 10), else a set.
        self.numbers: list[set[str] | None] = [{n} if n else None for n in numbers]
        self.charities: list[set[str] | None] = [{n} if n else None for n in charities]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, typos: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        for ids in (self.numbers, self.charities):
            if ids[ra] and ids[rb] and ids[ra] != ids[rb]:
                both = ids[ra] | ids[rb]
                if not (typos and len(both) == 2 and near_numbers(*sorted(both))):
                    return False
        self.parent[rb] = ra
        for ids in (self.numbers, self.charities):  # each set belongs to one root
            if ids[rb] and ids[ra]:
                ids[ra] |= ids[rb]
            elif ids[rb]:
                ids[ra] = ids[rb]
            ids[rb] = None
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


def _initials(words: tuple[str, ...]) -> str:
    return "".join(w[0] for w in words if w not in _SKIP_IN_INITIALS)


def _could_end(last: str, long: tuple[str, ...]) -> bool:
    """Whether `last`, the last word of a short name, could cover the end of `long` (before
    a trailing "UK" or "GB"): as the last word or a prefix of it, or as initials whose last
    letter is the last word's initial (skipping "and", "of"...). A necessary condition for
    `abbreviates` when the name was not cut: each of its ways to cover the last words is one
    of these."""
    for end in range(len(long), 0, -1):
        if long[end - 1].startswith(last):
            return True
        if len(last) >= 3:
            word = next((w for w in reversed(long[:end]) if w not in _SKIP_IN_INITIALS), None)
            if word and word[0] == last[-1]:
                return True
        if long[end - 1] not in _COUNTRY_WORDS:
            return False
    return False


def _may_be_cut(words: tuple[str, ...], length: int) -> bool:
    """Whether a name of these words and characters may have been cut at its last word (by
    a fixed-width field): three words or more, twenty characters or more, two letters left."""
    return len(words) >= 3 and length >= 20 and len(words[-1]) >= 2


def abbreviates(short: str, long: str) -> bool:
    """Every word of `short` stands for words of `long`, in order, and all of `long` is
    covered: an equal word, a prefix of 3+ letters (`assoc`), the initials of a run of 3+
    words (`gmw`: greater manchester west), or a last word cut at a fixed width (the rest of
    `long` cut with it). A trailing "UK" or "GB" of `long` may be left over. At least one
    word of 4+ letters must be equal, so that initials alone never decide."""
    a, b = tuple(short.split()), tuple(long.split())
    if not a or a == b or len(a) > len(b):
        return False
    # Necessary conditions, cheapest first, so that most candidate pairs never reach the
    # search (1.6M pairs at scale 0.1): the last word can cover the end of `long` (or is
    # where the name was cut: a proper prefix of one of its words), and each word can stand
    # for something in it.
    last = a[-1]
    if not _could_end(last, b) and not (
        _may_be_cut(a, len(short))
        and last.isalpha()
        and any(x != last and x.startswith(last) for x in b)
    ):
        return False
    if not any(len(w) >= 4 and w in b for w in a):
        return False
    if not all(any(x.startswith(w) for x in b) or 3 <= len(w) <= len(b) for w in a):
        return False
    return _covers(a, b, len(short))


def _covers(a: tuple[str, ...], b: tuple[str, ...], short_length: int) -> bool:
    """The search behind `abbreviates`: the words `a` cover the words `b` in order."""
    # Memoised by hand: `functools.cache` on a closure made per call cost more than the
    # search itself (1.6M calls at scale 0.1 spent 30 s of 72 building the wrappers).
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        if (i, j) not in memo:
            memo[i, j] = step(i, j)
        return memo[i, j]

    def step(i: int, j: int) -> bool:
        if i == len(a):
            return all(w in _COUNTRY_WORDS for w in b[j:])
        if j == len(b):
            return False
        w = a[i]
        if w == b[j] and go(i + 1, j + 1):
            return True
        if w != b[j] and b[j].startswith(w) and w.isalpha():
            if i == len(a) - 1 and _may_be_cut(a, short_length):
                return True  # the name was cut here
            if len(w) >= 3 and go(i + 1, j + 1):
                return True
        if len(w) >= 3 and w.isalpha():
            for k in range(len(w), len(b) - j + 1):
                run = b[j : j + k]
                if _initials(run) == w and len(run) >= 3 and go(i + 1, j + k):
                    return True
                if len(_initials(run)) > len(w):
                    break
        return False

    return go(0, 0)


def names_agree(a: NameParts, b: NameParts) -> bool:
    """Could two names printed with one registration number be the same organisation?
    Dissimilar names under one number are a conflict, not a merge."""
    if not a.key or not b.key or a.key == b.key or a.compact == b.compact:
        return True
    if a.key in b.aliases or b.key in a.aliases:
        return True
    if fuzz.token_set_ratio(a.key, b.key) >= 80:
        return True
    return abbreviates(a.key, b.key) or abbreviates(b.key, a.key)


def _stable_id(prefix: str, key: str) -> str:
    return f"{prefix}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _block(key: str) -> tuple[str, tuple[str, ...]]:
    return key.replace(" ", "")[:3], _digits(key)


def _acronyms(key: str) -> list[str]:
    """The initials of the first 3-5 words: what an acronym at the start would be."""
    words = tuple(key.split())
    return [_initials(words[:k]) for k in range(3, min(len(words), 6) + 1)]


def _weigh_numbers(
    items: list[Mention], parts: list[NameParts], personal: list[bool], attr: str
) -> tuple[list[str | None], dict[int, str]]:
    """Each mention's number as resolution may use it, and the conflicts: per number, the
    mentions whose names agree with one another form groups; the largest group keeps the
    number (on a tie, the one with the first name), the others are conflicts."""
    numbers: list[str | None] = [getattr(m, attr) for m in items]
    by_number: dict[str, list[int]] = defaultdict(list)
    for i, number in enumerate(numbers):
        if number and not personal[i]:
            by_number[number].append(i)
    conflicts: dict[int, str] = {}
    for number, members in by_number.items():
        named = [i for i in members if parts[i].key]
        if len(named) < 2:
            continue
        groups = _Clusters([None] * len(named), [None] * len(named))
        for x, y in itertools.combinations(range(len(named)), 2):
            if groups.find(x) != groups.find(y) and names_agree(parts[named[x]], parts[named[y]]):
                groups.union(x, y)
        sizes = Counter(groups.find(x) for x in range(len(named)))
        if len(sizes) < 2:
            continue
        keep = min(sizes, key=lambda r: (-sizes[r], r))
        for x, i in enumerate(named):
            if groups.find(x) != keep:
                conflicts[i] = number
                numbers[i] = None
    return numbers, conflicts


@dataclass(slots=True)
class Resolution:
    """Where each mention went, as columns in the order of `items` (one list per field, no
    object per mention: 1.2M mentions at scale 10)."""

    items: list[Mention]
    entity_ids: list[str]
    methods: list[str]  # identifier | name | alias | fuzzy | abbreviation | single | personal
    scores: list[float]
    keys: list[str]
    classes: list  # PayeeClass, or None when not classed (buyers)
    conflicts: dict[int, str]  # item -> the number it was printed with and not resolved by
    entities: dict[str, Entity]  # empty unless asked for
    aliases: list[tuple[str, ...]]

    def resolved(self, i: int) -> Resolved:
        c = self.classes[i]
        return Resolved(
            self.entity_ids[i],
            self.methods[i],
            self.scores[i],
            self.keys[i],
            c.payee_class if c else "unknown",
            c.evidence if c else "",
            self.conflicts.get(i),
            self.aliases[i],
        )

    def rows(self) -> Iterator[tuple[Mention, Resolved]]:
        return ((m, self.resolved(i)) for i, m in enumerate(self.items))

    def columns(self, start: int, end: int) -> list[list]:
        """Mentions `start` to `end` (in the order of `items`) as columns: name, company
        number, charity number, then `Resolved`'s fields as `resolved` gives them (key,
        entity id, method, score, payee class, evidence, conflict, aliases), without an
        object per mention."""
        items = self.items[start:end]
        classes = self.classes[start:end]
        return [
            [m.name for m in items],
            [m.company_number for m in items],
            [m.charity_number for m in items],
            self.keys[start:end],
            self.entity_ids[start:end],
            self.methods[start:end],
            self.scores[start:end],
            [c.payee_class if c else "unknown" for c in classes],
            [c.evidence if c else "" for c in classes],
            [self.conflicts.get(i) for i in range(start, min(end, len(self.items)))],
            self.aliases[start:end],
        ]


def resolve(
    mentions: Iterable[Mention],
    fuzzy_threshold: float = 92.0,
    use_identifiers: bool = True,
    normalise: Callable[[str | None], str] | None = None,
    prefix: str = "supplier",
    stages: Iterable[str] = STAGES,
    references: Mapping[str, Iterable[Mention]] | None = None,
) -> tuple[dict[Mention, Resolved], dict[str, Entity]]:
    """Resolve mentions into entities; returns where each mention went and the entities.

    `normalise` replaces the supplier name parts with a plain key (buyers); `stages` stops
    after some stages (the evaluation measures each); `references` groups the mentions printed
    under one contract reference (the evidence for a typo in a number)."""
    out = resolve_columns(
        mentions, fuzzy_threshold, use_identifiers, normalise, prefix, stages, references
    )
    return dict(out.rows()), out.entities


def resolve_columns(
    mentions: Iterable[Mention],
    fuzzy_threshold: float = 92.0,
    use_identifiers: bool = True,
    normalise: Callable[[str | None], str] | None = None,
    prefix: str = "supplier",
    stages: Iterable[str] = STAGES,
    references: Mapping[str, Iterable[Mention]] | None = None,
    with_entities: bool = True,
) -> Resolution:
    """`resolve`, as columns: what the warehouse writes, without an object per mention (and
    without the entities unless `with_entities`: the warehouse builds those in SQL)."""
    stages = set(stages)
    items = sorted(
        mentions if isinstance(mentions, (set, frozenset, dict)) else set(mentions),
        key=lambda m: (m.name or "", m.company_number or "", m.charity_number or ""),
    )
    if not use_identifiers:
        items = sorted({Mention(m.name) for m in items}, key=lambda m: m.name or "")
    if normalise is None:
        parts = [name_parts(m.name) for m in items]
        classes = [
            classify(m.name, m.company_number, m.charity_number, parts=p)
            for m, p in zip(items, parts, strict=True)
        ]
    else:
        parts = [NameParts(normalise(m.name)) for m in items]
        classes = [None] * len(items)
    personal = [bool(c and c.is_personal) for c in classes]
    keys = [p.key for p in parts]
    conflicts: dict[int, str] = {}
    numbers: list[str | None] = [m.company_number for m in items]
    charities: list[str | None] = [m.charity_number for m in items]
    if "identifier" in stages:
        numbers, found = _weigh_numbers(items, parts, personal, "company_number")
        charities, found_charities = _weigh_numbers(items, parts, personal, "charity_number")
        conflicts = {**found_charities, **found}
    clusters = _Clusters(numbers, charities)
    method = ["single"] * len(items)
    score = [1.0] * len(items)

    def join(i: int, j: int, how: str, s: float, typos: bool = False) -> None:
        if clusters.union(i, j, typos):
            for k in (i, j):
                if method[k] == "single":
                    method[k], score[k] = how, s

    if "identifier" in stages:
        by_number: dict[str, int] = {}
        by_charity: dict[str, int] = {}
        for i in range(len(items)):
            if personal[i]:
                continue
            if numbers[i]:
                if numbers[i] in by_number:
                    join(by_number[numbers[i]], i, "identifier", 1.0)
                by_number.setdefault(numbers[i], i)
            elif charities[i]:
                if charities[i] in by_charity:
                    join(by_charity[charities[i]], i, "identifier", 1.0)
                by_charity.setdefault(charities[i], i)
        referenced = {m for group in (references or {}).values() for m in group}
        index = {m: i for i, m in enumerate(items) if m in referenced}
        for group in (references or {}).values():
            members = sorted({index[m] for m in group if m in index and numbers[index[m]]})
            for x, y in itertools.combinations(members, 2):
                if near_numbers(numbers[x], numbers[y]):
                    join(x, y, "identifier", 0.95, typos=True)

    by_key: dict[str, int] = {}
    by_compact: dict[str, int] = {}
    for i, key in enumerate(keys):
        if personal[i] or not key:
            continue
        compact = key.replace(" ", "")
        if "name" in stages:
            if key in by_key:
                join(by_key[key], i, "name", 1.0, typos=True)
            elif compact in by_compact:
                join(by_compact[compact], i, "name", 1.0, typos=True)
        by_key.setdefault(key, i)
        by_compact.setdefault(compact, i)

    def named(text: str) -> int | None:
        return by_key.get(text, by_compact.get(text.replace(" ", "")))

    if "alias" in stages:
        # A parent named in brackets is that supplier. A trading name is not enough on its
        # own: on real files a standalone "Voyage Care" or "Greenham" is a sister company of
        # "X T/A Voyage Care"; two printings that swap a legal and a trading name are one.
        for i, p in enumerate(parts):
            if personal[i]:
                continue
            for parent in p.parents:
                if (j := named(parent)) is not None and j != i:
                    join(j, i, "alias", 0.95)
            for other in p.trading:
                j = named(other)
                if j is not None and j != i and p.key in parts[j].trading:
                    join(j, i, "alias", 0.95)

    aliases = [p.aliases for p in parts]  # (mostly the one empty tuple)
    del parts  # (1.2M name parts at scale 10: the keys are what the stages below compare)
    forget_names()  # and the caches that hold up to 2 x 262,144 of them
    if "fuzzy" in stages:
        # Names are compared within blocks sharing their first three characters (a typo
        # later in the first word still meets its twin) and the numbers in them (names with
        # different numbers are never merged), with rapidfuzz's vectorised cdist, a slice
        # of rows at a time so that memory stays flat however large a block is.
        blocks: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
        for key in by_key:
            blocks[_block(key)].append(key)
        # Both the plain and the token-sorted ratio: sorting moves a misspelt word
        # ("srvices" sorts after "sewer", "services" before it).
        for block in blocks.values():
            for start in range(0, len(block) - 1, FUZZY_SLICE):
                scores = np.maximum(
                    *(
                        process.cdist(
                            block[start : start + FUZZY_SLICE],
                            block,
                            scorer=scorer,
                            score_cutoff=fuzzy_threshold,
                            dtype=np.uint8,
                            workers=-1,
                        )
                        for scorer in (fuzz.ratio, fuzz.token_sort_ratio)
                    )
                )
                for x, y in zip(*scores.nonzero(), strict=True):
                    a, b = block[start + x], block[y]
                    if start + x < y and _spelling_variants(a, b):
                        join(by_key[a], by_key[b], "fuzzy", round(float(scores[x, y]) / 100, 3))

    if "abbreviation" in stages:
        # Candidates share the first word, or the short key's first word is the initials of
        # the long key's first words; a short key joins only when its candidates are one
        # supplier already (two different suppliers it could abbreviate: leave it alone).
        by_first: dict[str, list[str]] = defaultdict(list)
        by_acronym: dict[str, list[str]] = defaultdict(list)
        for key in by_key:
            by_first[key.split()[0]].append(key)
            for acronym in _acronyms(key):
                by_acronym[acronym].append(key)
        for short in by_key:
            first = short.split()[0]
            candidates = by_first[first] if len(by_first[first]) <= ABBREVIATION_BLOCK else []
            candidates = [*candidates, *by_acronym.get(first, ())]
            found = {
                clusters.find(by_key[long])
                for long in candidates
                if len(long) > len(short) and abbreviates(short, long)
            }
            if len(found) == 1:
                join(found.pop(), by_key[short], "abbreviation", 0.9)

    # The clusters, each as a run of a sorted array (not a list per cluster).
    n = len(items)
    roots = np.fromiter((clusters.find(i) for i in range(n)), dtype=np.int64, count=n)
    order = np.argsort(roots, kind="stable")
    bounds = [0, *(np.flatnonzero(np.diff(roots[order])) + 1).tolist(), n] if n else [0]
    del roots
    entity_ids: list[str] = [""] * n
    entities: dict[str, Entity] = {}
    for start, end in itertools.pairwise(bounds):
        members = order[start:end].tolist()
        first = members[0]
        numbers_here = sorted({numbers[i] for i in members if numbers[i]})
        charities_here = sorted({charities[i] for i in members if charities[i]})
        if personal[first]:
            entity_id = _stable_id("personal", items[first].name or "")
        elif numbers_here:
            entity_id = f"GB-COH-{numbers_here[0]}"
        elif charities_here:
            entity_id = f"GB-CHC-{charities_here[0]}"
        else:
            entity_id = _stable_id(prefix, min(keys[i] for i in members) or "(no name)")
        for i in members:
            entity_ids[i] = entity_id
            if personal[i]:
                method[i] = "personal"
        if with_entities:
            entity = entities.setdefault(entity_id, Entity(entity_id, is_personal=personal[first]))
            entity.names = sorted(
                {*entity.names, *(items[i].name for i in members if items[i].name)}
            )
            entity.company_numbers = numbers_here
            entity.charity_numbers = charities_here
    return Resolution(items, entity_ids, method, score, keys, classes, conflicts, entities, aliases)
