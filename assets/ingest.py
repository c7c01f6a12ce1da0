"""Ingest layer: published files -> `raw.files`, `raw.quarantine`, `raw.releases`, and the
`staging` tables. One partition per catalogue source; a run over many sources is one run."""

import dagster as dg

from assets.checks import failing_rows
from assets.resources import SourceCatalogue, Warehouse
from oversight.core.isolate import in_child
from oversight.core.ledger import NOTHING_LOADED_SQL
from oversight.core.schema import TABLE_COLUMNS
from oversight.core.source_files import files_fingerprint
from oversight.core.warehouse import SQL_TYPES
from oversight.ingest import load
from oversight.ingest.load import SourceSummary

RAW_FILES = dg.AssetKey(["raw", "files"])
RAW_QUARANTINE = dg.AssetKey(["raw", "quarantine"])
STAGING_CONTRACTS = dg.AssetKey(["staging", "contracts"])
STAGING_SPEND = dg.AssetKey(["staging", "spend"])
RAW_RELEASES = dg.AssetKey(["raw", "releases"])
STAGING_EVENTS = dg.AssetKey(["staging", "contract_events"])
STAGING_SUPPLIERS = dg.AssetKey(["staging", "contract_suppliers"])
STAGING_NOTICES = dg.AssetKey(["staging", "procurement_notices"])
INGEST_KEYS = (
    RAW_FILES,
    RAW_QUARANTINE,
    RAW_RELEASES,
    STAGING_CONTRACTS,
    STAGING_SPEND,
    STAGING_EVENTS,
    STAGING_SUPPLIERS,
    STAGING_NOTICES,
)
ROWS_ACCOUNTED_FOR = "rows_accounted_for"
EVERY_FILE_LOADS_ROWS = "every_file_loads_rows"
# Metadata on `raw/files`: each ingested source's files as the ingest found them before
# reading (load.files_fingerprint); the new-files sensor compares the disk with it.
SOURCE_FINGERPRINTS = "source fingerprints"


# Files loaded whose rows no validation has seen since they were loaded (a run stopped between
# the ingest and its checks): the checks must still run although no file changed.
UNVALIDATED_SQL = """
select count(*) from raw.files f
where f.status = 'loaded' and not exists (
    select 1 from quality.validation_units u
    where u.source_id = f.source_id and u.file_path = f.file_path
      and u.ingested_at = f.ingested_at)
"""


def unvalidated_files(con) -> int:
    """How many loaded files await validation (every one, before the first validation)."""
    if not con.execute(
        "select 1 from duckdb_tables() where schema_name = 'quality' "
        "and table_name = 'validation_units'"
    ).fetchall():
        return con.execute("select count(*) from raw.files where status = 'loaded'").fetchall()[0][
            0
        ]
    return con.execute(UNVALIDATED_SQL).fetchall()[0][0]


def _table_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, SQL_TYPES[c.type], description=c.description)
            for c in TABLE_COLUMNS[table]
        ]
    )


