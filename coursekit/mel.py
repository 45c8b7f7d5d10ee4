"""Log-mel spectrograms: the picture of a clip that chapter 04's CNN reads.

One job: turn audio into log-mel spectrograms (time × mel bands, absolute dB).
:func:`log_mel_spectrogram` does it for one clip; :func:`mel_spectrograms`
renders the world's tracks (:mod:`coursekit.synth`) and does it for many,
in parallel worker processes when there are many (started ahead of time by
:func:`prefetch_mel_spectrograms`, if wanted), cached on disk as small
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
from typing import TYPE_CHECKING

import numpy as np

from .audio import check_audio
from .synth import SR, DEFAULT_DURATION, _render_batch, check_track, clip_name, default_cache_dir

if TYPE_CHECKING:  # imported where a table is made: a spectrogram worker never needs pandas (65 MB)
    import pandas as pd

__all__ = [
    "MEL_BANDS",
    "MEL_N_FFT",
    "MEL_HOP",
    "MEL_FLOOR_DB",
    "MEL_VERSION",
    "mel_frequencies",
    "log_mel_spectrogram",
    "mel_spectrograms",
    "prefetch_mel_spectrograms",
    "render_order",
    "some_mel_spectrograms",
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


#: Clips rendered and analysed together inside a batch of :func:`_mel_batch`.
_PART = 16


def _mel_batch(rows: list, duration: float, n_mels: int, n_fft: int, hop_length: int, paths: list) -> np.ndarray:
    """Render and analyse a batch of tracks; write each spectrogram to its path (if any). float16.

    :data:`_PART` clips at a time, so that the buffers stay small (a process that computes
    batches, the notebook's kernel too, peaked about 0.1 GB higher with 64 at a time).
    """
    mels = np.concatenate([_log_mel(_render_batch(rows[k: k + _PART], duration=duration),  # rooms' FFTs together
                                    n_mels, n_fft, hop_length).astype(np.float16)
                           for k in range(0, max(len(rows), 1), _PART)])  # no rows: one empty part
    for path, m in zip(paths, mels):
        if path is not None:
            _write_mel(path, m)
    return mels


_MIN_PARALLEL = 400  # fewer spectrograms to compute than this: starting workers costs more than it saves
# A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent exits
# (prctl PR_SET_PDEATHSIG); everywhere a watchdog thread exits once the parent is gone
# (the worker is handed to another parent). Either way it stops writing to the cache.
# It reads one batch a line (JSON) and answers each with its length (8 bytes) and the .npy bytes.
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
           "import io, json\n"
           "import numpy as np\n"
           "from pathlib import Path\n"
           "from coursekit.mel import _mel_batch\n"
           "out = sys.stdout.buffer\n"
           "for line in sys.stdin.buffer:\n"
           "    rows, duration, n_mels, n_fft, hop, paths = json.loads(line)\n"
           "    paths = [None if p is None else Path(p) for p in paths]\n"
           "    buffer = io.BytesIO()\n"
           "    np.save(buffer, _mel_batch(rows, duration, n_mels, n_fft, hop, paths), allow_pickle=False)\n"
           "    out.write(len(buffer.getvalue()).to_bytes(8, 'little') + buffer.getvalue())\n"
           "    out.flush()\n")


def _plain(value):
    """JSON for the numpy scalars in a table's records (exact: int64 -> int, float64 -> float)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to a spectrogram worker")


class _Pool:
    """``[_mel_batch(*job) for job in jobs]``, shared out a batch at a time to this process and worker processes.

    Each of ``n_workers`` threads starts a worker, a new interpreter
    (``python -c``), and feeds it one batch after another as JSON lines;
    the worker answers each with the batch's spectrograms as ``.npy``
    (``allow_pickle=False``). Unlike ``multiprocessing`` it re-runs nothing of
    the caller's script and inherits no threads (e.g. TensorFlow's), so it
    works from a script, a notebook or a test alike, and nothing that passes
    between the processes can run code. A worker dies with its parent
    (killed, interrupted or ended by SIGTERM), so no orphan keeps computing.

    The workers start at once and take batches from a shared queue;
    :meth:`run` makes this process take them too until none is left, then
    collects the results. Started early (:func:`prefetch_mel_spectrograms`),
    the workers compute while this process does other work, and whoever is
    free takes the next batch, so nobody waits for a slow share at the end.
    """

    def __init__(self, jobs: list, n_workers: int, *, parent_first: bool = True):
        import collections
        import threading

        self.jobs = jobs
        self.results = [None] * len(jobs)
        self.errors = []
        self._queue = collections.deque(range(len(jobs)))
        self._lock = threading.Lock()
        # the parent's first batch is its own, so a few batches are shared out the same way every time
        self._parent_first = self._take() if parent_first else None
        self._threads = [threading.Thread(target=self._feed, daemon=True) for _ in range(n_workers)]
        for thread in self._threads:
            thread.start()

    def _take(self):
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _feed(self) -> None:
        """Run one worker: start it, send it batches while there are any, read back each result."""
        import io
        import json
        import subprocess
        import sys

        k = self._take()
        if k is None:
            return
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(os.getpid())], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=stderr, env=env)
            try:
                while k is not None:
                    rows, duration, n_mels, n_fft, hop, paths = self.jobs[k]
                    line = json.dumps([rows, duration, n_mels, n_fft, hop,
                                       [None if p is None else str(p) for p in paths]], default=_plain)
                    proc.stdin.write(line.encode() + b"\n")
                    proc.stdin.flush()
                    size = proc.stdout.read(8)
                    data = proc.stdout.read(int.from_bytes(size, "little")) if len(size) == 8 else b""
                    if len(size) < 8 or len(data) < int.from_bytes(size, "little"):
                        raise OSError("the worker stopped")
                    self.results[k] = np.load(io.BytesIO(data), allow_pickle=False)
                    k = self._take()
            except BaseException as exc:  # e.g. the worker died: the error names it, with its last words
                with self._lock:  # the others stop after their current batch
                    self._queue.clear()
                proc.kill()
                proc.wait()
                stderr.seek(0)
                self.errors.append(f"{exc}\n{stderr.read().decode(errors='replace')[-3000:]}")
            finally:
                if proc.poll() is None:
                    proc.stdin.close()
                    proc.wait()

    def run(self) -> list:
        """Compute batches here too until none is left; wait for the workers; the results in order."""
        k = self._parent_first if self._parent_first is not None else self._take()
        self._parent_first = None
        try:
            while k is not None:
                self.results[k] = _mel_batch(*self.jobs[k])
                k = self._take()
        except BaseException:  # e.g. interrupted: the workers stop after their current batch
            self.close()
            raise
        for thread in self._threads:
            thread.join()
        if self.errors:
            raise RuntimeError(f"a spectrogram worker failed: {self.errors[0]}")
        return self.results

    def run_until(self, needed) -> None:
        """Compute the ``needed`` jobs here too, and wait until they are done; the workers go on with the rest.

        This process takes only needed batches from the queue (the first one
        queued each time), then waits for those the workers hold.
        """
        import time

        needed = set(needed)
        while True:
            with self._lock:
                k = next((j for j in self._queue if j in needed), None)
                if k is not None:
                    self._queue.remove(k)
            if k is not None:
                try:
                    self.results[k] = _mel_batch(*self.jobs[k])
                except BaseException:
                    self.close()
                    raise
                continue
            if self.errors:
                self.close()
                raise RuntimeError(f"a spectrogram worker failed: {self.errors[0]}")
            alive = any(thread.is_alive() for thread in self._threads)  # read before the results: no race
            if all(self.results[j] is not None for j in needed):
                return
            if not alive:
                raise RuntimeError("the spectrogram workers stopped before finishing their batches")
            time.sleep(0.005)

    def close(self) -> None:
        """Stop handing out batches and wait for the workers to finish the ones they hold."""
        if _BACKGROUND.get(getattr(self, "key", None)) is self:
            del _BACKGROUND[self.key]
        with self._lock:
            self._queue.clear()
        for thread in self._threads:
            thread.join()


