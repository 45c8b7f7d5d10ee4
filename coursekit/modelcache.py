"""The trained-model cache: a fitted Discover Weekly stored as data, never as code.

:func:`trained` returns a fitted :class:`coursekit.mixtape.DiscoverWeekly`,
from the cache when a model for the same world, parameters and code is there,
trained and stored otherwise. A stored model is a folder of plain data::

    discover-weekly-<key>/
        arrays.npz    every array of the model (CF factors and biases, the blend's
                      weights, the cultural vectors, the audio vectors), read with
                      ``numpy.load(allow_pickle=False)``: numbers only
        model.json    the parameters, the blend's feature names, the artists'
                      adjectives, and the sha256 of ``arrays.npz`` (and of itself)

Nothing read from the cache is executed, and nothing is trusted before its
sha256 matches: a changed, truncated or planted file is reported (a
:class:`ModelCacheWarning` naming the file) and the model is trained again. The
key is a hash of the world's content (:func:`world_key`), the parameters and the
code of the modules that train, so an edited world or library never reuses a
stale model. A folder is written under a temporary name and renamed into place,
and a file lock makes concurrent first runs train once: the others wait and load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from contextlib import contextmanager
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from . import __version__
from ._files import cache_dir as default_cache, sha256_file
from .mixtape import DiscoverWeekly

__all__ = ["trained", "world_key", "ModelCacheWarning", "FORMAT"]

#: Version of the stored layout; a model stored in another layout is retrained.
FORMAT = 1
#: The files a stored model consists of (the only ones this module ever deletes).
_FILES = ("arrays.npz", "model.json")
#: The modules whose code shapes a trained model: an edit to any of them retrains.
_TRAINING_MODULES = ("mixtape", "signals", "blend", "als", "text", "terms", "feedback", "evaluation", "cnn", "audio",
                     "mel", "synth", "loudness")


class ModelCacheWarning(UserWarning):
    """A stored model could not be used (unreadable, changed) or stored (read-only folder)."""


def world_key(world) -> str:
    """A hash of the world's content: its verified files, its tables as loaded, its number of weeks.

    ``world.fingerprint`` is the hash of the sha256 of every file the world was
    read from, each checked against its manifest on load (see
    :func:`coursekit.datasets.load_world`). It is ``""`` for a world generated in
    memory or loaded with ``verify=False``: those are never cached. The loaded
    tables are hashed too (about 0.05 s for the small world), so a world edited
    in memory after loading never matches a model trained on another.
    """
    if not world.fingerprint:
        return ""
    digest = hashlib.sha256(f"files={world.fingerprint}|weeks={world.n_weeks}".encode())
    for name in ("artists", "tracks", "users", "listens", "documents"):
        table = getattr(world, name)
        digest.update(f"|{name}:{list(table.columns)}:{len(table)}|".encode())
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _code_fingerprint() -> str:
    """A hash of the modules whose code shapes a trained model, so an edited library retrains."""
    digest = hashlib.sha256()
    for name in _TRAINING_MODULES:
        spec = importlib.util.find_spec(f"coursekit.{name}")
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def _cache_key(world, params: dict) -> str:
    content = world_key(world)
    if not content:
        return ""
    # the CNN's thread count shapes its weights (coursekit.cnn.TF_THREADS, read here without importing TensorFlow)
    tf_threads = os.environ.get("COURSEKIT_TF_THREADS", "").strip() or "default"
    blob = json.dumps({"world": content, "params": params, "version": __version__, "format": FORMAT,
                       "code": _code_fingerprint(), "tf_threads": tf_threads}, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def trained(world, *, cache_dir=None, progress=None, audio: bool = True, **params) -> DiscoverWeekly:
    """A fitted :class:`~coursekit.mixtape.DiscoverWeekly` for ``world``: from the cache, or trained and stored.

    Parameters
    ----------
    world : coursekit.world.World
    cache_dir : path-like, optional
        Default ``coursekit.datasets.cache_dir() / "models"``.
    progress : callable, optional
        Receives a short message before each long step.
    audio : bool
        Train the audio CNN (chapter 04) for the audio signal.
    **params
        Passed to :class:`~coursekit.mixtape.DiscoverWeekly`.

    Returns
    -------
    DiscoverWeekly
        Fitted. A model loaded from the cache has ``culture_ = None`` (its
        ``artist_culture_`` holds what the mixtape uses of the cultural vectors)
        and no ``validation_pairs_``.

    Warns
    -----
    ModelCacheWarning
        When a stored model is unreadable or does not match its checksums (it
        is trained again and replaced), or when the cache folder cannot be
        written (the model is returned, not stored).

    Notes
    -----
    Worlds generated in memory (no ``fingerprint``) are never cached. Processes
    that train the same model at the same time take a file lock: one trains,
    the others wait and load its result.
    """
    say = progress or (lambda message: None)
    root = Path(cache_dir) if cache_dir is not None else default_cache() / "models"
    key = _cache_key(world, {**params, "audio": audio})
    if not key:
        return _fit(world, audio=audio, say=say, **params)
    folder = root / f"discover-weekly-{key}"
    with _lock(root, key, say):
        model = _load(folder, world, say)
        if model is not None:
            return model
        model = _fit(world, audio=audio, say=say, **params)
        try:
            _store(model, folder)
        except OSError as exc:
            _warn(f"could not store the trained models in {folder} ({exc}); they are not cached, so the next "
                  f"run trains again. Make the folder writable or point COURSEKIT_DATA elsewhere")
        return model


def _fit(world, *, audio: bool, say, **params) -> DiscoverWeekly:
    if audio and "audio_fn" not in params:
        params["audio_fn"] = _audio_fn(world, progress=say)
    return DiscoverWeekly(**params).fit(world, progress=say)


def _audio_fn(world, *, progress=None):
    """The chapter 04 audio model as a blend signal, when its module is available."""
    try:
        from .cnn import audio_vector_model  # TensorFlow: imported only when the audio model is trained
    except ImportError:
        return None
    return audio_vector_model(world, progress=progress)


def _warn(message: str) -> None:
    warnings.warn(message, ModelCacheWarning, stacklevel=3)


@contextmanager
def _lock(root: Path, key: str, say):
    """Hold a file lock for one key (no lock where the cache folder cannot be created or written)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(root / f"discover-weekly-{key}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            say("another process is training the same models; waiting for it")
            lock.acquire()
    except OSError:
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def _json_checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _load(folder: Path, world, say) -> DiscoverWeekly | None:
    """The stored model, or ``None`` (with a warning naming the file) when it is missing or cannot be trusted."""
    meta_path = folder / "model.json"
    if not folder.exists():
        return None
    bad = meta_path
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        body = {k: v for k, v in meta.items() if k != "checksum"}
        if meta.get("checksum") != _json_checksum(body):
            raise ValueError("its content does not match its checksum (changed since it was written)")
        if meta.get("format") != FORMAT:
            raise ValueError(f"stored in layout {meta.get('format')}, this coursekit reads {FORMAT}")
        bad = folder / "arrays.npz"
        expected = meta["files"]["arrays.npz"]
        if sha256_file(bad) != expected:
            raise ValueError("its sha256 does not match the one recorded in model.json (changed or truncated)")
        with np.load(bad, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        bad = folder
        model = DiscoverWeekly.from_state(world, arrays, meta["state"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as exc:
        _warn(f"the stored model {bad} cannot be used ({type(exc).__name__}: {exc}); training it again")
        say(f"the model cache {bad} is unreadable; retraining")
        return None
    say(f"loaded the trained models from {folder}")
    return model


def _store(model: DiscoverWeekly, folder: Path) -> None:
    """Write the model to a temporary folder beside ``folder``, then rename it into place."""
    arrays, state = model.state()
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        np.savez(tmp / "arrays.npz", **arrays)
        body = {"format": FORMAT, "coursekit": __version__, "files": {"arrays.npz": sha256_file(tmp / "arrays.npz")},
                "state": state}
        (tmp / "model.json").write_text(json.dumps({**body, "checksum": _json_checksum(body)}, indent=1),
                                        encoding="utf-8")
        _replace(tmp, folder)
    except BaseException:
        _remove_ours(tmp)
        raise


def _replace(tmp: Path, folder: Path) -> None:
    """Rename ``tmp`` to ``folder``; an old ``folder`` is moved aside and only the files a model consists of are deleted."""
    if not folder.exists():
        os.rename(tmp, folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
    os.rename(folder, aside / "model")
    os.rename(tmp, folder)
    _remove_ours(aside / "model")
    try:
        aside.rmdir()
    except OSError:
        pass  # the old folder held files the library did not write: they stay, set aside


def _remove_ours(folder: Path) -> None:
    """Delete the files a stored model consists of, and the folder if nothing else is in it."""
    for name in _FILES:
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something the library did not write is in there: leave it

