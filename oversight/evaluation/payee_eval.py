"""`python -m oversight.evaluation.payee_eval`: measure the payee classifier
(`oversight.entities.payees`) against a hand-labelled sample of real payee names.

The data: `tests/fixtures/payee_class_labels.csv` labels distinct payee names, as two councils
printed them in their published spend, with one of the seven payee classes
(`oversight.core.schema.PAYEE_CLASSES`). The fixture holds no names: each row points at a cell of a
real file in ../shared/data/real (`file`, 1-based CSV record number `row` with the header as
row 1, header name `column`, and the file's `sha256`), and the text is read from there, so no
personal name is ever committed to the project.

- **salford** (the *tune* council): `salford/spend/*.csv`, column `Vendor Name` (`Supplier Name`
  in July 2020), July 2020 - June 2022. The classifier's patterns were tuned on these rows.
- **bolton** (the *report* council): `gmca-labels/bolton_2019.csv`, column `beneficiary_name`.
  Held out: its figures are reported as measured, never tuned on. Its `company_number` /
  `charity_number` columns (a third party's Companies House matching) were read as evidence
  while labelling; the classifier is given the name only, as the spend files carry no numbers.

The sample (`draw_sample`, seed `SEED` = 20240611) has two strata per council, taken from the
council's distinct names (case and spacing folded; the first row printing a name stands for it):

- `random`: 120 names drawn uniformly. Accuracy, per-class precision and recall and the
  confusion counts are computed on this stratum only, so they estimate the whole list.
- `person_shaped`: every other name with the *shape* of a person or a redaction
  (`person_shaped`: a title, a comma, a one-letter word or a dotted initial in a name without
  a legal form, or a redaction word), a fixed test that does not depend on the classifier.
  A random 120 holds only a handful of personal names, but every name the classifier calls
  personal has that shape, so with this stratum the labels cover every flagged name: the
  precision of the personal decision is computed over both strata; its recall over the
  `random` stratum (names like "Jane Smith" have no such shape).

How names were labelled (what the printed name shows to a careful reader, keeping to one rule):
`company` a legal form, or a name everyone knows is a company (a bank, an energy supplier, a
national chain); `charity` a name that shows a charity (a national charity, a church, a trust or
foundation doing good works, an academy trust, a residents' or community association); for
Bolton, a row with a company or charity number was labelled by that number unless the name
plainly contradicts it; `public_body` councils (MBCs too), the NHS, police, central government
and its agencies, pension funds, universities and further-education colleges, and schools that
read as council-maintained (a place-named primary or high school, a "CP" school; academies are
`charity`, independent schools `unknown`); `sole_trader` a person's name with a trade or a
trading name, and partnerships of named people (GP practices); `individual` a private person;
`redacted` a redaction form; `unknown` a business printed without its legal form that a reader
cannot place.
"""

from __future__ import annotations

import csv
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from oversight.core import settings
from oversight.core.schema import PAYEE_CLASSES, PERSONAL_CLASSES
from oversight.entities.payees import classify
from oversight.evaluation.real_files import (
    REAL_DIR,
    FixtureMismatch,
    check_file,
    checked_sha256,
    records,
)

FIXTURES = settings.PROJECT_ROOT / "tests" / "fixtures"
LABELS = FIXTURES / "payee_class_labels.csv"
SEED = 20240611
RANDOM_SAMPLE = 120


@dataclass(frozen=True)
class Council:
    """One council's payee names: which files, which column, and its role in the measure."""

    name: str
    role: str  # "tune" (patterns were fitted here) or "report" (held out)
    files: str  # a glob under the real-data folder
    columns: tuple[str, ...]  # the payee column's header, as each file spells it


COUNCILS = {
    "salford": Council("salford", "tune", "salford/spend/*.csv", ("Vendor Name", "Supplier Name")),
    "bolton": Council("bolton", "report", "gmca-labels/bolton_2019.csv", ("beneficiary_name",)),
}

