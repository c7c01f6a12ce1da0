"""The source catalogue: which publishers' files to read, how to read them, and how their
columns map onto the canonical tables. It is YAML written by people, so it is validated strictly
and every error names the source and the key.

A catalogue file looks like::

    raw_dir: ../data/raw            # relative to this file; OVERSIGHT_RAW_DIR overrides it
    layouts_file: layouts.yaml      # shared column layouts (optional)
    sources:
      - id: northmoor-spend
        publisher: Northmoor City Council
        kind: spend
        folder: northmoor/spend
        files: ["*.csv"]
        layout: salford-spend
        values: {placeholders: [Various]}
"""

from __future__ import annotations

import difflib
import hashlib
import json
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from oversight.core import settings
from oversight.core.schema import COLUMNS, REQUIRED, Kind

# The code that turns files into rows: when any of it changes, every file is read again.
# (Paths under `oversight/`: a name, not an import, so the core imports no layer above it.)
PARSER_MODULES = (
    "ingest/readers.py",
    "ingest/mapping.py",
    "ingest/tabular.py",
    "ingest/ocds.py",
    "ingest/ocds_compile.py",
    "ingest/notices.py",
    "core/schema.py",
    "core/macros.sql",
)


def _parser_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in PARSER_MODULES:
        digest.update((Path(__file__).parents[1] / name).read_bytes())
    return digest.hexdigest()[:12]


PARSER_VERSION = _parser_fingerprint()

DEFAULT_PLACEHOLDERS = (
    "",
    "X",
    "TBC",
    "TBA",
    "-",
    "--",
    "N/A",
    "NA",
    "#N/A",
    "None",
    "Null",
    "nil",
    "Not applicable",
    "Not known",
    "Unknown",
    "?",
)
DEFAULT_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%A, %B %d, %Y",
    "%d/%m/%y",
    "%d-%m-%y",
    "%d.%m.%y",
    "%d %b %y",
)
DEFAULT_TRUE = ("yes", "y", "true", "t", "1")
DEFAULT_FALSE = ("no", "n", "false", "f", "0")


class CatalogueError(ValueError):
    """The catalogue cannot be used; the message lists every problem found."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadOptions(_Strict):
    """How to read a source's files, for what cannot be detected."""

    format: Literal["csv", "xlsx", "zip", "json", "jsonl"] | None = Field(
        None, description="File format; by default taken from the file extension"
    )
    encoding: str | None = Field(None, description="Text encoding; detected when absent")
    delimiter: str | None = Field(None, description="CSV delimiter; sniffed when absent")
    header_row: int | None = Field(
        None, ge=1, description="1-based row of the header; detected when absent"
    )
    sheets: tuple[str, ...] = Field(("*",), description="XLSX sheet names to read (globs)")
    members: tuple[str, ...] = Field(("*.csv", "*.xlsx"), description="Zip members to read")
    values_beyond_header: Literal["quarantine", "ignore"] = Field(
        "quarantine",
        description="A row with values in columns the header does not name: quarantined, or "
        "(ignore) loaded without them, the file's warnings saying how many. Values there that "
        "are all empty or placeholders (#N/A) are ignored either way",
    )


