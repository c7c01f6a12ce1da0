"""`python -m oversight.evaluation.link_eval [WAREHOUSE]`: measure payment-to-contract linking (the
`links.spend_contract` table) against payments whose contract was decided by hand, **blind**.

The data: `tests/fixtures/salford_link_decisions.csv` holds 150 Salford City Council payments
(`salford/spend/*.csv`: payments over £500, July 2020 - June 2022, one file a month, columns
`Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name,Service Area,GL Description`)
and, for each, the row of Salford's July 2022 contract register
(`salford/contract-register/2022-07.csv`: 360 contracts over £5k with supplier, start, end, current
expiry and extension options) that the payment pays. The decisions were made from those two files
only, before and without looking at what the project's linker chose. The fixture holds no names:
payments and register rows are 1-based CSV record numbers (the header is record 1, as
`staging.*.row_number` counts lines) of files in ../shared/data/real, each checked by sha256.

The sample (`draw_sample`, seed `SEED` = 20240717) has two strata, drawn from every non-blank
payment row of the 24 spend files:

- `candidates`: 100 payments whose payee has at least one *candidate* register row, a generous
  name match with dates ignored (`CandidateIndex`): equal keys
  (`oversight.entities.names.name_parts`, spaces ignored), one key a prefix of the other,
  rapidfuzz ratio >= 85 or token-set ratio >= 90 with a shared word, initials ("City Electrical
  Factors" / "CEF Electrical"), a rare first word spelt alike, shared rare words covering half
  the words, or a long partial match;
- `no_candidates`: 50 payments whose payee has none.

Each payment's answer, as a careful auditor would give it from supplier, payment date against
start / end / current expiry / extension options, amount against value, and service area and
ledger description against title and directorate: `row` (the contract's register row or rows:
rows sharing a reference that are one contract), `none` (no register contract pays it: another
payee, or a payment far outside every period), or `ambiguous` (two or more contracts equally
plausible, listed). Each decision carries a short `why`.

Scoring (`evaluate_links`): a payment's link is its `links.spend_contract` row; the linked
register rows are the `staging.contracts` rows of the linked `contract_id`. **Precision** =
correct links / links made; **recall** = correct links of payments answered `row` / those
payments. A link is correct when it reaches one of the answer's rows; a link on a `none` answer
is wrong; a link on an `ambiguous` answer is wrong unless its method is `ambiguous`; a link of
method `ambiguous` is correct there, or on a `row` answer when its contract is the answer's, and
wrong otherwise. Links to contracts from other sources (notices) are not judged: they are
counted apart and left out of precision (a miss for recall)."""

from __future__ import annotations

import csv
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from rapidfuzz import fuzz

from oversight.core import settings
from oversight.entities.names import NameParts, name_parts, normalise_text
from oversight.evaluation.real_files import REAL_DIR, FixtureMismatch, check_file, records

FIXTURE = settings.PROJECT_ROOT / "tests" / "fixtures" / "salford_link_decisions.csv"
REGISTER_FILE = "salford/contract-register/2022-07.csv"
SPEND_GLOB = "salford/spend/*.csv"
SPEND_SOURCE = "salford-spend"
SEED = 20240717
SAMPLE = {"candidates": 100, "no_candidates": 50}
STRATA = tuple(SAMPLE)
ANSWERS = ("row", "none", "ambiguous")
AMBIGUOUS_METHOD = "ambiguous"
VENDOR_COLUMN = 6  # `Vendor Name` (`Supplier Name` in July 2020)
SUPPLIER_COLUMN = "Supplier Company Name"


@dataclass(frozen=True)
class Decision:
    """One hand-made decision: which register row(s) a payment pays.

    `spend_row` and `register_rows` are 1-based CSV record numbers, header = 1."""

    spend_file: str
    spend_row: int
    spend_sha256: str
    stratum: str  # "candidates" | "no_candidates"
    answer: str  # "row" | "none" | "ambiguous"
    register_rows: tuple[int, ...]
    register_sha256: str
    why: str


