"""Downloads against a local HTTP server on 127.0.0.1 that serves recorded responses built
from the real files (the embedded sample when ../shared is absent) and misbehaves on purpose.
Each case ends retried, skipped with a reason, or refused, and nothing half-written reaches
the raw folder."""

import gzip
import hashlib
import io
import json
import logging
import threading
import time
import zipfile
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pytest
import requests

from oversight.core.catalogue import load_catalogue
from oversight.fetch.download import MANIFEST, RateLimiter, read_manifest
from oversight.fetch.fetch import fetch_source
from pipelines.definitions import FETCH_JOB, build_defs
from tests.conftest import PROJECT, REAL, write_catalogue

SPEND = (
    REAL / "salford" / "spend" / "2021-05.csv"
    if REAL.is_dir()
    else PROJECT / "data" / "raw" / "northmoor" / "spend" / "2025-05.csv"
).read_bytes()


def _pages() -> list[dict]:
    """Release packages the fake API serves: real Contracts Finder files, or (without them)
    the sample's DRR package cut in two."""
    if REAL.is_dir():
        found = sorted((REAL / "contracts-finder" / "ocds").glob("*.json"))[:4]
        return [json.loads(p.read_text()) for p in found]
    package = json.loads(
        (PROJECT / "data" / "raw" / "drr" / "notices" / "2024-25-releases.json").read_text()
    )
    half = len(package["releases"]) // 2
    return [
        {**package, "releases": package["releases"][:half]},
        {**package, "releases": package["releases"][half:]},
    ]


PAGES = _pages()


class Server:
    """Routes: path -> function(handler, hit number, query) writing the response."""

    def __init__(self):
        self.routes, self.hits = {}, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parsed = urlparse(self.path)
                server.hits.append((parsed.path, dict(self.headers), parse_qs(parsed.query)))
                n = sum(1 for h in server.hits if h[0] == parsed.path)
                route = server.routes.get(parsed.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self, n, parse_qs(parsed.query))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, path):
        return sum(1 for h in self.hits if h[0] == path)


