"""Charts as PNG files, and the markdown that shows them in the Dagster UI."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def markdown_image(path: Path, alt: str) -> str:
    """Inline the PNG so it shows in the UI's metadata (the UI cannot read local files)."""
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"


def coverage_heatmap(quality: pd.DataFrame, path: Path) -> Path:
    """Register and spend sources down, Transparency Code fields across, coloured by the share
    of rows that have the field (green: all); the last column is the share of rows loaded
    rather than quarantined."""
    plt = _pyplot()
    quality = quality[quality["kind"] != "ocds"]
    fields = [c for c in quality.columns if c.startswith("cov_")]
    table = quality.set_index("source_id")[fields].astype(float)
    table.columns = [c.removeprefix("cov_").replace("_", " ") for c in fields]
    table["rows loaded"] = 1 - quality.set_index("source_id")["quarantine_rate"].astype(float)
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(table.columns) + 3), 0.45 * len(table) + 2.2))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(table)), table.index, fontsize=8)
    for (i, j), value in pd.DataFrame(table.to_numpy()).stack().dropna().items():
        ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=6)
    ax.set_title("Publisher quality: share of rows with each field (blank: not this kind)")
    fig.colorbar(image, ax=ax, fraction=0.02)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
