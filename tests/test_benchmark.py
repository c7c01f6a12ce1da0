"""The benchmark, at a tiny scale (CI keeps it working; `make bench` measures)."""

import json

import pytest

from benchmarks.bench import main, newest_months
from benchmarks.pandas_baseline import to_date, to_money


def test_the_newest_month_of_each_monthly_folder_is_held_back(tmp_path):
    for name in ("a/2024-10.csv", "a/2024-11.csv", "b/2025-01.csv", "b/2024-12.csv",
                 "c/register.csv", "d/2026-01.csv"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    # d has a single month: nothing to hold back there.
    assert newest_months(tmp_path) == [tmp_path / "a/2024-11.csv", tmp_path / "b/2025-01.csv"]


def test_the_baseline_reads_money_and_dates_as_the_pipeline_does():
    import pandas as pd

    money = to_money(pd.Series([" £1,680.00 ", "(1,234.50)", "1,234.50-", "TBC", "-12.5"]))
    assert money.tolist()[:3] == [1680.0, -1234.5, -1234.5]
    assert pd.isna(money[3]) and money[4] == -12.5
    dates = to_date(pd.Series(["2024-10-01", "03/04/2025", "3 Apr 2025",
                               "Tuesday, September 1, 2026", "22/04/222"]))  # fmt: skip
    assert [str(d.date()) if not pd.isna(d) else None for d in dates] == [
        "2024-10-01", "2025-04-03", "2025-04-03", "2026-09-01", None,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("bench")
    assert main(["--scales", "0.01", "--work", str(work), "--out", str(work / "out"),
                 "--baseline-loop-max", "0.01"]) == 0  # fmt: skip
    results = json.loads((work / "out" / "results.json").read_text())
    assert (work / "out" / "results.md").read_text().startswith("| scale |")
    return results["scales"][0]


def test_tiny_benchmark_measures_every_step(tiny):
    for step in ("floor", "pipeline", "incremental", "pandas_vectorised", "pandas_loop"):
        assert tiny[step]["seconds"] > 0 and tiny[step]["peak_rss_mb"] > 0, step
    layers = tiny["pipeline"]["layers"]
    for layer in ("ingest", "expectations", "entities", "links", "marts", "outputs"):
        assert layers[layer]["seconds"] > 0, layer
    # The incremental run read only the held-back month (ingest reads 3 files, not 78).
    assert tiny["incremental"]["new_files"] == [
        "drr/spend-over-25k/2026-09.csv", "kelder/spend/2026-09.csv",
        "northmoor/spend/2026-09.csv",
    ]  # fmt: skip


def test_tiny_benchmark_baselines_give_the_pipelines_results(tiny):
    # Scale 0.01 is the committed sample: 14,710 payment lines and 520 register entries
    # (make run's summary), OV07 is the planted case alone (NCC-P07A, three payments,
    # £14,700 - data/raw/planted.yaml), and HHI is compared for 4 buyers x 3 years.
    for style in ("pandas_vectorised", "pandas_loop"):
        same = tiny[style]["matches_pipeline"]
        assert same["equal"], same
        assert same["ov07"]["pipeline"] == 1 and same["sc01"]["pipeline"] == 12
    assert tiny["payment_lines"] == 14_710
