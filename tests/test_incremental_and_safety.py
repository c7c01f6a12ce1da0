"""Re-runs never duplicate, changed files replace their own rows, a killed run leaves the
previous tables intact, and a second writer waits or fails with a clear message."""

import os
import subprocess
import sys
import time

import duckdb
import pytest

from oversight.core.catalogue import load_catalogue
from oversight.core.warehouse import WarehouseBusy, file_lock, open_warehouse
from oversight.ingest import load
from oversight.ingest.load import ingest_source
from tests.conftest import PROJECT, write_catalogue
from tests.test_messy_files import SPEND_HEADER

TABLES = ["raw.files", "raw.quarantine", "staging.spend", "staging.contracts"]


def snapshot(warehouse) -> dict[str, list]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def month(n: int, *suppliers: str) -> str:
    lines = [f"X,2021-0{n}-04,{n}{i},1,0,{i + 1},{s},A,B" for i, s in enumerate(suppliers)]
    return "\n".join([SPEND_HEADER, *lines, "X,bad date,9,1,0,1,Q Ltd,A,B"]) + "\n"


def test_second_run_changes_nothing_and_skips_every_file(one_source):
    src = one_source()
    src.file("1.csv", month(1, "A Ltd", "B Ltd"))
    src.file("2.csv", month(2, "C Ltd"))
    src.ingest()
    before = snapshot(src.warehouse)
    again = src.ingest()
    assert (again.parsed, again.unchanged) == (0, 2)
    assert snapshot(src.warehouse) == before
    assert len(before["staging.spend"]) == 3 and len(before["raw.quarantine"]) == 2


def test_an_unchanged_file_is_not_read_again_to_be_hashed(one_source, monkeypatch):
    """A file whose size, times and inode are those it had when hashed keeps its hash
    (raw.file_hashes) unread; one rewritten in place is hashed again even with its size and
    modification time put back (its change time moved), and so is any file with `force`."""
    hashed = []
    real = load.file_sha256
    monkeypatch.setattr(load, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    src = one_source()
    first = src.file("1.csv", month(1, "A Ltd", "B Ltd"))
    src.file("2.csv", month(2, "C Ltd"))
    src.ingest()
    assert sorted(hashed) == ["1.csv", "2.csv"]
    # just written: hashed on every run until settled (a write in the same clock tick as the
    # stat would go unseen)
    hashed.clear()
    src.ingest()
    assert sorted(hashed) == ["1.csv", "2.csv"]
    monkeypatch.setattr(load, "SETTLED_NS", 0)
    src.ingest()
    hashed.clear()
    again = src.ingest()
    assert hashed == [] and (again.parsed, again.unchanged) == (0, 2)

    before = first.stat()
    first.write_text(month(1, "A Ltd", "B Ltd").replace("A Ltd", "Z Ltd"))
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert first.stat().st_size == before.st_size
    assert first.stat().st_mtime_ns == before.st_mtime_ns
    hashed.clear()
    summary = src.ingest()
    assert hashed == ["1.csv"] and (summary.parsed, summary.unchanged) == (1, 1)
    assert ("Z Ltd",) in src.rows("select supplier_name from staging.spend")

    hashed.clear()
    catalogue = load_catalogue(write_catalogue(src.root, [src.source]))
    with open_warehouse(src.warehouse) as con:
        ingest_source(con, catalogue, "pub", force=True)
    assert sorted(hashed) == ["1.csv", "2.csv"]
    src.file("2.csv", "").unlink()
    src.ingest()
    assert src.rows("select file_path from raw.file_hashes") == [("pub/1.csv",)]


def test_changed_file_replaces_only_its_own_rows(one_source):
    src = one_source()
    src.file("1.csv", month(1, "A Ltd", "B Ltd"))
    src.file("2.csv", month(2, "C Ltd"))
    src.ingest()
    src.file("1.csv", month(1, "Z Ltd"))
    summary = src.ingest()
    assert (summary.parsed, summary.unchanged) == (1, 1)
    assert src.rows("select file_path, supplier_name from staging.spend order by 1, 2") == [
        ("pub/1.csv", "Z Ltd"),
        ("pub/2.csv", "C Ltd"),
    ]
    assert src.rows("select file_path, count(*) from raw.quarantine group by 1 order by 1") == [
        ("pub/1.csv", 1),
        ("pub/2.csv", 1),
    ]


def test_removed_file_takes_its_rows_with_it(one_source):
    src = one_source()
    src.file("1.csv", month(1, "A Ltd"))
    path = src.file("2.csv", month(2, "C Ltd"))
    src.ingest()
    path.unlink()
    assert src.ingest().removed == 1
    assert src.rows("select supplier_name from staging.spend") == [("A Ltd",)]
    assert src.file_row("2.csv")["status"] == "removed"


def test_catalogue_change_makes_files_be_read_again(one_source):
    src = one_source()
    src.file("1.csv", month(1, "A Ltd"))
    src.ingest()
    src.source["values"] = {"placeholders": ["A Ltd"]}
    assert src.ingest().parsed == 1
    assert src.rows("select reason from raw.quarantine order by 1") == [
        (
            "payment_date ('Date of Payment'): bad date is not a date "
            "(none of the default formats fit: set values.date_formats)",
        ),
        ("supplier_name ('Vendor Name') is empty",),
    ]


KILL_SCRIPT = """
import os, signal, sys
import oversight.core.ledger as ledger
import oversight.ingest.load as load
from oversight.core.catalogue import load_catalogue
from oversight.core.warehouse import open_warehouse

real = ledger.record_file
def die(con, **row):
    real(con, **row)
    os.kill(os.getpid(), signal.SIGKILL)  # killed inside the transaction, before commit
ledger.record_file = die
catalogue = load_catalogue(sys.argv[1])
with open_warehouse(sys.argv[2]) as con:
    load.ingest_source(con, catalogue, "pub")
"""


def test_run_killed_mid_file_leaves_previous_tables_intact(one_source):
    src = one_source()
    src.file("1.csv", month(1, "A Ltd", "B Ltd"))
    src.ingest()
    before = snapshot(src.warehouse)
    src.file("1.csv", month(1, "Changed Ltd"))
    src.file("2.csv", month(2, "New Ltd"))
    catalogue = write_catalogue(src.root, [src.source])
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(catalogue), str(src.warehouse)],
        cwd=PROJECT,
        capture_output=True,
    )
    assert result.returncode == -9, result.stderr.decode()
    assert snapshot(src.warehouse) == before
    summary = src.ingest()  # the next run picks up where the killed one stopped
    assert summary.parsed == 2
    assert src.rows("select supplier_name from staging.spend order by 1") == [
        ("Changed Ltd",),
        ("New Ltd",),
    ]


