"""Every OCDS shape reads, told apart by content (never the file name): a release package, a
record package, a bare release, a bare record (embedded releases, or only a compiledRelease),
JSON Lines of releases or of packages, and a zip of any of them. A record whose releases are
only linked cannot be read offline: it is quarantined with that reason, never loaded empty."""

import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from oversight.ingest.ocds import FileError, iter_items
from tests.conftest import REAL, OneSource, needs_real

LINKED_ONLY = (
    "record {} lists its releases only as links (url); they cannot be read offline: "
    "fetch the releases (or a release package) instead"
)


def release(ocid: str, rid: str, when: str, supplier: str, amount: int) -> dict:
    return {
        "ocid": ocid,
        "id": rid,
        "date": when,
        "tag": ["award"],
        "initiationType": "tender",
        "buyer": {"name": "Test Council"},
        "awards": [
            {
                "id": "A1",
                "value": {"amount": amount, "currency": "GBP"},
                "suppliers": [{"name": supplier}],
            }
        ],
    }


def linked(ocid: str, n: int) -> dict:
    return {
        "url": f"https://example.org/{ocid}/{n}.json",
        "date": f"2024-0{n}-01T00:00:00Z",
        "tag": ["award"],
    }


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.fixture
def notices(one_source) -> OneSource:
    return one_source(kind="ocds", layout=None, files=["*.json", "*.jsonl", "*.zip"])


def counts(src: OneSource, name: str) -> tuple:
    row = src.file_row(name)
    assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"]
    return row["status"], row["rows_read"], row["rows_loaded"], row["rows_quarantined"]


def contracts(src: OneSource) -> list[tuple]:
    return src.rows("select ocid, supplier_name, total_value from staging.contracts order by ocid")


def test_a_bare_release(notices):
    notices.file(
        "notice.json", dumps(release("ocds-b-1", "r1", "2024-03-01T00:00:00Z", "Alder Ltd", 1200))
    )
    notices.ingest()
    assert counts(notices, "notice.json") == ("loaded", 1, 1, 0)
    assert contracts(notices) == [("ocds-b-1", "Alder Ltd", Decimal("1200.00"))]
    assert notices.rows("select release_id, row_number, part from raw.releases") == [("r1", 1, "")]


def test_a_bare_release_with_a_byte_order_mark(notices):
    body = dumps(release("ocds-b-2", "r1", "2024-03-01T00:00:00Z", "Alder Ltd", 1200))
    notices.file("notice.json", b"\xef\xbb\xbf" + body)
    notices.ingest()
    assert counts(notices, "notice.json") == ("loaded", 1, 1, 0)
    assert contracts(notices) == [("ocds-b-2", "Alder Ltd", Decimal("1200.00"))]


def test_a_bare_release_that_is_bad_is_quarantined_not_failed(notices):
    notices.file("notice.json", dumps({"ocid": "  ", "id": "r1", "date": "2024-03-01"}))
    notices.ingest()
    assert counts(notices, "notice.json") == ("loaded", 1, 0, 1)
    assert notices.rows("select row_number, reason from raw.quarantine") == [
        (1, "release has no ocid")
    ]


def test_a_bare_record_with_embedded_releases(notices):
    first = release("ocds-r-1", "r1", "2024-01-10T00:00:00Z", "Birch Ltd", 1000)
    second = release("ocds-r-1", "r2", "2024-06-01T00:00:00Z", "Birch Ltd", 1500)
    stale = release("ocds-r-1", "compiled", "2024-06-01T00:00:00Z", "Stale Ltd", 9999)
    # Embedded releases win over the compiledRelease; the record has no `id` of its own.
    record = {"ocid": "ocds-r-1", "releases": [second, first], "compiledRelease": stale}
    notices.file("record.json", dumps(record))
    notices.ingest()
    assert counts(notices, "record.json") == ("loaded", 2, 2, 0)
    assert contracts(notices) == [("ocds-r-1", "Birch Ltd", Decimal("1500.00"))]
    assert notices.rows("select release_id from raw.releases order by release_date") == [
        ("r1",),
        ("r2",),
    ]
    # Compiled in date order: the award appeared in r1 (dated by it, at its value then).
    assert notices.rows(
        "select event_type, event_date, value_after, release_id from staging.contract_events"
    ) == [("award", date(2024, 1, 10), Decimal("1000.00"), "r1")]


