"""A source's files on disk: which they are (the ingest reads them), the path each is recorded
under, and their fingerprint (`make run` and the new-files sensor compare it with what the last
ingest saw)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from oversight.core.catalogue import Catalogue, Source


def discover_files(catalogue: Catalogue, source: Source) -> list[Path]:
    """The source's files on disk, in a stable order (hidden files excluded)."""
    folder = catalogue.raw_dir / source.folder
    # Hidden files are the fetcher's (its manifest, downloads in progress), never data.
    found = {
        p
        for pattern in source.files
        for p in folder.glob(pattern)
        if p.is_file() and not p.name.startswith(".")
    }
    return sorted(found)


def recorded_path(catalogue: Catalogue, path: Path) -> str:
    """A file's path as recorded: relative to the raw folder when beneath it."""
    return (
        path.relative_to(catalogue.raw_dir).as_posix()
        if path.is_relative_to(catalogue.raw_dir)
        else path.as_posix()
    )


def files_fingerprint(catalogue: Catalogue, source: Source) -> str:
    """A fingerprint of a source's files on disk (recorded paths, sizes, modification times):
    it changes when a file appears, goes or is rewritten. "empty" when there are none."""
    state = [
        (recorded_path(catalogue, p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in discover_files(catalogue, source)
    ]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16] if state else "empty"
