"""Imports flow one way: `pipelines/` (Dagster wiring, entry points) → `assets/` (assets,
checks, resources) → `oversight/` (plain Python, no Dagster). A module that imports from a
layer above its own fails here, naming the line."""

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT

LAYERS = ("pipelines", "assets", "oversight")  # each may import only those after it
NOT_IN_PLAIN_PYTHON = ("dagster", "dagster_webserver", "great_expectations")


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names), with its line, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PROJECT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_runs_back_up(layer):
    above = LAYERS[: LAYERS.index(layer)]
    wrong = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in modules(layer)
        for line, name in imports(path)
        if name.split(".")[0] in above
    ]
    assert wrong == []


def test_the_plain_python_layer_needs_no_dagster_or_gx():
    wrong = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in modules("oversight")
        for line, name in imports(path)
        if name.split(".")[0] in NOT_IN_PLAIN_PYTHON
    ]
    assert wrong == []


def test_the_check_sees_an_import_back_up(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipelines.definitions import defs\n")
    assert imports(module) == [(2, "pipelines.definitions")]
