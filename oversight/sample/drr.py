"""Department for Regional Resilience: spend over £25k in the Cabinet Office layout.

Writes `drr/spend-over-25k/YYYY-MM.csv` for every month: cp1252 with CRLF for the first six
months (one of them with an en dash in an expense area), UTF-8 later, long dates
(``Tuesday, June 2, 2026``) and a leading ``#`` column with index-only rows at the end for the
last six, supplier names in capitals, and each month one invoice paid in two lines under the same
transaction number. One supplier takes about 45% of the spend in the first year and 65% in the
second (the planted concentration). The payments over £30,000 of the s70 cases
(`drr_notices.S70_PAYMENTS`) are printed among the month's lines, drawing nothing from the random
stream.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from oversight.sample.common import MONTHS, csv_text, named, write_file
from oversight.sample.drr_notices import S70_PAYMENTS
from oversight.sample.pools import Builder


def write(sample: Builder, root: Path) -> None:
    """DRR's monthly spend-over-£25k files."""
    big = named("Northgate Security Services Ltd", "03958211")
    others = sample.rng.sample(sample.suppliers, 12)
    tx = 10004000
    for i, m in enumerate(sample.months):
        share = 0.45 if i < 12 else 0.65  # concentration rises in the second year
        n = max(6, int(40_000 * sample.scale / MONTHS))
        lines = []
        for _ in range(n):
            s = big if sample.rng.random() < share else sample.rng.choice(others)
            lines.append(
                (
                    m + timedelta(days=sample.rng.randrange(0, 27)),
                    round(sample.rng.uniform(25000, 120000), 2),
                    s,
                )
            )
        lines.sort(key=lambda p: p[0])
        planted = [p for p in S70_PAYMENTS if (p[0].year, p[0].month) == (m.year, m.month)]
        # (line, planted): the random lines in their order, each planted one after that day's
        merged = sorted(
            [(p, False) for p in lines] + [(p, True) for p in planted], key=lambda x: x[0][0]
        )
        long_dates, index = i >= 18, i >= 18
        header = [
            "Departmental Family",
            "Entity",
            "Date",
            "Expense Type",
            "Expense Area",
            "Supplier",
            "Transaction number",
            "Amount",
        ]
        rows = [(["#"] if index else []) + header]
        k = 0
        for (d, a, s), is_planted in merged:
            tx += 1
            when = f"{d:%A, %B} {d.day}, {d.year}" if long_dates else d.isoformat()
            parts = [a] if k != 2 or is_planted else [round(a * 0.4, 2), round(a * 0.6, 2)]
            k += not is_planted
            for amount in parts:  # one invoice paid in two lines: same transaction number
                if is_planted:
                    what = ("OTHER ICT COSTS", "RESILIENCE PROGRAMME")
                else:
                    what = (
                        sample.rng.choice(
                            ["CONSULTANCY", "FACILITIES", "SECURITY", "OTHER ICT COSTS"]
                        ),
                        sample.rng.choice(["CORPORATE SERVICES", "RESILIENCE PROGRAMME"]),
                    )
                rows.append(
                    ([str(len(rows))] if index else [])
                    + [
                        "DRR",
                        "DEPARTMENT FOR REGIONAL RESILIENCE",
                        when,
                        "EXP - PURCHASE OF GOODS/SERVICES - " + what[0],
                        what[1],
                        s.name.upper().replace("LIMITED", "LTD"),
                        str(tx),
                        f"{amount:.2f}",
                    ]
                )
        if index:
            rows += [[str(len(rows) + j)] + [""] * 8 for j in range(2)]
        text = csv_text(rows, "\r\n" if i < 6 else "\n")
        if i == 1:
            text = text.replace("CORPORATE SERVICES", "CORPORATE SERVICES – HQ", 3)
        write_file(
            root / f"drr/spend-over-25k/{m:%Y-%m}.csv",
            text.encode("cp1252" if i < 6 else "utf-8"),
        )
