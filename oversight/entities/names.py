"""How printed payee and supplier names are taken apart before they are compared.

Finance systems and registers print one organisation many ways: legal forms spelt out or
abbreviated ("Ltd" / "Limited"), decorations after the legal name (Bolton's
`Lifeways Community Care#Albion Mews`, `Neopost Ltd = Consumable items`,
`Max Potential UK Limited-Glen Avenue`), trading names (`X T/A Y`, `X TA Y`, `X trading as
Y`), parentheticals (`Electoral Reform Services (ERS) Limited`, `Pontville School (Part of
Witherslack Group)`), branch suffixes (`Community Integrated Care - Cheshire`), words split
or joined (`MDS Minibuses` / `Mds Mini Buses`), and abbreviations (`NHS FT`, `Assoc`).

`name_parts` returns the **key** (the legal name, decorations removed, normalised), the
**aliases** the name also carries (a parent named in brackets, trading names and the other
`#` segments), and a **compact** key (the key without spaces). Nothing here decides whether
two names are one supplier; `oversight.entities.entities` does, from these parts.
"""

from __future__ import annotations

import re
import re._constants as _sre  # the parsed pattern's operators (`_needs`)
import re._parser as _parser
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from oversight.core import settings

LEGAL_FORMS = (
    "public limited company",
    "limited liability partnership",
    "community interest company",
    "limited",
    "ltd",
    "plc",
    "llp",
    "llc",
    "lp",
    "cic",
    "inc",
    "incorporated",
    "gmbh",
    "co",
    "company",
)
# A name ends at one of these: what follows is a decoration ("Ltd = Consumable items").
_ENDS_NAME = {"limited", "ltd", "plc", "llp", "llc", "cic", "gmbh"}
# What a finance system leaves of "Limited" or "Ltd" when it cuts a name at a fixed width.
_CUT_LEGAL = {"li", "lim", "limi", "limit", "limite", "lt", "ltd"}
# A word one edit from these is a misspelt legal form ("Limted", "Compnay").
_NEAR_LEGAL = ("limited", "company")
# Abbreviations printed in payee names, read as the words they stand for.
ABBREVIATIONS = {
    "assoc": "association",
    "assn": "association",
    "svcs": "services",
    "servs": "services",
    "svc": "service",
    "mgmt": "management",
    "intl": "international",
    "natl": "national",
    "univ": "university",
    "bros": "brothers",
    "dept": "department",
    "govt": "government",
    "ft": "foundation trust",
    "ctr": "centre",
    "center": "centre",
    "saint": "st",
    "organization": "organisation",
}
_LEGAL = re.compile(r"\b(" + "|".join(re.escape(f) for f in LEGAL_FORMS) + r")\b")
_SEGMENTS = re.compile(r"\s*(?:#|\||;|\s=\s)\s*")
_TRADING = re.compile(r"(?:^|\s+)(?:t\s*/\s*a|t\.a\.|trading as|ta)(?:\s+|$)", re.IGNORECASE)
_PAREN = re.compile(r"\(([^()]*)(?:\)|$)")
_DASH = re.compile(r"\s+[-\u2013\u2014]+\s+")
# What may follow a bracket inside a legal name: the legal form, after a company number
# designation or not (" Ltd", " No. 2 Limited"). Other words after a bracket leave it a
# decoration: "ASL (Highway Electrical) Training Ltd" is printed "ASL Training Ltd" too.
_LEGAL_REST = re.compile(r"^\s*(?:no\.?\s*\d+\s+)?(ltd|limited|plc|llp|llc|cic)\b", re.IGNORECASE)
_PARENT = re.compile(
    r"^(?:an?\s+)?(?:division|part|member|subsidiary|branch)\s+of\s+(?:the\s+)?", re.IGNORECASE
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_INITIALS = re.compile(r"\b([a-z0-9]) (?=[a-z0-9]\b)")


def _either(patterns: list[str], flags: int = re.IGNORECASE) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags)


def _for_lower_case(patterns: list[str]) -> re.Pattern:
    """`patterns` as one pattern for lower-cased text: case-sensitive when they are written in
    lower case, else IGNORECASE still (a capital letter that is not part of an escape such as
    `\\S` would never match lower-cased text)."""
    written_lower = not any(re.search(r"(?<!\\)[A-Z]", p) for p in patterns)
    return _either(patterns, 0 if written_lower else re.IGNORECASE)


