"""Fetch layer: download what publishers released since the last run into `data/raw/`
(sources with `fetch: {enabled: true}` in the catalogue; the others are skipped)."""

import dagster as dg

from assets.resources import SourceCatalogue
from oversight.fetch.fetch import fetch_source

DOWNLOADS = dg.AssetKey(["raw", "downloads"])
FETCH_SUCCEEDED = "fetch_succeeded"


def build_fetch_asset(partitions: dg.PartitionsDefinition):
    @dg.multi_asset(
        name="fetch_sources",
        specs=[
            dg.AssetSpec(
                DOWNLOADS,
                group_name="raw",
                kinds={"http"},
                description="Files and OCDS pages downloaded from publishers into data/raw/, "
                "with a manifest per folder (URL, hash, headers, when). Conditional requests: "
                "unchanged files are not downloaded again. Fetching is off for a source until "
                "its catalogue entry says `fetch: {enabled: true}`.",
            )
        ],
        check_specs=[
            dg.AssetCheckSpec(
                FETCH_SUCCEEDED,
                asset=DOWNLOADS,
                description="Every enabled source fetched without error (WARN: a failed source "
                "does not stop the others, and its files from earlier runs stay).",
            )
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def fetch_sources(context: dg.AssetExecutionContext, catalogue: SourceCatalogue):
        cat = catalogue.load()
        results = []
        for n, key in enumerate(context.partition_keys, start=1):
            result = fetch_source(cat, key)
            results.append(result)
            context.log.info(
                f"[{key}] source {n}/{len(context.partition_keys)}: "
                f"{result.status}, {len(result.downloaded)} downloaded, "
                f"{len(result.unchanged)} unchanged, {len(result.errors)} errors"
            )
        lines = [
            "| source | status | downloaded | unchanged | requests | first error |",
            "|---|---|---:|---:|---:|---|",
        ]
        lines += [
            f"| {r.source_id} | {r.status} | {len(r.downloaded)} | {len(r.unchanged)} | "
            f"{r.requests} | {(r.errors[:1] or [''])[0][:200]} |"
            for r in results
        ]
        yield dg.MaterializeResult(
            asset_key=DOWNLOADS,
            metadata={
                "fetch summary": dg.MetadataValue.md("\n".join(lines)),
                "files downloaded": sum(len(r.downloaded) for r in results),
            },
        )
        failed = [r for r in results if r.status == "failed"]
        yield dg.AssetCheckResult(
            asset_key=DOWNLOADS,
            check_name=FETCH_SUCCEEDED,
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "sources failed": len(failed),
                "reasons": dg.MetadataValue.md(
                    "\n".join(f"- **{r.source_id}**: {e}" for r in failed for e in r.errors[:5])
                    or "none"
                ),
            },
        )

    return fetch_sources
