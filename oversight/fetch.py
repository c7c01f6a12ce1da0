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
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from oversight.catalogue import Catalogue, FetchSpec, Source

log = logging.getLogger(__name__)

MANIFEST = ".manifest.json"
MAX_ZIP_RATIO = 200
MAX_REDIRECTS = 10
SECRET_NAMES = (
    "key", "api_key", "apikey", "token", "access_token", "secret", "password", "sig",
    "signature", "auth", "client_secret",
)  # fmt: skip
USER_AGENT = "contract-oversight-pipeline (+https://github.com/; open data research)"

API_DEFAULTS = {
    "contracts_finder": {
        "base_url": "https://www.contractsfinder.service.gov.uk",
        "path": "/Published/Notices/OCDS/Search",
        "from_param": "publishedFrom",
        "to_param": "publishedTo",
        "size_param": "size",
        "requests": 60,
        "per_seconds": 60,
    },
    "find_a_tender": {
        "base_url": "https://www.find-tender.service.gov.uk",
        "path": "/api/1.0/ocdsReleasePackages",
        "from_param": "updatedFrom",
        "to_param": "updatedTo",
        "size_param": "limit",
        "requests": 12,
        "per_seconds": 120,
    },
}


class FetchError(Exception):
    """A download was refused or failed after its retries; the message says why."""


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


class RateLimiter:
    """At most `requests` requests in any `per_seconds` window (Find a Tender: 12 in 120 s)."""

    def __init__(
        self, requests_: int, per_seconds: float, clock=time.monotonic, sleep=time.sleep
    ) -> None:
        self.requests, self.per_seconds = requests_, per_seconds
        self.clock, self.sleep = clock, sleep
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            while self.sent and now - self.sent[0] >= self.per_seconds:
                self.sent.popleft()
            if len(self.sent) >= self.requests:
                self.sleep(self.per_seconds - (now - self.sent[0]))
                self.sent.popleft()
            self.sent.append(self.clock())


def session(retries: int = 4, backoff: float = 1.0) -> requests.Session:
    """A session whose GETs retry 429 (after Retry-After) and 5xx answers with backoff."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
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
) -> dict | None:
    """Fetch `url` into `target` atomically, within `total_timeout` seconds from the first
    request (retries included), from `allowed_hosts` only. Returns the manifest entry, or None
    when the server says the file is unchanged (304). Raises FetchError with the reason."""
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


def fetch_api(
    http: requests.Session,
    source: Source,
    folder: Path,
    result: FetchResult,
    now: datetime,
    limiter: RateLimiter | None = None,
) -> None:
    """Fetch OCDS release packages window by window, following `links.next`."""
    spec = source.fetch
    api = {**API_DEFAULTS[spec.api], **({"base_url": spec.base_url} if spec.base_url else {})}
    limiter = limiter or RateLimiter(
        spec.max_requests or api["requests"], spec.per_seconds or api["per_seconds"]
    )
    manifest = read_manifest(folder)
    state = manifest["apis"].setdefault(spec.api, {})
    start = datetime.fromisoformat(
        state.get("fetched_to")
        or f"{spec.since or now.date()}" + ("" if "T" in str(spec.since or "") else "T00:00:00")
    )
    window = timedelta(days=spec.window_days)
    while start < now:
        end = min(start + window, now)
        url = api["base_url"] + api["path"]
        params: dict | None = {
            api["from_param"]: start.strftime("%Y-%m-%dT%H:%M:%S"),
            api["to_param"]: end.strftime("%Y-%m-%dT%H:%M:%S"),
            api["size_param"]: spec.page_size,
        }
        page = 1
        while url:
            name = f"{spec.api}-{start:%Y%m%dT%H%M%S}-{page:04d}.json"
            try:
                download(http, url, folder / name, **_limits(spec), limiter=limiter, params=params)
            except FetchError as exc:
                result.errors.append(f"{name}: {exc}")
                write_manifest(folder, manifest)
                return  # resume from this window next time
            finally:
                result.requests += 1
            result.downloaded.append(name)
            body: Any = json.loads((folder / name).read_text() or "{}")
            url = (body.get("links") or {}).get("next") if isinstance(body, dict) else None
            params = None  # the next link carries its own query
            page += 1
        state["fetched_to"] = end.isoformat(timespec="seconds")
        write_manifest(folder, manifest)
        start = end


def fetch_source(
    catalogue: Catalogue,
    source_id: str,
    now: datetime | None = None,
    http: requests.Session | None = None,
    limiter: RateLimiter | None = None,
) -> FetchResult:
    """Fetch one source if its fetching is enabled; never raises for a failed download."""
    source = catalogue.source(source_id)
    result = FetchResult(source_id)
    if source.fetch is None or not source.fetch.enabled:
        result.status = "disabled"
        return result
    now = now or datetime.now(UTC).replace(tzinfo=None)
    http = http or session(source.fetch.retries, source.fetch.backoff)
    folder = catalogue.raw_dir / source.folder
    try:
        if source.fetch.api:
            fetch_api(http, source, folder, result, now, limiter)
        else:
            fetch_files(http, source, folder, result, now.date())
    except Exception as exc:  # a bug or an odd answer must not stop the other sources
        log.error("fetching %s failed:\n%s", source_id, redact(traceback.format_exc()))
        result.errors.append(f"unexpected error ({type(exc).__name__}): {redact(str(exc))}")
    if result.errors:
        result.status = "failed"
    return result
