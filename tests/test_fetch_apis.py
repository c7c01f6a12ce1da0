"""The two OCDS APIs as they really answer, served by a local HTTP server on 127.0.0.1
(tests/http_server.py), each run with its waits recorded rather than slept."""

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from oversight.core.catalogue import load_catalogue
from oversight.fetch.download import read_manifest
from oversight.fetch.fetch import fetch_source
from tests.conftest import write_catalogue
from tests.http_server import send
from tests.test_fetch import files_in

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
