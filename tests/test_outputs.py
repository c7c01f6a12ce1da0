"""Analyst surfaces on the sample: exports round-trip and are safe to open in a spreadsheet,
the report is written, and every notebook runs top to bottom with outputs that match the
warehouse."""

import csv

import duckdb
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from oversight.core.warehouse import open_warehouse
from oversight.outputs import explore
from oversight.outputs.exports import MART_TABLES, export_table, neutralise
from pipelines.definitions import build_defs
from tests.conftest import PROJECT
from tests.test_definitions import run_everything

NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("built")
    warehouse = root / "warehouse.duckdb"
    defs = build_defs(str(PROJECT / "catalogue" / "sources.yaml"), str(warehouse))
    assert all(r.success for r in run_everything(defs))
    return warehouse


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+44 20 7946 0000", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_neutralised(text):
    assert neutralise(text) == "'" + text
    assert neutralise("Acme Ltd") == "Acme Ltd" and neutralise(None) is None


def test_exports_round_trip_and_neutralise(tmp_path):
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.t (name varchar, amount decimal(18,2), day date)")
    con.execute(
        "insert into marts.t values ('=HYPERLINK(\"http://x\")', -5.5, '2024-01-02'),"
        " ('Acme, \"Quoted\" Ltd', 10, null), ('@SUM(1)', 0, '2024-03-04')"
    )
    parquet, path = export_table(con, "marts.t", tmp_path)
    assert (
        con.execute(
            f"select * from read_parquet('{parquet}') except select * from marts.t"
        ).fetchall()
        == []
    )
    with path.open(newline="", encoding="utf-8-sig") as f:  # the CSV starts with a BOM
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://x")',
        'Acme, "Quoted" Ltd',
        "'@SUM(1)",
    ]
    assert [r["amount"] for r in rows] == ["-5.50", "10.00", "0.00"]  # numbers stay numbers
    assert [r["name"][1:] if r["name"].startswith("'") else r["name"] for r in rows] == [
        r[0] for r in con.execute("select name from marts.t").fetchall()
    ]


def test_every_mart_is_exported_and_the_report_written(built):
    data = built.parent
    for table in MART_TABLES:
        name = table.split(".")[-1]
        con = duckdb.connect(str(built), read_only=True)
        expected = con.execute(f"select count(*) from {table}").fetchall()[0][0]
        con.close()
        assert len(pd.read_parquet(data / "exports" / f"{name}.parquet")) == expected
        assert len(pd.read_csv(data / "exports" / f"{name}.csv")) == expected
    index = (data / "report" / "index.html").read_text()
    assert "Northmoor City Council" in index and "img/gaps.png" in index
    # The sample's newest payments are in September 2026: judged on its last day, whatever
    # today is (the planted cases assume it).
    assert "Indicators as of <b>2026-09-30</b>" in index
    page = (data / "report" / "buyers" / "northmoor-city-council.html").read_text()
    assert "NCC-P07A" in page and "(northmoor-spend:northmoor/spend/2025-11.csv#" in page
    # Each flagged contract says why, in words, with evidence for every flag and the money at
    # risk; most money at risk first; dates without a time; the index names indicators.
    first = page.index('<div class="contract">')
    assert page.index("NCC-P07A", first) < page.index("NCC-P08A", first)  # £14,700 > £11,000
    assert '<span class="code">OV07 expired but paid</span>: 2025-11-14 £4800.00' in page
    assert '<span class="code">OV09 past end, not closed</span>: 3 payments after' in page
    assert "at risk £14,700" in page and "00:00:00" not in page
    assert '<span class="code">OV14 supplier unidentified</span>: the supplier &#39;' in page
    assert "no review date" in index and "expired but paid" in index
    assert (data / "report" / "img" / "hhi.png").stat().st_size > 5000


