"""Charts as PNG files, and the markdown that shows them in the Dagster UI."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter


def _subplots(path: Path | None, *args, **kwargs):
    """(figure, axes). For a file (`path`): a bare matplotlib Figure, drawn with Agg whatever
    the process's backend, never touching pyplot (safe in Dagster's worker threads). For a
    notebook (no path): made with pyplot, so Jupyter's inline backend shows it; then removed
    from pyplot's list, so that it shows once, as the cell's value."""
    import matplotlib
    from matplotlib.figure import Figure

    # Labels are text from the data: a supplier named "$5$ Ltd" must print, not be read as
    # maths (matplotlib's mathtext raised on it and stopped the marts' charts).
    matplotlib.rcParams["text.parse_math"] = False
    if path is not None:
        fig = Figure(figsize=kwargs.pop("figsize", None))
        return fig, fig.subplots(*args, **kwargs)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*args, **kwargs)
    plt.close(fig)
    return fig, axes


def markdown_image(path: Path, alt: str) -> str:
    """Inline the PNG so it shows in the UI's metadata (the UI cannot read local files)."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"


def coverage_heatmap(quality: pd.DataFrame, path: Path) -> Path:
    """Register and spend sources down, Transparency Code fields across, coloured by the share
    of rows that have the field (green: all); the last column is the share of rows loaded
    rather than quarantined."""
    quality = quality[quality["kind"] != "ocds"]
    fields = [c for c in quality.columns if c.startswith("cov_")]
    table = quality.set_index("source_id")[fields].astype(float)
    table.columns = [c.removeprefix("cov_").replace("_", " ") for c in fields]
    table["rows loaded"] = 1 - quality.set_index("source_id")["quarantine_rate"].astype(float)
    fig, ax = _subplots(
        path, figsize=(max(8, 0.45 * len(table.columns) + 3), 0.45 * len(table) + 2.2)
    )
    image = ax.imshow(table.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(table)), table.index, fontsize=8)
    for (i, j), value in pd.DataFrame(table.to_numpy()).stack().dropna().items():
        ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=8)
    ax.set_title("Publisher quality: share of rows with each field (blank: not this kind)")
    fig.colorbar(image, ax=ax, fraction=0.02)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _when(data: pd.DataFrame, as_of: object) -> object:
    """The as-of date a chart is stamped with: given, else the data's `as_of` column's."""
    if as_of is None and "as_of" in data.columns and len(data):
        as_of = data["as_of"].iloc[0]
    return getattr(as_of, "date", lambda: as_of)() if hasattr(as_of, "hour") else as_of


def _save(fig, path: Path | None, as_of: object = None):
    """Stamp the as-of date in the corner; save to `path` or return the figure for a
    notebook to show."""
    if as_of is not None:
        fig.text(0.995, 0.005, f"as of {str(as_of)[:10]}", ha="right", va="bottom", fontsize=8,
                 color="#555555")  # fmt: skip
    if path is None:
        return fig
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def oversight_gaps(
    scorecard: pd.DataFrame,
    path: Path | None = None,
    title: str = "Oversight gaps by type",
    as_of: object = None,
):
    """Contracts flagged per indicator (bars) and the value behind them (labels); unknowns
    shown hatched so "cannot tell" is never read as "no gap"."""
    data = scorecard.groupby("indicator", as_index=True)[["flagged", "unknown", "value"]].sum()
    off = data.loc["OV12"] if "OV12" in data.index else None
    data = data.drop(index="OV12", errors="ignore").sort_index()  # OV12 counts supplier-years
    fig, ax = _subplots(path, figsize=(9, 4.2))
    # Side by side, each with its count: unknowns (often hundreds) must not set the scale
    # that a handful of flagged contracts is read on.
    x = range(len(data))
    width = 0.4
    flagged_bars = ax.bar([i - width / 2 for i in x], data["flagged"], width, color="#c0392b",
                          label="flagged")  # fmt: skip
    unknown_bars = ax.bar(
        [i + width / 2 for i in x],
        data["unknown"],
        width,
        color="white",
        edgecolor="#7f8c8d",
        hatch="///",
        label="unknown (data not published)",
    )
    ax.bar_label(flagged_bars, fontsize=8, color="#c0392b", padding=1)
    ax.bar_label(unknown_bars, fontsize=7, color="#7f8c8d", padding=1)
    ax.set_xticks(list(x), data.index)
    ax.set_yscale("symlog", linthresh=10)  # 0-10 linear, then log: 2 and 200 both readable
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))  # not maths text
    counts = data[["flagged", "unknown"]].to_numpy(dtype=float).ravel()
    ax.set_ylim(0, max([10.0, *counts]) * 3)  # an empty scorecard (no contracts) draws too
    for i, (flagged, value) in enumerate(zip(data["flagged"], data["value"], strict=True)):
        if flagged and value and float(value) > 0:
            ax.annotate(
                f"£{float(value):,.0f}",
                (i - width / 2, flagged),
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
                xytext=(0, 12),
                textcoords="offset points",
            )
    ax.set_ylabel("contracts (log scale above 10)")
    if off is not None:
        title += (
            f"\nOV12 off-contract spend: {int(off['flagged'])} supplier-years, "
            f"£{float(off['value'] or 0):,.0f}"
        )
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False)
    fig.tight_layout()
    return _save(fig, path, _when(scorecard, as_of))