# Worker pools started by prefetch_mel_spectrograms, by what they compute; mel_spectrograms joins one.
_BACKGROUND: dict = {}


def _plan(tracks: pd.DataFrame, duration: float, n_mels: int, n_fft: int, hop_length: int, cache: bool,
          cache_dir, n_jobs: int):
    """Check the arguments and every row; the cache files, the output shape, the checked n_jobs."""
    n = int(round(duration * SR))
    if n < n_fft:
        raise ValueError(f"duration = {duration} s is shorter than one frame of {n_fft} samples")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive number of processes or -1, got {n_jobs}")
    shape = (1 + (n - n_fft) // hop_length, n_mels)
    folder = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "mel"
    rows = tracks.to_dict("records")
    paths = [None] * len(rows)
    for i, row in enumerate(rows):
        a = check_track(row)  # checks every row first: a bad one fails before any work
        if cache:
            paths[i] = folder / _mel_cache_name(a, duration, n_mels, n_fft, hop_length)
    key = (str(folder), duration, n_mels, n_fft, hop_length, tuple(map(str, paths))) if cache else None
    return rows, paths, shape, n_jobs, key


def _batches(rows, paths, todo, duration, n_mels, n_fft, hop_length):
    batches = [todo[k: k + 64] for k in range(0, len(todo), 64)]
    jobs = [([rows[i] for i in b], duration, n_mels, n_fft, hop_length, [paths[i] for i in b]) for b in batches]
    return batches, jobs


def render_order(n_tracks: int, random_state: int = 0) -> np.ndarray:
    """A seeded random order of ``n_tracks`` row positions: the order in which a prefetch renders them.

    :func:`coursekit.cnn.audio_vector_model` trains on the first tracks in this order (a
    uniform random sample), so with ``prefetch_mel_spectrograms(..., order=render_order(n, seed))``
    its training clips are ready first and the network trains while the rest render.
    """
    return np.random.default_rng([int(random_state), 4]).permutation(int(n_tracks))


def prefetch_mel_spectrograms(tracks: pd.DataFrame, *, duration: float = DEFAULT_DURATION, n_mels: int = MEL_BANDS,
                              n_fft: int = MEL_N_FFT, hop_length: int = MEL_HOP, cache_dir=None,
                              n_jobs: int = -1, order=None):
    """Start computing :func:`mel_spectrograms` of these tracks in the background, in worker processes.

    ``n_jobs - 1`` workers start at once on the spectrograms missing from the
    cache (from 400 on; fewer are not worth a worker) while this process goes
    on with other work; the next call of :func:`mel_spectrograms` with the
    same tracks and settings joins them (this process computes too) instead
    of starting afresh, so the time the workers had is saved. Results go to
    the cache as they would anyway.

    Parameters
    ----------
    tracks, duration, n_mels, n_fft, hop_length, cache_dir, n_jobs
        As in :func:`mel_spectrograms` (always with the cache).
    order : sequence of int, optional
        The row positions in the order to compute them (a permutation of
        ``range(len(tracks))``, e.g. :func:`render_order`); default: the table's order.

    Returns
    -------
    object with a ``close()`` method, or None
        ``close()`` stops the workers after their current batch, if no call
        joined them; None when nothing was started.
    """
    rows, paths, shape, n_jobs, key = _plan(tracks, duration, n_mels, n_fft, hop_length, True, cache_dir, n_jobs)
    if order is None:
        order = range(len(rows))
    elif sorted(int(i) for i in order) != list(range(len(rows))):
        raise ValueError(f"order must be a permutation of the {len(rows)} row positions of tracks")
    todo = [int(i) for i in order if _read_mel(paths[int(i)], shape) is None]
    if n_jobs < 2 or len(todo) < _MIN_PARALLEL or key in _BACKGROUND:
        return None
    batches, jobs = _batches(rows, paths, todo, duration, n_mels, n_fft, hop_length)
    pool = _Pool(jobs, min(n_jobs - 1, len(jobs)), parent_first=False)
    pool.batches, pool.key = batches, key
    _BACKGROUND[key] = pool
    return pool


def some_mel_spectrograms(tracks: pd.DataFrame, positions, *, duration: float = DEFAULT_DURATION,
                          n_mels: int = MEL_BANDS, n_fft: int = MEL_N_FFT, hop_length: int = MEL_HOP,
                          cache_dir=None, n_jobs: int = 1) -> np.ndarray:
    """The spectrograms of some rows of ``tracks`` now, while a prefetch of all of them goes on.

    When :func:`prefetch_mel_spectrograms` started workers on these tracks and settings, this
    process helps with the batches that hold ``positions`` (and only those) and waits for them;
    the workers go on with the rest, which a later :func:`mel_spectrograms` call joins as usual.
    Otherwise the rows are read from the cache or computed, as :func:`mel_spectrograms` would
    (with ``n_jobs`` processes).

    Returns
    -------
    ndarray of float16, shape (len(positions), frames, n_mels)
        The same values as ``mel_spectrograms(tracks)[positions]``.
    """
    rows, paths, shape, _, key = _plan(tracks, duration, n_mels, n_fft, hop_length, True, cache_dir, 1)
    positions = [int(i) for i in np.asarray(positions).ravel()]
    pool = _BACKGROUND.get(key)
    if pool is None:
        return mel_spectrograms(tracks.iloc[positions], duration=duration, n_mels=n_mels, n_fft=n_fft,
                                hop_length=hop_length, cache_dir=cache_dir, n_jobs=n_jobs)
    where = {i: (k, j) for k, batch in enumerate(pool.batches) for j, i in enumerate(batch)}
    pool.run_until({where[i][0] for i in positions if i in where})
    out = np.empty((len(positions),) + shape, dtype=np.float16)
    for n, i in enumerate(positions):
        if i in where:
            k, j = where[i]
            out[n] = pool.results[k][j]
        else:  # cached before the prefetch started
            m = _read_mel(paths[i], shape)
            out[n] = m if m is not None else _mel_batch([rows[i]], duration, n_mels, n_fft, hop_length, [paths[i]])[0]
    return out


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
    rows, paths, shape, n_jobs, key = _plan(tracks, duration, n_mels, n_fft, hop_length, cache, cache_dir, n_jobs)
    out = np.empty((len(rows),) + shape, dtype=np.float16)
    pool = _BACKGROUND.pop(key, None) if cache else None
    for other in list(_BACKGROUND.values()) if cache else []:  # prefetched for other clips: not wanted after all
        other.close()
    pending = set(i for b in pool.batches for i in b) if pool is not None else set()
    todo = []
    for i in range(len(rows)):
        if i in pending:
            continue
        m = _read_mel(paths[i], shape) if cache else None
        if m is not None:
            out[i] = m
        else:
            todo.append(i)
    batches, jobs = _batches(rows, paths, todo, duration, n_mels, n_fft, hop_length)
    if pool is not None:  # workers started by prefetch_mel_spectrograms: join them
        for b, mels in zip(pool.batches, pool.run()):
            out[b] = mels
    if n_jobs > 1 and len(todo) >= _MIN_PARALLEL:
        for b, mels in zip(batches, _Pool(jobs, min(n_jobs, len(batches)) - 1).run()):
            out[b] = mels
    else:
        for b, job in zip(batches, progress(jobs) if progress is not None else jobs):
            out[b] = _mel_batch(*job)
    return out
