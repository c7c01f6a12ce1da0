"""Run the expectation suites in `expectations/` as Dagster asset checks.

Each table has a Great Expectations 1.x suite (`<table>.json`) and, for what GX cannot express,
SQL rules (`<table>.sql`). Rules carry a severity in their meta: `error` rules make the
table's blocking check fail (the marts are not built), `warn` rules are reported by a second,
non-blocking check.

GX's SQL datasource does not work on DuckDB, so rows are fetched through Arrow one file at a
time, in batches of `CHUNK_ROWS`, and validated as pandas DataFrames: memory is bounded by the
batch, not the table (a `mostly` rule is judged per batch). Every batch is validated by a GX
checkpoint in a file context under `data/gx/`, so the results are stored and the Data Docs
site is built from them. Each file's outcome per rule is kept in `quality.file_validations`;
the asset checks validate only files ingested since their last validation (or all of them
when the suite changes), so a nightly run that brings one new month validates one month.
"""

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from oversight import settings
from oversight.schema import TABLE_COLUMNS
from oversight.warehouse import atomic
from pipelines.resources import SourceCatalogue, Warehouse

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
    """Parse `<table>.sql`: blocks headed `-- name:`, `-- severity:`, `-- why:`."""
    path = EXPECTATIONS_DIR / f"{table}.sql"
    if not path.exists():
        return []
    rules = []
    for block in re.split(r"(?m)^(?=-- name:)", path.read_text())[1:]:
        header = dict(re.findall(r"(?m)^-- (name|severity|why): (.*)$", block))
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
    """One file's rows; money as double (GX compares floats, not Decimals)."""
    cols = [
        f"cast({c.name} as double) as {c.name}" if c.type == "money" else c.name
        for c in TABLE_COLUMNS[table]
    ]
    return (
        f"select {', '.join(cols)} from {table} where source_id = ? and file_path = ? "
        "order by row_number"
    )


VALIDATIONS_DDL = """
create schema if not exists quality;
create table if not exists quality.file_validations (
    table_name varchar, source_id varchar, file_path varchar, ingested_at timestamp,
    suite_hash varchar, rule varchar, success boolean, unexpected bigint, error varchar,
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

    def forget_results(self, suite: str) -> None:
        """Data Docs show the latest validation of each suite, not every earlier one."""
        shutil.rmtree(
            self.gx_dir / "gx" / "uncommitted" / "validations" / suite, ignore_errors=True
        )

    def build_docs(self) -> Path:
        self.context.build_data_docs()
        return self.docs_index()

    def docs_index(self) -> Path:
        return self.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _examples(df: pd.DataFrame, result: Any, columns: list[str]) -> list[dict]:
    indices = (result.result or {}).get("partial_unexpected_index_list") or []
    keep = [c for c in LINEAGE + columns if c in df.columns]
    rows = df.loc[[i for i in indices if i in df.index][:EXAMPLES], keep]
    return [
        {k: (None if pd.isna(v) else str(v)) for k, v in r.items()} for r in rows.to_dict("records")
    ]


def _files(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """(source_id, file_path, ingested_at, reusable) of every file with rows in the table.
    Rows of tabular files are replaced only with their file, so their validation stays good
    while the file's `ingested_at` does; notice rows are recompiled across files, so they
    are validated every time."""
    return con.execute(
        f"""select t.source_id, t.file_path, f.ingested_at,
                  coalesce(f.format in ('csv', 'xlsx', 'zip'), false) as reusable
            from (select distinct source_id, file_path from {table}) t
            left join raw.files f using (source_id, file_path)
            order by 1, 2"""
    ).fetchall()


def _validate_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source_id: str,
    file_path: str,
    checkpoint: Any,
    runner: SuiteRunner,
    parameters: dict[str, Any],
    chunk_rows: int,
) -> dict[str, RuleOutcome]:
    """Validate one file's rows, in batches of `chunk_rows`; one outcome per GX rule."""
    outcomes: dict[str, RuleOutcome] = {}
    reader = con.sql(_select(table), params=[source_id, file_path]).to_arrow_reader(chunk_rows)
    for n, batch in enumerate(reader):
        df = batch.to_pandas(date_as_object=False)
        run = checkpoint.run(
            batch_parameters={"dataframe": df},
            expectation_parameters=parameters,
            run_id=runner.gx.RunIdentifier(
                # GX stores results under the run name: no slashes in it
                run_name=f"{table} {file_path.replace('/', ' ')} batch {n + 1}"
            ),
        )
        for validation in run.run_results.values():
            for result in validation.results:
                config = result.expectation_config
                meta = config.meta
                outcome = outcomes.setdefault(
                    meta["name"],
                    RuleOutcome(
                        meta["name"], meta.get("severity", "warn"), meta.get("why", ""), "gx"
                    ),
                )
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


