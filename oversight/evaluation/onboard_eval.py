"""How far `oversight.onboard.onboard` gets on its own, measured on the real published files.

For every real folder with a hand-written entry in `tests/catalogues/real.yaml` (spend and
registers; notices need no mapping), the onboarding proposal, taken with no hand edit, is
ingested beside the hand-written entry, each into its own temporary warehouse by the real
ingest code, and their typed rows are compared: keyed by file, part and row number, on every
canonical column of the kind. A row is equal when it is in both and every canonical value is
equal; the share is equal rows over rows in either.

Hand edits: the fewest changes to the proposal that reach 100%, each change one setting as
the analyst would type it (one canonical column's spellings, one `values` key, the publisher),
found greedily: each round applies the change to the hand entry's setting that raises the share
most; when no single change raises it, the remaining differences are all counted.

The onboarding is run as an analyst would: `--id` and `--publisher` given (they know whose
files they are), nothing else. `HELD_OUT` was chosen before its files were looked at and was
never used to tune the onboarding; it is reported apart.

    python -m oversight.evaluation.onboard_eval [SOURCE_ID ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml
from tabulate import tabulate

from oversight.core import settings
from oversight.core.catalogue import Layout, Source
from oversight.core.schema import TABLES, column_names
from oversight.ingest.mapping import fold
from oversight.onboard.onboard import dry_run, ingest_entry, read_target
from oversight.onboard.propose import propose

REAL_CATALOGUE = settings.PROJECT_ROOT / "tests" / "catalogues" / "real.yaml"
HELD_OUT = frozenset({"bradford-spend"})  # chosen before its files were looked at

Key = tuple[str, str, int]  # file path, part, row number


@dataclass
class FolderResult:
    """One real folder: rows in either ingest, rows equal, the onboarding's wall time (proposal
    and dry run), and the hand edits that reach 100%."""

    source_id: str
    folder: str
    rows: int
    equal: int
    seconds: float
    cells: float = 1.0  # share of cells equal
    edits: list[str] = field(default_factory=list)
    held_out: bool = False
    own_layout: bool = True

    @property
    def share(self) -> float:
        return self.equal / self.rows if self.rows else 1.0


def typed_rows(entry: dict[str, Any], raw_dir: Path, layouts_file: Path | None) -> dict[Key, tuple]:
    """The entry's staging rows (canonical columns only), ingested into a temporary warehouse,
    by file, part and row number."""
    kind = entry["kind"]
    columns = ", ".join(column_names(kind))
    with tempfile.TemporaryDirectory(prefix="onboard-eval-") as tmp:
        warehouse, _ = ingest_entry(entry, raw_dir, layouts_file, Path(tmp))
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            rows = con.execute(
                f"select file_path, coalesce(part, ''), row_number, {columns} from {TABLES[kind]}"
            ).fetchall()
        finally:
            con.close()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


@dataclass
class Comparison:
    """Two ingests' typed rows side by side: rows (and cells) equal, of rows (cells) in either,
    and the canonical columns with a cell that differs."""

    equal: int
    rows: int
    equal_cells: int
    cells: int
    columns: set[str]

    @property
    def share(self) -> float:
        return self.equal / self.rows if self.rows else 1.0


def compare(got: dict[Key, tuple], expected: dict[Key, tuple], kind: str) -> Comparison:
    """Row by row, keyed by file, part and row number; a row in one only differs in every
    cell."""
    names = column_names(kind)
    keys = got.keys() | expected.keys()
    equal = equal_cells = 0
    differ: set[str] = set()
    for key in keys:
        a, b = got.get(key), expected.get(key)
        if a is not None and b is not None:
            same = [x == y for x, y in zip(a, b, strict=True)]
            equal += all(same)
            equal_cells += sum(same)
            differ |= {c for c, ok in zip(names, same, strict=True) if not ok}
        else:
            differ |= {c for c, v in zip(names, a or b or (), strict=True) if v is not None}
    return Comparison(equal, len(keys), equal_cells, len(keys) * len(names), differ)


def effective(entry: dict[str, Any], layouts: dict[str, Layout]) -> dict[str, Any]:
    """The settings of an entry that decide its typed rows, one key per setting an analyst
    could edit: 'columns.<column>' (its spellings, folded), 'values.<key>', 'read.<key>',
    'publisher', 'multi_buyer'."""
    source = Source.model_validate(entry)
    columns = dict(layouts[source.layout].columns) if source.layout else {}
    columns.update(source.columns)
    out: dict[str, Any] = {
        f"columns.{c}": frozenset(fold(s) for s in spellings) for c, spellings in columns.items()
    }
    out["spellings"] = {f"columns.{c}": list(spellings) for c, spellings in columns.items()}
    out |= {f"values.{k}": v for k, v in source.values.model_dump().items()}
    out |= {f"read.{k}": v for k, v in source.read.model_dump().items()}
    out |= {"publisher": source.publisher, "multi_buyer": source.multi_buyer}
    return out


def as_entry(setting: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """A catalogue entry with these settings, every column spelt out (no layout)."""

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple | list) else value

    entry = {k: base[k] for k in ("id", "kind", "folder", "files")}
    entry |= {"publisher": setting["publisher"], "multi_buyer": setting["multi_buyer"]}
    entry["columns"] = {
        key.removeprefix("columns."): spellings
        for key, spellings in setting["spellings"].items()
        if key in setting
    }
    for group in ("values", "read"):
        entry[group] = {
            k.removeprefix(f"{group}."): plain(v)
            for k, v in setting.items()
            if k.startswith(f"{group}.")
        }
    return entry


def change(setting: dict[str, Any], key: str, target: dict[str, Any]) -> dict[str, Any]:
    """The setting with one key changed to the target's (removed when the target lacks it)."""
    out = dict(setting, spellings=dict(setting["spellings"]))
    if key in target:
        out[key] = target[key]
        if key.startswith("columns."):
            out["spellings"][key] = target["spellings"][key]
    else:
        out.pop(key, None)
    return out


