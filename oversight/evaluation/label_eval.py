"""Supplier resolution measured on a third party's labels: the headline figures.

`../shared/data/real/gmca-labels/{bolton,oldham}_2019.csv` are two councils' 2019 payments as
collated by Northwest Open Data, each payee matched to Companies House by that third party.
The evaluation reads only the council and `beneficiary_name` as input; `company_number` is
the answer (no catalogue maps it: a test fails if one does).

Unit: a distinct (council, printed name) with a labelled number. Every pair of units is
scored: true when the labels give both the same number; predicted when resolution, by name
alone, puts both in one supplier. Names without a number are left out of both. Scores are
given per stage (cumulative: identifier and name, then alias, fuzzy, abbreviation), per
council and for the two together (the same supplier printed differently by two councils).

Corrections: where a label is believed wrong, `docs/evaluation/gmca-label-corrections.csv`
says so (council, name, the label's number, the corrected number, why), and a second figure
is reported with it applied, beside the first, never instead of it.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from oversight.core import settings
from oversight.entities.entities import STAGES, Mention, abbreviates, resolve
from oversight.entities.names import name_parts

COUNCILS = ("bolton", "oldham")
# The rules were developed reading the misses of both councils, so neither is a clean
# hold-out; the held-out real measure is `evaluate.score_resolution` on the numbers other
# publishers print (Salford's register, Calderdale, Contracts Finder).
TUNED_ON = "both councils (no clean hold-out here; see docs/entity-resolution.md)"
CORRECTIONS = settings.PROJECT_ROOT / "docs" / "evaluation" / "gmca-label-corrections.csv"
# Words too common in payee names to show that two names share an organisation.
GENERIC_WORDS = {
    "care", "home", "homes", "nursing", "residential", "services", "service", "group", "court",
    "lodge", "house", "centre", "school", "academy", "trust", "limited", "support", "energy",
    "community", "north", "west", "south", "east", "and", "the", "solutions", "uk",
}  # fmt: skip

Unit = tuple[str, str]  # (council, printed name)


def read_labels(real_dir: Path, corrected: bool = False) -> dict[Unit, set[str]]:
    """Each (council, printed name) with the company numbers the third party gave it."""
    fixes = read_corrections() if corrected else {}
    labels: dict[Unit, set[str]] = defaultdict(set)
    for council in COUNCILS:
        path = real_dir / "gmca-labels" / f"{council}_2019.csv"
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                number = row["company_number"].strip()
                unit = (council, row["beneficiary_name"])
                number = fixes.get((*unit, number), number)
                if number:
                    labels[unit].add(number)
    return dict(labels)


def read_corrections(path: Path = CORRECTIONS) -> dict[tuple[str, str, str], str]:
    """(council, printed name, label's number) -> corrected number."""
    with path.open(encoding="utf-8", newline="") as f:
        return {
            (r["council"], r["beneficiary_name"], r["label_number"]): r["corrected_number"]
            for r in csv.DictReader(f)
        }


@dataclass
class PairScores:
    units: int = 0
    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    false_merges: list[tuple[Any, Any]] = field(default_factory=list)
    missed: list[tuple[Any, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def add(self, a: Any, b: Any, same: bool, merged: bool) -> None:
        """Count one pair: `same` by the labels, `merged` by resolution."""
        self.true_pairs += same
        self.predicted_pairs += merged
        self.correct_pairs += same and merged
        if merged and not same:
            self.false_merges.append((a, b))
        elif same and not merged:
            self.missed.append((a, b))


def score(
    labels: dict[Unit, set[str]], stages: tuple[str, ...] = STAGES, threshold: float = 92.0
) -> dict[str, PairScores]:
    """Resolve every printed name by name alone and score all pairs, per council and for
    both together."""
    units = sorted(labels)
    resolved, _ = resolve([Mention(n) for _, n in units], threshold, stages=stages)
    entity = {m.name: r.entity_id for m, r in resolved.items()}
    out = {scope: PairScores() for scope in (*COUNCILS, "both")}
    for scope, scores in out.items():
        members = [u for u in units if scope in ("both", u[0])]
        scores.units = len(members)
        for a, b in itertools.combinations(members, 2):
            scores.add(a, b, bool(labels[a] & labels[b]), entity[a[1]] == entity[b[1]])
    return out


def miss_class(a: str, b: str) -> str:
    """Why a true pair was missed, read from the two names (for counting the residue)."""
    ka, kb = name_parts(a).key, name_parts(b).key
    short, long = sorted((ka, kb), key=len)
    if short and long.startswith(short):
        return "truncation or suffix (one name starts the other)"
    words_a, words_b = set(ka.split()), set(kb.split())
    shared = {w for w in words_a & words_b if len(w) >= 4 and w not in GENERIC_WORDS}
    if not shared and fuzz.ratio(ka, kb) < 70:
        if {"care", "nursing", "residential", "lodge", "court"} & (words_a | words_b):
            return "different sites of one operator (care homes)"
        return "different names of one company (trading name, brand, rename)"
    if abbreviates(short, long) or any(
        x != y and len(x) >= 2 and y.startswith(x) for x in words_a for y in words_b
    ):
        return "abbreviation"
    if fuzz.token_set_ratio(ka, kb) >= 90:
        return "decoration (site, account, description)"
    if fuzz.ratio(ka, kb) >= 80:
        return "spelling"
    return "shares a word, otherwise different (sister company, division)"


def stage_table(labels: dict[Unit, set[str]]) -> list[tuple[str, dict[str, PairScores]]]:
    """Cumulative scores after each stage (identifier is a no-op on names alone)."""
    return [(stage, score(labels, STAGES[: i + 1])) for i, stage in enumerate(STAGES) if i]


def format_report(labels: dict[Unit, set[str]], corrected: dict[Unit, set[str]]) -> str:
    lines = [
        "Supplier resolution on real labels: Bolton and Oldham 2019 payees, matched to",
        "Companies House by Northwest Open Data (../shared/data/real/gmca-labels).",
        "Input: council and printed name only; pairs of (council, name) with a labelled number.",
        f"Tuned on: {TUNED_ON}.",
        "",
        f"  {'after stage':<14}{'scope':<8}{'names':>7}{'true':>7}{'pred':>7}"
        f"{'correct':>9}{'precision':>11}{'recall':>8}",
    ]
    stages = stage_table(labels)
    for stage, by_scope in stages:
        for scope, s in by_scope.items():
            lines.append(
                f"  {stage:<14}{scope:<8}{s.units:>7}{s.true_pairs:>7}{s.predicted_pairs:>7}"
                f"{s.correct_pairs:>9}{s.precision:>11.3f}{s.recall:>8.3f}"
            )
    final = stages[-1][1]
    fixed = score(corrected)
    lines += ["", "With docs/evaluation/gmca-label-corrections.csv applied (second figure):"]
    for scope, s in fixed.items():
        lines.append(
            f"  {scope:<8} precision {s.precision:.3f}  recall {s.recall:.3f} "
            f"({s.correct_pairs}/{s.predicted_pairs} predicted, {s.true_pairs} true)"
        )
    both = final["both"]
    lines += ["", f"False merges, labels as they stand ({len(both.false_merges)} pairs):"]
    lines += [f"  {a[0]}: {a[1]!r} ~ {b[0]}: {b[1]!r}" for a, b in both.false_merges[:20]]
    classes = Counter(miss_class(a[1], b[1]) for a, b in both.missed)
    lines += ["", f"Missed pairs by class ({len(both.missed)} pairs):"]
    lines += [f"  {n:>4}  {why}" for why, n in classes.most_common()]
    lines += ["", "Examples of each class:"]
    shown: Counter = Counter()
    for a, b in both.missed:
        why = miss_class(a[1], b[1])
        if shown[why] < 3:
            shown[why] += 1
            lines.append(f"  [{why}] {a[0]}: {a[1]!r} / {b[0]}: {b[1]!r}")
    return "\n".join(lines)


def evaluate(real_dir: Path) -> dict:
    """The figures `make evaluate` prints and the tests check."""
    labels = read_labels(real_dir)
    corrected = read_labels(real_dir, corrected=True)
    return {
        "labels": labels,
        "as_labelled": score(labels),
        "corrected": score(corrected),
        "report": format_report(labels, corrected),
    }