# The shape of a person's name or a redaction, independent of the classifier: a title, a
# comma ("SMITH, J"), a one-letter word (an initial) in a name without a legal form, or a word
# publishers use for withheld names.
PERSON_SHAPED = re.compile(
    r"^(mr|mrs|ms|miss|mx|dr|drs|rev|revd|prof|professor|sir|dame|lady|lord)\b"
    r"|,|(^|\s)[a-z]\.?(?=\s|$)|\b[a-z]\."
    r"|redact|personal|withheld|confidential|third party|private|individual|anonym",
    re.IGNORECASE,
)
REDACTION_WORDS = re.compile(r"redact|personal|withheld|confidential|third party", re.I)
LEGAL_FORM = re.compile(r"\b(ltd|limited|plc|llp|cic)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CellRef:
    """One cell of a real file: `row` is the 1-based CSV record number (header = 1), or
    `"<sheet>!<row>"` (1-based spreadsheet row) for a workbook."""

    file: str
    row: str
    column: str
    sha256: str


def read_cell(real_dir: Path, ref: CellRef) -> str:
    """The text of the cell `ref` points at, after checking the file is the one it was written
    against (`FixtureMismatch` otherwise, saying what differs)."""
    check_file(real_dir, ref.file, ref.sha256)
    sheet, _, number = ref.row.rpartition("!") if "!" in ref.row else (None, "", ref.row)
    rows = records(real_dir, ref.file, sheet)
    header = [str(h).strip() for h in rows[0]] if rows else []
    if ref.column not in header:
        raise FixtureMismatch(f"{ref.file}: no column {ref.column!r} (header {header})")
    row = int(number)
    if not 2 <= row <= len(rows):
        raise FixtureMismatch(f"{ref.file}: row {ref.row} is outside the file's {len(rows)} rows")
    record = rows[row - 1]
    i = header.index(ref.column)
    return "" if i >= len(record) or record[i] is None else str(record[i])


def read_fixture(path: Path) -> list[dict[str, str]]:
    """The rows of a fixture CSV (lines starting `#` are comments)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


def ref_of(row: dict[str, str]) -> CellRef:
    """The cell a fixture row points at."""
    return CellRef(row["file"], row["row"], row["column"], row["sha256"])


def council_names(real_dir: Path, council: Council) -> Iterator[tuple[CellRef, str]]:
    """Each distinct payee name of a council (case and spacing folded), with the first cell
    that prints it, in file and row order."""
    seen: set[str] = set()
    for path in sorted(Path(real_dir).glob(council.files)):
        file = path.relative_to(real_dir).as_posix()
        rows = records(real_dir, file)
        header = [str(h).strip() for h in rows[0]]
        column = next(c for c in council.columns if c in header)
        i = header.index(column)
        sha = checked_sha256(path)
        for number, record in enumerate(rows[1:], start=2):
            text = str(record[i]) if i < len(record) else ""
            key = " ".join(text.split()).casefold()
            if key and key not in seen:
                seen.add(key)
                yield CellRef(file, str(number), column, sha), text


def person_shaped(text: str) -> bool:
    """A name with the shape of a person's or a redaction (`PERSON_SHAPED`), and no legal form
    unless it holds a redaction word: a fixed test, not the classifier."""
    if REDACTION_WORDS.search(text):
        return True
    return bool(PERSON_SHAPED.search(text)) and not LEGAL_FORM.search(text)


def draw_sample(real_dir: Path, council: str, seed: int = SEED) -> list[tuple[str, CellRef]]:
    """The cells `payee_class_labels.csv` labels for one council: (stratum, cell) pairs, the
    `random` stratum drawn with `seed`, then every other `person_shaped` name."""
    names = list(council_names(real_dir, COUNCILS[council]))
    chosen = random.Random(f"{seed}:{council}:random").sample(range(len(names)), RANDOM_SAMPLE)
    taken = set(chosen)
    shaped = [i for i in range(len(names)) if i not in taken and person_shaped(names[i][1])]
    return [("random", names[i][0]) for i in chosen] + [
        ("person_shaped", names[i][0]) for i in shaped
    ]


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval (95% by default) of a proportion; None when n is 0."""
    if not n:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluate_classes(real_dir: Path = REAL_DIR, labels: Path = LABELS) -> dict:
    """Classify each labelled name (`classify(name)`, the name only) and score it, per council.

    Returns `{council: {...}}` with, for each council:

    - `role` (tune / report), `n` (names in the `random` stratum), `accuracy` on them and its
      95% Wilson interval `accuracy_ci`;
    - `per_class`: `{class: {precision, recall, support, predicted}}` and `confusion`:
      `{expected: {predicted: count}}`, both on the `random` stratum;
    - `personal`, the decision `is_personal` (individual + redacted against the rest):
      `precision` (with `precision_ci`, `flagged`, `correct`) over every labelled name, which
      holds every person-shaped name; `recall` (and `personal`, its denominator) over the
      `random` stratum; `recall_labelled` (and `labelled`) over every labelled name, an upper
      bound, as names without a person's shape ("Jane Smith") are under-represented there;
    - `errors`: file, row, stratum, expected and predicted class of each miss (no text).

    A ratio with nothing to divide by is None."""
    result: dict[str, dict] = {}
    rows = read_fixture(labels)
    for council in COUNCILS:
        scored = [
            (row["stratum"], row["expected"], classify(read_cell(real_dir, ref_of(row))), row)
            for row in rows
            if row["council"] == council
        ]
        sample = [(e, p.payee_class) for s, e, p, _ in scored if s == "random"]
        confusion: dict[str, Counter] = {c: Counter() for c in PAYEE_CLASSES}
        for expected, predicted in sample:
            confusion[expected][predicted] += 1
        per_class = {}
        for c in PAYEE_CLASSES:
            support = sum(confusion[c].values())
            predicted = sum(confusion[e][c] for e in PAYEE_CLASSES)
            per_class[c] = {
                "precision": _ratio(confusion[c][c], predicted),
                "recall": _ratio(confusion[c][c], support),
                "support": support,
                "predicted": predicted,
            }
        right = sum(e == p for e, p in sample)
        flagged = [e in PERSONAL_CLASSES for _, e, p, _ in scored if p.is_personal]
        personal = [
            p.is_personal for s, e, p, _ in scored if e in PERSONAL_CLASSES and s == "random"
        ]
        labelled = [p.is_personal for _, e, p, _ in scored if e in PERSONAL_CLASSES]
        result[council] = {
            "role": COUNCILS[council].role,
            "n": len(sample),
            "accuracy": _ratio(right, len(sample)),
            "accuracy_ci": wilson(right, len(sample)),
            "per_class": per_class,
            "confusion": {c: dict(confusion[c]) for c in PAYEE_CLASSES},
            "personal": {
                "precision": _ratio(sum(flagged), len(flagged)),
                "precision_ci": wilson(sum(flagged), len(flagged)),
                "flagged": len(flagged),
                "correct": sum(flagged),
                "recall": _ratio(sum(personal), len(personal)),
                "personal": len(personal),
                "recall_labelled": _ratio(sum(labelled), len(labelled)),
                "labelled": len(labelled),
            },
            "errors": [
                {
                    "file": row["file"],
                    "row": row["row"],
                    "stratum": s,
                    "expected": e,
                    "predicted": p.payee_class,
                }
                for s, e, p, row in scored
                if e != p.payee_class
            ],
        }
    return result


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.0%}"


