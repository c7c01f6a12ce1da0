"""The one Definitions object: assets, checks, resources and jobs, built from the catalogue."""

from __future__ import annotations

import sys

import dagster as dg

from assets.entities import buyers, contract_matches, spend_contract, suppliers
from assets.expectations import build_suite_checks
from assets.fetch import DOWNLOADS, build_fetch_asset
from assets.indicators import (
    MART_CHECKS,
    buyer_scorecard,
    contract_oversight,
    publisher_quality,
    supplier_concentration,
)
from assets.ingest import INGEST_KEYS, build_ingest_assets
from assets.outputs import data_docs, exports, report
from assets.resources import SourceCatalogue, Warehouse
from oversight.core import settings
from oversight.core.catalogue import Catalogue, load_catalogue
from pipelines.automation import (
    AFTER_INGEST,
    NIGHTLY,
    automated,
    build_automation_sensor,
    build_new_files_sensor,
)

INGEST_JOB = "ingest_job"
DERIVE_JOB = "derive_job"
REBUILD_JOB = "full_rebuild_job"
FETCH_JOB = "fetch_and_ingest_job"


def source_partitions(catalogue: Catalogue) -> dg.StaticPartitionsDefinition:
    """One partition per catalogue source id (an invalid entry with a valid id keeps its
    partition, which fails with the entry's problems)."""
    return dg.StaticPartitionsDefinition(catalogue.partition_ids)


def build_defs(
    catalogue_path: str | None = None,
    warehouse_path: str | None = None,
    lock_timeout: float | None = None,
) -> dg.Definitions:
    """Definitions for a catalogue and warehouse (defaults: the environment, see settings)."""
    catalogue_path = str(catalogue_path or settings.catalogue_path())
    catalogue = load_catalogue(catalogue_path, strict=False)
    if catalogue.invalid:  # `dg check defs`, `make run` and the UI's code server say so
        print(catalogue.report(), file=sys.stderr)
    partitions = source_partitions(catalogue)
    ingest = build_ingest_assets(partitions)
    ingest_job = dg.define_asset_job(
        INGEST_JOB,
        selection=dg.AssetSelection.assets(*INGEST_KEYS),
        description="Read new or changed published files (one partition per source)",
    )
    rebuild_job = dg.define_asset_job(
        REBUILD_JOB,
        selection=dg.AssetSelection.assets(*INGEST_KEYS),
        description="Read every published file again, changed or not (derived assets follow)",
        config={"ops": {"ingest_sources": {"config": {"force": True}}}},
    )
    fetch_job = dg.define_asset_job(
        FETCH_JOB,
        selection=dg.AssetSelection.assets(DOWNLOADS, *INGEST_KEYS),
        description="Fetch what publishers released, then ingest what changed",
    )
    derive_job = dg.define_asset_job(
        DERIVE_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(DOWNLOADS, *INGEST_KEYS),
        description="Rebuild everything derived from the ingested tables",
    )
    return dg.Definitions(
        assets=[
            *automated([build_fetch_asset(partitions), ingest[0]], NIGHTLY),
            *automated(
                [
                    contract_matches,
                    suppliers,
                    buyers,
                    spend_contract,
                    publisher_quality,
                    contract_oversight,
                    supplier_concentration,
                    buyer_scorecard,
                    data_docs,
                    exports,
                    report,
                ],
                AFTER_INGEST,
            ),
        ],
        asset_checks=[*ingest[1:], *build_suite_checks(), *MART_CHECKS],
        jobs=[ingest_job, fetch_job, rebuild_job, derive_job],
        sensors=[
            build_automation_sensor(),
            build_new_files_sensor(
                ingest_job, lambda: load_catalogue(catalogue_path, strict=False)
            ),
        ],
        resources={
            "warehouse": Warehouse(
                path=str(warehouse_path or settings.warehouse_path()),
                lock_timeout=settings.lock_timeout_seconds()
                if lock_timeout is None
                else lock_timeout,
            ),
            "catalogue": SourceCatalogue(path=catalogue_path),
        },
        # DuckDB allows one writing process: run steps in the run's own process.
        executor=dg.in_process_executor,
    )


defs = build_defs()
