"""Contract notices published as OCDS 1.1 (Contracts Finder, Find a Tender).

Reading: every OCDS shape, told apart by content, never by name: a release package (top-level
`releases`, no `ocid`), a record package (`records`), a bare release (`ocid`, no record keys), a
bare record (`ocid` with `releases`, `compiledRelease` or `versionedRelease`; no `id`), JSON Lines
of any of these (one value a line: recognised when the first line is a whole JSON value and
more follows, or by the name .jsonl/.ndjson), and a zip of any of them (by its signature; each
member read by its content, its name kept as the part). Packages' and records' items are
streamed with ijson, so a file is never loaded whole. A record gives its embedded releases,
else its `compiledRelease`; a record whose releases are only linked (`{url, date, tag}`)
cannot be read offline and is quarantined with that reason. A release that is not an object or
has no `ocid` is quarantined with its JSON and the reason; malformed JSON fails the file with
the position ijson reports (a bad JSON Lines line is quarantined alone).

Compiling the releases into events, notices and contracts: `oversight.ingest.ocds_compile`.
"""

from __future__ import annotations

import fnmatch
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import ijson

from oversight.ingest.readers import MAX_COMPRESSION_RATIO, MAX_MEMBER_BYTES, FileError


@dataclass
class Item:
    """One release read from a file, or the reason it could not be used."""

    row_number: int
    release: dict | None
    raw_text: str
    reason: str | None = None
    part: str = ""  # the zip member it came from


MAX_DEPTH = 64  # OCDS releases nest about 8 levels; far deeper is damage or an attack


