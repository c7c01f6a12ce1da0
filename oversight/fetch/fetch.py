"""Download what publishers have released since the last run, into `data/raw/<folder>/`.

Two kinds of fetch, set per source in the catalogue (`fetch:`; off unless `enabled: true`):

- files listed by URL, or a monthly URL template, fetched with conditional requests (ETag /
  Last-Modified): a file the server says is unchanged (304) is not downloaded again;
- OCDS APIs (Contracts Finder's search, Find a Tender's release packages): date windows from
  the last date fetched, pages followed through `links.next`, each page saved as a release
  package; the window end is recorded only once all its pages are saved, so an interrupted run
  resumes where it stopped.

The HTTP underneath (timeouts, retries, size limits, allowed hosts, redaction of secrets,
files written whole, the manifest): `oversight.fetch.download`.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import requests

from oversight.core.catalogue import Catalogue, FetchSpec, Source
from oversight.fetch.download import (
    RETRIED_STATUSES,
    FetchError,
    FetchResult,
    RateLimiter,
    Throttled,
    download,
    read_manifest,
    redact,
    session,
    write_manifest,
)

log = logging.getLogger(__name__)

# Each API as OCP's Kingfisher Collect reads it (github.com/open-contracting/kingfisher-collect,
# kingfisher_scrapy/spiders/united_kingdom_*.py), the maintained reference for both services:
#
# - Find a Tender (united_kingdom_fts.py): GET /api/1.0/ocdsReleasePackages?updatedFrom=
#   {%Y-%m-%dT%H:%M:%SZ}&updatedTo=..., cursor paging through `links.next` (LinksSpider,
#   next_link_formatter `cursor`), one request at a time with DOWNLOAD_DELAY 10 s, because "the
#   API (using Amazon ELB) eventually responds with HTTP 429 '12 request limit in 2 minute
#   exceeded'"; retried on 429, 503, 504; and short windows because "the endpoint doesn't return
#   all available releases with a longer `step` value" (Kingfisher's copy read here: one day;
#   issue 20 asks for a quarter day, the default below). API documentation:
#   https://www.find-tender.service.gov.uk/apidocumentation/1.0/GET-ocdsReleasePackages
# - Contracts Finder (united_kingdom_contracts_finder_base.py): GET /Published/Notices/OCDS/
#   Search?limit=100&publishedFrom={%Y-%m-%d}&publishedTo={%Y-%m-%d} in 15-day windows, cursor
#   paging through `links.next`, one request at a time; `retry_http_codes = [403]` waiting 300 s
#   ("When the user has submitted too many requests, no further requests should be made until
#   after 5 minutes", https://www.contractsfinder.service.gov.uk/apidocumentation/Notices/1/
#   GET-Published-OCDS-Record); bodies decoded as `encoding = "iso-8859-1"` and re-encoded
#   UTF-8 (util.transcode_bytes). (An older copy sent `size=100`: "size > 100 causes 'Incorrect
#   request [size must be a number greater than 0 and maximum is 100]'".)
API_DEFAULTS: dict[str, dict[str, Any]] = {
    "contracts_finder": {
        "base_url": "https://www.contractsfinder.service.gov.uk",
        "path": "/Published/Notices/OCDS/Search",
        "from_param": "publishedFrom",
        "to_param": "publishedTo",
        "size_param": "limit",
        "date_format": "%Y-%m-%d",
        "window_days": 15.0,
        "min_window_minutes": 1440.0,  # it takes dates: a day is the shortest window
        "delay": 0.0,
        "throttle_status": 403,  # undocumented "too many requests"
        "throttle_wait": 300.0,  # five minutes
        "encoding": "iso-8859-1",
        "requests": 60,
        "per_seconds": 60,
    },
    "find_a_tender": {
        "base_url": "https://www.find-tender.service.gov.uk",
        "path": "/api/1.0/ocdsReleasePackages",
        "from_param": "updatedFrom",
        "to_param": "updatedTo",
        "size_param": "limit",
        "date_format": "%Y-%m-%dT%H:%M:%SZ",
        "window_days": 0.25,  # a quarter day: long windows come back incomplete
        "min_window_minutes": 15.0,
        "delay": 10.0,
        "throttle_status": 429,  # "12 request limit in 2 minute exceeded"
        "throttle_wait": 120.0,  # the two minutes of the limit
        "encoding": None,
        "requests": 12,
        "per_seconds": 120,
    },
}


def hosts_allowed(spec: FetchSpec) -> frozenset[str]:
    """Hosts the source's downloads may come from: those of its URLs, template or API, and
    its `allowed_hosts` (lower case, no port)."""
    api = (spec.base_url or API_DEFAULTS[spec.api]["base_url"]) if spec.api else None
    urls = [*spec.urls, spec.url_template, api]
    hosts = [urlparse(u).hostname for u in urls if u] + list(spec.allowed_hosts)
    return frozenset(h.lower() for h in hosts if h)


def _limits(spec: FetchSpec) -> dict:
    """The catalogue's size, time, retry and host limits, as `download` takes them."""
    return {
        "max_bytes": spec.max_bytes,
        "timeout": (spec.connect_timeout, spec.read_timeout),
        "total_timeout": spec.total_timeout,
        "allowed_hosts": hosts_allowed(spec),
        "attempts": spec.attempts,
        "backoff": spec.backoff,
    }


