"""What the benchmark measures on: the synthetic sample at a scale (generated once per
generator version, `oversight.sample.generator`), the month held back for the incremental
run, and the large single files (a CSV of N MB and a workbook of N rows over 12 sheets, the
embedded sample's rows repeated)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.process import measure
from oversight.core import settings

ROOT = settings.PROJECT_ROOT


MONTHLY = re.compile(r"\d{4}-\d{2}\.csv")


def _generator_hash() -> str:
    """The sample generator's code (every module of oversight/sample/)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "oversight" / "sample").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def generate(scale: float, raw: Path, env: dict[str, str], logs: Path) -> dict:
    """The sample at `scale` in `raw` (kept between runs while the generator is unchanged)."""
    marker = raw.parent / "generated.json"
    wanted = {"scale": scale, "generator": _generator_hash()}
    if marker.exists() and json.loads(marker.read_text()).get("key") == wanted:
        return json.loads(marker.read_text())["result"]
    marker.unlink(missing_ok=True)
    shutil.rmtree(raw, ignore_errors=True)
    cmd = [sys.executable, "-m", "oversight.sample.generator", "--out", str(raw)]
    result = measure([*cmd, "--scale", str(scale)], env, logs / "generate.log")
    files = [p for p in raw.rglob("*") if p.is_file() and p.name != "planted.yaml"]
    result.update(files=len(files), megabytes=round(sum(p.stat().st_size for p in files) / 2**20))
    marker.write_text(json.dumps({"key": wanted, "result": result}))
    return result


def newest_months(raw: Path) -> list[Path]:
    """The newest `YYYY-MM.csv` of every folder of monthly files: the month held back."""
    folders: dict[Path, list[Path]] = {}
    for path in raw.rglob("*.csv"):
        if MONTHLY.fullmatch(path.name):
            folders.setdefault(path.parent, []).append(path)
    return sorted(max(files) for files in folders.values() if len(files) > 1)


@contextmanager
def months_held_back(raw: Path, held_dir: Path) -> Iterator[list[Path]]:
    """`newest_months(raw)` moved into `held_dir` (same relative paths) for the duration, and
    put back whatever happens; yields the files' paths in `raw`."""
    shutil.rmtree(held_dir, ignore_errors=True)
    held = newest_months(raw)
    for path in held:
        target = held_dir / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    try:
        yield held
    finally:
        for path in held:
            (held_dir / path.relative_to(raw)).rename(path)


SAMPLE = ROOT / "data" / "raw"  # the embedded sample: the layouts the large files copy


EXTRA_COLUMNS = ["Department", "Cost Centre", "Narrative"]  # 9 published + 3 = 12 columns


def large_csv(path: Path, megabytes: float) -> dict:
    """One Northmoor spend CSV of about `megabytes` MB: the sample's monthly rows, repeated."""
    files = sorted((SAMPLE / "northmoor" / "spend").glob("*.csv"))
    header = files[0].read_text(encoding="utf-8-sig").splitlines()[0]
    body = [line for f in files for line in f.read_text(encoding="utf-8-sig").splitlines()[1:]]
    block = ("\n".join(body) + "\n").encode()
    target = int(megabytes * 2**20)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write((header + "\n").encode())
        written = 0
        while written < target:
            out.write(block)
            written += len(block)
    return {"megabytes": round(path.stat().st_size / 2**20), "rows": written // len(block)
            * len(body)}  # fmt: skip


def large_workbook(path: Path, rows: int) -> dict:
    """One Ashby spend workbook of `rows` rows x 12 columns over 12 sheets (the sample's
    sheet per month, its rows repeated, three more columns)."""
    import openpyxl
    import python_calamine

    source = python_calamine.CalamineWorkbook.from_path(
        str(SAMPLE / "ashby" / "spend" / "ashby-spend-2025-26.xlsx")
    )
    book = openpyxl.Workbook(write_only=True)
    per_sheet = -(-rows // len(source.sheet_names))
    written = 0
    for name in source.sheet_names:
        head, *body = source.get_sheet_by_name(name).to_python()
        sheet = book.create_sheet(name)
        sheet.append([*head, *EXTRA_COLUMNS])
        for i in range(min(per_sheet, rows - written)):
            row = body[i % len(body)]
            sheet.append([*row, "Place", f"CC{i % 97:03d}", f"line {i}"])
        written += min(per_sheet, rows - written)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return {"megabytes": round(path.stat().st_size / 2**20, 1), "rows": written,
            "sheets": len(source.sheet_names), "columns": 9 + len(EXTRA_COLUMNS)}  # fmt: skip


def _sample_hash() -> str:
    digest = hashlib.sha256()
    for p in sorted(SAMPLE.rglob("*")):
        if p.is_file():
            digest.update(p.name.encode() + p.read_bytes()[:4096])
    return digest.hexdigest()[:12]
