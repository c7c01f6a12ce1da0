"""Onboard a publisher: propose a catalogue entry for a folder of its published files, then try
that entry on the files.

    python -m oversight.onboard.onboard FOLDER [--id ID] [--publisher NAME] [--catalogue PATH]
        [--write]

How the entry is guessed: `oversight.onboard.propose` (with `headings` and `values`). The
proposal is printed as YAML with a comment on each guess, then ingested exactly as printed
into a temporary warehouse by the real ingest code (`dry_run`); `--write` appends it to the
catalogue as text, keeping the file's comments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml
from tabulate import tabulate

from oversight.core import settings
from oversight.core.catalogue import CatalogueError, Layout, load_catalogue
from oversight.core.schema import TABLES, column_names
from oversight.core.warehouse import open_warehouse
from oversight.ingest.load import ingest_source
from oversight.onboard.headings import n
from oversight.onboard.propose import Proposal, propose


@dataclass
class DryRun:
    """What ingesting the proposed entry did: per file, rows read, loaded and quarantined
    (and the error of a file that failed); the first typed rows of the staging table; and the
    quarantine reasons, commonest first."""

    table: str
    files: list[dict[str, Any]]
    sample: list[dict[str, Any]]
    reasons: list[tuple[str, int]]

    @property
    def totals(self) -> tuple[int, int, int]:
        return tuple(sum(f[k] or 0 for f in self.files) for k in ("read", "loaded", "quarantined"))

    def report(self) -> str:
        read, loaded, quarantined = self.totals
        lines = ["Dry run: the entry above, ingested into a temporary warehouse", ""]
        rows = [
            [f["file"], f["status"], n(f["read"] or 0), n(f["loaded"] or 0), n(f["quarantined"])]
            for f in self.files
        ]
        rows.append(["total", "", n(read), n(loaded), n(quarantined)])
        lines.append(
            tabulate(rows, ["file", "status", "rows read", "loaded", "quarantined"], "simple")
        )
        errors = [f"  {f['file']}: {f['error']}" for f in self.files if f["error"]]
        if errors:
            lines += ["", "Files not loaded:", *errors]
        lines += ["", f"First {len(self.sample)} rows of {self.table}:"]
        if self.sample:
            cells = [[_short(v) for v in r.values()] for r in self.sample]
            lines.append(tabulate(cells, list(self.sample[0]), disable_numparse=True))
        if self.reasons:
            lines += ["", f"Quarantine reasons (top {len(self.reasons)}):"]
            lines.append(tabulate([[n(k), r] for r, k in self.reasons], ["rows", "reason"]))
        return "\n".join(lines)


def _short(value: Any, width: int = 32) -> str:
    """A cell as shown in the sample: as text (amounts as published, not as floats), cut."""
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@contextmanager
def _own_raw_dir() -> Iterator[None]:
    """Without OVERSIGHT_RAW_DIR, which would point the temporary catalogue elsewhere."""
    saved = os.environ.pop(settings.RAW_DIR_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[settings.RAW_DIR_ENV] = saved


def write_catalogue(
    path: Path, entries: list[dict[str, Any]], raw_dir: Path, layouts_file: Path | None
) -> Path:
    """A catalogue of the entries, with its raw folder and the layouts file (as
    tests.conftest.write_catalogue writes one)."""
    doc: dict[str, Any] = {"raw_dir": str(raw_dir.resolve())}
    if layouts_file:
        doc["layouts_file"] = str(layouts_file.resolve())
    doc["sources"] = entries
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def ingest_entry(
    entry: dict[str, Any], raw_dir: Path, layouts_file: Path | None, work: Path
) -> tuple[Path, set[str]]:
    """Ingest one catalogue entry with the pipeline's ingest into a new warehouse in `work`;
    returns the warehouse and the canonical columns the entry maps (layout included)."""
    work.mkdir(parents=True, exist_ok=True)
    with _own_raw_dir():
        catalogue = load_catalogue(
            write_catalogue(work / "catalogue.yaml", [entry], raw_dir, layouts_file)
        )
    warehouse = work / "warehouse.duckdb"
    with open_warehouse(warehouse, timeout=0) as con:
        ingest_source(con, catalogue, entry["id"])
    return warehouse, set(catalogue.source_columns(entry["id"]))


def dry_run(proposal: Proposal, folder: Path, layouts_file: Path | None) -> DryRun:
    """Ingest exactly the proposed entry (its YAML text, parsed) from the folder into a
    temporary warehouse and report what it did."""
    entry = yaml.safe_load(proposal.yaml())[0]
    entry["folder"] = folder.resolve().name  # raw folder: the folder's parent
    entry.pop("outside_raw_dir", None)
    kind = entry["kind"]
    with tempfile.TemporaryDirectory(prefix="onboard-") as tmp:
        warehouse, mapped = ingest_entry(entry, folder.resolve().parent, layouts_file, Path(tmp))
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            return _dry_run_report(con, kind, mapped)
        finally:
            con.close()


def _dry_run_report(con: duckdb.DuckDBPyConnection, kind: str, mapped: set[str]) -> DryRun:
    files = [
        dict(zip(("file", "status", "read", "loaded", "quarantined", "error"), r, strict=True))
        for r in con.execute(
            "select file_path, status, rows_read, rows_loaded, rows_quarantined, error "
            "from raw.files order by file_path"
        ).fetchall()
    ]
    if kind == "ocds":
        table, shown = "staging.contracts", ["ocid", "title", "supplier_name", "total_value"]
        shown += ["start_date", "end_date"]
    else:
        table = TABLES[kind]
        always = {"buyer_name", "payment_date"} if kind == "spend" else {"buyer_name"}
        shown = [c for c in column_names(kind) if c in mapped | always]
    cur = con.execute(
        f"select {', '.join(shown)} from {table} order by file_path, part, row_number limit 5"
    )
    sample = [dict(zip(shown, r, strict=True)) for r in cur.fetchall()]
    reasons = con.execute(
        "select reason, count(*) from raw.quarantine group by reason order by 2 desc, 1 limit 10"
    ).fetchall()
    return DryRun(table, files, sample, [(r, int(k)) for r, k in reasons])


# -- the catalogue -----------------------------------------------------------------------------


@dataclass
class Target:
    """The catalogue an entry is proposed for: its file, raw folder and layouts."""

    path: Path
    raw_dir: Path
    layouts: dict[str, Layout]
    layouts_file: Path | None


def read_target(path: Path) -> Target:
    """The catalogue's raw folder and layouts (without validating its sources: the catalogue
    being onboarded into may be mid-edit)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    layouts_file = path.parent / doc["layouts_file"] if doc.get("layouts_file") else None
    bodies: dict[str, Any] = {}
    if layouts_file:
        included = yaml.safe_load(layouts_file.read_text(encoding="utf-8")) or {}
        bodies.update(included.get("layouts", included))
    bodies.update(doc.get("layouts") or {})
    layouts = {name: Layout.model_validate(body) for name, body in bodies.items()}
    raw_dir = settings.raw_dir_override() or (path.parent / doc.get("raw_dir", ".")).resolve()
    return Target(path, raw_dir, layouts, layouts_file)


