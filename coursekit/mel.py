"""Log-mel spectrograms: the picture of a clip that chapter 04's CNN reads.

One job: turn audio into log-mel spectrograms (time × mel bands, absolute dB).
:func:`log_mel_spectrogram` does it for one clip; :func:`mel_spectrograms`
renders the world's tracks (:mod:`coursekit.synth`) and does it for many,
in parallel worker processes when there are many, cached on disk as small
float16 ``.npy`` files (the waveforms are not kept; a cached file is keyed by
the track's attributes, the synthesiser version and :data:`MEL_VERSION`).
Reading audio files and estimating attributes live in :mod:`coursekit.audio`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import check_audio
from .synth import SR, DEFAULT_DURATION, check_track, clip_name, default_cache_dir, render_track

__all__ = [
    "MEL_BANDS",
    "MEL_N_FFT",
    "MEL_HOP",
    "MEL_FLOOR_DB",
    "MEL_VERSION",
    "mel_frequencies",
    "log_mel_spectrogram",
    "mel_spectrograms",
]

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


@lru_cache(maxsize=4)
def _mel_filters_interleaved(n_mels: int, n_fft: int) -> np.ndarray:
    """The filter bank for interleaved (re, im) spectra: each bin's weight twice, shape (2 * bins, n_mels).

    ``X.view(float32) ** 2 @ W`` sums weight x (re² + im²) = weight x |X|² per band,
    the mel power without forming |X|² first.
    """
    return np.ascontiguousarray(np.repeat(_mel_filters(n_mels, n_fft), 2, axis=1).T)


@lru_cache(maxsize=4)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window, float32 (``scipy.signal.get_window("hann", n_fft)``, without importing scipy.signal)."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _log_mel(Y: np.ndarray, n_mels: int = MEL_BANDS, n_fft: int = MEL_N_FFT,
             hop_length: int = MEL_HOP) -> np.ndarray:
    """Log-mel spectrograms of clips at SR, ``Y`` shaped (..., samples) -> (..., frames, n_mels), float32.

    All in float32 and in place where possible: the windowed frames are one
    copy, the FFT overwrites nothing else, and the power spectrum is never
    formed (see :func:`_mel_filters_interleaved`).
    """
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.fft import rfft

    from threadpoolctl import threadpool_limits

    frames = sliding_window_view(np.asarray(Y, dtype=np.float32), n_fft, axis=-1)[..., ::hop_length, :]
    spectrum = rfft(frames * _hann(n_fft), axis=-1, overwrite_x=True)  # STFT, complex64
    parts = spectrum.view(np.float32)  # (re, im) pairs
    np.square(parts, out=parts)
    with threadpool_limits(limits=1, user_api="blas"):  # a small product: threads only wait for each other
        mel = parts @ _mel_filters_interleaved(n_mels, n_fft)  # Σ weight |STFT|² per band
    np.maximum(mel, 1e-30, out=mel)
    np.log10(mel, out=mel)
    mel *= 10.0
    return np.maximum(mel, MEL_FLOOR_DB, out=mel)


def log_mel_spectrogram(y: np.ndarray, sr: int | None = None, *, n_mels: int = MEL_BANDS, n_fft: int = MEL_N_FFT,
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
    sr : int
        Sample rate of ``y``, Hz (required); other rates than 22050 Hz are resampled first.
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
    >>> from coursekit.synth import render_track
    >>> y = render_track(genre="pop", tempo=120.0, key=0, mode=1, loudness=-8.0, time_signature=4,
    ...                  duration=3.0)
    >>> log_mel_spectrogram(y, SR).shape
    (128, 64)
    """
    y, _ = check_audio(y, sr, min_seconds=n_fft / SR,
                        needs=f"a log-mel spectrogram needs at least one frame of {n_fft} samples "
                              f"({1000 * n_fft / SR:.0f} ms)")
    if y.size < n_fft:  # resampling may shave a sample off
        y = np.pad(y, (0, n_fft - y.size))
    return _log_mel(y, n_mels, n_fft, hop_length)