def test_a_bare_record_with_only_a_compiled_release(notices):
    compiled = release("ocds-r-2", "ocds-r-2-compiled", "2024-05-01T00:00:00Z", "Cedar Ltd", 2500)
    compiled["tag"] = ["compiled"]
    notices.file("record.json", dumps({"ocid": "ocds-r-2", "compiledRelease": compiled}))
    notices.ingest()
    assert counts(notices, "record.json") == ("loaded", 1, 1, 0)
    assert contracts(notices) == [("ocds-r-2", "Cedar Ltd", Decimal("2500.00"))]
    assert notices.rows("select release_id, tags from raw.releases") == [
        ("ocds-r-2-compiled", '["compiled"]')
    ]


def test_a_record_package_with_linked_releases_quarantines_only_that_record(notices):
    compiled = release("ocds-p-3", "c3", "2024-04-01T00:00:00Z", "Elm Ltd", 4000)
    package = {
        "version": "1.1",
        "records": [
            {
                "ocid": "ocds-p-1",
                "releases": [release("ocds-p-1", "r1", "2024-01-01T00:00:00Z", "Dale Ltd", 3000)],
            },
            {"ocid": "ocds-p-2", "releases": [linked("ocds-p-2", 1), linked("ocds-p-2", 2)]},
            # Linked releases and a compiled release: the compiled release is read.
            {"ocid": "ocds-p-3", "releases": [linked("ocds-p-3", 1)], "compiledRelease": compiled},
        ],
    }
    notices.file("records.json", dumps(package))
    notices.ingest()
    assert counts(notices, "records.json") == ("loaded", 3, 2, 1)
    reason, raw = notices.rows("select reason, raw_text from raw.quarantine")[0]
    assert reason == LINKED_ONLY.format("ocds-p-2")
    assert "https://example.org/ocds-p-2/2.json" in raw
    assert notices.rows("select row_number from raw.quarantine") == [(2,)]
    assert contracts(notices) == [
        ("ocds-p-1", "Dale Ltd", Decimal("3000.00")),
        ("ocds-p-3", "Elm Ltd", Decimal("4000.00")),
    ]


def test_a_bare_record_with_only_linked_releases_is_quarantined_not_empty(notices):
    # `releases` before `ocid`: the shape is only known once the whole object has been seen.
    notices.file(
        "linked.json",
        dumps({"releases": [linked("ocds-l-1", 1), linked("ocds-l-1", 2)], "ocid": "ocds-l-1"}),
    )
    notices.file(
        "fine.json",
        dumps(release("ocds-l-2", "r1", "2024-02-01T00:00:00Z", "Fir Ltd", 500)),
    )
    notices.ingest()
    assert counts(notices, "linked.json") == ("loaded", 1, 0, 1)
    assert notices.rows("select file_path, reason from raw.quarantine") == [
        ("pub/linked.json", LINKED_ONLY.format("ocds-l-1"))
    ]
    assert contracts(notices) == [("ocds-l-2", "Fir Ltd", Decimal("500.00"))]


def test_a_release_package_without_metadata_still_reads_as_a_package(notices):
    # No `ocid` at the top: the items of `releases` are releases (one without an ocid is bad).
    body = {
        "releases": [
            release("ocds-k-1", "r1", "2024-02-01T00:00:00Z", "Gorse Ltd", 10),
            linked("x", 1),
        ]
    }
    notices.file("package.json", dumps(body))
    notices.ingest()
    assert counts(notices, "package.json") == ("loaded", 2, 1, 1)
    assert notices.rows("select row_number, reason from raw.quarantine") == [
        (2, "release has no ocid")
    ]


def test_json_lines_of_releases(notices):
    lines = [
        release("ocds-j-1", "r1", "2024-01-01T00:00:00Z", "Hazel Ltd", 100),
        release("ocds-j-1", "r2", "2024-02-01T00:00:00Z", "Hazel Ltd", 150),
        release("ocds-j-2", "r1", "2024-01-05T00:00:00Z", "Ivy Ltd", 70),
    ]
    notices.file("lines.jsonl", b"\n".join(dumps(x) for x in lines) + b"\n")
    notices.ingest()
    assert counts(notices, "lines.jsonl") == ("loaded", 3, 3, 0)
    assert contracts(notices) == [
        ("ocds-j-1", "Hazel Ltd", Decimal("150.00")),
        ("ocds-j-2", "Ivy Ltd", Decimal("70.00")),
    ]


