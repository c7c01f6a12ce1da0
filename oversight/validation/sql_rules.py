"""The SQL rules beside each suite (`expectations/<table>.sql`): what Great Expectations
cannot express, each a query returning the offending rows (none: the rule holds).

A rule headed `-- per: file` returns rows that each name their file (`source_id`,
`file_path`) and depend on that file's rows alone; it is run on the files not checked since
they were ingested, its findings kept per file (`quality.rule_findings`, the files checked in
`quality.rule_files`), so that a night with one new file per source reads those files only.
Other rules read the whole table every time."""

import hashlib
import json

import duckdb
import pyarrow as pa

from oversight.core.warehouse import atomic

RULES_DDL = """
create schema if not exists quality;
create table if not exists quality.rule_files (
    table_name varchar, rule varchar, rule_hash varchar, source_id varchar,
    file_path varchar, ingested_at timestamp
);
create table if not exists quality.rule_findings (
    table_name varchar, rule varchar, source_id varchar, file_path varchar, finding varchar
)
"""


def run_rules(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: list[tuple],
    rules: list[dict],
    thresholds: dict[str, float] | None,
    reuse: bool,
    examples: int,
) -> list[tuple[int, list[dict]]]:
    """Each rule's (rows found, the first `examples` of them, each column -> text), in
    order. Per-file rules reuse the stored findings of unchanged files when `reuse`.
    `files`: `table_files(con, table)`, called before."""
    con.execute(RULES_DDL)
    return [
        _per_file_rule(con, table, files, rule, thresholds, reuse, examples)
        if rule.get("per") == "file"
        else _whole_table_rule(con, rule, examples)
        for rule in rules
    ]


def _rule_rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, str]]:
    """The rows a SQL rule returns (its findings), each as column -> text."""
    cursor = con.execute(f"select * from ({sql})")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, map(str, r), strict=True)) for r in cursor.fetchall()]


def _whole_table_rule(
    con: duckdb.DuckDBPyConnection, rule: dict, examples: int
) -> tuple[int, list[dict]]:
    """A rule run on the whole table: (rows found, the first `examples`)."""
    rows = _rule_rows(con, rule["sql"])
    return len(rows), rows[:examples]


def _file_filter(files: list[tuple[str, str]]) -> str:
    """A SQL condition that holds for the rows of these (source_id, file_path) files."""

    def text(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return " or ".join(f"(source_id = {text(s)} and file_path = {text(f)})" for s, f in files)


# Above this many files to check, a per-file rule runs on the whole table (and its findings
# are kept for those files) rather than with a condition naming each file.
FILTER_FILES_MAX = 50


def table_files(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """The files with rows in `table`, (source_id, file_path, ingested_at), also left in the
    temp table `table_files` (what a validation run of `table` compares its stored units and
    rule findings with)."""
    con.execute(
        f"""create or replace temp table table_files as
            select t.source_id, t.file_path, f.ingested_at
            from (select distinct source_id, file_path from {table}) t
            left join raw.files f using (source_id, file_path)"""
    )
    return con.execute("select * from table_files").fetchall()


def _per_file_rule(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: list[tuple],
    rule: dict,
    thresholds: dict[str, float] | None,
    reuse: bool,
    examples: int,
) -> tuple[int, list[dict]]:
    """A rule whose rows each name a file and depend on that file's rows alone, run only on
    the files not checked since they were ingested; (rows found, the first `examples` in file
    order) from the stored findings of every file. `files`: `table_files`.

    Each file's findings are kept in `quality.rule_findings`, and the files checked in
    `quality.rule_files`, with the rule's hash (its SQL and the catalogue's thresholds: a
    change checks every file again) and the file's `ingested_at` (a file ingested again is
    checked again). A night with one new file per source checks those files alone: at scale
    10 (synthetic sample, 14M payment lines) the spend rules took 8.4 s on a first run and
    0.56 s with three files ingested again. The condition naming the files
    is written as constants so that DuckDB reads only their row groups; joined with a table
    of the files instead, it read every row (2.3 to 3.1 s a rule). Without `reuse`, every
    file is checked again."""
    name = rule["name"]
    rule_hash = hashlib.sha256(
        json.dumps([rule["sql"], thresholds or {}], sort_keys=True).encode()
    ).hexdigest()[:16]
    # Forget the files checked by another rule text or threshold, changed or gone since
    # (not in `table_files` as they were), or, without `reuse`, every file.
    with atomic(con):
        for stored in ("rule_findings", "rule_files"):
            con.execute(
                f"""delete from quality.{stored} where table_name = $1 and rule = $2
                    and (source_id, file_path) in (
                        select (source_id, file_path) from quality.rule_files r
                        where table_name = $1 and rule = $2
                          and (not $4 or rule_hash <> $3
                               or not exists (select 1 from table_files c
                                              where c.source_id = r.source_id
                                                and c.file_path = r.file_path
                                                and c.ingested_at = r.ingested_at)))""",
                [table, name, rule_hash, reuse],
            )
    checked = set(
        con.execute(
            "select source_id, file_path from quality.rule_files where table_name = ? and rule = ?",
            [table, name],
        ).fetchall()
    )
    keys = {(s, f) for s, f, _ in files} - checked  # the files to check
    if keys:
        sql = rule["sql"]
        if len(keys) < len(files) and len(keys) <= FILTER_FILES_MAX:
            sql = f"select * from ({sql}) where {_file_filter(sorted(keys))}"
        rows = _rule_rows(con, sql)
        if rows and not {"source_id", "file_path"} <= rows[0].keys():
            raise ValueError(
                f"SQL rule {name} of {table} is marked `-- per: file` but its rows do not "
                "name their file (columns source_id and file_path)"
            )
        found = [r for r in rows if (r["source_id"], r["file_path"]) in keys]
        with atomic(con):  # the files of `keys`: those in table_files not checked
            con.execute(
                """insert into quality.rule_files
                   select $1, $2, $3, c.source_id, c.file_path, c.ingested_at
                   from table_files c
                   where not exists (select 1 from quality.rule_files r
                                     where r.table_name = $1 and r.rule = $2
                                       and r.source_id = c.source_id
                                       and r.file_path = c.file_path)""",
                [table, name, rule_hash],
            )
            if found:  # thousands at scale 10 on a first run: as one Arrow table
                con.register(
                    "rule_found",
                    pa.table(
                        {
                            "source_id": [r["source_id"] for r in found],
                            "file_path": [r["file_path"] for r in found],
                            "finding": [json.dumps(r) for r in found],
                        }
                    ),
                )
                con.execute(
                    "insert into quality.rule_findings select ?, ?, source_id, file_path, "
                    "finding from rule_found",
                    [table, name],
                )
                con.unregister("rule_found")
    unexpected, first = con.execute(
        """select count(*), list(finding order by source_id, file_path, finding)[1:$3]
           from quality.rule_findings where table_name = $1 and rule = $2""",
        [table, name, examples],
    ).fetchall()[0]
    return unexpected, [json.loads(e) for e in first or []]