def send(handler, body: bytes, status=200, headers=None, declared=None):
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(declared if declared is not None else len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


def spend_source(fetch: dict) -> dict:
    """A Salford-layout spend source in folder `pub` with this fetch block."""
    return {
        "id": "pub",
        "publisher": "P",
        "kind": "spend",
        "folder": "pub",
        "files": "*.csv",
        "layout": "salford-spend",
        "fetch": fetch,
    }


def fetch(tmp_path, server, path, **spec):
    source = spend_source(
        {
            "enabled": True,
            "urls": [server.url + path],
            "attempts": 2,
            "backoff": 0,
            "retries": 2,
            "read_timeout": 1,
            **spec,
        }
    )
    catalogue = load_catalogue(write_catalogue(tmp_path, [source]))
    return fetch_source(catalogue, "pub"), tmp_path / "raw" / "pub"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_unchanged_file_answers_304_and_a_changed_one_is_fetched_again(tmp_path, server):
    version = {"etag": '"v1"', "body": SPEND}

    def route(h, n, q):
        if h.headers.get("If-None-Match") == version["etag"]:
            send(h, b"", 304)
        else:
            send(
                h,
                version["body"],
                headers={"ETag": version["etag"], "Last-Modified": "Sat, 01 Jun 2024 10:00:00 GMT"},
            )

    server.routes["/spend-2024-05.csv"] = route
    first, folder = fetch(tmp_path, server, "/spend-2024-05.csv")
    assert (first.status, first.downloaded) == ("ok", ["spend-2024-05.csv"])
    assert (folder / "spend-2024-05.csv").read_bytes() == SPEND
    entry = read_manifest(folder)["files"]["spend-2024-05.csv"]
    assert entry["etag"] == '"v1"' and entry["size"] == len(SPEND) and len(entry["sha256"]) == 64
    second, _ = fetch(tmp_path, server, "/spend-2024-05.csv")
    assert (second.downloaded, second.unchanged) == ([], ["spend-2024-05.csv"])
    assert server.hits[-1][1]["If-None-Match"] == '"v1"'
    version.update(etag='"v2"', body=SPEND + b"X,2024-06-01,9,1,0,1,New Ltd,A,B\n")
    third, _ = fetch(tmp_path, server, "/spend-2024-05.csv")
    assert third.downloaded == ["spend-2024-05.csv"]
    assert (folder / "spend-2024-05.csv").read_bytes().endswith(b"New Ltd,A,B\n")
    assert files_in(folder) == [".manifest.json", "spend-2024-05.csv"]


def test_429_with_retry_after_is_waited_for_and_retried(tmp_path, server):
    def route(h, n, q):
        if n == 1:
            send(h, b"slow down", 429, {"Retry-After": "2"})
        else:
            send(h, SPEND)

    server.routes["/a.csv"] = route
    started = time.monotonic()
    result, folder = fetch(tmp_path, server, "/a.csv")
    assert result.status == "ok" and server.count("/a.csv") == 2
    assert time.monotonic() - started >= 2.0
    assert (folder / "a.csv").read_bytes() == SPEND


def test_500_then_success_is_retried(tmp_path, server):
    server.routes["/b.csv"] = lambda h, n, q: send(h, b"oops", 500) if n < 3 else send(h, SPEND)
    result, folder = fetch(tmp_path, server, "/b.csv")
    assert result.status == "ok" and server.count("/b.csv") == 3
    assert (folder / "b.csv").read_bytes() == SPEND


def test_stalled_response_times_out_and_leaves_nothing(tmp_path, server):
    def stall(h, n, q):
        h.send_response(200)
        h.send_header("Content-Length", str(len(SPEND)))
        h.end_headers()
        h.wfile.write(SPEND[:100])
        h.wfile.flush()
        time.sleep(3)

    server.routes["/c.csv"] = stall
    result, folder = fetch(tmp_path, server, "/c.csv", read_timeout=0.5)
    assert result.status == "failed"
    assert "c.csv" in result.errors[0] and "gave up after 2 attempts" in result.errors[0]
    assert "timed out" in result.errors[0] or "broken" in result.errors[0]
    assert files_in(folder) == []


def test_truncated_body_is_retried_then_refused(tmp_path, server):
    def cut(h, n, q):
        send(h, SPEND[: len(SPEND) // 2], declared=len(SPEND))
        h.close_connection = True

    server.routes["/d.csv"] = lambda h, n, q: cut(h, n, q) if n == 1 else send(h, SPEND)
    result, folder = fetch(tmp_path, server, "/d.csv")
    assert result.status == "ok" and (folder / "d.csv").read_bytes() == SPEND
    server.routes["/e.csv"] = cut
    (tmp_path / "again").mkdir()
    result, folder = fetch(tmp_path / "again", server, "/e.csv")
    assert result.status == "failed" and "gave up after 2 attempts" in result.errors[0]
    assert files_in(folder) == []


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"ok.csv": SPEND, "../../escape.csv": SPEND}, "would escape its folder"),
        ({"/etc/cron.d/x.csv": SPEND}, "would escape its folder"),
        ({"bomb.csv": b"0" * 30_000_000}, "would expand to 30,000,000 bytes"),
    ],
)
def test_dangerous_zips_are_refused(tmp_path, server, entries, reason):
    body = zipped(entries)
    server.routes["/spend.zip"] = lambda h, n, q: send(h, body)
    result, folder = fetch(tmp_path, server, "/spend.zip", max_bytes=20_000_000)
    assert result.status == "failed" and reason in result.errors[0]
    assert files_in(folder) == []


def test_size_limit(tmp_path, server):
    server.routes["/big.csv"] = lambda h, n, q: send(h, SPEND)
    result, folder = fetch(tmp_path, server, "/big.csv", max_bytes=1000)
    assert result.status == "failed" and "over the limit of 1,000" in result.errors[0]
    assert server.count("/big.csv") == 1 and files_in(folder) == []


def test_monthly_url_template(tmp_path, server):
    for month in ("2024-11", "2024-12", "2025-01"):
        server.routes[f"/spend-{month}.csv"] = lambda h, n, q: send(h, SPEND)
    source = spend_source(
        {
            "enabled": True,
            "since": "2024-11",
            "url_template": server.url + "/spend-{year}-{month:02d}.csv",
        }
    )
    catalogue = load_catalogue(write_catalogue(tmp_path, [source]))
    result = fetch_source(catalogue, "pub", now=datetime(2025, 1, 15))
    assert result.downloaded == ["spend-2024-11.csv", "spend-2024-12.csv", "spend-2025-01.csv"]


def ocds_api(tmp_path, server, fail_second_window=False, next_base=None, **spec):
    pages = PAGES

    def route(h, n, q):
        if "cursor" in q:
            if fail_second_window and q["updatedFrom"][0].startswith("2025-01-08"):
                send(h, b"down", 500)
                return
            send(h, json.dumps(pages[1]).encode())
            return
        frm = q["updatedFrom"][0]
        body = {
            **pages[0],
            "links": {
                "next": f"{next_base or server.url}/api/1.0/ocdsReleasePackages"
                f"?updatedFrom={frm}&cursor=2"
            },
        }
        send(h, json.dumps(body).encode())

    server.routes["/api/1.0/ocdsReleasePackages"] = route
    source = {
        "id": "fts",
        "publisher": "Find a Tender",
        "kind": "ocds",
        "folder": "fts",
        "files": "*.json",
        "fetch": {
            "enabled": True,
            "api": "find_a_tender",
            "base_url": server.url,
            "since": "2025-01-01",
            "window_days": 7,
            "backoff": 0,
            "retries": 1,
            "attempts": 1,
            "max_requests": 100,
            "delay": 0,
            **spec,
        },
    }
    return load_catalogue(write_catalogue(tmp_path, [source]))