class ValueRules(_Strict):
    """How published text becomes values."""

    date_formats: tuple[str, ...] = Field(
        DEFAULT_DATE_FORMATS,
        min_length=1,
        description="strptime formats tried in order; formats with a four-digit year (%Y) "
        "first, then two-digit ones (%y: 00-68 is 20xx, 69-99 is 19xx)",
    )
    excel_serial_dates: bool = True
    period_format: Literal["financial_year", "calendar"] = Field(
        "financial_year",
        description="How a `payment_period` column reads: financial_year: YYYYPP with period 1 "
        "= April (202205 = August 2022); calendar: YYYYMM",
    )
    date_from_name: str | None = Field(
        None,
        description="A regular expression with groups named year and month, matched against "
        "a file's path: the payment date of a row whose date is empty or a bare time (and "
        "that has no period) is the first day of that month. Recorded in parse_issues",
    )
    placeholders: tuple[str, ...] = Field((), description="Added to the default placeholders")
    true_values: tuple[str, ...] = Field((), description="Added to the default yes spellings")
    false_values: tuple[str, ...] = Field((), description="Added to the default no spellings")

    @field_validator("date_from_name")
    @classmethod
    def _year_and_month(cls, value: str | None) -> str | None:
        if value is not None and not {"year", "month"} <= set(re.compile(value).groupindex):
            raise ValueError(
                f"date_from_name {value!r} needs groups named year and month: "
                "'(?P<year>\\d{4})-(?P<month>\\d{2})'"
            )
        return value

    def date_fallback(self, mapped: Iterable[str]) -> bool:
        """Whether a spend row's payment date can come from elsewhere than its own column."""
        return self.date_from_name is not None or "payment_period" in mapped

    @property
    def all_placeholders(self) -> list[str]:
        return sorted({p.strip().lower() for p in (*DEFAULT_PLACEHOLDERS, *self.placeholders)})

    @property
    def all_true(self) -> list[str]:
        return sorted({v.strip().lower() for v in (*DEFAULT_TRUE, *self.true_values)})

    @property
    def all_false(self) -> list[str]:
        return sorted({v.strip().lower() for v in (*DEFAULT_FALSE, *self.false_values)})


class FetchSpec(_Strict):
    """How to download the source's new files (off unless `enabled: true`)."""

    enabled: bool = False
    urls: tuple[str, ...] = Field((), description="Files to fetch, by URL")
    url_template: str | None = Field(
        None, description="A monthly URL, e.g. https://x.gov.uk/spend-{year}-{month:02d}.csv"
    )
    since: str | None = Field(None, description="First month (YYYY-MM) or date (YYYY-MM-DD)")
    api: Literal["contracts_finder", "find_a_tender"] | None = None
    base_url: str | None = Field(None, description="The API's address, if not the public one")
    # The API settings below default (None) to each service's real behaviour, as OCP's Kingfisher
    # Collect reads it (oversight/fetch/fetch.py, API_DEFAULTS).
    window_days: float | None = Field(
        None,
        gt=0,
        description="An API's date window in days (default: Find a Tender 0.25, a quarter day; "
        "Contracts Finder 15)",
    )
    min_window_minutes: float | None = Field(
        None,
        gt=0,
        description="A window whose answer looks cut short (a full last page and no next link) "
        "is split in halves down to this length (default: Find a Tender 15, Contracts Finder "
        "1440, a day: it takes dates only)",
    )
    delay: float | None = Field(
        None, ge=0, description="Seconds between an API's requests (Find a Tender 10, CF 0)"
    )
    throttle_wait: float | None = Field(
        None,
        ge=0,
        description="Seconds to wait after a throttling answer that has no Retry-After "
        "(Find a Tender's 429: 120; Contracts Finder's 403: 300)",
    )
    throttle_retries: int = Field(
        5, ge=0, description="Waits after throttling answers before a page is given up"
    )
    encoding: str | None = Field(
        None,
        description="Encoding of an API's pages that are not UTF-8 (Contracts Finder: "
        "iso-8859-1); pages are written as UTF-8",
    )
    page_size: int = Field(100, ge=1)
    max_requests: int | None = Field(None, ge=1, description="Rate limit: requests...")
    per_seconds: float | None = Field(None, gt=0, description="...per this many seconds")
    max_bytes: int = Field(500_000_000, ge=1)
    connect_timeout: float = Field(10, gt=0)
    read_timeout: float = Field(60, gt=0)
    total_timeout: float = Field(
        1800, gt=0, description="Seconds one download may take in all, its retries included"
    )
    allowed_hosts: tuple[str, ...] = Field(
        (), description="Hosts that redirects and next links may lead to, besides the URLs' own"
    )
    attempts: int = Field(3, ge=1, description="Tries for a body that stalls or is cut short")
    retries: int = Field(4, ge=0, description="Retries of 429 and 5xx answers")
    backoff: float = Field(1.0, ge=0)

    @field_validator("since", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        """`since: 2025-02-24` unquoted: YAML reads a date, kept as its ISO text."""
        return value.isoformat() if hasattr(value, "isoformat") else value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}") from None
        return value