def payments_after_expiry(payments: pd.DataFrame, path: Path | None = None, as_of: object = None):
    """Monthly value of payments made after a contract's expiry plus grace (OV07)."""
    fig, ax = _subplots(path, figsize=(9, 3.6))
    if len(payments):
        monthly = (
            payments.assign(
                month=pd.to_datetime(payments["payment_date"]).dt.to_period("M").dt.to_timestamp()
            )
            .groupby("month")["amount"]
            .sum()
            .astype(float)
        )
        ax.bar(monthly.index, monthly.values, width=27, align="edge", color="#c0392b")
    else:
        ax.text(0.5, 0.5, "no payments after expiry", ha="center", transform=ax.transAxes)
    ax.set_ylabel("£ paid after expiry")
    ax.set_title("Payments after contract expiry (OV07), by month")
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path, _when(payments, as_of))


def _year_label(buyer: str, year: object, as_of: object) -> str:
    """`Buyer (2025-26)`, and `part year` when that financial year (April-March) had not
    ended on the as-of date."""
    if pd.isna(year):
        return buyer
    start = int(str(year)[:4])  # '2026-27' (or 2026): the year starting in April 2026
    part = as_of is not None and str(as_of)[:10] < f"{start + 1}-03-31"
    return f"{buyer} ({start}-{(start + 1) % 100:02d}{', part year' if part else ''})"


def hhi_by_buyer(
    concentration: pd.DataFrame,
    path: Path | None = None,
    moderate: float = 1500,
    high: float = 2500,
    as_of: object = None,
):
    """Latest-year HHI of each buyer's spend, against the descriptive bands."""
    latest = (
        concentration[
            (concentration["basis"] == "spend") & (concentration["category_scheme"] == "all")
        ]
        .sort_values("financial_year")
        .groupby("buyer")
        .tail(1)
        .sort_values("hhi")
    )
    fig, ax = _subplots(path, figsize=(9, 0.5 * max(len(latest), 3) + 1.5))
    colours = ["#bdc3c7" if little else "#2c3e50" for little in latest["too_little_data"]]
    ax.barh([_year_label(b, y, as_of) for b, y in zip(latest["buyer"], latest["financial_year"],
                                                       strict=True)],
            latest["hhi"], color=colours)  # fmt: skip
    for level, name in ((moderate, "moderate"), (high, "high")):
        ax.axvline(level, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(level, len(latest) - 0.4, f" {name}", color="#c0392b", fontsize=8)
    ax.set_xlabel("HHI of spend (latest financial year; grey: too little data)")
    ax.set_title("Supplier concentration by buyer (SC01, descriptive bands)")
    fig.tight_layout()
    return _save(fig, path, as_of)


def top_suppliers(shares: pd.DataFrame, path: Path | None = None, n: int = 5, as_of: object = None):
    """Each buyer's largest suppliers in its latest year, as shares of its spend (SC03)."""
    spend = shares[shares["basis"] == "spend"]
    latest = spend[
        spend["financial_year"] == spend.groupby("buyer")["financial_year"].transform("max")
    ]
    buyers = sorted(latest["buyer"].dropna().unique())
    fig, axes = _subplots(
        path, len(buyers) or 1, 1, figsize=(9, 1.9 * max(len(buyers), 1)), squeeze=False
    )
    for ax, buyer in zip(axes[:, 0], buyers, strict=False):
        top = latest[latest["buyer"] == buyer].nlargest(n, "share_of_buyer_spend")[::-1]
        ax.barh(
            [textwrap.fill(name, 38) for name in top["supplier"].fillna("?")],
            top["share_of_buyer_spend"],
            color="#2980b9",
        )
        ax.set_xlim(0, 1)
        ax.set_title(f"{buyer} ({top['financial_year'].iloc[0] if len(top) else ''})", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle("Top suppliers by share of buyer spend (SC03)")
    fig.tight_layout()
    return _save(fig, path, as_of)
