"""Raw audio: read it, check it and estimate its attributes (tempo, key, metre, loudness, music).

The world's clips are rendered by :mod:`coursekit.synth`; this module analyses
audio, those clips or real recordings, with the standard
music-information-retrieval methods (:func:`estimate_attributes`):

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

:func:`load_audio` reads a real audio file (any format libsndfile reads) as a
mono clip at 22,050 Hz; :func:`check_audio` validates a clip in memory. The
log-mel spectrograms the CNN of chapter 04 reads are made in :mod:`coursekit.mel`.

librosa is imported inside the functions that need it, so ``import
coursekit.audio`` stays quick; the first estimate in a session compiles
librosa's numba code (a few seconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .loudness import integrated_loudness
from .synth import SR

if TYPE_CHECKING:  # imported where a table is made: a spectrogram worker never needs pandas (65 MB)
    import pandas as pd

__all__ = [
    "SR",
    "Attributes",
    "integrated_loudness",
    "KK_MAJOR",
    "KK_MINOR",
    "MIN_SECONDS",
    "key_scores",
    "MUSIC_THRESHOLD",
    "PREFERRED_TEMPO",
    "music_score",
    "estimate_attributes",
    "estimate_many",
    "attribute_accuracy",
    "key_confusion",
    "CLIPPED_SHARE",
    "clipped_share",
    "load_audio",
    "check_audio",
]

# ----------------------------------------------------------------------------
# Reading audio files
# ----------------------------------------------------------------------------


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
    y, _ = check_audio(data.T, rate, min_seconds=0.0, needs="")
    if int(sr) != SR:
        import librosa

        y = librosa.resample(y, orig_sr=SR, target_sr=int(sr))
    return y


# ----------------------------------------------------------------------------
# Estimating the attributes back from audio
# ----------------------------------------------------------------------------

#: Krumhansl–Kessler probe-tone profiles of C major and C minor (Krumhansl 1990).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_SECONDS = 1.0  #: shortest clip the estimators accept, seconds
#: Share of flat-topped samples (:func:`clipped_share`) above which a clip counts as clipped.
CLIPPED_SHARE = 0.01
#: :func:`music_score` below which a clip is taken for not music (speech, animals, noise).
MUSIC_THRESHOLD = 0.5
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
        Integrated loudness, LUFS (:func:`integrated_loudness`, on the
        channels as given); ``-inf`` for silence. Measured for any sound.
    time_signature : int
        Beats per bar as the world writes it: 3 for a triple metre, 4 for a
        duple one (2/4 and 4/4 alike); -1 when unknown.
    tempo_confidence : float
        0..1: how far the chosen beat period's salience exceeds that of its
        half and double (near 0: the tempo could as well be half or double).
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
    metre : str
        ``"duple"`` (beats grouped in twos or fours: 2/4, 4/4, 2/2, 6/8),
        ``"triple"`` (threes: 3/4, 3/8, 9/8) or ``""`` when unknown.
    beat_division : int
        How the beat divides: 2 (simple metre: 2/4, 3/4, 4/4) or 3 (compound:
        6/8, 9/8, 12/8, whose beat is a dotted note); -1 when unknown. So 3/4
        is ``metre="triple", beat_division=2`` and 6/8 (at the dotted-quarter
        beat) ``metre="duple", beat_division=3``.
    music_score : float
        0..1, is this music? (:func:`music_score`); below
        :data:`MUSIC_THRESHOLD` tempo, key, mode and metre are left unknown;
        NaN for silence.
    beat_strength : float
        0..1, how strongly the onsets repeat at one beat period.
    tonal_clarity : float
        0..1, how much the sound holds steady pitch classes.
    pitch_variety : float
        1..12, the effective number of pitch classes over the clip (a held
        tone about 1–2, a tune or chord progression 6–11).
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
    metre: str = ""
    beat_division: int = -1
    music_score: float = float("nan")
    beat_strength: float = float("nan")
    tonal_clarity: float = float("nan")
    pitch_variety: float = float("nan")


def check_audio(y, sr, *, min_seconds: float = MIN_SECONDS,
                 needs: str = "the estimators need at least 1 s (a few beats)",
                 channels: bool = False) -> tuple[np.ndarray, int]:
    """Validate a clip; return it float32 at ``SR`` Hz, mono (or channels first with ``channels``).

    Integer PCM is scaled to full scale = 1, channels-first stereo is averaged
    (unless ``channels``), another sample rate is resampled; a missing
    ``sr``, floats far beyond full scale (integer PCM stored as floats), NaN
    or infinite samples, an unknown layout, a bad ``sr`` or a clip shorter
    than ``min_seconds`` (``needs`` says why) raise ``ValueError``.
    """
    if sr is None:
        raise ValueError("sr is required: give the sample rate of y in Hz (coursekit.synth.SR = 22050 for the "
                         "world's clips); load_audio(path) reads a file at 22050 Hz whatever its own rate")
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
        y = y if channels else y.mean(axis=0)
    elif y.ndim != 1:
        hint = ("; it looks like (samples, channels): transpose it, y.T" if y.ndim == 2 and y.shape[1] <= 8 else "")
        raise ValueError(f"y must be mono, shape (samples,), or (channels, samples); got shape {y.shape}{hint}")
    elif channels:
        y = y[None, :]
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"y has {int(bad.sum())} NaN or infinite samples out of {y.size}; repair them "
                         f"first, e.g. np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)")
    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak > 8.0:
        raise ValueError(f"y peaks at {peak:.0f}, far above full scale (1.0): it looks like integer PCM stored "
                         f"as floats; divide it by 32768 (16-bit) or 2**31 (32-bit) first")
    if y.shape[-1] < min_seconds * sr:
        raise ValueError(f"the clip is {y.shape[-1] / sr:.2f} s long; {needs}: give a longer clip")
    y = y.astype(np.float32)
    if sr != SR:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=SR, axis=-1)
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


def _pulse_and_tonality(onset_env: np.ndarray, chroma_long: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """The onset autocorrelation (lag 0 = 1), beat strength, tonal clarity and pitch variety of a clip."""
    import librosa

    e = onset_env - onset_env.mean()
    ac = librosa.autocorrelate(e)
    ac = ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)
    lo, hi = int(0.25 * SR / _HOP), int(1.5 * SR / _HOP) + 1  # beat periods of 240..40 BPM
    beat_strength = float(np.clip(ac[lo:hi].max(), 0.0, 1.0)) if ac.size > lo else 0.0
    # tonal clarity: how concentrated each frame's chroma is (1 - normalised entropy) times how
    # steady it stays (cosine between frames 0.37 s apart); medians over the clip
    energy = chroma_long.sum(axis=0)
    loud = energy > 1e-3 * energy.max()
    C = chroma_long[:, loud] if loud.sum() >= 5 else chroma_long
    p = C / (C.sum(axis=0, keepdims=True) + 1e-12)
    concentration = 1.0 - np.median(-(p * np.log(p + 1e-12)).sum(axis=0)) / np.log(12)
    u = C / (np.linalg.norm(C, axis=0, keepdims=True) + 1e-12)
    steadiness = np.median(np.sum(u[:, 4:] * u[:, :-4], axis=0)) if u.shape[1] > 4 else 1.0
    # pitch variety: the effective number of pitch classes (exp of the entropy, 1..12) of the clip's
    # mean chroma, each frame scaled to its loudest class: a held tone or chord uses 1-4, a tune more
    m = (C / (C.max(axis=0, keepdims=True) + 1e-12)).mean(axis=1)
    q = m / (m.sum() + 1e-12)
    variety = float(np.exp(-(q * np.log(q + 1e-12)).sum()))
    return ac, beat_strength, float(np.clip(concentration * steadiness, 0.0, 1.0)), variety


def music_score(beat_strength: float, tonal_clarity: float, pitch_variety: float) -> float:
    """Is this music? A score 0..1 from beat strength, tonal clarity and pitch variety.

    ``v * max(sqrt(b * t), h)`` with

    - ``b = clip((beat_strength - 0.2) / 0.4, 0, 1)``: a beat that repeats
      (the onset envelope's autocorrelation at one period of 40–240 BPM,
      relative to lag 0);
    - ``t = clip((tonal_clarity - 0.02) / 0.1, 0, 1)``: pitch classes that the
      sound holds (chroma concentrated in few classes and steady over a third
      of a second);
    - ``h = clip((tonal_clarity - 0.08) / 0.06, 0, 1)``: tonality clear enough
      to count without a beat (quiet classical or folk pieces, rubato, ambient);
    - ``v = clip((pitch_variety - 3.5) / 2, 0, 1)``: more than a held tone or
      chord (the effective number of pitch classes over the clip, 1..12).

    So music needs a beat and some tonality, or clear tonality alone, and in
    both cases a tune or harmony that moves. Noise has no steady pitch; speech
    and animal calls have gliding pitch and an irregular rhythm; a chirp
    glides; a metronome has no pitch; a sine, a tone with vibrato or a held
    chord has a clear pitch but too few pitch classes. Measured in
    ``benchmarks/audio.py``: of the world's clips (real style), rendered Bach
    chorales and fiddle tunes, almost all score above 0.5; white, pink and
    brown noise, a chirp, a sine, a sine with vibrato, two held sines, a
    harmonic tone, a metronome, clicks and recorded speech score below 0.5.

    The limits are those of the cues: unpitched percussion alone, or a drone,
    scores low and is refused; a strongly rhythmic chant or a bird that sings
    a varied, steady-pitched phrase may pass.

    Parameters
    ----------
    beat_strength, tonal_clarity : float
        As in :class:`Attributes`, 0..1.
    pitch_variety : float
        As in :class:`Attributes`, 1..12.

    Returns
    -------
    float
        0..1; below :data:`MUSIC_THRESHOLD` a clip is taken for not music.

    Examples
    --------
    >>> music_score(0.75, 0.2, 9.0), music_score(0.12, 0.0, 12.0), round(music_score(0.28, 0.05, 9.0), 2)
    (1.0, 0.0, 0.24)
    >>> music_score(0.1, 0.3, 9.0), music_score(0.9, 0.7, 2.0)  # a quiet tune without a beat; a held tone
    (1.0, 0.0)
    """
    b = float(np.clip((beat_strength - 0.2) / 0.4, 0.0, 1.0))
    t = float(np.clip((tonal_clarity - 0.02) / 0.1, 0.0, 1.0))
    h = float(np.clip((tonal_clarity - 0.08) / 0.06, 0.0, 1.0))
    v = float(np.clip((pitch_variety - 3.5) / 2.0, 0.0, 1.0))
    return float(v * max(np.sqrt(b * t), h))


def estimate_attributes(y: np.ndarray, sr: int | None = None, *, start_bpm: float = 120.0,
                        music_threshold: float = MUSIC_THRESHOLD) -> Attributes:
    """Estimate tempo, key, mode, loudness and metre of a clip, and whether it is music.

    - is it music: :func:`music_score` from the beat strength, the tonal
      clarity and the pitch variety. Below ``music_threshold`` the clip is taken for speech, an
      animal or noise: tempo, key, mode and metre are left unknown (NaN /
      -1 / ``""``), ``reason`` says why, and a ``UserWarning`` is issued.
    - tempo: the onset-strength envelope (spectral flux of a log-mel
      spectrogram) is beat-tracked by dynamic programming
      (:func:`librosa.beat.beat_track`, a log-normal tempo prior around
      ``start_bpm``). Then the octave is decided, as madmom and Essentia do
      with their comb filters: the tracked period, its half and its double
      are each scored by the onset autocorrelation at 1, 2, 3 and 4 times
      the period (a true beat repeats at all of them) times a broad prior
      (one octave) around :data:`PREFERRED_TEMPO` (100 BPM), the same
      whatever ``start_bpm``; the best is beat-tracked again at that tempo,
      and the tempo is the slope of a line through the beat times. The
      confidence is 1 - runner-up / best.
    - key and mode: the mean chromagram (8192-sample windows, concert pitch
      A4 = 440 Hz assumed) is correlated with the 24 Krumhansl–Kessler
      profiles (:func:`key_scores`); the confidence is the best correlation
      minus the runner-up's.
    - loudness: :func:`integrated_loudness` on the channels as given (LUFS).
    - metre: every beat gets an accent (onset strength, onset strength below
      200 Hz, and the change of chroma from the previous beat, each
      standardised); for 2, 3 and 4 beats per bar and each phase, the mean
      accent of the would-be downbeats minus that of the other beats; duple
      (the better of 2 and 4) against triple (3). The beat's division is 3
      (compound metre) when the onset autocorrelation is higher at a third of
      the beat than at a half, else 2.

    Parameters
    ----------
    y : ndarray, shape (samples,) or (channels, samples)
        The clip, full scale = 1 (integer PCM is scaled by its full scale);
        several channels (first axis, as librosa loads them) are measured
        together for the loudness and averaged for the rest.
    sr : int
        Sample rate of ``y``, Hz (required: a wrong rate gives wrong tempi
        and keys); other rates than 22050 Hz are resampled.
    start_bpm : float, optional
        Where the beat tracker starts looking, beats per minute (the octave
        decision does not depend on it).
    music_threshold : float, optional
        :func:`music_score` below which the clip is taken for not music; 0
        estimates everything whatever the clip.

    Returns
    -------
    Attributes
        Unknown fields (-1, NaN or ``""``) come with a ``reason``: silence
        (every 400 ms block below -70 LUFS: only the loudness, ``-inf``, is
        reported), not music, or too few beats. ``clipped`` is reported but
        does not change the estimates: check ``est.clipped > CLIPPED_SHARE``.

    Raises
    ------
    ValueError
        If ``sr`` is missing, the clip is shorter than 1 s, has NaN or infinite
        samples, looks like integer PCM stored as floats (peak above 8), is
        not shaped (samples,) or (channels, samples), or ``sr`` is not a whole
        number of at least 8000 Hz.

    See Also
    --------
    estimate_many, attribute_accuracy, music_score

    Examples
    --------
    >>> from coursekit.synth import render_track
    >>> y = render_track(genre="rock", tempo=128.0, key=4, mode=0, loudness=-8.0, time_signature=4)
    >>> est = estimate_attributes(y, SR)
    >>> round(est.tempo), est.key, est.mode, est.time_signature, est.metre, round(est.loudness, 1)
    (131, 4, 0, 4, 'duple', -8.0)

    The world's audio is a performed take whose tempo drifts a little: 131 BPM
    is within 4 % of the 128 it was played at.
    """
    from threadpoolctl import threadpool_limits

    if not (isinstance(start_bpm, (int, float, np.number)) and 30.0 <= start_bpm <= 300.0):
        raise ValueError(f"start_bpm must be 30..300 beats per minute, got {start_bpm!r}")
    if not (isinstance(music_threshold, (int, float, np.number)) and 0.0 <= music_threshold <= 1.0):
        raise ValueError(f"music_threshold must be 0..1, got {music_threshold!r}")
    channels, sr = check_audio(y, sr, channels=True)
    # the matrices are small: one BLAS thread is fastest, and on a busy
    # machine more threads mostly wait for each other
    with threadpool_limits(limits=1, user_api="blas"):
        est = _estimate(channels, sr, float(start_bpm), float(music_threshold))
    if est.reason.startswith("not music"):
        import warnings

        warnings.warn(f"this clip does not sound like music ({est.reason}); tempo, key, mode and metre are "
                      f"left unknown (music_threshold=0 estimates them anyway)", UserWarning, stacklevel=2)
    return est


def _estimate(channels: np.ndarray, sr: int, start_bpm: float, music_threshold: float) -> Attributes:
    import librosa

    loudness = integrated_loudness(channels, sr=sr)
    y = channels.mean(axis=0)
    if not np.isfinite(loudness):
        return Attributes(float("nan"), -1, -1, loudness, -1, reason="silent: every 400 ms block is below -70 LUFS")
    reasons = []
    mel_fb, chroma_fb, chroma_fb_long, mel_freqs = _filterbanks(sr)
    S = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP)) ** 2  # power spectrogram
    log_mel = librosa.power_to_db(mel_fb @ S, ref=np.max)
    onset_env = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=_HOP)
    S_long = np.abs(librosa.stft(y, n_fft=_N_FFT_CHROMA, hop_length=_N_FFT_CHROMA // 4)) ** 2
    chroma_long = chroma_fb_long @ S_long
    ac, beat_strength, tonal_clarity, pitch_variety = _pulse_and_tonality(onset_env, chroma_long)
    score = music_score(beat_strength, tonal_clarity, pitch_variety)
    common = dict(loudness=loudness, clipped=clipped_share(y), music_score=score, beat_strength=beat_strength,
                  tonal_clarity=tonal_clarity, pitch_variety=pitch_variety)
    if score < music_threshold:
        return Attributes(float("nan"), -1, -1, time_signature=-1, **common,
                          reason=f"not music: music score {score:.2f} < {music_threshold:.2f} (beat strength "
                                 f"{beat_strength:.2f}, tonal clarity {tonal_clarity:.2f}, pitch variety "
                                 f"{pitch_variety:.1f})")

    # tempo: dynamic-programming beat tracking, then the octave decision on the comb salience
    bpm, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=_HOP,
                                         start_bpm=start_bpm, units="frames")
    bpm = float(np.atleast_1d(bpm)[0])
    tempo_conf = 0.0
    if bpm > 0:
        best, tempo_conf = _octave(ac, bpm)
        if abs(best / bpm - 1) > 0.01:
            bpm, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=_HOP, bpm=best,
                                                 units="frames")
            bpm = float(np.atleast_1d(bpm)[0])
    if beats.size >= 4:
        bpm = _refined_tempo(onset_env, beats, sr)
    else:
        reasons.append(f"only {beats.size} beats tracked: tempo from the tempogram alone")

    # key: the mean chromagram against the 24 key profiles
    chroma_mean = librosa.util.normalize(chroma_long, norm=np.inf, axis=0).mean(axis=1)
    scores = key_scores(chroma_mean)
    runner_up, best_key = np.argsort(scores.ravel())[-2:]
    mode, key = 1 - best_key // 12, best_key % 12
    key_conf = float(np.clip(scores.ravel()[best_key] - scores.ravel()[runner_up], 0.0, 1.0))

    # metre: the periodicity of the beat accents; the beat's division from the onset autocorrelation
    division = _beat_division(ac, bpm) if bpm > 0 else -1
    if beats.size >= 7:
        low_env = librosa.onset.onset_strength(S=log_mel[mel_freqs < 200], sr=sr, hop_length=_HOP)
        chroma = librosa.util.normalize(chroma_fb @ S, norm=np.inf, axis=0)
        ts, ts_conf = _metre(_beat_accents(onset_env, low_env, chroma, beats))
    else:
        ts, ts_conf = -1, 0.0
        reasons.append(f"only {beats.size} beats tracked: too few for the metre (7 needed)")
    return Attributes(tempo=bpm, key=int(key), mode=int(mode), time_signature=ts,
                      tempo_confidence=tempo_conf, key_confidence=key_conf,
                      time_signature_confidence=ts_conf, reason="; ".join(reasons),
                      metre={3: "triple", 4: "duple"}.get(ts, ""), beat_division=division, **common)


def _salience(ac: np.ndarray, period: float) -> float:
    """Comb salience of a beat period (frames): mean onset autocorrelation at 1..4 periods."""
    lags = period * np.arange(1, 5)
    lags = lags[lags < ac.size - 1]
    return float(np.mean(np.interp(lags, np.arange(ac.size), ac))) if lags.size else 0.0


#: Centre of the tempo octave decision's prior, beats per minute, one octave wide: near the
#: tempo listeners tap most readily (100-120 BPM, Moelants 2002); 100 was best on the world's
#: clips and on rendered chorales (benchmarks/audio.py), 120 doubled slow pieces more often.
PREFERRED_TEMPO = 100.0


def _octave(ac: np.ndarray, bpm: float, std_octaves: float = 1.0) -> tuple[float, float]:
    """The tempo among ``bpm``, its half and its double whose prior-weighted comb salience is highest.

    The prior is centred on :data:`PREFERRED_TEMPO`, not on the tracker's
    ``start_bpm``, so the decision does not follow the caller's guess.
    Returns the tempo and the confidence ``1 - runner-up / best`` (0..1).
    """
    candidates = [t for t in (bpm / 2, bpm, bpm * 2) if 30.0 <= t <= 300.0]
    weights = []
    for t in candidates:
        prior = np.exp(-0.5 * (np.log2(t / PREFERRED_TEMPO) / std_octaves) ** 2)
        weights.append(max(_salience(ac, 60.0 * SR / (_HOP * t)), 0.0) * prior)
    order = np.argsort(weights)[::-1]
    best = weights[order[0]]
    if best <= 0:
        return bpm, 0.0
    runner_up = weights[order[1]] if len(order) > 1 else 0.0
    return candidates[order[0]], float(np.clip(1.0 - runner_up / best, 0.0, 1.0))


def _beat_division(ac: np.ndarray, bpm: float) -> int:
    """3 when the onsets repeat more at a third of the beat than at a half (compound metre), else 2."""
    period = 60.0 * SR / (_HOP * bpm)
    half, third = (float(np.interp(period / d, np.arange(ac.size), ac)) for d in (2, 3))
    return 3 if third > half else 2


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
    """Duple (4) or triple (3): whose downbeats stand out most from the beat accents.

    Duple takes the better of bars of 2 and of 4 beats, so 2/4 and 4/4 are both duple.
    """
    contrast = {}
    for m in (2, 3, 4):
        contrast[m] = max(accent[phase::m].mean() - np.delete(accent, np.s_[phase::m]).mean()
                          for phase in range(m))
    duple = max(contrast[2], contrast[4])
    ts = 3 if contrast[3] > duple else 4
    return ts, float(np.clip(abs(contrast[3] - duple) / 2, 0.0, 1.0))


def estimate_many(clips, sr: int | None = None, **kwargs) -> pd.DataFrame:
    """:func:`estimate_attributes` for many clips, one row each.

    Parameters
    ----------
    clips : ndarray, shape (n_clips, samples), or iterable of arrays
        The clips, e.g. from :func:`coursekit.synth.render_tracks`.
    sr : int
        Sample rate, Hz (required).
    **kwargs
        Passed on to :func:`estimate_attributes` (e.g. ``start_bpm``).

    Returns
    -------
    pandas.DataFrame
        One row per clip, in order, with the fields of :class:`Attributes`
        as columns (``tempo, key, mode, loudness, time_signature``, the
        confidences, ``reason``, ``clipped``, ``metre``, ``beat_division``
        and the music score with its two cues).
    """
    from dataclasses import asdict

    if isinstance(clips, np.ndarray) and clips.ndim != 2:
        raise ValueError(f"clips must be shaped (n_clips, samples), got shape {clips.shape}; "
                         f"for one clip use estimate_attributes(y, sr) or estimate_many([y], sr)")
    if sr is None:
        raise ValueError("sr is required: give the sample rate of the clips in Hz (coursekit.synth.SR = 22050 "
                         "for the world's clips), e.g. estimate_many(clips, sr)")
    rows = [asdict(estimate_attributes(y, sr, **kwargs)) for y in clips]
    columns = list(Attributes.__dataclass_fields__)
    import pandas as pd

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
    >>> import pandas as pd
    >>> t = pd.DataFrame({"tempo": [120.0], "key": [9], "mode": [0], "time_signature": [3],
    ...                   "loudness": [-10.0]})
    >>> e = t.assign(tempo=[61.0], key=[0], mode=[1])
    >>> attribute_accuracy(t, e).loc["all", ["tempo", "tempo_octave", "key_mode", "key_relative"]].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    import pandas as pd

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
    import pandas as pd

    table = pd.crosstab(pd.Series(mode, name="true mode"), pd.Series(relation, name="estimate"))
    return table.reindex(index=["major", "minor"], columns=columns, fill_value=0)
