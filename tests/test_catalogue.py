"""The catalogue is validated on load, and every error names the source and the key."""

from pathlib import Path

import pytest

from oversight.catalogue import CatalogueError, load_catalogue
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
