"""Imports flow one way: `pipelines/` (Dagster wiring, entry points) → `assets/` (assets,
checks, resources) → `oversight/` (plain Python, no Dagster), and inside `oversight/` from
each layer's package to the layers before it in the flow (`OVERSIGHT_LAYERS`), down to
`oversight/core`. A module that imports from a layer above its own, or after its own in the
flow, fails here, naming the line."""

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT

LAYERS = ("pipelines", "assets", "oversight")  # each may import only those after it
NOT_IN_PLAIN_PYTHON = ("dagster", "dagster_webserver", "great_expectations")
GX_LAYER = "validation"  # the one plain-Python layer that runs Great Expectations
# oversight/'s packages in the order the data flows: each may import only itself and those
# before it (see oversight/__init__.py for what each takes in and gives out).
OVERSIGHT_LAYERS = (
    "core",
    "sample",
    "fetch",
    "ingest",
    "validation",
    "onboard",
    "entities",
    "indicators",
    "outputs",
    "evaluation",
)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names), with its line, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def imported_modules(path: Path, root: Path = PROJECT) -> list[tuple[int, str]]:
    """Like `imports`, with `from a import b` also giving `a.b` (b may be a module) and
    relative imports resolved against the file's package (under `root`)."""
    package = path.relative_to(root).parent.parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def oversight_layer(name: str) -> str | None:
    """The oversight layer a dotted module name is in (`oversight.ingest.load` → `ingest`)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "oversight" else None


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


def test_the_plain_python_layer_needs_no_dagster_and_gx_only_to_validate():
    wrong = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in modules("oversight")
        for line, name in imports(path)
        if name.split(".")[0] in NOT_IN_PLAIN_PYTHON
        and not (
            name.startswith("great_expectations")
            and oversight_layer(".".join(path.relative_to(PROJECT).with_suffix("").parts))
            == GX_LAYER
        )
    ]
    assert wrong == []


def test_the_check_sees_an_import_back_up(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipelines.definitions import defs\n")
    assert imports(module) == [(2, "pipelines.definitions")]


def test_every_oversight_module_is_in_a_layer():
    """No module sits flat in `oversight/`, and every package there has its place in the flow."""
    packages = {p.name for p in (PROJECT / "oversight").iterdir() if (p / "__init__.py").exists()}
    flat = [p.name for p in (PROJECT / "oversight").glob("*.py") if p.name != "__init__.py"]
    assert flat == []
    assert packages == set(OVERSIGHT_LAYERS)


@pytest.mark.parametrize("layer", OVERSIGHT_LAYERS)
def test_no_oversight_layer_imports_one_after_it(layer):
    allowed = OVERSIGHT_LAYERS[: OVERSIGHT_LAYERS.index(layer) + 1]
    wrong = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in sorted((PROJECT / "oversight" / layer).rglob("*.py"))
        for line, name in imported_modules(path)
        if (imported := oversight_layer(name)) in OVERSIGHT_LAYERS and imported not in allowed
    ]
    assert wrong == []


def test_the_check_sees_a_layer_imported_out_of_order(tmp_path):
    module = tmp_path / "oversight" / "core" / "m.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from oversight.indicators import indicators\n"
        "from oversight import outputs\n"
        "from ..entities.names import name_parts\n"
    )
    found = {
        oversight_layer(name)
        for _, name in imported_modules(module, root=tmp_path)
        if oversight_layer(name) in OVERSIGHT_LAYERS
    }
    assert found == {"indicators", "outputs", "entities"}
