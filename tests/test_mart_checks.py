"""The marts' own checks and column descriptions: on the sample every check passes and every
column is described; each check fails on a hand-made defect in a copy of the built warehouse."""

import shutil

import dagster as dg
import duckdb
import pytest

from assets.indicators import (
    CONTRACT_OVERSIGHT,
    FLAGS_HAVE_EVIDENCE,
    HHI_IN_RANGE,
    MART_CHECKS,
    OWNERS,
    SHARES_SUM_TO_ONE,
    SUPPLIER_CONCENTRATION,
    VALUE_AT_RISK_VALID,
    check_flags_have_evidence,
    check_hhi_in_range,
    check_shares_sum_to_one,
    check_value_at_risk,
    column_schema,
)
from assets.resources import Warehouse
from oversight.core.mart_columns import MART_COLUMNS
from pipelines.definitions import build_defs
from tests.conftest import PROJECT
from tests.test_definitions import run_everything

MART_CHECK_NAMES = {SHARES_SUM_TO_ONE, HHI_IN_RANGE, FLAGS_HAVE_EVIDENCE, VALUE_AT_RISK_VALID}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sample, materialised as `make run` does: the warehouse and the two runs."""
    warehouse = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    defs = build_defs(str(PROJECT / "catalogue" / "sources.yaml"), str(warehouse))
    results = run_everything(defs)
    assert all(r.success for r in results)
    return warehouse, results


@pytest.fixture
def broken(built, tmp_path):
    """A writable copy of the built warehouse, to break by hand."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(built[0], copy)
    wal = built[0].with_name(built[0].name + ".wal")
    if wal.exists():
        shutil.copy(wal, copy.with_name(copy.name + ".wal"))
    con = duckdb.connect(str(copy))
    yield con
    con.close()


def failed(result: dg.AssetCheckResult) -> str:
    return str(getattr(result.metadata.get("failed"), "value", result.metadata.get("failed")))


def test_mart_checks_pass_on_the_sample(built):
    _, (_, derived) = built
    evaluations = {
        e.check_name: e.passed
        for e in derived.get_asset_check_evaluations()
        if e.check_name in MART_CHECK_NAMES
    }
    assert evaluations == dict.fromkeys(MART_CHECK_NAMES, True)


def test_every_mart_column_is_described(built):
    warehouse, (_, derived) = built
    con = duckdb.connect(str(warehouse), read_only=True)
    tables = [
        f"marts.{t}"
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    ]
    assert set(tables) == set(MART_COLUMNS)  # every mart built, and no description left over
    for table in tables:
        schema = column_schema(con, table)
        undescribed = [c.name for c in schema.columns if not (c.description or "").strip()]
        assert undescribed == [], f"{table}: no description for {undescribed}"
        names = {c.name for c in schema.columns}
        assert set(MART_COLUMNS[table]) <= names, f"{table}: described but not built"
    con.close()
    # ...and the UI has them: the column schema recorded with each mart's materialisation
    recorded = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in derived.get_asset_materialization_events()
        if e.asset_key.path[0] == "marts"
    }
    assert set(recorded) == {
        "marts/contract_oversight",
        "marts/supplier_concentration",
        "marts/buyer_scorecard",
        "marts/publisher_quality",
    }
    for metadata in recorded.values():
        schemas = [v.value for v in metadata.values() if isinstance(v.value, dg.TableSchema)]
        assert schemas and all(c.description for s in schemas for c in s.columns)


def test_mart_assets_have_owners_tags_and_the_docs():
    defs = build_defs(str(PROJECT / "catalogue" / "sources.yaml"))
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] != "marts":
            continue
        node = graph.get(key)
        assert node.owners == OWNERS
        assert node.tags.get("layer") == "marts"
        if key in (CONTRACT_OVERSIGHT, SUPPLIER_CONCENTRATION):
            assert "docs/indicators.md" in node.description
    assert (PROJECT / "docs" / "indicators.md").is_file()