def test_ocds_api_windows_pages_and_resumes(tmp_path, server):
    catalogue = ocds_api(tmp_path, server, fail_second_window=True)
    first = fetch_source(catalogue, "fts", now=datetime(2025, 1, 15))
    assert first.status == "failed" and "HTTP 500" in first.errors[0]
    folder = tmp_path / "raw" / "fts"
    assert read_manifest(folder)["apis"]["find_a_tender"]["fetched_to"] == "2025-01-08T00:00:00"
    # The second window's first page was saved, but a window is made visible only whole.
    assert files_in(folder) == [
        ".manifest.json",
        "find_a_tender-20250101T000000-20250108T000000-0001.json",
        "find_a_tender-20250101T000000-20250108T000000-0002.json",
    ]
    catalogue = ocds_api(tmp_path, server)  # the API is back: resume at the second window
    asked = len(server.hits)
    second = fetch_source(catalogue, "fts", now=datetime(2025, 1, 15))
    assert second.status == "ok"
    froms = [h[2]["updatedFrom"][0] for h in server.hits[asked:]]
    assert froms[0] == "2025-01-08T00:00:00Z" and "2025-01-01T00:00:00Z" not in froms
    assert read_manifest(folder)["apis"]["find_a_tender"]["fetched_to"] == "2025-01-15T00:00:00"
    assert [
        r["id"]
        for r in json.loads(
            (folder / "find_a_tender-20250108T000000-20250115T000000-0002.json").read_text()
        )["releases"]
    ] == [r["id"] for r in PAGES[1]["releases"]]
    # The pages ingest like any OCDS file; the manifest (a hidden file) is not data. This fake
    # API serves the same page bytes in both windows: the second copy is a duplicate.
    from tests.conftest import ingest_all, query

    ingest_all(catalogue, tmp_path / "w.duckdb")
    assert query(
        tmp_path / "w.duckdb",
        "select count(*), count(*) filter (status = 'loaded'),"
        " count(*) filter (status = 'duplicate'),"
        " count(*) filter (file_path like '%manifest%') from raw.files",
    ) == [(4, 3, 1, 0)]


