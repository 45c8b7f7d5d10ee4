"""A picture of a mixtape (PNG or HTML): where each song's score comes from, how it relates to what the listener plays.

:func:`write_picture` draws the table of
:meth:`coursekit.mixtape.DiscoverWeekly.mixtape` in three panels:

* **where the songs come from**: for each song, the contribution of each signal
  group to its blended score (a stacked bar: right of zero pushes the song up,
  left of zero holds it back), with the kind of reason it was given;
* **genres**: the listener's recent listening next to the mixtape's genre mix;
* **the tempo arc**: the songs' tempo in listening order, over the band of
  tempos the listener played recently.

Matplotlib's object interface draws the PNG (no ``pyplot``: the caller's backend
is left alone); the HTML is self-contained (CSS bars and an inline SVG).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from .genres import GENRE_COLORS
from .signals import SIGNAL_GROUPS

__all__ = ["write_picture", "SIGNAL_COLORS"]

#: One colour per signal group, the same in the PNG and the HTML.
SIGNAL_COLORS = {"cf": "#3b6fb6", "artist": "#8fb3e3", "text": "#3a9a4a", "audio": "#c8453c",
                 "sound": "#f0a39c", "popularity": "#9a9a9a"}
_LABELS = {"cf": "CF (your listening)", "artist": "CF: the artist", "text": "web text", "audio": "audio (CNN)",
           "sound": "sound (tempo, mode, loudness)", "popularity": "popularity and newness"}
_OTHER = "#cccccc"


def write_picture(table: pd.DataFrame, path, *, fmt: str | None = None) -> None:
    """Draw a mixtape: each song's signals, the genres against recent listening, the tempo arc.

    Parameters
    ----------
    table : pandas.DataFrame
        One listener's mixtape, as :meth:`coursekit.mixtape.DiscoverWeekly.mixtape`
        returns it: the columns ``position, title, artist, genre, tempo, new,
        reason, why`` and one ``by <group>`` column per signal group; its
        ``attrs`` (``recent_genres``, ``recent_tempo``) add the listener's
        recent listening.
    path : path-like
        The file to write.
    fmt : {".png", ".html"}, optional
        Default: the suffix of ``path``.

    Raises
    ------
    ValueError
        For another format, or a table without the signal columns.
    """
    fmt = (fmt or Path(path).suffix).lower()
    if fmt not in (".png", ".html"):
        raise ValueError(f"a mixtape picture is .png or .html, got {fmt!r}")
    missing = [f"by {g}" for g in SIGNAL_GROUPS if f"by {g}" not in table.columns]
    missing += [c for c in ("position", "title", "artist", "genre", "tempo", "why") if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the columns {missing}: draw the table DiscoverWeekly.mixtape(user_id) "
                         f"returns")
    (_write_html if fmt == ".html" else _write_png)(table, path)


def _parts(table):
    user = table["user_id"].iloc[0] if len(table) and "user_id" in table else "?"
    contrib = table[[f"by {g}" for g in SIGNAL_GROUPS]].to_numpy(dtype=float)
    mixtape_genres = table["genre"].value_counts(normalize=True)
    recent = pd.Series(table.attrs.get("recent_genres", {}), dtype=float)
    genres = list(dict.fromkeys([*recent.sort_values(ascending=False).index, *mixtape_genres.index]))
    return user, contrib, mixtape_genres, recent, genres


def _write_png(table, path) -> None:
    user, contrib, mixtape_genres, recent, genres = _parts(table)
    n = len(table)
    fig = Figure(figsize=(15, max(7.5, 0.3 * n + 2.2)), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.7, 1], height_ratios=[0.75, 1.25])
    ax = fig.add_subplot(grid[:, 0])
    y = np.arange(n)
    for sign in (1, -1):
        left = np.zeros(n)
        for k, group in enumerate(SIGNAL_GROUPS):
            part = np.where(sign * contrib[:, k] > 0, contrib[:, k], 0.0)
            ax.barh(y, part, left=left, color=SIGNAL_COLORS[group], height=0.72,
                    label=_LABELS[group] if sign == 1 else None)
            left += part
    ax.axvline(0, color="black", lw=0.8)
    labels = [f"{r.position}. {_short(r.title, 24)} · {_short(r.artist, 16)}" for r in table.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    ax.tick_params(axis="y", pad=12)   # room for the genre swatch
    ax.set_ylim(n - 0.5, -0.5)
    # the genre of each song, as a swatch left of its name; the reason's kind right of the bars
    strip = blended_transform_factory(ax.transAxes, ax.transData)
    ax.scatter(np.full(n, -0.012), y, transform=strip, marker="s", s=40, clip_on=False,
               c=[GENRE_COLORS.get(g, _OTHER) for g in table["genre"]])
    kinds = table["reason"] if "reason" in table else table.get("model", pd.Series([""] * n))
    for k, (kind, new) in enumerate(zip(kinds, table.get("new", pd.Series([False] * n)))):
        ax.text(1.01, k, f"{kind}{'  · NEW' if new else ''}", transform=strip, va="center", fontsize=7.5,
                color="#444444")
    ax.set_xlabel("contribution to the blended score (standardised units; right: pushes the song up)")
    ax.set_title("Where each song comes from: the signals behind its score, and the kind of reason given",
                 fontsize=10, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.045), ncol=3, fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)

    gx = fig.add_subplot(grid[0, 1])
    rows = [("this mixtape", mixtape_genres)]
    if len(recent):
        rows.insert(0, (f"you played\n({table.attrs.get('recent_weeks', 'recently')})", recent))
    for k, (name, mix) in enumerate(rows):
        left = 0.0
        for genre in genres:
            share = float(mix.get(genre, 0.0))
            gx.barh(k, share, left=left, color=GENRE_COLORS.get(genre, _OTHER), height=0.6)
            if share >= 0.07:
                gx.text(left + share / 2, k, f"{share:.0%}", ha="center", va="center", fontsize=7, color="white")
            left += share
    gx.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    gx.set_ylim(len(rows) - 0.5, -0.5)
    gx.set_xlim(0, 1)
    gx.set_xlabel("share of streams (recent) or of songs (mixtape)")
    gx.set_title("Genres: your recent listening and the mixtape", fontsize=10, loc="left")
    gx.legend(handles=[Patch(color=GENRE_COLORS.get(g, _OTHER), label=g) for g in genres], fontsize=7, ncol=3,
              loc="upper center", bbox_to_anchor=(0.5, -0.32), frameon=False)

    tx = fig.add_subplot(grid[1, 1])
    tempo = table["tempo"].to_numpy(dtype=float)
    played = np.asarray(table.attrs.get("recent_tempo", []), dtype=float)
    if len(played):
        low, mid, high = np.percentile(played, [10, 50, 90])
        tx.axhspan(low, high, color="#dddddd", label="tempos you played recently (10-90 %)")
        tx.axhline(mid, color="#888888", ls="--", lw=1, label=f"your median: {mid:.0f} BPM")
    tx.plot(table["position"], tempo, color="#555555", lw=1, zorder=2)
    tx.scatter(table["position"], tempo, c=[GENRE_COLORS.get(g, _OTHER) for g in table["genre"]], s=36,
               edgecolor="white", zorder=3)
    tx.set(xlabel="position in the mixtape (listening order)", ylabel="tempo (BPM)")
    tx.set_title("The tempo arc: up, then back down", fontsize=10, loc="left")
    if len(played):
        tx.legend(fontsize=7.5, loc="lower center")
    fig.suptitle(f"Discover Weekly for user {user}: {n} songs you have never played", fontsize=13)
    fig.savefig(path, dpi=100)


def _short(text, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def _write_html(table, path) -> None:
    user, contrib, mixtape_genres, recent, genres = _parts(table)
    e = lambda value: html.escape(str(value))  # noqa: E731
    pos_total = np.where(contrib > 0, contrib, 0).sum(axis=1)
    neg_total = -np.where(contrib < 0, contrib, 0).sum(axis=1)
    scale = max(float(pos_total.max(initial=0.0)), float(neg_total.max(initial=0.0)), 1e-12)

    def bar(values, sign):
        cells = "".join(f'<span style="width:{100 * abs(v) / scale:.1f}%;background:{SIGNAL_COLORS[g]}" '
                        f'title="{e(_LABELS[g])}: {v:+.2f}"></span>'
                        for g, v in zip(SIGNAL_GROUPS, values) if sign * v > 0)
        return f'<div class="bar {"neg" if sign < 0 else "pos"}">{cells}</div>'

    rows = "\n".join(
        f'<tr><td>{r.position}</td><td><span class="sw" style="background:{GENRE_COLORS.get(r.genre, _OTHER)}"></span>'
        f'<b>{e(r.title)}</b><br><small>{e(r.artist)} · {e(r.genre)} · {r.tempo:.0f} BPM'
        f'{" · NEW" if getattr(r, "new", False) else ""}</small></td>'
        f'<td class="l">{bar(contrib[k], -1)}</td><td class="r">{bar(contrib[k], 1)}</td>'
        f'<td><small>{e(getattr(r, "reason", ""))}</small><br><i>{e(r.why)}</i></td></tr>'
        for k, r in enumerate(table.itertuples()))
    legend = " ".join(f'<span class="sw" style="background:{c}"></span>{e(_LABELS[g])}' for g, c in SIGNAL_COLORS.items())

    def mix_bar(name, mix):
        cells = "".join(f'<span style="width:{100 * float(mix.get(g, 0)):.1f}%;background:{GENRE_COLORS.get(g, _OTHER)}" '
                        f'title="{e(g)}: {float(mix.get(g, 0)):.0%}"></span>' for g in genres)
        return f'<div class="mixrow"><div class="name">{e(name)}</div><div class="bar pos wide">{cells}</div></div>'

    mixes = ([mix_bar(f"you played ({table.attrs.get('recent_weeks', 'recently')})", recent)] if len(recent) else []) \
        + [mix_bar("this mixtape", mixtape_genres)]
    genre_legend = " ".join(f'<span class="sw" style="background:{GENRE_COLORS.get(g, _OTHER)}"></span>{e(g)}'
                            for g in genres)
    Path(path).write_text(
        "<!doctype html><meta charset='utf-8'><title>Discover Weekly</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:auto} table{border-collapse:collapse;width:100%}"
        "td{padding:3px 6px;border-bottom:1px solid #eee;vertical-align:middle;font-size:13px}"
        "td.l,td.r{width:16%} .bar{display:flex;height:14px} .bar.neg{flex-direction:row-reverse}"
        ".bar span{display:block;height:100%} td.l{border-right:1px solid #000}"
        ".sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px;border-radius:2px}"
        ".mixrow{display:flex;align-items:center;margin:4px 0} .name{width:260px;font-size:13px}"
        ".wide{width:600px}</style>"
        f"<h1>Discover Weekly for user {e(user)}: {len(table)} songs you have never played</h1>"
        "<h2>Where each song comes from</h2><p><small>Each signal's contribution to the song's blended score: "
        f"right of the line pushes the song up, left holds it back.</small><br>{legend}</p>"
        f"<table><tr><th>#</th><th>song</th><th colspan=2>signals</th><th>why</th></tr>{rows}</table>"
        f"<h2>Genres: your recent listening and the mixtape</h2>{''.join(mixes)}<p>{genre_legend}</p>"
        f"<h2>The tempo arc</h2>{_tempo_svg(table)}",
        encoding="utf-8")


def _tempo_svg(table, *, width: int = 700, height: int = 220) -> str:
    tempo = table["tempo"].to_numpy(dtype=float)
    if len(tempo) == 0:
        return "<p>(no songs)</p>"
    played = np.asarray(table.attrs.get("recent_tempo", []), dtype=float)
    values = np.concatenate([tempo, played])
    lo, hi = float(values.min()) - 5, float(values.max()) + 5
    x = lambda k: 40 + (width - 60) * k / max(len(tempo) - 1, 1)  # noqa: E731
    y = lambda t: height - 25 - (height - 45) * (t - lo) / max(hi - lo, 1e-9)  # noqa: E731
    band = ""
    if len(played):
        p10, p50, p90 = np.percentile(played, [10, 50, 90])
        band = (f'<rect x="40" y="{y(p90):.1f}" width="{width - 60}" height="{y(p10) - y(p90):.1f}" fill="#e4e4e4">'
                f'<title>tempos you played recently (10-90 %)</title></rect>'
                f'<line x1="40" x2="{width - 20}" y1="{y(p50):.1f}" y2="{y(p50):.1f}" stroke="#888" '
                f'stroke-dasharray="4"/><text x="{width - 20}" y="{y(p50) - 4:.1f}" font-size="11" '
                f'text-anchor="end">your median {p50:.0f} BPM</text>')
    line = " ".join(f"{x(k):.1f},{y(t):.1f}" for k, t in enumerate(tempo))
    dots = "".join(f'<circle cx="{x(k):.1f}" cy="{y(t):.1f}" r="5" fill="{GENRE_COLORS.get(g, _OTHER)}">'
                   f'<title>{k + 1}. {html.escape(str(title))}: {t:.0f} BPM</title></circle>'
                   for k, (t, g, title) in enumerate(zip(tempo, table["genre"], table["title"])))
    return (f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{band}'
            f'<polyline points="{line}" fill="none" stroke="#555"/>{dots}'
            f'<text x="40" y="{height - 5}" font-size="11">position 1</text>'
            f'<text x="{width - 20}" y="{height - 5}" font-size="11" text-anchor="end">position {len(tempo)}</text>'
            f'<text x="5" y="15" font-size="11">{hi:.0f} BPM</text><text x="5" y="{height - 25}" font-size="11">'
            f'{lo:.0f} BPM</text></svg>')