# --- the files -----------------------------------------------------------------------------


def read_decisions(path: Path = FIXTURE) -> list[Decision]:
    """The decisions of a fixture CSV (lines starting `#` are comments)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    out = []
    for row in csv.DictReader(lines):
        rows = tuple(int(r) for r in row["register_rows"].split(";") if r.strip())
        out.append(
            Decision(
                row["spend_file"],
                int(row["spend_row"]),
                row["spend_sha256"],
                row["stratum"],
                row["answer"],
                rows,
                row["register_sha256"],
                row["why"],
            )
        )
    return out


def _check_file(real_dir: Path, file: str, sha: str) -> int:
    """Check a file is the one a decision was written against; its number of records."""
    check_file(real_dir, file, sha)
    return len(records(real_dir, file))


def check_decisions(decisions: Iterable[Decision], real_dir: Path = REAL_DIR) -> None:
    """Every decision's spend row and register rows exist in files whose sha256 matches, and
    its answer is well formed (`FixtureMismatch` otherwise, saying what differs)."""
    for d in decisions:
        where = f"{d.spend_file}:{d.spend_row}"
        if d.answer not in ANSWERS or d.stratum not in STRATA:
            raise FixtureMismatch(f"{where}: answer {d.answer!r} / stratum {d.stratum!r}")
        if (d.answer == "none") != (not d.register_rows):
            raise FixtureMismatch(f"{where}: answer {d.answer} with rows {d.register_rows}")
        n = _check_file(real_dir, d.spend_file, d.spend_sha256)
        if not 2 <= d.spend_row <= n:
            raise FixtureMismatch(f"{where}: outside the file's {n} records")
        m = _check_file(real_dir, REGISTER_FILE, d.register_sha256)
        for r in d.register_rows:
            if not 2 <= r <= m:
                raise FixtureMismatch(f"{where}: register row {r} outside its {m} records")


# --- the sample: candidate register rows by payee name ---------------------------------------

# Words too common in names to tie a payee to a supplier on their own.
# fmt: off
_COMMON = frozenset((
    "and", "the", "of", "uk", "services", "service", "group", "care", "limited", "ltd",
    "solutions", "council", "city", "salford", "manchester", "greater", "north", "west",
    "trust", "company", "systems", "management", "consultancy", "consulting", "international",
    "associates", "co", "plc", "nhs", "foundation", "st", "road", "centre", "house", "home",
    "homes", "community", "health", "training", "support", "supplies", "supply", "products",
    "technologies", "technology",
))
# fmt: on
_SPLIT = re.compile(r"\s+via\s+|\s+and\s+|,|\s&\s|/", re.IGNORECASE)
_BRACKET = re.compile(r"\(([^()]*)\)")
_RARE = 5  # a word is rare when at most this many distinct names print it


def _words(key: str) -> set[str]:
    return {w for w in normalise_text(key).split() if len(w) >= 3 and w not in _COMMON}


def _initials(keys: Iterable[str]) -> set[str]:
    out = set()
    for key in keys:
        words = [w for w in key.split() if w not in ("and", "of", "the", "for")]
        if len(words) >= 2:
            out.add("".join(w[0] for w in words))
    return out


def _acronym(initials: set[str], keys: set[str], heads: set[str]) -> bool:
    """An acronym of one name (`initials`) is a key of the other, or (3 letters or more) the
    first word of one of its keys (`heads`)."""
    return bool(initials & keys or {i for i in initials if len(i) >= 3} & heads)


def _first_words(keys: Iterable[str]) -> set[str]:
    out = set()
    for key in keys:
        words = key.split()
        if len(words) >= 2 and len(words[0]) >= 4 and words[0] not in _COMMON:
            out.add(words[0])
    return out


def _partial(a: str, b: str) -> bool:
    if len(a.split()) < 2 or len(b.split()) < 2 or min(len(a), len(b)) < 10:
        return False
    return fuzz.partial_ratio(a, b) >= 95


@dataclass
class _Name:
    """A printed name taken apart for matching (`row`: the register row, 0 for a payee)."""

    row: int
    key: str
    keys: set[str]
    compact: set[str] = field(init=False)  # the keys without spaces
    words: set[str] = field(init=False)  # their uncommon words of 3 letters or more
    initials: set[str] = field(init=False)  # acronyms of the keys of two words or more
    heads: set[str] = field(init=False)  # first words of the keys of two words or more
    first_words: set[str] = field(init=False)  # uncommon first words of 4 letters or more

    def __post_init__(self) -> None:
        self.compact = {k.replace(" ", "") for k in self.keys}
        self.words = set().union(*(_words(k) for k in self.keys))
        self.initials = _initials(self.keys)
        self.heads = {k.split()[0] for k in self.keys if len(k.split()) >= 2}
        self.first_words = _first_words(self.keys)


class CandidateIndex:
    """The register rows whose supplier is plausibly a payee, by name alone (dates ignored).

    Generous on purpose: the `no_candidates` stratum must hold payments no reader would tie to
    a register contract. `names` are every name the rule will see (payees and suppliers): how
    many of them print a word decides whether the word is rare."""

    def __init__(self, register: Sequence[tuple[int, str]], names: Iterable[str]) -> None:
        df: Counter[str] = Counter()
        for name in set(names) | {s for _, s in register}:
            for word in set(normalise_text(name_parts(name).key).split()):
                df[word] += 1
        self.df = df
        self.suppliers = []
        for row, supplier in register:
            keys, parts = self.keys(supplier)
            self.suppliers.append(_Name(row, parts.key, keys))

    def _rare(self, words: set[str]) -> set[str]:
        return {w for w in words if self.df.get(w, 0) <= _RARE}

    def keys(self, name: str) -> tuple[set[str], NameParts]:
        """A name's keys: its key and aliases, the keys of its parts ("X via Y", "X and Y",
        "X, Y") and of its brackets when they say something (two words, or a rare word)."""
        name = name.replace("\n", " ")
        parts = name_parts(name)
        extra = {name_parts(p).key for p in _SPLIT.split(name)}
        extra |= {normalise_text(b) for b in _BRACKET.findall(name)}
        extra = {
            k
            for k in extra
            if len(k) >= 2
            and (len(k.split()) >= 2 or (k not in _COMMON and self.df.get(k, 0) <= _RARE))
        }
        return {k for k in {parts.key, *parts.aliases} | extra if k}, parts

    def _first_alike(self, a: set[str], b: set[str]) -> bool:
        for x in a:
            for y in b:
                wx, wy = x.split(), y.split()
                if (
                    wx
                    and wy
                    and len(wx[0]) >= 5
                    and len(wy[0]) >= 5
                    and wx[0] not in _COMMON
                    and wy[0] not in _COMMON
                    and wx[0] != wy[0]
                    and fuzz.ratio(wx[0], wy[0]) >= 85
                    and self.df.get(wx[0], 0) <= _RARE
                    and self.df.get(wy[0], 0) <= _RARE
                ):
                    return True
        return False

    def _matches(self, payee: _Name, s: _Name) -> bool:
        keys, compact, words = payee.keys, payee.compact, payee.words
        if keys & s.keys or compact & s.compact:
            return True
        if any(
            min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a))
            for a in compact
            for b in s.compact
        ):
            return True
        if max(fuzz.ratio(a, b) for a in keys for b in s.keys) >= 85:
            return True
        shared = words & s.words
        if shared and max(fuzz.token_set_ratio(a, b) for a in keys for b in s.keys) >= 90:
            return True
        if (
            _acronym(payee.initials, s.keys, s.heads)
            or _acronym(s.initials, keys, payee.heads)
            or self._first_alike(keys, s.keys)
        ):
            return True
        if self._rare(shared) and len(shared) >= 0.5 * max(len(words), len(s.words)):
            return True
        return bool(self._rare(payee.first_words & s.first_words)) or _partial(payee.key, s.key)

    def candidates(self, payee: str) -> list[int]:
        """The register rows (record numbers) whose supplier is plausibly `payee`."""
        keys, parts = self.keys(payee)
        if not keys:
            return []
        name = _Name(0, parts.key, keys)
        return [s.row for s in self.suppliers if s.keys and self._matches(name, s)]


def spend_rows(real_dir: Path = REAL_DIR) -> list[tuple[str, int, str]]:
    """Every non-blank payment of the Salford spend files: (file, record number, payee)."""
    out = []
    for path in sorted(Path(real_dir).glob(SPEND_GLOB)):
        file = path.relative_to(real_dir).as_posix()
        for number, record in enumerate(records(real_dir, file)[1:], start=2):
            if any(c.strip() for c in record):
                out.append((file, number, record[VENDOR_COLUMN] if len(record) > 6 else ""))
    return out


def register_suppliers(real_dir: Path = REAL_DIR) -> list[tuple[int, str]]:
    """The register's rows: (record number, supplier as printed)."""
    rows = records(real_dir, REGISTER_FILE)
    i = list(rows[0]).index(SUPPLIER_COLUMN)
    return [(n, r[i]) for n, r in enumerate(rows[1:], start=2)]


