"""Resources shared by the assets: the warehouse and the source catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from oversight.core import settings
from oversight.core.catalogue import Catalogue, load_catalogue
from oversight.core.warehouse import open_warehouse


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. Writers wait `lock_timeout` seconds for another process."""

    path: str = str(settings.warehouse_path())
    lock_timeout: float = settings.lock_timeout_seconds()

    @property
    def gx_dir(self) -> str:
        return str(settings.gx_dir(self.path))

    @property
    def outputs_dir(self) -> str:
        return str(settings.outputs_dir(self.path))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path, read_only=read_only, timeout=self.lock_timeout) as con:
            yield con


class SourceCatalogue(dg.ConfigurableResource):
    """The source catalogue YAML that lists publishers, their files and column mappings."""

    path: str = str(settings.catalogue_path())

    def load(self) -> Catalogue:
        return load_catalogue(self.path, strict=False)
