"""Write a deterministic, fictional sample of published files into `data/raw/`.

Four fictional publishers, each in the layout (column names, encoding, messiness) of a real one:

- Northmoor City Council: Salford's register and spend layouts (a BOM encoded twice, headers
  renamed between months, placeholders such as ``X``, ``TBC``, ``-``, ``N/A``).
- Kelder Valley Council: a Transparency Code register workbook (title rows above the header,
  Excel dates, review dates and owners) and Calderdale's spend layout (company and charity
  numbers, refunds as negatives).
- Ashby Metropolitan District Council: a cp1252 register with ``3 Apr 2025`` dates, blank lines,
  trailing empty and duplicated columns; Bradford's spend layout in a zip of monthly CSVs for the
  first year and a workbook with one sheet per month for the second, ``(1,234.50)`` amounts.
- Department for Regional Resilience: the Cabinet Office spend-over-£25k layout (cp1252 and CRLF
  early on, a ``#`` column and long dates later, transaction numbers repeated across lines).

Cases for the indicators (README, Indicators) are planted beside clean twins and listed in
`data/raw/planted.yaml`, with the as-of date they are judged on.

`scale` 1 is about 1.4M payment lines and 50k contracts; the committed sample uses 0.01.

This module orchestrates: it builds one `Sample` (one seeded random stream) and has each module
write its part, in a fixed order, since they draw from the same stream: `northmoor`, `kelder`,
`ashby`, `drr` (the publishers' layouts), then `notices`; `planted` holds the list of planted
cases as data and `planted_contracts` the register contracts behind them; `pools` draws the
background (suppliers, contracts, payments) and `common` holds the calendar, the record types,
the word lists and the file writers.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

from oversight.core import settings
from oversight.sample import ashby, drr, kelder, northmoor, notices
from oversight.sample.common import (
    AS_OF,
    FIRST_MONTH,
    MONTHS,
    SAMPLE_SCALE,
    SEED,
    Contract,
    Supplier,
    month_end,
    month_starts,
)
from oversight.sample.planted import CASES
from oversight.sample.pools import Builder

__all__ = [
    "AS_OF",
    "FIRST_MONTH",
    "MONTHS",
    "SAMPLE_SCALE",
    "SEED",
    "Contract",
    "Sample",
    "Supplier",
    "generate",
    "main",
    "month_end",
    "month_starts",
]


class Sample(Builder):
    """Builds the whole sample in memory, then writes it."""

    def write(self, root: Path) -> None:
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        northmoor.write(self, root)
        kelder.write(self, root)
        ashby.write(self, root)
        drr.write(self, root)
        notices.write(self, root)
        doc = {
            "as_of": AS_OF.isoformat(),
            "scale": self.scale,
            "seed": SEED,
            "note": "Cases planted by oversight.sample.generator; expected is true (flag), "
            "false (clean twin) or null (unknown: the data cannot say).",
            "cases": [case.as_dict() for case in CASES],
        }
        (root / "planted.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=100))


def generate(out: Path | None = None, scale: float = SAMPLE_SCALE) -> Path:
    """Write the sample (default: the project's `data/raw/`); returns the folder."""
    out = out or settings.PROJECT_ROOT / "data" / "raw"
    Sample(scale).write(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder (default data/raw)")
    parser.add_argument(
        "--scale",
        type=float,
        default=SAMPLE_SCALE,
        help="1 = about 1.4M payment lines and 50k contracts (default 0.01)",
    )
    args = parser.parse_args(argv)
    print(f"sample written to {generate(args.out, args.scale)}")


if __name__ == "__main__":
    main()
