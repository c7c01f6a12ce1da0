"""Downloading, for `oversight.fetch.fetch`: HTTP done safely, whatever is fetched.

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
import zipfile
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

MANIFEST = ".manifest.json"
MAX_ZIP_RATIO = 200
MAX_REDIRECTS = 10
SECRET_NAMES = (
    "key", "api_key", "apikey", "token", "access_token", "secret", "password", "sig",
    "signature", "auth", "client_secret",
)  # fmt: skip
USER_AGENT = "contract-oversight-pipeline (+https://github.com/; open data research)"

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
