"""The sample's notices are valid OCDS with the extensions they declare, checked offline: every
DRR release (the packages and the JSON Lines file) against OCDS 1.1 with the UK, metrics,
performance failures and contract completion extensions applied as JSON Merge Patch (the
schemas in ../shared/data/ocds-schema, read with the helpers of tests/test_ocds_out.py), each
notice type where Find a Tender puts it, and the sample's registers exported as releases
(`register-releases.json`) valid OCDS 1.1."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from oversight.core.catalogue import load_catalogue
from oversight.core.warehouse import open_warehouse
from oversight.ingest.load import ingest_source
from oversight.outputs.ocds_out import build_package
from oversight.sample.drr_notices import EXTENSIONS
from tests.conftest import PROJECT
from tests.test_ocds_out import PUBLISHED, SCHEMAS, assert_valid, formats, needs_schemas, schema

NOTICES = PROJECT / "data" / "raw" / "drr" / "notices"
# The extension folders in ../shared/data/ocds-schema, in the order they are applied.
EXTENSION_FOLDERS = ("metrics-extension", "contract_completion-extension", "uk-extension")
# The performance failures extension is not in ../shared/data/ocds-schema (the UK extension
# patches its `PerformanceFailure` but does not declare the field): its one field, as that
# extension declares it, so that the UK fields of each failure are checked too.
PERFORMANCE_FAILURES = {
    "definitions": {
        "PerformanceFailure": {"type": "object"},
        "Implementation": {
            "properties": {
                "performanceFailures": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/PerformanceFailure"},
                    "uniqueItems": True,
                }
            }
        },
    }
}
# Where Find a Tender puts each notice's document, and its documentType.
PLACES = {
    "UK1": ("planning", "plannedProcurementNotice"),
    "UK2": ("planning", "marketEngagementNotice"),
    "UK3": ("planning", "plannedProcurementNotice"),
    "UK4": ("tender", "tenderNotice"),
    "UK6": ("awards", "awardNotice"),
    "UK7": ("contracts", "contractNotice"),
    "UK9": ("implementation", "implementationNotice"),
    "UK10": ("contracts", "contractAmendmentNotice"),
    "UK11": ("contracts", "contractTerminationNotice"),
}


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def extended_release_schema() -> dict:
    release = schema("release-schema.json")
    for folder in EXTENSION_FOLDERS:
        release = merge_patch(release, schema(f"{folder}/release-schema.json"))
    return merge_patch(release, PERFORMANCE_FAILURES)  # type: ignore[return-value]


def validators() -> tuple[Draft4Validator, Draft4Validator]:
    """(release package, release) validators with the extensions applied, every `$ref`
    resolved from the local files (nothing is fetched)."""
    package, release = schema("release-package-schema.json"), extended_release_schema()
    registry = Registry().with_resources(
        (s["id"], Resource.from_contents(s, default_specification=DRAFT4))
        for s in (package, release)
    )
    return (
        Draft4Validator(package, registry=registry, format_checker=formats()),
        Draft4Validator(release, format_checker=formats()),
    )


def errors(validator: Draft4Validator, instance: object) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def drr_releases() -> list[dict]:
    out = []
    for path in sorted(NOTICES.iterdir()):
        if path.suffix == ".jsonl":
            out += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        else:
            out += json.loads(path.read_text("utf-8"))["releases"]
    return out


@needs_schemas
def test_every_drr_release_is_valid_with_its_extensions():
    package_validator, release_validator = validators()
    packages = sorted(NOTICES.glob("*.json"))
    assert [p.name for p in packages] == ["2024-25-releases.json", "2026-27-releases.json"]
    for path in packages:
        package = json.loads(path.read_text("utf-8"))
        assert package["extensions"] == EXTENSIONS
        assert errors(package_validator, package) == [], path.name
    lines = (NOTICES / "2025-26-releases.jsonl").read_text("utf-8").splitlines()
    assert len(lines) > 20
    for n, line in enumerate(lines, start=1):
        assert errors(release_validator, json.loads(line)) == [], f"line {n}"


@needs_schemas
def test_the_extensions_are_applied():
    """A release breaking an extension's field is caught: the patches are in force."""
    _, validator = validators()
    failure = next(
        r
        for r in drr_releases()
        if r.get("contracts")
        and "performanceFailures" in r["contracts"][0].get("implementation", {})
    )
    broken = copy.deepcopy(failure)
    found = broken["contracts"][0]["implementation"]["performanceFailures"][0]
    found["penaltyType"] = "fined"  # the UK's closed penaltyType codelist
    found["penaltyValue"]["amount"] = "£45,000"  # a Value's amount is a number
    broken["contracts"][0]["implementation"]["documents"][0]["noticeType"] = 9
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(broken)}
    at = ("contracts", 0, "implementation")
    assert at + ("performanceFailures", 0, "penaltyType") in paths
    assert at + ("performanceFailures", 0, "penaltyValue", "amount") in paths
    assert at + ("documents", 0, "noticeType") in paths
    rating = next(
        r
        for r in drr_releases()
        if r.get("contracts") and "metrics" in r["contracts"][0].get("implementation", {})
    )
    broken = copy.deepcopy(rating)
    metric = broken["contracts"][0]["implementation"]["metrics"][0]
    metric["observations"][0]["measureClassification"] = "below"  # a Classification object
    del metric["id"]  # required by the metrics extension
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(broken)}
    assert at + ("metrics", 0, "observations", 0, "measureClassification") in paths
    assert at + ("metrics", 0) in paths


def test_each_notice_type_is_where_find_a_tender_puts_it():
    seen = set()
    for release in drr_releases():
        places = {
            "planning": (release.get("planning") or {}).get("documents", []),
            "tender": (release.get("tender") or {}).get("documents", []),
            "awards": [d for a in release.get("awards", []) for d in a.get("documents", [])],
            "contracts": [d for c in release.get("contracts", []) for d in c.get("documents", [])],
            "implementation": [
                d
                for c in release.get("contracts", [])
                for d in (c.get("implementation") or {}).get("documents", [])
            ],
        }
        typed = [(where, d) for where, docs in places.items() for d in docs if "noticeType" in d]
        if release["ocid"] == "ocds-drr001-000101":  # before the Act: no notice types
            assert typed == []
            continue
        assert len(typed) <= 1, release["id"]
        for where, document in typed:
            assert PLACES[document["noticeType"]] == (where, document["documentType"])
            seen.add(document["noticeType"])
        if not typed:  # the s70 payments: transactions only
            assert release["contracts"][0]["implementation"]["transactions"]
    assert seen == set(PLACES)


@needs_schemas
def test_the_sample_registers_exported_as_releases_are_valid_ocds(tmp_path: Path):
    """`register-releases.json` of the sample's registers (ingested alone, as in
    test_ocds_out's real-register test): valid OCDS 1.1."""
    catalogue = load_catalogue(PROJECT / "catalogue" / "sources.yaml")
    registers = [s.id for s in catalogue.sources if s.kind == "contract_register"]
    assert len(registers) == 3
    with open_warehouse(tmp_path / "w.duckdb") as con:
        for source in registers:
            ingest_source(con, catalogue, source)
        package = build_package(con, published=PUBLISHED)
    assert len(package["releases"]) > 100
    assert_valid(package)


@pytest.mark.parametrize("folder", EXTENSION_FOLDERS)
def test_the_extension_schemas_are_here(folder):
    if not (SCHEMAS / "release-schema.json").is_file():
        pytest.skip(f"the OCDS 1.1 schemas are not here ({SCHEMAS})")
    assert (SCHEMAS / folder / "release-schema.json").is_file()
