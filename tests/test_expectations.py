"""The expectation suites: each passes on clean data and fails, by name, on one planted
defect; blocking failures stop the marts, warnings do not; the real files' legitimate
failures are pinned."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from oversight.core.catalogue import load_catalogue
from oversight.validation.suites import (
    EXPECTATIONS_DIR,
    SUITE_TABLES,
    SuiteRunner,
    _batches,
    load_sql_rules,
    load_suite,
    run_suite,
)
from tests.conftest import REAL_CATALOGUE, ingest_all, needs_real, write_catalogue
from tests.test_notices import AWARD, package, release

SPEND_HEADER = "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name,Service Area"
REGISTER_HEADER = (
    "Reference Number,Title of Agreement,Supplier Name,Supplier Registration "
    "Number,SME,Start Date,End Date,Review Date,Value of Agreement,Contract Manager"
)


def clean_files(raw: Path) -> None:
    (raw / "spend").mkdir(parents=True)
    lines = [SPEND_HEADER] + [
        f"Test Council,2024-0{1 + i % 2}-{10 + i:02d},{1000 + i},{720 + i * 37}.00,120.00,"
        f"{600 + i * 37}.00,Supplier {i} Ltd,Area"
        for i in range(25)
    ]
    (raw / "spend" / "2024.csv").write_text("\n".join(lines) + "\n")
    (raw / "register").mkdir()
    rows = [REGISTER_HEADER] + [
        f"C{i},Service {i},Supplier {i} Ltd,{1234560 + i},Y,2023-04-01,2026-03-31,2025-04-01,"
        f"{10000 * (i + 1)},A. Owner"
        for i in range(30)
    ]
    (raw / "register" / "register.csv").write_text("\n".join(rows) + "\n")
    (raw / "notices").mkdir()
    rated = release(
        "r2",
        "2024-07-01T00:00:00Z",
        contracts=[
            {
                "id": "C1",
                "implementation": {
                    "metrics": [{"id": "K1", "observations": [{"id": "O1", "measure": "Good"}]}]
                },
            }
        ],
    )
    (raw / "notices" / "n.json").write_text(package(AWARD, rated))


SOURCES = [
    {
        "id": "spend",
        "publisher": "Test Council",
        "kind": "spend",
        "folder": "spend",
        "files": "*.csv",
        "layout": "salford-spend",
        "threshold": 500,
    },
    {
        "id": "register",
        "publisher": "Test Council",
        "kind": "contract_register",
        "folder": "register",
        "files": "*.csv",
        "layout": "lgtc-register",
    },
    {
        "id": "notices",
        "publisher": "Test Council",
        "kind": "ocds",
        "folder": "notices",
        "files": "*.json",
    },
]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    return clean_warehouse(tmp_path_factory.mktemp("clean"))


def clean_warehouse(root: Path) -> tuple[Path, dict]:
    """The clean files ingested into `root/w.duckdb`; (the warehouse, the sources'
    thresholds)."""
    clean_files(root / "raw")
    catalogue = load_catalogue(write_catalogue(root, SOURCES))
    warehouse = root / "w.duckdb"
    ingest_all(catalogue, warehouse)
    return warehouse, {s.id: s.threshold for s in catalogue.sources if s.threshold}


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> SuiteRunner:
    return SuiteRunner(tmp_path_factory.mktemp("gx"))


def failures(warehouse: Path, table: str, runner: SuiteRunner, thresholds: dict) -> set[str]:
    con = duckdb.connect(str(warehouse))
    try:
        return {o.name for o in run_suite(con, table, runner, thresholds) if not o.success}
    finally:
        con.close()


def test_every_suite_is_a_reviewed_file_with_named_rules():
    for table in SUITE_TABLES:
        suite = load_suite(table)
        assert suite["name"] == table
        names = [e["meta"]["name"] for e in suite["expectations"]]
        names += [r["name"] for r in load_sql_rules(table)]
        assert len(names) == len(set(names)), table
        for e in suite["expectations"]:
            assert e["meta"]["severity"] in ("error", "warn") and e["meta"]["why"]
        assert json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text()) == suite


@pytest.mark.parametrize("table", SUITE_TABLES)
def test_clean_data_passes(clean, runner, table):
    warehouse, thresholds = clean
    assert failures(warehouse, table, runner, thresholds) == set()


def test_an_incremental_validation_checks_only_files_ingested_since(clean, runner, tmp_path):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))

    def validated() -> dict[str, object]:
        return dict(
            con.execute(
                "select u.file_path, max(o.validated_at) from quality.validation_units u "
                "join quality.unit_outcomes o using (unit) "
                "where u.table_name = 'staging.contracts' group by 1"
            ).fetchall()
        )

    first = run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    before = validated()
    assert set(before) == {"register/register.csv", "notices/n.json"}
    again = run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    after = validated()
    # Nothing changed: neither the register nor the notices are validated again.
    assert after == before
    assert [(o.name, o.success, o.unexpected) for o in again] == [
        (o.name, o.success, o.unexpected) for o in first
    ]
    # Re-ingesting the register (a new ingested_at) validates it again, and a defect in it
    # is found.
    con.execute(
        "update raw.files set ingested_at = ingested_at + interval 1 second "
        "where file_path = 'register/register.csv'"
    )
    con.execute("update staging.contracts set title = null where contract_ref = 'C3'")
    failed = {o.name for o in run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
              if not o.success}  # fmt: skip
    now = validated()
    assert now["register/register.csv"] > after["register/register.csv"]
    assert now["notices/n.json"] == after["notices/n.json"]  # the notices did not change
    assert "title_present" in failed
    # A new notice file of the source: its rows are compiled with the older files' (a
    # release may update a contract first seen in n.json), so n.json is validated again too.
    for table in ("raw.files", "staging.contracts"):
        con.execute(
            f"insert into {table} select * replace ('notices/n2.json' as file_path) "
            f"from {table} where file_path = 'notices/n.json'"
        )
    run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    latest = validated()
    assert latest["notices/n.json"] > now["notices/n.json"] and "notices/n2.json" in latest
    assert latest["register/register.csv"] == now["register/register.csv"]
    con.close()


def test_a_per_file_sql_rule_checks_only_files_ingested_since(clean, runner, tmp_path):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    for table in ("raw.files", "staging.spend"):  # a second file of the source
        con.execute(
            f"insert into {table} select * replace ('spend/2025.csv' as file_path) "
            f"from {table} where file_path = 'spend/2024.csv'"
        )

    def outcome(name: str, limits: dict = thresholds, reuse: bool = True):
        outcomes = run_suite(con, "staging.spend", runner, limits, reuse=reuse)
        return next(o for o in outcomes if o.name == name)

    assert outcome("lineage_key_unique").success
    per_file = sorted(r["name"] for r in load_sql_rules("staging.spend") if r.get("per"))
    assert per_file == [
        "amount_repeated_in_over_10pct_of_file",
        "lineage_key_unique",
        "transaction_below_threshold",
    ]
    checked = "select rule, count(*) from quality.rule_files group by 1 order by 1"
    assert con.execute(checked).fetchall() == [(rule, 2) for rule in per_file]
    copy_row = (
        "insert into staging.spend select * from staging.spend "
        "where file_path = '{}' and row_number = 2"
    )
    # A line copied in 2025.csv with no new ingest: that file is not checked again.
    con.execute(copy_row.format("spend/2025.csv"))
    assert outcome("lineage_key_unique").success
    # 2024.csv ingested again (a new ingested_at), with the same defect: checked, found, and
    # the example names that file.
    con.execute(copy_row.format("spend/2024.csv"))
    con.execute(
        "update raw.files set ingested_at = ingested_at + interval 1 second "
        "where file_path = 'spend/2024.csv'"
    )
    found = outcome("lineage_key_unique")
    assert (found.success, found.unexpected) == (False, 1)
    assert [e["file_path"] for e in found.examples] == ["spend/2024.csv"]
    assert con.execute(checked).fetchall() == [(rule, 2) for rule in per_file]
    # Without reuse every file is checked again: both copies are found.
    assert outcome("lineage_key_unique", reuse=False).unexpected == 2
    # A file gone: its findings go too.
    for table in ("raw.files", "staging.spend"):
        con.execute(f"delete from {table} where file_path = 'spend/2024.csv'")
    found = outcome("lineage_key_unique")
    assert [e["file_path"] for e in found.examples] == ["spend/2025.csv"]
    assert con.execute(checked).fetchall() == [(rule, 1) for rule in per_file]
    # Another threshold in the catalogue checks every file again: each of 2025.csv's 21
    # single-line transactions (25 lines, 4 quarantined for dates such as 2024-02-31; 720 to
    # 1,460 gross) is under 2,000.
    assert outcome("transaction_below_threshold").success
    assert outcome("transaction_below_threshold", {"spend": 2000}).unexpected == 21
    con.close()


ROW = "(select min(row_number) from {t})"
DEFECTS = [
    (
        "staging.spend",
        "update staging.spend set payment_date = null where row_number = 2",
        {"payment_date_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = null where row_number = 2",
        {"amount_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set supplier_name = null where row_number = 2",
        {"supplier_name_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set buyer_name = null where row_number = 2",
        {"buyer_name_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set file_sha256 = null where row_number = 2",
        {"file_sha256_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set payment_date = '1985-01-01' where row_number = 2",
        {"payment_date_realistic"},
    ),
    (
        "staging.spend",
        "update staging.spend set payment_date = '2099-01-01'",
        {"payment_date_realistic", "payment_date_realistic_mostly"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 900000000 where row_number = 2",
        {"amount_plausible"},
    ),
    (
        "staging.spend",
        "update staging.spend set supplier_company_number = '123'",
        {"company_number_format"},
    ),
    (
        "staging.spend",
        "insert into staging.spend select * from staging.spend where row_number = 2",
        {"lineage_key_unique"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 777 where row_number < 6",
        {"amount_repeated_in_over_10pct_of_file"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 90, gross_amount = 108 where row_number = 2",
        {"transaction_below_threshold"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set title = null where contract_ref = 'C1'",
        {"title_present"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set record_type = 'rumour' where contract_ref = 'C1'",
        {"record_type_known"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set review_date = '1899-12-31' where contract_ref = 'C1'",
        {"review_date_realistic"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set end_date = '2023-01-01' where contract_ref = 'C1'",
        {"start_not_after_end"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set end_date = '2023-01-01' where record_type = 'register'",
        {"start_not_after_end", "start_not_after_end_mostly"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set start_date = '1975-01-01'",
        {"start_date_realistic", "start_date_realistic_mostly"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set total_value = -5 where contract_ref = 'C1'",
        {"values_not_negative"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set currency = 'EUR' where record_type = 'notice'",
        {"currency_known"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set supplier_company_number = 'X1' where contract_ref = 'C1'",
        {"company_number_format"},
    ),
    (
        "staging.contracts",
        "insert into staging.contracts select * from staging.contracts where contract_ref = 'C1'",
        {"contract_id_unique"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set event_type = 'rumour' where event_type = 'award'",
        {"event_type_known"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set rating = 'meh' where rating is not null",
        {"rating_on_the_scale"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set event_date = null where event_type = 'award'",
        {"event_date_present"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set contract_id = 'nowhere' where event_type = 'award'",
        {"event_has_its_contract"},
    ),
    (
        "staging.contract_events",
        "insert into staging.contract_events select * from "
        "staging.contract_events where event_type = 'award'",
        {"event_id_unique"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set position = 0 where position = 2",
        {"position_from_one"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set supplier_name = null where position = 2",
        {"supplier_name_present"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set position = 1",
        {"supplier_position_unique"},
    ),
]


@pytest.mark.parametrize(
    ("table", "defect", "expected"), DEFECTS, ids=[f"{t}:{sorted(e)[0]}" for t, _, e in DEFECTS]
)
def test_one_planted_defect_fails_the_rule_that_names_it(
    clean, runner, tmp_path, table, defect, expected
):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute(defect)
    con.close()
    assert failures(copy, table, runner, thresholds) == expected


@needs_real
def test_real_files_fail_only_where_they_really_are_wrong(tmp_path, runner):
    catalogue = load_catalogue(REAL_CATALOGUE)
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    thresholds = {s.id: s.threshold for s in catalogue.sources if s.threshold}
    con = duckdb.connect(str(warehouse))
    outcomes = {
        t: [o for o in run_suite(con, t, runner, thresholds) if not o.success] for t in SUITE_TABLES
    }
    con.close()
    found = {(t, o.name, o.severity, o.unexpected) for t, out in outcomes.items() for o in out}
    assert found == {
        # Salford's register: two entries end the day before they start (rows 327, 359).
        ("staging.contracts", "start_not_after_end", "warn", 2),
        # Salford's spend, winter 2020-21: Covid business grants of fixed amounts
        # (£1,334, £667, £2,001, £4,000...) make up over 10% of some months' lines.
        ("staging.spend", "amount_repeated_in_over_10pct_of_file", "warn", 11),
        # Calderdale publishes lines under £500 (905 references) and the Cabinet Office
        # 8 transactions under £25k once summed (credits and part-payments); Gateshead (1,800
        # transactions, card payments among them) and Newcastle (1,426) publish under £500.
        ("staging.spend", "transaction_below_threshold", "warn", 913 + 1800 + 1426),
    }
    rows = sorted(int(x["row_number"]) for o in outcomes["staging.contracts"] for x in o.examples)
    assert rows == [327, 359]


def test_batches_run_across_files_in_file_then_row_order():
    """Files are sorted one at a time, and the batches still run across them as one stream:
    3 + 4 rows in batches of 2 are 2, 2, 2, 1, in file and row order."""
    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute(
        "create table staging.spend as select * from (values "
        "('s', 'b.csv', 2), ('s', 'a.csv', 3), ('s', 'b.csv', 1), ('s', 'a.csv', 1), "
        "('s', 'b.csv', 4), ('s', 'a.csv', 2), ('s', 'b.csv', 3), ('t', 'a.csv', 9)) "
        "v(source_id, file_path, row_number)"
    )
    select = "select file_path, row_number from staging.spend where source_id = ? "
    select += "and file_path = ? order by row_number"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("oversight.validation.suites._select", lambda table: select)
        batches = list(_batches(con, "staging.spend", "s", ["b.csv", "a.csv"], 2))
    rows = [list(zip(*b.to_pydict().values(), strict=True)) for b in batches]
    assert rows == [
        [("a.csv", 1), ("a.csv", 2)],
        [("a.csv", 3), ("b.csv", 1)],
        [("b.csv", 2), ("b.csv", 3)],
        [("b.csv", 4)],
    ]


def test_a_file_is_validated_in_the_order_it_was_loaded(tmp_path):
    """No sort (a 1 GB file's sort took 1.5 GB): a file's rows come back in the order they were
    inserted, across row groups and threads, with another file's rows inserted in between."""
    from oversight.core.warehouse import open_warehouse

    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.execute("set threads = 2")
        for first in (1, 100_001, 200_001):  # three chunks of a.csv, b.csv between them
            for path, start in (("a.csv", first), ("b.csv", first)):
                con.execute(
                    "insert into staging.spend (source_id, file_path, row_number, amount) "
                    "select 's', ?, r, r / 100 from range(?, ? + 100000) t(r)",
                    [path, start, start],
                )
        batches = list(_batches(con, "staging.spend", "s", ["a.csv"], 70_000))
    rows = [n for b in batches for n in b.column("row_number").to_pylist()]
    assert rows == list(range(1, 300_001))
    assert [b.num_rows for b in batches] == [70_000] * 4 + [20_000]
