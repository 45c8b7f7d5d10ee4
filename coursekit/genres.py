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
        Electric lead timbre used by the synthesiser (``"saw"``, ``"square"``,
        ``"sine"``, ``"pluck"``, ``"organ"``); an acoustic track's lead moves
        towards a plucked string or a piano (see ``acousticness``).
    acousticness : float
        0..1, the genre's mean acousticness: how far its artists' sound leans
        to acoustic instruments (plucked strings, piano) rather than electric
        ones. Artists spread widely around it (:mod:`coursekit.world`).
    energy : float
        0..1, the genre's mean energy: density of notes and drum hits.
    vocal_share : float
        Probability that an artist of the genre sings (a voice leads their
        tracks); the others play instrumentals.
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
    acousticness: float = 0.5
    energy: float = 0.5
    vocal_share: float = 0.5


GENRES: tuple[Genre, ...] = (
    Genre("pop", "#e377c2", (96, 128), 0.75, (-7.0, 1.5), 0.05, 0.6, 0.6, "square", 0.30, 0.65, 0.85),
    Genre("rock", "#d62728", (110, 150), 0.60, (-6.0, 1.5), 0.08, 0.8, 0.7, "saw", 0.20, 0.75, 0.75),
    Genre("hip hop", "#ff7f0e", (80, 100), 0.35, (-6.5, 1.5), 0.02, 0.4, 0.8, "sine", 0.15, 0.60, 0.90),
    Genre("electronic", "#1f77b4", (120, 135), 0.40, (-5.5, 1.2), 0.00, 0.7, 0.9, "saw", 0.08, 0.75, 0.35),
    Genre("jazz", "#8c564b", (90, 170), 0.55, (-15.0, 2.5), 0.35, 0.3, 0.4, "organ", 0.60, 0.45, 0.30),
    Genre("folk", "#2ca02c", (80, 120), 0.65, (-13.0, 2.5), 0.35, 0.5, 0.2, "pluck", 0.80, 0.35, 0.70),
    Genre("metal", "#7f7f7f", (140, 190), 0.20, (-4.5, 1.0), 0.05, 0.9, 1.0, "saw", 0.06, 0.88, 0.70),
    Genre("classical", "#9467bd", (60, 130), 0.55, (-19.0, 3.0), 0.40, 0.2, 0.0, "sine", 0.92, 0.25, 0.10),
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