def test_json_lines_named_json_are_recognised_by_content(notices):
    lines = [
        release("ocds-j-3", "r1", "2024-01-01T00:00:00Z", "Juniper Ltd", 100),
        release("ocds-j-4", "r1", "2024-01-05T00:00:00Z", "Kale Ltd", 80),
    ]
    notices.file("lines.json", b"\n".join(dumps(x) for x in lines) + b"\n")
    notices.ingest()
    assert counts(notices, "lines.json") == ("loaded", 2, 2, 0)
    assert notices.rows("select ocid, row_number from raw.releases order by 2") == [
        ("ocds-j-3", 1),
        ("ocds-j-4", 2),
    ]


def test_json_lines_of_packages_and_records(notices):
    lines = [
        {
            "version": "1.1",
            "releases": [
                release("ocds-m-1", "r1", "2024-01-01T00:00:00Z", "Larch Ltd", 11),
                release("ocds-m-2", "r1", "2024-01-02T00:00:00Z", "Maple Ltd", 22),
            ],
        },
        {
            "version": "1.1",
            "records": [
                {
                    "ocid": "ocds-m-3",
                    "releases": [release("ocds-m-3", "r1", "2024-01-03T00:00:00Z", "Oak Ltd", 33)],
                },
                {"ocid": "ocds-m-4", "releases": [linked("ocds-m-4", 1)]},
            ],
        },
        {
            "ocid": "ocds-m-5",
            "compiledRelease": release("ocds-m-5", "c", "2024-01-05T00:00:00Z", "Pine Ltd", 55),
        },
    ]
    body = b"\n".join(dumps(x) for x in lines) + b"\n{not json\n"
    notices.file("packages.jsonl", body)
    notices.ingest()
    # 2 releases + 2 records + 1 record + 1 bad line
    assert counts(notices, "packages.jsonl") == ("loaded", 6, 4, 2)
    assert notices.rows("select row_number, reason from raw.quarantine order by 1") == [
        (2, LINKED_ONLY.format("ocds-m-4")),
        (4, "malformed JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)"),
    ]  # fmt: skip
    assert notices.rows("select ocid, row_number from raw.releases order by 1") == [
        ("ocds-m-1", 1),
        ("ocds-m-2", 1),
        ("ocds-m-3", 2),
        ("ocds-m-5", 3),
    ]
    assert contracts(notices) == [
        ("ocds-m-1", "Larch Ltd", Decimal("11.00")),
        ("ocds-m-2", "Maple Ltd", Decimal("22.00")),
        ("ocds-m-3", "Oak Ltd", Decimal("33.00")),
        ("ocds-m-5", "Pine Ltd", Decimal("55.00")),
    ]


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_of_a_bare_release_and_a_record_package(notices):
    bare = release("ocds-z-1", "r1", "2024-01-01T00:00:00Z", "Quince Ltd", 700)
    records = {
        "version": "1.1",
        "records": [
            {
                "ocid": "ocds-z-2",
                "releases": [
                    release("ocds-z-2", "r1", "2024-01-01T00:00:00Z", "Rowan Ltd", 800),
                    release("ocds-z-2", "r2", "2024-03-01T00:00:00Z", "Rowan Ltd", 850),
                ],
            },
            {"ocid": "ocds-z-3", "releases": [linked("ocds-z-3", 1)]},
        ],
    }
    # The member names say nothing: each member's shape is read from its content.
    notices.file("bundle.zip", zipped({"a/notice.dat": dumps(bare), "b/records": dumps(records)}))
    notices.ingest()
    assert counts(notices, "bundle.zip") == ("loaded", 4, 3, 1)
    assert notices.file_row("bundle.zip")["format"] == "zip"
    assert notices.rows(
        "select ocid, release_id, part, row_number from raw.releases order by 1, 2"
    ) == [
        ("ocds-z-1", "r1", "a/notice.dat", 1),
        ("ocds-z-2", "r1", "b/records", 1),
        ("ocds-z-2", "r2", "b/records", 1),
    ]
    assert notices.rows("select part, row_number, reason from raw.quarantine") == [
        ("b/records", 2, LINKED_ONLY.format("ocds-z-3"))
    ]
    assert contracts(notices) == [
        ("ocds-z-1", "Quince Ltd", Decimal("700.00")),
        ("ocds-z-2", "Rowan Ltd", Decimal("850.00")),
    ]
    assert notices.rows("select ocid, part from staging.contracts order by 1") == [
        ("ocds-z-1", "a/notice.dat"),
        ("ocds-z-2", "b/records"),
    ]