def test_gzip_body_is_checked_against_its_length_on_the_wire(tmp_path, server):
    body = gzip.compress(SPEND)
    server.routes["/g.csv"] = lambda h, n, q: send(h, body, headers={"Content-Encoding": "gzip"})
    result, folder = fetch(tmp_path, server, "/g.csv")
    assert result.status == "ok" and server.count("/g.csv") == 1
    assert (folder / "g.csv").read_bytes() == SPEND
    assert read_manifest(folder)["files"]["g.csv"]["size"] == len(SPEND)

    def cut(h, n, q):
        send(h, body[: len(body) // 2], headers={"Content-Encoding": "gzip"}, declared=len(body))
        h.close_connection = True

    server.routes["/h.csv"] = cut
    result, folder = fetch(tmp_path, server, "/h.csv")
    assert result.status == "failed" and "gave up after 2 attempts" in result.errors[0]
    assert files_in(folder) == [".manifest.json", "g.csv"]


@pytest.mark.parametrize("declared", [True, False])
def test_body_dripped_past_the_total_timeout_is_refused(tmp_path, server, declared):
    def drip(h, n, q):
        h.send_response(200)
        if declared:
            h.send_header("Content-Length", "300")
        h.end_headers()
        try:
            for byte in SPEND[:300]:  # a byte every 20 ms: 6 s in all, each read well in time
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(0.02)
        except OSError:
            pass

    server.routes["/slow.csv"] = drip
    started = time.monotonic()
    result, folder = fetch(tmp_path, server, "/slow.csv", total_timeout=1)
    assert time.monotonic() - started < 4
    assert result.status == "failed" and "total_timeout" in result.errors[0]
    assert server.count("/slow.csv") == 1  # a deadline passed is not tried again
    assert files_in(folder) == []


def test_redirects_are_followed_only_to_allowed_hosts(tmp_path, server):
    elsewhere = server.url.replace("127.0.0.1", "localhost")
    server.routes["/spend.csv"] = lambda h, n, q: send(h, SPEND)
    server.routes["/same.csv"] = lambda h, n, q: send(h, b"", 302, {"Location": "/spend.csv"})
    server.routes["/away.csv"] = lambda h, n, q: send(
        h, b"", 302, {"Location": elsewhere + "/spend.csv"}
    )
    result, folder = fetch(tmp_path, server, "/same.csv")
    assert result.status == "ok" and (folder / "same.csv").read_bytes() == SPEND
    result, folder = fetch(tmp_path, server, "/away.csv")
    assert result.status == "failed" and server.count("/spend.csv") == 1
    assert "'localhost'" in result.errors[0] and "allowed_hosts" in result.errors[0]
    assert "away.csv" not in files_in(folder)
    result, folder = fetch(tmp_path, server, "/away.csv", allowed_hosts=["localhost"])
    assert result.status == "ok" and (folder / "away.csv").read_bytes() == SPEND


def test_redirect_from_https_to_http_is_refused(tmp_path):
    from oversight.fetch.download import FetchError, download

    class Redirect(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):
            response = requests.Response()
            response.status_code, response.url, response.request = 302, request.url, request
            response.headers["Location"] = "http://a.test/x.csv"
            response.raw = io.BytesIO(b"")
            return response

        def close(self):
            pass

    http = requests.Session()
    http.mount("https://", Redirect())
    with pytest.raises(FetchError, match="from https to http"):
        download(
            http,
            "https://a.test/x.csv",
            tmp_path / "x.csv",
            max_bytes=100,
            timeout=(1, 1),
            allowed_hosts=frozenset({"a.test"}),
        )
    assert files_in(tmp_path) == []


def test_api_next_link_to_another_host_is_refused(tmp_path, server):
    elsewhere = server.url.replace("127.0.0.1", "localhost")
    catalogue = ocds_api(tmp_path, server, next_base=elsewhere)
    result = fetch_source(catalogue, "fts", now=datetime(2025, 1, 8))
    assert result.status == "failed"
    assert "'localhost'" in result.errors[0] and "allowed_hosts" in result.errors[0]
    assert not any("cursor" in h[2] for h in server.hits)
    folder = tmp_path / "raw" / "fts"
    assert "fetched_to" not in read_manifest(folder)["apis"]["find_a_tender"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://me:pw@x.gov.uk/a.csv?month=5&API_KEY=abc&sig=9#top",
            "https://***@x.gov.uk/a.csv?month=5&API_KEY=***&sig=***#top",
        ),
        (
            "Max retries exceeded with url: /p?subscription-key=abc (Caused by x)",
            "Max retries exceeded with url: /p?subscription-key=*** (Caused by x)",
        ),
        (
            "https://x.gov.uk/a.csv?keyword=tax&monkey=1",
            "https://x.gov.uk/a.csv?keyword=tax&monkey=1",
        ),
    ],
)
def test_redact(text, expected):
    from oversight.fetch.download import redact

    assert redact(text) == expected


def test_secrets_in_urls_never_reach_errors_logs_or_the_manifest(tmp_path, server, caplog):
    server.routes["/s.csv"] = lambda h, n, q: send(h, SPEND)
    server.routes["/down.csv"] = lambda h, n, q: send(h, b"no", 500)
    port = server.url.rsplit(":", 1)[1]
    urls = [
        f"http://me:hunter2@127.0.0.1:{port}/s.csv?month=5&apikey=SEKRET1",
        f"{server.url}/down.csv?Access_Token=SEKRET2",
        "http://127.0.0.1:1/gone.csv?X-Api-Key=SEKRET3",  # nothing listens on port 1
    ]
    source = spend_source(
        {"enabled": True, "urls": urls, "backoff": 0, "retries": 1, "attempts": 1}
    )
    catalogue = load_catalogue(write_catalogue(tmp_path, [source]))
    with caplog.at_level(logging.DEBUG):
        result = fetch_source(catalogue, "pub")
    assert result.downloaded == ["s.csv"] and len(result.errors) == 2
    manifest = (tmp_path / "raw" / "pub" / MANIFEST).read_text()
    assert "//***@127.0.0.1" in manifest and "s.csv?month=5&apikey=***" in manifest
    assert "Access_Token=***" in result.errors[0] and "X-Api-Key=***" in result.errors[1]
    everything = "\n".join([*result.errors, caplog.text, manifest])
    for secret in ("SEKRET1", "SEKRET2", "SEKRET3", "hunter2"):
        assert secret not in everything


def test_rate_limit_twelve_requests_in_two_minutes():
    now = [0.0]
    waits = []
    limiter = RateLimiter(
        12,
        120,
        clock=lambda: now[0],
        sleep=lambda s: (waits.append(s), now.__setitem__(0, now[0] + s)),
    )
    for _ in range(12):
        limiter.wait()
        now[0] += 1
    assert waits == []
    limiter.wait()
    assert waits == [108.0]  # the first of the twelve was at 0 s, it is now 12 s


