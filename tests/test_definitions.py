"""The Dagster definitions load, and a full in-process materialisation against a temporary
DuckDB succeeds, with the blocking row-accounting check."""

import dagster as dg
import duckdb
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from assets.ingest import ROWS_ACCOUNTED_FOR
from oversight.catalogue import load_catalogue
from pipelines.definitions import INGEST_JOB, build_defs
from tests.conftest import PROJECT

CATALOGUE = PROJECT / "catalogue" / "sources.yaml"


def run_everything(defs: dg.Definitions) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(INGEST_JOB)
    keys = job.partitions_def.get_partition_keys()
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
    )


def test_definitions_load_with_the_stable_asset_names():
    defs = build_defs(str(CATALOGUE))
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        "raw/files",
        "raw/quarantine",
        "staging/contracts",
        "staging/spend",
    }
    checks = list(graph.asset_check_keys)
    assert [(c.asset_key.to_user_string(), c.name) for c in checks] == [
        ("raw/files", ROWS_ACCOUNTED_FOR)
    ]
    assert graph.get_check_spec(checks[0]).blocking
    job = defs.resolve_job_def(INGEST_JOB)
    assert job.partitions_def.get_partition_keys() == [
        s.id for s in load_catalogue(CATALOGUE).sources
    ]


def test_full_materialisation_in_process(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    defs = build_defs(str(CATALOGUE), str(warehouse))
    result = run_everything(defs)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evaluations] == [(ROWS_ACCOUNTED_FOR, True)]
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {"raw/files", "raw/quarantine", "staging/contracts", "staging/spend"}
    con = duckdb.connect(str(warehouse), read_only=True)
    counts = con.execute(
        "select count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from raw.files"
    ).fetchall()
    con.close()
    assert counts == [(78, 16035, 16021, 14)]


def test_blocking_check_fails_when_rows_go_missing(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    defs = build_defs(str(CATALOGUE), str(warehouse))
    assert run_everything(defs).success
    con = duckdb.connect(str(warehouse))
    con.execute(
        "delete from staging.spend where file_path = 'northmoor/spend/2025-03.csv' "
        "and row_number = 2"
    )
    con.close()
    result = run_everything(defs)  # files unchanged, so the check sees the damage
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["files not accounted for"].value == 1
    assert "northmoor/spend/2025-03.csv" in evaluation.metadata["examples"].value
