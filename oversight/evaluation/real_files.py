"""The real published files that evaluation fixtures point at, read record by record.

Fixtures (`tests/fixtures/*.csv`) never hold text from a real file: they name a file under
`../shared/data/real`, a record number (the header is 1) and the file's sha256. This reads
those records, and checks a file is the one a fixture was written against (`FixtureMismatch`
otherwise: row numbers would point elsewhere).
"""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path

from oversight.core import settings
from oversight.ingest.load import file_sha256

# Where the real published files are: beside the project, never inside it.
REAL_DIR = settings.PROJECT_ROOT.parent / "shared" / "data" / "real"

# What a UTF-8 byte-order mark looks like once decoded (Salford's are encoded twice).
BOM_ARTEFACTS = ("\ufeff", "ï»¿", "Ã¯Â»Â¿")


class FixtureMismatch(ValueError):
    """A fixture row does not point at the record it was written for (file changed or missing)."""


@cache
def checked_sha256(path: Path) -> str:
    """A file's sha256, computed once per process."""
    return file_sha256(path)


def check_file(real_dir: Path, file: str, sha256: str) -> Path:
    """The file's path, once it is found to be the one a fixture was written against."""
    path = Path(real_dir) / file
    if not path.is_file():
        raise FixtureMismatch(f"{file}: not found under {real_dir}")
    actual = checked_sha256(path)
    if actual != sha256:
        raise FixtureMismatch(
            f"{file}: sha256 is {actual}, the fixture was written against {sha256}; "
            "the file changed, so row numbers may point elsewhere: re-check the fixture rows"
        )
    return path


@cache
def _csv_records(path: Path) -> tuple[tuple[str, ...], ...]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    for artefact in BOM_ARTEFACTS:
        text = text.removeprefix(artefact)
    return tuple(tuple(r) for r in csv.reader(io.StringIO(text, newline="")))


@cache
def _sheet_rows(path: Path, sheet: str) -> tuple[tuple[object, ...], ...]:
    from python_calamine import CalamineWorkbook

    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    top, left = data.start if data.start else (0, 0)
    rows = [()] * top + [(None,) * left + tuple(r) for r in data.to_python(skip_empty_area=False)]
    return tuple(rows)


def records(real_dir: Path, file: str, sheet: str | None = None) -> tuple[tuple, ...]:
    """A real file's records, header first (record number n is `records[n - 1]`); for a
    workbook, `sheet`'s rows, padded to where its first row starts."""
    path = Path(real_dir) / file
    return _sheet_rows(path, sheet) if sheet else _csv_records(path)