def draw_sample(real_dir: Path = REAL_DIR, seed: int = SEED) -> list[tuple[str, str, int]]:
    """The payments the decisions were made for: (stratum, file, record number), sorted within
    each stratum; `SAMPLE` of each, drawn without replacement with `random.Random(seed)`."""
    payments = spend_rows(real_dir)
    index = CandidateIndex(register_suppliers(real_dir), {p for _, _, p in payments})
    has: dict[str, bool] = {}
    for _, _, payee in payments:
        if payee not in has:
            has[payee] = bool(index.candidates(payee))
    pools = {
        "candidates": sorted((f, n) for f, n, p in payments if has[p]),
        "no_candidates": sorted((f, n) for f, n, p in payments if not has[p]),
    }
    rng = random.Random(seed)
    out = []
    for stratum in STRATA:
        out += [(stratum, f, n) for f, n in sorted(rng.sample(pools[stratum], SAMPLE[stratum]))]
    return out


# --- scoring -------------------------------------------------------------------------------

LINK_SQL = """
select l.contract_id, l.method, l.unlinked_reason, l.score
from links.spend_contract l
where l.source_id = ? and l.file_path = ? and l.row_number = ?
order by l.contract_id nulls last
"""
# The register rows of the linked entry's contract (rows of one reference and supplier are one
# contract: a link to any of them is a link to the contract).
ROWS_SQL = """
select c.file_path, c.row_number
from links.contract_entries e
join links.contract_entries k on k.contract_key = e.contract_key
join staging.contracts c on c.contract_id = k.entry_id
where e.entry_id = ?
union
select file_path, row_number from staging.contracts where contract_id = ?
"""

