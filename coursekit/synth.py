"""The world's sound: render a track from its attributes.

The music world has no recordings, so every track is *rendered* from the
columns of the public ``tracks`` table: tempo, time signature, key, mode,
loudness, its genre (timbre, groove, swing: :mod:`coursekit.genres`) and its
traits beyond genre — ``acousticness`` (the lead's timbre, from the genre's
electric instrument to a piano or plucked string), ``energy`` (how busy the
parts are) and ``instrumentalness`` (below 0.5 a sung voice with vowel formants
and vibrato carries the melody). The synthesiser writes a short score first
(:func:`compose`: bars, chords, a bass line, a melody, drums) and then plays it
(:func:`render_track`), mastered to the track's loudness measured as ITU-R
BS.1770 prescribes (:func:`coursekit.loudness.integrated_loudness`);
:func:`render_tracks` caches the clips on disk. :func:`example_tracks` draws
world-like tracks without building a world.

Two styles (:data:`STYLES`): ``"real"``, the world's own audio (what the CNN
hears and the estimators are judged on), is a performed take — humanised
timing, tempo drift, swing, drum fills, intros without the band, each voice at
a level of its own, a room's reverberation and a noise floor; ``"easy"`` plays
the same score exactly and dry.

This module makes the world's media, as :mod:`coursekit.webtext` writes its web
text; :mod:`coursekit.audio` analyses audio (these clips or real recordings).
Loudness is measured and set in :mod:`coursekit.loudness`; real written scores
are read in :mod:`coursekit.scores` and played here by :func:`render_notes`.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np

from .genres import GENRE_NAMES, GENRES, Genre
from .loudness import master

if TYPE_CHECKING:  # imported where a table is made: a spectrogram worker never needs pandas (65 MB)
    import pandas as pd

__all__ = [
    "SR",
    "DEFAULT_DURATION",
    "SYNTH_VERSION",
    "STYLES",
    "TRAITS",
    "Score",
    "compose",
    "render_track",
    "render_tracks",
    "render_notes",
    "check_track",
    "clip_name",
    "default_cache_dir",
    "example_tracks",
]


#: Sample rate of every rendered clip, Hz.
SR = 22050
#: Default clip length, seconds: 8 beats at 60 BPM, the world's slowest tempo (2 2/3 bars of 3/4).
DEFAULT_DURATION = 8.0
#: Bump when the synthesiser's output changes; part of the cache key.
SYNTH_VERSION = 4
#: Rendering styles: ``"real"`` (the world's audio: a performed, produced take) and
#: ``"easy"`` (the score played exactly, dry and clean).
STYLES = ("real", "easy")

_GENRE = {g.name: g for g in GENRES}
_ATTRIBUTES = ("genre", "tempo", "key", "mode", "loudness", "time_signature")
#: Traits beyond genre (columns of the world's ``tracks`` table, 0..1); a track
#: without them gets its genre's means and no voice.
TRAITS = ("acousticness", "energy", "instrumentalness")

# ----------------------------------------------------------------------------
# Music theory: scales, chords, progressions
# ----------------------------------------------------------------------------

_MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])  # semitones above the tonic
_MINOR_SCALE = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor
# chords by the scale degree of their root (0 = tonic); a triad stacks degrees
# r, r+2, r+4. Minor keys take the dominant (V) of harmonic minor: its third is
# the raised 7th degree, the leading tone.
_MAJOR_CHORDS = {"I": 0, "ii": 1, "iii": 2, "IV": 3, "V": 4, "vi": 5}
_MINOR_CHORDS = {"i": 0, "ii°": 1, "III": 2, "iv": 3, "V": 4, "VI": 5, "VII": 6}
_MAJOR_PROGRESSIONS = (("I", "IV", "V", "I"), ("I", "V", "vi", "IV"), ("I", "vi", "IV", "V"),
                       ("I", "IV", "I", "V"), ("I", "IV", "vi", "V"))
_MINOR_PROGRESSIONS = (("i", "iv", "V", "i"), ("i", "VI", "iv", "V"), ("i", "iv", "i", "V"),
                       ("i", "VII", "VI", "V"), ("i", "iv", "VI", "V"))


def _midi_to_hz(midi):
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def _in_range(pitch_class: int, low: int) -> int:
    """The MIDI note of ``pitch_class`` in the octave [low, low + 12)."""
    return low + (pitch_class - low) % 12


# ----------------------------------------------------------------------------
# The score
# ----------------------------------------------------------------------------


@dataclass
class Score:
    """What the synthesiser plays: the clip's beats, chords and notes.

    Attributes
    ----------
    genre : str
        The genre whose timbre plays it.
    tempo : float
        Beats per minute.
    time_signature : int
        Beats per bar (3 or 4).
    key, mode : int
        Tonic pitch class (0 = C) and mode (1 = major, 0 = minor).
    loudness : float
        Target integrated loudness, LUFS.
    duration : float
        Clip length, seconds.
    beat_times : ndarray of float
        Onset of every beat inside the clip, seconds from the clip's start.
    beat_in_bar : ndarray of int
        Position of each beat in its bar, 0 = downbeat.
    chords : list of str
        Roman numeral of each bar that sounds in the clip, in order.
    notes : pandas.DataFrame
        One row per note or drum hit: ``voice`` (``"bass"``, ``"chord"``,
        ``"arpeggio"``, ``"melody"``, ``"kick"``, ``"snare"``, ``"hat"``,
        ``"tom"``), ``onset`` and
        ``length`` (seconds, onset relative to the clip's start, may be
        negative for a note that started before the clip), ``midi`` (note
        number, 0 for drums) and ``velocity`` (0..1).
    acousticness, energy, instrumentalness : float
        The track's traits (0..1): the lead's timbre, how busy the parts are,
        and whether a voice sings the melody (below 0.5).
    style : str
        ``"real"`` (performed and produced) or ``"easy"`` (exact and dry).
    seed : int
        Seed of the random choices (the mix's, too).
    """

    genre: str
    tempo: float
    time_signature: int
    key: int
    mode: int
    loudness: float
    duration: float
    beat_times: np.ndarray
    beat_in_bar: np.ndarray
    chords: list
    notes: pd.DataFrame = field(repr=False)
    acousticness: float = 0.5
    energy: float = 0.5
    instrumentalness: float = 1.0
    style: str = "easy"
    seed: int = 0


def _get(track, name, default=None):
    if isinstance(track, Mapping) or hasattr(track, "__getitem__"):
        try:
            return track[name]
        except (KeyError, IndexError, TypeError):
            pass
    return getattr(track, name, default)


def _attributes(track, overrides) -> dict:
    """Read and check the attributes the synthesiser needs."""
    values = {}
    for name in _ATTRIBUTES + TRAITS + ("track_id",):
        value = overrides.get(name, _get(track, name) if track is not None else None)
        if value is None and name not in TRAITS + ("track_id",):
            raise ValueError(f"track is missing the attribute {name!r}; "
                             f"give it as a column/key or as render_track(..., {name}=...)")
        values[name] = value
    genre = str(values["genre"])
    if genre not in _GENRE:
        raise ValueError(f"unknown genre {genre!r}; expected one of {list(GENRE_NAMES)}")
    numbers = {}
    for name in ("tempo", "key", "mode", "loudness", "time_signature"):
        try:
            numbers[name] = float(values[name])
        except (TypeError, ValueError):
            numbers[name] = float("nan")
    tempo, loudness = numbers["tempo"], numbers["loudness"]
    if not 30.0 <= tempo <= 300.0:
        raise ValueError(f"tempo must be 30..300 beats per minute, got {values['tempo']!r}")
    if numbers["key"] not in range(12):
        raise ValueError(f"key must be a pitch class 0..11 (0 = C), got {values['key']!r}")
    if numbers["mode"] not in (0, 1):
        raise ValueError(f"mode must be 1 (major) or 0 (minor), got {values['mode']!r}")
    if numbers["time_signature"] not in (3, 4):
        raise ValueError(f"time_signature must be 3 or 4 beats per bar, got {values['time_signature']!r}")
    if not -70.0 < loudness < 0.0:
        raise ValueError(f"loudness must be between -70 and 0 LUFS, got {values['loudness']!r}")
    key, mode, ts = int(numbers["key"]), int(numbers["mode"]), int(numbers["time_signature"])
    g = _GENRE[genre]
    defaults = {"acousticness": g.acousticness, "energy": g.energy, "instrumentalness": 1.0}
    traits = {}
    for name in TRAITS:
        value = values[name]
        try:
            value = defaults[name] if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)
        except (TypeError, ValueError):
            value = float("nan")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {values[name]!r}")
        traits[name] = value
    track_id = values["track_id"]
    return dict(genre=g, tempo=tempo, key=key, mode=mode, time_signature=ts,
                loudness=loudness, track_id=None if track_id is None else int(track_id), **traits)


def compose(track=None, *, duration: float = DEFAULT_DURATION, seed: int | None = None,
            style: str = "real", **attributes) -> Score:
    """Write the score of a track's clip: chords per bar, bass, melody, drums.

    The harmony changes on every downbeat (a four-chord progression in the
    track's key and mode that starts on the tonic; minor keys use the major
    dominant of harmonic minor); the bass plays the chord's root, accented on
    the downbeat; the melody walks the scale and lands on chord tones on
    strong beats (jazz walks its bass on every beat, electronic music pumps
    it on the off-beats); the drums play the genre's groove. The clip starts at a
    random point of the bar before the progression begins, as a preview from
    the middle of a song would.

    The track's **energy** (0..1) sets how busy it is: the melody's eighth
    notes and rests, the drums' density (the genre's ``percussion`` moved by
    the energy) and the chords — held for the bar (energy below 0.35),
    arpeggiated in eighths (below 0.6) or struck on every beat.

    With ``style="real"`` the score is also *performed*: onsets are
    humanised (a few milliseconds of jitter, the drums tighter), the tempo
    drifts by up to a few percent over the clip, swung genres (jazz, some hip
    hop) delay their off-beat eighths, every fourth bar may end in a drum
    fill, velocities vary, and some clips start in an intro (no bass or drums
    for a bar or two). ``style="easy"`` plays the same notes exactly.

    Parameters
    ----------
    track : mapping, pandas.Series or None
        A row of the ``tracks`` table (``genre, tempo, key, mode, loudness,
        time_signature``, optionally ``acousticness, energy,
        instrumentalness`` and ``track_id``).
    duration : float, optional
        Clip length, seconds.
    seed : int or None, optional
        Seed of the random choices (progression, melody, fills); ``None``
        uses the track's ``track_id`` (0 if it has none).
    style : {"real", "easy"}, optional
        A performed take, or the score played exactly.
    **attributes
        Attributes that replace (or stand in for) the track's, e.g.
        ``tempo=120.0``.

    Returns
    -------
    Score

    Examples
    --------
    >>> s = compose(genre="folk", tempo=90.0, key=9, mode=0, loudness=-12.0, time_signature=3)
    >>> s.chords  # one chord a bar, from the bar the clip starts in
    ['V', 'i', 'iv', 'i', 'V']
    >>> len(s.beat_times), s.beat_in_bar[:4].tolist()
    (12, [0, 1, 2, 0])
    """
    import pandas as pd

    score = _write_score(track, duration, seed, style, attributes)
    score.notes = pd.DataFrame(score.notes)
    return score


def _write_score(track, duration: float, seed, style: str, attributes: dict) -> Score:
    """:func:`compose`'s work, its notes a dict of arrays (the renderer needs no DataFrame)."""
    a = _attributes(track, attributes)
    if style not in STYLES:
        raise ValueError(f"style must be one of {list(STYLES)}, got {style!r}")
    if not duration > 0:
        raise ValueError(f"duration must be positive seconds, got {duration!r}")
    if seed is None:
        seed = a["track_id"] if a["track_id"] is not None else 0
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 4])
    g: Genre = a["genre"]
    m, key, mode = a["time_signature"], a["key"], a["mode"]
    energy = a["energy"]
    T = 60.0 / a["tempo"]  # beat period, s
    bar = m * T
    # the clip starts somewhere in the bar before the progression's first bar
    # (whose chord leads back to the tonic), as a preview of a song would
    offset = rng.uniform(0.0, bar)
    n_bars = int(np.ceil((offset + duration) / bar)) + 1
    chord_degree = _MAJOR_CHORDS if mode == 1 else _MINOR_CHORDS
    progressions = _MAJOR_PROGRESSIONS if mode == 1 else _MINOR_PROGRESSIONS
    progression = progressions[rng.integers(len(progressions))]
    steps = _MAJOR_SCALE if mode == 1 else _MINOR_SCALE
    # drum hits per beat, 0..1: the genre's, moved by the track's energy (no drums stay none)
    p = float(np.clip(g.percussion + 0.8 * (energy - g.energy), 0.15, 1.0)) if g.percussion > 0 else 0.0
    chord_style = "held" if energy < 0.35 else "arpeggio" if energy < 0.6 else "struck"
    strong_beats = (0,) if m == 3 else (0, 2)
    velocity = {3: (1.0, 0.55, 0.55), 4: (1.0, 0.55, 0.75, 0.55)}[m]  # accents in the bar
    # the performance's choices come from a generator of their own, so both styles play the same notes
    perf = np.random.default_rng([int(seed) & 0xFFFFFFFF, 6])
    intro_bars = int(perf.integers(1, 3)) if perf.random() < 0.3 else 0
    fills = perf.random(n_bars) < 0.7

    def pitch_class(degree: int, chord: str) -> int:
        """Pitch class of a scale degree (any integer), raised 7th over a minor V."""
        pc = (key + steps[degree % 7]) % 12
        if mode == 0 and chord == "V" and degree % 7 == 6:
            pc = (pc + 1) % 12
        return int(pc)

    def melody_midi(degree: int, chord: str) -> int:
        return _in_range(key, 60) + 12 * (degree // 7) + (pitch_class(degree, chord) - key) % 12

    rows = []  # (voice, onset in the song, length, midi, velocity)
    melody = int(rng.integers(0, 5))  # the melody's scale degree, counted from the tonic at C4..B4
    bar_chords = []
    for b in range(n_bars):
        chord = progression[(b - 1) % len(progression)]
        bar_chords.append(chord)
        r = chord_degree[chord]
        tones = [pitch_class(r + i, chord) for i in (0, 2, 4)]
        t0 = b * bar
        band = style == "easy" or b >= intro_bars  # bass and drums (after the intro)
        # bass: the chord's root on the downbeat (held for the bar in sparse
        # tracks); busier ones add the fifth on beat 3 of 4/4 and passing roots
        root = _in_range(tones[0], 36)
        if band and g.name == "jazz" and p > 0:  # a walking bass: root, third, fifth, a step to the next root
            walk = [root, _in_range(tones[1], 36), _in_range(tones[2], 36), root + 10][:m]
            for beat, note in enumerate(walk):
                rows.append(("bass", t0 + beat * T, 0.85 * T, note, 1.0 if beat == 0 else 0.75))
        elif band and g.name == "electronic" and p >= 0.5:  # a pumping bass on the off-beats
            for beat in range(m):
                rows.append(("bass", t0 + (beat + 0.5) * T, 0.4 * T, root + (12 if beat % 2 else 0), 0.9))
        elif band and p < 0.3:
            rows.append(("bass", t0, 0.95 * bar, root, 1.0))
        elif band:
            rows.append(("bass", t0, 0.9 * T, root, 1.0))
            for beat in range(1, m):
                if m == 4 and beat == 2:
                    rows.append(("bass", t0 + beat * T, 0.9 * T, root + 7, 0.7))
                elif rng.random() < p - 0.2:
                    rows.append(("bass", t0 + beat * T, 0.6 * T, root, 0.5))
        # chords: held for the bar, arpeggiated in eighths, or struck on every
        # beat, the downbeat loudest (a sparse struck waltz is "oom-pah-pah")
        if chord_style == "held":
            for pc in tones:
                rows.append(("chord", t0, 0.97 * bar, _in_range(pc, 55), 0.8))
        elif chord_style == "arpeggio":
            pattern = (0, 1, 2, 1) if m == 4 else (0, 1, 2)
            for k in range(2 * m):
                pc = tones[pattern[k % len(pattern)]]
                rows.append(("arpeggio", t0 + k * T / 2, 0.5 * T, _in_range(pc, 55) + (12 if k % 4 == 2 else 0),
                             0.8 if k == 0 else 0.55))
        else:
            for beat in range(m):
                if m == 3 and p < 0.3 and beat == 0:
                    continue
                for pc in tones:
                    rows.append(("chord", t0 + beat * T, 0.8 * T, _in_range(pc, 55), velocity[beat]))
        # melody: one or two notes a beat (two more often the more energy); on
        # strong beats (and often on the others) it moves to the nearest chord
        # tone, otherwise it steps along the scale
        for beat in range(m):
            if beat not in strong_beats and rng.random() < 0.3 * (1.0 - energy):
                continue  # a rest
            n_sub = 2 if rng.random() < 0.1 + 0.6 * energy else 1
            for s in range(n_sub):
                strong = s == 0 and beat in strong_beats
                if strong or rng.random() < 0.4:
                    chord_tones = [d for d in range(melody - 4, melody + 5) if (d - r) % 7 in (0, 2, 4)]
                    chord_tones = [d for d in chord_tones if d != melody] if not strong else chord_tones
                    melody = min(chord_tones, key=lambda d: (abs(d - melody), d))
                else:
                    # a step of -2, -1, 1 or 2 degrees: rng.choice(_STEPS, p=...)'s draw, without its checks
                    melody += _STEPS[bisect.bisect_right(_STEP_CDF, rng.random())]
                if melody < 0 or melody > 11:  # stay within about an octave and a half
                    melody = int(np.clip(melody, 0, 11)) - int(np.sign(melody))
                rows.append(("melody", t0 + (beat + s / n_sub) * T, 0.9 * T / n_sub,
                             melody_midi(melody, chord), 0.9 if strong else 0.65))
        # drums: in 4/4 each genre's groove (_GROOVES: four on the floor,
        # a double kick, a syncopated hip-hop kick...), in 3/4 the kick on the
        # downbeat and the snare on 2 and 3; hi-hats only in busy enough
        # tracks, and off the beat only in busy ones. In the real style
        # every fourth bar may end in a fill of sixteenths.
        if p > 0 and band:
            fill = style == "real" and b % 4 == 3 and fills[b] and p >= 0.3
            fill_from = (m - (2 if energy > 0.6 else 1)) * T if fill else bar
            groove = _GROOVES.get(g.name, _GROOVES["rock"]) if m == 4 else _WALTZ_GROOVE
            for drum, hits in groove.items():
                for beat, level in hits:
                    if beat * T >= fill_from or (drum == "snare" and p < 0.3):
                        continue
                    if drum == "hat" and (p < 0.5 or (beat % 1 and not (p >= 0.7 and rng.random() < p))):
                        continue
                    rows.append((drum, t0 + beat * T, 0.0, 0, level))
            if fill:
                n_hits = int(round((bar - fill_from) / (T / 4)))
                for k in range(n_hits):
                    rows.append(("snare" if k % 3 == 0 else "tom", t0 + fill_from + k * T / 4, 0.0,
                                 0, 0.45 + 0.5 * k / max(n_hits - 1, 1)))

    voice = np.array([r[0] for r in rows], dtype=object)
    onset, length, midi, vel = (np.array([r[k] for r in rows], dtype=float) for k in range(1, 5))
    beats = np.arange(n_bars * m) * T
    if style == "real":
        onset, vel, beats = _perform(voice, onset, vel, beats, T, g, a, perf)
    onset -= offset
    beats = beats - offset
    keep = (onset < duration) & (onset + length + 0.5 > 0)
    notes = {"voice": voice[keep], "onset": onset[keep], "length": length[keep],
             "midi": midi[keep].astype(np.int64), "velocity": vel[keep]}
    inside = (beats >= 0) & (beats < duration)
    first_bar = int(offset // bar)
    last_bar = int((offset + duration) // bar)
    return Score(genre=g.name, tempo=a["tempo"], time_signature=m, key=key, mode=mode,
                 loudness=a["loudness"], duration=float(duration),
                 beat_times=beats[inside], beat_in_bar=(np.arange(n_bars * m) % m)[inside],
                 chords=bar_chords[first_bar:last_bar + 1], notes=notes,
                 acousticness=a["acousticness"], energy=energy, instrumentalness=a["instrumentalness"],
                 style=style, seed=int(seed))


#: The melody's steps along the scale (degrees) and their cumulative probabilities (0.15, 0.35, 0.35, 0.15),
#: computed as numpy's ``Generator.choice`` does, so that a draw picks the same step as ``rng.choice(_STEPS, p=...)``.
_STEPS = (-2, -1, 1, 2)
_STEP_CDF = (np.cumsum([0.15, 0.35, 0.35, 0.15]) / np.cumsum([0.15, 0.35, 0.35, 0.15])[-1]).tolist()


def _eighths(level_on: float, level_off: float, beats: int = 4) -> tuple:
    return tuple((k / 2, level_on if k % 2 == 0 else level_off) for k in range(2 * beats))


#: Each genre's drum groove in a 4/4 bar: drum -> (beat, velocity) hits; a genre without drums has none.
_GROOVES = {
    "rock": {"kick": ((0, 1.0), (2, 0.75)), "snare": ((1, 0.7), (3, 0.7)), "hat": _eighths(0.6, 0.35)},
    "pop": {"kick": ((0, 1.0), (1.5, 0.6), (2, 0.75)), "snare": ((1, 0.65), (3, 0.65)), "hat": _eighths(0.5, 0.3)},
    "hip hop": {"kick": ((0, 1.0), (0.75, 0.7), (2.5, 0.8)), "snare": ((1, 0.8), (3, 0.8)),
                "hat": tuple((k / 4, 0.45 if k % 2 == 0 else 0.25) for k in range(16))},
    "electronic": {"kick": ((0, 1.0), (1, 0.95), (2, 0.95), (3, 0.95)), "snare": ((1, 0.6), (3, 0.6)),
                   "hat": ((0.5, 0.7), (1.5, 0.7), (2.5, 0.7), (3.5, 0.7))},
    "jazz": {"kick": ((0, 0.45),), "snare": ((2.5, 0.25),),
             "hat": ((0, 0.55), (1, 0.6), (1.5, 0.35), (2, 0.55), (3, 0.6), (3.5, 0.35))},
    "folk": {"kick": ((0, 0.8), (2, 0.5)), "hat": _eighths(0.3, 0.2)},
    "metal": {"kick": _eighths(1.0, 0.85), "snare": ((1, 0.9), (3, 0.9)), "hat": ((0, 0.7), (1, 0.7), (2, 0.7), (3, 0.7))},
}
#: Drums of a 3/4 bar: the kick on the downbeat, a light snare on 2 and 3.
_WALTZ_GROOVE = {"kick": ((0, 1.0),), "snare": ((1, 0.3), (2, 0.3)), "hat": _eighths(0.5, 0.3, beats=3)}

#: Overdrive of the electric instruments of a genre (tanh drive), scaled down as the track is more acoustic.
_DRIVE = {"metal": 6.0, "rock": 2.5}

#: Swing of each genre: (probability that a track swings, delay of the off-beat eighth, share of the beat).
_SWING = {"jazz": (0.8, 0.64), "hip hop": (0.4, 0.58), "folk": (0.15, 0.6)}


def _perform(voice, onset, velocity, beats, T: float, g: Genre, a: dict, rng) -> tuple:
    """A performance of the score: swing, tempo drift, humanised onsets and velocities."""
    drums = np.isin(voice, ("kick", "snare", "hat", "tom"))
    share, ratio = _SWING.get(g.name, (0.0, 0.5))
    if rng.random() < share:  # off-beat eighths come late
        pos = (onset / T) % 1.0
        onset = np.where(np.abs(pos - 0.5) < 1e-6, onset + (ratio - 0.5) * T, onset)
    # the tempo drifts: time is warped by t -> t + c·t² (a few percent faster or slower by the end)
    c = rng.normal(0.0, 0.015) / max(onset.max(initial=T), T)
    onset = onset + c * onset**2
    beats = beats + c * beats**2
    # humanised: looser in acoustic playing, tighter on the drums
    jitter = (0.006 + 0.012 * a["acousticness"]) * np.where(drums, 0.5, 1.0)
    event = np.arange(onset.size)  # the three tones of a chord move together
    chord = np.flatnonzero(voice == "chord")
    event[chord] = chord[np.arange(chord.size) // 3 * 3]
    onset = onset + rng.normal(0.0, 1.0, onset.size)[event] * jitter
    velocity = (velocity * rng.lognormal(0.0, 0.12, onset.size)[event]).clip(0.05, 1.2)
    return onset, velocity, beats


# ----------------------------------------------------------------------------
# The synthesiser
# ----------------------------------------------------------------------------

_TABLE_SIZE = 4096  # samples in one cycle of a wavetable
# envelope of each timbre: attack time (s), decay time constant (s), sustain level
_ENVELOPES = {"saw": (0.005, 0.25, 0.5), "square": (0.005, 0.25, 0.5), "sine": (0.015, 0.4, 0.6),
              "organ": (0.008, 0.15, 0.8), "pluck": (0.002, 0.25, 0.0), "bass": (0.005, 0.35, 0.4),
              "piano": (0.002, 0.6, 0.05), "voice": (0.04, 0.3, 0.85)}
_RELEASE = 0.04  # s, fade-out after a note ends
_LEVELS = {"bass": 0.8, "chord": 0.26, "arpeggio": 0.4, "melody": 0.45, "voice": 0.55, "kick": 0.9,
           "snare": 0.5, "hat": 0.18, "tom": 0.6}


def _harmonics(instrument: str, brightness: float, n: int) -> np.ndarray:
    """Amplitudes of harmonics 1..n of a timbre; brightness (0..1) keeps the upper ones."""
    k = np.arange(1, n + 1, dtype=float)
    if instrument in ("saw", "pluck"):
        a = 1.0 / k
    elif instrument == "piano":  # a struck string: strong low harmonics, a weak (hammer-point) seventh
        a = 1.0 / k**1.4
        a[6::7] *= 0.2
    elif instrument == "square":
        a = np.where(k % 2 == 1, 1.0 / k, 0.0)
    elif instrument == "organ":  # drawbars 16', 8', 5 1/3', 4', 2 2/3', 2'
        a = np.zeros(n)
        for h, level in {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.5, 6: 0.3, 8: 0.25}.items():
            if h <= n:
                a[h - 1] = level
    elif instrument == "bass":
        a = 1.0 / k**2
    else:  # "sine": a little second and third harmonic
        a = np.zeros(n)
        a[0] = 1.0
        a[1:3] = np.array([0.15, 0.08])[: max(0, min(2, n - 1))] * (0.5 + brightness)
    return a * np.exp(-(k - 1) * (1.0 - brightness) * 0.35)


@lru_cache(maxsize=1024)
def _wavetable(instrument: str, brightness: float, n_harmonics: int) -> np.ndarray:
    """One cycle of a band-limited waveform, peak 1, float32."""
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=complex)
    spectrum[1: n_harmonics + 1] = -1j * _harmonics(instrument, brightness, n_harmonics)  # sines
    table = np.fft.irfft(spectrum, n=_TABLE_SIZE)
    return (table / np.abs(table).max()).astype(np.float32)


@lru_cache(maxsize=8)
def _drum_kit(sr: int) -> dict:
    """Kick, snare, closed hi-hat and tom samples (fixed noise seed), float32."""
    rng = np.random.default_rng(1234)

    def t(seconds):
        return np.arange(int(seconds * sr)) / sr

    tk = t(0.35)  # kick: a sine sweeping 110 -> 45 Hz, plus a click
    f = 45.0 + 65.0 * np.exp(-tk / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-tk / 0.12)
    kick[: int(0.003 * sr)] += rng.uniform(-0.5, 0.5, int(0.003 * sr))
    ts = t(0.25)  # snare: a 185 Hz body and a burst of high-passed noise
    noise = np.diff(rng.uniform(-1, 1, ts.size + 1))
    snare = 0.5 * np.sin(2 * np.pi * 185.0 * ts) * np.exp(-ts / 0.04) + noise * np.exp(-ts / 0.07)
    th = t(0.08)  # hi-hat: twice-differenced noise, a short decay
    hat = np.diff(rng.uniform(-1, 1, th.size + 2), n=2) * np.exp(-th / 0.018)
    tt = t(0.3)  # tom: a sine sweeping 160 -> 110 Hz
    tom = np.sin(2 * np.pi * np.cumsum(110.0 + 50.0 * np.exp(-tt / 0.05)) / sr) * np.exp(-tt / 0.1)
    return {name: (x / np.abs(x).max()).astype(np.float32)
            for name, x in {"kick": kick, "snare": snare, "hat": hat, "tom": tom}.items()}


@lru_cache(maxsize=16)
def _envelope(instrument: str, sr: int, seconds: float = 12.0) -> np.ndarray:
    """Attack-decay-sustain curve of a timbre, one value per sample since the onset."""
    attack, decay, sustain = _ENVELOPES[instrument]
    t = np.arange(int(seconds * sr)) / sr
    env = np.minimum(t / attack, 1.0) * (sustain + (1.0 - sustain) * np.exp(-t / decay))
    return env.astype(np.float32)


def _render_line(n: int, sr: int, onset, length, velocity, midi, table, envelope) -> np.ndarray:
    """Play a line of notes (or of chords: ``midi`` of shape (notes, tones)).

    Each note sounds from its onset until the next one starts; after its
    ``length`` (s) it fades out linearly over ``_RELEASE`` seconds.
    """
    order = np.argsort(onset, kind="stable")
    onset, length, velocity = onset[order], length[order], velocity[order]
    midi = np.asarray(midi)[order].reshape(len(order), -1)
    start = np.round(onset * sr).astype(np.int64)  # may be negative: began before the clip
    stop = np.append(np.clip(start[1:], 0, n), n)
    # wavetable phase in 16.16 fixed point: increment per sample of each tone
    increment = np.round(_midi_to_hz(midi) * (_TABLE_SIZE * 65536 / sr)).astype(np.int64)
    release = np.maximum(1.0 - np.arange(int(_RELEASE * sr) + 1) / (_RELEASE * sr), 0.0).astype(np.float32)
    y = np.zeros(n, dtype=np.float32)
    # which samples of each note sound: [lo, hi) of the clip, k0 samples after its onset; a pitch (or
    # chord) that comes back is computed once, as long as its longest note needs, and sliced
    rows = [tuple(row) for row in increment.tolist()]
    notes, spans = [], {}
    for j, (s, e) in enumerate(zip(start.tolist(), stop.tolist())):
        lo, hi = max(s, 0), min(e, s + envelope.size)
        if hi > lo:
            notes.append((j, lo, hi, lo - s))
            first, last = spans.get(rows[j], (lo - s, hi - s))
            spans[rows[j]] = (min(first, lo - s), max(last, hi - s))
    if not notes:
        return y
    # the phase in 16.16 fixed point, its table index and the wave, computed in place
    k_all = np.arange(max(last for _, last in spans.values()))
    phase = np.empty(k_all.size, dtype=np.int64)
    waves = {}
    for tones, (first, last) in spans.items():
        k, p = k_all[first:last], phase[: last - first]
        w = np.take(table, np.bitwise_and(np.right_shift(np.multiply(tones[0], k, out=p), 16, out=p),
                                          _TABLE_SIZE - 1, out=p))
        for inc in tones[1:]:
            np.bitwise_and(np.right_shift(np.multiply(inc, k, out=p), 16, out=p), _TABLE_SIZE - 1, out=p)
            w += table[p]
        waves[tones] = (first, w)
    for j, lo, hi, k0 in notes:
        first, w = waves[rows[j]]
        m = hi - lo  # samples played
        gain = np.float32(velocity[j]) * envelope[k0: k0 + m]  # float32, as the wave
        past = k0 + m - 1 - int(round(length[j] * sr))  # samples past the note's end at the segment's end
        if past > 0:  # release: the tail of the segment fades out linearly
            tail = min(past, m)
            gain[-tail:] *= release[np.minimum(np.arange(past - tail + 1, past + 1), release.size - 1)]
        np.multiply(gain, w[k0 - first: k0 - first + m], out=y[lo:hi], casting="same_kind")
    return y


# formants (Hz) of the vowels a, e, i, o, u, and their bandwidths and levels
_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))
_FORMANT_WIDTH, _FORMANT_LEVEL = (90.0, 110.0, 170.0), (1.0, 0.55, 0.3)


@lru_cache(maxsize=512)
def _voice_table(midi: int, vowel: int, sr: int) -> np.ndarray:
    """One cycle of a sung vowel at a pitch: a glottal source (1/k) shaped by the vowel's formants."""
    f0 = float(_midi_to_hz(midi))
    k = np.arange(1, int(max(1, min(40, 0.45 * sr // f0))) + 1)
    f = k * f0
    gain = sum(level / (1.0 + ((f - formant) / width) ** 2)
               for formant, width, level in zip(_VOWELS[vowel], _FORMANT_WIDTH, _FORMANT_LEVEL))
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=complex)
    spectrum[1: k.size + 1] = -1j * (0.03 + gain) / k
    table = np.fft.irfft(spectrum, n=_TABLE_SIZE)
    return (table / np.abs(table).max()).astype(np.float32)


def _render_voice(n: int, sr: int, onset, length, velocity, midi, seed: int) -> np.ndarray:
    """Sing a line: one vowel a note, a vibrato (5–6 Hz, a fifth of a semitone) that sets in after 0.2 s."""
    order = np.argsort(onset, kind="stable")
    onset, length, velocity, midi = onset[order], length[order], velocity[order], np.asarray(midi)[order]
    start = np.round(onset * sr).astype(np.int64)
    stop = np.append(np.clip(start[1:], 0, n), n)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 7])
    vowels = rng.integers(0, len(_VOWELS), size=len(start))
    rate = rng.uniform(5.0, 6.2)
    envelope = _envelope("voice", sr)
    release = int(0.06 * sr)
    # the instantaneous pitch is f0·(1 + depth·sin(2π·rate·t)): its phase in cycles is f0·t − f0·depth·cos(…)/(2π·rate)
    wobble = np.cos(np.arange(n, dtype=np.float32) * np.float32(2 * np.pi * rate / sr))  # float32: 10x the float64 speed
    wobble *= np.float32(1 / (2 * np.pi * rate))
    setting_in = int(0.2 * sr) + 2  # samples that cover the vibrato's first 0.2 s
    y = np.zeros(n, dtype=np.float32)
    for j in range(len(start)):
        lo, hi = max(start[j], 0), min(stop[j] + release, n)
        if hi <= lo:
            continue
        # in place, one buffer after another (the same float32 arithmetic as written out)
        t = np.arange(lo - start[j], hi - start[j], dtype=np.float32)
        t /= np.float32(sr)  # seconds since the onset
        f0 = np.float32(_midi_to_hz(midi[j]))
        # the vibrato's depth sets in over 0.2 s: 0.011·min(t / 0.2, 1), a factor of exactly 0.011 afterwards
        cycles = wobble[lo:hi] * np.float32(0.011)
        head = min(t.size, setting_in)
        depth = np.divide(t[:head], np.float32(0.2))
        np.minimum(depth, np.float32(1.0), out=depth)
        depth *= np.float32(0.011)
        np.multiply(depth, wobble[lo: lo + head], out=cycles[:head])
        np.subtract(t, cycles, out=cycles)
        cycles *= f0 * np.float32(_TABLE_SIZE)  # exact: the same as times f0, then times 4096 (a power of 2)
        index = cycles.astype(np.int64)
        index &= _TABLE_SIZE - 1
        wave = _voice_table(int(midi[j]), int(vowels[j]), sr)[index]
        gain = np.float32(velocity[j]) * envelope[lo - start[j]: hi - start[j]]  # float32, as the wave
        end = min(length[j], (stop[j] - start[j]) / sr)  # sung until its length is over or the next note
        fading = t[np.searchsorted(t, np.float32(end), side="right"):]  # the fade-out over 0.06 s after the end
        fading -= np.float32(end)
        fading /= np.float32(0.06)
        np.subtract(np.float32(1.0), fading, out=fading)
        gain[gain.size - fading.size:] *= np.clip(fading, 0.0, 1.0, out=fading)
        gain *= wave
        y[lo:hi] += gain
    return y


def _reverb(y: np.ndarray, sr: int, rt60, wet) -> np.ndarray:
    """A room: convolution (by FFT) with an exponentially decaying noise tail of reverberation time ``rt60``.

    The tail is cut at 0.6 s; ``rt60`` is rounded to 0.1 s so the few rooms' spectra are cached.
    ``y`` may be one clip, or clips (rows) with one ``rt60`` and ``wet`` each: their FFTs are
    taken together, in half the time and with the same samples as one by one.
    """
    from scipy import fft

    clips = np.atleast_2d(y)
    rooms = [max(0.1, round(float(r), 1)) for r in np.atleast_1d(rt60)]
    # a circular convolution: the tail that rings past the clip's end comes back at its start, as the
    # reverberation of the music before a clip taken from the middle of a song would
    n = clips.shape[-1]
    size = fft.next_fast_len(n, real=True)
    spectra = [_room(sr, r, size) for r in rooms]
    tail = fft.irfft(fft.rfft(clips, size, axis=-1) * (spectra[0] if len(spectra) == 1 else np.stack(spectra)),
                     size, axis=-1)
    tail[:, : size - n] += tail[:, n:]
    tail = tail[:, :n]  # float32, as y
    tail *= np.atleast_1d(np.asarray(wet, dtype=np.float32))[:, None]
    tail += clips
    return tail.reshape(np.shape(y))


@lru_cache(maxsize=4)
def _hiss(sr: int, seconds: float = 20.0) -> np.ndarray:
    """Unit-variance white noise (fixed seed), read from a random point for each clip's noise floor."""
    return np.random.default_rng(2014).standard_normal(int(seconds * sr), dtype=np.float32)


@lru_cache(maxsize=32)
def _room(sr: int, rt60: float, size: int) -> np.ndarray:
    """Spectrum (``size``-point rfft) of a unit-energy decaying noise tail (fixed noise seed)."""
    from scipy import fft

    t = np.arange(int(min(rt60, 0.6) * sr), dtype=np.float32) / np.float32(sr)
    ir = np.random.default_rng(int(rt60 * 10)).standard_normal(t.size, dtype=np.float32)
    ir *= np.exp(np.float32(-6.9 / rt60) * t)
    return fft.rfft(ir / np.sqrt(np.sum(ir**2)), size)


def _play(score: Score, genre: Genre, sr: int) -> np.ndarray:
    """Mix the score's voices into one float32 signal (unmastered).

    The melody and chords sound with a timbre between the genre's electric
    instrument (overdriven in rock and metal; in electronic music the band
    ducks under every beat, as a side-chained compressor makes it) and an acoustic one (a plucked string for a plucked genre, a
    piano otherwise), as the track's acousticness says; below 0.5
    instrumentalness a voice sings the melody. The real style varies each
    voice's level, puts the band in a room (:func:`_reverb`) and adds a noise
    floor.
    """
    y, rng = _dry_mix(score, genre, sr)
    if score.style == "real":
        y = _noise_floor(_reverb(y, sr, *_room_of(score, rng)), sr, rng)
    return y


def _dry_mix(score: Score, genre: Genre, sr: int) -> tuple:
    """:func:`_play`'s mix before the room and the noise floor, and the generator that then draws them."""
    n = int(round(score.duration * sr))
    y = np.zeros(n, dtype=np.float32)
    voice, onset, length, midi, velocity = (np.asarray(score.notes[column])  # a DataFrame or a dict of arrays
                                            for column in ("voice", "onset", "length", "midi", "velocity"))
    real = score.style == "real"
    rng = np.random.default_rng([score.seed & 0xFFFFFFFF, 5])
    levels = dict(_LEVELS)
    if real:  # a mix of its own: each voice up to about ±3 dB
        levels = {name: level * float(rng.lognormal(0.0, 0.2)) for name, level in levels.items()}
    levels["hat"] *= 0.5 + genre.brightness
    acoustic = round(score.acousticness * 5) / 5  # timbres in steps of 0.2 (each envelope is cached)
    brightness = round(genre.brightness * (1.0 - 0.4 * acoustic), 2)
    nyquist = 0.45 * sr
    for name in ("bass", "chord", "arpeggio", "melody"):
        rows = np.flatnonzero(voice == name)
        if rows.size == 0:
            continue
        rows = rows[np.lexsort((midi[rows], onset[rows]))]
        if name == "melody" and score.instrumentalness < 0.5:
            y += levels["voice"] * _render_voice(n, sr, onset[rows], length[rows], velocity[rows], midi[rows],
                                                 score.seed)
            continue
        n_harmonics = int(max(1, min(40, nyquist // _midi_to_hz(midi[rows].max()))))
        if name == "bass":
            table, envelope = _wavetable("bass", brightness, n_harmonics), _envelope("bass", sr)
        else:
            table, envelope = _timbre(genre.instrument, acoustic, brightness, n_harmonics, sr)
        tones = 3 if name == "chord" else 1  # chords are triads: one row per tone
        first = rows[::tones]
        line = _render_line(n, sr, onset[first], length[first], velocity[first],
                            midi[rows].reshape(-1, tones), table, envelope)
        drive = _DRIVE.get(genre.name, 0.0) * (1.0 - score.acousticness)
        if drive > 0 and name != "bass":  # an overdriven amplifier: soft clipping of the guitars
            line = np.tanh(drive * line) / np.float32(np.tanh(drive))
        y += levels[name] * line
    if genre.name == "electronic" and (voice == "kick").any():  # side-chain pumping: the band ducks under each beat
        first = score.beat_times[0] if score.beat_times.size else 0.0
        since = (np.arange(n, dtype=np.float32) / np.float32(sr) - np.float32(first)) % np.float32(60.0 / score.tempo)
        since *= np.float32(-1 / 0.09)
        y *= np.float32(1.0) - np.float32(0.7) * np.exp(since)  # float32, as every voice
    kit = _drum_kit(sr)
    for j in np.flatnonzero(np.isin(voice, list(kit))):
        sample = kit[voice[j]]
        start = int(round(onset[j] * sr))
        lo, hi = max(start, 0), min(start + sample.size, n)
        if hi > lo:
            y[lo:hi] += (levels[voice[j]] * velocity[j]) * sample[lo - start: hi - start]
    return y, rng


def _room_of(score: Score, rng) -> tuple:
    """The room a real-style clip is played in: reverberation time (s) and wet level, drawn after the mix."""
    rt60 = float(rng.uniform(0.25, 0.6) + 0.6 * score.acousticness)
    return rt60, float(rng.uniform(0.15, 0.45) + 0.2 * score.acousticness)


def _noise_floor(y: np.ndarray, sr: int, rng) -> np.ndarray:
    """Add hiss 28-50 dB below the clip's RMS (drawn after the room), in place."""
    n = y.size
    rms = float(np.sqrt(np.mean(y**2))) + 1e-9
    snr = float(rng.uniform(28.0, 50.0))  # dB: tape hiss to a clean studio
    hiss = _hiss(sr)
    start = int(rng.integers(0, hiss.size))
    noise = hiss[start: start + n] if start + n <= hiss.size else np.take(hiss, np.arange(start, start + n), mode="wrap")
    y += noise * np.float32(rms * 10 ** (-snr / 20))
    return y


@lru_cache(maxsize=1024)
def _timbre(electric: str, acoustic: float, brightness: float, n_harmonics: int, sr: int) -> tuple:
    """Wavetable and envelope between an electric instrument (acoustic = 0) and an acoustic one (1)."""
    other = "pluck" if electric == "pluck" else "piano"
    table = ((1 - acoustic) * _wavetable(electric, brightness, n_harmonics)
             + acoustic * _wavetable(other, brightness, n_harmonics))
    return (table / np.abs(table).max()).astype(np.float32), _mixed_envelope(electric, other, acoustic, sr)


@lru_cache(maxsize=32)
def _mixed_envelope(electric: str, other: str, acoustic: float, sr: int, seconds: float = 12.0) -> np.ndarray:
    """Attack, decay and sustain interpolated between two timbres' envelopes."""
    (a1, d1, s1), (a2, d2, s2) = _ENVELOPES[electric], _ENVELOPES[other]
    attack, decay, sustain = [(1 - acoustic) * u + acoustic * v for u, v in ((a1, a2), (d1, d2), (s1, s2))]
    t = np.arange(int(seconds * sr)) / sr
    return (np.minimum(t / attack, 1.0) * (sustain + (1.0 - sustain) * np.exp(-t / decay))).astype(np.float32)


def _to_pcm16_grid(y: np.ndarray) -> np.ndarray:
    """Round to 16-bit sample values (as float32), so a WAV file stores the clip exactly."""
    z = np.clip(y, -1.0, 1.0).astype(np.float32, copy=False)  # in place from here on: the same values
    z *= np.float32(32767.0)
    np.round(z, out=z)
    z /= np.float32(32767.0)
    return z


def render_track(track=None, *, duration: float = DEFAULT_DURATION, sr: int = SR,
                 seed: int | None = None, style: str = "real", **attributes) -> np.ndarray:
    """Render a track's clip from its attributes: a mono waveform.

    :func:`compose` writes the score (chords per bar in the track's key and
    mode, a bass line on the roots, a melody from the scale, drums with the
    kick on the downbeat); the voices are played with wavetables of the
    genre's instrument and brightness; the mix is mastered to the track's
    loudness (:func:`coursekit.loudness.integrated_loudness`, with a soft limiter for loud
    targets) and rounded to 16-bit sample values.

    Parameters
    ----------
    track : mapping, pandas.Series or None
        A row of the ``tracks`` table: ``genre`` (str), ``tempo`` (float, beats
        per minute), ``key`` (int, 0 = C), ``mode`` (int, 1 = major),
        ``loudness`` (float, LUFS), ``time_signature`` (int, 3 or 4) and
        optionally ``track_id`` (int, the default seed) and the traits
        ``acousticness`` (0..1: the lead's timbre, from the genre's electric
        instrument to a piano or plucked string), ``energy`` (0..1: how busy
        the parts are) and ``instrumentalness`` (0..1: below 0.5 a voice
        sings the melody), which default to the genre's means and no voice.
    duration : float, optional
        Clip length, seconds. The default, 8 s, holds 8 beats (more than 2
        bars of 3/4) at the world's slowest tempo, 60 BPM: the beat tracker
        and the metre estimator need a few bars.
    sr : int, optional
        Sample rate, Hz.
    seed : int or None, optional
        Seed of the score's random choices; ``None`` uses ``track_id``.
    style : {"real", "easy"}, optional
        ``"real"`` (the world's audio): a performed take (:func:`compose`),
        each voice at a level of its own, in a room (a reverberation tail of
        0.25–1.2 s, longer for acoustic tracks) with a noise floor 28–50 dB
        below the music. ``"easy"``: the score played exactly, dry.
    **attributes
        Attributes that replace (or stand in for) the track's.

    Returns
    -------
    ndarray of float32, shape (round(duration * sr),)
        The clip, full scale = 1, values on the 16-bit grid (k / 32767).

    Raises
    ------
    ValueError
        If an attribute is missing or out of range.

    See Also
    --------
    compose, render_tracks, estimate_attributes

    Examples
    --------
    >>> y = render_track(genre="jazz", tempo=120.0, key=2, mode=1, loudness=-14.0,
    ...                  time_signature=3, duration=4.0)
    >>> from coursekit.loudness import integrated_loudness
    >>> y.shape, round(integrated_loudness(y, sr=SR), 1)
    ((88200,), -14.0)
    """
    sr = int(sr)
    if sr < 8000:
        raise ValueError(f"sr must be at least 8000 Hz, got {sr!r}")
    score = _write_score(track, duration, seed, style, attributes)
    return _to_pcm16_grid(master(_play(score, _GENRE[score.genre], sr), score.loudness, sr))


#: Samples of the clips whose rooms :func:`_render_batch` computes in one FFT (2**21: 8 MB of float32,
#: 31 clips of 3 s; 64 clips of 8 s at once took 0.25 GB of buffers in each spectrogram process).
_ROOM_SAMPLES = 2**21


def _render_batch(rows: list, *, duration: float, sr: int = SR) -> np.ndarray:
    """``np.stack([render_track(row, duration=duration, sr=sr) for row in rows])``, the same samples, faster.

    The real-style clips' rooms (:func:`_reverb`) are computed together: their FFTs take half
    the time in one batch.
    """
    if not rows:
        return np.zeros((0, int(round(duration * sr))), dtype=np.float32)
    scores = [_write_score(row, duration, None, "real", {}) for row in rows]
    mixes = [_dry_mix(score, _GENRE[score.genre], sr) for score in scores]
    rooms = [_room_of(score, rng) for score, (_, rng) in zip(scores, mixes)]
    step = max(1, _ROOM_SAMPLES // mixes[0][0].size)  # a few MB a buffer, whatever the clips' length
    wet = np.concatenate([_reverb(np.stack([y for y, _ in mixes[k: k + step]]), sr, [r for r, _ in rooms[k: k + step]],
                                  [w for _, w in rooms[k: k + step]]) for k in range(0, len(mixes), step)])
    return np.stack([_to_pcm16_grid(master(_noise_floor(y, sr, rng), score.loudness, sr))
                     for y, score, (_, rng) in zip(wet, scores, mixes)])


def default_cache_dir() -> Path:
    """Folder of the rendered-clip cache.

    ``$COURSEKIT_DATA/audio`` when the environment variable ``COURSEKIT_DATA``
    is set, else ``~/.cache/coursekit/audio``. Both are outside the
    repository (or git-ignored), and safe to delete.
    """
    root = os.environ.get("COURSEKIT_DATA")
    return Path(root) / "audio" if root else Path.home() / ".cache" / "coursekit" / "audio"


def _cache_name(score_inputs: dict, duration: float, sr: int, seed, style: str = "real") -> str:
    """File name of a clip: track id and a hash of everything that shapes its samples."""
    a = score_inputs
    text = repr((SYNTH_VERSION, int(sr), round(float(duration), 6), None if seed is None else int(seed),
                 a["genre"].name, float(a["tempo"]), a["key"], a["mode"], float(a["loudness"]),
                 a["time_signature"], a["track_id"], style, *(float(a[name]) for name in TRAITS)))
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    prefix = "clip" if a["track_id"] is None else f"track{a['track_id']}"
    return f"{prefix}-{digest}.wav"


def _read_clip(path: Path, n: int, sr: int):
    """A cached clip as float32, or None if it is missing, unreadable or of another shape."""
    from scipy.io import wavfile

    try:
        rate, data = wavfile.read(path)
    except (OSError, ValueError, EOFError):
        return None
    if rate != sr or data.dtype != np.int16 or data.shape != (n,):
        return None
    return data.astype(np.float32) / np.float32(32767.0)


def _write_clip(path: Path, y: np.ndarray, sr: int) -> None:
    """Write a clip as 16-bit WAV atomically (a temporary file, then a rename)."""
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as f:
            wavfile.write(f, sr, np.round(y * 32767.0).astype(np.int16))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_tracks(tracks: pd.DataFrame, *, duration: float = DEFAULT_DURATION, sr: int = SR,
                  cache: bool = True, cache_dir: str | os.PathLike | None = None,
                  progress=None, style: str = "real") -> np.ndarray:
    """Render many tracks, reading and filling an on-disk cache.

    Every clip is kept as a 16-bit WAV file named after its track id and a
    hash of what shapes it (synthesiser version, sample rate, duration,
    attributes), so a changed attribute or a new :data:`SYNTH_VERSION`
    renders afresh; a file that is unreadable or of the wrong length is
    rendered again. Files are written atomically, so an interrupted run
    leaves no half-written clip. Rendering takes about 15 ms a clip.

    Parameters
    ----------
    tracks : pandas.DataFrame
        Rows of the ``tracks`` table (``track_id, genre, tempo, key, mode,
        loudness, time_signature`` and the traits ``acousticness, energy,
        instrumentalness`` where it has them).
    duration : float, optional
        Clip length, seconds.
    sr : int, optional
        Sample rate, Hz.
    cache : bool, optional
        Read and write the cache; ``False`` renders everything in memory.
    cache_dir : path or None, optional
        Cache folder; ``None`` means :func:`default_cache_dir`.
    progress : callable or None, optional
        Wraps the iteration over tracks, e.g. ``tqdm.tqdm``.
    style : {"real", "easy"}, optional
        As in :func:`render_track`.

    Returns
    -------
    ndarray of float32, shape (len(tracks), round(duration * sr))
        One clip per row, in the order of ``tracks``. Mind the memory: an
        8 s clip takes 0.7 MB, so 1,000 tracks take 0.7 GB.

    See Also
    --------
    render_track, estimate_many
    """
    n = int(round(duration * sr))
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    rows = tracks.to_dict("records")
    out = np.empty((len(rows), n), dtype=np.float32)
    for i, row in enumerate(progress(rows) if progress is not None else rows):
        y = None
        if cache:
            path = folder / _cache_name(_attributes(row, {}), duration, sr, None, style)
            y = _read_clip(path, n, sr)
        if y is None:
            y = render_track(row, duration=duration, sr=sr, style=style)
            if cache:
                _write_clip(path, y, sr)
        out[i] = y
    return out




def check_track(track) -> dict:
    """Read and check the attributes that shape a track's clip.

    Parameters
    ----------
    track : mapping or pandas.Series
        A row of the ``tracks`` table (as :func:`render_track` takes it).

    Returns
    -------
    dict
        ``genre`` (a :class:`coursekit.genres.Genre`), ``tempo``, ``key``,
        ``mode``, ``loudness``, ``time_signature``, ``track_id`` (or None)
        and the traits ``acousticness``, ``energy``, ``instrumentalness``
        (the genre's means and 1.0 where the track has none).

    Raises
    ------
    ValueError
        If an attribute is missing or out of range.
    """
    return _attributes(track, {})


def clip_name(attributes: dict, *, duration: float, sr: int = SR, style: str = "real") -> str:
    """File name of a track's clip in the cache: ``track<id>-<hash>.wav``.

    The hash covers everything that shapes the samples (:data:`SYNTH_VERSION`,
    the sample rate, the duration, the style and the attributes from
    :func:`check_track`), so a cache keyed by it is never stale.
    """
    return _cache_name(attributes, duration, sr, None, style)



# ----------------------------------------------------------------------------
# Playing notes (e.g. a real score's, :mod:`coursekit.scores`) with the same instruments
# ----------------------------------------------------------------------------


def render_notes(notes: pd.DataFrame, *, sr: int, duration: float | None = None, instrument: str = "organ",
                 brightness: float = 0.5, loudness: float = -16.0) -> np.ndarray:
    """Play notes with one of the synthesiser's instruments, mastered to ``loudness``.

    Each ``voice`` is played as a line (a note sounds until its length is
    over or the voice's next note starts) with the wavetable and envelope of
    ``instrument``, as :func:`render_track` plays its melody.

    Parameters
    ----------
    notes : pandas.DataFrame
        ``voice``, ``onset``, ``length`` (s), ``midi``, ``velocity`` (0..1),
        e.g. from :func:`coursekit.scores.notes_from_score`.
    sr : int
        Sample rate, Hz.
    duration : float or None, optional
        Clip length, s; ``None``: until the last note has faded.
    instrument : str, optional
        One of ``saw, square, sine, organ, pluck, bass``.
    brightness : float, optional
        0..1, how much of the upper harmonics sound.
    loudness : float, optional
        Target integrated loudness, LUFS.

    Returns
    -------
    ndarray of float32, shape (samples,)
    """
    if instrument not in _ENVELOPES:
        raise ValueError(f"instrument must be one of {sorted(_ENVELOPES)}, got {instrument!r}")
    if len(notes) == 0:
        raise ValueError("notes is empty: there is nothing to play")
    sr = int(sr)
    end = float((notes["onset"] + notes["length"]).max()) + _RELEASE
    n = int(round((end if duration is None else float(duration)) * sr))
    y = np.zeros(n, dtype=np.float32)
    n_harmonics = int(max(1, min(40, 0.45 * sr // _midi_to_hz(notes["midi"].max()))))
    table, envelope = _wavetable(instrument, float(brightness), n_harmonics), _envelope(instrument, sr)
    for _, line in notes.groupby("voice", sort=True):
        y += _render_line(n, sr, line["onset"].to_numpy(float), line["length"].to_numpy(float),
                          line["velocity"].to_numpy(float), line["midi"].to_numpy(), table, envelope)
    if not np.abs(y).max() > 0:
        raise ValueError("the notes play nothing inside the clip")
    return master(y, float(loudness), sr)


def example_tracks(n: int = 100, *, seed: int = 0, genres=None) -> pd.DataFrame:
    """World-like tracks for trying the synthesiser without building a world.

    Attributes are drawn from each genre's signature as :mod:`coursekit.world`
    draws them: tempo uniform in the genre's range (rounded to 0.1 BPM), key
    uniform, major with probability ``major_share``, 3/4 with probability
    ``waltz_share``, loudness normal(mean, std) rounded to 0.1 and clipped to
    [-30, -2] LUFS; acousticness and energy from a beta distribution around the
    genre's mean (concentration 4), sung with the genre's vocal share (then
    instrumentalness 0..0.15, else 0.6..0.95). Genres take turns, so each has
    about ``n / 8`` tracks.

    Parameters
    ----------
    n : int, optional
        Number of tracks.
    seed : int, optional
        Random seed.
    genres : sequence of str or None, optional
        Genres to take turns over; ``None`` means all of them.

    Returns
    -------
    pandas.DataFrame
        Columns ``track_id, genre, tempo, key, mode, loudness, time_signature,
        acousticness, energy, instrumentalness``.
    """
    rng = np.random.default_rng(seed)
    names = list(GENRE_NAMES if genres is None else genres)
    unknown = set(names) - set(GENRE_NAMES)
    if unknown:
        raise ValueError(f"unknown genres {sorted(unknown)}; expected some of {list(GENRE_NAMES)}")
    g = [_GENRE[names[i % len(names)]] for i in range(n)]
    lo, hi = np.array([x.tempo for x in g], dtype=float).reshape(n, 2).T
    loud_mean, loud_std = np.array([x.loudness for x in g], dtype=float).reshape(n, 2).T
    acoustic, energy, vocal = np.array([(x.acousticness, x.energy, x.vocal_share) for x in g], dtype=float).reshape(n, 3).T
    import pandas as pd

    return pd.DataFrame({
        "track_id": np.arange(1, n + 1, dtype=np.int64),
        "genre": [x.name for x in g],
        "tempo": np.round(rng.uniform(lo, hi), 1),
        "key": rng.integers(0, 12, size=n).astype(np.int64),
        "mode": (rng.random(n) < np.array([x.major_share for x in g])).astype(np.int64),
        "loudness": np.round(np.clip(rng.normal(loud_mean, loud_std), -30.0, -2.0), 1),
        "time_signature": np.where(rng.random(n) < np.array([x.waltz_share for x in g]), 3, 4).astype(np.int64),
        # the traits, drawn per track as the world draws them per artist (beta, concentration 4)
        "acousticness": np.round(rng.beta(4 * acoustic, 4 * (1 - acoustic)), 2),
        "energy": np.round(rng.beta(4 * energy, 4 * (1 - energy)), 2),
        "instrumentalness": np.round(np.where(rng.random(n) < vocal, rng.uniform(0.0, 0.15, n),
                                              rng.uniform(0.6, 0.95, n)), 2),
    })
