"""Register entries as OCDS 1.1 releases (oversight/outputs/ocds_out.py): the values on a hand-made
warehouse, the package valid against the OCDS 1.1 schemas in ../shared/data/ocds-schema
(offline: every $ref resolved from those files), and read and compiled by OCP's ocdskit."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from jsonschema import Draft4Validator, FormatChecker
from ocdskit.combine import merge
from ocdskit.util import detect_format
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import ensure_schema, load_macros, open_warehouse
from oversight.entities.resolution import resolve_and_link
from oversight.ingest.load import ingest_source
from oversight.outputs.exports import export_marts
from oversight.outputs.ocds_out import (
    FILE,
    OCID_PREFIX,
    build_package,
    charity_scheme,
    write_releases,
)
from tests.conftest import PROJECT, REAL, REAL_CATALOGUE

SCHEMAS = PROJECT.parent / "shared" / "data" / "ocds-schema"
needs_schemas = pytest.mark.skipif(
    not (SCHEMAS / "release-schema.json").is_file(),
    reason=f"the OCDS 1.1 schemas are not here ({SCHEMAS})",
)
PUBLISHED = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)

# Two snapshots of one register: NC-001 in both (its value raised in the second), a Scottish
# charity with no value and no end, a supplier printed without a number that resolution ties
# to a Companies House number printed in the spend, and a winter start.
ENTRIES = [
    dict(file_path="north/2024-01.csv", row_number=2, contract_ref="NC-001",
         title="Waste collection", buyer_name="Northmoor City Council",
         procedure="Open tender", supplier_name="Acme Waste Ltd",
         supplier_company_number="01234567", total_value=Decimal("1200000.50"),
         start_date=date(2023, 4, 1), end_date=date(2026, 3, 31),
         current_expiry_date=date(2027, 3, 31), max_end_date=date(2028, 3, 31)),
    dict(file_path="north/2024-07.csv", row_number=2, contract_ref="NC-001",
         title="Waste collection", buyer_name="Northmoor Council",
         procedure="Open tender", supplier_name="Acme Waste Ltd",
         supplier_company_number="01234567", total_value=Decimal("1300000"),
         start_date=date(2023, 4, 1), end_date=date(2026, 3, 31),
         current_expiry_date=date(2027, 3, 31), max_end_date=date(2028, 3, 31)),
    dict(file_path="north/2024-07.csv", row_number=3, contract_ref="NC-002",
         title="Youth services", buyer_name="Northmoor Council", supplier_name="Hope Trust",
         supplier_charity_number="SC012345", start_date=date(2024, 7, 15)),
    dict(file_path="north/2024-07.csv", row_number=4, contract_ref=None, title="Stationery",
         buyer_name="Northmoor Council", supplier_name="Bobs Supplies",
         annual_value=Decimal("8000"), start_date=date(2024, 1, 8),
         end_date=date(2024, 12, 31)),
]  # fmt: skip


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict) -> None:
    con.execute(
        f"insert into {table} ({', '.join(row)}) values ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def hand_made(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)
    load_macros(con)
    for entry in ENTRIES:
        row = {"source_id": "north", "part": "", "record_type": "register", **entry}
        row["contract_id"] = f"north:{entry['file_path']}#{entry['row_number']}"
        _insert(con, "staging.contracts", row)
    for path, at in (
        ("north/2024-01.csv", datetime(2024, 2, 1, 10, 0)),
        ("north/2024-07.csv", datetime(2024, 8, 1, 9, 30)),
    ):
        _insert(
            con,
            "raw.files",
            {"source_id": "north", "file_path": path, "status": "loaded", "ingested_at": at},
        )
    _insert(
        con,
        "staging.spend",
        {"source_id": "pay", "file_path": "p.csv", "part": "", "row_number": 2,
         "buyer_name": "Northmoor City Council", "payment_date": date(2024, 3, 1),
         "amount": Decimal("700"), "supplier_name": "Bobs Supplies Ltd",
         "supplier_company_number": "07654321"},
    )  # fmt: skip
    resolve_and_link(con, load_parameters())


@pytest.fixture(scope="module")
def warehouse():
    con = duckdb.connect()
    hand_made(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def package(warehouse) -> dict:
    return build_package(warehouse, published=PUBLISHED)


def by_id(package: dict) -> dict[str, dict]:
    return {r["id"]: r for r in package["releases"]}


def test_package_metadata(package):
    assert package["version"] == "1.1"
    assert package["publishedDate"] == "2025-01-31T12:00:00Z"
    assert package["uri"].startswith("https://")
    assert package["publisher"]["name"]
    assert len(package["releases"]) == len(ENTRIES)


def test_one_release_per_entry_and_one_ocid_per_contract(package):
    releases = by_id(package)
    first, again = releases["north:north/2024-01.csv#2"], releases["north:north/2024-07.csv#2"]
    assert first["ocid"] == again["ocid"]  # the same contract in two snapshots
    assert first["ocid"].startswith(OCID_PREFIX + "north-")
    assert len({r["ocid"] for r in package["releases"]}) == 3
    assert first["date"] == "2024-02-01T10:00:00Z"  # when its file was ingested
    assert again["date"] == "2024-08-01T09:30:00Z"
    assert first["tag"] == ["award", "contract"] and first["initiationType"] == "tender"
    assert first["tender"] == {"id": "NC-001-2023-04-01", "procurementMethodDetails": "Open tender"}


def test_parties_carry_uk_identifiers(package):
    releases = by_id(package)
    acme = releases["north:north/2024-01.csv#2"]
    buyer, supplier = acme["parties"]
    assert supplier == {
        "id": "GB-COH-01234567",
        "name": "Acme Waste Ltd",
        "roles": ["supplier"],
        "identifier": {"scheme": "GB-COH", "id": "01234567", "legalName": "Acme Waste Ltd"},
    }
    # Buyers: the resolved buyer, one id for both spellings, no identifier (none is held).
    assert buyer["roles"] == ["buyer"] and "identifier" not in buyer
    assert buyer["id"].startswith("buyer")
    assert acme["buyer"] == {"id": buyer["id"], "name": buyer["name"]}
    assert {r["buyer"]["id"] for r in package["releases"]} == {buyer["id"]}
    charity = releases["north:north/2024-07.csv#3"]["parties"][1]
    assert charity["identifier"] == {"scheme": "GB-SC", "id": "SC012345", "legalName": "Hope Trust"}
    assert charity["id"] == "GB-SC-SC012345"
    # No number on the register row: the number of the supplier it resolved to.
    bobs = releases["north:north/2024-07.csv#4"]
    assert bobs["parties"][1]["identifier"]["scheme"] == "GB-COH"
    assert bobs["parties"][1]["identifier"]["id"] == "07654321"
    assert bobs["awards"][0]["suppliers"] == [
        {"id": "GB-COH-07654321", "name": bobs["parties"][1]["name"]}
    ]


def test_award_and_contract_period_and_value(package):
    releases = by_id(package)
    acme = releases["north:north/2024-01.csv#2"]
    award, contract = acme["awards"][0], acme["contracts"][0]
    assert award["value"] == contract["value"] == {"amount": 1200000.5, "currency": "GBP"}
    assert contract["awardID"] == award["id"] == contract["id"] == "NC-001-2023-04-01"
    assert contract["title"] == "Waste collection"
    assert contract["period"] == {  # UK time: summer, so +01:00; the end is the current expiry
        "startDate": "2023-04-01T00:00:00+01:00",
        "endDate": "2027-03-31T23:59:59+01:00",
        "maxExtentDate": "2028-03-31T23:59:59+01:00",
    }
    assert releases["north:north/2024-07.csv#2"]["contracts"][0]["value"]["amount"] == 1300000
    youth = releases["north:north/2024-07.csv#3"]["contracts"][0]
    assert youth["period"] == {"startDate": "2024-07-15T00:00:00+01:00"}
    assert "value" not in youth
    # An annual value is not the contract's value: left out.
    stationery = releases["north:north/2024-07.csv#4"]["contracts"][0]
    assert "value" not in stationery and stationery["id"] == "contract-2024-01-08"
    assert stationery["period"] == {
        "startDate": "2024-01-08T00:00:00+00:00",
        "endDate": "2024-12-31T23:59:59+00:00",
    }


def test_charity_schemes():
    assert charity_scheme("1012345") == "GB-CHC"
    assert charity_scheme("SC012345") == "GB-SC"
    assert charity_scheme("NIC100123") == "GB-NIC"


def test_ocid_prefix_is_configurable(warehouse, monkeypatch):
    package = build_package(warehouse, ocid_prefix="ocds-abc123-", published=PUBLISHED)
    assert all(r["ocid"].startswith("ocds-abc123-north-") for r in package["releases"])
    monkeypatch.setenv("OVERSIGHT_OCID_PREFIX", "ocds-zzz999-")
    monkeypatch.setenv("OVERSIGHT_OCDS_URI", "https://data.example.gov.uk/r.json")
    package = build_package(warehouse, published=PUBLISHED)
    assert package["releases"][0]["ocid"].startswith("ocds-zzz999-north-")
    assert package["uri"] == "https://data.example.gov.uk/r.json"


def test_exports_write_the_package_and_nothing_without_registers(warehouse, tmp_path):
    written = export_marts(warehouse, tmp_path)
    assert tmp_path / FILE in written
    data = json.loads((tmp_path / FILE).read_text("utf-8"))
    assert [r["id"] for r in data["releases"]] == [
        e["id"] for e in build_package(warehouse)["releases"]
    ]
    empty = duckdb.connect()
    assert write_releases(empty, tmp_path / "none") is None
    assert not (tmp_path / "none").exists()


def test_the_file_is_left_as_it_is_while_the_registers_are_unchanged(tmp_path):
    """A night with no register change does not republish: the file keeps its bytes (and its
    publishedDate); a changed entry, or another option, writes it again."""
    con = duckdb.connect()
    hand_made(con)
    path = write_releases(con, tmp_path)
    before = path.read_bytes()
    json.loads(before)  # whole JSON, one release per line
    assert before.count(b"\n") == len(ENTRIES) + 2
    assert write_releases(con, tmp_path) == path
    assert path.read_bytes() == before
    assert write_releases(con, tmp_path, ocid_prefix="ocds-abc123-") == path
    assert b"ocds-abc123-" in path.read_bytes()
    con.execute(
        "update staging.contracts set title = 'Road gritting, renewed' where row_number = 2"
    )
    write_releases(con, tmp_path, ocid_prefix="ocds-abc123-")
    titles = {r["contracts"][0].get("title") for r in json.loads(path.read_text())["releases"]}
    assert "Road gritting, renewed" in titles
    con.close()


# --- OCP's schemas and tools ----------------------------------------------------------------


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


def formats() -> FormatChecker:
    """The draft 4 formats, with `date-time` checked here (jsonschema checks it only when
    rfc3339-validator is installed): ISO 8601 with a time zone."""
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None

    return checker


def validator() -> Draft4Validator:
    """The release package schema, its `$ref` to the release schema resolved from the local
    file (a registry with no retrieval: nothing is fetched)."""
    package, release = schema("release-package-schema.json"), schema("release-schema.json")
    registry = Registry().with_resources(
        (s["id"], Resource.from_contents(s, default_specification=DRAFT4))
        for s in (package, release)
    )
    return Draft4Validator(package, registry=registry, format_checker=formats())


def assert_valid(package: dict) -> None:
    errors = sorted(validator().iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])


@needs_schemas
def test_package_is_valid_ocds_1_1(package):
    assert_valid(package)
    # The validator does look into the releases: a broken one is caught.
    broken = json.loads(json.dumps(package))
    broken["releases"][0]["initiationType"] = "direct"
    broken["releases"][0]["contracts"][0]["value"]["amount"] = "a lot"
    paths = {tuple(e.absolute_path) for e in validator().iter_errors(broken)}
    assert ("releases", 0, "initiationType") in paths
    assert ("releases", 0, "contracts", 0, "value", "amount") in paths
    broken["releases"][0]["contracts"][0]["period"]["startDate"] = "2023-04-01T00:00:00"
    paths = {tuple(e.absolute_path) for e in validator().iter_errors(broken)}
    assert ("releases", 0, "contracts", 0, "period", "startDate") in paths  # no time zone


@needs_schemas
def test_ocdskit_reads_and_compiles_the_file(warehouse, tmp_path):
    path = write_releases(warehouse, tmp_path, published=PUBLISHED)
    assert detect_format(str(path))[0] == "release package"
    package = json.loads(path.read_text("utf-8"))
    release_schema = schema("release-schema.json")  # given, so that nothing is fetched
    records = next(merge([package], schema=release_schema, return_package=True))["records"]
    assert len(records) == 3
    acme = next(r for r in records if len(r["releases"]) == 2)
    compiled = acme["compiledRelease"]
    # The later snapshot's value wins; the period and the parties survive the merge.
    assert compiled["contracts"][0]["value"] == {"amount": 1300000, "currency": "GBP"}
    assert compiled["contracts"][0]["period"]["endDate"] == "2027-03-31T23:59:59+01:00"
    assert {p["id"] for p in compiled["parties"]} >= {"GB-COH-01234567"}
    assert compiled["tag"] == ["compiled"]
    # A compiled release is a release: valid against the release schema too.
    release_validator = Draft4Validator(release_schema, format_checker=formats())
    for record in records:
        errors = list(release_validator.iter_errors(record["compiledRelease"]))
        assert not errors, [e.message for e in errors]


@needs_schemas
@pytest.mark.skipif(not REAL.is_dir(), reason=f"the real published files are not here ({REAL})")
def test_the_real_salford_register_is_valid_ocds(tmp_path: Path):
    """The real register, ingested alone (no resolution): every entry a valid release."""
    catalogue = load_catalogue(REAL_CATALOGUE)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        ingest_source(con, catalogue, "salford-register")
        package = build_package(con, published=PUBLISHED)
        entries = con.execute(
            "select count(*) from staging.contracts where record_type = 'register'"
        ).fetchone()[0]
    assert len(package["releases"]) == entries > 300
    assert_valid(package)
    identified = [p for r in package["releases"] for p in r["parties"] if p.get("identifier")]
    assert identified and all(
        p["identifier"]["scheme"] in {"GB-COH", "GB-CHC", "GB-SC", "GB-NIC"} for p in identified
    )
    assert all(r["buyer"]["name"] == "Salford City Council" for r in package["releases"])
