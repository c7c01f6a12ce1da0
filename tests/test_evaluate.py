"""The evaluation command's figures on the real files (the targets of the entities issue)."""

import io

from oversight.evaluate import build_real_warehouse, report
from tests.conftest import needs_real


@needs_real
def test_resolution_and_linking_figures(tmp_path):
    warehouse = tmp_path / "real.duckdb"
    build_real_warehouse(warehouse)
    out = io.StringIO()
    figures = report(warehouse, sample=5, out=out)
    variants = figures["variants"]
    assert variants.precision >= 0.98 and variants.recall >= 0.90
    # Strict labels (the published numbers as they are): pinned, explained in the docs.
    strict = figures["scores"]
    assert (strict.true_pairs, strict.predicted_pairs, strict.correct_pairs) == (23, 10, 9)
    assert strict.false_merges == [("Salford Foundation", "Salford Foundation Limited")]
    assert 0.20 < figures["link_share"] < 0.25
    text = out.getvalue()
    assert "A sample of 5 links" in text and text.count("salford/spend/") == 5
