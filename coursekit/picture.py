"""Pictures of a mixtape: PNG (matplotlib) and HTML."""

from __future__ import annotations

import html
from pathlib import Path
from textwrap import fill

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .genres import GENRE_COLORS

__all__ = ["write_picture"]


# ------------------------------------------------------------------------------- pictures
def write_picture(table: pd.DataFrame, path, *, fmt: str | None = None) -> None:
    """Draw a mixtape: one tile per song, coloured by genre, with its reason.

    ``fmt`` is ".png" or ".html" (default: the suffix of ``path``).
    """
    fmt = (fmt or Path(path).suffix).lower()
    user = table["user_id"].iloc[0] if len(table) else "?"
    if fmt == ".html":
        tiles = "\n".join(
            f'<div class="tile" style="background:{GENRE_COLORS.get(r.genre, "#cccccc")}">'
            f'<b>{r.position}. {html.escape(str(r.title))}</b><br>{html.escape(str(r.artist))} · {html.escape(str(r.genre))}'
            f'<br><i>{html.escape(str(r.why))}</i></div>' for r in table.itertuples())
        Path(path).write_text(
            "<!doctype html><meta charset='utf-8'><title>Discover Weekly</title><style>"
            "body{font-family:sans-serif} .grid{display:grid;grid-template-columns:repeat(5,1fr);gap:6px}"
            ".tile{color:white;padding:8px;border-radius:6px;font-size:13px;text-shadow:0 0 2px #0008}</style>"
            f"<h1>Discover Weekly for user {user}</h1><div class='grid'>{tiles}</div>", encoding="utf-8")
        return
    if fmt != ".png":
        raise ValueError(f"a mixtape picture is .png or .html, got {fmt!r}")
    cols = 5
    rows = max(1, -(-len(table) // cols))
    fig = Figure(figsize=(cols * 3.2, rows * 1.9))  # no pyplot: leaves the caller's backend alone
    ax = fig.subplots()
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.axis("off")
    for k, r in enumerate(table.itertuples()):
        x, y = k % cols, k // cols
        ax.add_patch(Rectangle((x + 0.03, y + 0.04), 0.94, 0.92, color=GENRE_COLORS.get(r.genre, "#cccccc")))
        ax.text(x + 0.08, y + 0.12, fill(f"{r.position}. {r.title}", 30), fontsize=8, weight="bold",
                va="top", color="white")
        ax.text(x + 0.08, y + 0.42, f"{r.artist} · {r.genre}", fontsize=7, va="top", color="white")
        ax.text(x + 0.08, y + 0.58, fill(str(r.why), 42), fontsize=6, va="top", color="white", style="italic")
    ax.set_title(f"Discover Weekly for user {user}: {len(table)} songs you have never played", fontsize=12)
    fig.savefig(path, dpi=110, bbox_inches="tight")
