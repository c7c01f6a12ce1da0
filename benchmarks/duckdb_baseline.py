"""The second baseline: the same ingest, OV07 and HHI (SC01) as a plain DuckDB script.

What an analyst who knows SQL would write instead of the pipeline: read every file with
DuckDB's `read_csv` (workbooks through calamine, as DuckDB's Excel extension cannot be
installed offline), find the header row, rename the columns, then clean, match and group in
SQL. The rules are `benchmarks.pandas_baseline`'s (the documented ones, `docs/indicators.md`):
same column names, missing-value words, money and date readings, buyer and supplier keys,
redacted payees, OV07 grace and margin, HHI per buyer and financial year; `benchmarks.bench`
compares its results with the pipeline's as it does the pandas baseline's.

    python -m benchmarks.duckdb_baseline RAW_DIR --as-of 2026-09-30 --out results/
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import python_calamine

from benchmarks.pandas_baseline import (
    EXPIRED_GRACE_DAYS,
    GRACE_DAYS,
    LEGAL,
    MARGIN_DAYS,
    MISSING,
    PERSONAL,
    REGISTER_COLUMNS,
    REGISTER_FOLDERS,
    SPEND_COLUMNS,
    SPEND_FOLDERS,
)

DATE_FORMATS = ["%d/%m/%Y", "%d %b %Y", "%d %B %Y", "%A, %B %d, %Y", "%d-%b-%Y", "%d-%m-%Y",
                "%d/%m/%y", "%d.%m.%Y", "%Y/%m/%d", "%B %d, %Y"]  # fmt: skip
MACROS = f"""
create or replace macro clean(s) as
    case when lower(trim(s::varchar)) in ({", ".join(f"'{m}'" for m in sorted(MISSING))})
         then null else nullif(trim(s::varchar), '') end;
create or replace macro money(s) as (
    with t as (select regexp_replace(clean(s), '[£\\s,]|GBP', '', 'g') as v)
    select case when regexp_full_match(v, '\\(.*\\)') or regexp_full_match(v, '[0-9.]+-')
                then -try_cast(trim(v, '()-') as double) else try_cast(v as double) end
    from t);
create or replace macro day(s) as (
    with t as (select coalesce(try_strptime(left(clean(s), 10), '%Y-%m-%d'),
                               try_strptime(clean(s), {DATE_FORMATS}))::date as d)
    select case when year(d) between 1900 and 2100 then d end from t);
create or replace macro spaced(s) as trim(regexp_replace(s, '\\s+', ' ', 'g'));
create or replace macro supplier_key(s) as spaced(regexp_replace(regexp_replace(
    regexp_replace(replace(replace(lower(regexp_replace(coalesce(s, ''),
        '(?i)\\s*\\b(?:t/a|trading as)\\b.*$', '')), '&', ' and '), '+', ' and '),
    '[^0-9a-z]+', ' ', 'g'), '{LEGAL}', ' ', 'g'), '^\\s*the\\s+', ''));
create or replace macro buyer_key(s) as spaced(regexp_replace(regexp_replace(lower(s),
    '[^0-9a-z]+', ' ', 'g'),
    '\\b(the|of|council|city|borough|metropolitan|district|county|mbc|mdc|cc|dc)\\b', ' ', 'g'));