# What happened to one decided payment.
CORRECT = "correct"  # linked to the answer's contract (or flagged ambiguous on an ambiguous one)
WRONG_CONTRACT = "wrong_contract"  # answer row, linked to another register contract
MISSED = "missed"  # answer row, not linked
FALSE_LINK = "false_link"  # answer none, linked
TRUE_NONE = "true_none"  # answer none, not linked
AMBIGUOUS_LINKED = "ambiguous_linked"  # answer ambiguous, linked to one contract
AMBIGUOUS_UNLINKED = "ambiguous_unlinked"  # answer ambiguous, not linked
FLAGGED_WRONGLY = "flagged_wrongly"  # method ambiguous on a none answer, or off the answer row
OTHER_SOURCE = "other_source"  # linked to a contract outside the register: not judged
NO_LINK_ROW = "no_link_row"  # the payment has no row in links.spend_contract
AGREE = {CORRECT, TRUE_NONE, AMBIGUOUS_UNLINKED}


def _outcome(d: Decision, contract_id: str | None, method: str | None, linked: set[int]) -> str:
    if method == AMBIGUOUS_METHOD:
        if d.answer == "ambiguous" or (d.answer == "row" and linked & set(d.register_rows)):
            return CORRECT
        return FLAGGED_WRONGLY
    if contract_id is None:
        return {"row": MISSED, "none": TRUE_NONE, "ambiguous": AMBIGUOUS_UNLINKED}[d.answer]
    if not linked:
        return OTHER_SOURCE
    if d.answer == "ambiguous" and set(d.register_rows) <= linked:
        return CORRECT  # the rows a reader could not separate are one contract
    if d.answer == "row":
        return CORRECT if linked & set(d.register_rows) else WRONG_CONTRACT
    return FALSE_LINK if d.answer == "none" else AMBIGUOUS_LINKED


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _scores(items: list[dict]) -> dict:
    made = [i for i in items if i["outcome"] not in (MISSED, TRUE_NONE, AMBIGUOUS_UNLINKED)]
    made = [i for i in made if i["outcome"] not in (OTHER_SOURCE, NO_LINK_ROW)]
    correct = sum(i["outcome"] == CORRECT for i in items)
    correct_rows = sum(i["outcome"] == CORRECT and i["answer"] == "row" for i in items)
    rows = sum(i["answer"] == "row" for i in items)
    nones = sum(i["answer"] == "none" for i in items)
    return {
        "decisions": len(items),
        "answers": dict(Counter(i["answer"] for i in items)),
        "links_made": len(made),
        "correct": correct,
        "precision": _ratio(correct, len(made)),
        "row_answers": rows,
        "recall": _ratio(correct_rows, rows),
        "none_answers": nones,
        "none_left_unlinked": sum(i["outcome"] == TRUE_NONE for i in items),
        "ambiguous_method_links": sum(i["method"] == AMBIGUOUS_METHOD for i in items),
        "outcomes": dict(Counter(i["outcome"] for i in items)),
    }


