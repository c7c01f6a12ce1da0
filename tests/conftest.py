"""Shared fixtures: temporary warehouses and catalogues, and the real published files."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pytest
import yaml

from oversight.core.catalogue import Catalogue, load_catalogue
from oversight.core.warehouse import open_warehouse
from oversight.ingest.load import SourceSummary, ingest_source

PROJECT = Path(__file__).resolve().parents[1]
REAL = PROJECT.parent / "shared" / "data" / "real"
REAL_CATALOGUE = PROJECT / "tests" / "catalogues" / "real.yaml"
LAYOUTS = PROJECT / "catalogue" / "layouts.yaml"

needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the real published files are not here ({REAL})"
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def write_catalogue(folder: Path, sources: list[dict], **top: object) -> Path:
    """A catalogue YAML in `folder`, with raw_dir `folder/raw` and the project's layouts."""
    path = folder / "catalogue.yaml"
    doc = {"raw_dir": "raw", "layouts_file": str(LAYOUTS), **top, "sources": sources}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def ingest_all(catalogue: Catalogue, warehouse: Path) -> dict[str, SourceSummary]:
    with open_warehouse(warehouse) as con:
        return {s.id: ingest_source(con, catalogue, s.id) for s in catalogue.sources}


def add_payments(con: duckdb.DuckDBPyConnection, payments: Iterable[dict]) -> None:
    """Payment lines straight into staging.spend (source `pay`, file `p.csv`, buyer `Test
    Council` unless given): each a dict of canonical columns, with `row_number`."""
    for payment in payments:
        row = {"source_id": "pay", "file_path": "p.csv", "part": "", "buyer_name": "Test Council"}
        row |= payment
        con.execute(
            f"insert into staging.spend ({', '.join(row)}) values ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


class OneSource:
    """Write files for one source into a temp raw folder, ingest them, and read the results."""

    def __init__(
        self,
        tmp_path: Path,
        kind: str = "spend",
        layout: str | None = "salford-spend",
        **source: object,
    ) -> None:
        self.root = tmp_path
        self.raw = tmp_path / "raw" / "pub"
        self.raw.mkdir(parents=True, exist_ok=True)
        self.warehouse = tmp_path / "w.duckdb"
        self.source = {
            "id": "pub",
            "publisher": "Test Council",
            "kind": kind,
            "folder": "pub",
            "files": ["*.csv", "*.xlsx", "*.zip", "*.txt"],
            **source,
        }
        if layout:
            self.source["layout"] = layout

    def file(self, name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        path = self.raw / name
        if isinstance(content, str):
            content = textwrap.dedent(content).lstrip("\n").encode(encoding)
        path.write_bytes(content)
        return path

    def ingest(self) -> SourceSummary:
        catalogue = load_catalogue(write_catalogue(self.root, [self.source]))
        return ingest_all(catalogue, self.warehouse)["pub"]

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return query(self.warehouse, sql, params)

    def file_row(self, name: str) -> dict:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            cur = con.execute("select * from raw.files where file_path = ?", [f"pub/{name}"])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
        assert len(rows) == 1, f"expected one raw.files row for {name}, got {rows}"
        return dict(zip(cols, rows[0], strict=True))


@pytest.fixture
def one_source(tmp_path: Path):
    def make(**kw: object) -> OneSource:
        return OneSource(tmp_path, **kw)

    return make


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 (tests/http_server.py), stopped after the test."""
    from tests.http_server import Server

    s = Server()
    yield s
    s.httpd.shutdown()
