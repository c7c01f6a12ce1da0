"""Validate the staging tables with the expectation suites in `expectations/`.

Each table has a Great Expectations 1.x suite (`<table>.json`) and, for what GX cannot express,
SQL rules (`<table>.sql`). Rules carry a severity in their meta: `error` rules make the
table's blocking check fail (the marts are not built), `warn` rules are reported by a second,
non-blocking check.

GX's SQL datasource does not work on DuckDB, so rows are fetched through Arrow, a source's
files together (each file's rows in the order they were loaded, then one stream), in batches
of `CHUNK_ROWS`, and validated as pandas DataFrames: memory is bounded by the batch, not the
table or the largest file (a `mostly` rule is judged per batch). Every batch is
validated by a GX checkpoint in a file context under `data/gx/`, so the results are stored
and the Data Docs site is built from them. The outcome per rule of each group of files
validated together is kept in `quality.validation_units` / `quality.unit_outcomes`; the asset
checks validate only files ingested since their last validation (all of them when the suite
changes), so a nightly run that brings one new month validates one month.

A group's GX runs are named after it (`_run_name`), and the GX results of a suite are kept only
for its current groups: the Data Docs show the latest result of each group, not every run's.
The site works offline (`oversight/validation/data_docs_offline.py`).
"""

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from oversight.core import settings
from oversight.core.schema import TABLE_COLUMNS
from oversight.core.warehouse import atomic, file_lock, open_warehouse
from oversight.validation.data_docs_offline import make_offline
from oversight.validation.sql_rules import run_rules, table_files

EXPECTATIONS_DIR = settings.PROJECT_ROOT / "expectations"
SUITE_TABLES = (
    "staging.contracts",
    "staging.spend",
    "staging.contract_events",
    "staging.contract_suppliers",
)
CHUNK_ROWS = 200_000
EXAMPLES = 5
LINEAGE = ["source_id", "file_path", "row_number"]
BLOCKING, WARNINGS = "expectations_blocking", "expectations_warnings"


@dataclass
class RuleOutcome:
    """One rule's result over the whole table."""

    name: str
    severity: str
    why: str
    kind: str  # "gx" or "sql"
    success: bool = True
    unexpected: int = 0
    examples: list[dict] = field(default_factory=list)
    error: str | None = None


def load_suite(table: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text())


def load_sql_rules(table: str) -> list[dict]:
    """Parse `<table>.sql`: blocks headed `-- name:`, `-- severity:`, `-- why:` and, for a rule
    whose every row names a file (`source_id`, `file_path`) and depends on that file's rows
    alone, `-- per: file` (`oversight.validation.sql_rules`)."""
    path = EXPECTATIONS_DIR / f"{table}.sql"
    if not path.exists():
        return []
    rules = []
    for block in re.split(r"(?m)^(?=-- name:)", path.read_text())[1:]:
        header = dict(re.findall(r"(?m)^-- (name|severity|why|per): (.*)$", block))
        sql = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
        rules.append({**header, "sql": sql.strip().rstrip(";")})
    return rules


def _parameters(suite: dict) -> dict[str, Any]:
    """Suite parameters; ISO dates become timestamps so they compare with date columns."""
    out = {}
    for key, value in suite.get("meta", {}).get("parameters", {}).items():
        is_date = isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
        out[key] = pd.Timestamp(value) if is_date else value
    return out


def _select(table: str) -> str:
    """Some files' rows of a source; money as double (GX compares floats, not Decimals)."""
    cols = [
        f"cast({c.name} as double) as {c.name}" if c.type == "money" else c.name
        for c in TABLE_COLUMNS[table]
    ]
    # No `order by`: a file's rows are inserted in order (part by part, row by row) and DuckDB
    # returns a scan in insertion order (`preserve_insertion_order`, on by default), so this
    # streams the file as published; sorting a 1 GB file's 8M rows took 1.5 GB.
    return f"select {', '.join(cols)} from {table} where source_id = ? and file_path = ?"


