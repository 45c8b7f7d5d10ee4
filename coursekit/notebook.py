"""Helpers for the course notebooks.

:func:`skip_remaining_cells` lets a notebook stop cleanly when a parameter asks
for something it cannot do (for example chapter 05 on a real data set without
web text, audio or weekly listening): every later code cell prints one line
saying it was skipped and why, instead of failing with a traceback.

:func:`audio_player` shows a clip as a player that still plays when the
notebook is opened from disk, untrusted (JupyterLab and Jupyter Notebook strip
the ``data:`` sources that ``IPython.display.Audio`` embeds): the clip is also
written as a WAV file beside the notebook and the player links to it.

:func:`saved_results` reads benchmark results that ship with the package (the
measurements chapter 06 plots), so that a notebook needs no clone of the
repository.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
import wave
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

import numpy as np

__all__ = ["AudioPlayer", "audio_player", "saved_results", "skip_remaining_cells"]


def skip_remaining_cells(reason: str) -> None:
    """From the next cell on, replace every code cell of this IPython session by a one-line note.

    Parameters
    ----------
    reason : str
        Printed by each skipped cell, e.g. ``"chapter 05 needs the generated world"``.

    Raises
    ------
    RuntimeError
        Outside IPython/Jupyter (a plain script should just stop).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = lambda: None  # noqa: E731
    shell = get_ipython()
    if shell is None:
        raise RuntimeError(f"skip_remaining_cells works inside a notebook; here, stop instead: {reason}")
    message = f"skipped: {reason}"

    def transform(lines):
        return [f"print({message!r})\n"]

    transform.coursekit_skip = True
    shell.input_transformers_post[:] = [t for t in shell.input_transformers_post
                                        if not getattr(t, "coursekit_skip", False)]
    shell.input_transformers_post.append(transform)
    print(f"The rest of this notebook is skipped: {reason}")


@dataclass(frozen=True)
class AudioPlayer:
    """An audio player for a notebook output: a WAV file beside the notebook, and the same clip embedded.

    Its HTML is an ``<audio>`` element whose source is the relative link to the
    file: JupyterLab and Jupyter Notebook 7 keep it in an untrusted notebook
    (their sanitizer removes ``data:`` sources, and any ``src`` of a
    ``<source>`` element) and serve the file beside the notebook. Where the
    link cannot be followed (Colab, which renders outputs in a frame of its
    own, or a notebook opened without its ``audio/`` folder), the element's
    ``onerror`` handler swaps in the same clip embedded as a ``data:`` URL;
    sanitizers remove that handler, which is only needed where none runs.

    Attributes
    ----------
    path : str
        The WAV file, relative to the notebook's folder, with ``/`` separators.
    wav : bytes
        The clip as a 16-bit mono WAV file (the bytes of ``path``).
    """

    path: str
    wav: bytes = field(repr=False)

    def _repr_html_(self) -> str:
        embedded = "data:audio/wav;base64," + base64.b64encode(self.wav).decode("ascii")
        fallback = f"if (!this.dataset.embedded) {{ this.dataset.embedded = 1; this.src = '{embedded}'; }}"
        return (f'<audio controls preload="metadata" src="{html.escape(self.path)}" '
                f'onerror="{html.escape(fallback)}"></audio>')


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    """A mono waveform in [-1, 1] as the bytes of a 16-bit PCM WAV file (values outside are clipped)."""
    pcm = np.round(np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sr)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def audio_player(y, path: str | os.PathLike, *, sr: int = 22050) -> AudioPlayer:
    """Write a clip as a WAV file beside the notebook and return a player for it.

    The file is written (through a temporary file and a rename) only when it is
    missing or holds other bytes, so re-running a notebook leaves a committed
    file untouched; where the file is absent (a notebook opened on Colab from
    GitHub) running the cell renders it again, offline.

    Parameters
    ----------
    y : array-like, shape (n_samples,)
        Mono waveform, floats in [-1, 1] (values outside are clipped); written
        as 16-bit samples without normalisation, so the clip keeps its loudness.
    path : str or os.PathLike
        Where to write the WAV file, relative to the notebook's folder (the
        kernel's working directory), e.g. ``"audio/friend.wav"``; missing
        folders are created.
    sr : int, optional
        Sample rate, Hz.

    Returns
    -------
    AudioPlayer
        Displayed by Jupyter as the player (``display(player)`` or the cell's
        last value).

    Raises
    ------
    ValueError
        If ``path`` is absolute or leaves the notebook's folder (a browser
        could not reach it), does not end in ``.wav``, ``y`` is not a
        non-empty 1-D waveform, or ``sr`` is not a positive integer.

    Examples
    --------
    In a notebook, one second of A (440 Hz), written to ``audio/a440.wav``:

    >>> import numpy as np
    >>> from IPython.display import display
    >>> tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> display(audio_player(tone, "audio/a440.wav", sr=22050))  # doctest: +SKIP
    """
    target = PurePosixPath(Path(path).as_posix())
    if Path(path).is_absolute() or target.is_absolute() or ".." in target.parts:
        raise ValueError(f"path={str(path)!r} must be relative to the notebook's folder and stay inside it "
                         "(a browser reaches only files beside the notebook), e.g. 'audio/clip.wav'")
    if target.suffix.lower() != ".wav":
        raise ValueError(f"path={str(path)!r} must end in .wav: the clip is written as a WAV file")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ValueError(f"sr={sr!r} must be a positive integer (samples per second)")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty mono waveform (1-D), got shape {y.shape}")
    wav = _wav_bytes(y, int(sr))
    file = Path(path)
    if not (file.is_file() and file.read_bytes() == wav):
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(wav)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the clip is an ordinary file of the course
            os.replace(tmp, file)
        except BaseException:
            os.unlink(tmp)
            raise
    return AudioPlayer(path=str(target), wav=wav)


def saved_results(name: str) -> dict:
    """Benchmark results that ship with coursekit (``coursekit/data/<name>.json``).

    Parameters
    ----------
    name : str
        The results' name: ``"scaling"`` (``benchmarks/scaling.py``: ALS sweeps
        with ``implicit`` and Spark on the large world, read by chapter 06).

    Returns
    -------
    dict
        The JSON document as written by the benchmark.

    Raises
    ------
    ValueError
        If no results of that name ship with the package (the message lists those that do).
    """
    folder = resources.files("coursekit") / "data"
    available = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
    if name not in available:
        raise ValueError(f"name={name!r}: no saved results of that name; coursekit ships {available}")
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
