"""The parse floor: DuckDB reading the raw files into tables of text, with no transformation.

Every CSV goes through DuckDB's own `read_csv` (all columns as text, no header row, ragged
rows padded); zip members are extracted to a temporary folder first; workbooks are read
with calamine one sheet at a time (DuckDB's Excel extension cannot be installed offline) and
handed to DuckDB as Arrow; OCDS files with `read_json`. This is the least work any loader of
these files must do, so it is what the pipeline is compared to.

The floor reads **every** row, in each file's real encoding: nothing is skipped (no
`ignore_errors`), and the rows read are checked against the files' own count (Python's
`csv` module over the decoded text, outside the timed part). It is measured two ways:

- **sniffed**: DuckDB detects the dialect (delimiter, quoting, width) of each file itself;
  only the encoding is given, since DuckDB cannot detect it;
- **given**: the dialect the pipeline recorded for each file in `raw.files` (format,
  encoding, delimiter; width from the first lines) is passed in and DuckDB's sniffer is off.
  This is the floor the benchmark's ratios use.

Encodings: UTF-8 and UTF-16 are read by DuckDB directly, and so is a single-byte (cp1252,
Latin-1) file without bytes 0x80-0x9F, as `latin-1` (the same bytes, lines and fields). A file
DuckDB cannot decode - cp1252 with a euro sign or curly quotes (DuckDB's `latin-1` refuses
0x80-0x9F and its other encodings need an extension that cannot be installed offline), or
UTF-8 with some cp1252 lines, which the pipeline reads line by line - is transcoded to a
temporary UTF-8 file before the clock starts, so the floor leaves out decoding those files
(it is the lower for it); how many were is reported (`transcoded`).

    python -m benchmarks.floor RAW_DIR [--warehouse W] [--mode sniffed given] [--out f.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import python_calamine

C1 = re.compile(rb"[\x80-\x9f]")
SUFFIXES = (".csv", ".xlsx", ".zip", ".json", ".jsonl")
SINGLE_BYTE = {"cp1252", "windows-1252", "latin-1", "latin_1", "iso8859_1", "iso-8859-1",
               "iso8859_15", "iso-8859-15"}  # fmt: skip


@dataclass
class Dialect:
    """How a text file is read: DuckDB's encoding name, delimiter, width (None: sniff)."""

    encoding: str = "utf-8"
    delimiter: str | None = None
    width: int | None = None


def duckdb_encoding(recorded: str | None, data: bytes) -> str | None:
    """The DuckDB encoding that reads these bytes; None when DuckDB cannot (transcode)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    name = (recorded or "utf-8").lower().replace("_", "-")
    if name in {n.replace("_", "-") for n in SINGLE_BYTE}:
        # DuckDB's latin-1 refuses 0x80-0x9F (cp1252's euro sign and curly quotes)
        return None if C1.search(data) else "latin-1"
    if name.startswith("utf-16"):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def decoded(data: bytes, encoding: str, recorded: str | None = None) -> str:
    if recorded and recorded.lower().replace("_", "-") in {
        n.replace("_", "-") for n in SINGLE_BYTE
    }:
        return data.decode("cp1252" if "1252" in recorded else recorded, errors="replace")
    if encoding == "utf-16":
        return data.decode("utf-16")
    if encoding == "latin-1":
        return data.decode("latin-1")
    from oversight.ingest.readers import decode_by_line

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        mixed = decode_by_line(data)
        return mixed[0] if mixed else data.decode("cp1252", errors="replace")


def csv_rows(text: str, delimiter: str | None) -> tuple[int, int]:
    """(records, widest record) of CSV text as Python's `csv` reads it; blank lines are not
    records (DuckDB skips them too)."""
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = width = 0
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        if record:
            rows += 1
            width = max(width, len(record))
    return rows, width


def _width(text_head: str, delimiter: str) -> int:
    """The widest record in the first lines (the catalogue's layout gives the columns; the
    floor takes them from the file's head, outside the timed part)."""
    head = text_head.rsplit("\n", 1)[0] if "\n" in text_head else text_head
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    return max((len(r) for r in reader), default=1)


def _csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, dialect: Dialect) -> None:
    options = ["header = false", "null_padding = true", "strict_mode = false"]
    options.append(f"encoding = '{dialect.encoding}'")
    if dialect.width:  # the dialect given: no sniffing at all
        columns = ", ".join(f"'c{j}': 'varchar'" for j in range(dialect.width))
        delim = dialect.delimiter.replace("'", "''")
        options += ["auto_detect = false", f"columns = {{{columns}}}", f"delim = '{delim}'",
                    "quote = '\"'", "escape = '\"'"]  # fmt: skip
    else:
        options.append("all_varchar = true")
    sql = f"create table {table} as select * from read_csv(?, {', '.join(options)}EXTRA)"
    try:
        con.execute(sql.replace("EXTRA", ""), [str(path)])
    except duckdb.Error as exc:
        # The parallel reader cannot pad rows when a quoted value spans lines (an invoice
        # over two lines): read that file on one thread, as DuckDB asks.
        if "parallel" not in str(exc):
            raise
        con.execute(sql.replace("EXTRA", ", parallel = false"), [str(path)])