def _batches(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source_id: str,
    file_paths: list[str],
    chunk_rows: int,
) -> Iterator[pa.Table]:
    """The files' rows in file then row order, in batches of `chunk_rows` (the last shorter),
    streamed: memory holds one batch, never a whole file or source; batches run across files
    as one stream."""
    pending: list[pa.Table] = []
    held = 0
    for path in sorted(file_paths):
        reader = con.sql(_select(table), params=[source_id, path]).to_arrow_reader(chunk_rows)
        for batch in reader:
            pending.append(pa.Table.from_batches([batch]))
            held += batch.num_rows
            while held >= chunk_rows:
                rows = pa.concat_tables(pending)
                yield rows.slice(0, chunk_rows)
                rest = rows.slice(chunk_rows)
                pending, held = ([rest] if rest.num_rows else []), rest.num_rows
    if held:
        yield pa.concat_tables(pending)


# A validation unit is the files of one source validated together (one stream of batches);
# its outcome per rule stands while every one of its files is as it was ingested.
VALIDATIONS_DDL = """
create schema if not exists quality;
create table if not exists quality.validation_units (
    unit varchar, table_name varchar, source_id varchar, suite_hash varchar,
    file_path varchar, ingested_at timestamp
);
create table if not exists quality.unit_outcomes (
    unit varchar, rule varchar, success boolean, unexpected bigint, error varchar,
    examples varchar, validated_at timestamp
)
"""


class SuiteRunner:
    """A GX file context under `gx_dir` with one checkpoint per suite."""

    def __init__(self, gx_dir: Path | None = None) -> None:
        import great_expectations as gx  # slow import: only when validating
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.gx_dir = Path(gx_dir or settings.gx_dir())
        self.gx_dir.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(self.gx_dir))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_or_update_pandas("warehouse")

    def checkpoint(self, suite_doc: dict) -> Any:
        gx = self.gx
        name = suite_doc["name"]
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(
                name=name, expectations=suite_doc["expectations"], meta=suite_doc.get("meta", {})
            )
        )
        assets = {a.name: a for a in self.source.assets}
        asset = assets.get(name) or self.source.add_dataframe_asset(name)
        batch = next(
            iter(asset.batch_definitions), None
        ) or asset.add_batch_definition_whole_dataframe("one source, one batch of rows")
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        return self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                # Data Docs are built once, by the outputs/data_docs asset: rebuilding them
                # after every batch took half the validation time.
                actions=[],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
            )
        )

    def stored_runs(self, suite: str) -> set[str]:
        """The run names of the validation results stored for `suite`."""
        return {
            key.run_id.run_name
            for key in self.context.validation_results_store.list_keys()
            if key.expectation_suite_identifier.name == suite
        }

    def forget_results(self, suite: str, keep: Iterable[str] = ()) -> int:
        """Delete the stored validation results of `suite`, except those of runs whose name
        starts with one of `keep`; how many were deleted. (GX stores a suite's results under
        one folder per part of its dotted name, `validations/staging/spend/...`; the store
        knows its layout, so results are deleted through it. GX 1.x has no public API for
        this.) The next `build_docs` drops their pages."""
        keep = tuple(keep)
        store = self.context.validation_results_store
        gone = [
            key
            for key in store.list_keys()
            if key.expectation_suite_identifier.name == suite
            and not key.run_id.run_name.startswith(keep)
        ]
        for key in gone:
            store.remove_key(key)
        # GX means to remove the folders it empties, but does not (its rrmdir tests whether
        # a generator is empty).
        base = getattr(store.store_backend, "full_base_directory", None)
        if gone and base:
            _prune_empty_folders(Path(base))
        return len(gone)

    def build_docs(self) -> Path:
        """Build the Data Docs site from the stored results (GX drops the pages of results
        no longer stored), then make it work offline; the index page."""
        self.context.build_data_docs()
        index = self.docs_index()
        _prune_empty_folders(index.parent / "validations")  # GX leaves those of dropped pages
        make_offline(index.parent)
        return index

    def docs_index(self) -> Path:
        return docs_index(self.gx_dir)