# The strings a pattern's every match contains, found from its parse (`_needs`).
_Needs = tuple[str, ...] | None


def _better(a: _Needs, b: _Needs) -> _Needs:
    """Of two sets of strings one of which a match must contain, the more selective: the one
    whose shortest string is longer."""
    if a is None or b is None:
        return b if a is None else a
    return a if min(map(len, a)) >= min(map(len, b)) else b


def _needs_in(items: list) -> _Needs:
    """`_needs` of a parsed pattern's items (a sequence: any of its runs or parts will do)."""
    best: _Needs = None
    run = ""  # consecutive plain characters
    for op, value in items:
        if op is _sre.LITERAL:
            run += chr(value)
            continue
        best, run = _better(best, (run,) if run else None), ""
        if op is _sre.SUBPATTERN and not value[1] & re.IGNORECASE:
            best = _better(best, _needs_in(list(value[-1])))
        elif op is _sre.BRANCH:
            branches = [_needs_in(list(b)) for b in value[1]]
            if all(branches):
                best = _better(best, tuple(s for b in branches for s in b))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and value[0] >= 1:
            best = _better(best, _needs_in(list(value[2])))
    return _better(best, (run,) if run else None)


def _needs(pattern: str) -> _Needs:
    """Strings one of which every match of the case-sensitive `pattern` contains (its plain
    runs of characters, through groups, alternatives and repeats of at least one), or None
    when none is found: a text that holds none of them cannot match. `"\\bcouncil\\b"` ->
    `("council",)`; `"(school|sch)\\b"` -> `("school", "sch")`."""
    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _needs_in(list(parsed))


# A pattern whose needed strings are all this long or longer is looked for through them first.
_SELECTIVE = 3


@dataclass(frozen=True)
class CaseBlind:
    """A list of patterns as one, matched whatever the case: with IGNORECASE (`pattern`), and
    for text already lower-cased (`lower`: the same, case-sensitive when written in lower
    case). When written in lower case, `needed` finds any of the strings the selective
    patterns need (`_needs`); `others` are the rest, in list order."""

    pattern: re.Pattern
    lower: re.Pattern
    needed: re.Pattern | None = None
    others: tuple[re.Pattern, ...] = ()

    @classmethod
    def of(cls, patterns: list[str]) -> CaseBlind:
        lower = _for_lower_case(patterns)
        if lower.flags & re.IGNORECASE:
            return cls(_either(patterns), lower)
        needs = [_needs(p) for p in patterns]
        selective = [bool(n) and min(map(len, n)) >= _SELECTIVE for n in needs]
        strings = sorted({s for n, sel in zip(needs, selective, strict=True) if sel for s in n})
        others = tuple(
            re.compile(f"(?:{p})") for p, sel in zip(patterns, selective, strict=True) if not sel
        )
        needed = re.compile("|".join(re.escape(s) for s in strings)) if strings else None
        return cls(_either(patterns), lower, needed, others)

    def _first_lower(self, text: str) -> re.Match | None:
        """`lower.search(text)`. Most names hold none of the strings the selective patterns
        need, and then only the others can match (each searched alone; the alternation's
        match is the leftmost of its patterns' matches, the first pattern's of those starting
        there): a long alternation tried at every position took 15 µs a name, this about 6 µs."""
        if self.needed is None or self.needed.search(text) is not None:
            return self.lower.search(text)
        found = None
        for pattern in self.others:
            match = pattern.search(text)
            if match is not None and (found is None or match.start() < found.start()):
                found = match
        return found

    def first(self, text: str) -> str | None:
        """What the patterns find first in `text`, as printed; None if nothing. ASCII text is
        lower-cased and searched with `lower`: the same match, about 40% faster than
        IGNORECASE on long alternations. Other text keeps IGNORECASE, whose folding (`ſ` for
        `s`, the Kelvin sign for `k`) lower-casing does not copy."""
        if text.isascii():
            found = self._first_lower(text.lower())
            return None if found is None else text[found.start() : found.end()]
        found = self.pattern.search(text)
        return None if found is None else found.group(0)