ColumnMap = dict[str, tuple[str, ...]]


def _as_spellings(value: Any) -> Any:
    """Allow `column: "Header"` as shorthand for `column: ["Header"]`."""
    if isinstance(value, dict):
        return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
    return value


class Layout(_Strict):
    """A column layout shared by publishers that use the same template or software."""

    kind: Kind
    columns: ColumnMap

    _spellings = field_validator("columns", mode="before")(_as_spellings)


class Source(_Strict):
    """One publisher's dataset."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    publisher: str = Field(min_length=1)
    kind: Kind
    folder: str
    files: tuple[str, ...] = Field(min_length=1, description="Globs under the folder")
    layout: str | None = None
    threshold: float | None = Field(
        None,
        ge=0,
        description="Publication threshold in pounds (500 for councils' spend, "
        "25000 for departments'); payment lines are summed by transaction before it is checked",
    )
    snapshots: bool = Field(
        False,
        description="Each file is a snapshot of the whole register, and files sort by date "
        "(2022-07.csv, 2022-10.csv): a contract's rows in the latest snapshot that lists it "
        "replace its earlier rows; a contract missing from the latest snapshot is kept, "
        "marked no_longer_listed",
    )
    period_from_name: str | None = Field(
        None,
        description="A regular expression whose first group is the period a file covers, "
        "read from its path (spend: '(\\d{4}-\\d{2})'). Files that cover the same period "
        "are one publication republished: the one whose name adds most to the original "
        "(2025-09-corrected.csv, 2025-09-v2.csv after 2025-09.csv) supersedes the others, "
        "whose rows stay in staging but are not linked or counted",
    )
    multi_buyer: bool = Field(
        False,
        description="A register listing several buyers' contracts (a shared-service or "
        "framework register): its mapped buyer column is the buyer. Otherwise the buyer of "
        "every entry is the publisher, and a buyer column is kept as purchasing_body",
    )
    outside_raw_dir: bool = Field(
        False,
        description="Allow `folder` to be outside the raw folder (an absolute path, or one "
        "that climbs out with '..'). Off by default: a source reads only beneath the raw "
        "folder, and a file there that is a link to somewhere else is refused",
    )
    columns: ColumnMap = Field(default_factory=dict)
    read: ReadOptions = ReadOptions()
    values: ValueRules = ValueRules()
    fetch: FetchSpec | None = None

    _spellings = field_validator("columns", mode="before")(_as_spellings)

    @field_validator("files")
    @classmethod
    def _globs_stay_in_the_folder(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for glob in value:
            if PurePosixPath(glob).is_absolute() or ".." in PurePosixPath(glob).parts:
                raise ValueError(f"files {glob!r} must name files under the folder (no '..')")
        return value

    @model_validator(mode="after")
    def _folder_stays_in_the_raw_dir(self) -> Source:
        folder = PurePosixPath(self.folder)
        climbs = posixpath.normpath(self.folder).split("/")[0] == ".."
        if (folder.is_absolute() or climbs) and not self.outside_raw_dir:
            raise ValueError(
                f"folder {self.folder!r} is outside the raw folder; a source reads only "
                "beneath it unless it sets `outside_raw_dir: true`"
            )
        return self

    @field_validator("files", mode="before")
    @classmethod
    def _one_glob(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("period_from_name")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None and re.compile(value).groups < 1:
            raise ValueError(f"period_from_name {value!r} needs a group: (\\d{{4}}-\\d{{2}})")
        return value


class InvalidEntry(_Strict):
    """A catalogue entry with errors: left out of the run, reported with its problems. `id`
    is its id when that much is valid (its partition then fails with the problems)."""

    id: str | None
    problems: tuple[str, ...]


class Catalogue(_Strict):
    """A validated catalogue: the sources with their layouts resolved, and the entries that
    could not be used (`invalid`), each with why."""

    path: Path
    raw_dir: Path
    sources: tuple[Source, ...]
    columns: dict[str, ColumnMap]
    invalid: tuple[InvalidEntry, ...] = ()

    @property
    def partition_ids(self) -> list[str]:
        """Every source id: the valid sources', then those of invalid entries (their
        partitions fail with the problems, so that the UI shows them)."""
        ids = [s.id for s in self.sources]
        return ids + [e.id for e in self.invalid if e.id and e.id not in ids]

    def problems_of(self, source_id: str) -> list[str]:
        return [p for e in self.invalid if e.id == source_id for p in e.problems]

    def report(self) -> str:
        """The invalid entries, one problem per line (empty when there are none)."""
        if not self.invalid:
            return ""
        lines = [
            f"{len(self.invalid)} catalogue entries are invalid and were skipped ({self.path}):"
        ]
        lines += [f"  {p}" for e in self.invalid for p in e.problems]
        return "\n".join(lines)

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(f"no source {source_id!r} in {self.path}")

    def source_columns(self, source_id: str) -> ColumnMap:
        """Canonical column -> accepted header spellings, layout and overrides merged."""
        return self.columns[source_id]

    def config_hash(self, source_id: str) -> str:
        """Fingerprint of everything that decides how this source's files are read."""
        src = self.source(source_id)
        payload = {
            "parser": PARSER_VERSION,
            "source": src.model_dump(mode="json", exclude={"publisher", "fetch"}),
            "publisher": src.publisher,
            "columns": self.columns[source_id],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def required_columns(source: Source, mapped: Iterable[str]) -> tuple[str, ...]:
    """The columns a source's header must have: its kind's required columns, less the payment
    date when the source says where else the date comes from (a period, the file name)."""
    fallback = source.values.date_fallback(mapped)
    return tuple(c for c in REQUIRED[source.kind] if not (c == "payment_date" and fallback))


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(errors: ValidationError, model: type[BaseModel], where: str) -> list[str]:
    """Turn pydantic errors into one readable line each, naming the source and key."""
    lines = []
    for err in errors.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            parent: Any = model
            for part in loc[:-1]:
                field = parent.model_fields.get(part) if hasattr(parent, "model_fields") else None
                parent = field.annotation if field else None
            known = list(parent.model_fields) if hasattr(parent, "model_fields") else []
            lines.append(f"{where}: unknown key {key!r}{_suggest(loc[-1], known)}")
        elif err["type"] == "missing":
            lines.append(f"{where}: missing required key {key!r}")
        else:
            lines.append(f"{where}: key {key!r}: {err['msg']} (got {err.get('input')!r})")
    return lines


def _check_columns(where: str, kind: str, columns: ColumnMap) -> list[str]:
    canonical = [c.name for c in COLUMNS[kind]]
    problems = [
        f"{where}: unknown canonical column {name!r} for kind {kind}{_suggest(name, canonical)}"
        for name in columns
        if name not in canonical
    ]
    problems += [
        f"{where}: column {name!r} lists no header spellings"
        for name, spellings in columns.items()
        if not [s for s in spellings if str(s).strip()]
    ]
    return problems


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"catalogue file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from exc


def load_catalogue(path: Path | str | None = None, *, strict: bool = True) -> Catalogue:
    """Read and validate a catalogue file (default: `settings.catalogue_path()`).

    Raises CatalogueError listing every problem, each naming its source and key. With
    `strict=False` (the pipeline) a source entry with problems is left out and listed in
    `Catalogue.invalid` instead, so the other sources still run; only a catalogue that cannot
    be read at all (not YAML, unknown top-level keys, no sources list) raises.
    """
    path = Path(path) if path else settings.catalogue_path()
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise CatalogueError(f"{path}: expected a mapping with a 'sources' list")
    problems: list[str] = []
    allowed = {"raw_dir", "layouts_file", "layouts", "sources"}
    problems += [
        f"{path}: unknown top-level key {k!r}{_suggest(k, sorted(allowed))}"
        for k in doc
        if k not in allowed
    ]

    layouts_doc: dict[str, Any] = {}
    if doc.get("layouts_file"):
        included = _read_yaml(path.parent / doc["layouts_file"]) or {}
        layouts_doc.update(included.get("layouts", included))
    layouts_doc.update(doc.get("layouts") or {})
    # A layout with problems makes only the sources that use it invalid.
    layouts: dict[str, Layout] = {}
    layout_problems: dict[str, list[str]] = {}
    for name, body in layouts_doc.items():
        try:
            layout = Layout.model_validate(body)
        except ValidationError as exc:
            layout_problems[name] = _describe(exc, Layout, f"layout {name!r}")
            continue
        found = _check_columns(f"layout {name!r}", layout.kind, layout.columns)
        if found:
            layout_problems[name] = found
        else:
            layouts[name] = layout

    sources: list[Source] = []
    columns: dict[str, ColumnMap] = {}
    invalid: list[InvalidEntry] = []
    raw_sources = doc.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        problems.append(f"{path}: 'sources' must be a non-empty list")
        raw_sources = []
    fatal = list(problems)  # so far: problems of the whole file, not of one entry
    for i, body in enumerate(raw_sources):
        name = body.get("id") if isinstance(body, dict) else None
        where = f"source {name!r}" if name else f"sources[{i}]"
        before = len(problems)
        valid_id = isinstance(name, str) and bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name))
        src = _check_source(body, where, layouts, layout_problems, problems, columns)
        if len(problems) > before or src is None:
            invalid.append(
                InvalidEntry(id=name if valid_id else None, problems=tuple(problems[before:]))
            )
            continue
        sources.append(src)
        columns[src.id] = _merged(src, layouts)

    if fatal or (problems and strict) or (not sources and not invalid):
        raise CatalogueError("invalid catalogue " + str(path) + ":\n  " + "\n  ".join(problems))
    raw_dir = settings.raw_dir_override() or (path.parent / doc.get("raw_dir", ".")).resolve()
    return Catalogue(
        path=path,
        raw_dir=raw_dir,
        sources=tuple(sources),
        columns=columns,
        invalid=tuple(invalid),
    )


