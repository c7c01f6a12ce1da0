"""A static HTML report, readable offline: `index.html` for every buyer and one page per
buyer, with the charts, the scorecard and the top flagged contracts with their evidence."""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from hashlib import sha1
from pathlib import Path

import duckdb
import pandas as pd

from oversight import charts, explore

STYLE = """
body{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.4}h1,h2{color:#2c3e50}table{border-collapse:collapse;margin:1rem 0;
font-size:.85rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top}
th{background:#f4f6f7;text-align:left}td.n{text-align:right}img{max-width:100%;
border:1px solid #eee;margin:.5rem 0}.note{color:#666;font-size:.85rem}
.unknown{color:#7f8c8d}.flag{color:#c0392b;font-weight:600}
"""


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


def _e(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def _table(df: pd.DataFrame, numeric: tuple[str, ...] = (), markup: tuple[str, ...] = ()) -> str:
    """An HTML table; every cell escaped except the columns in `markup` (built here)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for record in df.itertuples(index=False):
        cells = "".join(
            f"<td>{v}</td>"
            if c in markup
            else f"<td class='n'>{_e(v)}</td>"
            if c in numeric
            else f"<td>{_e(v)}</td>"
            for c, v in zip(df.columns, record, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _flag_summary(card: pd.DataFrame) -> pd.DataFrame:
    out = card[["indicator", "name", "flagged", "unknown", "value"]].copy()
    out.columns = ["code", "indicator", "flagged", "unknown", "value behind (£)"]
    return out


def build_report(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Write the report into `out` (replaced whole); returns index.html."""
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "img").mkdir(parents=True)
    card = explore.scorecard(con)
    as_of = card["as_of"].iloc[0] if len(card) else None
    concentration = con.execute("select * from marts.supplier_concentration").df()
    shares = explore.supplier_shares(con)
    charts.oversight_gaps(
        card, staging / "img" / "gaps.png", title="Oversight gaps by type, all buyers"
    )
    charts.payments_after_expiry(
        explore.expired_payments(con), staging / "img" / "expired.png", as_of=as_of
    )
    charts.hhi_by_buyer(concentration, staging / "img" / "hhi.png", as_of=as_of)
    charts.top_suppliers(shares, staging / "img" / "top-suppliers.png", as_of=as_of)
    names = explore.buyers(con)
    pivot = card.pivot_table(
        index="buyer", columns="indicator", values="flagged", aggfunc="sum", fill_value=0
    ).reset_index()
    keys = page_keys([*names, *pivot["buyer"]])
    pivot["buyer"] = [
        f"<a href='buyers/{keys[b]}.html'>{html.escape(b)}</a>" for b in pivot["buyer"]
    ]
    index_table = _table(pivot, markup=("buyer",))
    body = [
        "<h1>Contract oversight</h1>",
        f"<p>Indicators as of <b>{_e(as_of)}</b>. Flags are counted per contract; "
        "<span class='unknown'>unknown</span> means the publisher does not publish the data "
        "the rule needs. OV12 counts buyer-supplier-years of off-contract spend.</p>",
        "<h2>Contracts flagged, by buyer</h2>",
        index_table,
        "<img src='img/gaps.png' alt='Oversight gaps by type'>",
        "<img src='img/expired.png' alt='Payments after expiry by month'>",
        "<h2>Supplier concentration</h2><img src='img/hhi.png' alt='HHI by buyer'>",
        "<img src='img/top-suppliers.png' alt='Top suppliers by buyer'>",
        "<p class='note'>Bands are descriptive (US DOJ/FTC 2010 thresholds); the CMA sets no "
        "numeric threshold.</p>",
    ]
    (staging / "index.html").write_text(_page("Contract oversight", "".join(body)))
    (staging / "buyers").mkdir()
    for buyer in names:
        _buyer_page(con, buyer, card[card["buyer"] == buyer], concentration, staging, keys[buyer])
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
) -> None:
    charts.oversight_gaps(card, root / "img" / f"{key}-gaps.png", title=f"Oversight gaps: {buyer}")
    flagged = explore.flagged_contracts(con, buyer, limit=20)
    evidence = flagged[
        [
            "contract_ref",
            "title",
            "supplier_name",
            "effective_end",
            "value",
            "value_at_risk",
            "ov07_evidence",
            "ov08_evidence",
            "ov09_evidence",
            "ov10_evidence",
        ]
    ]
    conc = concentration[
        (concentration["buyer"] == buyer) & (concentration["category_scheme"] == "all")
    ][
        [
            "basis",
            "financial_year",
            "suppliers",
            "total",
            "hhi",
            "band",
            "cr1",
            "cr3",
            "cr5",
            "top_supplier",
            "hhi_change",
        ]
    ]
    first = card.iloc[0] if len(card) else None
    linked = (
        ""
        if first is None or pd.isna(first["spend_linked_share"])
        else (
            f"<p>Share of spend (by value) linked to a contract: "
            f"<b>{first['spend_linked_share']:.1%}</b>.</p>"
        )
    )
    body = [
        "<p><a href='../index.html'>All buyers</a></p>",
        f"<h1>{html.escape(buyer)}</h1>",
        linked,
        "<h2>Indicators</h2>",
        _table(_flag_summary(card), numeric=("flagged", "unknown", "value behind (£)")),
        f"<img src='../img/{key}-gaps.png' alt='Oversight gaps'>",
        "<h2>Top flagged contracts, with evidence</h2>",
        _table(evidence, numeric=("value", "value_at_risk")),
        "<h2>Supplier concentration</h2>",
        _table(conc, numeric=("suppliers", "total", "hhi", "cr1", "cr3", "cr5", "hhi_change")),
    ]
    (root / "buyers" / f"{key}.html").write_text(_page(buyer, "".join(body)))
