"""The genres of the music world: where they sit in taste space and how they sound.

Each genre is a region of the latent taste space (its centroid is drawn by
:mod:`coursekit.world`), with an *audio signature* used to draw its tracks'
attributes and to render them (:mod:`coursekit.synth`), and one colour that
every figure of the course uses for it.

The text signature of each genre (adjectives, scenes, eras, instruments) lives
with the web-text writer in :mod:`coursekit.webtext`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Genre", "GENRES", "GENRE_NAMES", "GENRE_COLORS", "KEY_NAMES", "key_name"]

#: Pitch-class names, index = key as stored in the ``tracks`` table (0 = C).
KEY_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Genre:
    """Audio signature of one genre.

    Parameters
    ----------
    name : str
        Genre name as stored in the ``genre`` columns.
    color : str
        Matplotlib colour used for this genre in every figure.
    tempo : tuple of float
        (low, high) tempo range, beats per minute.
    major_share : float
        Probability that a track is in a major mode.
    loudness : tuple of float
        (mean, std) integrated loudness, dB relative to full scale.
    waltz_share : float
        Probability that a track is in 3/4 rather than 4/4.
    brightness : float
        0..1, share of energy in upper harmonics of the instruments.
    percussion : float
        0..1, density of drum hits per beat.
    instrument : str
        Lead timbre used by the synthesiser (``"saw"``, ``"square"``,
        ``"sine"``, ``"pluck"``, ``"organ"``).
    """

    name: str
    color: str
    tempo: tuple[float, float]
    major_share: float
    loudness: tuple[float, float]
    waltz_share: float
    brightness: float
    percussion: float
    instrument: str


GENRES: tuple[Genre, ...] = (
    Genre("pop", "#e377c2", (96, 128), 0.75, (-7.0, 1.5), 0.05, 0.6, 0.6, "square"),
    Genre("rock", "#d62728", (110, 150), 0.60, (-6.0, 1.5), 0.08, 0.8, 0.7, "saw"),
    Genre("hip hop", "#ff7f0e", (80, 100), 0.35, (-6.5, 1.5), 0.02, 0.4, 0.8, "sine"),
    Genre("electronic", "#1f77b4", (120, 135), 0.40, (-5.5, 1.2), 0.00, 0.7, 0.9, "saw"),
    Genre("jazz", "#8c564b", (90, 170), 0.55, (-15.0, 2.5), 0.35, 0.3, 0.4, "organ"),
    Genre("folk", "#2ca02c", (80, 120), 0.65, (-13.0, 2.5), 0.35, 0.5, 0.2, "pluck"),
    Genre("metal", "#7f7f7f", (140, 190), 0.20, (-4.5, 1.0), 0.05, 0.9, 1.0, "saw"),
    Genre("classical", "#9467bd", (60, 130), 0.55, (-19.0, 3.0), 0.40, 0.2, 0.0, "sine"),
)

GENRE_NAMES: tuple[str, ...] = tuple(g.name for g in GENRES)
GENRE_COLORS: dict[str, str] = {g.name: g.color for g in GENRES}


def key_name(key: int, mode: int) -> str:
    """Readable key, e.g. ``key_name(9, 0) == "A minor"``.

    Parameters
    ----------
    key : int
        Pitch class, 0 = C ... 11 = B.
    mode : int
        1 = major, 0 = minor.
    """
    if not 0 <= int(key) <= 11:
        raise ValueError(f"key must be a pitch class 0..11, got {key!r}")
    if int(mode) not in (0, 1):
        raise ValueError(f"mode must be 1 (major) or 0 (minor), got {mode!r}")
    return f"{KEY_NAMES[int(key)]} {'major' if int(mode) == 1 else 'minor'}"
