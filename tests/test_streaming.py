"""A CSV is streamed: read from disk in blocks and parsed a chunk of lines at a time, so that
memory holds one chunk, not the file (issue 19: a 1 GB CSV within 2 GB). Reading in chunks must
give exactly what reading the whole file gives: the same records, line numbers, raw text of
every row, warnings, and in the warehouse the same rows loaded and quarantined."""

import pytest

from oversight.core.catalogue import ReadOptions, load_catalogue
from oversight.ingest import readers, tabular
from oversight.ingest.readers import FileError, read_csv
from tests.conftest import REAL_CATALOGUE, ingest_all, needs_real, query

# The mess of one file, every kind the reader handles, at lines a chunk boundary falls between.
MESSY = b"".join(
    [
        "\ufeff".encode().decode("latin-1").encode(),  # a BOM encoded twice (Salford)
        b"Payments over \xc2\xa3500,,,\r\n",  # a title row (UTF-8 pound sign)
        b",,,\r\n",
        b"Date,Supplier,Amount,Address\r\n",
        b"01/04/2025,Acme Ltd,100.00,1 High St\r\n",
        b'02/04/2025,"Quoted, Ltd",200.00,"2 Low Rd\r\nFlat 3\r\nLeeds"\r\n',  # one record, 3 lines
        b'03/04/2025,Caf\xe9 Ltd,"(1,234.50)",3 Mill Ln\r\n',  # a cp1252 line in a UTF-8 file
        b"\r\n",  # blank
        b'04/04/2025,"Broken Ltd,400.00,4 Brook St\r\n',  # a quote that never closes
        b"05/04/2025,Next Ltd,500.00,5 Next St\r\n",
        b"06/04/2025,After Ltd,600.00,6 After St\r\n",
        b"Date,Supplier,Amount,Address\r\n",  # a repeated header
        b"07/04/2025,Lone CR Ltd,700.00,7 Cr St\r",  # a lone carriage return ends a line
        b"08/04/2025,Caf\xc3\xa9 Two Ltd,800.00,8 End St\r\n",
        b'09/04/2025,"Long, Ltd",900.00,"a\nb\nc\nd\ne"\n',  # longer than small chunks
        b"10/04/2025,Short Ltd,1000.00",  # no line ending at the end of the file
    ]
)


def flatten(parts: list[readers.Part]) -> tuple:
    records = [r for p in parts for r in p.records]
    rows = [n for p in parts for n in p.row_numbers]
    raw = [p.raw_text(i) for p in parts for i in range(len(p.records))]
    return records, rows, raw, [w for p in parts for w in p.warnings]


@pytest.fixture
def small_sample(monkeypatch):
    """Chunks of a few lines: the first chunk is at least WIDTH_SAMPLE_LINES long."""
    monkeypatch.setattr(readers, "WIDTH_SAMPLE_LINES", 3)


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 7, 11])
def test_chunks_give_what_the_whole_file_gives(small_sample, chunk, tmp_path):
    whole = list(read_csv(MESSY, ReadOptions()))
    assert len(whole) == 1
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY)
    parts = list(read_csv(path, ReadOptions(), chunk))
    assert flatten(parts) == flatten(whole)
    assert len(parts) > 1 and [p.continued for p in parts] == [False] + [True] * (len(parts) - 1)
    assert {(p.encoding, p.delimiter) for p in parts} == {("utf-8", ",")}
    assert parts[-1].warnings == whole[0].warnings and not any(p.warnings for p in parts[:-1])


