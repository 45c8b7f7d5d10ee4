"""The trained-model cache of :func:`trained`: a fitted Discover Weekly, keyed on the world, the parameters and the code."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import tempfile
from pathlib import Path

from . import __version__
from .datasets import cache_dir as default_cache
from .mixtape import DiscoverWeekly

__all__ = ["trained"]


def _cache_key(world, params: dict) -> str:

    if not world.fingerprint:
        return ""
    blob = json.dumps({"world": world.fingerprint, "params": params, "version": __version__,
                       "code": _code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _code_fingerprint() -> str:
    """A hash of the modules whose code shapes a trained model, so an edited library retrains."""

    digest = hashlib.sha256()
    for name in ("mixtape", "als", "text", "feedback", "evaluation", "cnn", "audio"):
        spec = importlib.util.find_spec(f"coursekit.{name}")
        if spec is not None and spec.origin:
            with open(spec.origin, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def trained(world, *, cache_dir=None, progress=None, audio: bool = True, **params) -> "DiscoverWeekly":
    """A fitted :class:`DiscoverWeekly` for ``world``: from the model cache, or trained and cached.

    The cache file's name is a hash of the world's files, the parameters, the
    coursekit version and the code of the modules that train it, so any change retrains instead of serving a stale
    model. A cache file that cannot be read is reported through ``progress``,
    deleted and rebuilt. Worlds generated in memory (no fingerprint) are never
    cached.

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
        Passed to :class:`DiscoverWeekly`.
    """

    say = progress or (lambda message: None)
    folder = Path(cache_dir) if cache_dir is not None else default_cache() / "models"
    key = _cache_key(world, {**params, "audio": audio})
    path = folder / f"discover-weekly-{key}.pkl"
    if key and path.exists():
        try:
            with open(path, "rb") as fh:
                model = pickle.load(fh)
            if not isinstance(model, DiscoverWeekly):
                raise TypeError(f"holds a {type(model).__name__}")
            model.world_ = world
            say(f"loaded the trained models from {path}")
            return model
        except Exception as exc:  # a corrupt or foreign file: rebuild it
            say(f"the model cache {path} is unreadable ({exc}); retraining")
            path.unlink(missing_ok=True)
    if audio and "audio_fn" not in params:
        params["audio_fn"] = _audio_fn(world, progress=say)
    model = DiscoverWeekly(**params).fit(world, progress=say)
    if key:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(model, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return model


def _audio_fn(world, *, progress=None):
    """The chapter 04 audio model as a blend signal, when its module is available."""
    try:
        from .cnn import audio_vector_model  # TensorFlow: imported only when the audio model is trained
    except ImportError:
        return None
    return audio_vector_model(world, progress=progress)
