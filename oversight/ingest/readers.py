"""Turn a published file's bytes into records (lists of cell text), whatever its format.

CSV text is decoded (UTF-8 with or without BOM, cp1252 and friends detected with
charset-normalizer; a UTF-8 file with a few cp1252 lines line by line), its dialect sniffed with
CleverCSV, and parsed with the standard `csv` module so that every record keeps the line it
started on and its raw text; a quote that never closes is read as a plain character rather than
let it swallow the lines after it. A CSV is streamed: its encoding is chosen in a first pass over
its bytes (block by block), then it is decoded and parsed `chunk_lines` lines at a time, each
chunk a Part whose row numbers are the file's own, so memory holds one chunk, not the file.
XLSX workbooks are read with calamine, one part per sheet; zip archives yield one part per member.

Problems that make a whole file unreadable raise `FileError` with a message meant for a person.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import itertools
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import charset_normalizer
import clevercsv

from oversight.core.catalogue import ReadOptions

csv.field_size_limit(64 * 1024 * 1024)

SNIFF_CHARS = 16_000
DELIMITERS = [",", ";", "\t", "|"]
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200
# What a UTF-8 byte-order mark looks like once it has been decoded twice (Salford's files).
BOM_ARTEFACTS = ("\ufeff", "ï»¿", "Ã¯Â»Â¿")
SHOWN_LINES = 5  # line numbers named in a warning
WIDTH_SAMPLE_LINES = 1000  # lines looked at for a file's usual number of values
CHUNK_LINES = 100_000  # a CSV is parsed this many lines at a time (about 100-200 MB of records)
BLOCK_BYTES = 8 * 1024**2  # bytes decoded at a time
CHARSET_SAMPLE_BYTES = 32 * 1024**2  # what charset-normalizer sees of a single-byte file
HEAD_CHARS = 20_000  # text looked at for binary content and the delimiter
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_UTF8_BEYOND_ASCII = re.compile("[\x80-\ud7ff\ue000-\U0010ffff]")  # not ASCII, not escaped


class FileError(Exception):
    """The file (or one part of it) cannot be read at all; the message says why."""


@dataclass
class Part:
    """One table inside a file: the file itself, an XLSX sheet or a zip member."""

    name: str
    records: list[list[str]]
    row_numbers: list[int]
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)
    continued: bool = False  # a later chunk of the same table (a CSV read in chunks)
    _lines: list[str] | None = field(default=None, repr=False)
    _ends: list[int] | None = field(default=None, repr=False)
    _first_line: int = field(default=1, repr=False)  # the file's line number of _lines[0]

    def raw_text(self, i: int) -> str:
        """The record as published: its original line(s) for CSV, its cells re-joined for XLSX."""
        if self._lines is not None and self._ends is not None:
            start = self.row_numbers[i] - self._first_line
            return "".join(self._lines[start : self._ends[i]]).rstrip("\r\n")
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(self.records[i])
        return out.getvalue()


def detect_format(name: str, options: ReadOptions) -> str:
    if options.format:
        return options.format
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".zip":
        return "zip"
    raise FileError(
        f"unsupported file type {suffix or '(none)'!r}: expected .csv, .xlsx or .zip "
        "(or set read.format in the catalogue)"
    )


def read_parts(
    name: str, data: bytes | Path, options: ReadOptions, chunk_lines: int | None = None
) -> Iterator[Part]:
    """Yield each table in the file (`data`: its bytes, or its path, read as needed). `name` is
    used for the format and in messages. With `chunk_lines`, a CSV comes as several Parts of
    that many lines (the later ones `continued`); without, as one."""
    fmt = detect_format(name, options)
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    if not size:
        raise FileError("file is empty (0 bytes)")
    if fmt == "csv":
        yield from read_csv(data, options, chunk_lines)
    else:
        content = data if isinstance(data, bytes) else data.read_bytes()
        if fmt == "xlsx":
            yield from read_xlsx(content, options)
        else:
            yield from read_zip(content, options, chunk_lines)


def _looks_like(data: bytes) -> str | None:
    signatures = {
        b"PK\x03\x04": "a zip archive or XLSX workbook",
        b"%PDF": "a PDF document",
        b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or other OLE file",
        b"\x1f\x8b": "a gzip archive",
        b"<!DOCTYPE html": "an HTML page",
        b"<html": "an HTML page",
    }
    head = data[:64].lstrip()
    for magic, what in signatures.items():
        if head[: len(magic)].lower() == magic.lower():
            return what
    return None


def _lines_named(lines: list[int]) -> str:
    """`lines 5, 9, 12` (the first few of them), or `line 5`."""
    shown = ", ".join(map(str, lines[:SHOWN_LINES])) + (", ..." if len(lines) > SHOWN_LINES else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"


def _keep_to_name(kept: list[int], found: list[int]) -> None:
    """Add the first of `found` to `kept`, up to what `_lines_named` needs (SHOWN_LINES, and
    one more for its "..."): a file may have millions of such lines."""
    kept += found[: SHOWN_LINES + 1 - len(kept)]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _decode_lines(text: str, first_line: int, failing: list[int]) -> tuple[str, bool]:
    """Text decoded from UTF-8 with surrogateescape, line by line: lines that were not UTF-8
    read as cp1252 (their numbers, counted from `first_line`, appended to `failing`). Returns
    the text and whether a line that was UTF-8 holds more than ASCII."""
    parts: list[str] = []
    utf8_line = False
    for n, line in enumerate(io.StringIO(text, newline=""), start=first_line):
        if _NOT_UTF8.search(line):
            parts.append(line.encode("utf-8", "surrogateescape").decode("cp1252", "replace"))
            failing.append(n)
        else:
            parts.append(line)
            utf8_line = utf8_line or not line.isascii()
    return "".join(parts), utf8_line


def decode_by_line(data: bytes) -> tuple[str, list[int]] | None:
    """Text bytes that are not all UTF-8, decoded line by line: UTF-8 lines as UTF-8, the others
    as cp1252. Returns the text and the numbers of the cp1252 lines, or None when no line holds
    UTF-8 beyond ASCII (then the file is in a single-byte encoding throughout).

    One UTF-8 line beyond ASCII is evidence enough: cp1252 text almost never forms valid
    multi-byte UTF-8 (an accented capital directly followed by `£`, `’` or the like, with every
    other non-ASCII byte of the line pairing up too), and when it does it is usually text already
    garbled once (`Â£`), which reading it as UTF-8 repairs. Whereas decoding a mostly-UTF-8 file
    whole as cp1252 garbles every line that was right. So each line gets the reading that fits
    it, and a file in cp1252 throughout is left to charset-normalizer as before, with no warning.
    """
    # Bytes that are not UTF-8 become lone surrogates, and encode back to the same bytes.
    text = data.decode("utf-8", errors="surrogateescape")
    if not _UTF8_BEYOND_ASCII.search(text):  # the usual cp1252 file: one scan, no line loop
        return None
    failing: list[int] = []
    text, utf8_line = _decode_lines(text, 1, failing)
    return (text, failing) if utf8_line else None


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes, about BLOCK_BYTES at a time, each block ending with a line feed
    (but the last). No character of UTF-8 or of a single-byte encoding spans a line feed."""
    rest = b""
    while block := stream.read(BLOCK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest, block = block[cut:], block[:cut]
        if block:
            yield block
    if rest:
        yield rest


def _line_count(block: bytes) -> int:
    """Lines in a block as `io` splits them (`\n`, `\r\n` or a lone `\r` ends a line)."""
    ends = block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
    return ends + (not block.endswith((b"\n", b"\r")))


@dataclass
class Encoding:
    """How a CSV's bytes are decoded: `name` as recorded in raw.files; `mode` "utf-8"
    (throughout), "by-line" (UTF-8 with `failing_count` cp1252 lines, the first of them in
    `failing`) or "stream" (one codec throughout: the catalogue's, UTF-16 or single-byte)."""

    name: str
    mode: str
    failing: list[int] = field(default_factory=list)
    failing_count: int = 0
    strict: bool = False  # the catalogue named it: a byte it cannot decode fails the file

    def warnings(self) -> list[str]:
        if not self.failing_count:
            return []
        n = self.failing_count
        # `failing` keeps SHOWN_LINES + 1 numbers at most: enough for `_lines_named`'s "...".
        return [
            f"{_count(n, 'line was', 'lines were')} not UTF-8 and "
            f"{'was' if n == 1 else 'were'} read as cp1252: " + _lines_named(self.failing)
        ]


def choose_encoding(stream: BinaryIO, given: str | None = None) -> Encoding:
    """Decide a CSV's encoding in one pass over its bytes, block by block, as decoding the
    whole file at once would: UTF-8 (with or without BOM); UTF-16 by its BOM; UTF-8 with a few
    cp1252 lines (see `decode_by_line`); else the single-byte encoding charset-normalizer finds
    most likely in the first CHARSET_SAMPLE_BYTES (cp1252 when it cannot tell)."""
    if given:
        try:
            codecs.lookup(given)
        except LookupError as exc:
            raise FileError(f"cannot decode as {given} (from the catalogue): {exc}") from exc
        return Encoding(given, "stream", strict=True)
    stream.seek(0)
    if stream.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return Encoding("utf-16", "stream")
    stream.seek(0)
    failing: list[int] = []
    count, line, utf8_line = 0, 1, False
    for block in _blocks(stream):
        try:
            utf8_line = utf8_line or not block.decode("utf-8").isascii()
        except UnicodeDecodeError:
            found: list[int] = []
            _, beyond = _decode_lines(block.decode("utf-8", "surrogateescape"), line, found)
            utf8_line = utf8_line or beyond
            count += len(found)
            _keep_to_name(failing, found)
        line += _line_count(block)
    if not count:
        return Encoding("utf-8", "utf-8")
    if utf8_line:
        return Encoding("utf-8", "by-line", failing, count)
    stream.seek(0)
    best = charset_normalizer.from_bytes(
        stream.read(CHARSET_SAMPLE_BYTES), cp_isolation=["cp1252", "latin_1", "iso8859_15"]
    ).best()
    return Encoding(best.encoding if best else "cp1252", "stream")


def text_lines(stream: BinaryIO, encoding: Encoding) -> Iterator[str]:
    """The stream's lines as text, each with its line ending (`\n`, `\r\n` or `\r`), decoded as
    `encoding` says, with the byte-order marks at the start removed (even double-encoded ones,
    as Salford's files have)."""
    stream.seek(0)
    first = True
    if encoding.mode == "stream":
        errors = "strict" if encoding.strict else "replace"
        text = io.TextIOWrapper(stream, encoding=encoding.name, errors=errors, newline="")
        try:
            for line in text:
                if first:
                    line, first = _strip_boms(line), False
                yield line
        except UnicodeDecodeError as exc:
            raise FileError(
                f"cannot decode as {encoding.name} (from the catalogue): {exc}"
            ) from exc
        finally:
            text.detach()  # the caller closes the stream
        return
    for block in _blocks(stream):
        try:
            chunk = block.decode("utf-8")
        except UnicodeDecodeError:  # by-line: this block holds the cp1252 lines
            chunk, _ = _decode_lines(block.decode("utf-8", "surrogateescape"), 1, [])
        if first:
            chunk, first = _strip_boms(chunk), False
        yield from io.StringIO(chunk, newline="").readlines()


def _strip_boms(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for artefact in BOM_ARTEFACTS:
            if text.startswith(artefact):
                text, changed = text[len(artefact) :], True
    return text


def _check_text(text: str, data: bytes) -> None:
    sample = text[:20_000]
    if "\x00" in sample:
        what = _looks_like(data) or "binary data"
        raise FileError(f"not a text file: it contains NUL bytes (looks like {what})")
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if sample and controls / len(sample) > 0.01:
        what = _looks_like(data) or "binary data"
        raise FileError(
            f"not a text file: {controls} control characters in the first "
            f"{len(sample)} characters (looks like {what})"
        )


def sniff_delimiter(text: str) -> str:
    """The delimiter CleverCSV finds most consistent in the first lines (comma if unsure)."""
    sample = text[:SNIFF_CHARS]
    cut = sample.rfind("\n")
    if cut > 0 and len(text) > SNIFF_CHARS:
        sample = sample[:cut]
    try:
        dialect = clevercsv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except Exception:  # CleverCSV raises several types when it cannot decide
        dialect = None
    return dialect.delimiter if dialect and dialect.delimiter in DELIMITERS else ","


def _fields(line: str, delimiter: str, literal: bool = False) -> list[str]:
    """The values of one physical line read on its own (`literal`: quotes as plain
    characters)."""
    quoting = csv.QUOTE_NONE if literal else csv.QUOTE_MINIMAL
    reader = csv.reader([line.rstrip("\r\n")], delimiter=delimiter, quoting=quoting, strict=False)
    return next(reader, [])


def usual_width(lines: list[str], delimiter: str) -> int:
    """The most common number of values on a line (among the first lines with balanced quotes
    and more than one value), or 0 when there is none."""
    counts = Counter(
        len(fields)
        for line in lines[:WIDTH_SAMPLE_LINES]
        if line.count('"') % 2 == 0 and len(fields := _fields(line, delimiter)) > 1
    )
    return counts.most_common(1)[0][0] if counts else 0


def swallows_rows(continued: list[str], width: int, delimiter: str) -> bool:
    """Whether any of a record's lines after its first reads as a row of its own: the file's
    usual number of values, with its quotes read as quotes or as plain characters. A quoted
    value legitimately written over several lines (an address) has lines far narrower than a
    row; a quote that never closes (or is closed by another stray quote) runs on over rows."""
    return width > 1 and any(
        width in (len(_fields(line, delimiter)), len(_fields(line, delimiter, literal=True)))
        for line in continued
    )


def parse_csv(
    lines: list[str], delimiter: str, width: int | None = None
) -> tuple[list[list[str]], list[int], list[int], list[int]]:
    """Parse the lines into (records, first line of each, last line of each, lines with a quote
    that never closes). A record that swallows whole rows after its first line (see
    `swallows_rows`; `width` is the file's usual number of values, worked out from `lines` when
    not given) is read instead from its first line alone with quotes as plain characters, and
    reading starts again on the next line."""
    records: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    unclosed: list[int] = []
    offset = 0  # lines before the one the current reader started on
    while offset < len(lines):
        reader = csv.reader(
            itertools.islice(lines, offset, None),
            delimiter=delimiter,
            quotechar='"',
            doublequote=True,
            strict=False,
        )
        previous = offset
        try:
            for record in reader:
                start, end = previous + 1, offset + reader.line_num
                if end > start:
                    width = usual_width(lines, delimiter) if width is None else width
                    if swallows_rows(lines[start:end], width, delimiter):
                        records.append(_fields(lines[start - 1], delimiter, literal=True))
                        starts.append(start)
                        ends.append(start)
                        unclosed.append(start)
                        offset = start
                        break
                records.append(record)
                starts.append(start)
                ends.append(end)
                previous = end
            else:
                break
        except csv.Error as exc:
            raise FileError(f"CSV cannot be parsed after line {previous}: {exc}") from exc
    return records, starts, ends, unclosed


def _open(data: bytes | Path) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115


def read_csv(
    data: bytes | Path, options: ReadOptions, chunk_lines: int | None = None
) -> Iterator[Part]:
    """Parse a CSV (its bytes, or its path: streamed from disk) into Parts whose records
    remember the line they started on: one Part, or with `chunk_lines` one per that many lines
    (a record is never split between two). Warnings about the whole file (cp1252 lines, quotes
    never closed) come with the last Part."""
    with _open(data) as stream:
        head = stream.read(64)
        looks = _looks_like(head)
        if looks and looks != "an HTML page":
            raise FileError(f"not a CSV file: it looks like {looks}")
        encoding = choose_encoding(stream, options.encoding)
        lines_of = text_lines(stream, encoding)
        # The first chunk holds at least the lines the usual width is worked out from.
        first = None if chunk_lines is None else max(chunk_lines, WIDTH_SAMPLE_LINES)
        lines = list(itertools.islice(lines_of, first))
        head_text = ""
        for line in lines:
            if len(head_text) > HEAD_CHARS:
                break
            head_text += line
        _check_text(head_text, head)
        if looks == "an HTML page":
            raise FileError("not a CSV file: it is an HTML page (an error page saved as data?)")
        delimiter = options.delimiter or sniff_delimiter(head_text)
        width = usual_width(lines, delimiter)
        unclosed: list[int] = []  # the first few lines with a quote never closed, to name
        unclosed_count = 0  # and how many (a file may have millions)
        before = 0  # lines of the file before `lines`
        continued = False
        while lines:
            following = next(lines_of, None) if chunk_lines else None
            records, starts, ends, open_quotes = parse_csv(lines, delimiter, width)
            keep = len(lines)
            if following is not None:
                # The last record may go on in the lines not read yet: read it with them.
                keep = starts[-1] - 1
                if keep == 0:  # one record longer than a chunk (a long quoted value): read on
                    lines += [following, *itertools.islice(lines_of, chunk_lines - 1)]
                    continue
                del starts[-1], records[-1], ends[-1]
                if open_quotes and open_quotes[-1] == keep + 1:
                    open_quotes.pop()
            unclosed_count += len(open_quotes)
            _keep_to_name(unclosed, [before + n for n in open_quotes])
            warnings = []
            if following is None:
                warnings = encoding.warnings()
                if unclosed:
                    warnings.append(
                        f"{_count(unclosed_count, 'line has', 'lines have')} a quote that is "
                        "never closed (it would swallow the lines after it); read with the "
                        "quote as a plain character: " + _lines_named(unclosed)
                    )
            rows = [before + n for n in starts]
            yield Part(
                "", records, rows, encoding.name, delimiter, warnings, continued,
                _lines=lines[:keep], _ends=ends, _first_line=before + 1,
            )  # fmt: skip
            if following is None:
                return
            continued = True
            before += keep
            rest = lines[keep:]
            del records, rows, starts, ends, lines
            more = max(chunk_lines - len(rest) - 1, 0)
            lines = [*rest, following, *itertools.islice(lines_of, more)]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_xlsx(data: bytes, options: ReadOptions, prefix: str = "") -> Iterator[Part]:
    """One Part per selected sheet; cells become text, dates ISO text.

    Read with calamine (Rust): about five times faster than openpyxl's read-only mode on
    the same workbooks, with the same cell values (cached results of formulas, dates as
    dates). Rows are counted from A1, so row numbers are the sheet's own.
    """
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.CalamineError as exc:
        looks = _looks_like(data)
        hint = f" (it looks like {looks})" if looks and "zip" not in looks else ""
        raise FileError(f"not a readable XLSX workbook{hint}: {exc}") from exc
    try:
        names = [n for n in book.sheet_names if any(fnmatch.fnmatch(n, g) for g in options.sheets)]
        if not names:
            raise FileError(f"no sheet matches {list(options.sheets)}; sheets: {book.sheet_names}")
        for sheet in names:
            try:
                rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except python_calamine.CalamineError as exc:
                raise FileError(f"sheet {sheet!r} cannot be read: {exc}") from exc
            records = [[_cell_text(v) for v in row] for row in rows]
            yield Part(prefix + sheet, records, list(range(1, len(records) + 1)))
    finally:
        book.close()


def read_zip(data: bytes, options: ReadOptions, chunk_lines: int | None = None) -> Iterator[Part]:
    """One Part per selected member (or per sheet of a workbook member).

    Members are read in memory, never extracted, and refused when they would expand beyond
    MAX_MEMBER_BYTES or by more than MAX_COMPRESSION_RATIO.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileError(f"not a readable zip archive: {exc}") from exc
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and any(fnmatch.fnmatch(PurePosixPath(m.filename).name, g) for g in options.members)
        ]
        if not members:
            raise FileError(
                f"no member matches {list(options.members)}; members: "
                f"{[m.filename for m in archive.infolist()]}"
            )
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > MAX_MEMBER_BYTES or ratio > MAX_COMPRESSION_RATIO:
                raise FileError(
                    f"zip member {member.filename!r} would expand to "
                    f"{member.file_size:,} bytes ({ratio:.0f}x): refused"
                )
            try:
                content = archive.read(member)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise FileError(f"zip member {member.filename!r} is damaged: {exc}") from exc
            if detect_format(member.filename, ReadOptions()) == "xlsx":
                yield from read_xlsx(content, options, prefix=member.filename + "#")
            else:
                for part in read_csv(content, options, chunk_lines):
                    part.name = member.filename
                    yield part