def _xlsx(con: duckdb.DuckDBPyConnection, data: bytes, table: str) -> int:
    """Each sheet into its own table, one sheet in memory at a time; returns the rows."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    total = 0
    for n, name in enumerate(book.sheet_names):
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=0)
        columns = [[None] * len(rows) for _ in range(width)]
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                columns[j][i] = None if value == "" else str(value)
        del rows
        sheet = pa.table({f"c{j}": pa.array(columns[j], pa.string()) for j in range(width)})
        del columns
        con.register("sheet", sheet)
        con.execute(f"create table {table}_{n} as select * from sheet")
        con.unregister("sheet")
        total += sheet.num_rows
        del sheet
    return total


@dataclass
class Plan:
    """One text file or workbook to read: where it is (after extraction or transcoding),
    its dialect, and its true rows."""

    path: Path
    kind: str  # csv, xlsx, json
    dialect: Dialect
    rows: int


def recorded_dialects(warehouse: Path | None, raw: Path) -> dict[str, dict]:
    """`raw.files` rows by absolute path: format, encoding, delimiter, header rows."""
    if warehouse is None or not Path(warehouse).exists():
        return {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select file_path, format, encoding, delimiter, header_rows from raw.files "
            "where status <> 'removed'"
        ).fetchall()
    finally:
        con.close()
    out = {}
    for path, fmt, encoding, delimiter, header_rows in rows:
        full = Path(path) if Path(path).is_absolute() else raw / path
        out[str(full.resolve())] = {
            "format": fmt,
            "encoding": encoding,
            "delimiter": delimiter,
            "header_rows": header_rows,
        }
    return out


def plan(files: list[Path], recorded: dict[str, dict], tmp: Path) -> tuple[list[Plan], dict]:
    """Everything that is not reading, before the clock starts: zips extracted, files DuckDB
    cannot decode transcoded to UTF-8, the dialect looked up, the true rows counted."""
    plans: list[Plan] = []
    stats = {"files": len(files), "with_dialect": 0, "transcoded": 0}

    def text_file(path: Path, data: bytes, known: dict | None) -> Plan:
        encoding = duckdb_encoding(known.get("encoding") if known else None, data)
        text = decoded(data, encoding or "utf-8", known.get("encoding") if known else None)
        if encoding is None:  # cp1252 with bytes DuckDB's latin-1 refuses, or mixed lines
            path = tmp / f"transcoded-{len(plans)}.csv"
            path.write_text(text, encoding="utf-8")
            encoding = "utf-8"
            stats["transcoded"] += 1
        delimiter = (known or {}).get("delimiter")
        rows, _ = csv_rows(text, delimiter)
        dialect = Dialect(encoding)
        if delimiter:
            stats["with_dialect"] += 1
            dialect.delimiter, dialect.width = delimiter, _width(text[:65_536], delimiter)
        return Plan(path, "csv", dialect, rows)

    for path in files:
        known = recorded.get(str(path.resolve()))
        suffix = path.suffix.lower()
        if suffix == ".csv":
            plans.append(text_file(path, path.read_bytes(), known))
        elif suffix == ".xlsx":
            plans.append(Plan(path, "xlsx", Dialect(), sheet_rows(path.read_bytes())))
        elif suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    target = Path(archive.extract(member, tmp / f"zip-{len(plans)}"))
                    if target.suffix.lower() == ".xlsx":
                        plans.append(
                            Plan(target, "xlsx", Dialect(), sheet_rows(target.read_bytes()))
                        )
                    else:
                        plans.append(text_file(target, target.read_bytes(), known))
        elif suffix in (".json", ".jsonl"):
            plans.append(Plan(path, "json", Dialect(), 1 if suffix == ".json" else -1))
    return plans, stats


def sheet_rows(data: bytes) -> int:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(book.get_sheet_by_name(n).height for n in book.sheet_names)


def read(plans: list[Plan], given: bool) -> int:
    """Read every planned file into tables of text in an in-memory DuckDB; returns the rows
    (CSV records, sheet rows; a JSON file counts as one row, a JSON Lines file one a line)."""
    con = duckdb.connect()
    for k, p in enumerate(plans):
        table = f"file_{k}"
        if p.kind == "csv":
            dialect = p.dialect if given else Dialect(p.dialect.encoding)
            _csv(con, p.path, table, dialect)
        elif p.kind == "xlsx":
            _xlsx(con, p.path.read_bytes(), table)
        else:
            con.execute(
                f"create table {table} as select * from read_json(?, format = 'auto', "
                "maximum_object_size = 1000000000)",
                [str(p.path)],
            )
    tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
    rows = sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)
    con.close()
    return int(rows)


def true_rows(plans: list[Plan]) -> int:
    total = 0
    for p in plans:
        if p.rows == -1:  # JSON Lines: one row a non-blank line
            p.rows = sum(1 for line in p.path.open("rb") if line.strip())
        total += p.rows
    return total


def run_floor(
    files: list[Path], raw: Path, warehouse: Path | None, modes: list[str], repeat: int = 2
) -> dict[str, object]:
    """The floor in each mode (the faster of `repeat` reads): seconds and rows, checked
    against the files' true rows."""
    recorded = recorded_dialects(warehouse, raw)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        plans, stats = plan(files, recorded, Path(tmp))
        out["true_rows"] = true_rows(plans)
        out["prepare_seconds"] = round(time.perf_counter() - started, 2)
        out.update(stats)
        for _ in range(repeat):  # alternating, the faster of each: less noise, no order bias
            for mode in modes:
                if mode == "given" and not recorded:
                    out[mode] = {"skipped": "no raw.files to take the dialect from"}
                    continue
                started = time.perf_counter()
                rows = read(plans, given=mode == "given")
                seconds = round(time.perf_counter() - started, 2)
                if rows != out["true_rows"]:
                    raise AssertionError(
                        f"the floor ({mode}) read {rows:,} rows; "
                        f"the files hold {out['true_rows']:,}"
                    )
                best = out.get(mode, {}).get("seconds", seconds)
                out[mode] = {"seconds": min(best, seconds), "rows": rows}
    return out


def found_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="a folder of files, or one file")
    parser.add_argument("--warehouse", type=Path, help="where raw.files gives each dialect")
    parser.add_argument("--mode", nargs="+", default=["sniffed", "given"],
                        choices=["sniffed", "given"])  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument("--repeat", type=int, default=2, help="reads per mode; the fastest")
    args = parser.parse_args(argv)
    raw = args.raw if args.raw.is_dir() else args.raw.parent
    files = found_in(args.raw) if args.raw.is_dir() else [args.raw]
    result = run_floor(files, raw, args.warehouse, args.mode, args.repeat)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