def test_the_whole_file_as_read(small_sample):
    """The expected values, worked out by hand from MESSY's lines."""
    (part,) = read_csv(MESSY, ReadOptions())
    rows = dict(zip(part.row_numbers, part.records, strict=True))
    assert rows[1] == ["Payments over £500", "", "", ""]  # both BOMs gone
    assert rows[5] == ["02/04/2025", "Quoted, Ltd", "200.00", "2 Low Rd\r\nFlat 3\r\nLeeds"]
    assert rows[8] == ["03/04/2025", "Café Ltd", "(1,234.50)", "3 Mill Ln"]
    assert rows[10] == ["04/04/2025", '"Broken Ltd', "400.00", "4 Brook St"]
    assert rows[14] == ["07/04/2025", "Lone CR Ltd", "700.00", "7 Cr St"]
    assert rows[15][1] == "Café Two Ltd"
    assert rows[16][3] == "a\nb\nc\nd\ne" and rows[21] == ["10/04/2025", "Short Ltd", "1000.00"]
    assert 6 not in rows and 17 not in rows  # inside multi-line records
    assert (
        part.raw_text(part.row_numbers.index(5))
        == '02/04/2025,"Quoted, Ltd",200.00,"2 Low Rd\r\nFlat 3\r\nLeeds"'
    )
    assert part.warnings == [
        "1 line was not UTF-8 and was read as cp1252: line 8",
        "1 line has a quote that is never closed (it would swallow the lines after it); read "
        "with the quote as a plain character: line 10",
    ]


def test_many_unclosed_quotes_are_counted_and_the_first_five_named(small_sample, tmp_path):
    """Seven lines (3, 5, ..., 15) with a quote never closed that would swallow what follows
    (line 17's runs to the end of the file and swallows nothing), read 4 lines at a time: all
    seven counted, the first five named, however many chunks they fall in."""
    lines = ["date,name,amount"]
    for n in range(2, 18):
        lines.append(f'01/04/2025,"Open {n} Ltd,{n}.00' if n % 2 else f"01/04/2025,Shut {n},1")
    path = tmp_path / "quotes.csv"
    path.write_text("\n".join(lines) + "\n")
    parts = list(read_csv(path, ReadOptions(), 4))
    assert len(parts) > 2
    assert parts[-1].warnings == [
        "7 lines have a quote that is never closed (it would swallow the lines after it); "
        "read with the quote as a plain character: lines 3, 5, 7, 9, 11, ..."
    ]
    assert sum(len(p.records) for p in parts) == 17  # the header and 16 rows


def test_a_single_byte_file_in_chunks(small_sample, tmp_path):
    """cp1252 throughout (no UTF-8 line beyond ASCII): charset-normalizer's choice, no warning."""
    data = "Date,Supplier,Amount\n" + "".join(
        f"0{d}/04/2025,Café Crème {d} Ltd,£{d}00.00\n" for d in range(1, 10)
    )
    path = tmp_path / "cp1252.csv"
    path.write_bytes(data.encode("cp1252"))
    whole = list(read_csv(path, ReadOptions()))
    parts = list(read_csv(path, ReadOptions(), 2))
    assert flatten(parts) == flatten(whole) and len(parts) > 1
    assert parts[0].encoding == "cp1252" and whole[0].records[9][1] == "Café Crème 9 Ltd"


def test_utf16_and_a_catalogue_encoding_stream_too(small_sample, tmp_path):
    text = "Date,Supplier,Amount\r\n" + "".join(
        f"0{d}/04/2025,Ñame {d},{d}.00\r\n" for d in range(9)
    )
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode("utf-16"))
    parts = list(read_csv(path, ReadOptions(), 3))
    assert parts[0].encoding == "utf-16" and flatten(parts) == flatten(
        list(read_csv(path, ReadOptions()))
    )
    assert [r[1] for p in parts for r in p.records][1:] == [f"Ñame {d}" for d in range(9)]
    path.write_bytes(text.encode("utf-8") + b"99/04/2025,\xff,1.00\r\n")
    with pytest.raises(FileError, match="cannot decode as utf-8 \\(from the catalogue\\)"):
        list(read_csv(path, ReadOptions(encoding="utf-8"), 3))


@needs_real
def test_real_files_load_the_same_in_small_chunks(monkeypatch, tmp_path):
    """Every real register and spend file, ingested whole and then in chunks of 97 lines
    (streamed from disk, not parsed ahead): the same rows, quarantine and file records."""
    catalogue = load_catalogue(REAL_CATALOGUE)
    tables = {
        "staging.spend": "* exclude (file_sha256)",
        "staging.contracts": "* exclude (file_sha256)",
        "raw.quarantine": "*",
        "raw.files": "* exclude (ingested_at)",
    }

    def snapshot(warehouse) -> dict:
        return {
            t: sorted(query(warehouse, f"select {c} from {t}"), key=repr) for t, c in tables.items()
        }

    ingest_all(catalogue, tmp_path / "whole.duckdb")  # every real file is one chunk
    whole = snapshot(tmp_path / "whole.duckdb")
    monkeypatch.setattr(readers, "CHUNK_LINES", 97)  # the first chunk: 1,000 lines, then 97
    monkeypatch.setattr(tabular, "PARSE_AHEAD_BYTES", 0)
    ingest_all(catalogue, tmp_path / "chunked.duckdb")
    assert snapshot(tmp_path / "chunked.duckdb") == whole
    assert len(whole["staging.spend"]) > 90_000


