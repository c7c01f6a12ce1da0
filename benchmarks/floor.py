"""The parse floor: DuckDB reading the raw files into one table, with no transformation.

Every CSV goes through DuckDB's own parallel `read_csv` (all columns as text, no header
detection, ragged rows padded, unreadable lines skipped); zip members are extracted to a
temporary folder first; workbooks are read with calamine (DuckDB's Excel extension cannot
be installed offline) and handed to DuckDB as Arrow; OCDS files with `read_json`. This is
the least work any loader of these files must do, so it is what the pipeline is compared to.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import python_calamine


def _csv(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    options = (
        "all_varchar = true, header = false, null_padding = true, ignore_errors = true, "
        "strict_mode = false"
    )
    sql = f"create table {table} as select * from read_csv(?, {options}{{}})"
    try:
        con.execute(sql.format(""), [str(path)])
    except duckdb.Error:  # not UTF-8: DuckDB decodes Latin-1 itself
        con.execute(sql.format(", encoding = 'latin-1'"), [str(path)])


def _xlsx(con: duckdb.DuckDBPyConnection, data: bytes, table: str) -> None:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    for n, name in enumerate(book.sheet_names):
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=0)
        columns = [[None] * len(rows) for _ in range(width)]
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                columns[j][i] = None if value == "" else str(value)
        sheet = pa.table({f"c{j}": pa.array(columns[j], pa.string()) for j in range(width)})
        con.register("sheet", sheet)
        con.execute(f"create table {table}_{n} as select * from sheet")
        con.unregister("sheet")


def read_floor(files: list[Path]) -> int:
    """Read every file into tables of text columns in an in-memory DuckDB; returns the rows
    (CSV lines and sheet rows; notices count one row per file)."""
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        for k, path in enumerate(files):
            table = f"file_{k}"
            suffix = path.suffix.lower()
            if suffix == ".csv":
                _csv(con, path, table)
            elif suffix == ".xlsx":
                _xlsx(con, path.read_bytes(), table)
            elif suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    for m, member in enumerate(archive.namelist()):
                        target = Path(archive.extract(member, tmp))
                        if target.suffix.lower() == ".xlsx":
                            _xlsx(con, target.read_bytes(), f"{table}_{m}")
                        else:
                            _csv(con, target, f"{table}_{m}")
            elif suffix in (".json", ".jsonl"):
                con.execute(
                    f"create table {table} as select * from read_json(?, format = 'auto', "
                    "maximum_object_size = 1000000000)",
                    [str(path)],
                )
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
    rows = sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)
    con.close()
    return int(rows)


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1])
    found = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in (".csv", ".xlsx", ".zip", ".json", ".jsonl")
    )
    print(f"{len(found)} files read; rows: {read_floor(found)}")