def _merged(src: Source, layouts: dict[str, Layout]) -> ColumnMap:
    """A source's columns: its layout's, then its own overrides."""
    merged: ColumnMap = {}
    if src.layout:
        merged.update(layouts[src.layout].columns)
    merged.update(src.columns)
    return merged


def _check_source(
    body: Any,
    where: str,
    layouts: dict[str, Layout],
    layout_problems: dict[str, list[str]],
    problems: list[str],
    columns: dict[str, ColumnMap],
) -> Source | None:
    """Validate one source entry, appending its problems; the Source when it parses."""
    try:
        src = Source.model_validate(body)
    except ValidationError as exc:
        problems += _describe(exc, Source, where)
        return None
    merged: ColumnMap = {}
    if src.layout:
        layout = layouts.get(src.layout)
        if layout is None:
            if src.layout in layout_problems:
                problems += [f"{where}: {p}" for p in layout_problems[src.layout]]
            else:
                problems.append(
                    f"{where}: unknown layout {src.layout!r}{_suggest(src.layout, sorted(layouts))}"
                )
            return src
        if layout.kind != src.kind:
            problems.append(
                f"{where}: layout {src.layout!r} is for kind {layout.kind}, "
                f"but the source is {src.kind}"
            )
        merged.update(layout.columns)
    merged.update(src.columns)
    problems += _check_columns(where, src.kind, src.columns)
    if src.fetch and src.fetch.api and src.kind != "ocds":
        problems.append(f"{where}: fetch.api is for kind ocds sources")
    if (
        src.fetch
        and src.fetch.enabled
        and not (src.fetch.api or src.fetch.urls or src.fetch.url_template)
    ):
        problems.append(f"{where}: fetch is enabled but has no urls, url_template or api")
    if src.kind == "ocds" and merged:
        problems.append(f"{where}: kind ocds takes no layout or columns (OCDS is a standard)")
    missing = [c for c in required_columns(src, merged) if c not in merged]
    if missing:
        problems.append(f"{where}: no mapping for required column(s) {', '.join(missing)}")
    if src.id in columns:
        problems.append(f"{where}: duplicate source id")
    return src