@dataclass(frozen=True)
class Reference:
    """The reference lists of `catalogue/payee_classes.yaml`, compiled."""

    redacted: CaseBlind
    public_body: CaseBlind
    business: re.Pattern
    public_patterns: tuple[str, ...]


@cache
def reference(path: Path | None = None) -> Reference:
    """The payee reference lists (redaction forms, public-body patterns, business words)."""
    path = path or settings.PROJECT_ROOT / "catalogue" / "payee_classes.yaml"
    data = yaml.safe_load(Path(path).read_text("utf-8"))
    return Reference(
        redacted=CaseBlind.of(data["redacted"]),
        public_body=CaseBlind.of(data["public_body"]),
        business=_either(data["business_words"]),
        public_patterns=tuple(data["public_body"]),
    )


def forget_names() -> None:
    """Empty the name caches (`normalise_text`, `name_parts`: up to 2 x 262,144 entries;
    `_is_legal_form`), about 100 MB at scale 1, held by the process for the rest of a run
    otherwise."""
    normalise_text.cache_clear()
    name_parts.cache_clear()
    _is_legal_form.cache_clear()


def is_redaction(text: str | None) -> bool:
    """A name the publisher withheld ("REDACTED", "Personal Data", "THIRD PARTY SUPPLIER")."""
    return bool(text) and reference().redacted.first(text) is not None


@dataclass(frozen=True, slots=True)
class NameParts:
    key: str  # the legal name, decorations removed, normalised: "capita business services"
    parents: tuple[str, ...] = ()  # an organisation named in brackets: "(Part of X)", "(X)"
    trading: tuple[str, ...] = ()  # trading names and the other `#` segments
    core: str = ""  # the printed text the key was made from ("Capita Business Services Ltd")
    redacted: bool = False  # the name, or its first segment, is a redaction

    @property
    def compact(self) -> str:
        return self.key.replace(" ", "")

    @property
    def aliases(self) -> tuple[str, ...]:
        return (*self.parents, *self.trading)


@lru_cache(maxsize=2**16)  # a word at a time: the words of names repeat far more than names
def _is_legal_form(word: str) -> bool:
    if word in LEGAL_FORMS:
        return True
    # One edit from "limited" or "company" (7 letters): 6 to 8 letters.
    return 6 <= len(word) <= 8 and any(
        Levenshtein.distance(word, form, score_cutoff=1) <= 1 for form in _NEAR_LEGAL
    )


_PLC = re.compile(r"\bpublic limited company\b")
_LEGAL_PHRASES = tuple(f for f in LEGAL_FORMS if " " in f)
_LEGAL_WORDS = frozenset(f for f in LEGAL_FORMS if " " not in f)
_LETTER = re.compile(r"[a-z]")
# Names repeat (a supplier is paid every month; its name is taken apart by resolution and by
# payee classification): the results of these pure functions are kept for the most recent.
NAME_CACHE = 2**18


@lru_cache(maxsize=NAME_CACHE)
def normalise_text(text: str) -> str:
    """Case, punctuation, `&`/`+`, legal forms, spelt-out initials and abbreviations:
    `'CAPITA BUSINESS SERVICES LTD'` and `'Capita Business Services Limited'` both become
    `'capita business services'`; words after a legal form are dropped."""
    text = text.casefold().replace("&", " and ").replace("+", " and ")
    text = _NON_ALNUM.sub(" ", text)
    if "public limited company" in text:
        text = _PLC.sub("plc", text)
    text = _INITIALS.sub(r"\1", text)  # "u k" -> "uk"
    words = " ".join(ABBREVIATIONS.get(w, w) for w in text.split()).split()
    for i, word in enumerate(words):
        if i >= 1 and (word in _ENDS_NAME or (len(word) >= 6 and _is_legal_form(word))):
            words = words[: i + 1]
            break
    while words and (_is_legal_form(words[-1]) or (len(words) >= 3 and words[-1] in _CUT_LEGAL)):
        words.pop()
    text = " ".join(words)
    if any(phrase in text for phrase in _LEGAL_PHRASES):
        words = _LEGAL.sub(" ", text).split()
    else:  # the words are [0-9a-z]+ and one space apart: _LEGAL removes whole words
        words = [w for w in words if w not in _LEGAL_WORDS]
    if len(words) >= 2 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _split_trading(segment: str) -> list[str]:
    """`'X T/A Y'` -> `['X', 'Y']`; `'T/A Y'` -> `['', 'Y']`."""
    return [p.strip() for p in _TRADING.split(segment)]