def docs_index(gx_dir: Path) -> Path:
    """The Data Docs site's index page under GX's folder."""
    return gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def docs_current(gx_dir: Path) -> bool:
    """Whether the Data Docs site was built after the stored validation results last changed
    (a result written or deleted): file times, without importing GX."""
    index = docs_index(gx_dir)
    results = gx_dir / "gx" / "uncommitted" / "validations"
    if not index.exists():
        return False
    stamps = [p.stat().st_mtime_ns for p in [results, *results.rglob("*")] if p.exists()]
    return index.stat().st_mtime_ns >= max(stamps, default=0)


def build_data_docs(gx_dir: str) -> str:
    """Build the Data Docs site (`SuiteRunner.build_docs`) with GX's folder locked; its index
    page. For a process of its own (`oversight.core.isolate.in_child`): GX is imported there."""
    with gx_lock(Path(gx_dir)):
        return str(SuiteRunner(Path(gx_dir)).build_docs())


def gx_lock(gx_dir: Path):
    """`with gx_lock(gx_dir):` this process alone writes the GX context in `gx_dir` (its
    configuration, suites, stored results and Data Docs)."""
    return file_lock(gx_dir / ".lock", f"the Great Expectations folder {gx_dir}")


def _prune_empty_folders(root: Path) -> None:
    """Remove the empty folders below `root`."""
    for folder in sorted(root.rglob("*"), reverse=True):  # a folder's contents first
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


_RUNNERS: dict[Path, SuiteRunner] = {}


def suite_runner(gx_dir: Path) -> SuiteRunner:
    """One GX context per folder and process: the four table checks of a run share it
    (starting a context takes a second or two)."""
    if gx_dir not in _RUNNERS:
        _RUNNERS[gx_dir] = SuiteRunner(gx_dir)
    return _RUNNERS[gx_dir]


def _examples(df: pd.DataFrame, result: Any, columns: list[str]) -> list[dict]:
    indices = (result.result or {}).get("partial_unexpected_index_list") or []
    keep = [c for c in LINEAGE + columns if c in df.columns]
    rows = df.loc[[i for i in indices if i in df.index][:EXAMPLES], keep]
    return [
        {k: (None if pd.isna(v) else str(v)) for k, v in r.items()} for r in rows.to_dict("records")
    ]


def _gx_outcome(meta: dict) -> RuleOutcome:
    """A GX rule's outcome, passing until a batch fails it."""
    return RuleOutcome(meta["name"], meta.get("severity", "warn"), meta.get("why", ""), "gx")


def _run_prefix(unit: str) -> str:
    """The start of the GX run names of a validation unit's batches: the unit with spaces for
    its colons (a run name is a folder name in the store and in the Data Docs' links)."""
    return unit.replace(":", " ") + " batch "


def _run_name(unit: str, batch: int) -> str:
    """The GX run name of one batch of a unit, e.g. `staging.spend spend 0a1b2c3d4e5f batch 1`."""
    return f"{_run_prefix(unit)}{batch}"


NS_RANGE = (pd.Timestamp.min, pd.Timestamp.max)


