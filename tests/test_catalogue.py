"""The catalogue is validated on load, and every error names the source and the key."""

from pathlib import Path

import pytest

from oversight.core.catalogue import CatalogueError, load_catalogue
from tests.conftest import PROJECT, write_catalogue

GOOD = {
    "id": "a-spend",
    "publisher": "A Council",
    "kind": "spend",
    "folder": "a",
    "files": "*.csv",
    "layout": "salford-spend",
}


def error_for(tmp_path: Path, **changes: object) -> str:
    source = {**GOOD, **changes}
    source = {k: v for k, v in source.items() if v is not None}
    with pytest.raises(CatalogueError) as info:
        load_catalogue(write_catalogue(tmp_path, [source]))
    return str(info.value)


def test_project_catalogue_loads_with_layouts_resolved():
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    assert [s.id for s in catalogue.sources][:2] == ["northmoor-register", "northmoor-spend"]
    columns = catalogue.source_columns("northmoor-spend")
    assert columns["transaction_id"] == ("DocumentNo", "Document Number", "SAP Document Number")
    assert catalogue.raw_dir == (PROJECT / "data" / "raw").resolve()


def test_typo_in_a_key_names_source_key_and_suggestion(tmp_path):
    source = {**GOOD, "colums": {"amount": "Net"}}
    with pytest.raises(CatalogueError) as info:
        load_catalogue(write_catalogue(tmp_path, [source]))
    assert "source 'a-spend': unknown key 'colums' (did you mean 'columns'?)" in str(info.value)


def test_typo_in_a_nested_key(tmp_path):
    message = error_for(tmp_path, read={"delimter": ";"})
    assert "source 'a-spend': unknown key 'read.delimter' (did you mean 'delimiter'?)" in message


def test_unknown_canonical_column(tmp_path):
    message = error_for(tmp_path, columns={"suplier_name": ["Payee"]})
    assert (
        "source 'a-spend': unknown canonical column 'suplier_name' for kind spend "
        "(did you mean 'supplier_name'?)"
    ) in message


def test_missing_required_field(tmp_path):
    message = error_for(tmp_path, publisher=None)
    assert "source 'a-spend': missing required key 'publisher'" in message


def test_bad_kind(tmp_path):
    assert "source 'a-spend': key 'kind'" in error_for(tmp_path, kind="spending")


def test_required_canonical_column_without_mapping(tmp_path):
    message = error_for(tmp_path, layout=None, columns={"payment_date": "Date"})
    assert "source 'a-spend': no mapping for required column(s) amount, supplier_name" in message


def test_unknown_layout(tmp_path):
    message = error_for(tmp_path, layout="salford-spnd")
    assert (
        "source 'a-spend': unknown layout 'salford-spnd' (did you mean 'salford-spend'?)" in message
    )


def test_layout_of_the_wrong_kind(tmp_path):
    message = error_for(tmp_path, layout="salford-register")
    assert "layout 'salford-register' is for kind contract_register" in message


def test_every_problem_is_listed_at_once(tmp_path):
    bad = [{**GOOD, "colums": {}}, {**GOOD, "id": "b-spend", "kind": "spend", "folder": None}]
    bad[1].pop("folder")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(write_catalogue(tmp_path, bad))
    assert "source 'a-spend': unknown key 'colums'" in str(info.value)
    assert "source 'b-spend': missing required key 'folder'" in str(info.value)


def test_duplicate_ids_and_invalid_yaml(tmp_path):
    with pytest.raises(CatalogueError, match="source 'a-spend': duplicate source id"):
        load_catalogue(write_catalogue(tmp_path, [GOOD, GOOD]))
    path = tmp_path / "broken.yaml"
    path.write_text("sources: [\n")
    with pytest.raises(CatalogueError, match="is not valid YAML"):
        load_catalogue(path)


def test_environment_variables_choose_catalogue_and_raw_dir(tmp_path, monkeypatch):
    path = write_catalogue(tmp_path, [GOOD])
    monkeypatch.setenv("OVERSIGHT_CATALOGUE", str(path))
    monkeypatch.setenv("OVERSIGHT_RAW_DIR", str(tmp_path / "elsewhere"))
    catalogue = load_catalogue()
    assert catalogue.path == path
    assert catalogue.raw_dir == tmp_path / "elsewhere"


def test_config_hash_changes_with_the_mapping(tmp_path):
    first = load_catalogue(write_catalogue(tmp_path, [GOOD])).config_hash("a-spend")
    changed = {**GOOD, "values": {"placeholders": ["Various"]}}
    second = load_catalogue(write_catalogue(tmp_path, [changed])).config_hash("a-spend")
    assert first != second


def test_one_bad_entry_is_reported_and_skipped_and_the_others_run(tmp_path, capsys):
    import dagster as dg

    from pipelines.definitions import build_defs
    from pipelines.run import materialise_all

    raw = tmp_path / "raw" / "a"
    raw.mkdir(parents=True)
    (raw / "2025-09.csv").write_text(
        "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name\n"
        "A,05/09/2025,1,600,0,600,Alder Ltd\n"
    )
    sources = [
        GOOD,
        {**GOOD, "id": "b-spend", "colums": {}},  # a typo: invalid, but its id is valid
        {**GOOD, "id": "Not An Id!"},  # no usable id: reported only
        {**GOOD, "id": "c-spend", "layout": "broken"},  # a layout with a problem
    ]
    path = write_catalogue(
        tmp_path, sources, layouts={"broken": {"kind": "spend", "columns": {"amont": "Net"}}}
    )
    with pytest.raises(CatalogueError):  # strict (tests, tools): every problem raises
        load_catalogue(path)
    catalogue = load_catalogue(path, strict=False)
    assert [s.id for s in catalogue.sources] == ["a-spend"]
    assert [e.id for e in catalogue.invalid] == ["b-spend", None, "c-spend"]
    assert catalogue.partition_ids == ["a-spend", "b-spend", "c-spend"]
    assert "unknown canonical column 'amont'" in " ".join(catalogue.problems_of("c-spend"))
    report = catalogue.report()
    assert report.startswith("3 catalogue entries are invalid and were skipped")
    assert "source 'b-spend': unknown key 'colums'" in report

    defs = build_defs(str(path), str(tmp_path / "w.duckdb"))
    assert "3 catalogue entries are invalid" in capsys.readouterr().err  # dg check defs shows it
    with dg.DagsterInstance.ephemeral() as instance:
        results = materialise_all(defs, instance, log_level="ERROR")
        assert all(r.success for r in results)  # the valid source and everything after it
        # The invalid entry's own partition fails, with its problems.
        ingest = defs.resolve_job_def("ingest_job")
        failed = ingest.execute_in_process(
            instance=instance, partition_key="b-spend", raise_on_error=False
        )
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure)
        assert "unknown key 'colums'" in failure.event_specific_data.error.message
