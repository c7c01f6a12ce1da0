"""Payee classes (`oversight.entities.payees`) on real payee names from ../shared/data/real.

`tests/fixtures/payee_forms.csv`: payee names shaped like people that are firms (initials and a
trade word, GP practices "Dr .. & Partners", "& Son", a person trading as a business) and
personal or redacted forms (every redaction spelling found, "Mr/Mrs X", "SMITH, J", Lancashire's
"THIRD PARTY SUPPLIER"): `is_personal` must get each right.

`tests/fixtures/payee_class_labels.csv`: a hand-labelled sample of Salford's (tune) and Bolton's
(report) payee names (`oversight.evaluation.payee_eval`): the measured figures must not fall.

Neither fixture holds a name: each row points at a cell of a real file (file, row, column and
the file's sha256), read here. The module is skipped when the real files are absent.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from oversight.core.schema import PAYEE_CLASSES
from oversight.core.settings import PROJECT_ROOT
from oversight.entities.names import _needs, reference
from oversight.entities.payees import is_personal
from oversight.evaluation.payee_eval import (
    COUNCILS,
    RANDOM_SAMPLE,
    FixtureMismatch,
    council_names,
    draw_sample,
    evaluate_classes,
    read_cell,
    read_fixture,
    ref_of,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FORMS = read_fixture(FIXTURES / "payee_forms.csv")
LABELS = FIXTURES / "payee_class_labels.csv"
LABELLED = read_fixture(LABELS)

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"the real published files are not here ({REAL}); the payee fixtures hold no names, "
    "only pointers into those files",
)

# Measured on the fixtures (see oversight/evaluation/payee_eval.py), with a little room: the test
# fails when a change to the classifier or its lists makes the figures fall.
MINIMUM = {
    "bolton": {"accuracy": 0.75, "personal_precision": 0.8, "personal_recall_labelled": 0.4},
    "salford": {"accuracy": 0.85, "personal_precision": 0.9, "personal_recall_labelled": 0.65},
}


def _text(row: dict[str, str]) -> str:
    try:
        return read_cell(REAL, ref_of(row))
    except FixtureMismatch as error:
        pytest.fail(f"fixture row {row['file']} row {row['row']} no longer matches: {error}")


def _id(row: dict[str, str]) -> str:
    return f"{row['file']}:{row['row']}"


def test_forms_fixture_covers_both_sides():
    counts = Counter(row["expected"] for row in FORMS)
    assert set(counts) == {"personal", "not_personal"}
    assert counts["not_personal"] >= 40 and counts["personal"] >= 25
    assert len({(row["file"], row["row"]) for row in FORMS}) == len(FORMS)
    assert all(row["why"] for row in FORMS)


@pytest.mark.parametrize("row", FORMS, ids=_id)
def test_personal_forms(row):
    expected = row["expected"] == "personal"
    assert is_personal(_text(row)) is expected, f"{_id(row)}: {row['why']}, {row['expected']}"


def test_labels_are_the_documented_sample():
    assert all(row["expected"] in PAYEE_CLASSES for row in LABELLED)
    for council in COUNCILS:
        fixture = [
            (row["stratum"], row["file"], row["row"])
            for row in LABELLED
            if row["council"] == council
        ]
        drawn = [(stratum, ref.file, ref.row) for stratum, ref in draw_sample(REAL, council)]
        assert fixture == drawn, f"{council}: the labelled rows are not draw_sample's"
        assert sum(s == "random" for s, _, _ in fixture) == RANDOM_SAMPLE


@pytest.fixture(scope="module")
def measured() -> dict:
    return evaluate_classes(REAL, LABELS)


@pytest.mark.parametrize("council", list(MINIMUM))
def test_class_figures_do_not_fall(measured, council):
    result, bar = measured[council], MINIMUM[council]
    assert result["accuracy"] >= bar["accuracy"], result["accuracy"]
    assert result["personal"]["precision"] >= bar["personal_precision"], result["personal"]
    assert result["personal"]["recall_labelled"] >= bar["personal_recall_labelled"]


def test_pattern_lists_search_only_patterns_a_name_can_match():
    """The public-body and redaction lists look first for the strings their patterns need
    (`names.CaseBlind`): the same match, span for span, as the whole alternation, on every
    distinct payee name of the real files and on texts made of the patterns' own strings
    (where most of them match)."""
    ref = reference()
    lists = yaml.safe_load((PROJECT_ROOT / "catalogue" / "payee_classes.yaml").read_text("utf-8"))
    texts = {
        name.lower()
        for council in COUNCILS.values()
        for _, name in council_names(REAL, council)
        if name.isascii()
    }
    needed = sorted({s for p in lists["public_body"] + lists["redacted"] for s in _needs(p) or ()})
    texts |= {f"{a}{b}" for a in needed for b in ("", " ", " trust", " school")}
    texts |= {f"{p} {a} {b}" for a in needed[::3] for b in needed[1::5] for p in ("", "the")}
    for patterns in (ref.public_body, ref.redacted):
        assert patterns.needed is not None, "written in lower case: strings looked for first"
        found = 0
        for text in texts:
            whole = patterns.lower.search(text)
            first = patterns._first_lower(text)
            assert (whole and whole.span()) == (first and first.span()), text
            found += whole is not None
        assert found > 100, found  # the texts reach the matching paths, not only misses