def nanosecond_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Date columns as datetime64[ns] where every value fits (years 1677-2262): Arrow gives
    datetime64[ms], which GX's pandas expectations compare one Python object at a time, while
    nanoseconds are compared vectorised (a fifth faster on spend). A column with a value out
    of that range stays as it is."""
    for column in df.columns:
        series = df[column]
        if pd.api.types.is_datetime64_dtype(series.dtype) and series.dtype != "datetime64[ns]":
            low, high = series.min(), series.max()
            if pd.isna(low) or (NS_RANGE[0] <= low and high <= NS_RANGE[1]):
                df[column] = series.astype("datetime64[ns]")
    return df


def _validate_files(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source_id: str,
    file_paths: list[str],
    checkpoint: Any,
    runner: SuiteRunner,
    parameters: dict[str, Any],
    chunk_rows: int,
    unit: str,
) -> dict[str, RuleOutcome]:
    """Validate some files of one source, in batches of `chunk_rows`, as GX runs named after
    `unit`; an outcome per GX rule."""
    outcomes: dict[str, RuleOutcome] = {}
    for n, batch in enumerate(_batches(con, table, source_id, file_paths, chunk_rows)):
        df = nanosecond_dates(batch.to_pandas(date_as_object=False))
        run = checkpoint.run(
            batch_parameters={"dataframe": df},
            expectation_parameters=parameters,
            run_id=runner.gx.RunIdentifier(run_name=_run_name(unit, n + 1)),
        )
        for validation in run.run_results.values():
            for result in validation.results:
                config = result.expectation_config
                outcome = outcomes.setdefault(config.meta["name"], _gx_outcome(config.meta))
                if result.exception_info and result.exception_info.get("raised_exception"):
                    outcome.success = False
                    outcome.error = result.exception_info.get("exception_message")
                    continue
                if not result.success:
                    outcome.success = False
                    outcome.unexpected += int(result.result.get("unexpected_count") or 0)
                    room = EXAMPLES - len(outcome.examples)
                    if room > 0:
                        columns = [
                            v
                            for k, v in config.kwargs.items()
                            if k in ("column", "column_A", "column_B")
                        ]
                        outcome.examples += _examples(df, result, columns)[:room]
    return outcomes


def _uncovered_files(
    con: duckdb.DuckDBPyConnection, table: str
) -> list[tuple[str, list[str], list]]:
    """The files of `table` (the temp table `table_files`) that no validation unit covers,
    by source: (source_id, file paths, their ingested_at), in source order."""
    return con.execute(
        """select t.source_id, list(t.file_path order by t.file_path), list(t.ingested_at
                  order by t.file_path)
            from table_files t
            where (t.source_id, t.file_path) not in (
                select (source_id, file_path) from quality.validation_units
                where table_name = ?)
            group by 1 order by 1""",
        [table],
    ).fetchall()


def _valid_units(con: duckdb.DuckDBPyConnection, table: str, suite_hash: str) -> set[str]:
    """Units of this table whose files are all still in it (the temp table `table_files`) as
    they were validated. A notice source's rows are compiled across its files (a new release
    updates a contract first seen in an older file), so its units stand only together: all of
    them valid, and no file of that source new since (else every unit of that source is
    validated again)."""
    rows = con.execute(
        """select u.unit, u.source_id,
                   bool_or(f.format not in ('csv', 'xlsx', 'zip')) as compiled,
                   bool_and(u.suite_hash = ? and f.ingested_at = u.ingested_at
                            and t.file_path is not null) as valid
            from quality.validation_units u
            left join raw.files f using (source_id, file_path)
            left join table_files t using (source_id, file_path)
            where u.table_name = ?
            group by u.unit, u.source_id""",
        [suite_hash, table],
    ).fetchall()
    unsettled = {source for source, _, _ in _uncovered_files(con, table)}
    unsettled |= {source for _, source, compiled, valid in rows if compiled and not valid}
    return {
        unit
        for unit, source, compiled, valid in rows
        if valid and not (compiled and source in unsettled)
    }


def run_suite(
    con: duckdb.DuckDBPyConnection,
    table: str,
    runner: SuiteRunner,
    thresholds: dict[str, float] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    reuse: bool = False,
) -> list[RuleOutcome]:
    """Validate `table` with its suite (a source's files together) and its SQL rules (whole
    table); one outcome per rule. With `reuse`, files validated by the same suite since they
    were last ingested are not validated again: their stored outcomes count, and only new or
    re-ingested files are validated (an incremental run validates the new month)."""
    suite = load_suite(table)
    suite_hash = hashlib.sha256(json.dumps(suite, sort_keys=True).encode()).hexdigest()[:16]
    checkpoint = runner.checkpoint(suite)
    parameters = _parameters(suite)
    con.execute(VALIDATIONS_DDL)
    files = table_files(con, table)  # read once: the units and the SQL rules compare with it
    valid = _valid_units(con, table, suite_hash) if reuse else set()
    # A unit whose GX results are gone (the GX folder was moved or deleted) is validated again,
    # so that the Data Docs show every group.
    runs = runner.stored_runs(suite["name"])
    valid = {u for u in valid if any(r.startswith(_run_prefix(u)) for r in runs)}
    with atomic(con):  # forget units that no longer stand
        stale = [
            r[0]
            for r in con.execute(
                "select distinct unit from quality.validation_units where table_name = ?",
                [table],
            ).fetchall()
            if r[0] not in valid
        ]
        for name in ("validation_units", "unit_outcomes"):
            con.execute(f"delete from quality.{name} where list_contains(?, unit)", [stale])
    todo = _uncovered_files(con, table)
    for source_id, paths, stamps in todo:
        unit = f"{table}:{source_id}:{uuid.uuid4().hex[:12]}"
        found = _validate_files(
            con, table, source_id, paths, checkpoint, runner, parameters, chunk_rows, unit
        )
        with atomic(con):
            con.executemany(
                "insert into quality.validation_units values (?, ?, ?, ?, ?, ?)",
                [
                    (unit, table, source_id, suite_hash, p, t)
                    for p, t in zip(paths, stamps, strict=True)
                ],
            )
            con.executemany(
                "insert into quality.unit_outcomes values (?, ?, ?, ?, ?, ?, now())",
                [
                    (unit, o.name, o.success, o.unexpected, o.error, json.dumps(o.examples))
                    for o in found.values()
                ],
            )
    # The GX results of units that no longer stand (re-validated, or their files gone) and of
    # runs never recorded as a unit (a run killed mid-way) are deleted: one result per group.
    current = con.execute(
        "select distinct unit from quality.validation_units where table_name = ?", [table]
    ).fetchall()
    runner.forget_results(suite["name"], keep=[_run_prefix(u) for (u,) in current])
    outcomes = {e["meta"]["name"]: _gx_outcome(e["meta"]) for e in suite["expectations"]}
    for rule, success, unexpected, error, examples in con.execute(
        """select o.rule, o.success, o.unexpected, o.error, o.examples
           from quality.unit_outcomes o
           join (select unit, min(source_id) as source_id, min(file_path) as file_path
                 from quality.validation_units where table_name = ? group by unit) u
             using (unit)
           order by u.source_id, u.file_path""",  # examples in file order, run after run
        [table],
    ).fetchall():
        outcome = outcomes.get(rule)
        if outcome is None:
            continue
        outcome.success = outcome.success and success
        outcome.unexpected += unexpected
        outcome.error = outcome.error or error
        outcome.examples += json.loads(examples)[: EXAMPLES - len(outcome.examples)]
    if thresholds is not None:
        con.register(
            "source_thresholds",
            pd.DataFrame({"source_id": list(thresholds), "threshold": list(thresholds.values())}),
        )
    rules = load_sql_rules(table)
    for rule, (unexpected, examples) in zip(
        rules, run_rules(con, table, files, rules, thresholds, reuse, EXAMPLES), strict=True
    ):
        outcome = RuleOutcome(
            rule["name"], rule.get("severity", "warn"), rule.get("why", ""), "sql"
        )
        outcome.success = not unexpected
        outcome.unexpected = unexpected
        outcome.examples = examples
        outcomes[outcome.name] = outcome
    return list(outcomes.values())


def validate_tables(
    warehouse: str,
    gx_dir: str,
    tables: list[str],
    thresholds: dict[str, float] | None = None,
    timeout: float | None = None,
    progress: Callable[[str, list[RuleOutcome]], None] | None = None,
) -> dict[str, list[RuleOutcome]]:
    """`run_suite` for each table on the warehouse file `warehouse`, reusing stored outcomes,
    with GX's folder locked: two runs at once (the nightly schedule and an analyst's) share
    it, and its context, suites and results are written by one process at a time;
    `progress(table, outcomes)` after each; then the Data Docs site, if the results changed.
    Opens the warehouse itself, so that the checks can run it in a process of their own
    (`oversight.core.isolate.in_child`)."""
    found = {}
    limit = settings.duckdb_streaming_memory_limit()
    with (
        gx_lock(Path(gx_dir)),
        open_warehouse(warehouse, timeout=timeout, memory_limit=limit) as con,
    ):
        runner = suite_runner(Path(gx_dir))
        for table in tables:
            found[table] = run_suite(con, table, runner, thresholds, reuse=True)
            if progress is not None:
                progress(table, found[table])
        # The site, built here while GX is imported (the outputs/data_docs asset then finds
        # it current and imports nothing).
        if not docs_current(Path(gx_dir)):
            runner.build_docs()
    return found