def test_shares_that_do_not_sum_to_one_fail(broken):
    assert check_shares_sum_to_one(broken).passed
    broken.execute("""
        update marts.supplier_shares set share_of_buyer_spend = share_of_buyer_spend + 0.01
        where (basis, buyer_id, financial_year, supplier_id) in (
            select basis, buyer_id, financial_year, supplier_id from marts.supplier_shares
            where basis = 'spend' order by value desc limit 1)""")
    result = check_shares_sum_to_one(broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["buyer-years failing"].value == 1


def test_a_supplier_counted_twice_fails_the_shares(broken):
    # a fan-out: one supplier row twice makes the buyer-year's shares sum above 1
    broken.execute("""
        insert into marts.supplier_shares
        select * from marts.supplier_shares where basis = 'contracted value'
        order by share_of_buyer_spend desc limit 1""")
    result = check_shares_sum_to_one(broken)
    assert not result.passed
    assert "contracted value" in result.metadata["examples"].value


def test_hhi_out_of_range_fails(broken):
    assert check_hhi_in_range(broken).passed
    broken.execute("""
        update marts.supplier_concentration set hhi = 10500
        where (basis, buyer_id, category_scheme, category, financial_year) in (
            select basis, buyer_id, category_scheme, category, financial_year
            from marts.supplier_concentration where category_scheme <> 'all' limit 1)""")
    result = check_hhi_in_range(broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert "HHI outside [0, 10000] (1)" in failed(result)


def test_hhi_inconsistent_with_the_shares_fails(broken):
    # in range, inside its CR1 bounds, but not the sum of the shares squared
    row = broken.execute("""
        select basis, buyer_id, financial_year, hhi from marts.supplier_concentration
        where category_scheme = 'all' and suppliers > 5
          and 10000 * cr1 - hhi > 100 and hhi - 10000 * cr1 * cr1 > 100
        limit 1""").fetchone()
    assert row is not None
    broken.execute(
        "update marts.supplier_concentration set hhi = hhi + 50 where category_scheme = 'all' "
        "and basis = ? and buyer_id = ? and financial_year = ?",
        list(row[:3]),
    )
    result = check_hhi_in_range(broken)
    assert not result.passed
    assert failed(result) == "HHI not the sum of the shares squared (1)"


def test_a_true_flag_without_evidence_warns(broken):
    assert check_flags_have_evidence(broken).passed
    broken.execute(
        "update marts.contract_oversight set ov07_evidence = ' ' where ov07_expired_but_paid"
    )
    broken.execute(
        "update marts.contract_oversight set ov09_evidence = null where contract_id = "
        "(select min(contract_id) from marts.contract_oversight where ov09_not_closed)"
    )
    result = check_flags_have_evidence(broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert failed(result) == "OV07 (1), OV09 (1)"


def test_wrong_value_at_risk_is_an_error(broken):
    assert check_value_at_risk(broken).passed
    broken.execute(
        "update marts.contract_oversight set value_at_risk = -1 where contract_id = "
        "(select min(contract_id) from marts.contract_oversight where ov08_paid_beyond_value)"
    )
    result = check_value_at_risk(broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert failed(result) == "not OV07 + OV08"


def test_credits_after_expiry_below_zero_only_warn(broken):
    # OV07's payments after expiry netting below zero (a credit note): the sum is right, the
    # analyst should read it
    broken.execute("""
        update marts.contract_oversight
        set ov07_value_at_risk = -120, value_at_risk = -120 + coalesce(ov08_value_at_risk, 0)
        where ov07_expired_but_paid""")
    result = check_value_at_risk(broken)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN


def test_the_registered_checks_read_the_warehouse_resource(broken, tmp_path):
    broken.execute("update marts.supplier_concentration set hhi = -1")
    broken.close()
    warehouse = Warehouse(path=str(tmp_path / "copy.duckdb"))
    by_name = {key.name: check for check in MART_CHECKS for key in check.check_keys}
    result = by_name[HHI_IN_RANGE](warehouse=warehouse)
    assert not result.passed
    assert by_name[SHARES_SUM_TO_ONE](warehouse=warehouse).passed
