"""The benchmark, at a tiny scale (CI keeps it working; `make bench` measures)."""

import json

import pytest

from benchmarks.bench import main, measure
from benchmarks.floor import run_floor
from benchmarks.inputs import newest_months
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
def tiny_results(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("bench")
    assert main(["--scales", "0.01", "--work", str(work), "--out", str(work / "out"),
                 "--baseline-loop-max", "0.01", "--large-csv-mb", "1",
                 "--large-workbook-rows", "1200", "--memory-limit-mb", "8000"]) == 0  # fmt: skip
    results = json.loads((work / "out" / "results.json").read_text())
    assert "| scale |" in (work / "out" / "results.md").read_text()
    return {**results, "work": work}


@pytest.fixture(scope="module")
def tiny(tiny_results) -> dict:
    return tiny_results["scales"][0]


def test_tiny_benchmark_measures_every_step(tiny):
    steps = (
        "floor",
        "pipeline",
        "incremental",
        "pandas_vectorised",
        "pandas_loop",
        "duckdb_script",
    )
    for step in steps:
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
    # Scale 0.01 is the committed sample: 14,715 payment lines and 520 register entries
    # (make run's summary), OV07 is the planted case alone (NCC-P07A, three payments,
    # £14,700 - data/raw/planted.yaml), and HHI is compared for 4 buyers x 3 years.
    for style in ("pandas_vectorised", "pandas_loop", "duckdb_script"):
        same = tiny[style]["matches_pipeline"]
        assert same["equal"], same
        assert same["ov07"]["pipeline"] == 1 and same["sc01"]["pipeline"] == 12
    assert tiny["payment_lines"] == 14_715  # spend loaded: 4,311 + 413 + 4,641 + 5,350


def test_the_floor_reads_every_row_of_every_file_both_ways(tiny):
    floor = tiny["floor"]
    # The committed sample holds cp1252 files (a register, a zip of monthly CSVs, DRR months):
    # every line of them is read, and counted against Python's csv over the decoded text.
    assert floor["rows"] == floor["true_rows"] > 14_000
    assert floor["seconds"] > 0 and floor["sniffed_seconds"] > 0
    assert tiny["ratios"]["pipeline_vs_floor"] > tiny["ratios"]["pipeline_vs_floor_sniffed"] > 0


def test_the_floor_reads_cp1252_and_quoted_newlines_in_every_mode(tmp_path):
    import duckdb

    raw = tmp_path / "raw" / "x"
    raw.mkdir(parents=True)
    lines = [f"Supplier {i} \u2019s caf\u00e9,\u20ac{i},x" for i in range(3000)]
    (raw / "cp1252.csv").write_bytes(("Name,Amount,Note\n" + "\n".join(lines)).encode("cp1252"))
    (raw / "latin1.csv").write_bytes("a;b\nsé;1\ncafé;2\n".encode("latin-1"))
    (raw / "quoted.csv").write_text('a,b,c\n1,"two\nlines",3\nshort\n4,5,6\n')
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw")
    con.execute("create table raw.files (file_path varchar, format varchar, encoding varchar, "
                "delimiter varchar, header_rows varchar, status varchar)")  # fmt: skip
    con.execute("insert into raw.files values ('x/cp1252.csv', 'csv', 'cp1252', ',', '1', "
                "'loaded'), ('x/latin1.csv', 'csv', 'latin_1', ';', '1', 'loaded'), "
                "('x/quoted.csv', 'csv', 'utf-8', ',', '1', 'loaded')")  # fmt: skip
    con.close()
    files = sorted(raw.glob("*.csv"))
    out = run_floor(files, tmp_path / "raw", warehouse, ["sniffed", "given"], repeat=1)
    # 3001 + 3 + 4 records (the quoted value over two lines is one record)
    assert out["true_rows"] == 3008
    assert out["sniffed"]["rows"] == out["given"]["rows"] == 3008
    assert out["transcoded"] == 1  # the euro sign: DuckDB's latin-1 refuses 0x80


def test_a_process_past_the_memory_limit_is_killed_not_the_machine(tmp_path):
    import sys

    hog = (
        "import time; x = bytearray(400 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(30)"
    )
    result = measure([sys.executable, "-c", hog], {}, tmp_path / "hog.log", limit_mb=150)
    assert result["killed_at_mb"] > 150 and result["seconds"] < 25


def test_tiny_benchmark_large_files_and_the_rerun(tiny_results):
    csv_case, book = tiny_results["large_files"]
    # Every data row of the large CSV and of the 12-sheet workbook is read by the pipeline,
    # and the floor reads them too (plus one header a file or sheet).
    assert csv_case["pipeline_ingest"]["rows_read"] == csv_case["rows"] > 5_000
    assert csv_case["floor"]["rows"] == csv_case["floor"]["true_rows"] == csv_case["rows"] + 1
    assert book["sheets"] == 12 and book["columns"] == 12
    assert book["pipeline_ingest"]["rows_read"] == book["rows"] == 1200
    assert book["floor"]["rows"] == book["floor"]["true_rows"] == 1200 + 12
    for case in (csv_case, book):
        assert (
            case["pipeline_ingest"]["peak_rss_mb"] > 0
            and "killed_at_mb" not in case["pipeline_ingest"]
        )
    rerun = tiny_results["rerun"]
    assert rerun["first"]["exit_code"] == rerun["second"]["exit_code"] == 0
    assert rerun["second"]["seconds"] > 0
    assert any(t["target"].startswith("make run, nothing changed") for t in tiny_results["targets"])


def test_the_month_runs_again_from_the_full_runs_warehouse(tiny_results, tmp_path, capsys):
    """`benchmarks.month` on the tiny sample: the month twice from one copy, both measured,
    and every held-back file back in the sample afterwards."""
    from benchmarks.month import main as month

    raw = tiny_results["work"] / "scale-0.01" / "raw"
    before = sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file())
    assert month(["--raw", str(raw), "--work", str(tmp_path), "--repeat", "2"]) == 0
    assert sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file()) == before
    result = json.loads((tmp_path / "month.json").read_text())
    assert result["new_files"] == [p.relative_to(raw).as_posix() for p in newest_months(raw)]
    assert len(result["months"]) == len(result["month_share"]) == 2
    for run in (result["full"], *result["months"]):
        assert run["success"] and run["seconds"] > 0 and run["peak_rss_mb"] > 0
        assert run["steps"]["ingest_sources"][0] > 0
    out = capsys.readouterr().out
    assert "month, run 2:" in out and "of the full run" in out