def test_a_reader_never_blocks_the_writer(built):
    """A notebook's connection reads the exports, so the nightly writer opens the warehouse at
    once while it stays open, and it answers exactly what the warehouse holds."""
    reader = explore.connect(built)
    live = explore.connect(built, live=True)
    expected = explore.scorecard(live, "Northmoor City Council")
    flagged = explore.flagged_contracts(live, "Northmoor City Council")
    live.close()
    with open_warehouse(built, timeout=1) as writer:  # WarehouseBusy if the reader held it
        writer.execute("select 1")
    pd.testing.assert_frame_equal(explore.scorecard(reader, "Northmoor City Council"), expected)
    pd.testing.assert_frame_equal(
        explore.flagged_contracts(reader, "Northmoor City Council"), flagged
    )
    assert len(flagged) > 0
    reader.close()


def run_notebook(path, warehouse, monkeypatch) -> list[str]:
    monkeypatch.setenv("OVERSIGHT_WAREHOUSE", str(warehouse))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    # Every chart cell shows its chart: an image, never the `<Figure size ...>` text that a
    # non-interactive backend leaves (the test read printed text only and could not see it).
    charts = [c for c in notebook.cells if c.cell_type == "code" and "charts." in c.source]
    for cell in charts:
        outputs = cell.get("outputs", [])
        assert any("image/png" in o.get("data", {}) for o in outputs), cell.source
        text_only = "".join(  # an image's own text/plain fallback is fine
            o.get("text", "") + o.get("data", {}).get("text/plain", "")
            for o in outputs
            if "image/png" not in o.get("data", {})
        )
        assert "<Figure" not in text_only, cell.source
    return [
        "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_agrees_with_the_warehouse(built, path, monkeypatch):
    printed = "".join(run_notebook(path, built, monkeypatch))
    con = duckdb.connect(str(built), read_only=True)
    if path.stem == "overview":
        flags = con.execute(
            "select sum(flagged) from marts.buyer_scorecard where indicator <> 'OV12'"
        ).fetchall()[0][0]
        assert f"contracts flagged, all indicators: {flags}" in printed
    elif path.stem == "oversight_drilldown":
        n = con.execute(
            "select count(*) from marts.contract_oversight where "
            "ov07_expired_but_paid and buyer_name = 'Northmoor City Council'"
        ).fetchall()[0][0]
        assert n == 1 and f"OV07 contracts: {n}" in printed
    else:
        hhi, band = con.execute(
            "select hhi, band from marts.supplier_concentration where basis = 'spend' and "
            "category_scheme = 'all' and upper(buyer) like 'DEPARTMENT%' "
            "order by financial_year desc limit 1"
        ).fetchall()[0]
        assert f"HHI {hhi:,.0f} ({band})" in printed
    con.close()


def test_notebooks_are_committed_without_outputs():
    assert len(NOTEBOOKS) == 3
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert all(not c.get("outputs") for c in cells if c.cell_type == "code")


def test_latest_top_shares_is_each_buyers_latest_year_largest_first():
    """The top-suppliers chart's rows, fetched instead of the whole of supplier_shares: each
    buyer's latest year only, spend basis only, the n largest by share and, as shares are
    rounded to 4 places and tie, by value (hand-made rows)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.supplier_shares (basis varchar, buyer varchar, "
        "financial_year varchar, supplier varchar, value decimal(38, 2), "
        "share_of_buyer_spend double)"
    )
    con.execute("""insert into marts.supplier_shares values
        ('spend', 'A', '2025-26', 'old year', 900, 0.9),
        ('spend', 'A', '2026-27', 'small', 10, 0.0001),
        ('spend', 'A', '2026-27', 'large', 30, 0.0001),
        ('spend', 'A', '2026-27', 'middle', 20, 0.0001),
        ('contracts', 'A', '2026-27', 'not spend', 99, 0.5),
        ('spend', 'B', '2024-25', 'only', 5, 1.0)""")
    top = explore.latest_top_shares(con, n=2)
    assert list(zip(top["buyer"], top["supplier"], strict=True)) == [
        ("A", "large"),
        ("A", "middle"),
        ("B", "only"),
    ]
