"""Raw audio: render a track from its attributes, and estimate them back.

The music world has no recordings, so every track is *rendered* from the
attributes in the ``tracks`` table: tempo, time signature, key, mode, loudness
and its genre's timbre (:mod:`coursekit.genres`). The synthesiser writes a short
score first (:func:`compose`: bars, chords, a bass line, a melody, drums) and then
plays it (:func:`render_track`); :func:`render_tracks` caches the clips on disk.

The estimators go the other way, with the standard music-information-retrieval
methods that are used on real recordings (:func:`estimate_attributes`):

- **tempo** from beat tracking on the onset-strength envelope (dynamic
  programming, Ellis 2007, as in :func:`librosa.beat.beat_track`);
- **key and mode** from a chromagram correlated with the 24 rotated
  Krumhansl–Kessler key profiles (the Krumhansl–Schmuckler algorithm);
- **loudness** as integrated loudness in LUFS (ITU-R BS.1770-4: K-weighting,
  400 ms blocks, absolute gate at -70 LUFS and relative gate at -10 LU);
- **time signature** from the periodicity of beat-level accents (onset
  strength, low-frequency onsets and harmonic change sampled at the beats):
  the metre whose bar length best explains the accent pattern.

:func:`attribute_accuracy` compares estimated with true attributes;
:func:`clipped_share` measures how clipped a clip is.

For the CNN of chapter 04 (:mod:`coursekit.cnn`), :func:`log_mel_spectrogram`
turns a clip into a log-mel spectrogram (time × mel bands, absolute dB) and
:func:`mel_spectrograms` does it for many tracks, cached on disk as small
float16 files (the waveforms are not kept). :func:`load_audio` reads a real
audio file (any format libsndfile reads) as a mono clip at 22,050 Hz.

librosa is imported inside the functions that need it, so ``import
coursekit.audio`` stays quick; the first estimate in a session compiles
librosa's numba code (a few seconds).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .genres import GENRE_NAMES, GENRES, Genre

__all__ = [
    "SR",
    "DEFAULT_DURATION",
    "SYNTH_VERSION",
    "Score",
    "Attributes",
    "compose",
    "render_track",
    "render_tracks",
    "default_cache_dir",
    "integrated_loudness",
    "KK_MAJOR",
    "KK_MINOR",
    "MIN_SECONDS",
    "key_scores",
    "estimate_attributes",
    "estimate_many",
    "attribute_accuracy",
    "key_confusion",
    "example_tracks",
    "CLIPPED_SHARE",
    "clipped_share",
    "load_audio",
    "MEL_BANDS",
    "MEL_N_FFT",
    "MEL_HOP",
    "MEL_FLOOR_DB",
    "MEL_VERSION",
    "mel_frequencies",
    "log_mel_spectrogram",
    "mel_spectrograms",
]

#: Sample rate of every rendered clip, Hz.
SR = 22050
#: Default clip length, seconds: 8 beats at 60 BPM, the world's slowest tempo (2 2/3 bars of 3/4).
DEFAULT_DURATION = 8.0
#: Bump when the synthesiser's output changes; part of the cache key.
SYNTH_VERSION = 1

_GENRE = {g.name: g for g in GENRES}
_ATTRIBUTES = ("genre", "tempo", "key", "mode", "loudness", "time_signature")

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
        ``"melody"``, ``"kick"``, ``"snare"``, ``"hat"``), ``onset`` and
        ``length`` (seconds, onset relative to the clip's start, may be
        negative for a note that started before the clip), ``midi`` (note
        number, 0 for drums) and ``velocity`` (0..1).
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
    for name in _ATTRIBUTES + ("track_id",):
        value = overrides.get(name, _get(track, name) if track is not None else None)
        if value is None and name != "track_id":
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
    track_id = values["track_id"]
    return dict(genre=_GENRE[genre], tempo=tempo, key=key, mode=mode, time_signature=ts,
                loudness=loudness, track_id=None if track_id is None else int(track_id))


def compose(track=None, *, duration: float = DEFAULT_DURATION, seed: int | None = None,
            **attributes) -> Score:
    """Write the score of a track's clip: chords per bar, bass, melody, drums.

    The harmony changes on every downbeat (a four-chord progression in the
    track's key and mode that starts on the tonic; minor keys use the major
    dominant of harmonic minor); the bass plays the chord's root, accented on
    the downbeat; the chords strike on every beat, the downbeat loudest; the
    melody walks the scale and lands on chord tones on strong beats; the drums
    (as dense as the genre's ``percussion``) put the kick on the downbeat. The
    clip starts at a random point of the bar before the progression begins, as
    a preview from the middle of a song would.

    Parameters
    ----------
    track : mapping, pandas.Series or None
        A row of the ``tracks`` table (``genre, tempo, key, mode, loudness,
        time_signature`` and optionally ``track_id``).
    duration : float, optional
        Clip length, seconds.
    seed : int or None, optional
        Seed of the random choices (progression, melody, fills); ``None``
        uses the track's ``track_id`` (0 if it has none).
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
    a = _attributes(track, attributes)
    if not duration > 0:
        raise ValueError(f"duration must be positive seconds, got {duration!r}")
    if seed is None:
        seed = a["track_id"] if a["track_id"] is not None else 0
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 4])
    g: Genre = a["genre"]
    m, key, mode = a["time_signature"], a["key"], a["mode"]
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
    p = g.percussion  # drum hits per beat, 0..1
    strong_beats = (0,) if m == 3 else (0, 2)
    velocity = {3: (1.0, 0.55, 0.55), 4: (1.0, 0.55, 0.75, 0.55)}[m]  # accents in the bar

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
        # bass: the chord's root on the downbeat (held for the bar in sparse
        # genres); busier genres add the fifth on beat 3 of 4/4 and passing roots
        root = _in_range(tones[0], 36)
        if p < 0.3:
            rows.append(("bass", t0, 0.95 * bar, root, 1.0))
        else:
            rows.append(("bass", t0, 0.9 * T, root, 1.0))
            for beat in range(1, m):
                if m == 4 and beat == 2:
                    rows.append(("bass", t0 + beat * T, 0.9 * T, root + 7, 0.7))
                elif rng.random() < p - 0.2:
                    rows.append(("bass", t0 + beat * T, 0.6 * T, root, 0.5))
        # chords on every beat, the downbeat loudest; a sparse waltz is
        # "oom-pah-pah": the bass alone on 1, the chord on 2 and 3
        for beat in range(m):
            if m == 3 and p < 0.3 and beat == 0:
                continue
            for pc in tones:
                rows.append(("chord", t0 + beat * T, 0.8 * T, _in_range(pc, 55), velocity[beat]))
        # melody: one or two notes a beat; on strong beats (and often on the
        # others) it moves to the nearest chord tone, otherwise it steps along the scale
        for beat in range(m):
            if beat not in strong_beats and rng.random() < 0.15:
                continue  # a rest
            n_sub = 2 if rng.random() < 0.35 else 1
            for s in range(n_sub):
                strong = s == 0 and beat in strong_beats
                if strong or rng.random() < 0.4:
                    chord_tones = [d for d in range(melody - 4, melody + 5) if (d - r) % 7 in (0, 2, 4)]
                    chord_tones = [d for d in chord_tones if d != melody] if not strong else chord_tones
                    melody = min(chord_tones, key=lambda d: (abs(d - melody), d))
                else:
                    melody += int(rng.choice((-2, -1, 1, 2), p=(0.15, 0.35, 0.35, 0.15)))
                if melody < 0 or melody > 11:  # stay within about an octave and a half
                    melody = int(np.clip(melody, 0, 11)) - int(np.sign(melody))
                rows.append(("melody", t0 + (beat + s / n_sub) * T, 0.9 * T / n_sub,
                             melody_midi(melody, chord), 0.9 if strong else 0.65))
        # drums: kick on the downbeat (and beat 3 of 4/4), snare on the
        # backbeats, hi-hats on the beats or eighths, as dense as the genre
        if p > 0:
            rows.append(("kick", t0, 0.0, 0, 1.0))
            if m == 4 and p >= 0.5:
                rows.append(("kick", t0 + 2 * T, 0.0, 0, 0.75))
            if p >= 0.3:
                for beat in ((1, 3) if m == 4 else (1, 2)):
                    rows.append(("snare", t0 + beat * T, 0.0, 0, 0.7 if m == 4 else 0.3))
            if p >= 0.5:
                sub = 2 if p >= 0.7 else 1
                for k in range(m * sub):
                    if k % sub == 0 or rng.random() < p:
                        rows.append(("hat", t0 + k * T / sub, 0.0, 0, 0.6 if k % sub == 0 else 0.35))

    notes = pd.DataFrame(rows, columns=["voice", "onset", "length", "midi", "velocity"])
    notes["onset"] -= offset
    notes = notes[(notes["onset"] < duration) & (notes["onset"] + notes["length"] + 0.5 > 0)]
    beats = np.arange(n_bars * m) * T - offset
    inside = (beats >= 0) & (beats < duration)
    first_bar = int(offset // bar)
    last_bar = int((offset + duration) // bar)
    return Score(genre=g.name, tempo=a["tempo"], time_signature=m, key=key, mode=mode,
                 loudness=a["loudness"], duration=float(duration),
                 beat_times=beats[inside], beat_in_bar=(np.arange(n_bars * m) % m)[inside],
                 chords=bar_chords[first_bar:last_bar + 1], notes=notes.reset_index(drop=True))


# ----------------------------------------------------------------------------
# The synthesiser
# ----------------------------------------------------------------------------

_TABLE_SIZE = 4096  # samples in one cycle of a wavetable
# envelope of each timbre: attack time (s), decay time constant (s), sustain level
_ENVELOPES = {"saw": (0.005, 0.25, 0.5), "square": (0.005, 0.25, 0.5), "sine": (0.015, 0.4, 0.6),
              "organ": (0.008, 0.15, 0.8), "pluck": (0.002, 0.25, 0.0), "bass": (0.005, 0.35, 0.4)}
_RELEASE = 0.04  # s, fade-out after a note ends
_LEVELS = {"bass": 0.8, "chord": 0.26, "melody": 0.45, "kick": 0.9, "snare": 0.5, "hat": 0.18}


def _harmonics(instrument: str, brightness: float, n: int) -> np.ndarray:
    """Amplitudes of harmonics 1..n of a timbre; brightness (0..1) keeps the upper ones."""
    k = np.arange(1, n + 1, dtype=float)
    if instrument in ("saw", "pluck"):
        a = 1.0 / k
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


@lru_cache(maxsize=64)
def _wavetable(instrument: str, brightness: float, n_harmonics: int) -> np.ndarray:
    """One cycle of a band-limited waveform, peak 1, float32."""
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=complex)
    spectrum[1: n_harmonics + 1] = -1j * _harmonics(instrument, brightness, n_harmonics)  # sines
    table = np.fft.irfft(spectrum, n=_TABLE_SIZE)
    return (table / np.abs(table).max()).astype(np.float32)


@lru_cache(maxsize=8)
def _drum_kit(sr: int) -> dict:
    """Kick, snare and closed hi-hat samples (fixed noise seed), float32."""
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
    return {name: (x / np.abs(x).max()).astype(np.float32)
            for name, x in {"kick": kick, "snare": snare, "hat": hat}.items()}


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
    for j in range(len(start)):
        lo, hi = max(start[j], 0), min(stop[j], start[j] + envelope.size)
        if hi <= lo:
            continue
        k = np.arange(lo - start[j], hi - start[j])  # samples since the onset
        wave = table[((increment[j, 0] * k) >> 16) & (_TABLE_SIZE - 1)]
        for tone in range(1, midi.shape[1]):
            wave += table[((increment[j, tone] * k) >> 16) & (_TABLE_SIZE - 1)]
        gain = velocity[j] * envelope[k[0]: k[-1] + 1]
        past = k[-1] - int(round(length[j] * sr))  # samples past the note's end at the segment's end
        if past > 0:  # release: the tail of the segment fades out linearly
            tail = min(past, gain.size)
            gain[-tail:] *= release[np.minimum(np.arange(past - tail + 1, past + 1), release.size - 1)]
        y[lo:hi] = gain * wave
    return y


def _play(score: Score, genre: Genre, sr: int) -> np.ndarray:
    """Mix the score's voices into one float32 signal (unmastered)."""
    n = int(round(score.duration * sr))
    y = np.zeros(n, dtype=np.float32)
    voice = score.notes["voice"].to_numpy()
    onset, length = score.notes["onset"].to_numpy(), score.notes["length"].to_numpy()
    midi, velocity = score.notes["midi"].to_numpy(), score.notes["velocity"].to_numpy()
    nyquist = 0.45 * sr
    for name in ("bass", "chord", "melody"):
        rows = np.flatnonzero(voice == name)
        if rows.size == 0:
            continue
        rows = rows[np.lexsort((midi[rows], onset[rows]))]
        instrument = "bass" if name == "bass" else genre.instrument
        n_harmonics = int(max(1, min(40, nyquist // _midi_to_hz(midi[rows].max()))))
        table = _wavetable(instrument, genre.brightness, n_harmonics)
        tones = 3 if name == "chord" else 1  # chords are triads: one row per tone
        first = rows[::tones]
        y += _LEVELS[name] * _render_line(n, sr, onset[first], length[first], velocity[first],
                                          midi[rows].reshape(-1, tones), table, _envelope(instrument, sr))
    kit = _drum_kit(sr)
    levels = dict(_LEVELS, hat=_LEVELS["hat"] * (0.5 + genre.brightness))
    for j in np.flatnonzero(np.isin(voice, list(kit))):
        sample = kit[voice[j]]
        start = int(round(onset[j] * sr))
        lo, hi = max(start, 0), min(start + sample.size, n)
        if hi > lo:
            y[lo:hi] += (levels[voice[j]] * velocity[j]) * sample[lo - start: hi - start]
    return y


# ----------------------------------------------------------------------------
# Loudness (ITU-R BS.1770-4) and mastering
# ----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _k_weighting(sr: int) -> np.ndarray:
    """The K-weighting filter of BS.1770 as second-order sections at ``sr`` Hz.

    A high shelf (+4 dB above about 1.7 kHz: the head) and a high pass (about
    38 Hz), computed from their analogue prototypes as libebur128 does, so that
    at 48 kHz they match the standard's coefficients and any other rate works.
    """
    f0, G, Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    K = np.tan(np.pi * f0 / sr)
    Vh = 10 ** (G / 20)
    Vb = Vh**0.4996667741545416
    a0 = 1 + K / Q + K * K
    shelf = [(Vh + Vb * K / Q + K * K) / a0, 2 * (K * K - Vh) / a0, (Vh - Vb * K / Q + K * K) / a0,
             1.0, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0]
    f0, Q = 38.13547087602444, 0.5003270373238773
    K = np.tan(np.pi * f0 / sr)
    a0 = 1 + K / Q + K * K
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0]
    return np.array([shelf, high_pass])


def _block_powers(y: np.ndarray, sr: int, *, k_weighted: bool = True) -> np.ndarray:
    """Mean square of the (K-weighted) signal in 400 ms blocks overlapping by 75 %."""
    from scipy.signal import sosfilt

    z = np.asarray(y, dtype=np.float64)
    if k_weighted:
        z = sosfilt(_k_weighting(sr), z)
    step = int(round(0.1 * sr))  # a block is 4 steps of 100 ms
    if z.size < 4 * step:  # shorter than one block: the whole clip is the block
        return np.array([np.mean(z**2)])
    steps = np.einsum("ij,ij->i", *(2 * [z[: z.size // step * step].reshape(-1, step)]))
    return np.convolve(steps, np.ones(4), mode="valid") / (4 * step)


def _gated_loudness(z: np.ndarray) -> float:
    """BS.1770 gating of block mean squares: absolute -70 LUFS, then relative -10 LU."""
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(z)
    kept = z[levels > -70.0]
    if kept.size == 0:
        return float("-inf")
    relative_gate = -0.691 + 10 * np.log10(kept.mean()) - 10.0
    kept = z[levels > max(relative_gate, -70.0)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def integrated_loudness(y: np.ndarray, *, sr: int = SR) -> float:
    """Integrated loudness of a mono signal, LUFS (ITU-R BS.1770-4).

    The signal is K-weighted, its mean square is taken in 400 ms blocks that
    overlap by 75 %, blocks quieter than -70 LUFS are dropped (absolute gate),
    then blocks more than 10 LU below the mean of the rest (relative gate);
    the loudness is ``-0.691 + 10 log10(mean square of the kept blocks)``. A
    full-scale 1 kHz sine measures about -3 LUFS. A clip shorter than 400 ms
    is measured as one block.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Mono signal, full scale = 1.
    sr : int, optional
        Sample rate, Hz.

    Returns
    -------
    float
        Loudness units relative to full scale (LUFS, i.e. dB); ``-inf`` when
        every block is below the absolute gate (silence).

    Examples
    --------
    >>> t = np.arange(SR * 2) / SR
    >>> round(integrated_loudness(np.sin(2 * np.pi * 1000 * t)), 1)
    -3.0
    """
    return _gated_loudness(_block_powers(y, sr))


def _master(y: np.ndarray, target: float, sr: int) -> np.ndarray:
    """Bring a mix to ``target`` LUFS without exceeding full scale.

    Quieter targets are a plain gain. Louder ones need a limiter, as in a real
    master: a tanh soft clipper, ``tanh(drive * y)``, whose drive is raised
    until the loudness is within 0.05 LU of the target. The drive is searched
    (secant steps against log drive) on the loudness without K-weighting,
    which needs no filtering, shifted by the K-weighting's effect as last
    measured; the true loudness is then measured and the shift updated. A
    target beyond what a hard-driven clip reaches gives the loudest it reaches.
    """
    y = y / np.abs(y).max()
    level = integrated_loudness(y, sr=sr)
    if target <= level:
        return (y * 10 ** ((target - level) / 20)).astype(np.float32)
    shift = level - _gated_loudness(_block_powers(y, sr, k_weighted=False))
    x = (target - level) / 20  # log10 of the drive; drive 1 leaves the peaks at full scale
    for _ in range(4):
        # secant search on the unweighted loudness + shift: points (log10 drive, loudness)
        x0, l0 = 0.0, level
        for _ in range(12):
            out = np.tanh(10**x * y)
            flat = _gated_loudness(_block_powers(out, sr, k_weighted=False))
            l1 = flat + shift
            if abs(l1 - target) < 0.02 or x >= 3.0:
                break
            slope = (l1 - l0) / (x - x0) if l1 > l0 and x != x0 else 20.0
            x0, l0, x = x, l1, min(x + (target - l1) / max(slope, 0.5), 3.0)
        level_out = integrated_loudness(out, sr=sr)
        if abs(level_out - target) < 0.05 or x >= 3.0:
            break
        shift = level_out - flat
    return out.astype(np.float32)


def _to_pcm16_grid(y: np.ndarray) -> np.ndarray:
    """Round to 16-bit sample values (as float32), so a WAV file stores the clip exactly."""
    return (np.round(np.clip(y, -1.0, 1.0) * 32767.0).astype(np.float32) / np.float32(32767.0))


def render_track(track=None, *, duration: float = DEFAULT_DURATION, sr: int = SR,
                 seed: int | None = None, **attributes) -> np.ndarray:
    """Render a track's clip from its attributes: a mono waveform.

    :func:`compose` writes the score (chords per bar in the track's key and
    mode, a bass line on the roots, a melody from the scale, drums with the
    kick on the downbeat); the voices are played with wavetables of the
    genre's instrument and brightness; the mix is mastered to the track's
    loudness (:func:`integrated_loudness`, with a soft limiter for loud
    targets) and rounded to 16-bit sample values.

    Parameters
    ----------
    track : mapping, pandas.Series or None
        A row of the ``tracks`` table: ``genre`` (str), ``tempo`` (float, beats
        per minute), ``key`` (int, 0 = C), ``mode`` (int, 1 = major),
        ``loudness`` (float, LUFS), ``time_signature`` (int, 3 or 4) and
        optionally ``track_id`` (int, the default seed).
    duration : float, optional
        Clip length, seconds. The default, 8 s, holds 8 beats (more than 2
        bars of 3/4) at the world's slowest tempo, 60 BPM: the beat tracker
        and the metre estimator need a few bars.
    sr : int, optional
        Sample rate, Hz.
    seed : int or None, optional
        Seed of the score's random choices; ``None`` uses ``track_id``.
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
    >>> y.shape, round(integrated_loudness(y), 1)
    ((88200,), -14.0)
    """
    sr = int(sr)
    if sr < 8000:
        raise ValueError(f"sr must be at least 8000 Hz, got {sr!r}")
    score = compose(track, duration=duration, seed=seed, **attributes)
    return _to_pcm16_grid(_master(_play(score, _GENRE[score.genre], sr), score.loudness, sr))


def default_cache_dir() -> Path:
    """Folder of the rendered-clip cache.

    ``$COURSEKIT_DATA/audio`` when the environment variable ``COURSEKIT_DATA``
    is set, else ``~/.cache/coursekit/audio``. Both are outside the
    repository (or git-ignored), and safe to delete.
    """
    root = os.environ.get("COURSEKIT_DATA")
    return Path(root) / "audio" if root else Path.home() / ".cache" / "coursekit" / "audio"


def _cache_name(score_inputs: dict, duration: float, sr: int, seed) -> str:
    """File name of a clip: track id and a hash of everything that shapes its samples."""
    a = score_inputs
    text = repr((SYNTH_VERSION, int(sr), round(float(duration), 6), None if seed is None else int(seed),
                 a["genre"].name, float(a["tempo"]), a["key"], a["mode"], float(a["loudness"]),
                 a["time_signature"], a["track_id"]))
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
                  progress=None) -> np.ndarray:
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
        loudness, time_signature``).
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
            path = folder / _cache_name(_attributes(row, {}), duration, sr, None)
            y = _read_clip(path, n, sr)
        if y is None:
            y = render_track(row, duration=duration, sr=sr)
            if cache:
                _write_clip(path, y, sr)
        out[i] = y
    return out


# ----------------------------------------------------------------------------
# Reading audio files, and log-mel spectrograms (the CNN's input)
# ----------------------------------------------------------------------------

#: Mel bands of the log-mel spectrogram the CNN reads (:func:`log_mel_spectrogram`).
MEL_BANDS = 64
#: FFT window of the log-mel spectrogram, samples at :data:`SR` (46 ms).
MEL_N_FFT = 1024
#: Hop between log-mel frames, samples at :data:`SR` (23 ms).
MEL_HOP = 512
#: Lowest value of a log-mel spectrogram, dB: the floor silence maps to.
MEL_FLOOR_DB = -100.0
#: Bump when the log-mel computation changes; part of the mel cache key.
MEL_VERSION = 1


def load_audio(path: str | os.PathLike, *, sr: int = SR) -> np.ndarray:
    """Read an audio file as a mono float32 clip at ``sr`` Hz.

    Any format that libsndfile reads (WAV, FLAC, OGG, ...) works; several
    channels are averaged and another sample rate is resampled.

    Parameters
    ----------
    path : path-like
        The file.
    sr : int, optional
        Sample rate to return, Hz.

    Returns
    -------
    ndarray of float32, shape (samples,)
        Full scale = 1.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not audio that can be decoded, is empty, or has NaN samples.

    Examples
    --------
    >>> import tempfile, scipy.io.wavfile
    >>> path = Path(tempfile.mkdtemp()) / "a.wav"
    >>> scipy.io.wavfile.write(path, 44100, np.zeros((44100, 2), dtype=np.int16))
    >>> load_audio(path).shape  # one second, mixed down and resampled to 22050 Hz
    (22050,)
    """
    import soundfile

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no audio file at {path}")
    if path.is_dir():
        raise ValueError(f"could not read {path} as audio: it is a folder, not a file")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as exc:
        raise ValueError(f"could not read {path} as audio ({exc}); give a WAV, FLAC or OGG file") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path} holds no audio samples")
    y, _ = _check_audio(data.T, rate, min_seconds=0.0, needs="")
    if int(sr) != SR:
        import librosa

        y = librosa.resample(y, orig_sr=SR, target_sr=int(sr))
    return y


def _hz_to_mel(f):
    """Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=float)
    linear = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1000.0) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, linear)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=float)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)


def mel_frequencies(n_mels: int = MEL_BANDS) -> np.ndarray:
    """Centre frequencies (Hz) of the mel bands of :func:`log_mel_spectrogram`, lowest first.

    The bands are equally spaced on Slaney's mel scale (linear below 1 kHz,
    logarithmic above, as the ear resolves pitch) between 0 Hz and 11,025 Hz.

    Examples
    --------
    >>> mel_frequencies(4).round()
    array([ 665., 1407., 2794., 5550.])
    """
    return _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2), n_mels + 2))[1:-1]


@lru_cache(maxsize=4)
def _mel_filters(n_mels: int, n_fft: int) -> np.ndarray:
    """Mel filter bank, float32, shape (n_mels, n_fft // 2 + 1), as ``librosa.filters.mel``.

    Band m is a triangle over the FFT bins from the centre of band m - 1 to
    that of band m + 1, peaking at its own centre, scaled to unit area
    (Slaney's normalisation: 2 / width in Hz).
    """
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2), n_mels + 2))  # Hz
    bins = np.fft.rfftfreq(n_fft, 1.0 / SR)
    ramps = edges[:, None] - bins[None, :]
    width = np.diff(edges)
    rising, falling = -ramps[:-2] / width[:-1, None], ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def _log_mel(Y: np.ndarray, n_mels: int = MEL_BANDS, n_fft: int = MEL_N_FFT,
             hop_length: int = MEL_HOP) -> np.ndarray:
    """Log-mel spectrograms of clips at SR, ``Y`` shaped (..., samples) -> (..., frames, n_mels), float32."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.fft import rfft
    from scipy.signal import get_window

    from threadpoolctl import threadpool_limits

    window = get_window("hann", n_fft).astype(np.float32)  # periodic Hann
    frames = sliding_window_view(np.asarray(Y, dtype=np.float32), n_fft, axis=-1)[..., ::hop_length, :]
    power = np.abs(rfft(frames * window, axis=-1)) ** 2  # |STFT|², float32
    with threadpool_limits(limits=1, user_api="blas"):  # a small product: threads only wait for each other
        mel = power @ _mel_filters(n_mels, n_fft).T
    return np.maximum(10.0 * np.log10(np.maximum(mel, 1e-30)), MEL_FLOOR_DB).astype(np.float32)


def log_mel_spectrogram(y: np.ndarray, sr: int = SR, *, n_mels: int = MEL_BANDS, n_fft: int = MEL_N_FFT,
                        hop_length: int = MEL_HOP) -> np.ndarray:
    """Log-mel spectrogram of a clip, time first: the CNN's input.

    The clip is cut into frames of ``n_fft`` samples every ``hop_length``
    samples (no padding: every frame is real audio), each frame is weighted by
    a Hann window, its power spectrum ``|FFT|²`` is summed into ``n_mels``
    mel bands (Slaney's area-normalised triangles from 0 Hz to 11,025 Hz) and
    turned into decibels, ``10 log10(power)``, floored at
    :data:`MEL_FLOOR_DB`. The dB are absolute (not relative to the clip's
    loudest frame), so a louder track has larger values: loudness stays
    visible to the network.

    Parameters
    ----------
    y : ndarray, shape (samples,) or (channels, samples)
        The clip, full scale = 1; channels are averaged, integer PCM scaled.
    sr : int, optional
        Sample rate of ``y``, Hz; other rates than 22050 Hz are resampled first.
    n_mels : int, optional
        Number of mel bands.
    n_fft : int, optional
        Frame length, samples at 22050 Hz.
    hop_length : int, optional
        Hop between frames, samples at 22050 Hz.

    Returns
    -------
    ndarray of float32, shape (1 + (samples - n_fft) // hop_length, n_mels)
        dB per frame and band; frame k starts at sample ``k * hop_length``.

    Raises
    ------
    ValueError
        If the clip is shorter than one frame, has NaN or infinite samples,
        is not mono or channels-first, or ``sr`` is not a valid rate.

    See Also
    --------
    mel_spectrograms : the same for many tracks, cached on disk.

    Examples
    --------
    >>> y = render_track(genre="pop", tempo=120.0, key=0, mode=1, loudness=-8.0, time_signature=4,
    ...                  duration=3.0)
    >>> log_mel_spectrogram(y).shape
    (128, 64)
    """
    y, _ = _check_audio(y, sr, min_seconds=n_fft / SR,
                        needs=f"a log-mel spectrogram needs at least one frame of {n_fft} samples "
                              f"({1000 * n_fft / SR:.0f} ms)")
    if y.size < n_fft:  # resampling may shave a sample off
        y = np.pad(y, (0, n_fft - y.size))
    return _log_mel(y, n_mels, n_fft, hop_length)


def _mel_cache_name(a: dict, duration: float, n_mels: int, n_fft: int, hop_length: int) -> str:
    """File name of a track's cached log-mel spectrogram: track id and a hash of what shapes it."""
    clip = _cache_name(a, duration, SR, None)[:-4]  # synthesiser version, attributes, duration
    digest = hashlib.sha1(repr((clip, MEL_VERSION, n_mels, n_fft, hop_length)).encode()).hexdigest()[:16]
    prefix = "clip" if a["track_id"] is None else f"track{a['track_id']}"
    return f"{prefix}-mel-{digest}.npy"


def _read_mel(path: Path, shape: tuple):
    """A cached spectrogram, or None if it is missing, unreadable or of another shape."""
    try:
        m = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return m if m.shape == shape and m.dtype == np.float16 else None


def _write_mel(path: Path, m: np.ndarray) -> None:
    """Write an array as .npy atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, m, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mel_batch(rows: list, duration: float, n_mels: int, n_fft: int, hop_length: int, paths: list) -> np.ndarray:
    """Render and analyse a batch of tracks; write each spectrogram to its path (if any). float16."""
    clips = np.stack([render_track(row, duration=duration) for row in rows])
    mels = _log_mel(clips, n_mels, n_fft, hop_length).astype(np.float16)
    for path, m in zip(paths, mels):
        if path is not None:
            _write_mel(path, m)
    return mels


_MIN_PARALLEL = 400  # fewer spectrograms to compute than this: starting workers costs more than it saves
_WORKER = ("import pickle, sys\n"
           "from coursekit.audio import _mel_batch\n"
           "jobs = pickle.load(sys.stdin.buffer)\n"
           "pickle.dump([_mel_batch(*job) for job in jobs], sys.stdout.buffer)\n")


def _in_workers(jobs: list, n_workers: int) -> list:
    """``[_mel_batch(*job) for job in jobs]``, shared out to fresh Python processes.

    Each worker is a new interpreter (``python -c``) that reads its jobs from
    stdin and pickles the results to stdout: unlike ``multiprocessing`` it
    re-runs nothing of the caller's script and inherits no threads (e.g.
    TensorFlow's), so it works from a script, a notebook or a test alike.
    """
    import pickle
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    shares = [jobs[k::n_workers] for k in range(n_workers)]

    def run(share):
        proc = subprocess.run([sys.executable, "-c", _WORKER], input=pickle.dumps(share), capture_output=True,
                              env=env)
        if proc.returncode:
            raise RuntimeError(f"a spectrogram worker failed:\n{proc.stderr.decode(errors='replace')[-3000:]}")
        return pickle.loads(proc.stdout)

    with ThreadPoolExecutor(n_workers) as threads:  # the threads only wait for their process
        results = list(threads.map(run, shares))
    return [results[k % n_workers][k // n_workers] for k in range(len(jobs))]


def mel_spectrograms(tracks: pd.DataFrame, *, duration: float = DEFAULT_DURATION, n_mels: int = MEL_BANDS,
                     n_fft: int = MEL_N_FFT, hop_length: int = MEL_HOP, cache: bool = True,
                     cache_dir: str | os.PathLike | None = None, n_jobs: int = 1, progress=None) -> np.ndarray:
    """Log-mel spectrograms of many tracks' clips, reading and filling an on-disk cache.

    Each track is rendered (:func:`render_track`, at 22050 Hz) and turned
    into its log-mel spectrogram (:func:`log_mel_spectrogram`); the
    spectrogram, not the waveform, is cached, as float16 ``.npy`` (16 kB for
    a 3 s clip against 130 kB of 16-bit audio), named after the track id and a
    hash of everything that shapes it (synthesiser and mel versions,
    attributes, duration, mel settings). A missing, unreadable or misshapen
    file is computed again; files are written atomically. Computing takes
    about 10 ms a 3 s clip on one core, reading it back well under 1 ms.

    Parameters
    ----------
    tracks : pandas.DataFrame
        Rows of the ``tracks`` table (``track_id, genre, tempo, key, mode,
        loudness, time_signature``).
    duration : float, optional
        Clip length, seconds.
    n_mels, n_fft, hop_length : int, optional
        As in :func:`log_mel_spectrogram`.
    cache : bool, optional
        Read and write the cache; ``False`` computes everything in memory.
    cache_dir : path or None, optional
        Cache folder (the spectrograms go to its ``mel`` subfolder); ``None``
        means :func:`default_cache_dir`.
    n_jobs : int, optional
        Worker processes for the spectrograms not in the cache (``-1``: one
        per CPU core). Each worker is a fresh Python process that takes a
        second or two to start, so workers are used only from 400
        spectrograms to compute.
    progress : callable or None, optional
        Wraps the iteration over batches of (64) tracks, e.g. ``tqdm.tqdm``
        (with ``n_jobs=1``).

    Returns
    -------
    ndarray of float16, shape (len(tracks), frames, n_mels)
        dB, one spectrogram per row of ``tracks``, in order; ``frames = 1 +
        (round(duration * 22050) - n_fft) // hop_length``.

    See Also
    --------
    log_mel_spectrogram, render_tracks
    """
    n = int(round(duration * SR))
    if n < n_fft:
        raise ValueError(f"duration = {duration} s is shorter than one frame of {n_fft} samples")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive number of processes or -1, got {n_jobs}")
    shape = (1 + (n - n_fft) // hop_length, n_mels)
    folder = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "mel"
    rows = tracks.to_dict("records")
    out = np.empty((len(rows),) + shape, dtype=np.float16)
    paths, todo = [None] * len(rows), []
    for i, row in enumerate(rows):
        a = _attributes(row, {})  # checks every row first: a bad one fails before any work
        if cache:
            paths[i] = folder / _mel_cache_name(a, duration, n_mels, n_fft, hop_length)
            m = _read_mel(paths[i], shape)
            if m is not None:
                out[i] = m
                continue
        todo.append(i)
    batches = [todo[k: k + 64] for k in range(0, len(todo), 64)]
    args = [([rows[i] for i in b], duration, n_mels, n_fft, hop_length, [paths[i] for i in b]) for b in batches]
    if n_jobs > 1 and len(todo) >= _MIN_PARALLEL:
        for b, mels in zip(batches, _in_workers(args, min(n_jobs, len(batches)))):
            out[b] = mels
    else:
        for b, a in zip(batches, progress(args) if progress is not None else args):
            out[b] = _mel_batch(*a)
    return out


# ----------------------------------------------------------------------------
# Estimating the attributes back from audio
# ----------------------------------------------------------------------------

#: Krumhansl–Kessler probe-tone profiles of C major and C minor (Krumhansl 1990).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_SECONDS = 1.0  #: shortest clip the estimators accept, seconds
#: Share of flat-topped samples (:func:`clipped_share`) above which a clip counts as clipped.
CLIPPED_SHARE = 0.01
_HOP = 512  # frames of 23 ms for onsets and beats
_N_FFT = 2048
_N_FFT_CHROMA = 8192  # 2.7 Hz bins: a semitone apart down to about 50 Hz


@dataclass
class Attributes:
    """Attributes estimated from a clip.

    Attributes
    ----------
    tempo : float
        Beats per minute; NaN when unknown.
    key : int
        Tonic pitch class, 0 = C ... 11 = B; -1 when unknown.
    mode : int
        1 = major, 0 = minor; -1 when unknown.
    loudness : float
        Integrated loudness, LUFS (:func:`integrated_loudness`); ``-inf`` for silence.
    time_signature : int
        Beats per bar, 3 or 4; -1 when unknown.
    tempo_confidence : float
        0..1: how far the prior-weighted onset autocorrelation at the chosen
        beat period exceeds its value at half and at double the period (near
        0: the tempo could as well be half or double).
    key_confidence : float
        0..1: correlation of the best key profile minus that of the runner-up
        (often the relative or the dominant key).
    time_signature_confidence : float
        0..1: by how much the chosen metre's downbeats stand out more than the
        other metre's, in standard deviations of the beat accents, halved and
        capped at 1.
    reason : str
        Empty when every attribute was estimated; otherwise why some are unknown.
    clipped : float
        Share of samples that sit flat at the clip's peak (:func:`clipped_share`).
        Above :data:`CLIPPED_SHARE` the clip is clipped: beats, harmony and
        metre survive that, but the loudness is that of the clipped signal
        (lower than the original's would have been).
    """

    tempo: float
    key: int
    mode: int
    loudness: float
    time_signature: int
    tempo_confidence: float = 0.0
    key_confidence: float = 0.0
    time_signature_confidence: float = 0.0
    reason: str = ""
    clipped: float = 0.0


def _check_audio(y, sr, *, min_seconds: float = MIN_SECONDS,
                 needs: str = "the estimators need at least 1 s (a few beats)") -> tuple[np.ndarray, int]:
    """Validate a clip; return it mono, float32, at ``SR`` Hz.

    Integer PCM is scaled to full scale = 1, channels-first stereo is averaged,
    another sample rate is resampled; NaN or infinite samples, an unknown
    layout, a bad ``sr`` or a clip shorter than ``min_seconds`` (``needs``
    says why) raise ``ValueError``.
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float, np.floating)) \
            or not np.isfinite(sr) or sr != int(sr) or sr <= 0:
        raise ValueError(f"sr must be the sample rate in Hz, a positive whole number; got {sr!r}")
    sr = int(sr)
    if sr < 8000:
        raise ValueError(f"sr = {sr} Hz is too low to hear pitch and beats; give audio sampled at "
                         f"8000 Hz or more ({SR} Hz is the course's rate)")
    y = np.asarray(y)
    if y.dtype.kind in "iu":  # integer PCM, e.g. read from a WAV file: full scale = 1
        y = y / float(np.iinfo(y.dtype).max + 1)
    elif y.dtype.kind != "f":
        raise ValueError(f"y must be an array of audio samples (floats), got dtype {y.dtype}")
    if y.ndim == 2 and y.shape[0] <= 8 < y.shape[1]:  # (channels, samples), as librosa loads it
        y = y.mean(axis=0)
    elif y.ndim != 1:
        hint = ("; it looks like (samples, channels): mix it down with y.mean(axis=1)"
                if y.ndim == 2 and y.shape[1] <= 8 else "")
        raise ValueError(f"y must be mono, shape (samples,), or (channels, samples); got shape {y.shape}{hint}")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"y has {int(bad.sum())} NaN or infinite samples out of {y.size}; repair them "
                         f"first, e.g. np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)")
    if y.size < min_seconds * sr:
        raise ValueError(f"the clip is {y.size / sr:.2f} s long; {needs}: give a longer clip")
    y = y.astype(np.float32)
    if sr != SR:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=SR)
    return y, SR


@lru_cache(maxsize=2)
def _filterbanks(sr: int):
    """Mel (96 bands), chroma (short and long windows) filter banks and the mel centre frequencies."""
    import librosa

    return (librosa.filters.mel(sr=sr, n_fft=_N_FFT, n_mels=96),
            librosa.filters.chroma(sr=sr, n_fft=_N_FFT),
            librosa.filters.chroma(sr=sr, n_fft=_N_FFT_CHROMA),
            librosa.mel_frequencies(n_mels=96 + 2, fmax=sr / 2)[1:-1])


def key_scores(chroma: np.ndarray) -> np.ndarray:
    """Correlation of a chroma vector with the 24 Krumhansl–Kessler key profiles.

    The Krumhansl–Schmuckler key-finding algorithm: the key whose rotated
    profile correlates best (Pearson) with the clip's pitch-class
    distribution is its key.

    Parameters
    ----------
    chroma : ndarray, shape (12,)
        Energy per pitch class, C first.

    Returns
    -------
    ndarray, shape (2, 12)
        Row 0: the major keys C..B; row 1: the minor keys C..B.
    """
    profiles = np.stack([np.roll(p, k) for p in (KK_MAJOR, KK_MINOR) for k in range(12)])
    profiles = (profiles - profiles.mean(axis=1, keepdims=True)) / profiles.std(axis=1, keepdims=True)
    x = np.asarray(chroma, dtype=float)
    x = (x - x.mean()) / (x.std() + 1e-12)
    return (profiles @ x / 12.0).reshape(2, 12)


def clipped_share(y: np.ndarray, *, min_run: int = 3, tolerance: float = 1e-4) -> float:
    """Share of samples that sit flat at the clip's peak: a sign of clipping.

    A clipped waveform has runs of consecutive samples stuck at its largest
    magnitude (hard clipping, or a limiter driven into saturation). This
    counts the samples in runs of at least ``min_run`` whose magnitude is
    within ``tolerance`` (relative) of the peak; a clean recording has almost
    none; :func:`estimate_attributes` reports it as ``clipped``, and above
    :data:`CLIPPED_SHARE` a clip counts as clipped.

    Parameters
    ----------
    y : ndarray, shape (samples,)
        Mono signal.
    min_run : int, optional
        Shortest run of peak samples that counts, samples.
    tolerance : float, optional
        How close to the peak a sample must be, relative to the peak.

    Returns
    -------
    float
        0..1; 0 for silence.

    Examples
    --------
    >>> t = np.arange(SR) / SR
    >>> y = np.sin(2 * np.pi * 220 * t)
    >>> clipped_share(y), round(clipped_share(np.clip(2 * y, -1, 1)), 2)
    (0.0, 0.67)
    """
    a = np.abs(np.asarray(y, dtype=np.float32))
    peak = float(a.max()) if a.size else 0.0
    if peak == 0.0:
        return 0.0
    at_peak = np.concatenate([[False], a >= peak * (1.0 - tolerance), [False]])
    edges = np.flatnonzero(np.diff(at_peak.astype(np.int8)))
    runs = edges[1::2] - edges[::2]  # lengths of the runs of peak samples
    return float(runs[runs >= min_run].sum() / a.size)


def estimate_attributes(y: np.ndarray, sr: int = SR, *, start_bpm: float = 120.0) -> Attributes:
    """Estimate tempo, key, mode, loudness and time signature of a clip.

    - tempo: the onset-strength envelope (spectral flux of a log-mel
      spectrogram) is beat-tracked by dynamic programming
      (:func:`librosa.beat.beat_track`, a log-normal tempo prior around
      ``start_bpm``); the tempo is the slope of a line through the beat times.
    - key and mode: the mean chromagram (8192-sample windows, concert pitch
      A4 = 440 Hz assumed) is correlated with the 24 Krumhansl–Kessler
      profiles (:func:`key_scores`).
    - loudness: :func:`integrated_loudness` (LUFS).
    - time signature: every beat gets an accent (onset strength, onset
      strength below 200 Hz, and the change of chroma from the previous beat,
      each standardised); for 3 and 4 beats per bar and each phase, the mean
      accent of the would-be downbeats minus that of the other beats; the
      metre whose best phase stands out more wins.

    Parameters
    ----------
    y : ndarray, shape (samples,) or (channels, samples)
        The clip, full scale = 1 (integer PCM is scaled by its full scale);
        several channels (first axis, as librosa loads them) are averaged.
    sr : int, optional
        Sample rate of ``y``, Hz; other rates than 22050 Hz are resampled.
    start_bpm : float, optional
        Centre of the beat tracker's tempo prior, beats per minute.

    Returns
    -------
    Attributes
        For silence (every 400 ms block below -70 LUFS) the loudness is
        ``-inf``, the tempo NaN, key, mode and time signature -1, and
        ``reason`` says so; with fewer than 4 tracked beats the tempo is the
        tempogram's and the time signature -1. A clipped clip is estimated as
        usual (clipping flattens the peaks but leaves beats, harmony and metre
        in place) and says how clipped it is in ``clipped``.

    Raises
    ------
    ValueError
        If the clip is shorter than 1 s, has NaN or infinite samples, is not
        shaped (samples,) or (channels, samples), or ``sr`` is not a whole
        number of at least 8000 Hz.

    See Also
    --------
    estimate_many, attribute_accuracy

    Examples
    --------
    >>> y = render_track(genre="rock", tempo=128.0, key=4, mode=0, loudness=-8.0, time_signature=4)
    >>> est = estimate_attributes(y)
    >>> round(est.tempo), est.key, est.mode, est.time_signature, round(est.loudness, 1)
    (128, 4, 0, 4, -8.0)
    """
    from threadpoolctl import threadpool_limits

    if not (isinstance(start_bpm, (int, float, np.number)) and 30.0 <= start_bpm <= 300.0):
        raise ValueError(f"start_bpm must be 30..300 beats per minute, got {start_bpm!r}")
    y, sr = _check_audio(y, sr)
    # the matrices are small: one BLAS thread is fastest, and on a busy
    # machine more threads mostly wait for each other
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(y, sr, start_bpm)


def _estimate(y: np.ndarray, sr: int, start_bpm: float) -> Attributes:
    import librosa

    loudness = integrated_loudness(y, sr=sr)
    if not np.isfinite(loudness):
        return Attributes(float("nan"), -1, -1, loudness, -1,
                          reason="silent: every 400 ms block is below -70 LUFS")
    reasons = []
    mel_fb, chroma_fb, chroma_fb_long, mel_freqs = _filterbanks(sr)
    S = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP)) ** 2  # power spectrogram
    log_mel = librosa.power_to_db(mel_fb @ S, ref=np.max)
    onset_env = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=_HOP)

    # tempo: dynamic-programming beat tracking on the onset envelope
    bpm, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=_HOP,
                                         start_bpm=start_bpm, units="frames")
    bpm = float(np.atleast_1d(bpm)[0])
    if beats.size >= 4:
        bpm = _refined_tempo(onset_env, beats, sr)
    else:
        reasons.append(f"only {beats.size} beats tracked: tempo from the tempogram alone")
    tempo_conf = _tempo_confidence(onset_env, bpm, sr, start_bpm) if bpm > 0 else 0.0

    # key: the mean chromagram against the 24 key profiles
    S_long = np.abs(librosa.stft(y, n_fft=_N_FFT_CHROMA, hop_length=_N_FFT_CHROMA // 4)) ** 2
    chroma_long = librosa.util.normalize(chroma_fb_long @ S_long, norm=np.inf, axis=0)
    scores = key_scores(chroma_long.mean(axis=1))
    runner_up, best = np.argsort(scores.ravel())[-2:]
    mode, key = 1 - best // 12, best % 12
    key_conf = float(np.clip(scores.ravel()[best] - scores.ravel()[runner_up], 0.0, 1.0))

    # time signature: the periodicity of the beat accents
    if beats.size >= 7:
        low_env = librosa.onset.onset_strength(S=log_mel[mel_freqs < 200], sr=sr, hop_length=_HOP)
        chroma = librosa.util.normalize(chroma_fb @ S, norm=np.inf, axis=0)
        ts, ts_conf = _metre(_beat_accents(onset_env, low_env, chroma, beats))
    else:
        ts, ts_conf = -1, 0.0
        reasons.append(f"only {beats.size} beats tracked: too few for the time signature (7 needed)")
    return Attributes(tempo=bpm, key=int(key), mode=int(mode), loudness=loudness, time_signature=ts,
                      tempo_confidence=tempo_conf, key_confidence=key_conf,
                      time_signature_confidence=ts_conf, reason="; ".join(reasons),
                      clipped=clipped_share(y))


def _refined_tempo(onset_env: np.ndarray, beats: np.ndarray, sr: int) -> float:
    """Tempo (BPM) from the tracked beats, finer than one frame.

    The beat tracker keeps its beats a whole number of frames apart; each beat
    is moved to the onset-envelope peak within ±3 frames (interpolated with a
    parabola through the peak and its neighbours) and a line is fitted
    through the beat times against the beat number, refitted without beats
    more than a fifth of a period off it. The tempo is 60 / slope.
    """
    window = np.clip(beats[:, None] + np.arange(-3, 4), 1, onset_env.size - 2)
    peak = window[np.arange(beats.size), np.argmax(onset_env[window], axis=1)]
    left, centre, right = onset_env[peak - 1], onset_env[peak], onset_env[peak + 1]
    curvature = left - 2 * centre + right
    shift = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    times = (peak + np.clip(shift, -0.5, 0.5)) * _HOP / sr
    n = np.arange(times.size)
    slope, intercept = np.polyfit(n, times, 1)
    keep = np.abs(times - (slope * n + intercept)) < 0.2 * slope
    if keep.sum() >= 4:
        slope = np.polyfit(n[keep], times[keep], 1)[0]
    return float(60.0 / slope)


def _tempo_confidence(onset_env, bpm, sr, start_bpm, std_bpm=1.0) -> float:
    """1 - (best of half and double period) / (chosen period), on the prior-weighted autocorrelation."""
    import librosa

    ac = librosa.autocorrelate(onset_env - onset_env.mean())
    lag = 60.0 * sr / (_HOP * bpm)  # beat period, frames

    def weighted(period):
        if not 1 <= period < ac.size:
            return 0.0
        prior = np.exp(-0.5 * (np.log2(60.0 * sr / (_HOP * period) / start_bpm) / std_bpm) ** 2)
        return max(float(np.interp(period, np.arange(ac.size), ac)), 0.0) * prior

    chosen = weighted(lag)
    if chosen <= 0:
        return 0.0
    return float(np.clip(1.0 - max(weighted(lag / 2), weighted(2 * lag)) / chosen, 0.0, 1.0))


def _zscore(x):
    x = np.asarray(x, dtype=float)
    s = x.std()
    return (x - x.mean()) / s if s > 0 else np.zeros_like(x)


def _beat_accents(onset_env, low_env, chroma, beats) -> np.ndarray:
    """Accent of each beat: onset strength + low-band onset strength + harmonic change (z-scores)."""
    lo, hi = np.maximum(beats - 2, 0), np.minimum(beats + 3, onset_env.size)  # about ±50 ms
    onset = np.array([onset_env[a:b].max() for a, b in zip(lo, hi)])
    low = np.array([low_env[a:b].max() for a, b in zip(lo, hi)])
    # chroma averaged over each beat; harmonic change = 1 - cosine to the previous beat's
    edges = np.append(beats, chroma.shape[1])
    per_beat = np.array([chroma[:, a:max(b, a + 1)].mean(axis=1) for a, b in zip(edges[:-1], edges[1:])])
    per_beat /= np.linalg.norm(per_beat, axis=1, keepdims=True) + 1e-9
    change = 1.0 - np.sum(per_beat[1:] * per_beat[:-1], axis=1)
    change = np.insert(change, 0, change.mean())  # the first beat has no predecessor
    return _zscore(onset) + _zscore(low) + _zscore(change)


def _metre(accent: np.ndarray) -> tuple[int, float]:
    """Beats per bar (3 or 4) whose downbeats stand out most from the beat accents."""
    contrast = {}
    for m in (3, 4):
        contrast[m] = max(accent[phase::m].mean() - np.delete(accent, np.s_[phase::m]).mean()
                          for phase in range(m))
    ts = 3 if contrast[3] > contrast[4] else 4
    return ts, float(np.clip(abs(contrast[3] - contrast[4]) / 2, 0.0, 1.0))


def estimate_many(clips, sr: int = SR, **kwargs) -> pd.DataFrame:
    """:func:`estimate_attributes` for many clips, one row each.

    Parameters
    ----------
    clips : ndarray, shape (n_clips, samples), or iterable of 1-D arrays
        The clips, e.g. from :func:`render_tracks`.
    sr : int, optional
        Sample rate, Hz.
    **kwargs
        Passed on to :func:`estimate_attributes` (e.g. ``start_bpm``).

    Returns
    -------
    pandas.DataFrame
        One row per clip, in order, with the fields of :class:`Attributes`
        as columns (``tempo, key, mode, loudness, time_signature``, the
        confidences, ``reason`` and ``clipped``).
    """
    from dataclasses import asdict

    if isinstance(clips, np.ndarray) and clips.ndim != 2:
        raise ValueError(f"clips must be shaped (n_clips, samples), got shape {clips.shape}; "
                         f"for one clip use estimate_attributes(y) or estimate_many([y])")
    rows = [asdict(estimate_attributes(y, sr, **kwargs)) for y in clips]
    columns = list(Attributes.__dataclass_fields__)
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------
# Accuracy against the true attributes
# ----------------------------------------------------------------------------


def _key_relation(true_key, true_mode, est_key, est_mode) -> np.ndarray:
    """How an estimated key relates to the true one (vectorised, strings)."""
    shift = (np.asarray(est_key) - np.asarray(true_key)) % 12
    same_mode = np.asarray(est_mode) == np.asarray(true_mode)
    major = np.asarray(true_mode) == 1
    out = np.full(shift.shape, "other", dtype=object)
    out[(shift == 7) & same_mode] = "dominant"
    out[(shift == 5) & same_mode] = "subdominant"
    out[(shift == 0) & ~same_mode] = "parallel"
    out[~same_mode & ((major & (shift == 9)) | (~major & (shift == 3)))] = "relative"
    out[(shift == 0) & same_mode] = "correct"
    out[np.asarray(est_key) < 0] = "unknown"
    return out


def attribute_accuracy(true: pd.DataFrame, estimated: pd.DataFrame, *, by: str | None = None,
                       tempo_tolerance: float = 0.04) -> pd.DataFrame:
    """Share of tracks whose estimated attributes match the true ones.

    Parameters
    ----------
    true : pandas.DataFrame
        The true attributes: ``tempo, key, mode, time_signature, loudness``
        (and the ``by`` column).
    estimated : pandas.DataFrame
        The estimates, rows aligned with ``true`` (as :func:`estimate_many`
        returns them).
    by : str or None, optional
        A column of ``true`` (e.g. ``"genre"``) to break the table down by;
        the last row is always all tracks.
    tempo_tolerance : float, optional
        Relative tolerance for a correct tempo (0.04: within 4 %).

    Returns
    -------
    pandas.DataFrame
        One row per group (and ``"all"``), columns: ``n``; ``tempo`` (share
        within the tolerance); ``tempo_octave`` (share off by a factor 2 or
        1/2, within the tolerance: octave errors, not counted in ``tempo``);
        ``key_mode`` (key and mode both right); ``key_relative`` (the
        relative major/minor instead); ``key_fifth`` (the dominant or
        subdominant key instead); ``time_signature``; ``loudness_mae`` (mean
        absolute error, LU).

    Examples
    --------
    >>> t = pd.DataFrame({"tempo": [120.0], "key": [9], "mode": [0], "time_signature": [3],
    ...                   "loudness": [-10.0]})
    >>> e = t.assign(tempo=[61.0], key=[0], mode=[1])
    >>> attribute_accuracy(t, e).loc["all", ["tempo", "tempo_octave", "key_mode", "key_relative"]].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    if len(true) != len(estimated):
        raise ValueError(f"true has {len(true)} rows but estimated has {len(estimated)}; "
                         f"give the estimates of the same tracks, in the same order")
    ratio = estimated["tempo"].to_numpy(float) / true["tempo"].to_numpy(float)
    relation = _key_relation(true["key"], true["mode"], estimated["key"], estimated["mode"])
    with np.errstate(invalid="ignore"):
        table = pd.DataFrame({
            "tempo": np.abs(ratio - 1) <= tempo_tolerance,
            "tempo_octave": (np.abs(ratio / 2 - 1) <= tempo_tolerance) | (np.abs(ratio * 2 - 1) <= tempo_tolerance),
            "key_mode": relation == "correct",
            "key_relative": relation == "relative",
            "key_fifth": np.isin(relation, ["dominant", "subdominant"]),
            "time_signature": estimated["time_signature"].to_numpy() == true["time_signature"].to_numpy(),
            "loudness_mae": np.abs(estimated["loudness"].to_numpy(float) - true["loudness"].to_numpy(float)),
        })
    groups = [] if by is None else [table.groupby(true[by].to_numpy()).mean().assign(
        n=true[by].value_counts().sort_index().to_numpy())]
    overall = table.mean().to_frame("all").T.assign(n=len(table))
    out = pd.concat(groups + [overall])
    return out[["n"] + [c for c in table.columns]]


def key_confusion(true: pd.DataFrame, estimated: pd.DataFrame) -> pd.DataFrame:
    """How the estimated keys relate to the true ones, counted by true mode.

    Parameters
    ----------
    true, estimated : pandas.DataFrame
        Columns ``key`` and ``mode``, rows aligned.

    Returns
    -------
    pandas.DataFrame
        Rows ``major`` and ``minor`` (the true mode), columns ``correct``,
        ``relative`` (e.g. C major taken for A minor), ``parallel`` (C major
        for C minor), ``dominant`` (a fifth up), ``subdominant`` (a fifth
        down), ``other``, ``unknown``: counts of tracks.
    """
    relation = _key_relation(true["key"], true["mode"], estimated["key"], estimated["mode"])
    mode = np.where(np.asarray(true["mode"]) == 1, "major", "minor")
    columns = ["correct", "relative", "parallel", "dominant", "subdominant", "other", "unknown"]
    table = pd.crosstab(pd.Series(mode, name="true mode"), pd.Series(relation, name="estimate"))
    return table.reindex(index=["major", "minor"], columns=columns, fill_value=0)


def example_tracks(n: int = 100, *, seed: int = 0, genres=None) -> pd.DataFrame:
    """World-like tracks for trying the synthesiser without building a world.

    Attributes are drawn from each genre's signature as :mod:`coursekit.world`
    draws them: tempo uniform in the genre's range (rounded to 0.1 BPM), key
    uniform, major with probability ``major_share``, 3/4 with probability
    ``waltz_share``, loudness normal(mean, std) rounded to 0.1 and clipped to
    [-30, -2] LUFS. Genres take turns, so each has about ``n / 8`` tracks.

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
        Columns ``track_id, genre, tempo, key, mode, loudness, time_signature``.
    """
    rng = np.random.default_rng(seed)
    names = list(GENRE_NAMES if genres is None else genres)
    unknown = set(names) - set(GENRE_NAMES)
    if unknown:
        raise ValueError(f"unknown genres {sorted(unknown)}; expected some of {list(GENRE_NAMES)}")
    g = [_GENRE[names[i % len(names)]] for i in range(n)]
    lo, hi = np.array([x.tempo for x in g], dtype=float).reshape(n, 2).T
    loud_mean, loud_std = np.array([x.loudness for x in g], dtype=float).reshape(n, 2).T
    return pd.DataFrame({
        "track_id": np.arange(1, n + 1, dtype=np.int64),
        "genre": [x.name for x in g],
        "tempo": np.round(rng.uniform(lo, hi), 1),
        "key": rng.integers(0, 12, size=n).astype(np.int64),
        "mode": (rng.random(n) < np.array([x.major_share for x in g])).astype(np.int64),
        "loudness": np.round(np.clip(rng.normal(loud_mean, loud_std), -30.0, -2.0), 1),
        "time_signature": np.where(rng.random(n) < np.array([x.waltz_share for x in g]), 3, 4).astype(np.int64),
    })