HOLD_SCRIPT = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(warehouse, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_fails_with_a_clear_message(warehouse):
    open_warehouse(warehouse).__enter__().close()
    holder = hold_lock(warehouse, 30)
    try:
        with pytest.raises(WarehouseBusy) as info, open_warehouse(warehouse, timeout=1):
            pass
        message = str(info.value)
        assert "is being written by another process" in message
        assert f"PID {holder.pid}" in message
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_waits_for_the_first(warehouse):
    open_warehouse(warehouse).__enter__().close()
    holder = hold_lock(warehouse, 1.5)
    started = time.monotonic()
    with open_warehouse(warehouse, timeout=30) as con:
        assert con.execute("select count(*) from raw.files").fetchall() == [(0,)]
    assert time.monotonic() - started >= 1.0
    holder.wait()


FILE_LOCK_SCRIPT = """
import sys, time
from pathlib import Path
from oversight.core.warehouse import file_lock
with file_lock(Path(sys.argv[1]), "the GX folder"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_folder_lock_is_held_across_processes_and_released_by_a_dead_one(tmp_path):
    """The GX folder and `make run` are guarded by `file_lock`: a second process waits, then
    fails with a message naming the lock; a holder that dies (SIGKILL) releases it."""
    path = tmp_path / "gx" / ".lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", FILE_LOCK_SCRIPT, str(path), "60"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusy) as info, file_lock(path, "the GX folder", timeout=0.5):
            pass
        assert "the GX folder was still in use by another process after 0s" in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    with file_lock(path, "the GX folder", timeout=5):  # the dead holder's lock is gone
        pass


def test_sample_ingest_is_repeatable(tmp_path):
    """`make run` twice gives identical tables (on the embedded sample)."""
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    warehouse = tmp_path / "w.duckdb"
    for _ in range(2):
        with open_warehouse(warehouse) as con:
            for source in catalogue.sources:
                ingest_source(con, catalogue, source.id)
        if _ == 0:
            first = snapshot(warehouse)
    assert snapshot(warehouse) == first
    assert len(first["staging.spend"]) > 10_000


def test_a_step_out_of_duckdb_memory_runs_again_on_one_thread(tmp_path):
    """The first attempt's writes are rolled back, the second runs on one thread, and the
    connection gets its threads back."""
    from oversight.core.warehouse import atomic_retrying, connect

    con = connect(tmp_path / "w.duckdb")
    con.execute("set threads = 2")
    con.execute("create table t (attempt integer, threads varchar)")
    attempts = []

    def work() -> int:
        attempts.append(1)
        threads = con.execute("select current_setting('threads')").fetchall()[0][0]
        con.execute("insert into t values (?, ?)", [len(attempts), str(threads)])
        if len(attempts) == 1:
            raise duckdb.OutOfMemoryException("could not allocate block (953 MiB used)")
        return len(attempts)

    assert atomic_retrying(con, work) == 2
    assert con.execute("select * from t").fetchall() == [(2, "1")]
    assert con.execute("select current_setting('threads')").fetchall()[0][0] == 2


def test_lend_memory_drops_duckdbs_pages_and_gives_the_limit_back(tmp_path):
    from oversight.core.warehouse import connect, lend_memory

    con = connect(tmp_path / "w.duckdb")
    con.execute("create temp table big as select range as i, repeat('x', 50) as s "
                "from range(2000000)")  # fmt: skip
    in_use = "select sum(memory_usage_bytes) / 2**20 from duckdb_memory()"
    before = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert con.execute(in_use).fetchall()[0][0] > 64
    with lend_memory(con, "16MB"):
        assert con.execute(in_use).fetchall()[0][0] <= 16
    assert con.execute("select current_setting('memory_limit')").fetchall()[0][0] == before
    assert con.execute("select count(*) from big").fetchall()[0][0] == 2_000_000
