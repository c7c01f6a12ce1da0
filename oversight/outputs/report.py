"""A static HTML report, readable offline: `index.html` for every buyer and one page per
buyer, with the charts, the scorecard and the top flagged contracts with their evidence."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterable
from hashlib import sha1
from pathlib import Path

import duckdb
import jinja2
import pandas as pd

from oversight.outputs import charts, explore


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "buyer"


def page_keys(names: Iterable[str]) -> dict[str, str]:
    """Each buyer's page name: its slug, with a short hash of the name added when two buyers'
    names give the same slug ("St. Helens" / "St Helens"), so no page is shared."""
    names = sorted(set(names))
    counts = Counter(slug(n) for n in names)
    return {
        n: slug(n) if counts[slug(n)] == 1 else f"{slug(n)}-{sha1(n.encode()).hexdigest()[:6]}"
        for n in names
    }


def _money(value: object) -> str:
    return "" if pd.isna(value) else f"£{float(value):,.0f}"


def _cell(value: object) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("oversight.outputs", "templates"),
    autoescape=True,  # every value from the data is escaped: no text from it becomes markup
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters.update(day=explore.day, money=_money, cell=_cell)

CONCENTRATION_COLUMNS = [
    "basis", "financial_year", "suppliers", "total", "hhi", "band", "cr1", "cr3", "cr5",
    "top_supplier", "hhi_change",
]  # fmt: skip


def build_report(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Write the report into `out` (replaced whole); returns index.html."""
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "img").mkdir(parents=True)
    card = explore.scorecard(con)
    as_of = card["as_of"].iloc[0] if len(card) else None
    concentration = con.execute("select * from marts.supplier_concentration").df()
    shares = explore.latest_top_shares(con)
    charts.oversight_gaps(
        card, staging / "img" / "gaps.png", title="Oversight gaps by type, all buyers"
    )
    charts.payments_after_expiry(
        explore.expired_payments(con), staging / "img" / "expired.png", as_of=as_of
    )
    charts.hhi_by_buyer(concentration, staging / "img" / "hhi.png", as_of=as_of)
    charts.top_suppliers(shares, staging / "img" / "top-suppliers.png", as_of=as_of)
    names = explore.buyers(con)
    keys = page_keys([*names, *card["buyer"]])
    counts: dict[str, dict[str, int]] = {}
    for row in card.itertuples(index=False):
        flags = counts.setdefault(row.buyer, {})
        if isinstance(row.indicator, str) and not pd.isna(row.flagged):
            flags[row.indicator] = flags.get(row.indicator, 0) + int(row.flagged)
    buyers = [
        {"buyer": b, "page": keys[b], "flags": counts.get(b, {})}
        for b in sorted(card["buyer"].dropna().unique())
    ]
    indicators = sorted(card[["indicator", "name"]].drop_duplicates().itertuples(index=False))
    (staging / "index.html").write_text(
        TEMPLATES.get_template("index.html").render(
            as_of=as_of, buyers=buyers, indicators=indicators
        )
    )
    (staging / "buyers").mkdir()
    for buyer in names:
        _buyer_page(
            con, buyer, card[card["buyer"] == buyer], concentration, staging, keys[buyer], as_of
        )
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out / "index.html"


def _buyer_page(
    con: duckdb.DuckDBPyConnection,
    buyer: str,
    card: pd.DataFrame,
    concentration: pd.DataFrame,
    root: Path,
    key: str,
    as_of: object,
) -> None:
    charts.oversight_gaps(card, root / "img" / f"{key}-gaps.png", title=f"Oversight gaps: {buyer}")
    conc = concentration[
        (concentration["buyer"] == buyer) & (concentration["category_scheme"] == "all")
    ][CONCENTRATION_COLUMNS]
    linked = card["spend_linked_share"].iloc[0] if len(card) else None
    page = TEMPLATES.get_template("buyer.html").render(
        as_of=as_of,
        buyer=buyer,
        page=key,
        linked=None if pd.isna(linked) else float(linked),
        scorecard=card.to_dict("records"),
        contracts=explore.flag_explanations(con, buyer, limit=20),
        concentration=conc.to_dict("records"),
        concentration_columns=CONCENTRATION_COLUMNS,
    )
    (root / "buyers" / f"{key}.html").write_text(page)