def append_entry(path: Path, proposal: Proposal) -> None:
    """Append the entry to the catalogue file as text (its comments kept), after its last
    source; refused when the id exists or `sources:` is not the file's last key; undone if the
    entry does not validate there."""
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    source_id = proposal.entry["id"]
    if any(isinstance(s, dict) and s.get("id") == source_id for s in doc.get("sources") or []):
        raise SystemExit(f"{path} already has a source {source_id!r}: not written (use --id)")
    top = [line for line in text.splitlines() if re.match(r"[A-Za-z_]", line)]
    if not top or not top[-1].startswith("sources:"):
        raise SystemExit(f"{path}: 'sources:' is not the last key, so the entry cannot be appended")
    items = re.search(r"^( *)- ", text.split("sources:", 1)[1], re.MULTILINE)
    indent = len(items.group(1)) if items else 2
    path.write_text(text.rstrip("\n") + "\n\n" + proposal.yaml(indent), encoding="utf-8")
    try:
        catalogue = load_catalogue(path, strict=False)  # other entries' problems are not ours
        problems = [p for e in catalogue.invalid if e.id == source_id for p in e.problems]
        if source_id not in {s.id for s in catalogue.sources}:
            raise CatalogueError("the entry does not validate:\n  " + "\n  ".join(problems))
    except CatalogueError:
        path.write_text(text, encoding="utf-8")
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oversight.onboard.onboard",
        description="Propose a catalogue entry for a folder of one publisher's files, "
        "and try it on them in a temporary warehouse.",
    )
    parser.add_argument("folder", type=Path, help="the publisher's files (csv, xlsx, zip, json)")
    parser.add_argument("--id", help="the source id (default: from the folder's name)")
    parser.add_argument("--publisher", help="the body's full name (default: from the files)")
    parser.add_argument(
        "--catalogue", type=Path, help="the catalogue (default: catalogue/sources.yaml)"
    )
    parser.add_argument("--write", action="store_true", help="append the entry to the catalogue")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if args.id and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", args.id):
        parser.error(f"--id {args.id!r}: lower-case letters, digits, '-' and '_' only")
    catalogue = args.catalogue or settings.catalogue_path()
    if not catalogue.is_file():
        parser.error(f"no catalogue at {catalogue}")
    target = read_target(catalogue)
    proposal = propose(args.folder, target.layouts, target.raw_dir, args.id, args.publisher)
    print(proposal.yaml())
    print(dry_run(proposal, args.folder, target.layouts_file).report())
    if args.write:
        append_entry(target.path, proposal)
        print(f"\nAppended {proposal.entry['id']!r} to {target.path}.")
    else:
        print(f"\nNothing written: add --write to append it to {target.path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