def test_read_ahead_hands_over_items_errors_and_stops_when_closed():
    import itertools
    import threading

    from oversight.ingest.tabular import read_ahead

    assert list(read_ahead(iter([1, 2, 3]))) == [1, 2, 3]

    def broken():
        yield 1
        raise FileError("chunk 2 is broken")

    got = read_ahead(broken())
    assert next(got) == 1
    with pytest.raises(FileError, match="chunk 2 is broken"):
        next(got)
    endless = read_ahead(itertools.count())
    assert [next(endless), next(endless)] == [0, 1]
    endless.close()  # a file that failed part-way: its reader thread stops
    assert not [t for t in threading.enumerate() if t.name == "parse-ahead"]


def test_a_streamed_file_that_fails_part_way_leaves_nothing_half_loaded(one_source, monkeypatch):
    """Streamed (no parse-ahead, chunks of 1,000 lines): a byte the catalogue's encoding cannot
    decode on line 2,500 fails the file after two chunks were committed to the pending tables.
    The file is recorded failed with its error, no row of it is in staging or quarantine, and
    the pending tables are gone; the good file beside it loads."""
    from tests.test_messy_files import SPEND_HEADER

    monkeypatch.setattr(readers, "CHUNK_LINES", 1000)
    monkeypatch.setattr(tabular, "PARSE_AHEAD_BYTES", 0)
    src = one_source(read={"encoding": "utf-8"})
    rows = [
        f"Test Council,01/04/2025,D{i},{i}.00,0.00,{i}.00,Supplier {i} Ltd,Dept,Goods\n"
        for i in range(1, 3001)
    ]
    rows[2498] = "Test Council,01/04/2025,D,1.00,0.00,1.00,Caf\udce9 Ltd,Dept,Goods\n"  # 0xE9
    src.file("bad.csv", (SPEND_HEADER + "\n" + "".join(rows)).encode("utf-8", "surrogateescape"))
    src.file("good.csv", SPEND_HEADER + "\n" + "".join(rows[:10]))
    summary = src.ingest()
    assert (summary.failed, summary.parsed) == (1, 1)
    bad = src.file_row("bad.csv")
    assert bad["status"] == "failed" and "cannot decode as utf-8" in bad["error"]
    assert src.rows("select file_path, count(*) from staging.spend group by 1") == [
        ("pub/good.csv", 10)
    ]
    assert src.rows("select count(*) from raw.quarantine") == [(0,)]
    assert src.rows("select count(*) from duckdb_tables() where schema_name = 'pending'") == [(0,)]


def test_the_garbage_collector_is_paused_while_files_are_read_and_back_after(
    one_source, monkeypatch
):
    """Parsing builds a list per row, which Python's cyclic collector walked over and over
    (`oversight.ingest.load.collector_paused`): it is off while the ingest reads, on again
    after, even when a file fails."""
    import gc

    from oversight.ingest import load
    from tests.conftest import write_catalogue
    from tests.test_faults import MONTH

    seen = []

    def parse_watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return tabular.parse_file(*args, **kwargs)

    monkeypatch.setattr(load, "parse_file", parse_watched)
    src = one_source()
    src.file("2025-09.csv", MONTH)
    src.file("broken.csv", b"\x00\x01binary")
    catalogue = write_catalogue(src.root, [src.source])
    assert gc.isenabled()
    summaries = load.ingest_sources(str(src.warehouse), str(catalogue), ["pub"])
    assert (summaries[0].parsed, summaries[0].failed) == (1, 1)
    assert seen == [False, False] and gc.isenabled()


def test_the_collector_pauses_and_comes_back_even_on_an_error_or_stays_off():
    import gc

    from oversight.ingest.load import collector_paused

    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()