def month_urls(template: str, since: str, today: date) -> list[tuple[str, str]]:
    """(url, file name) for each month from `since` (YYYY-MM) to this month."""
    year, month = (int(x) for x in since.split("-"))
    out = []
    while (year, month) <= (today.year, today.month):
        url = template.format(year=year, month=month)
        out.append((url, PurePosixPath(urlparse(url).path).name or f"{year}-{month:02d}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def fetch_files(
    http: requests.Session, source: Source, folder: Path, result: FetchResult, today: date
) -> None:
    spec = source.fetch
    manifest = read_manifest(folder)
    targets = [(u, PurePosixPath(urlparse(u).path).name) for u in spec.urls]
    if spec.url_template:
        targets += month_urls(spec.url_template, spec.since or today.strftime("%Y-%m"), today)
    for url, name in targets:
        previous = manifest["files"].get(name)
        try:
            entry = download(http, url, folder / name, **_limits(spec), previous=previous)
        except FetchError as exc:
            result.errors.append(f"{name}: {exc}")
            continue
        finally:
            result.requests += 1
        if entry is None:
            result.unchanged.append(name)
        else:
            manifest["files"][name] = entry
            result.downloaded.append(name)
            write_manifest(folder, manifest)


def api_settings(spec: FetchSpec) -> dict[str, Any]:
    """The API's defaults (API_DEFAULTS) with the catalogue's settings over them."""
    api = dict(API_DEFAULTS[spec.api])
    for key in ("base_url", "window_days", "min_window_minutes", "delay", "throttle_wait"):
        if getattr(spec, key) is not None:
            api[key] = getattr(spec, key)
    if spec.encoding:
        api["encoding"] = spec.encoding
    api["requests"] = spec.max_requests or api["requests"]
    api["per_seconds"] = spec.per_seconds or api["per_seconds"]
    return api


def decode_page(raw: bytes, encoding: str | None, content_type: str | None) -> tuple[str, str]:
    """A page's text and the encoding it was read in. UTF-8 when it decodes as such (a body in
    ISO-8859-1 with any accented letter or `£` does not); else the charset the answer declares,
    or the API's encoding (Contracts Finder: ISO-8859-1, as Kingfisher Collect decodes it). An
    ISO-8859-1 body with bytes 0x80-0x9F (control characters there) is read as Windows-1252,
    which browsers do for that label (WHATWG Encoding), so `’` and `€` come through."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    with suppress(UnicodeDecodeError):
        return raw.decode("utf-8"), "utf-8"
    declared = requests.utils.get_encoding_from_headers({"content-type": content_type or ""})
    if declared and declared.lower().replace("_", "-") in ("utf-8", "utf8"):
        declared = None
    chosen = encoding or declared
    if chosen is None:
        raise FetchError("the page is not UTF-8 and no encoding is set (fetch.encoding)")
    if codecs.lookup(chosen).name == "iso8859-1" and re.search(rb"[\x80-\x9f]", raw):
        with suppress(UnicodeDecodeError):
            return raw.decode("cp1252"), "windows-1252"
    return raw.decode(chosen), codecs.lookup(chosen).name


@dataclass
class _Window:
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def stem(self, api: str) -> str:
        return f"{api}-{self.start:%Y%m%dT%H%M%S}-{self.end:%Y%m%dT%H%M%S}"

    def halves(self, min_minutes: float) -> list[_Window] | None:
        """Two halves (on a whole minute, or day for a daily window), or None when a half would
        be shorter than `min_minutes`."""
        unit = timedelta(days=1) if min_minutes >= 1440 else timedelta(minutes=1)
        half = (self.end - self.start) / 2 // unit * unit
        if half < timedelta(minutes=min_minutes):
            return None
        middle = self.start + half
        return [_Window(self.start, middle), _Window(middle, self.end)]


class _Truncated(Exception):
    """The window's last page was full and had no next link: the answer looks cut short."""


def fetch_api(
    http: requests.Session,
    source: Source,
    folder: Path,
    result: FetchResult,
    now: datetime,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Fetch OCDS release packages window by window, following `links.next`.

    A window's pages are saved hidden and made visible (`<api>-<from>-<to>-0001.json`...) only
    when all of them are in: a window interrupted leaves nothing behind and is fetched again
    from its first page. A window whose last page is full but has no next link looks cut short
    (Find a Tender answers long windows incompletely): it is split in halves, down to
    `min_window_minutes`. The manifest records each window saved (its pages and releases) and
    `fetched_to`, the end of the last window saved, where the next run starts; a window once
    saved is not asked for again."""
    spec = source.fetch
    api = api_settings(spec)
    limiter = limiter or RateLimiter(
        api["requests"], api["per_seconds"], sleep=sleep, min_interval=api["delay"]
    )
    manifest = read_manifest(folder)
    state = manifest["apis"].setdefault(spec.api, {})
    windows = state.setdefault("windows", {})
    since = str(spec.since or now.date())
    start = datetime.fromisoformat(
        state.get("fetched_to") or since + ("" if "T" in since else "T00:00:00")
    )
    length = timedelta(days=api["window_days"])
    while start < now:
        todo = [_Window(start, min(start + length, now))]
        while todo:
            window = todo.pop(0)
            try:
                saved = _fetch_window(http, spec, api, window, folder, result, limiter, sleep)
            except _Truncated as exc:
                halves = window.halves(api["min_window_minutes"])
                if halves:
                    log.warning("%s %s: %s; split in two", source.id, window.key, exc.args[0])
                    todo[:0] = halves
                    continue
                saved = exc.args[1]
                state.setdefault("looks_incomplete", []).append(window.key)
                result.errors.append(
                    f"{window.stem(spec.api)}: {exc.args[0]}, and the window is already the "
                    f"shortest (min_window_minutes {api['min_window_minutes']:g}); kept as it is"
                )
            except FetchError as exc:
                result.errors.append(f"{window.stem(spec.api)}: {exc}")
                write_manifest(folder, manifest)
                return  # resume from this window next time
            manifest["files"].update(saved["files"])
            windows[window.key] = {k: v for k, v in saved.items() if k != "files"}
            state["fetched_to"] = window.end.isoformat(timespec="seconds")
            write_manifest(folder, manifest)
        start = datetime.fromisoformat(state["fetched_to"])


def _fetch_window(
    http: requests.Session,
    spec: FetchSpec,
    api: dict[str, Any],
    window: _Window,
    folder: Path,
    result: FetchResult,
    limiter: RateLimiter,
    sleep: Callable[[float], None],
) -> dict:
    """Every page of one window, made visible together; returns what the manifest records."""
    url: str | None = api["base_url"] + api["path"]
    params: dict | None = {
        api["from_param"]: window.start.strftime(api["date_format"]),
        api["to_param"]: window.end.strftime(api["date_format"]),
        api["size_param"]: spec.page_size,
    }
    stem = window.stem(spec.api)
    staged: list[tuple[Path, str, dict]] = []
    seen: set[str] = set()
    releases = last = 0
    try:
        while url:
            seen.add(url)
            name = f"{stem}-{len(staged) + 1:04d}.json"
            hidden = folder / f".{name}.page"
            entry = _get_page(http, url, hidden, params, spec, api, result, limiter, sleep)
            staged.append((hidden, name, entry))
            body = json.loads(hidden.read_bytes())
            last = len(body.get("releases") or []) if isinstance(body, dict) else 0
            releases += last
            url = (body.get("links") or {}).get("next") if isinstance(body, dict) else None
            if url in seen:
                raise FetchError(f"page {len(staged)}: its next link repeats an earlier page")
            params = None  # the next link carries its own query
    except BaseException:
        for hidden, _, _ in staged:
            hidden.unlink(missing_ok=True)
        raise
    saved = {
        "pages": len(staged),
        "releases": releases,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {name: entry for _, name, entry in staged},
    }
    if last >= spec.page_size:
        why = f"page {len(staged)} is full ({last} releases) and has no next link"
        if window.halves(api["min_window_minutes"]):
            for hidden, _, _ in staged:
                hidden.unlink(missing_ok=True)
            raise _Truncated(why, None)
        saved["looks_incomplete"] = True  # the shortest window: kept, and said
        _publish(folder, stem, staged, result)
        raise _Truncated(why, saved)
    _publish(folder, stem, staged, result)
    return saved


def _publish(folder: Path, stem: str, staged: list, result: FetchResult) -> None:
    """Replace the window's earlier pages, if any, with the staged ones."""
    names = {name for _, name, _ in staged}
    for old in folder.glob(f"{stem}-*.json"):
        if old.name not in names:
            old.unlink()
    for hidden, name, _ in staged:
        os.replace(hidden, folder / name)
        result.downloaded.append(name)


def _get_page(
    http: requests.Session,
    url: str,
    hidden: Path,
    params: dict | None,
    spec: FetchSpec,
    api: dict[str, Any],
    result: FetchResult,
    limiter: RateLimiter,
    sleep: Callable[[float], None],
) -> dict:
    """One page into `hidden`, as UTF-8 JSON, waiting out the API's throttling answers (the
    same page is asked again); returns its manifest entry."""
    for waited in range(spec.throttle_retries + 1):
        try:
            result.requests += 1
            entry = download(
                http,
                url,
                hidden,
                **_limits(spec),
                limiter=limiter,
                params=params,
                throttled=frozenset({api["throttle_status"]}),
            )
            break
        except Throttled as exc:
            if waited == spec.throttle_retries:
                raise FetchError(
                    f"{exc}; still throttled after {waited} waits (throttle_retries)"
                ) from None
            wait = exc.retry_after if exc.retry_after is not None else api["throttle_wait"]
            log.warning("%s; waiting %g s before asking again", exc, wait)
            result.waits.append(wait)
            sleep(wait)
    assert entry is not None  # no conditional headers were sent: never a 304
    raw = hidden.read_bytes()
    try:
        text, read_as = decode_page(raw, api["encoding"], entry.get("content_type"))
        json.loads(text)
    except (FetchError, UnicodeDecodeError, ValueError) as exc:
        hidden.unlink(missing_ok=True)
        raise FetchError(f"{entry['url']}: not a JSON page: {exc}") from None
    if read_as != "utf-8":
        data = text.encode("utf-8")
        partial = hidden.with_name(hidden.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, hidden)
        entry.update(
            transcoded_from=read_as, sha256=hashlib.sha256(data).hexdigest(), size=len(data)
        )
    return entry


def fetch_source(
    catalogue: Catalogue,
    source_id: str,
    now: datetime | None = None,
    http: requests.Session | None = None,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Fetch one source if its fetching is enabled; never raises for a failed download.
    `sleep` waits out the APIs' delays and throttling (tests pass one that does not wait)."""
    source = catalogue.source(source_id)
    result = FetchResult(source_id)
    if source.fetch is None or not source.fetch.enabled:
        result.status = "disabled"
        return result
    now = now or datetime.now(UTC).replace(tzinfo=None)
    statuses = RETRIED_STATUSES
    if source.fetch.api:  # the API's throttling answer is waited for by fetch_api, not urllib3
        throttle = API_DEFAULTS[source.fetch.api]["throttle_status"]
        statuses = tuple(s for s in RETRIED_STATUSES if s != throttle)
    http = http or session(source.fetch.retries, source.fetch.backoff, statuses)
    folder = catalogue.raw_dir / source.folder
    try:
        if source.fetch.api:
            fetch_api(http, source, folder, result, now, limiter, sleep)
        else:
            fetch_files(http, source, folder, result, now.date())
    except Exception as exc:  # a bug or an odd answer must not stop the other sources
        log.error("fetching %s failed:\n%s", source_id, redact(traceback.format_exc()))
        result.errors.append(f"unexpected error ({type(exc).__name__}): {redact(str(exc))}")
    if result.errors:
        result.status = "failed"
    return result
