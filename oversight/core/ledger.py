"""The file ledger: `raw.files` and `raw.quarantine` rows, and removing a file's rows from
every table."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from oversight.core.schema import TABLE_COLUMNS


def delete_file_rows(con: duckdb.DuckDBPyConnection, source_id: str, rel: str) -> None:
    """Remove everything a file put in the warehouse (call inside a transaction)."""
    # Every write of a file's rows records it in raw.files in the same transaction, so a file
    # raw.files has never seen has no rows anywhere: skip six table scans (new files, mostly).
    if not con.execute(
        "select 1 from raw.files where source_id = ? and file_path = ? limit 1", [source_id, rel]
    ).fetchall():
        return
    for table in (*TABLE_COLUMNS, "raw.quarantine", "raw.files"):
        con.execute(f"delete from {table} where source_id = ? and file_path = ?", [source_id, rel])


def record_quarantine(
    con: duckdb.DuckDBPyConnection,
    source_id: str,
    rel: str,
    sha: str,
    rows: list[tuple[str, int | None, str, str]],
    table: str = "raw.quarantine",
) -> None:
    """Insert a file's quarantined rows, each (part, row number, raw text, reason), into
    raw.quarantine (or `table`, laid out the same) (call inside a transaction)."""
    if rows:
        con.executemany(
            f"insert into {table} (source_id, file_path, file_sha256, part, row_number, "
            "raw_text, reason) values (?, ?, ?, ?, ?, ?, ?)",
            [(source_id, rel, sha, *row) for row in rows],
        )


# An error or warning recorded on a file quotes at most this much: a message that quotes a
# published line (a header row of 1 MB, say) is cut, and says how long it was.
MESSAGE_LIMIT = 2000


def excerpt(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text`, or its first `limit` characters and how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters not shown)"


def record_file(con: duckdb.DuckDBPyConnection, **row: object) -> None:
    """Insert the file's `raw.files` row (call inside a transaction)."""
    row.setdefault("ingested_at", datetime.now(UTC).replace(tzinfo=None))
    for key in ("error", "warnings"):
        if isinstance(row.get(key), str):
            row[key] = excerpt(row[key])
    names = ", ".join(row)
    con.execute(
        f"insert into raw.files ({names}) values ({', '.join('?' * len(row))})", list(row.values())
    )


# Files read whose every row went to quarantine, with their most common reason.
NOTHING_LOADED_SQL = """
select f.source_id, f.file_path, f.rows_quarantined,
       (select mode(q.reason) from raw.quarantine q
        where q.source_id = f.source_id and q.file_path = f.file_path) as reason
from raw.files f where f.status = 'nothing_loaded' order by 1, 2
"""