def run_suite(
    con: duckdb.DuckDBPyConnection,
    table: str,
    runner: SuiteRunner,
    thresholds: dict[str, float] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    reuse: bool = False,
) -> list[RuleOutcome]:
    """Validate `table` with its suite (file by file) and its SQL rules (whole table); one
    outcome per rule. With `reuse`, a tabular file validated by the same suite since it was
    last ingested is not validated again: its stored per-file outcome counts (an
    incremental run validates only the new files)."""
    suite = load_suite(table)
    suite_hash = hashlib.sha256(json.dumps(suite, sort_keys=True).encode()).hexdigest()[:16]
    checkpoint = runner.checkpoint(suite)
    parameters = _parameters(suite)
    con.execute(VALIDATIONS_DDL)
    files = _files(con, table)
    stored = {
        (source, path, at)
        for source, path, at in con.execute(
            "select distinct source_id, file_path, ingested_at from quality.file_validations "
            "where table_name = ? and suite_hash = ?",
            [table, suite_hash],
        ).fetchall()
    }
    todo = [f for f in files if not (reuse and f[3] and (f[0], f[1], f[2]) in stored)]
    if len(todo) == len(files):
        runner.forget_results(suite["name"])  # everything is validated again
    keep = {(f[0], f[1], f[2]) for f in files if f not in todo}
    with atomic(con):
        rows = con.execute(
            "select source_id, file_path, ingested_at from quality.file_validations "
            "where table_name = ? group by all",
            [table],
        ).fetchall()
        for source, path, at in rows:
            if (source, path, at) not in keep:
                con.execute(
                    "delete from quality.file_validations where table_name = ? "
                    "and source_id = ? and file_path = ?",
                    [table, source, path],
                )
    for source_id, file_path, ingested_at, _ in todo:
        found = _validate_file(
            con, table, source_id, file_path, checkpoint, runner, parameters, chunk_rows
        )
        con.executemany(
            "insert into quality.file_validations values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [
                (
                    table,
                    source_id,
                    file_path,
                    ingested_at,
                    suite_hash,
                    o.name,
                    o.success,
                    o.unexpected,
                    o.error,
                    json.dumps(o.examples),
                )
                for o in found.values()
            ],  # fmt: skip
        )
    outcomes = {
        e["meta"]["name"]: RuleOutcome(
            e["meta"]["name"], e["meta"].get("severity", "warn"), e["meta"].get("why", ""), "gx"
        )
        for e in suite["expectations"]
    }
    for rule, success, unexpected, error, examples in con.execute(
        "select rule, success, unexpected, error, examples from quality.file_validations "
        "where table_name = ? order by source_id, file_path",
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
    for rule in load_sql_rules(table):
        outcome = RuleOutcome(
            rule["name"], rule.get("severity", "warn"), rule.get("why", ""), "sql"
        )
        cursor = con.execute(f"select * from ({rule['sql']})")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        outcome.success = not rows
        outcome.unexpected = len(rows)
        outcome.examples = [dict(zip(names, map(str, r), strict=True)) for r in rows[:EXAMPLES]]
        outcomes[outcome.name] = outcome
    return list(outcomes.values())


def _markdown(outcomes: list[RuleOutcome]) -> str:
    if not outcomes:
        return "All rules hold."
    lines = ["| rule | kind | rows | why |", "|---|---|---:|---|"]
    lines += [f"| {o.name} | {o.kind} | {o.unexpected:,} | {o.error or o.why} |" for o in outcomes]
    for o in outcomes:
        if o.examples:
            lines += [
                "",
                f"**{o.name}**, examples:",
                "",
                "```",
                *[json.dumps(x) for x in o.examples],
                "```",
            ]
    return "\n".join(lines)


def check_results(table_key: dg.AssetKey, outcomes: list[RuleOutcome]):
    """The blocking (error rules) and warning (warn rules) check results for a table."""
    for check, severity, level in (
        (BLOCKING, dg.AssetCheckSeverity.ERROR, "error"),
        (WARNINGS, dg.AssetCheckSeverity.WARN, "warn"),
    ):
        rules = [o for o in outcomes if o.severity == level]
        failed = [o for o in rules if not o.success]
        yield dg.AssetCheckResult(
            asset_key=table_key,
            check_name=check,
            passed=not failed,
            severity=severity,
            metadata={
                "rules": len(rules),
                "rules failed": len(failed),
                "failed": ", ".join(o.name for o in failed) or "none",
                "rows failing": sum(o.unexpected for o in failed),
                "details": dg.MetadataValue.md(_markdown(failed)),
            },
        )


def _suite_check(table: str):
    key = dg.AssetKey(table.split("."))
    suite = load_suite(table)

    def describe(level: str) -> str:
        names = [
            e["meta"]["name"] for e in suite["expectations"] if e["meta"].get("severity") == level
        ]
        names += [r["name"] for r in load_sql_rules(table) if r.get("severity") == level]
        return f"expectations/{table}.json and .sql, {level} rules: " + ", ".join(names)

    @dg.multi_asset_check(
        name=f"validate_{table.replace('.', '_')}",
        specs=[
            dg.AssetCheckSpec(BLOCKING, asset=key, blocking=True, description=describe("error")),
            dg.AssetCheckSpec(WARNINGS, asset=key, description=describe("warn")),
        ],
    )
    def validate(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, catalogue: SourceCatalogue
    ):
        thresholds = {s.id: s.threshold for s in catalogue.load().sources if s.threshold}
        runner = SuiteRunner(Path(warehouse.gx_dir))
        with warehouse.connect() as con:
            outcomes = run_suite(con, table, runner, thresholds, reuse=True)
        failed = [o.name for o in outcomes if not o.success]
        context.log.info(f"{table}: {len(outcomes)} rules, failed: {failed or 'none'}")
        yield from check_results(key, outcomes)

    return validate


def build_suite_checks(tables: tuple[str, ...] = SUITE_TABLES) -> list:
    """One multi-check per table: a blocking check and a warning check from one validation."""
    return [_suite_check(table) for table in tables]