def test_fetching_is_off_unless_enabled_and_one_failure_does_not_stop_others(tmp_path, server):
    server.routes["/good.csv"] = lambda h, n, q: send(h, SPEND)
    server.routes["/bad.csv"] = lambda h, n, q: send(h, b"no", 503)
    common = {"publisher": "P", "kind": "spend", "files": "*.csv", "layout": "salford-spend"}
    sources = [
        {
            "id": "bad",
            "folder": "bad",
            **common,
            "fetch": {
                "enabled": True,
                "urls": [server.url + "/bad.csv"],
                "retries": 1,
                "backoff": 0,
            },
        },
        {
            "id": "good",
            "folder": "good",
            **common,
            "fetch": {"enabled": True, "urls": [server.url + "/good.csv"]},
        },
        {"id": "off", "folder": "off", **common, "fetch": {"urls": [server.url + "/good.csv"]}},
        {"id": "none", "folder": "none", **common},
    ]
    defs = build_defs(str(write_catalogue(tmp_path, sources)), str(tmp_path / "w.duckdb"))
    job = defs.resolve_job_def(FETCH_JOB)
    from pipelines.automation import all_partitions_tags

    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags=all_partitions_tags(["bad", "good", "off", "none"]),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    check = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "fetch_succeeded"
    )
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "**bad**" in check.metadata["reasons"].value
    assert "HTTP 503" in check.metadata["reasons"].value
    assert (tmp_path / "raw" / "good" / "good.csv").read_bytes() == SPEND
    assert not (tmp_path / "raw" / "off").exists() and not (tmp_path / "raw" / "bad").exists()
    assert server.count("/good.csv") == 1  # "off" was not fetched
    # ...and the ingest in the same run read what was fetched.
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select source_id, status from raw.files").fetchall() == [("good", "loaded")]
    con.close()


# --- The two OCDS APIs as they really answer -----------------------------------------------
# Find a Tender: GET /api/1.0/ocdsReleasePackages?updatedFrom&updatedTo&limit, `links.next`
# with a cursor, 429 "12 request limit in 2 minute exceeded", incomplete answers for long
# windows. Contracts Finder: GET /Published/Notices/OCDS/Search?publishedFrom&publishedTo&limit
# (dates), an undocumented 403 when throttled, ISO-8859-1 bodies. (Kingfisher Collect's
# spiders united_kingdom_fts and united_kingdom_contracts_finder_base; oversight/fetch/fetch.py.)

FTS_PATH = "/api/1.0/ocdsReleasePackages"
CF_PATH = "/Published/Notices/OCDS/Search"
FTS_429 = b"12 request limit in 2 minute exceeded"


def release(n: int, when: str, title: str = "Cleaning services") -> dict:
    return {
        "ocid": f"ocds-h6vhtk-{n:06d}",
        "id": f"ocds-h6vhtk-{n:06d}-tender-1",
        "date": when,
        "tag": ["tender"],
        "initiationType": "tender",
        "tender": {"id": str(n), "title": title},
    }


def package(releases: list[dict], next_url: str | None = None) -> dict:
    body = {
        "uri": "https://www.find-tender.service.gov.uk/api/1.0/ocdsReleasePackages",
        "version": "1.1",
        "publishedDate": "2025-01-01T00:00:00Z",
        "publisher": {"name": "Find a Tender"},
        "releases": releases,
    }
    if next_url:
        body["links"] = {"next": next_url}
    return body


def api_source(server, api: str, **spec) -> dict:
    return {
        "id": api.replace("_", "-"),
        "publisher": "Cabinet Office",
        "kind": "ocds",
        "folder": api,
        "files": "*.json",
        "fetch": {
            "enabled": True,
            "api": api,
            "base_url": server.url,
            "backoff": 0,
            "retries": 1,
            "attempts": 1,
            **spec,
        },
    }