SPECS = [
    dg.AssetSpec(
        RAW_FILES,
        deps=[dg.AssetKey(["raw", "downloads"])],
        group_name="raw",
        kinds={"duckdb"},
        skippable=True,
        description="Every published file seen, one row per file: its source, path, SHA-256, "
        "how it was read (format, encoding, delimiter, header row), rows read / loaded / "
        "quarantined, and status (`loaded`; `nothing_loaded` when every row was quarantined; "
        "`failed` with the error; `duplicate` of another file; or `removed`).",
    ),
    dg.AssetSpec(
        RAW_QUARANTINE,
        group_name="raw",
        kinds={"duckdb"},
        skippable=True,
        description="Rows that could not be loaded, with the raw text as published and the "
        "reason (a required value empty or unreadable, a row with the wrong number of values).",
    ),
    dg.AssetSpec(
        STAGING_CONTRACTS,
        group_name="staging",
        kinds={"duckdb"},
        skippable=True,
        description="Contract register entries from every publisher, in canonical columns "
        "(reference, title, supplier and its registration number, values, start, end, expiry "
        "and review dates, owner), each with its lineage (source, file, hash, row).",
        metadata={"dagster/column_schema": _table_schema("staging.contracts")},
    ),
    dg.AssetSpec(
        STAGING_SPEND,
        group_name="staging",
        kinds={"duckdb"},
        skippable=True,
        description="Payment lines from every publisher's spend files, in canonical columns "
        "(buyer, date, supplier, amount, expense type and area), each with its lineage.",
        metadata={"dagster/column_schema": _table_schema("staging.spend")},
    ),
    dg.AssetSpec(
        RAW_RELEASES,
        group_name="raw",
        kinds={"duckdb"},
        skippable=True,
        description="Every OCDS release read from Contracts Finder / Find a Tender files, as "
        "published (JSON), with its ocid, id, date and tags, and its lineage.",
        metadata={"dagster/column_schema": _table_schema("raw.releases")},
    ),
    dg.AssetSpec(
        STAGING_EVENTS,
        group_name="staging",
        kinds={"duckdb"},
        skippable=True,
        description="What happened to each notice contract, dated: award, contract signed, "
        "change (value and end date before and after, and whether a change notice was "
        "published), extension, termination, KPI defined, performance rating, performance "
        "failure, completion, payment published (s70).",
        metadata={"dagster/column_schema": _table_schema("staging.contract_events")},
    ),
    dg.AssetSpec(
        STAGING_SUPPLIERS,
        group_name="staging",
        kinds={"duckdb"},
        skippable=True,
        description="Every supplier on every notice award (frameworks have many), with its "
        "identifier scheme, company or charity number, SME and VCSE flags.",
        metadata={"dagster/column_schema": _table_schema("staging.contract_suppliers")},
    ),
    dg.AssetSpec(
        STAGING_NOTICES,
        group_name="staging",
        kinds={"duckdb"},
        skippable=True,
        description="Every procurement notice a buyer published (one row per OCDS release): "
        "Find a Tender pipeline, market engagement, planned procurement and tender notices "
        "(UK1-UK4), and Contracts Finder tender or planning releases, with the buyer, date, "
        "notice types and CPV codes. OV11 looks here for a successor to an expiring contract.",
        metadata={"dagster/column_schema": _table_schema("staging.procurement_notices")},
    ),
]


def _summary_markdown(summaries: list[SourceSummary]) -> str:
    lines = [
        "| source | files | parsed | unchanged | failed | rows read | loaded | quarantined |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s.source_id} | {s.files} | {s.parsed} | {s.unchanged} | {s.failed} | "
        f"{s.rows_read:,} | {s.rows_loaded:,} | {s.rows_quarantined:,} |"
        for s in summaries
    ]
    errors = [e for s in summaries for e in s.errors]
    if errors:
        lines += ["", "**Files that could not be read**", ""]
        lines += [f"- {e.splitlines()[0]}" for e in errors[:20]]
    return "\n".join(lines)


class IngestConfig(dg.Config):
    """`force`: read every file again, even those whose bytes and settings are unchanged
    (the full-rebuild job sets it)."""

    force: bool = False


