"""Every listener's mixtape, in batch: score only the candidates, in parallel, resumable (chapter 06).

:meth:`coursekit.mixtape.DiscoverWeekly.recommend` scores every track for
every user — fine for the small world, not for a million listeners and
100,000 tracks (6 ms a listener, 1.7 hours on one core). The blend only ever
ranks a user's *candidate pool* (:func:`coursekit.blend.candidate_pool`: the
best ``pool`` tracks by CF plus the cold tracks), so here the cheap CF score is
computed for every track, and the blend's other signals only for the columns
that are a candidate for someone in the batch. The mixtapes are the same.

:func:`write_mixtapes` runs that over all users in ``n_jobs`` processes and
writes them as shards (``mixtapes-00000.npz``, …) with a JSON manifest. Every
file goes through a temporary file and a rename, so a shard on disk is
complete; a rerun with the same model and users skips the finished shards, so
a run killed at 60 % keeps its first 60 %. :func:`read_mixtapes` reads them back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ._files import atomic_write, write_bytes
from .blend import candidate_pool
from .mixtape import listening_order, select
from .signals import signals

__all__ = ["candidate_mixtapes", "write_mixtapes", "read_mixtapes", "save_model", "load_model", "MANIFEST"]

#: The manifest's file name in the output folder.
MANIFEST = "mixtapes.json"
_FORMAT = "coursekit-mixtapes-1"
_SHARD = "mixtapes-{:05d}.npz"


def _check_fitted(model):
    from .mixtape import DiscoverWeekly

    if not isinstance(model, DiscoverWeekly) or not hasattr(model, "blend_"):
        raise TypeError(f"model must be a fitted DiscoverWeekly (DiscoverWeekly(...).fit(world) or "
                        f"coursekit.modelcache.trained), got {type(model).__name__}")


def _user_positions(model, users) -> np.ndarray:
    n_users = model.train_.shape[0]
    if users is None:
        return np.arange(n_users)
    arr = np.atleast_1d(np.asarray(users))
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"users must be a 1-D array of user positions (rows of the model's matrices, "
                         f"0..{n_users - 1}), got dtype {arr.dtype} and shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_users):
        raise ValueError(f"users must be positions between 0 and {n_users - 1}; got values from "
                         f"{arr.min()} to {arr.max()}. Convert ids with model.train_.users.index(ids)")
    return arr.astype(np.int64)


class _Scorer:
    """What the batch scoring reads from a fitted model, computed once."""

    def __init__(self, model):
        _check_fitted(model)
        p = model.profile_
        self.model = model
        self.released = model.split_.released
        self.is_new = p.cold & p.new & self.released
        self.tempo = model.world_.tracks["tempo"].to_numpy()
        self.history = model.train_.preference.getnnz(axis=1) > 0
        self.only = (set(model.use) | {"cold"}) - {"cf"}
        self._cold_start = None

    def cold_start(self, user: int) -> np.ndarray:
        """The mixtape of a user without history: the popularity ranking, the same for all of them."""
        if self._cold_start is None:
            self._cold_start = self.model.recommend(np.array([user]))[0]
        return self._cold_start

    def __call__(self, users: np.ndarray) -> np.ndarray:
        m, p = self.model, self.model.profile_
        out = np.empty((len(users), m.n), dtype=np.int64)
        warm = self.history[users]
        for row in np.flatnonzero(~warm):
            out[row] = self.cold_start(int(users[row]))
        users = users[warm]
        if len(users) == 0:
            return out
        # CF for every track (one matrix product), masked as DiscoverWeekly._mask does
        cf = np.array(m.cf_.predict(users), dtype=float)
        cf[:, ~self.released] = -np.inf
        r, c = m.train_.preference[users].nonzero()
        cf[r, c] = -np.inf
        pool = candidate_pool(cf, p.cold, size=m.pool)
        # the other signals only on the tracks that are someone's candidate (columns kept in order)
        cols = np.flatnonzero(pool.any(axis=0))
        pool, cf = pool[:, cols], cf[:, cols]
        sub = replace(p, artist_of_track=p.artist_of_track[cols], sound=p.sound[cols], listeners=p.listeners[cols],
                      cold=p.cold[cols], new=p.new[cols], weeks_out=p.weeks_out[cols])
        audio = None if m.audio_vectors_ is None else m.audio_vectors_[cols]
        sig = signals(users, cf_model=m.cf_, profile=sub, audio_vectors=audio, only=self.only)
        sig["cf"] = np.where(pool, cf, 0.0)
        scores = np.where(pool, m.blend_.score(sig), -np.inf)
        picks = select(scores, track_artist=sub.artist_of_track, is_new=self.is_new[cols], n=m.n,
                       max_per_artist=m.max_per_artist, new_share=m.new_share)
        picks = np.where(picks >= 0, cols[np.maximum(picks, 0)], -1)
        out[warm] = listening_order(picks, self.tempo)
        return out


def candidate_mixtapes(model, users=None, *, batch_size: int = 16) -> np.ndarray:
    """Mixtapes for user positions ``users``, scoring only each batch's candidate tracks.

    The same mixtapes as ``model.recommend(users)`` (blend, listening order),
    several times faster on a large catalogue: collaborative filtering scores
    every track, the other signals only the union of the batch's candidate
    pools. A user without history gets the popularity mixtape, as in
    :meth:`~coursekit.mixtape.DiscoverWeekly.recommend`.

    Parameters
    ----------
    model : coursekit.mixtape.DiscoverWeekly
        Fitted.
    users : array-like of int, optional
        User positions (rows of ``model.train_``); default all.
    batch_size : int
        Users scored at a time: the union of their pools grows with it, so
        small batches (8–32) are fastest.

    Returns
    -------
    numpy.ndarray of int, shape (n_users, model.n)
        Track positions in listening order, ``-1`` padding a short mixtape.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted DiscoverWeekly.
    ValueError
        If ``users`` are not valid positions or ``batch_size`` < 1.

    Examples
    --------
    >>> from coursekit.modelcache import trained          # doctest: +SKIP
    >>> model = trained("tiny")                           # doctest: +SKIP
    >>> candidate_mixtapes(model, [0, 1]).shape           # doctest: +SKIP
    (2, 30)
    """
    users = _user_positions(model, users)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    scorer = _Scorer(model)
    out = np.empty((len(users), model.n), dtype=np.int64)
    for start in range(0, len(users), batch_size):
        out[start:start + batch_size] = scorer(users[start:start + batch_size])
    return out


def _model_key(model, users: np.ndarray) -> str:
    """SHA-256 over what decides the mixtapes: the world, the model's numbers and rules, the users."""
    h = hashlib.sha256()
    h.update(str(getattr(model.world_, "fingerprint", "")).encode())
    h.update(json.dumps([model.n, model.max_per_artist, model.new_share, model.pool, list(model.use)]).encode())
    for a in (model.blend_.weights_.to_numpy(), model.blend_.mean_, model.blend_.scale_,
              model.cf_.user_factors_, model.cf_.item_factors_):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    h.update(np.ascontiguousarray(users, dtype=np.int64).tobytes())
    return h.hexdigest()