class Sleeps:
    """Stands in for time.sleep: records what the fetch would have waited, waits nothing."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run_api(tmp_path, server, api, now, **spec):
    catalogue = load_catalogue(write_catalogue(tmp_path, [api_source(server, api, **spec)]))
    sleeps = Sleeps()
    result = fetch_source(catalogue, api.replace("_", "-"), now=now, sleep=sleeps)
    return result, sleeps, tmp_path / "raw" / api, catalogue


def visible_releases(folder: Path) -> list[str]:
    return [
        r["id"]
        for p in sorted(folder.glob("*.json"))
        if not p.name.startswith(".")
        for r in json.loads(p.read_text(encoding="utf-8"))["releases"]
    ]


def fts_paging_route(server):
    """Two pages a window: the first (two releases) links to the second (one) by cursor."""

    def route(h, n, q):
        frm = q["updatedFrom"][0]
        day, hour = frm[:10], int(frm[11:13])
        base = 100 * int(day[-2:]) + hour
        if "cursor" in q:
            send(h, json.dumps(package([release(base + 2, frm)])).encode())
            return
        nxt = f"{server.url}{FTS_PATH}?cursor=QUJD{base}&updatedFrom={frm}"
        body = package([release(base, frm), release(base + 1, frm)], nxt)
        send(h, json.dumps(body).encode(), headers={"Content-Type": "application/json"})

    server.routes[FTS_PATH] = route


def test_fts_quarter_day_windows_ten_second_delay_cursor_paging_and_idempotent_reruns(
    tmp_path, server
):
    fts_paging_route(server)
    now = datetime(2025, 3, 1, 12)
    result, sleeps, folder, catalogue = run_api(
        tmp_path, server, "find_a_tender", now, since="2025-03-01"
    )
    assert result.status == "ok", result.errors
    firsts = [h[2] for h in server.hits if "cursor" not in h[2]]
    assert [(q["updatedFrom"][0], q["updatedTo"][0], q["limit"][0]) for q in firsts] == [
        ("2025-03-01T00:00:00Z", "2025-03-01T06:00:00Z", "100"),
        ("2025-03-01T06:00:00Z", "2025-03-01T12:00:00Z", "100"),
    ]
    assert [h[2]["cursor"][0] for h in server.hits if "cursor" in h[2]] == ["QUJD100", "QUJD106"]
    # Four requests, one at a time, ten seconds apart (Kingfisher's DOWNLOAD_DELAY).
    assert len(server.hits) == result.requests == 4
    assert len(sleeps.waits) == 3 and all(9 < w <= 10 for w in sleeps.waits)
    assert files_in(folder) == [
        ".manifest.json",
        "find_a_tender-20250301T000000-20250301T060000-0001.json",
        "find_a_tender-20250301T000000-20250301T060000-0002.json",
        "find_a_tender-20250301T060000-20250301T120000-0001.json",
        "find_a_tender-20250301T060000-20250301T120000-0002.json",
    ]
    assert sorted(visible_releases(folder)) == sorted(
        f"ocds-h6vhtk-{n:06d}-tender-1" for n in (100, 101, 102, 106, 107, 108)
    )
    state = read_manifest(folder)["apis"]["find_a_tender"]
    assert state["fetched_to"] == "2025-03-01T12:00:00"
    assert {k: (v["pages"], v["releases"]) for k, v in state["windows"].items()} == {
        "2025-03-01T00:00:00/2025-03-01T06:00:00": (2, 3),
        "2025-03-01T06:00:00/2025-03-01T12:00:00": (2, 3),
    }
    files = read_manifest(folder)["files"]
    assert (
        "cursor=QUJD100" in files["find_a_tender-20250301T000000-20250301T060000-0002.json"]["url"]
    )
    # Run again at the same time: every window is saved, nothing is asked.
    again = fetch_source(catalogue, "find-a-tender", now=now, sleep=Sleeps())
    assert (again.status, again.requests, again.downloaded) == ("ok", 0, [])
    assert len(server.hits) == 4
    # Six hours later: only the new quarter day.
    later = fetch_source(catalogue, "find-a-tender", now=datetime(2025, 3, 1, 18), sleep=Sleeps())
    assert later.status == "ok" and len(later.downloaded) == 2
    assert [h[2]["updatedFrom"][0] for h in server.hits[4:]] == ["2025-03-01T12:00:00Z"] * 2
    # The pages ingest as OCDS release packages; the manifest (hidden) is not read.
    from tests.conftest import ingest_all, query

    ingest_all(catalogue, tmp_path / "w.duckdb")
    assert query(
        tmp_path / "w.duckdb",
        "select count(distinct file_path), count(*) from raw.releases",
    ) == [(6, 9)]


def test_fts_429_with_its_real_text_is_waited_out_and_the_same_page_asked_again(tmp_path, server):
    cursor_hits = []

    def route(h, n, q):
        frm = q["updatedFrom"][0]
        if "cursor" not in q:
            nxt = f"{server.url}{FTS_PATH}?cursor=Y3Vyc29y&updatedFrom={frm}"
            send(h, json.dumps(package([release(1, frm)], nxt)).encode())
            return
        cursor_hits.append(q["cursor"][0])
        if len(cursor_hits) == 1:  # as the ELB answers: no Retry-After
            send(h, FTS_429, 429, {"Content-Type": "text/plain"})
        elif len(cursor_hits) == 2:
            send(h, FTS_429, 429, {"Content-Type": "text/plain", "Retry-After": "7"})
        else:
            send(h, json.dumps(package([release(2, frm)])).encode())

    server.routes[FTS_PATH] = route
    result, sleeps, folder, _ = run_api(
        tmp_path, server, "find_a_tender", datetime(2025, 3, 1, 6), since="2025-03-01"
    )
    assert result.status == "ok", result.errors
    # Two minutes (the limit's window) when no Retry-After is given, else what it says; the
    # 429s were not retried behind our back by urllib3: three asks of the same cursor.
    assert result.waits == [120.0, 7.0]
    assert 120.0 in sleeps.waits and 7.0 in sleeps.waits
    assert cursor_hits == ["Y3Vyc29y"] * 3 and len(server.hits) == 4
    assert visible_releases(folder) == [
        "ocds-h6vhtk-000001-tender-1",
        "ocds-h6vhtk-000002-tender-1",
    ]
    assert read_manifest(folder)["apis"]["find_a_tender"]["fetched_to"] == "2025-03-01T06:00:00"


def test_fts_still_throttled_after_its_retries_gives_up_and_leaves_nothing(tmp_path, server):
    def route(h, n, q):
        if "cursor" not in q:
            nxt = f"{server.url}{FTS_PATH}?cursor=eA&updatedFrom=x"
            send(h, json.dumps(package([release(1, "2025-03-01T01:00:00Z")], nxt)).encode())
        else:
            send(h, FTS_429, 429)

    server.routes[FTS_PATH] = route
    result, sleeps, folder, _ = run_api(
        tmp_path,
        server,
        "find_a_tender",
        datetime(2025, 3, 1, 6),
        since="2025-03-01",
        throttle_retries=2,
        throttle_wait=30,
    )
    assert result.status == "failed" and result.waits == [30.0, 30.0]
    assert (
        "HTTP 429" in result.errors[0]
        and "12 request limit in 2 minute exceeded" in (result.errors[0])
    )
    assert "still throttled after 2 waits" in result.errors[0]
    assert files_in(folder) == [".manifest.json"]  # the window's first page went too
    assert "fetched_to" not in read_manifest(folder)["apis"]["find_a_tender"]


def test_fts_long_window_answered_incompletely_is_split_until_complete(tmp_path, server):
    """Like the real service, the fake answers a window longer than six hours with its first
    page only and no next link; shorter windows page properly. Fetched in one-day windows,
    every release still arrives, once, from windows the answer was complete for."""
    day = [release(n, f"2025-03-01T{h:02d}:30:00Z") for n, h in enumerate((1, 3, 5, 13, 21), 1)]
    asked = []

    def route(h, n, q):
        frm = datetime.fromisoformat(q["updatedFrom"][0].rstrip("Z"))
        to = datetime.fromisoformat(q["updatedTo"][0].rstrip("Z"))
        limit, skip = int(q["limit"][0]), int(q.get("cursor", ["0"])[0])
        asked.append((frm.hour, to.hour or 24, skip))
        inside = [r for r in day if frm <= datetime.fromisoformat(r["date"].rstrip("Z")) < to]
        page = inside[skip : skip + limit]
        more = skip + limit < len(inside) and to - frm <= timedelta(hours=6)
        nxt = (
            f"{server.url}{FTS_PATH}?updatedFrom={q['updatedFrom'][0]}"
            f"&updatedTo={q['updatedTo'][0]}&limit={limit}&cursor={skip + limit}"
            if more
            else None
        )
        send(h, json.dumps(package(page, nxt)).encode())

    server.routes[FTS_PATH] = route
    result, _, folder, _ = run_api(
        tmp_path,
        server,
        "find_a_tender",
        datetime(2025, 3, 2),
        since="2025-03-01",
        window_days=1,
        page_size=2,
        min_window_minutes=180,
    )
    assert result.status == "ok", result.errors
    assert asked[0] == (0, 24, 0)  # the long window: two releases, a full page, no next
    assert sorted(visible_releases(folder)) == sorted(r["id"] for r in day)
    state = read_manifest(folder)["apis"]["find_a_tender"]
    lengths = {
        key: datetime.fromisoformat(key.split("/")[1]) - datetime.fromisoformat(key.split("/")[0])
        for key in state["windows"]
    }
    assert all(length <= timedelta(hours=6) for length in lengths.values()), lengths
    assert sum(w["releases"] for w in state["windows"].values()) == 5
    assert state["fetched_to"] == "2025-03-02T00:00:00" and "looks_incomplete" not in state
    assert not [p for p in folder.iterdir() if p.name.endswith((".page", ".partial"))]


def test_fts_window_still_full_at_the_shortest_is_kept_and_said(tmp_path, server):
    server.routes[FTS_PATH] = lambda h, n, q: send(
        h, json.dumps(package([release(1, "x"), release(2, "x")])).encode()
    )
    result, _, folder, _ = run_api(
        tmp_path,
        server,
        "find_a_tender",
        datetime(2025, 3, 1, 0, 20),
        since="2025-03-01",
        page_size=2,
    )
    assert result.status == "failed" and "already the shortest" in result.errors[0]
    state = read_manifest(folder)["apis"]["find_a_tender"]
    assert state["looks_incomplete"] == ["2025-03-01T00:00:00/2025-03-01T00:20:00"]
    assert state["windows"]["2025-03-01T00:00:00/2025-03-01T00:20:00"]["looks_incomplete"]
    assert len(visible_releases(folder)) == 2 and state["fetched_to"] == "2025-03-01T00:20:00"


LATIN1_TITLE = "Café refurbishment, £12,500 – Ashby’s depot"


def test_cf_403_throttle_waits_five_minutes_then_latin1_pages_are_written_as_utf8(tmp_path, server):
    def route(h, n, q):
        if n == 1:  # Contracts Finder's undocumented "too many requests"
            send(h, b"<html><body>403 Forbidden</body></html>", 403, {"Content-Type": "text/html"})
            return
        frm = q.get("publishedFrom", ["?"])[0]
        if "cursor" in q:
            body = package([release(2, "2025-01-05T10:00:00Z", "Tée £5")])
        else:
            nxt = f"{server.url}{CF_PATH}?publishedFrom={frm}&cursor=MTAw"
            body = package([release(1, "2025-01-03T10:00:00Z", LATIN1_TITLE)], nxt)
        text = json.dumps(body, ensure_ascii=False)
        send(h, text.encode("cp1252"), headers={"Content-Type": "application/json"})

    server.routes[CF_PATH] = route
    result, sleeps, folder, catalogue = run_api(
        tmp_path, server, "contracts_finder", datetime(2025, 1, 10, 9), since="2025-01-01"
    )
    assert result.status == "ok", result.errors
    assert result.waits == [300.0] and sleeps.waits == [300.0]
    # Dates only, one 15-day window (capped at now), 100 a page; the 403 page asked again.
    queries = [h[2] for h in server.hits]
    assert [(q["publishedFrom"][0], q["publishedTo"][0], q["limit"][0]) for q in queries[:2]] == [
        ("2025-01-01", "2025-01-10", "100")
    ] * 2
    assert queries[2]["cursor"] == ["MTAw"] and len(server.hits) == 3
    names = [
        "contracts_finder-20250101T000000-20250110T090000-0001.json",
        "contracts_finder-20250101T000000-20250110T090000-0002.json",
    ]
    assert files_in(folder) == [".manifest.json", *names]
    raw = (folder / names[0]).read_bytes()
    assert "£12,500".encode() in raw and "Café".encode() in raw and "’".encode() in raw
    assert json.loads(raw.decode("utf-8"))["releases"][0]["tender"]["title"] == LATIN1_TITLE
    second = json.loads((folder / names[1]).read_text(encoding="utf-8"))
    assert second["releases"][0]["tender"]["title"] == "Tée £5"
    entry = read_manifest(folder)["files"][names[0]]
    assert entry["transcoded_from"] == "windows-1252"
    assert entry["sha256"] == hashlib.sha256(raw).hexdigest() and entry["size"] == len(raw)
    assert read_manifest(folder)["files"][names[1]]["transcoded_from"] == "iso8859-1"
    from tests.conftest import ingest_all, query

    ingest_all(catalogue, tmp_path / "w.duckdb")
    titles = query(
        tmp_path / "w.duckdb",
        "select json_extract_string(release_json, '$.tender.title') from raw.releases"
        " order by release_id",
    )
    assert titles == [(LATIN1_TITLE,), ("Tée £5",)]


@pytest.mark.parametrize(
    ("raw", "encoding", "content_type", "expected"),
    [
        ("£5 café".encode("latin-1"), "iso-8859-1", None, ("£5 café", "iso8859-1")),
        ("£5 café".encode(), "iso-8859-1", None, ("£5 café", "utf-8")),  # UTF-8 after all
        ("it’s €5".encode("cp1252"), "iso-8859-1", None, ("it’s €5", "windows-1252")),
        ("£5".encode("latin-1"), None, "application/json; charset=ISO-8859-1", ("£5", "iso8859-1")),
    ],
)
def test_decode_page(raw, encoding, content_type, expected):
    from oversight.fetch.fetch import decode_page

    assert decode_page(raw, encoding, content_type) == expected


def test_decode_page_refuses_a_page_it_cannot_read():
    from oversight.fetch.download import FetchError
    from oversight.fetch.fetch import decode_page

    with pytest.raises(FetchError, match="fetch.encoding"):
        decode_page("£5".encode("latin-1"), None, "application/json")


def test_retry_after_in_seconds_or_as_a_date():
    from oversight.fetch.download import retry_after

    assert retry_after("120") == 120.0 and retry_after(None) is None and retry_after("soon") is None
    assert 0 <= retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0  # long past: no wait
