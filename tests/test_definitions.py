"""The Dagster definitions load, and a full in-process materialisation against a temporary
DuckDB succeeds, with the blocking row-accounting check."""

import dagster as dg
import duckdb

from assets.indicators import (
    FLAGS_HAVE_EVIDENCE,
    HHI_IN_RANGE,
    SHARES_SUM_TO_ONE,
    VALUE_AT_RISK_VALID,
)
from assets.ingest import EVERY_FILE_LOADS_ROWS, ROWS_ACCOUNTED_FOR
from oversight.core.catalogue import load_catalogue
from oversight.outputs import exports
from pipelines.definitions import INGEST_JOB, build_defs
from pipelines.run import materialise_all
from tests.conftest import PROJECT

CATALOGUE = PROJECT / "catalogue" / "sources.yaml"


def run_everything(defs: dg.Definitions) -> list[dg.ExecuteInProcessResult]:
    """What `make run` does, against the given definitions."""
    return materialise_all(defs, dg.DagsterInstance.ephemeral(), log_level="WARNING")


def test_definitions_load_with_the_stable_asset_names():
    defs = build_defs(str(CATALOGUE))
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        "raw/downloads",
        "raw/files",
        "raw/quarantine",
        "raw/releases",
        "staging/contracts",
        "staging/spend",
        "staging/contract_events",
        "staging/contract_suppliers",
        "staging/procurement_notices",
        "staging/contract_matches",
        "marts/publisher_quality",
        "outputs/data_docs",
        "entities/suppliers",
        "entities/buyers",
        "links/spend_contract",
        "marts/contract_oversight",
        "marts/supplier_concentration",
        "marts/buyer_scorecard",
        "outputs/exports",
        "outputs/report",
    }
    checks = {
        (c.asset_key.to_user_string(), c.name): graph.get_check_spec(c).blocking
        for c in graph.asset_check_keys
    }
    tables = (
        "staging/contracts",
        "staging/spend",
        "staging/contract_events",
        "staging/contract_suppliers",
    )
    assert checks == {
        ("raw/files", ROWS_ACCOUNTED_FOR): True,
        ("raw/files", EVERY_FILE_LOADS_ROWS): False,
        ("raw/downloads", "fetch_succeeded"): False,
        **{(t, "expectations_blocking"): True for t in tables},
        **{(t, "expectations_warnings"): False for t in tables},
        ("marts/supplier_concentration", SHARES_SUM_TO_ONE): True,
        ("marts/supplier_concentration", HHI_IN_RANGE): True,
        ("marts/contract_oversight", VALUE_AT_RISK_VALID): True,
        ("marts/contract_oversight", FLAGS_HAVE_EVIDENCE): False,
    }
    job = defs.resolve_job_def(INGEST_JOB)
    assert job.partitions_def.get_partition_keys() == [
        s.id for s in load_catalogue(CATALOGUE).sources
    ]


def test_full_materialisation_in_process(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    defs = build_defs(str(CATALOGUE), str(warehouse))
    ingest, derived = run_everything(defs)
    assert ingest.success and derived.success
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in ingest.get_asset_check_evaluations()
    }
    assert evaluations[("raw/files", ROWS_ACCOUNTED_FOR)]
    blocking = {k: v for k, v in evaluations.items() if k[1] == "expectations_blocking"}
    assert set(blocking) == {
        (t, "expectations_blocking")
        for t in (
            "staging/contracts",
            "staging/spend",
            "staging/contract_events",
            "staging/contract_suppliers",
        )
    }
    assert all(blocking.values())
    # The sample's planted slips are warnings: a 1985 start, a start after its end, a
    # repeated amount, refunds that leave a transaction under £500.
    assert not evaluations[("staging/contracts", "expectations_warnings")]
    assert not evaluations[("staging/spend", "expectations_warnings")]
    materialised = {
        e.asset_key.to_user_string()
        for r in (ingest, derived)
        for e in r.get_asset_materialization_events()
    }
    # Everything but the fetch: `make run` works offline on data/raw/.
    assert materialised == {
        k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
    } - {"raw/downloads"}
    con = duckdb.connect(str(warehouse), read_only=True)
    counts = con.execute(
        "select count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from raw.files"
    ).fetchall()
    matches = con.execute("select count(*) from staging.contract_matches").fetchall()
    # Each long mart's workbook order sorts by columns the real mart has.
    for name in exports.SHEET_ORDER:
        facts = exports._sheet_facts(con, f"marts.{name}") | {"rows": exports.SHEET_ROWS + 1}
        con.execute(exports._sheet_query(f"marts.{name}", facts)).fetchall()
    con.close()
    # 78 tabular files (15,249 rows: registers 151 + 158 + 211, spend 4,311 + 425 + 4,641 +
    # 5,352) and 4 notice files (72 releases: DRR's 70 in three files, Kelder's 2)
    assert counts == [(82, 15321, 15307, 14)]
    assert matches == [(2,)]

    # One table's checks selected (as in the UI): only that table is validated, although the
    # four share one step.
    contracts = dg.AssetKey(["staging", "contracts"])
    names = ("expectations_blocking", "expectations_warnings")
    only = dg.define_asset_job(
        "only_contracts",
        selection=dg.AssetSelection.checks(*(dg.AssetCheckKey(contracts, n) for n in names)),
    )
    instance = dg.DagsterInstance.ephemeral()
    result = (
        dg.Definitions.merge(defs, dg.Definitions(jobs=[only]))
        .resolve_job_def("only_contracts")
        .execute_in_process(instance=instance)
    )
    assert {(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()} == {
        (contracts, n) for n in names
    }
    validated = [m.user_message.split(":")[0] for m in instance.all_logs(result.run_id)
                 if m.user_message.startswith("staging.")]  # fmt: skip
    assert validated == ["staging.contracts"]


def test_blocking_check_fails_and_stops_what_depends_on_it(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    defs = build_defs(str(CATALOGUE), str(warehouse))
    assert all(r.success for r in run_everything(defs))
    con = duckdb.connect(str(warehouse))
    con.execute(
        "delete from staging.spend where file_path = 'northmoor/spend/2025-03.csv' "
        "and row_number = 2"
    )
    # Another file looks changed, so the ingest has work to do and its checks run (with
    # nothing new, changed or removed nothing is materialised and no check runs).
    con.execute("update raw.files set sha256 = 'x' where file_path = 'northmoor/spend/2025-04.csv'")
    con.close()
    results = run_everything(defs)  # the damaged file is unchanged: the check sees the damage
    assert len(results) == 1 and not results[0].success  # nothing derived was rebuilt
    evaluation = next(
        e for e in results[0].get_asset_check_evaluations() if e.check_name == ROWS_ACCOUNTED_FOR
    )
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["files not accounted for"].value == 1
    assert "northmoor/spend/2025-03.csv" in evaluation.metadata["examples"].value