def build_ingest_assets(partitions: dg.PartitionsDefinition) -> list:
    """The ingest multi-asset and its blocking check, for the given source partitions."""

    @dg.multi_asset(
        name="ingest_sources",
        specs=SPECS,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def ingest_sources(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: Warehouse,
        catalogue: SourceCatalogue,
    ):
        """Read each selected source's new or changed files into the warehouse."""
        cat = catalogue.load()
        invalid = [p for key in context.partition_keys for p in cat.problems_of(key)]
        # Taken before reading: a file that changes during the run is seen as changed later.
        fingerprints = {
            s.id: files_fingerprint(cat, s) for s in cat.sources if s.id in context.partition_keys
        }
        valid = []
        for key in context.partition_keys:
            if cat.problems_of(key):
                context.log.error(f"[{key}] skipped: invalid catalogue entry")
            else:
                valid.append(key)

        def progress(key: str, done: int, total: int, message: str) -> None:
            context.log.info(f"[{key}] file {done}/{total}: {message}")

        # In a process of its own: what reading leaves in Python's heap (about 530 MB at
        # scale 10) goes back to the system when it ends, not into every later step.
        summaries = in_child(
            load.ingest_sources,
            warehouse.path,
            catalogue.path,
            valid,
            config.force,
            warehouse.lock_timeout,
            progress=progress,
        )
        with warehouse.connect() as con:
            unvalidated = unvalidated_files(con)
            counts = {
                key: con.execute(f"select count(*) from {'.'.join(key.path)}").fetchall()[0][0]
                for key in INGEST_KEYS
            }
        # With no file new, changed or removed (and none awaiting validation) nothing is
        # materialised, so the checks (and GX) do not run and nothing downstream is rebuilt,
        # by `make run` or by the automation.
        changed = config.force or unvalidated or any(s.changed for s in summaries)
        if not changed:
            context.log.info("no file new, changed or removed: nothing materialised")
        table = dg.MetadataValue.md(_summary_markdown(summaries))
        for key in INGEST_KEYS if changed else ():
            metadata = {"dagster/row_count": counts[key]}
            if key in (RAW_FILES, RAW_QUARANTINE):
                metadata["ingest summary"] = table
            if key == RAW_FILES:
                metadata["files failed"] = sum(s.failed for s in summaries)
                metadata[SOURCE_FINGERPRINTS] = dg.MetadataValue.json(fingerprints)
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        if invalid:  # the valid sources are in; the invalid entries' partitions fail
            raise dg.Failure(
                description="invalid catalogue entries, not ingested:\n" + "\n".join(invalid),
                metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in invalid))},
            )

    @dg.asset_check(
        asset=RAW_FILES,
        name=ROWS_ACCOUNTED_FOR,
        blocking=True,
        description="For every file, rows read = rows loaded + rows quarantined, "
        "and the rows actually in staging and quarantine match those counts.",
    )
    def rows_accounted_for(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=False) as con:
            bad = con.execute(ACCOUNTING_SQL).fetchall()
            files = con.execute("select count(*) from raw.files").fetchall()[0][0]
        return dg.AssetCheckResult(
            passed=not bad,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "files checked": files,
                "files not accounted for": len(bad),
                "examples": failing_rows(
                    "| source | file | read | loaded | quarantined | in staging | in quarantine |",
                    bad,
                ),
            },
        )

    @dg.asset_check(
        asset=RAW_FILES,
        name=EVERY_FILE_LOADS_ROWS,
        description="Warns about every file that was read but loaded no rows (all of them "
        "quarantined: usually a date format or a column mapping that does not fit), naming "
        "the file and its most common quarantine reason.",
    )
    def every_file_loads_rows(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=False) as con:
            empty = con.execute(NOTHING_LOADED_SQL).fetchall()
        return dg.AssetCheckResult(
            passed=not empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "failed": f"{len(empty)} files loaded no rows" if empty else "none",
                "rows failing": sum(n for _, _, n, _ in empty),
                "files": failing_rows(
                    "| source | file | rows quarantined | most common reason |", empty, limit=20
                ),
            },
        )

    return [ingest_sources, rows_accounted_for, every_file_loads_rows]


ACCOUNTING_SQL = """
with staged as (
    select source_id, file_path, count(*) as n from staging.contracts
    where record_type = 'register' group by all
    union all
    select source_id, file_path, count(*) from staging.spend group by all
    union all
    select source_id, file_path, count(*) from raw.releases group by all
), quarantined as (
    select source_id, file_path, count(*) as n from raw.quarantine group by all
)
select f.source_id, f.file_path, f.rows_read, f.rows_loaded, f.rows_quarantined,
       coalesce(s.n, 0) as in_staging, coalesce(q.n, 0) as in_quarantine
from raw.files f
left join staged s using (source_id, file_path)
left join quarantined q using (source_id, file_path)
where f.rows_read <> f.rows_loaded + f.rows_quarantined
   or coalesce(s.n, 0) <> f.rows_loaded
   or coalesce(q.n, 0) <> f.rows_quarantined
order by 1, 2
"""
