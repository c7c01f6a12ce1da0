"""The expectation suites in `expectations/` as Dagster asset checks: one multi-check per
staging table, a blocking check (the suite's `error` rules: the marts are not built when one
fails) and a warning check (its `warn` rules). The validation itself, what it stores and how
it bounds memory: `oversight/validation/suites.py`. It runs in a process of its own
(`oversight.core.isolate`), so that GX and the pandas batches leave nothing in the run's
process.
"""

import json

import dagster as dg

from assets.resources import SourceCatalogue, Warehouse
from oversight.core.isolate import in_child
from oversight.validation.suites import (
    BLOCKING,
    SUITE_TABLES,
    WARNINGS,
    RuleOutcome,
    load_sql_rules,
    load_suite,
    validate_tables,
)

__all__ = ["SUITE_TABLES", "build_suite_checks"]


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


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _specs(table: str) -> list[dg.AssetCheckSpec]:
    key = _key(table)
    suite = load_suite(table)

    def describe(level: str) -> str:
        names = [
            e["meta"]["name"] for e in suite["expectations"] if e["meta"].get("severity") == level
        ]
        names += [r["name"] for r in load_sql_rules(table) if r.get("severity") == level]
        return f"expectations/{table}.json and .sql, {level} rules: " + ", ".join(names)

    return [
        dg.AssetCheckSpec(BLOCKING, asset=key, blocking=True, description=describe("error")),
        dg.AssetCheckSpec(WARNINGS, asset=key, description=describe("warn")),
    ]


def build_suite_checks(tables: tuple[str, ...] = SUITE_TABLES) -> list:
    """One step that validates the selected tables, each with a blocking check and a warning
    check from one validation. One step, so that the tables are validated together in one
    process of their own: GX is imported once, and what it and the pandas batches leave in
    memory goes back to the system when the validation ends."""

    @dg.multi_asset_check(
        name="validate_staging",
        specs=[spec for table in tables for spec in _specs(table)],
        can_subset=True,
    )
    def validate(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, catalogue: SourceCatalogue
    ):
        selected = context.selected_asset_check_keys
        thresholds = {s.id: s.threshold for s in catalogue.load().sources if s.threshold}

        def validated(table: str, outcomes: list[RuleOutcome]) -> None:
            failed = [o.name for o in outcomes if not o.success]
            context.log.info(f"{table}: {len(outcomes)} rules, failed: {failed or 'none'}")

        results = in_child(
            validate_tables,
            warehouse.path,
            warehouse.gx_dir,
            [t for t in tables if any(k.asset_key == _key(t) for k in selected)],
            thresholds,
            warehouse.lock_timeout,
            progress=validated,
        )
        for table, outcomes in results.items():
            for result in check_results(_key(table), outcomes):
                if dg.AssetCheckKey(_key(table), result.check_name) in selected:
                    yield result

    return [validate]
