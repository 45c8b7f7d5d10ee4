"""The mixtape picture: the signals per song, the genres against recent listening, the tempo arc."""

import re

import numpy as np
import pandas as pd
import pytest

from coursekit.signals import SIGNAL_GROUPS
from coursekit.picture import SIGNAL_COLORS, write_picture


def _table(n=4):
    table = pd.DataFrame({
        "user_id": 7, "position": np.arange(1, n + 1), "track_id": np.arange(n), "title": [f"Song <{k}>" for k in range(n)],
        "artist": "A & B", "genre": ["rock", "jazz"] * (n // 2), "tempo": [90.0, 120.0, 150.0, 100.0][:n],
        "new": [False, True] * (n // 2), "model": "cf", "reason": "your songs", "why": "because you play \"X\"",
    })
    for k, g in enumerate(SIGNAL_GROUPS):
        table[f"by {g}"] = 0.0
    table["by cf"] = [2.0, 1.0, 0.5, 0.0][:n]
    table["by text"] = [-1.0, 0.5, 0.0, 1.0][:n]
    table.attrs.update(recent_genres={"rock": 0.75, "jazz": 0.25}, recent_tempo=[100.0, 110.0, 120.0],
                       recent_weeks="weeks 6-7")
    return table


def test_the_html_shows_each_signal_the_genres_and_the_tempo_arc(tmp_path):
    write_picture(_table(), tmp_path / "m.html")
    page = (tmp_path / "m.html").read_text()
    assert "Discover Weekly for user 7: 4 songs" in page
    assert "Song &lt;0&gt;" in page and "A &amp; B" in page          # escaped
    # song 1: cf +2 (the widest positive part: 100 %), text -1 (50 % of the widest negative... of the scale 2)
    first = page.split("<tr><td>1</td>")[1].split("</tr>")[0]
    assert f'width:100.0%;background:{SIGNAL_COLORS["cf"]}' in first
    assert f'width:50.0%;background:{SIGNAL_COLORS["text"]}' in first.split('class="bar neg"')[1].split("</div>")[0]
    assert "you played (weeks 6-7)" in page and "width:75.0%" in page
    points = re.search(r'<polyline points="([^"]+)"', page).group(1).split()
    assert len(points) == 4
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[2] == min(ys)                                         # 150 BPM is the highest point


def test_the_png_is_drawn(tmp_path):
    write_picture(_table(), tmp_path / "m.png")
    data = (tmp_path / "m.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_bad_tables_and_formats_are_refused(tmp_path):
    with pytest.raises(ValueError, match="png or .html"):
        write_picture(_table(), tmp_path / "m.svg")
    with pytest.raises(ValueError, match=r"by cf.*DiscoverWeekly.mixtape"):
        write_picture(_table().drop(columns="by cf"), tmp_path / "m.png")
    assert list(tmp_path.iterdir()) == []