def evaluate_links(
    con: duckdb.DuckDBPyConnection,
    real_dir: Path = REAL_DIR,
    decisions: Sequence[Decision] | None = None,
    min_confidence: float | None = None,
) -> dict:
    """Score `links.spend_contract` in an open warehouse (built by
    `oversight.evaluation.evaluate.build_real_warehouse`) against the decisions (the fixture by
    default), after checking every file they point at (`FixtureMismatch`).

    Returns `overall` and `by_stratum` scores (`precision`, `recall`, counts and `outcomes`),
    `ambiguous` (how payments answered `ambiguous` were treated) and `items`, one per decision
    with its answer, the linked register rows, the method and the outcome. With
    `min_confidence`, a link below it counts as no link: what OV07 and OV08 rely on."""
    decisions = list(read_decisions() if decisions is None else decisions)
    check_decisions(decisions, real_dir)
    items = []
    for d in decisions:
        links = con.execute(LINK_SQL, [SPEND_SOURCE, d.spend_file, d.spend_row]).fetchall()
        contract_id, method, reason, score = links[0] if links else (None, None, None, None)
        if contract_id and min_confidence is not None and (score or 0) < min_confidence:
            contract_id, method, reason = None, "unlinked", f"{method}, confidence {score}"
        rows = con.execute(ROWS_SQL, [contract_id, contract_id]).fetchall() if contract_id else []
        linked = {n for f, n in rows if f == REGISTER_FILE}
        outcome = _outcome(d, contract_id, method, linked) if links else NO_LINK_ROW
        items.append(
            {
                "spend_file": d.spend_file,
                "spend_row": d.spend_row,
                "stratum": d.stratum,
                "answer": d.answer,
                "answer_rows": d.register_rows,
                "linked_rows": tuple(sorted(linked)),
                "linked_elsewhere": bool(contract_id) and not linked,
                "method": method,
                "unlinked_reason": reason,
                "outcome": outcome,
            }
        )
    ambiguous = [i for i in items if i["answer"] == "ambiguous"]
    return {
        "min_confidence": min_confidence,
        "overall": _scores(items),
        "by_stratum": {s: _scores([i for i in items if i["stratum"] == s]) for s in STRATA},
        "ambiguous": {
            "answers": len(ambiguous),
            "flagged_ambiguous": sum(i["outcome"] == CORRECT for i in ambiguous),
            "linked_to_a_listed_row": sum(
                i["outcome"] == AMBIGUOUS_LINKED
                and bool(set(i["linked_rows"]) & set(i["answer_rows"]))
                for i in ambiguous
            ),
            "linked_elsewhere": sum(
                i["outcome"] == AMBIGUOUS_LINKED
                and not set(i["linked_rows"]) & set(i["answer_rows"])
                for i in ambiguous
            ),
            "left_unlinked": sum(i["outcome"] == AMBIGUOUS_UNLINKED for i in ambiguous),
        },
        "items": items,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rows(rows: Sequence[int]) -> str:
    return ";".join(str(r) for r in rows) or "-"


def format_link_report(result: dict) -> str:
    """A readable table of `evaluate_links`' result, then every disagreement as file:row,
    answer, linked register rows and method (no names)."""
    view = (
        "every link"
        if result.get("min_confidence") is None
        else f"confident links only (score >= {result['min_confidence']}: what OV07/OV08 use)"
    )
    lines = [
        f"Payment-to-contract links against blind decisions (Salford register rows): {view}",
        "",
        f"{'':15}{'payments':>9}{'row':>6}{'none':>6}{'ambig':>6}{'linked':>8}{'correct':>8}"
        f"{'precision':>11}{'recall':>8}{'none unlinked':>15}",
    ]
    parts = [*((s, result["by_stratum"][s]) for s in STRATA), ("all", result["overall"])]
    for name, s in parts:
        a = s["answers"]
        lines.append(
            f"{name:15}{s['decisions']:>9}{a.get('row', 0):>6}{a.get('none', 0):>6}"
            f"{a.get('ambiguous', 0):>6}{s['links_made']:>8}{s['correct']:>8}"
            f"{_pct(s['precision']):>11}{_pct(s['recall']):>8}"
            f"{s['none_left_unlinked']:>9} of {s['none_answers']:<3}"
        )
    amb = result["ambiguous"]
    lines += [
        "",
        f"ambiguous answers: {amb['answers']}: flagged ambiguous {amb['flagged_ambiguous']}, "
        f"linked to a listed row {amb['linked_to_a_listed_row']}, linked elsewhere "
        f"{amb['linked_elsewhere']}, left unlinked {amb['left_unlinked']}",
        f"links of method {AMBIGUOUS_METHOD}: {result['overall']['ambiguous_method_links']}",
        "outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result["overall"]["outcomes"].items())),
    ]
    other = [i for i in result["items"] if i["outcome"] not in AGREE]
    lines += ["", f"disagreements ({len(other)}):"]
    for i in other:
        method = i["method"] or "-"
        if i["unlinked_reason"]:
            method += f" ({i['unlinked_reason']})"
        linked = "elsewhere" if i["linked_elsewhere"] else _rows(i["linked_rows"])
        lines.append(
            f"  {i['spend_file']}:{i['spend_row']:<6} {i['outcome']:<16} answer {i['answer']} "
            f"{_rows(i['answer_rows'])}, linked {linked}, method {method}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> int:
    """Score the warehouse at `argv[0]` (built by `build_real_warehouse`) and print the report."""
    if len(argv) != 1:
        print("usage: python -m oversight.evaluation.link_eval WAREHOUSE.duckdb", file=sys.stderr)
        return 2
    con = duckdb.connect(argv[0], read_only=True)
    try:
        print(format_link_report(evaluate_links(con)))
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