def _useful_alias(key: str) -> bool:
    # "#1", "#Business", "#RENTS" name no organisation: an alias must say something.
    return bool(key) and not key.isdigit() and (len(key.split()) >= 2 or len(key) >= 5)


def _key_and_brackets(text: str) -> tuple[str, list[str]]:
    """The key of one printed name, and the parents its brackets name.

    A bracket inside the legal name, before its legal form, is part of it, as Companies
    House prints it (`J Hopkins (Contractors) Ltd`, `Electricity North West (Construction &
    Maintenance) Ltd`), and so is a place (`Hollins Building Contractors (Yorkshire) Ltd` is
    usually a company of its own, not `Hollins Building Contractors Ltd`), also before a
    number designation (`X (Yorkshire) No. 2 Limited` and `X (Midlands) No. 2 Limited` are
    two companies). A bracket of the
    name's initials (`(ERS)`) is dropped. A bracket
    after the name is a decoration: dropped from the key, and a parent when it names one
    ("Part of Witherslack Group") or holds two words or more ("(The Harmony Trust)")."""
    parents: list[str] = []
    bare = text
    for match in reversed(list(_PAREN.finditer(text))):
        inner = match.group(1).strip()
        words_before = normalise_text(text[: match.start()]).split()
        initials = "".join(w[0] for w in words_before)
        if inner and inner.replace(".", "").casefold() == initials[-len(inner) :]:
            bare = bare[: match.start()] + " " + bare[match.end() :]
            continue
        rest = _DASH.split(text[match.end() :])[0]
        inside = bool(inner) and bool(_LEGAL_REST.match(rest))
        if inside and not _PARENT.match(inner):
            bare = bare[: match.start()] + " " + inner + " " + bare[match.end() :]
            continue
        parent = _PARENT.sub("", inner)
        key = normalise_text(parent)
        if key and (parent != inner or len(key.split()) >= 2):
            parents.append(key)
        bare = bare[: match.start()] + " " + bare[match.end() :]
    bare = _DASH.split(bare.strip())[0] or bare
    return normalise_text(bare), parents


@lru_cache(maxsize=NAME_CACHE)
def name_parts(name: str | None) -> NameParts:
    """Take a printed name apart: its key, its aliases, and whether it is a redaction.

    The first segment (before `#`, `|`, `;` or ` = `) that is not a redaction holds the legal
    name; within it, "X T/A Y" keeps X (Y is a trading name) and "T/A Y" keeps Y; the other
    segments are trading names too. Brackets: see `_key_and_brackets`. A spaced dash ends the
    name ("Community Integrated Care - Cheshire")."""
    if not name or not name.strip():
        return NameParts("")
    candidates: list[str] = []
    for segment in _SEGMENTS.split(name.strip()):
        candidates += [p for p in _split_trading(segment) if p]
    head = _DASH.split(candidates[0])[0] if candidates else ""
    first_redacted = bool(candidates) and is_redaction(head)
    # A redaction, or a segment with no letters ("Redacted - Personal Data#2": a counter,
    # not a trading name), names nobody. (The first candidate is its head unless a spaced
    # dash is in it: then it is not searched again.)
    candidates = [
        c
        for i, c in enumerate(candidates)
        if not (first_redacted if i == 0 and c == head else is_redaction(c))
        and _LETTER.search(normalise_text(c))
    ]
    if not candidates:
        return NameParts("", redacted=True)
    key, parents = _key_and_brackets(candidates[0])
    trading: list[str] = []
    for text in candidates[1:]:
        other, more = _key_and_brackets(text)
        if not key:
            key = other
        else:
            trading.append(other)
        parents += more

    def useful(keys: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for k in keys if k != key and _useful_alias(k)))

    return NameParts(key, useful(parents), useful(trading), candidates[0], first_redacted)


def normalise_name(name: str | None) -> str:
    """The key of a printed supplier name (see `name_parts`)."""
    return name_parts(name).key