def test_a_conflicting_release_id_inside_a_zip_is_named_with_its_member(notices):
    first = release("ocds-d-1", "r1", "2024-01-01T00:00:00Z", "Sorrel Ltd", 100)
    other = release("ocds-d-1", "r1", "2024-01-01T00:00:00Z", "Sorrel Ltd", 120)
    notices.file("bundle.zip", zipped({"one.json": dumps(first), "two.json": dumps(other)}))
    notices.ingest()
    assert notices.file_row("bundle.zip")["warnings"] == (
        "1 release has the id of another release of its ocid but different content; of "
        "releases sharing an id only the first by date, then file and position, is compiled: "
        "ocds-d-1 release r1 (compiled pub/bundle.zip:one.json #1; "
        "ignored pub/bundle.zip:two.json #1)"
    )
    assert contracts(notices) == [("ocds-d-1", "Sorrel Ltd", Decimal("100.00"))]


def test_a_bad_member_fails_the_zip_naming_the_member(notices):
    good = dumps(release("ocds-e-1", "r1", "2024-01-01T00:00:00Z", "Teak Ltd", 1))
    notices.file("bundle.zip", zipped({"good.json": good, "cut.json": good[:40]}))
    notices.ingest()
    row = notices.file_row("bundle.zip")
    assert row["status"] == "failed"
    assert row["error"].startswith("zip member 'cut.json': malformed JSON")
    assert notices.rows("select count(*) from raw.releases") == [(0,)]


def test_a_file_that_is_no_ocds_shape_fails_with_its_keys(notices):
    notices.file("other.json", dumps({"id": "x", "name": "not a notice"}))
    notices.ingest()
    assert notices.file_row("other.json")["error"] == (
        "not an OCDS release or record package: no 'releases' or 'records' "
        "(top-level keys: ['id', 'name'])"
    )


def test_a_bare_records_releases_are_streamed(tmp_path):
    """A big record's embedded releases come out one by one, like a package's."""
    path = tmp_path / "big.json"
    body = ",".join(
        json.dumps(release("ocds-s-1", f"r{i}", "2024-01-01T00:00:00Z", "Umber Ltd", i))
        for i in range(300)
    )
    path.write_text('{"ocid": "ocds-s-1", "releases": [' + body + ", {broken")
    items = iter_items(path, "json")
    assert [next(items).release["id"] for _ in range(3)] == ["r0", "r1", "r2"]
    with pytest.raises(FileError, match="malformed JSON after 300 releases"):
        list(items)


@needs_real
def test_a_real_contracts_finder_release_served_bare(notices):
    """Contracts Finder's API serves one release a file; the same release, unwrapped from its
    package, gives the same contract (the values checked in test_real_contracts_finder_packages)."""
    ocid = "ocds-b5fd17raw-1f59613d-9095-4a12-89ec-88d3372dda97"
    package = json.loads((REAL / "contracts-finder" / "ocds" / f"{ocid}.json").read_bytes())
    (bare,) = package["releases"]
    notices.file("bare.json", json.dumps(bare, indent=2).encode())
    notices.ingest()
    assert counts(notices, "bare.json") == ("loaded", 1, 1, 0)
    assert notices.rows(
        "select buyer_name, supplier_name, supplier_company_number, supplier_count, total_value "
        "from staging.contracts where ocid = ?",
        [ocid],
    ) == [("UNIVERSITY OF SHEFFIELD", "RAZOR LTD", "07003896", 3.0, Decimal("1000000.00"))]