"""


def tables_in(con: duckdb.DuckDBPyConnection, path: Path, tmp: Path, n: list[int]) -> list[str]:
    """Every table in a file, as DuckDB tables of text with no header; returns their names."""

    def csv_table(file: Path) -> str | None:
        name = f"t{n[0]}"
        n[0] += 1
        head = file.read_bytes()[:200].lstrip()
        if head.lower().lstrip(b"\xef\xbb\xbf").startswith((b"<!doctype", b"<html")):
            return None
        sql = (
            f"create table {name} as select * from read_csv(?, header = false, all_varchar = "
            "true, null_padding = true, strict_mode = false, parallel = {p})"
        )
        try:
            con.execute(sql.format(p="true"), [str(file)])
        except duckdb.InvalidInputException as exc:
            if "encoded" in str(exc) or "unicode" in str(exc).lower():  # cp1252: transcode
                utf8 = tmp / f"{name}.csv"
                utf8.write_text(file.read_bytes().decode("cp1252", errors="replace"), "utf-8")
                return csv_table(utf8)
            con.execute(sql.format(p="false"), [str(file)])  # quoted newlines with padding
        return name

    if path.suffix == ".xlsx":
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
        names = []
        for sheet in book.sheet_names:
            rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            width = max((len(r) for r in rows), default=0)
            cols = {
                f"column{j}": pa.array(
                    [None if j >= len(r) or r[j] == "" else str(r[j]) for r in rows], pa.string()
                )
                for j in range(width)
            }
            con.register("sheet", pa.table(cols))
            names.append(f"t{n[0]}")
            con.execute(f"create table t{n[0]} as select * from sheet")
            con.unregister("sheet")
            n[0] += 1
        return names
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            members = [Path(z.extract(m, tmp / path.stem)) for m in z.namelist()]
        return [t for m in members if (t := csv_table(m))]
    return [t for t in [csv_table(path)] if t]


def header(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> tuple:
    """(header row index, {our column: table column}) from the first row with two known
    column names; None when there is none."""
    cols = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    first = con.execute(f"select * from {table} order by rowid limit 30").fetchall()
    for i, row in enumerate(first):
        names = [str(v).strip().lstrip("\ufeff").removeprefix("ï»¿") if v else "" for v in row]
        if sum(name in columns for name in names) >= 2:
            mapped: dict[str, str] = {}
            for name, col in zip(names, cols, strict=True):
                if name in columns and columns[name] not in mapped:
                    mapped[columns[name]] = col
            return i, mapped
    return None


def load(con, raw: Path, folders: dict[str, str], columns: dict[str, str], target: str,
         fields: list[str], tmp: Path) -> None:  # fmt: skip
    quoted = ", ".join(f'"{f}" varchar' for f in fields)
    con.execute(f"create table {target} ({quoted})")
    n = [0]
    for folder, publisher in folders.items():
        for path in sorted((raw / folder).glob("*")):
            if path.name.startswith(".") or path.suffix not in (".csv", ".xlsx", ".zip"):
                continue
            for table in tables_in(con, path, tmp, n):
                found = header(con, table, columns)
                if found:
                    row, mapped = found
                    pub = publisher.replace("'", "''")
                    exprs = [
                        f"coalesce(clean({mapped['buyer']}), '{pub}')" if f == "buyer" and
                        "buyer" in mapped else f"'{pub}'" if f == "buyer" else
                        (f'"{mapped[f]}"' if f in mapped else "null")
                        for f in fields
                    ]  # fmt: skip
                    con.execute(
                        f"insert into {target} select {', '.join(exprs)} from "
                        f"(select *, row_number() over (order by rowid) - 1 as n from {table}) "
                        f"where n > {row}"
                    )
                con.execute(f"drop table {table}")


def run(raw: Path, as_of: str) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect()
    con.execute(MACROS)
    timing = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        spend_fields = ["buyer", "date", "amount", "supplier"]
        register_fields = ["buyer", "ref", "title", "supplier", "start", "end", "expiry"]
        load(con, raw, SPEND_FOLDERS, SPEND_COLUMNS, "spend_raw", spend_fields, Path(tmp))
        load(con, raw, REGISTER_FOLDERS, REGISTER_COLUMNS, "register_raw", register_fields,
             Path(tmp))  # fmt: skip
    con.execute(f"""
        create table spend as
        with s as (select clean(supplier) as supplier, day(date) as date, money(amount) as amount,
                          buyer_key(buyer) as buyer_key, row_number() over () as id
                   from spend_raw)
        select *, case when regexp_matches(supplier, '{PERSONAL}') then 'personal:' || id
                       else supplier_key(supplier) end as supplier_key
        from s where supplier is not null and date is not null and amount is not null;
        create table contracts as
        select buyer_key(buyer) as buyer_key, clean(ref) as ref, clean(title) as title,
               clean(supplier) as supplier, supplier_key(clean(supplier)) as supplier_key,
               day(start) as start, day("end") as "end", day(expiry) as expiry
        from register_raw where clean(title) is not null
    """)  # noqa: S608
    timing["ingest_seconds"] = round(time.perf_counter() - started, 2)
    mark = time.perf_counter()
    con.execute(f"""
        create table ov07 as
        with c as (
            select *, coalesce(greatest("end", expiry), date '2262-01-01') as effective_end,
                   coalesce(ref, title) as contract
            from contracts where start is not null and supplier_key <> ''),
        pairs as (
            select s.id, s.date, s.amount, c.buyer_key, c.contract, c.start, c.effective_end
            from spend s join c using (buyer_key, supplier_key)),
        linked as (
            select distinct id from pairs
            where date >= start - interval {MARGIN_DAYS} day
              and date <= effective_end + interval {GRACE_DAYS} day),
        late as (
            select * from pairs anti join linked using (id)
            where date <= date '{as_of}'
              and date > effective_end + interval {EXPIRED_GRACE_DAYS} day
            qualify row_number() over (
                partition by id order by effective_end desc, contract) = 1)
        select buyer_key, contract, count(*) as payments, sum(amount) as paid_after
        from late group by all
    """)  # noqa: S608
    timing["ov07_seconds"] = round(time.perf_counter() - mark, 2)
    mark = time.perf_counter()
    con.execute("""
        create table sc01 as
        with totals as (
            select buyer_key, year(date - interval 3 month) as fy, supplier_key,
                   greatest(sum(amount), 0) as amount
            from spend where supplier_key not like 'personal:%' group by all),
        share as (select *, amount / sum(amount) over (partition by buyer_key, fy) as share
                  from totals)
        select buyer_key, fy, round(sum(pow(100 * share, 2)), 1) as hhi from share group by all
    """)
    timing["sc01_seconds"] = round(time.perf_counter() - mark, 2)
    return con, timing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    con, timing = run(args.raw, args.as_of)
    timing["seconds"] = round(time.perf_counter() - started, 2)
    args.out.mkdir(parents=True, exist_ok=True)
    con.sql("select * from ov07 order by all").df().to_csv(args.out / "ov07.csv", index=False)
    con.sql("select * from sc01 order by all").df().to_csv(args.out / "sc01.csv", index=False)
    con.sql(
        "select 'spend' as table, count(*) as rows from spend union all "
        "select 'contracts', count(*) from contracts"
    ).df().to_csv(args.out / "rows.csv", index=False)
    (args.out / "timing.json").write_text(json.dumps(timing))
    con.close()


if __name__ == "__main__":
    main()