def _depth(obj: Any) -> int:
    """How deeply a JSON value nests (iteratively: a 10,000-deep value must not recurse)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _check(n: int, obj: Any, raw: str | None = None) -> Item:
    if _depth(obj) > MAX_DEPTH:
        shown = raw[:2000] if raw is not None else "(not shown: nested too deeply to print)"
        return Item(n, None, shown, f"nested more than {MAX_DEPTH} levels deep")
    raw = raw if raw is not None else json.dumps(obj, ensure_ascii=False, default=str)
    if not isinstance(obj, dict):
        return Item(n, None, raw, f"not a JSON object but {type(obj).__name__}")
    ocid = obj.get("ocid")
    if not isinstance(ocid, str) or not ocid.strip():
        return Item(n, None, raw, "release has no ocid")
    return Item(n, obj, raw)


BOM = b"\xef\xbb\xbf"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
SNIFF_BYTES = 4 << 20  # how much is read to tell JSON Lines from one JSON document
RECORD_KEYS = ("releases", "compiledRelease", "compiledRecord", "versionedRelease")
NOT_OCDS = "not an OCDS release or record package: no 'releases' or 'records'"
LINKED = (
    "record {ocid} lists {which} only as links (url); they cannot be read offline: fetch the "
    "releases (or a release package) instead"
)
NO_RELEASES = "record has no embedded releases and no compiledRecord"

Opener = Callable[[], IO[bytes]]
_KINDS = {"start_map": "an object", "string": "a string", "number": "a number",
          "boolean": "true or false", "null": "null"}  # fmt: skip


def _skip_bom(f: IO[bytes]) -> IO[bytes]:
    """The stream, past a UTF-8 byte-order mark if it starts with one (Windows tools write one;
    JSON parsers refuse it)."""
    if f.peek(3)[:3] == BOM:  # type: ignore[attr-defined]  (BufferedReader, ZipExtFile)
        f.read(3)
    return f


def _is_link(value: Any) -> bool:
    """A linked release (`{url, date, tag}`): a record's pointer to a release published
    elsewhere."""
    return isinstance(value, dict) and "url" in value and "ocid" not in value


def _linked(n: int, ocid: Any, links: list, embedded: bool, raw: str) -> Item:
    which = f"{len(links)} of its releases" if embedded else "its releases"
    name = _as_text(ocid) or "(no ocid)"
    return Item(n, None, raw[:20000], LINKED.format(ocid=name, which=which))


def _record(n: int, record: Any) -> Iterator[Item]:
    """The releases of one record held in memory: its embedded releases, else its
    compiledRelease; a record with only linked releases is quarantined with that reason."""
    if not isinstance(record, dict):
        yield _check(n, record)
        return
    listed = record.get("releases") if isinstance(record.get("releases"), list) else []
    links = [r for r in listed if _is_link(r)]
    embedded = [r for r in listed if not _is_link(r)]
    for release in embedded:
        yield _check(n, release)
    compiled = record.get("compiledRelease", record.get("compiledRecord"))
    if embedded and not links:
        return
    raw = json.dumps(record, ensure_ascii=False, default=str)
    if links and (embedded or not isinstance(compiled, dict)):
        yield _linked(n, record.get("ocid"), links, bool(embedded), raw)
    elif isinstance(compiled, dict):
        yield _check(n, compiled)
    else:
        yield Item(n, None, raw[:20000], NO_RELEASES)


def _value(n: int, obj: Any, raw: str | None = None) -> Iterator[Item]:
    """The releases of one JSON value of any shape held in memory (a JSON Lines line):
    a release package, a record package, a record or a release."""
    if isinstance(obj, dict) and "ocid" not in obj:
        if isinstance(obj.get("records"), list):
            for record in obj["records"]:
                yield from _record(n, record)
            return
        if isinstance(obj.get("releases"), list):
            for release in obj["releases"]:
                yield _check(n, release)
            return
    if isinstance(obj, dict) and any(k in obj for k in RECORD_KEYS):
        yield from _record(n, obj)
        return
    yield _check(n, obj, raw)


def _read_lines(open_: Opener) -> Iterator[Item]:
    """JSON Lines: one value a line (a release, a record or a whole package); a bad line is
    quarantined and the rest read."""
    with open_() as f:
        for n, line in enumerate(f, start=1):
            text = line.decode("utf-8-sig", errors="replace").strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Item(n, None, text, f"malformed JSON: {exc}")
                continue
            except RecursionError:
                yield Item(n, None, text[:2000], f"nested more than {MAX_DEPTH} levels deep")
                continue
            yield from _value(n, obj, text)


def _sniff(open_: Opener) -> str:
    """What one JSON document holds, from its top-level keys, read only as far as needed:

    - `records` first: a record package (its records are streamed);
    - `releases` after `ocid`: a record (its releases are streamed);
    - `releases` before any `ocid`: "releases", a release package or a record whose `ocid`
      comes later (streamed alike; told apart at the end if it matters);
    - neither: the whole object is seen; with `ocid` it is a record if it has `releases`,
      `compiledRelease` or `versionedRelease` (a record has no `id`), else a release.
    """
    keys: list[str] = []
    with open_() as f:
        events = ijson.parse(f, use_float=True)
        try:
            for prefix, event, value in events:
                if prefix != "":
                    continue
                if event == "start_array":
                    raise FileError(
                        "not an OCDS package: the file is a JSON array, expected an object "
                        "(a release or record package, a release or a record)"
                    )
                if event not in ("start_map", "map_key", "end_map"):
                    raise FileError(f"not OCDS: the file is {_KINDS.get(event, event)}")
                if event == "end_map":
                    break
                if event == "map_key":
                    keys.append(value)
                    if value in ("records", "releases"):
                        _, kind, _ = next(events)
                        if kind != "start_array":
                            raise FileError(
                                f"not OCDS: '{value}' is {_KINDS.get(kind, kind)}, not an array"
                            )
                        if value == "records":
                            return "record package"
                        return "record" if "ocid" in keys else "releases"
        except ijson.JSONError as exc:
            raise FileError(f"malformed JSON: {exc}") from exc
    if "ocid" in keys:
        return "whole"
    raise FileError(f"{NOT_OCDS} (top-level keys: {keys[:12]})")


def _top_values(open_: Opener, wanted: tuple[str, ...]) -> dict[str, Any]:
    """The values of some top-level keys of a document (another pass, building only those)."""
    found: dict[str, Any] = {}
    builder, key = None, None
    with open_() as f:
        try:
            for prefix, event, value in ijson.parse(f, use_float=True):
                if builder is not None:
                    builder.event(event, value)
                    if prefix == key and event in ("end_map", "end_array"):
                        found[key], builder = builder.value, None
                elif prefix == "" and event == "map_key":
                    key = value
                elif prefix == key and key in wanted and event != "map_key":
                    if event in ("start_map", "start_array"):
                        builder = ijson.ObjectBuilder()
                        builder.event(event, value)
                    else:
                        found[key] = value
        except ijson.JSONError as exc:
            raise FileError(f"malformed JSON: {exc}") from exc
    return found


def _malformed(exc: Exception, after: str | None = None) -> FileError:
    hint = (
        " (the file holds more than one JSON value: JSON Lines need one value a line; name "
        "the file .jsonl or set read: {format: jsonl})"
        if "trailing garbage" in str(exc) or "Additional data" in str(exc)
        else ""
    )
    return FileError(f"malformed JSON{f' after {after}' if after else ''}: {exc}{hint}")


def _read_document(open_: Opener) -> Iterator[Item]:
    """One JSON document of any OCDS shape. Packages and records are streamed item by item
    (ijson); a bare release, or a record without embedded releases, is one small object."""
    shape = _sniff(open_)
    if shape == "whole":
        with open_() as f:
            try:
                (obj,) = list(ijson.items(f, "", use_float=True))
            except ijson.JSONError as exc:
                raise _malformed(exc) from exc
        yield from _value(1, obj)
        return
    prefix = "records.item" if shape == "record package" else "releases.item"
    n, embedded, links = 0, 0, []
    with open_() as f:
        try:
            for obj in ijson.items(f, prefix, use_float=True):
                n += 1
                if shape == "record package":
                    yield from _record(n, obj)
                elif _is_link(obj):
                    links.append((n, obj))  # kept (small) until the shape is known
                else:
                    embedded += 1
                    yield _check(n, obj)
        except ijson.JSONError as exc:
            raise _malformed(exc, f"{n} {prefix.split('.')[0]}") from exc
    if shape == "record package" or (embedded and not links):
        return
    # Linked or no releases: a record falls back on its compiledRelease; a package's links
    # are releases without an ocid.
    top = _top_values(open_, ("ocid", "compiledRelease", "compiledRecord"))
    if "ocid" not in top:
        for row, obj in links:
            yield _check(row, obj)
        return
    compiled = top.get("compiledRelease", top.get("compiledRecord"))
    raw = json.dumps({"ocid": top["ocid"], "releases": [obj for _, obj in links]})
    if links and (embedded or not isinstance(compiled, dict)):
        yield _linked(links[0][0], top["ocid"], [obj for _, obj in links], bool(embedded), raw)
    elif isinstance(compiled, dict):
        yield _check(1, compiled)
    else:
        yield Item(1, None, raw, NO_RELEASES)


def _looks_like_lines(open_: Opener) -> bool:
    """JSON Lines by content: the first line is a whole JSON value and more follows it."""
    with open_() as f:
        head = f.read(SNIFF_BYTES).lstrip()
    end = head.find(b"\n")
    if end < 0 or not head[end:].strip():
        return False
    try:
        json.loads(head[:end].decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return True


def _read(open_: Opener, fmt: str) -> Iterator[Item]:
    return _read_lines(open_) if fmt == "jsonl" else _read_document(open_)


def _member_wanted(name: str, members: tuple[str, ...] | None) -> bool:
    base = PurePosixPath(name).name
    if members is not None:
        return any(fnmatch.fnmatch(base, g) for g in members)
    return not name.startswith("__MACOSX/") and not base.startswith(".")


def _read_zip(path: Path, members: tuple[str, ...] | None) -> Iterator[Item]:
    """Each member read by its content (any shape, JSON or JSON Lines), its items carrying the
    member's name as their part. Members are streamed from the archive, never extracted, and
    refused when they would expand beyond MAX_MEMBER_BYTES or MAX_COMPRESSION_RATIO times."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(f"not a readable zip archive: {exc}") from exc
    with archive:
        infos = [
            m for m in archive.infolist() if not m.is_dir() and _member_wanted(m.filename, members)
        ]
        if not infos:
            raise FileError(
                f"no member to read{f' matches {list(members)}' if members else ''}; members: "
                f"{[m.filename for m in archive.infolist()][:20]}"
            )
        for info in infos:
            name = info.filename
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > MAX_MEMBER_BYTES or ratio > MAX_COMPRESSION_RATIO:
                raise FileError(
                    f"zip member {name!r} would expand to {info.file_size:,} bytes "
                    f"({ratio:.0f}x): refused"
                )

            def open_member(info: zipfile.ZipInfo = info) -> IO[bytes]:
                return _skip_bom(archive.open(info))

            try:
                with open_member() as f:
                    if f.read(4) in ZIP_MAGIC:
                        raise FileError("a zip inside the zip: not read")
                fmt = file_format(name, None)
                if fmt == "json" and _looks_like_lines(open_member):
                    fmt = "jsonl"
                for item in _read(open_member, fmt):
                    item.part = name
                    yield item
            except FileError as exc:
                raise FileError(f"zip member {name!r}: {exc}") from exc
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise FileError(f"zip member {name!r} is damaged: {exc}") from exc


def detect_format(path: Path, fmt: str) -> str:
    """The file's format by its content: "zip" (by its signature), "jsonl" (one JSON value a
    line, whatever the name says), else `fmt` (from the name or the catalogue)."""
    with path.open("rb") as f:
        if f.read(4) in ZIP_MAGIC:
            return "zip"
    if fmt != "jsonl" and _looks_like_lines(lambda: _skip_bom(path.open("rb"))):
        return "jsonl"
    return fmt


def iter_items(path: Path, fmt: str, members: tuple[str, ...] | None = None) -> Iterator[Item]:
    """Stream the releases of a file of any OCDS shape: a release package, a record package, a
    release, a record, JSON Lines of any of these (`fmt` "jsonl"), or a zip of any of these
    (`fmt` "zip"; `members`: globs of the members to read, else all but hidden ones). The
    shape is read from the content, not the name."""
    if fmt == "zip":
        yield from _read_zip(path, members)
        return
    yield from _read(lambda: _skip_bom(path.open("rb")), fmt)


def file_format(name: str, override: str | None) -> str:
    if override in ("json", "jsonl"):
        return override
    return "jsonl" if name.lower().endswith((".jsonl", ".ndjson")) else "json"


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