# the model a forked worker process scores with (set in the parent before the fork: shared, not copied)
_WORKER: dict = {}


def _write_shard(job) -> tuple[int, int]:
    index, users, path, batch_size = job
    scorer = _WORKER["scorer"]
    with threadpool_limits(1, "blas"):
        picks = np.concatenate([scorer(users[s:s + batch_size]) for s in range(0, len(users), batch_size)]) \
            if len(users) else np.empty((0, scorer.model.n), dtype=np.int64)
    m = scorer.model
    with atomic_write(path) as tmp:
        np.savez(tmp, users=users, user_id=m.train_.users.id(users), tracks=picks,
                 track_id=np.where(picks >= 0, m.train_.tracks.id(np.maximum(picks, 0)), -1))
    return index, len(users)


def _shard_done(path: Path, users: np.ndarray, n: int) -> bool:
    """A finished shard: readable, for exactly these users, one full row each."""
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as f:
            return np.array_equal(f["users"], users) and f["tracks"].shape == (len(users), n)
    except (OSError, ValueError, KeyError):
        return False


def write_mixtapes(model, users=None, out_dir=None, *, n_jobs: int = 1, shard_size: int = 10_000,
                   batch_size: int = 16, progress: bool = False) -> dict:
    """Write every user's mixtape to ``out_dir`` as ``.npz`` shards and a JSON manifest; resumable.

    Each shard holds ``users`` (positions), ``user_id``, ``tracks`` (positions,
    users × n, listening order, ``-1`` padding) and ``track_id``. Shards are
    written through a temporary file and renamed, so a shard on disk is whole.
    A rerun into the same folder with the same model and users skips the
    shards already there: a run stopped at 60 % resumes from 60 %.

    Parameters
    ----------
    model : coursekit.mixtape.DiscoverWeekly
        Fitted.
    users : array-like of int, optional
        User positions; default every user.
    out_dir : path-like
        Output folder (created if missing). Files that this function did not
        write are never touched or deleted.
    n_jobs : int
        Worker processes (forked, sharing the model's memory; where fork is not
        available, 1). Each uses one BLAS thread.
    shard_size : int
        Users per shard: the unit of progress and of what a crash can lose.
    batch_size : int
        Users scored at a time (see :func:`candidate_mixtapes`).
    progress : bool
        Show a tqdm progress bar (users written).

    Returns
    -------
    dict
        The manifest: ``format``, ``key`` (model, world and users), ``n``,
        ``users``, ``shard_size`` and ``shards`` (file name and user count each),
        plus ``shards_written`` and ``shards_skipped`` for this call.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted DiscoverWeekly.
    ValueError
        If ``out_dir`` is missing, ``n_jobs``/``shard_size``/``batch_size`` are
        not positive integers, ``users`` are not valid positions, or the folder
        holds mixtapes of another model or user list (write to a new folder).
    """
    _check_fitted(model)
    if out_dir is None:
        raise ValueError("out_dir is required: the folder to write the mixtape shards to")
    for name, value in (("n_jobs", n_jobs), ("shard_size", shard_size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    users = _user_positions(model, users)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = _model_key(model, users)
    starts = range(0, len(users), shard_size)
    manifest = {"format": _FORMAT, "key": key, "n": int(model.n), "users": int(len(users)),
                "shard_size": int(shard_size),
                "shards": [{"file": _SHARD.format(i), "users": int(min(shard_size, len(users) - s))}
                           for i, s in enumerate(starts)]}
    path = out / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path} is not a readable mixtape manifest ({err}); write to a new folder") from None
        if not isinstance(old, dict) or {k: old.get(k) for k in manifest} != manifest:
            raise ValueError(f"{out} holds mixtapes of another model, user list or shard size "
                             f"({path} differs); write to a new folder, or remove that folder's "
                             f"{MANIFEST} and mixtapes-*.npz yourself to start over")
    else:
        write_bytes(path, json.dumps(manifest, indent=1) + "\n")
    jobs = [(i, users[s:s + shard_size], out / _SHARD.format(i), batch_size) for i, s in enumerate(starts)]
    todo = [j for j in jobs if not _shard_done(j[2], j[1], model.n)]
    bar = tqdm(total=len(users), initial=len(users) - sum(len(j[1]) for j in todo), unit="user",
               desc="mixtapes", disable=not progress, smoothing=0.05)
    _WORKER["scorer"] = _Scorer(model)
    try:
        if n_jobs > 1 and len(todo) > 1 and "fork" in _start_methods():
            import multiprocessing as mp

            with mp.get_context("fork").Pool(min(n_jobs, len(todo))) as workers:
                for _, count in workers.imap_unordered(_write_shard, todo):
                    bar.update(count)
        else:
            for job in todo:
                bar.update(_write_shard(job)[1])
    finally:
        bar.close()
        _WORKER.clear()
    return {**manifest, "shards_written": len(todo), "shards_skipped": len(jobs) - len(todo)}


def _start_methods() -> list:
    import multiprocessing as mp

    return mp.get_all_start_methods()


def read_mixtapes(out_dir) -> dict:
    """Read what :func:`write_mixtapes` wrote: every finished shard, concatenated.

    Returns
    -------
    dict
        ``users``, ``user_id``, ``tracks``, ``track_id`` (arrays, in user
        order of the shards found), ``complete`` (every shard of the manifest is
        there) and ``missing`` (file names of the shards not written yet).

    Raises
    ------
    FileNotFoundError
        If ``out_dir`` has no manifest.
    ValueError
        If the manifest is not one of :func:`write_mixtapes`.
    """
    out = Path(out_dir)
    path = out / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: write the mixtapes first with write_mixtapes(model, users, "
                                f"{str(out)!r})")
    manifest = json.loads(path.read_text())
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a mixtape manifest of coursekit.batch (format {_FORMAT!r})")
    parts, missing = [], []
    for shard in manifest["shards"]:
        file = out / shard["file"]
        if not file.is_file():
            missing.append(shard["file"])
            continue
        with np.load(file, allow_pickle=False) as f:
            parts.append({k: f[k] for k in ("users", "user_id", "tracks", "track_id")})
    n = int(manifest["n"])
    empty = {"users": np.empty(0, np.int64), "user_id": np.empty(0, np.int64),
             "tracks": np.empty((0, n), np.int64), "track_id": np.empty((0, n), np.int64)}
    arrays = {k: np.concatenate([p[k] for p in parts]) if parts else v for k, v in empty.items()}
    return {**arrays, "complete": not missing, "missing": missing}


def save_model(model, folder) -> Path:
    """Store a fitted DiscoverWeekly in ``folder`` for other processes (Spark workers, a later run).

    The model cache's format (:mod:`coursekit.modelcache`): arrays in an
    ``.npz`` without Python objects and a JSON state, sha256-checked, written
    to a temporary folder and renamed. Read it with :func:`load_model`.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted DiscoverWeekly.
    """
    from .modelcache import _store

    _check_fitted(model)
    _store(model, Path(folder))
    return Path(folder)


def load_model(folder, world):
    """The DiscoverWeekly :func:`save_model` stored in ``folder``, rebuilt on ``world`` (nothing is unpickled).

    Raises
    ------
    ValueError
        If the folder is missing, its files do not match their sha256 or do
        not fit ``world``.
    """
    import warnings

    from .modelcache import _load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _load(Path(folder), world, lambda message: None)
    if model is None:
        why = "; ".join(str(w.message) for w in caught) or "no such folder"
        raise ValueError(f"cannot load a model from {folder}: {why}. Write it with save_model(model, folder)")
    return model
