"""The evaluation command's figures on the real files (the targets of the entities issue)."""

import io
from pathlib import Path

import yaml

from oversight.evaluation import label_eval
from oversight.evaluation.evaluate import build_real_warehouse, report
from tests.conftest import PROJECT, REAL, needs_real


@needs_real
def test_resolution_on_real_labels_meets_the_target():
    """Headline: Bolton's and Oldham's payees against a third party's Companies House
    matching, names alone. Target precision >= 0.99 and recall >= 0.90 as labelled."""
    figures = label_eval.evaluate(REAL)
    both = figures["as_labelled"]["both"]
    assert both.units == 2757 and both.true_pairs == 741
    assert both.precision >= 0.99 and both.recall >= 0.90, (both.precision, both.recall)
    corrected = figures["corrected"]["both"]
    assert corrected.precision >= both.precision  # the corrections only fix labels
    assert "Missed pairs by class" in figures["report"]


def test_a_miss_is_classed_by_what_separates_the_two_names():
    assert label_eval.miss_class("Ashton View Nursing Home", "Dale Park Care Home").startswith(
        "different sites"
    )
    assert label_eval.miss_class("Water Plus", "Water Plus, Water PLC + Severn Trent").startswith(
        "truncation"
    )


def test_no_catalogue_maps_the_label_columns():
    """The labels are the answer: no catalogue may read the gmca-labels files (so nothing
    maps `company_number` & co. from them into staging, where resolution would see them)."""
    catalogues = [*PROJECT.glob("catalogue/*.yaml"), *PROJECT.glob("tests/catalogues/*.yaml")]
    assert catalogues
    for path in catalogues:
        doc = yaml.safe_load(path.read_text()) or {}
        for source in doc.get("sources", []) or []:
            where = f"{source.get('folder', '')} {source.get('files', '')}".casefold()
            assert "gmca" not in where and "labels" not in where, (path, source)


@needs_real
def test_resolution_and_linking_figures(tmp_path: Path):
    warehouse = tmp_path / "real.duckdb"
    build_real_warehouse(warehouse)
    out = io.StringIO()
    figures = report(warehouse, sample=5, out=out)
    variants = figures["variants"]  # synthetic printings of real names
    assert variants.precision >= 0.98 and variants.recall >= 0.90
    # Held out: the numbers other publishers print (pinned, explained in the docs).
    strict = figures["scores"]
    assert strict.true_pairs == 23 and strict.precision >= 0.9
    assert 0.20 < figures["link_share"] < 0.30
    text = out.getvalue()
    assert "A sample of 5 links" in text and text.count("salford/spend/") == 5
    assert "SYNTHETIC" in text
    # Links judged blind on 150 Salford payments: confident links (what OV07/OV08 use) were
    # 0.895 precise and 0.667 complete when measured; a regression below these bars fails.
    import duckdb

    from oversight.evaluation import link_eval

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        confident = link_eval.evaluate_links(con, REAL, min_confidence=0.75)["overall"]
    finally:
        con.close()
    assert confident["precision"] >= 0.85 and confident["recall"] >= 0.6, confident
