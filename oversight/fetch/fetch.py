"""Download what publishers have released since the last run, into `data/raw/<folder>/`.

Two kinds of fetch, set per source in the catalogue (`fetch:`; off unless `enabled: true`):

- files listed by URL, or a monthly URL template, fetched with conditional requests (ETag /
  Last-Modified): a file the server says is unchanged (304) is not downloaded again;
- OCDS APIs (Contracts Finder's search, Find a Tender's release packages): date windows from
  the last date fetched, pages followed through `links.next`, each page saved as a release
  package; the window end is recorded only once all its pages are saved, so an interrupted run
  resumes where it stopped.

Every request has connect/read timeouts, and each download a total deadline (a body that
trickles in is cut off when it passes); 429 (honouring Retry-After) and 5xx answers are
retried with backoff by urllib3's Retry; a body that stalls or arrives short (counted in bytes
on the wire, so before gzip decoding) is retried by the download loop. Bodies over the size
limit are refused. Redirects and `links.next` are followed only to the hosts of the source's
own URLs and its `allowed_hosts`, and never from https to http. Secrets in URLs (userinfo,
query parameters such as `apikey` or `token`) are shown as `***` in every error, log line and
manifest entry. Each file is written to a hidden `.<name>.partial` beside its target and
renamed only when complete and checked, so nothing half-written reaches `data/raw/`. A zip
is refused when an entry would escape its folder (absolute path, `..`) or when it would expand
beyond the size limit or 200 times its size. The manifest `.manifest.json` in the folder
records, per file, its URL, hash, size, headers and when it was fetched, and per API the last
date fetched.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import threading
import time
import traceback
import zipfile
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from oversight.core.catalogue import Catalogue, FetchSpec, Source

log = logging.getLogger(__name__)

MANIFEST = ".manifest.json"
MAX_ZIP_RATIO = 200
MAX_REDIRECTS = 10
SECRET_NAMES = (
    "key", "api_key", "apikey", "token", "access_token", "secret", "password", "sig",
    "signature", "auth", "client_secret",
)  # fmt: skip
USER_AGENT = "contract-oversight-pipeline (+https://github.com/; open data research)"

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
RETRIED_STATUSES = (429, 500, 502, 503, 504)


class FetchError(Exception):
    """A download was refused or failed after its retries; the message says why."""


class Throttled(FetchError):
    """The server answered with its throttling status (Find a Tender 429, Contracts Finder
    403): wait (`retry_after` seconds when it said, else the API's back-off) and ask again."""

    def __init__(self, message: str, status: int, retry_after: float | None, text: str):
        super().__init__(message)
        self.status, self.retry_after, self.text = status, retry_after, text


# A query parameter named like a secret (also with a prefix: `X-Api-Key`, `subscription-key`),
# and the userinfo of a URL (`user:password@`), in a URL or in any text quoting one.
_SECRET_PARAM = re.compile(
    rf"([?&;](?:[\w.-]*[_.-])?(?:{'|'.join(SECRET_NAMES)})=)[^&#\s'\"<>]*", re.IGNORECASE
)
_USERINFO = re.compile(r"//[^/?#\s@'\"<>]+@")


def redact(text: str) -> str:
    """`text` (a URL, or a message quoting URLs or their paths) with each secret query value
    and each URL's userinfo replaced by `***`."""
    return _USERINFO.sub("//***@", _SECRET_PARAM.sub(r"\1***", text))


class _Redact(logging.Filter):
    """Redacts what urllib3 logs (its retry warnings quote the URL, query included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_Redact())


@dataclass
class FetchResult:
    """What one source's fetch did."""

    source_id: str
    status: str = "ok"  # ok | failed | disabled
    downloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    waits: list[float] = field(default_factory=list)  # seconds waited after throttling answers


class RateLimiter:
    """At most `requests` requests in any `per_seconds` window (Find a Tender: 12 in 120 s), and
    at least `min_interval` seconds between two requests (Find a Tender: 10 s)."""

    def __init__(
        self,
        requests_: int,
        per_seconds: float,
        clock=time.monotonic,
        sleep=time.sleep,
        min_interval: float = 0.0,
    ) -> None:
        self.requests, self.per_seconds = requests_, per_seconds
        self.clock, self.sleep, self.min_interval = clock, sleep, min_interval
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            if self.sent and self.min_interval > 0:
                gap = self.sent[-1] + self.min_interval - now
                if gap > 0:
                    self.sleep(gap)
                    now = self.clock()
            while self.sent and now - self.sent[0] >= self.per_seconds:
                self.sent.popleft()
            if len(self.sent) >= self.requests:
                self.sleep(self.per_seconds - (now - self.sent[0]))
                self.sent.popleft()
            self.sent.append(self.clock())


def session(
    retries: int = 4, backoff: float = 1.0, statuses: tuple[int, ...] = RETRIED_STATUSES
) -> requests.Session:
    """A session whose GETs retry `statuses` (429 after its Retry-After, and 5xx) with backoff.
    The APIs' throttling answers are left out of `statuses` and waited for by `fetch_api`;
    urllib3 would otherwise retry a 429 or 503 that has a Retry-After whatever its forcelist."""
    after = Retry.RETRY_AFTER_STATUS_CODES & frozenset(statuses)
    retry = type("_Retry", (Retry,), {"RETRY_AFTER_STATUS_CODES": after})(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=statuses,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"files": {}, "apis": {}}


def write_manifest(folder: Path, manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(partial, folder / MANIFEST)


def check_zip(path: Path, max_bytes: int) -> None:
    """Refuse a zip whose entries would escape their folder or expand too far."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or info.filename.startswith("/"):
                    raise FetchError(f"zip entry {info.filename!r} would escape its folder")
                total += info.file_size
            compressed = max(sum(i.compress_size for i in archive.infolist()), 1)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"not a readable zip: {exc}") from exc
    if total > max_bytes or total / compressed > MAX_ZIP_RATIO:
        raise FetchError(
            f"zip would expand to {total:,} bytes ({total / compressed:.0f}x its "
            f"size; limit {max_bytes:,} bytes, {MAX_ZIP_RATIO}x)"
        )


def download(
    http: requests.Session,
    url: str,
    target: Path,
    *,
    max_bytes: int,
    timeout: tuple[float, float],
    allowed_hosts: frozenset[str],
    total_timeout: float = 1800.0,
    attempts: int = 3,
    backoff: float = 1.0,
    previous: dict | None = None,
    limiter: RateLimiter | None = None,
    params: dict | None = None,
    throttled: frozenset[int] = frozenset(),
) -> dict | None:
    """Fetch `url` into `target` atomically, within `total_timeout` seconds from the first
    request (retries included), from `allowed_hosts` only. Returns the manifest entry, or None
    when the server says the file is unchanged (304). Raises FetchError with the reason, and
    Throttled (a FetchError) for an answer whose status is in `throttled`."""
    headers = {}
    if previous and previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous and previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    partial = target.with_name(f".{target.name}.partial")
    late = f"{redact(url)} not complete after {total_timeout:g} s (fetch.total_timeout)"
    last_error = "no attempt made"
    deadline = None
    for attempt in range(1, attempts + 1):
        if limiter:
            limiter.wait()
        deadline = deadline or time.monotonic() + total_timeout
        if time.monotonic() >= deadline:
            raise FetchError(f"{late}: {last_error}")
        try:
            with _get(
                http, url, allowed_hosts, headers=headers, params=params, timeout=timeout
            ) as response:
                shown = redact(response.url)
                if response.status_code == 304:
                    return None
                if response.status_code in throttled:
                    text = _head_text(response)
                    raise Throttled(
                        f"HTTP {response.status_code} from {shown}: {text!r}",
                        response.status_code,
                        retry_after(response.headers.get("Retry-After")),
                        text,
                    )
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code} from {shown}")
                declared = response.headers.get("Content-Length")
                if declared and int(declared) > max_bytes:
                    raise FetchError(
                        f"{shown} is {int(declared):,} bytes, over the limit of {max_bytes:,}"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                sha256, size = _save(response, partial, max_bytes, deadline)
                received = response.raw.tell()  # bytes on the wire, before gzip decoding
                if declared and received != int(declared):
                    raise _Retryable(f"body cut short: {received:,} of {int(declared):,} bytes")
                if target.suffix.lower() == ".zip":
                    check_zip(partial, max_bytes)
                os.replace(partial, target)
                return {
                    "url": shown,
                    "sha256": sha256,
                    "size": size,
                    "etag": response.headers.get("ETag"),
                    "last_modified": response.headers.get("Last-Modified"),
                    "content_type": response.headers.get("Content-Type"),
                    "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
        except FetchError:
            partial.unlink(missing_ok=True)
            raise
        except _Late:
            partial.unlink(missing_ok=True)
            raise FetchError(late) from None
        except (_Retryable, requests.RequestException) as exc:
            partial.unlink(missing_ok=True)
            last_error = _describe(exc)
            log.warning(
                "%s: attempt %d of %d failed: %s", redact(url), attempt, attempts, last_error
            )
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise FetchError(f"{redact(url)}: gave up after {attempts} attempts: {last_error}")


class _Retryable(Exception):
    pass


def _head_text(response: requests.Response, limit: int = 500) -> str:
    """The start of a (short, error) body as text, for messages."""
    with suppress(requests.RequestException):
        head = next(response.iter_content(limit), b"")
        return redact(head[:limit].decode("utf-8", "replace").strip())
    return ""


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with suppress(TypeError, ValueError, IndexError, OverflowError):
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return None


class _Late(Exception):
    """The download's deadline passed while its body was arriving."""


def _get(
    http: requests.Session, url: str, allowed_hosts: frozenset[str], **kwargs: Any
) -> requests.Response:
    """GET `url` streamed, following up to MAX_REDIRECTS redirects one at a time: each must
    stay on `allowed_hosts` and never go from https to http."""
    _check_host(url, allowed_hosts, "")
    for _ in range(MAX_REDIRECTS + 1):
        response = http.get(url, stream=True, allow_redirects=False, **kwargs)
        if not response.is_redirect or response.next is None:  # None: an empty Location
            return response
        response.close()
        target = response.next.url  # Location, resolved by requests against `url`
        if urlparse(url).scheme == "https" and urlparse(target).scheme != "https":
            raise FetchError(f"{redact(url)} redirects from https to http: refused")
        _check_host(target, allowed_hosts, f"{redact(url)} redirects to ")
        url, kwargs["params"] = target, None
    raise FetchError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")


def _check_host(url: str, allowed_hosts: frozenset[str], came_from: str) -> None:
    host = (urlparse(url).hostname or "").lower()
    if host not in allowed_hosts:
        raise FetchError(
            f"{came_from}{redact(url)}: host {host!r} is not one the source fetches from; "
            f"to allow it, add it to the source's fetch.allowed_hosts in the catalogue"
        )


def _save(
    response: requests.Response, partial: Path, max_bytes: int, deadline: float
) -> tuple[str, int]:
    """Write the (decoded) body to `partial`; return its SHA-256 (hex) and size. Raises FetchError
    over `max_bytes`, and _Late once `deadline` (time.monotonic()) passes: a timer then shuts
    the socket (urllib3's `shutdown`), which ends even a body that trickles in."""
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        with suppress(ValueError, RuntimeError, OSError):  # already finished and closed
            response.raw.shutdown()

    timer = threading.Timer(max(deadline - time.monotonic(), 0), cut)
    timer.start()
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        f"{redact(response.url)} sent more than the limit of {max_bytes:,} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
    except requests.RequestException:
        if not expired.is_set():
            raise
    finally:
        timer.cancel()
    if expired.is_set():  # the read ended because the socket was shut, not at the body's end
        raise _Late
    return digest.hexdigest(), size


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ReadTimeout | requests.exceptions.ConnectTimeout):
        return "timed out waiting for the server"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken in the middle of the body"
    if isinstance(exc, requests.exceptions.RetryError):
        return f"still failing after the retries: {redact(str(exc))}"
    return redact(str(exc))


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