def _ci(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f" [95% {interval[0]:.0%}-{interval[1]:.0%}]"


def format_report(result: dict) -> str:
    """A text report of `evaluate_classes`: per council, accuracy, the personal decision,
    per-class precision and recall, the confusion table, and the misses (by file and row,
    never the name: it may be a person's)."""
    short = {c: c[:6] for c in PAYEE_CLASSES}
    lines: list[str] = []
    for council, r in result.items():
        p = r["personal"]
        lines += [
            f"{council} ({r['role']} council; {r['n']} names drawn at random, "
            f"every person-shaped name for the personal decision)",
            f"  accuracy {_pct(r['accuracy'])}{_ci(r['accuracy_ci'])}",
            f"  personal (individual + redacted): precision {_pct(p['precision'])}"
            f"{_ci(p['precision_ci'])} ({p['correct']}/{p['flagged']} flagged, all labelled)",
            f"    recall {_pct(p['recall'])} ({p['personal']} personal in the random stratum), "
            f"{_pct(p['recall_labelled'])} ({p['labelled']} personal labelled in all)",
            "",
            f"  {'class':<12} {'prec':>5} {'recall':>6} {'support':>7} {'predicted':>9}",
        ]
        for c, m in r["per_class"].items():
            lines.append(
                f"  {c:<12} {_pct(m['precision']):>5} {_pct(m['recall']):>6} "
                f"{m['support']:>7} {m['predicted']:>9}"
            )
        lines += ["", "  confusion (rows expected, columns predicted; random stratum)"]
        lines.append("  " + " " * 12 + "".join(f"{short[c]:>8}" for c in PAYEE_CLASSES))
        for e in PAYEE_CLASSES:
            counts = r["confusion"][e]
            lines.append(
                f"  {e:<12}" + "".join(f"{counts.get(c, 0) or '.':>8}" for c in PAYEE_CLASSES)
            )
        lines += ["", f"  misses ({len(r['errors'])}, both strata; the text is in the file)"]
        lines += [
            f"    {m['file']} row {m['row']} ({m['stratum']}): "
            f"expected {m['expected']}, got {m['predicted']}"
            for m in r["errors"]
        ]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    """Print the report; exit 2 when the real files are not here."""
    if not REAL_DIR.is_dir():
        print(f"the real published files are not here ({REAL_DIR})", file=sys.stderr)
        return 2
    print(format_report(evaluate_classes(REAL_DIR)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
