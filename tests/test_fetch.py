"""Downloads against a local HTTP server on 127.0.0.1 that serves recorded responses built
from the real files (the embedded sample when ../shared is absent) and misbehaves on purpose.
Each case ends retried, skipped with a reason, or refused, and nothing half-written reaches
the raw folder."""

import gzip
import io
import json
import logging
import time
import zipfile
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
import requests

from oversight.core.catalogue import load_catalogue
from oversight.fetch.download import MANIFEST, RateLimiter, read_manifest
from oversight.fetch.fetch import fetch_source
from pipelines.definitions import FETCH_JOB, build_defs
from tests.conftest import PROJECT, REAL, write_catalogue
from tests.http_server import send

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