def _mel_cache_name(a: dict, duration: float, n_mels: int, n_fft: int, hop_length: int) -> str:
    """File name of a track's cached log-mel spectrogram: track id and a hash of what shapes it."""
    clip = clip_name(a, duration=duration, sr=SR)[:-4]  # synthesiser version, attributes, duration
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
# A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent exits
# (prctl PR_SET_PDEATHSIG); everywhere a watchdog thread exits once the parent is gone
# (the worker is handed to another parent). Either way it stops writing to the cache.
_WORKER = ("import os, sys, threading, time\n"
           "parent = int(sys.argv[1])\n"
           "if sys.platform.startswith('linux'):\n"
           "    import ctypes, signal\n"
           "    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG\n"
           "def watch():\n"
           "    while os.getppid() == parent:\n"
           "        time.sleep(0.2)\n"
           "    os._exit(1)\n"
           "threading.Thread(target=watch, daemon=True).start()\n"
           "import json\n"
           "import numpy as np\n"
           "from pathlib import Path\n"
           "from coursekit.mel import _mel_batch\n"
           "for rows, duration, n_mels, n_fft, hop, paths in json.load(sys.stdin):\n"
           "    paths = [None if p is None else Path(p) for p in paths]\n"
           "    np.save(sys.stdout.buffer, _mel_batch(rows, duration, n_mels, n_fft, hop, paths), allow_pickle=False)\n")


def _plain(value):
    """JSON for the numpy scalars in a table's records (exact: int64 -> int, float64 -> float)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to a spectrogram worker")


def _in_workers(jobs: list, n_workers: int) -> list:
    """``[_mel_batch(*job) for job in jobs]``, shared out to this process and ``n_workers - 1`` fresh ones.

    Each worker is a new interpreter (``python -c``) that reads its jobs as JSON
    from stdin and writes each batch's spectrograms to stdout as ``.npy``
    (``allow_pickle=False``): unlike ``multiprocessing`` it re-runs nothing of
    the caller's script and inherits no threads (e.g. TensorFlow's), so it works
    from a script, a notebook or a test alike, and nothing that passes between
    the processes can run code. A worker dies with its parent (killed,
    interrupted or ended by SIGTERM), so no orphan keeps computing.
    """
    import io
    import json
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    shares = [jobs[k::n_workers] for k in range(n_workers)]

    def run(k):
        share = shares[k]
        if k == 0:   # the parent computes one share itself: one process fewer to hold in memory
            return [_mel_batch(*job) for job in share]
        payload = json.dumps([(rows, duration, n_mels, n_fft, hop, [None if p is None else str(p) for p in paths])
                              for rows, duration, n_mels, n_fft, hop, paths in share], default=_plain)
        proc = subprocess.run([sys.executable, "-c", _WORKER, str(os.getpid())], input=payload.encode(),
                              capture_output=True, env=env)
        if proc.returncode:
            raise RuntimeError(f"a spectrogram worker failed:\n{proc.stderr.decode(errors='replace')[-3000:]}")
        stream = io.BytesIO(proc.stdout)
        return [np.load(stream, allow_pickle=False) for _ in share]

    with ThreadPoolExecutor(n_workers) as threads:  # one thread computes, the others wait for their process
        results = list(threads.map(run, range(n_workers)))
    return [results[k % n_workers][k // n_workers] for k in range(len(jobs))]


def mel_spectrograms(tracks: pd.DataFrame, *, duration: float = DEFAULT_DURATION, n_mels: int = MEL_BANDS,
                     n_fft: int = MEL_N_FFT, hop_length: int = MEL_HOP, cache: bool = True,
                     cache_dir: str | os.PathLike | None = None, n_jobs: int = 1, progress=None) -> np.ndarray:
    """Log-mel spectrograms of many tracks' clips, reading and filling an on-disk cache.

    Each track is rendered (:func:`coursekit.synth.render_track`, at 22050 Hz) and turned
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
        Rows of the ``tracks`` table, as :func:`coursekit.synth.render_tracks` takes them.
    duration : float, optional
        Clip length, seconds.
    n_mels, n_fft, hop_length : int, optional
        As in :func:`log_mel_spectrogram`.
    cache : bool, optional
        Read and write the cache; ``False`` computes everything in memory.
    cache_dir : path or None, optional
        Cache folder (the spectrograms go to its ``mel`` subfolder); ``None``
        means :func:`coursekit.synth.default_cache_dir`.
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
    log_mel_spectrogram, coursekit.synth.render_tracks
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
        a = check_track(row)  # checks every row first: a bad one fails before any work
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