def hand_edits(
    proposed: dict[str, Any],
    hand: dict[str, Any],
    layouts: dict[str, Layout],
    raw_dir: Path,
    layouts_file: Path | None,
    expected: dict[Key, tuple],
) -> list[str]:
    """The changes that take the proposal's rows to the hand entry's, greedily: each round
    tries every setting that differs from the hand entry's (a column's spellings only when that
    column's cells differ) and keeps the one that makes the most cells equal."""
    setting, target = effective(proposed, layouts), effective(hand, layouts)
    kind = proposed["kind"]

    def measure(s: dict[str, Any]) -> Comparison:
        rows = typed_rows(as_entry(s, proposed), raw_dir, layouts_file)
        return compare(rows, expected, kind)

    keys = (setting.keys() | target.keys()) - {"spellings"}
    differ = sorted(k for k in keys if setting.get(k) != target.get(k))
    current = measure(setting)
    edits: list[str] = []
    while current.share < 1:
        tried = [
            k
            for k in differ
            if not k.startswith("columns.") or k.removeprefix("columns.") in current.columns
        ]
        trials = {k: measure(change(setting, k, target)) for k in tried}
        best = max(tried, key=lambda k: trials[k].equal_cells, default=None)
        if best is None or trials[best].equal_cells <= current.equal_cells:
            return edits + [f"{k} (?)" for k in tried]  # no single change helps
        setting, current = change(setting, best, target), trials[best]
        edits.append(best)
        differ.remove(best)
    return edits


def evaluate_source(
    hand: dict[str, Any],
    catalogue: Path = REAL_CATALOGUE,
    edits: bool = True,
    own_layout: bool = True,
) -> FolderResult:
    """Onboard the hand entry's folder with no hand edit, and compare its rows with the hand
    entry's. `own_layout=False` onboards as if the publisher's template were new: without the
    layout the hand entry uses."""
    target = read_target(catalogue)
    folder = target.raw_dir / hand["folder"]
    layouts = {
        name: layout
        for name, layout in target.layouts.items()
        if own_layout or name != hand.get("layout")
    }
    start = time.perf_counter()
    proposal = propose(folder, layouts, target.raw_dir, hand["id"], hand["publisher"])
    dry_run(proposal, folder, target.layouts_file)
    seconds = time.perf_counter() - start
    proposed = yaml.safe_load(proposal.yaml())[0]
    expected = typed_rows(hand, target.raw_dir, target.layouts_file)
    got = typed_rows(proposed, target.raw_dir, target.layouts_file)
    found = compare(got, expected, hand["kind"])
    result = FolderResult(
        hand["id"],
        hand["folder"],
        found.rows,
        found.equal,
        seconds,
        found.equal_cells / found.cells if found.cells else 1.0,
        held_out=hand["id"] in HELD_OUT,
        own_layout=own_layout,
    )
    if edits and found.share < 1:
        result.edits = hand_edits(
            proposed, hand, target.layouts, target.raw_dir, target.layouts_file, expected
        )
    return result


def hand_entries(catalogue: Path = REAL_CATALOGUE) -> list[dict[str, Any]]:
    """The catalogue's spend and register entries (notices need no onboarding choices)."""
    doc = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
    return [s for s in doc["sources"] if s["kind"] != "ocds"]


def table(results: list[FolderResult]) -> str:
    rows = [
        [
            r.source_id + (" (held out)" if r.held_out else ""),
            f"{r.rows:,}",
            f"{r.equal:,}",
            f"{r.share:.1%}",
            f"{r.cells:.1%}",
            f"{r.seconds:.1f}",
            len(r.edits),
            ", ".join(r.edits) or "-",
        ]
        for r in sorted(results, key=lambda r: (r.held_out, r.source_id))
    ]
    headers = [
        "folder",
        "rows",
        "rows equal",
        "share",
        "cells equal",
        "onboard s",
        "edits",
        "which",
    ]
    return tabulate(rows, headers, "github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oversight.evaluation.onboard_eval", description=__doc__
    )
    parser.add_argument("sources", nargs="*", help="source ids (default: every hand entry)")
    args = parser.parse_args(argv)
    entries = [e for e in hand_entries() if not args.sources or e["id"] in args.sources]
    if not (REAL_CATALOGUE.parent / yaml.safe_load(REAL_CATALOGUE.read_text())["raw_dir"]).is_dir():
        print("the real published files are not here: nothing to measure")
        return 1
    results: dict[bool, list[FolderResult]] = {True: [], False: []}
    for entry in entries:
        for own in (True, False) if entry.get("layout") else (True,):
            r = evaluate_source(entry, own_layout=own)
            results[own].append(r)
            how = "" if not entry.get("layout") else " (with its layout)" if own else " (without)"
            print(
                f"{r.source_id}{how}: {r.share:.1%} rows equal, {r.cells:.1%} cells, "
                f"{r.seconds:.1f} s, {len(r.edits)} edits"
            )
    print("\nWith the catalogue's layouts:\n")
    print(table(results[True]))
    if results[False]:
        print("\nWithout the publisher's own layout (as if its template were new):\n")
        print(table(results[False]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
