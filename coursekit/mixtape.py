"""The Discover Weekly mixtape: 30 unheard songs, with a reason for each.

Three models score every (user, unheard track) pair — collaborative filtering,
cultural vectors from web text, and audio (CNN-predicted vectors and closeness
to the user's usual tempo, mode and loudness). A blend learned on a validation
week combines them (:class:`coursekit.blend.Blend`), and :func:`select` turns blended scores into
mixtapes that follow the rules of a good one:

* exactly ``n`` (30) songs the user has never played, all released;
* at most ``max_per_artist`` (2) songs by one artist;
* a reserved share of **new releases** (``new_share``, default 1/30: one song
  in every mixtape) — tracks released during the observed weeks with too few
  listeners for collaborative filtering to rank, found by the artist, audio and
  text signals. More new releases come in when they win a place on their
  blended score. Each reserved slot costs ranking quality on next week's
  listening (a new release is a less likely discovery than the 30th-best known
  song), so the share is a product decision, kept small;
* ordered for listening: the songs climb in tempo and then come back down, so
  neighbouring songs are never far apart in tempo.

All of it is vectorised over users: a batch of users is one matrix of scores.
The models' signals are computed in :mod:`coursekit.signals` and weighed in
:mod:`coursekit.blend`; this module holds the rules (:func:`select`,
:func:`listening_order`) and the whole system, :class:`DiscoverWeekly`.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .als import ALS, ImplicitALS
from .blend import Blend, candidate_pool, default_batch_size, training_pairs
from .evaluation import Split, make_split
from .feedback import build_feedback, heldout_matrix
from .genres import key_name
from .signals import MODEL_GROUPS, SIGNAL_GROUPS, SIGNALS, ArtistCulture, profiles, signals
from .text import CulturalVectors

__all__ = ["select", "listening_order", "DiscoverWeekly"]


def select(scores: np.ndarray, *, track_artist: np.ndarray, is_new: np.ndarray, n: int = 30,
           max_per_artist: int = 2, new_share: float = 1 / 30, pool: int = 300) -> np.ndarray:
    """Pick each user's mixtape from blended scores.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_users, n_tracks)
        Blended scores; tracks that must not be picked (already played, not
        released) are ``-inf``.
    track_artist : numpy.ndarray of int, shape (n_tracks,)
        Artist of each track (any integer code).
    is_new : numpy.ndarray of bool, shape (n_tracks,)
        New releases, for the reserved share.
    n : int
        Songs per mixtape.
    max_per_artist : int
        Artist cap.
    new_share : float
        Share of the ``n`` slots reserved for new releases (filled with other
        songs when a user has too few eligible new releases).
    pool : int
        Best candidates per user considered (the cap and the reservation only
        ever need the top few hundred).

    Returns
    -------
    numpy.ndarray of int, shape (n_users, n)
        Track positions, best first; ``-1`` pads the rare mixtape that has fewer
        than ``n`` eligible songs.
    """
    scores = np.asarray(scores, dtype=float)
    n_users, n_tracks = scores.shape
    if len(track_artist) != n_tracks or len(is_new) != n_tracks:
        raise ValueError(f"track_artist and is_new need one entry per track ({n_tracks}), "
                         f"got {len(track_artist)} and {len(is_new)}")
    if not 0 <= new_share <= 1:
        raise ValueError(f"new_share must be between 0 and 1, got {new_share}")
    n_new = int(round(n * new_share))
    out = np.full((n_users, n), -1, dtype=np.int64)
    if n_users == 0:
        return out
    pool = min(max(pool, 4 * n), n_tracks)
    is_new = np.asarray(is_new, bool)
    # best `pool` candidates overall and best `pool` new releases, per user
    cand = _top(scores, pool)
    new_scores = np.where(is_new[None, :], scores, -np.inf)
    cand_new = _top(new_scores, min(pool, max(1, int(is_new.sum()))))

    def capped(c):
        """Candidates in score order with the artist cap applied (-1 where dropped)."""
        s = np.take_along_axis(scores, np.maximum(c, 0), axis=1)
        s[c < 0] = -np.inf
        order = np.argsort(-s, axis=1, kind="stable")
        c, s = np.take_along_axis(c, order, axis=1), np.take_along_axis(s, order, axis=1)
        artist = np.where(c >= 0, track_artist[np.maximum(c, 0)], -1)
        seen = _rank_within(artist)  # how many earlier picks share the artist
        keep = (seen < max_per_artist) & np.isfinite(s)
        return np.where(keep, c, -1), np.where(keep, s, -np.inf)

    new_c, _ = capped(cand_new)
    new_pick = _first_valid(new_c, n_new)
    # the rest: best capped candidates, counting the artists already used by the new picks
    combined = np.concatenate([new_pick, cand], axis=1)
    artist = np.where(combined >= 0, track_artist[np.maximum(combined, 0)], -1)
    dup = _duplicates(combined)
    seen = _rank_within(np.where(dup, -2, artist))
    ok = (combined >= 0) & ~dup & (seen < max_per_artist)
    ok[:, :n_new] &= new_pick >= 0
    s_comb = np.take_along_axis(scores, np.maximum(combined, 0), axis=1)
    ok &= np.isfinite(s_comb)
    chosen = _first_valid(np.where(ok, combined, -1), n)
    # best first: order by score
    s = np.take_along_axis(scores, np.maximum(chosen, 0), axis=1)
    s[chosen < 0] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def listening_order(mixtapes: np.ndarray, tempo: np.ndarray) -> np.ndarray:
    """Reorder each mixtape to climb in tempo and come back down (an arc).

    Songs at even ranks of the tempo order go up, the others come down, so
    consecutive songs differ by at most two tempo steps.
    """
    mixtapes = np.asarray(mixtapes)
    t = np.where(mixtapes >= 0, np.asarray(tempo, float)[np.maximum(mixtapes, 0)], np.inf)
    by_tempo = np.take_along_axis(mixtapes, np.argsort(t, axis=1, kind="stable"), axis=1)
    up, down = by_tempo[:, 0::2], by_tempo[:, 1::2][:, ::-1]
    arc = np.concatenate([up, down], axis=1)
    # keep padding (-1) at the end
    pad = arc < 0
    return np.take_along_axis(arc, np.argsort(pad, axis=1, kind="stable"), axis=1)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(scores, top, axis=1)
    top = np.take_along_axis(top, np.argsort(-s, axis=1, kind="stable"), axis=1)
    top[~np.isfinite(np.take_along_axis(scores, top, axis=1))] = -1
    return top


def _rank_within(keys: np.ndarray) -> np.ndarray:
    """For each cell, how many cells to its left in the same row hold the same key (keys < 0 never match)."""
    n_rows, width = keys.shape
    order = np.argsort(keys, axis=1, kind="stable")  # stable: left-to-right within a key
    sk = np.take_along_axis(keys, order, axis=1)
    start = np.ones_like(sk, dtype=bool)
    start[:, 1:] = sk[:, 1:] != sk[:, :-1]
    idx = np.broadcast_to(np.arange(width), sk.shape)
    run_start = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
    rank_sorted = idx - run_start
    rank_sorted[sk < 0] = 0
    rank = np.empty_like(rank_sorted)
    np.put_along_axis(rank, order, rank_sorted, axis=1)
    return rank


def _duplicates(items: np.ndarray) -> np.ndarray:
    """True where a track already appeared to the left in the same row."""
    return (_rank_within(items) > 0) & (items >= 0)


def _first_valid(items: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` non-negative entries of each row, in order, padded with -1."""
    valid = items >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    packed = np.take_along_axis(items, order, axis=1)[:, :k]
    if packed.shape[1] < k:
        packed = np.concatenate([packed, np.full((len(items), k - packed.shape[1]), -1)], axis=1)
    return packed


def _validation_split(world, week: int) -> Split:
    """``make_split`` of weeks ``< week`` against week ``week``, each listens copy freed as soon as it is used.

    The same split as ``make_split(world, listens[listens.week < week], listens[listens.week == week], week)``;
    on the large world the training weeks' copy of the listens (about 1 GB) is gone before the held-out
    matrix is built, and the cyclic garbage pandas leaves is collected.
    """
    listens = world.listens
    train = build_feedback(listens[listens["week"] < week], users=world.users["user_id"],
                           tracks=world.tracks["track_id"])
    _release_memory(world)
    heldout = heldout_matrix(listens[listens["week"] == week], train, only_new=True)
    _release_memory(world)
    return Split(train, heldout, world.tracks["release_week"].to_numpy() <= week, week)


#: Listening rows from which the fit collects garbage and trims the heap between its steps.
_RELEASE_FROM_ROWS = 2_000_000


def _release_memory(world) -> None:
    """Collect cyclic garbage and give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    The blend's pairs come from thousands of batch-sized arrays; once freed, glibc keeps their pages
    in its heap (about 0.4 GB on the large world) unless asked to return them. Elsewhere than on
    Linux only the garbage is collected. Worlds of fewer than :data:`_RELEASE_FROM_ROWS` listening
    rows skip it: it frees little there, and a collection costs about 0.3 s once TensorFlow is loaded.
    """
    if len(world.listens) < _RELEASE_FROM_ROWS:
        return
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):   # not glibc (musl): nothing to trim
            pass


def _drop_after_cf(train, cf_model) -> None:
    """Free what the signals never read once CF is trained (about 0.4 GB on the large world).

    The blend's pairs, the profiles and the mixtapes read the training feedback's ``strength`` and
    ``preference`` and the CF model's float64 factors; its ``confidence`` and ``scaled`` matrices and
    implicit's own model (:func:`_drop_engine_copy`) go.
    """
    train.confidence = train.scaled = None
    _drop_engine_copy(cf_model)


def _drop_engine_copy(cf_model) -> None:
    """Drop implicit's own model (its float32 copy of the factors, 128 MB for a million users).

    The factors stay as the float64 ``user_factors_`` and ``item_factors_`` every signal reads; a model
    loaded from the cache (:meth:`DiscoverWeekly.from_state`) has no ``model_`` either.
    """
    if hasattr(cf_model, "model_"):
        del cf_model.model_


# ------------------------------------------------------------------------- the whole system
class DiscoverWeekly:
    """Train the three models, learn the blend on a validation week, and write mixtapes.

    Parameters
    ----------
    n : int
        Songs per mixtape.
    max_per_artist : int
        Artist cap.
    new_share : float
        Share of the mixtape reserved for new releases.
    factors, regularization, alpha, iterations : ALS hyperparameters (chapter 02).
    use : tuple of str
        Signals the blend may use (drop "text" or "audio"/"sound" for an ablation).
    audio_fn : callable, optional
        ``audio_fn(item_factors, trained_mask) -> predicted item vectors`` for every
        track: a model of the track's CF vector from its audio (chapter 04), trained
        on the tracks in ``trained_mask``. Without it the audio signal is 0 and
        only the sound closeness speaks for audio.
    blend_users : int or None
        The blend learns from at most this many validation users (a random
        sample; ``None``: all). The small world has 2,000, all used; the large
        world's 730,000 would take hours and 17 GB for fifteen weights.
    engine : {"als", "implicit"}
        The CF model: chapter 02's :class:`coursekit.als.ALS` (from scratch, with
        biases) or :class:`coursekit.als.ImplicitALS` (the ``implicit`` library,
        no biases; several times faster, for the ``large`` world).
    random_state : int
        Seed for every model.

    Attributes (after :meth:`fit`)
    ------------------------------
    blend_ : Blend
        With ``weights_``, the learned blend.
    validation_pairs_ : (dict, numpy.ndarray)
        The blend's training pairs (signals per pair, with the user) and their
        0/1 labels, to refit only the blend (stored with the model: a model
        from the cache has them too).
    cf_ : ALS
        The CF model trained on every observed week (an :class:`~coursekit.als.ImplicitALS` keeps its
        factors as ``user_factors_`` and ``item_factors_``, without implicit's own ``model_``).
    culture_ : coursekit.text.CulturalVectors or None
        The fitted cultural vectors (``None`` for a model loaded from the cache:
        see :func:`coursekit.modelcache.trained`).
    artist_culture_ : ArtistCulture or None
        What the signals and the reasons use of them.
    profile_ : Profiles
    audio_vectors_ : numpy.ndarray or None
    train_ : coursekit.feedback.Feedback
        Feedback of every observed week: ``strength`` and ``preference`` (its ``confidence`` and
        ``scaled`` matrices, CF's input, are dropped once CF is trained: 0.3 GB on the large world;
        :func:`coursekit.feedback.build_feedback` rebuilds them).
    timings_ : dict
        Seconds per training step.
    """

    def __init__(self, *, n: int = 30, max_per_artist: int = 2, new_share: float = 1 / 30,
                 factors: int = 32, regularization: float = 10.0, alpha: float = 1.0, iterations: int = 10,
                 use: tuple = SIGNALS, audio_fn=None, pool: int = 300, negatives: int = 100,
                 blend_users: int | None = 20_000, engine: str = "als", random_state: int = 0):
        if engine not in ("als", "implicit"):
            raise ValueError(f"engine must be 'als' (chapter 02's, from scratch) or 'implicit' (faster, for "
                             f"big worlds); got {engine!r}")
        self.n = n
        self.max_per_artist = max_per_artist
        self.new_share = new_share
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use = tuple(use)
        self.audio_fn = audio_fn
        self.pool = pool
        self.negatives = negatives
        self.blend_users = blend_users
        self.engine = engine
        self.random_state = random_state

    # -- training
    def _als(self):
        engine = ImplicitALS if getattr(self, "engine", "als") == "implicit" else ALS
        return engine(factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                      iterations=self.iterations, random_state=self.random_state)

    def fit(self, world, *, progress=None) -> "DiscoverWeekly":
        """Train on every observed week of ``world``; learn the blend on the last one.

        ``progress``, if given, is called with a short message before each step.
        """
        say = progress or (lambda message: None)
        self.world_ = world
        self.timings_ = {}

        def step(name, fn):
            say(name)
            start = time.perf_counter()
            out = fn()
            self.timings_[name] = time.perf_counter() - start
            return out

        self.culture_ = step("cultural vectors from web text", lambda: CulturalVectors().fit(world.documents, world.artists)) \
            if "text" in self.use else None
        self.artist_culture_ = ArtistCulture.from_vectors(self.culture_) if self.culture_ is not None else None
        last = world.n_weeks - 1
        listens = world.listens
        val = _validation_split(world, last)
        cf_val = step("collaborative filtering (validation weeks)", lambda: self._als().fit(val.train.scaled))
        _drop_after_cf(val.train, cf_val)
        prof_val = profiles(world, val.train.strength, self.artist_culture_, cf_val.item_factors_, week=last)

        def final_cf():  # the final models see every observed week
            self.split_ = make_split(world, listens, listens.iloc[:0], world.n_weeks)
            self.train_ = self.split_.train
            self.cf_ = step("collaborative filtering (all weeks)", lambda: self._als().fit(self.train_.scaled))
            _drop_after_cf(self.train_, self.cf_)
            _release_memory(world)

        audio = self.audio_fn is not None and "audio" in self.use
        if audio:  # the final CF trains first, while the audio step's spectrograms render in worker processes:
            final_cf()  # it would otherwise run last, on one core, with the other idle
        audio_val = step("audio model (validation weeks)", lambda: self._audio(cf_val, prof_val)) if audio else None
        pairs, labels = step("blend training pairs", lambda: training_pairs(
            val, lambda u: signals(u, cf_model=cf_val, profile=prof_val, audio_vectors=audio_val),
            prof_val.cold, negatives=self.negatives, pool=self.pool, random_state=self.random_state,
            max_users=getattr(self, "blend_users", None)))
        # the validation week's matrices and models go before the blend and the final training (the large
        # world's peaks); the audio vectors' mapping below still needs the validation CF model and profiles
        del val
        if audio_val is None:
            cf_val = prof_val = None
        _release_memory(world)
        self.blend_ = step("blend", lambda: Blend(negatives=self.negatives, random_state=self.random_state,
                                                  use=self.use).fit(pairs, labels))
        self.validation_pairs_ = (pairs, labels)   # for refitting only the blend (an ablation); stored with the model
        _release_memory(world)
        if not audio:  # after the validation models are freed (the large world's peak)
            final_cf()
        self.profile_ = profiles(world, self.train_.strength, self.artist_culture_, self.cf_.item_factors_)
        self.audio_vectors_ = None
        if audio_val is not None:
            # map the validation-space audio vectors into the final CF space (orthogonal Procrustes
            # on the tracks both models know), so the audio model never sees the validation week
            warm = ~prof_val.cold
            A, B = cf_val.item_factors_[warm], self.cf_.item_factors_[warm]
            with threadpool_limits(1, "blas"):   # one BLAS thread: the same bits on 1 core or 16
                U, _, Vt = np.linalg.svd(A.T @ B)
                self.audio_vectors_ = audio_val @ (U @ Vt)
        return self

    def _audio(self, cf_model, prof):
        vectors = np.asarray(self.audio_fn(cf_model.item_factors_, ~prof.cold), dtype=float)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    # -- storing (the files themselves: coursekit.modelcache)
    _PARAMS = ("n", "max_per_artist", "new_share", "factors", "regularization", "alpha", "iterations", "use",
               "pool", "negatives", "blend_users", "engine", "random_state")

    def state(self) -> tuple[dict, dict]:
        """What a fitted model is, as plain data: ``(arrays, meta)``.

        ``arrays`` maps names to numpy arrays (numbers only, no objects) and
        ``meta`` is JSON-serialisable; :meth:`from_state` rebuilds the model
        from them and the world. The training feedback, the split and the
        profiles are not stored: they are recomputed from the world.
        """
        arrays = {f"blend.{k}": np.asarray(v, dtype=float) for k, v in
                  (("mean", self.blend_.mean_), ("scale", self.blend_.scale_), ("weights", self.blend_.weights_))}
        cf_lists = {}
        for name, value in vars(self.cf_).items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                arrays[f"cf.{name}"] = value
            elif isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
                cf_lists[name] = [float(v) for v in value]
        c = self.artist_culture_
        if c is not None:
            arrays.update({"culture.artist_ids": np.asarray(c.artist_ids_, dtype=np.int64),
                           "culture.data": c.vectors_.data, "culture.indices": c.vectors_.indices,
                           "culture.indptr": c.vectors_.indptr,
                           "culture.shape": np.asarray(c.vectors_.shape, dtype=np.int64)})
        if self.audio_vectors_ is not None:
            arrays["audio_vectors"] = self.audio_vectors_
        pairs, labels = getattr(self, "validation_pairs_", None) or ({}, None)
        if labels is not None:  # the blend's training pairs: chapter 05 refits the blend on them (its ablation)
            arrays.update({f"validation.{k}": np.asarray(v) for k, v in pairs.items()})
            arrays["validation_labels"] = np.asarray(labels)
        meta = {"params": {k: getattr(self, k) for k in self._PARAMS},
                "blend": {"negatives": self.blend_.negatives, "C": self.blend_.C,
                          "random_state": self.blend_.random_state, "use": list(self.blend_.use),
                          "features": list(self.blend_.features_), "intercept": self.blend_.intercept_},
                "cf": cf_lists, "adjectives": None if c is None else list(c.adjectives_),
                "timings": {k: float(v) for k, v in self.timings_.items()}}
        meta["params"]["use"] = list(self.use)
        return arrays, meta

    @classmethod
    def from_state(cls, world, arrays: dict, meta: dict) -> "DiscoverWeekly":
        """Rebuild a fitted model from :meth:`state` and the world it was trained on.

        Raises
        ------
        ValueError
            When the arrays do not fit the world (another world's model) or a
            part is missing.
        """
        try:
            params = dict(meta["params"])
            params["use"] = tuple(params["use"])
            model = cls(**params)
            b = meta["blend"]
            blend = Blend(negatives=b["negatives"], C=b["C"], random_state=b["random_state"], use=tuple(b["use"]))
            blend.features_ = list(b["features"])
            blend.mean_, blend.scale_ = arrays["blend.mean"], arrays["blend.scale"]
            blend.weights_ = pd.Series(arrays["blend.weights"], index=blend.features_, name="weight")
            blend.intercept_ = float(b["intercept"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"the stored model lacks or garbles {exc}") from None
        n_users, n_tracks = len(world.users), len(world.tracks)
        if len(blend.mean_) != len(blend.features_) or len(blend.scale_) != len(blend.features_):
            raise ValueError("the stored blend has a different number of weights than features")
        model.world_ = world
        model.blend_ = blend
        model.timings_ = dict(meta.get("timings", {}))
        model.split_ = make_split(world, world.listens, world.listens.iloc[:0], world.n_weeks)
        model.train_ = model.split_.train
        model.train_.confidence = model.train_.scaled = None   # as a fitted model: see _drop_after_cf
        model.cf_ = model._als()
        for name, value in arrays.items():
            if name.startswith("cf."):
                setattr(model.cf_, name[3:], value)
        for name, value in meta.get("cf", {}).items():
            setattr(model.cf_, name, list(value))
        X, Y = getattr(model.cf_, "user_factors_", None), getattr(model.cf_, "item_factors_", None)
        if X is None or Y is None or X.shape[0] != n_users or Y.shape[0] != n_tracks or X.shape[1] != Y.shape[1]:
            raise ValueError(f"the stored CF factors do not fit this world ({n_users} users, {n_tracks} tracks)")
        model.culture_ = None
        model.artist_culture_ = None
        if "culture.artist_ids" in arrays:
            shape = tuple(int(v) for v in arrays["culture.shape"])
            vectors = sp.csr_matrix((arrays["culture.data"], arrays["culture.indices"], arrays["culture.indptr"]),
                                    shape=shape)
            ids = arrays["culture.artist_ids"]
            adjectives = meta.get("adjectives") or []
            if len(ids) != shape[0] or len(adjectives) != shape[0] or not np.isin(ids, world.artists["artist_id"]).all():
                raise ValueError("the stored cultural vectors do not fit this world's artists")
            model.artist_culture_ = ArtistCulture(ids, vectors, [str(a) for a in adjectives])
        audio = arrays.get("audio_vectors")
        if audio is not None and audio.shape != (n_tracks, Y.shape[1]):
            raise ValueError(f"the stored audio vectors are {audio.shape}, not ({n_tracks}, {Y.shape[1]})")
        model.audio_vectors_ = audio
        labels = arrays.get("validation_labels")
        if labels is not None:
            pairs = {name[len("validation."):]: value for name, value in arrays.items() if name.startswith("validation.")}
            if any(len(v) != len(labels) for v in pairs.values()):
                raise ValueError("the stored blend training pairs and their labels differ in length")
            model.validation_pairs_ = (pairs, labels)
        model.profile_ = profiles(world, model.train_.strength, model.artist_culture_, Y)
        return model

    # -- scoring
    def scores(self, users, *, model: str = "blend") -> np.ndarray:
        """Scores of every track for user positions ``users``: the blend or one model alone.

        ``model`` is "blend", "cf", "text", "audio" (audio vectors + sound) or
        "popularity". Played and unreleased tracks are −∞.
        """
        needed = {"blend": set(self.use) | {"cf", "cold"}, "cf": {"cf"}, "text": {"text"},
                  "popularity": {"popularity"}, "audio": {"audio", "sound"}}
        if model not in needed:
            raise ValueError(f"model must be one of blend, cf, text, audio, popularity; got {model!r}")
        sig = signals(users, cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_,
                      only=needed[model])
        if model == "blend":
            cf = self._mask(np.array(sig["cf"], dtype=float, copy=True), users)
            s = np.where(candidate_pool(cf, self.profile_.cold, size=self.pool), self.blend_.score(sig), -np.inf)
        elif model in ("cf", "text", "popularity"):
            s = np.array(sig[model], dtype=float)
        elif model == "audio":
            z = lambda a: (a - a.mean()) / (a.std() or 1.0)
            s = z(sig["audio"]) + z(sig["sound"]) if self.audio_vectors_ is not None else np.array(sig["sound"])
        return self._mask(self._cold_start(np.array(s, dtype=float, copy=True), users), users)

    def _cold_start(self, s, users):
        """Users with no history get the popularity ranking (labelled as such by :meth:`explain`)."""
        empty = self.train_.preference[users].getnnz(axis=1) == 0
        if empty.any():
            s[empty] = np.log1p(self.profile_.listeners)[None, :]
        return s

    def _mask(self, s, users):
        s[:, ~self.split_.released] = -np.inf
        played = self.train_.preference[users]
        r, c = played.nonzero()
        s[r, c] = -np.inf
        return s

    def recommend(self, users=None, *, model: str = "blend", ordered: bool = True, batch_size: int | None = None,
                  progress: bool = False) -> np.ndarray:
        """Mixtapes (track positions, users × n) for user positions ``users`` (all by default)."""
        users = np.arange(self.train_.shape[0]) if users is None else np.atleast_1d(np.asarray(users))
        tracks = self.world_.tracks
        is_new = self.profile_.cold & self.profile_.new & self.split_.released
        out = np.full((len(users), self.n), -1, dtype=np.int64)
        batch_size = batch_size or default_batch_size(len(tracks))
        starts = range(0, len(users), batch_size)
        if progress:
            starts = tqdm(starts, unit="batch", desc="mixtapes")
        for start in starts:
            batch = users[start:start + batch_size]
            picks = select(self.scores(batch, model=model), track_artist=self.profile_.artist_of_track,
                           is_new=is_new, n=self.n, max_per_artist=self.max_per_artist,
                           new_share=self.new_share if model in ("blend", "audio", "text") else 0.0)
            if ordered:
                picks = listening_order(picks, tracks["tempo"].to_numpy())
            out[start:start + len(batch)] = picks
        return out

    # -- explaining
    def mixtape(self, user_id, *, model: str = "blend", recent_weeks: int = 2) -> pd.DataFrame:
        """One user's mixtape as a table: position, title, artist, genre, tempo, why, and where each score came from.

        Parameters
        ----------
        user_id : int
            A ``user_id`` of the world (not a position).
        model : str
            "blend" or one model alone (see :meth:`scores`).
        recent_weeks : int
            The table's ``attrs`` describe what the listener played in the last
            ``recent_weeks`` observed weeks (for :func:`coursekit.picture.write_picture`).

        Returns
        -------
        pandas.DataFrame
            The columns of :meth:`explain`; ``attrs["recent_genres"]`` (genre →
            share of the recent streams) and ``attrs["recent_tempo"]`` (tempo of
            each recently played song, BPM).

        Raises
        ------
        KeyError
            For an unknown user id, naming the valid range.
        """
        u = self.train_.users.index(user_id)
        picks = self.recommend([u], model=model)[0]
        table = self.explain(u, picks)
        listens = self.world_.listens
        recent = listens[(listens["user_id"] == user_id) & (listens["week"] >= self.world_.n_weeks - recent_weeks)]
        played = self.world_.tracks.set_index("track_id").loc[recent["track_id"], ["genre", "tempo"]]
        streams = recent["streams"].to_numpy(dtype=float)
        genres = pd.Series(streams, index=played["genre"].to_numpy()).groupby(level=0).sum()
        table.attrs["recent_weeks"] = f"weeks {self.world_.n_weeks - recent_weeks}-{self.world_.n_weeks - 1}"
        table.attrs["recent_genres"] = (genres / max(genres.sum(), 1e-12)).sort_values(ascending=False).to_dict()
        table.attrs["recent_tempo"] = [float(t) for t in played["tempo"]]
        return table

    def explain(self, user, picks, *, contributions=None, fair_share: float = 1 / 3) -> pd.DataFrame:
        """The table of :meth:`mixtape` for user position ``user`` and track positions ``picks``.

        Each pick's reason names what the listener knows: a song they play (CF,
        or a song that *sounds like* the pick), an artist they play (the web
        text), or the pick's artist. The reason follows the models'
        contributions to the pick's blended score (their parts above the
        average pair): the listener's history whenever CF gives at least
        ``fair_share`` of the positive contribution (a song they play, or for a
        song too new for CF its artist), otherwise the larger of text and audio.

        Parameters
        ----------
        user : int
            User position.
        picks : array of int
            Track positions (``-1`` padding is dropped).
        contributions : dict, optional
            Signal group (:data:`coursekit.signals.SIGNAL_GROUPS`) → contribution of each pick;
            computed here when not given.
        fair_share : float
            CF's share of the positive contribution from which the reason names
            the listener's history.

        Returns
        -------
        pandas.DataFrame
            ``user_id, position, track_id, title, artist, genre, tempo, new,
            model`` (cf, text, audio or popularity: whose reason), ``reason``
            (what the reason names: "your songs", "the artist", "web text",
            "sound", "popularity"), ``why`` and one ``by <group>`` column per
            signal group: its contribution to the blended score.
        """
        tracks, artists = self.world_.tracks, self.world_.artists
        picks = np.asarray(picks)
        picks = picks[picks >= 0]
        history = self.train_.preference[user].indices
        if contributions is None:
            sig = signals([user], cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_)
            contributions = {g: np.asarray(v)[0, picks] for g, v in self.blend_.group_contributions(sig).items()}
        if len(history) == 0:
            table = self._table(user, picks, ["popular with listeners (no history yet)"] * len(picks),
                                ["popularity"] * len(picks), ["popularity"] * len(picks), contributions)
            table.attrs["note"] = "cold start: no listening history yet, so these are popular and diverse picks"
            return table
        by_model = {m: sum(contributions[g] for g in groups) for m, groups in MODEL_GROUPS.items()}
        positive = {m: np.maximum(v, 0.0) for m, v in by_model.items()}
        total = sum(positive.values())
        Y = self._unit_items
        A = self._unit_audio if self.audio_vectors_ is not None else self.profile_.sound
        artist_name = artists["name"].to_numpy()
        titles = tracks["title"].to_numpy()
        track_artist = self.profile_.artist_of_track
        culture = self.artist_culture_
        reasons, models, kinds = [], [], []
        for k, track in enumerate(picks):
            a = track_artist[track]
            cold = self.profile_.cold[track]
            cf_share = positive["cf"][k] / total[k] if total[k] > 0 else 1.0
            text_ok = culture is not None and self.profile_.documented[a] and positive["text"][k] > 0
            if cf_share >= fair_share:   # for a cold song, CF speaks through its artist
                model = "cf"
            elif text_ok and positive["text"][k] >= positive["audio"][k]:
                model = "text"
            elif positive["audio"][k] > 0:
                model = "audio"
            else:
                model = "cf"
            if model == "text":
                weights = self.profile_.user_artists[user].toarray().ravel() * self.profile_.artist_similarity[:, a]
                like = artist_name[int(np.argmax(weights))]
                reasons.append(f"written about as {self._adjectives(a)}, like {like}, whom you play")
                kinds.append("web text")
            elif model == "audio":
                near = history[np.argmax(A[history] @ A[track])] if self.audio_vectors_ is not None \
                    else history[np.argmin(((A[history] - A[track]) ** 2).sum(axis=1))]
                row = tracks.iloc[track]
                new = ("new release that " if self.profile_.new[track] else "little-known song that ") if cold else ""
                reasons.append(f"{new}sounds like \"{titles[near]}\" by {artist_name[track_artist[near]]}, "
                               f"which you play: {row['tempo']:.0f} BPM, {key_name(row['key'], row['mode'])}")
                kinds.append("sound")
            elif cold:  # CF's voice for a song it cannot place: the artist's other songs
                played_artist = self.profile_.user_artists[user, a] > 0
                what = "new release" if self.profile_.new[track] else "little-known song"
                reasons.append(f"{what} by {artist_name[a]}, " + ("whose songs you play" if played_artist
                                                                 else "played by listeners with your taste"))
                kinds.append("the artist")
            else:
                near = history[np.argmax(Y[history] @ Y[track])]
                reasons.append(f"because you play \"{titles[near]}\" by {artist_name[track_artist[near]]}")
                kinds.append("your songs")
            models.append(model)
        table = self._table(user, picks, reasons, models, kinds, contributions)
        if len(picks) < self.n:
            table.attrs["note"] = (f"only {len(picks)} songs: this listener has heard nearly everything "
                                   f"we could recommend")
        return table

    def listener_types(self, *, one_genre: float = 0.75) -> pd.DataFrame:
        """Each listener's type: activity (light or heavy) and breadth (one genre or several).

        Parameters
        ----------
        one_genre : float
            A listener whose most played genre holds at least this share of
            their r_ui is "one-genre".

        Returns
        -------
        pandas.DataFrame
            One row per user (table order): ``user_id``, ``songs`` (distinct
            songs played), ``activity`` ("light": at most the median number of
            songs, else "heavy"; "none" without history), ``top_genre_share``
            and ``breadth`` ("one-genre" or "multi-genre").
        """
        strength = self.train_.strength
        genre = pd.Categorical(self.world_.tracks["genre"])
        to_genre = sp.csr_matrix((np.ones(len(genre)), (np.arange(len(genre)), genre.codes)),
                                 shape=(len(genre), len(genre.categories)))
        by_genre = np.asarray((strength @ to_genre).todense())
        totals = by_genre.sum(axis=1)
        top = by_genre.max(axis=1) / np.maximum(totals, 1e-12)
        songs = self.train_.preference.getnnz(axis=1)
        median = np.median(songs[songs > 0]) if (songs > 0).any() else 0
        return pd.DataFrame({
            "user_id": self.world_.users["user_id"].to_numpy(),
            "songs": songs,
            "activity": np.where(songs == 0, "none", np.where(songs <= median, "light", "heavy")),
            "top_genre_share": top,
            "breadth": np.where(songs == 0, "none", np.where(top >= one_genre, "one-genre", "multi-genre")),
        })

    def reason_mix(self, table: pd.DataFrame | None = None, *, one_genre: float = 0.75) -> pd.DataFrame:
        """The share of each kind of reason, per listener type.

        Parameters
        ----------
        table : pandas.DataFrame, optional
            Mixtapes with reasons (:meth:`all_mixtapes`, the default).
        one_genre : float
            See :meth:`listener_types`.

        Returns
        -------
        pandas.DataFrame
            Rows: "all", "light", "heavy", "one-genre", "multi-genre" (listeners
            with a history); columns: the reason kinds ("your songs", "the
            artist", "web text", "sound", shares that sum to 1) and ``songs``.
        """
        table = self.all_mixtapes() if table is None else table
        types = self.listener_types(one_genre=one_genre).set_index("user_id").loc[table["user_id"]]
        kinds = table["reason"].to_numpy()
        has_history = types["activity"].to_numpy() != "none"
        rows = {"all": has_history}
        for column in ("activity", "breadth"):
            for value in (("light", "heavy") if column == "activity" else ("one-genre", "multi-genre")):
                rows[value] = types[column].to_numpy() == value
        order = ["your songs", "the artist", "web text", "sound"]
        out = pd.DataFrame({name: pd.Series(kinds[mask]).value_counts(normalize=True) for name, mask in rows.items()})
        out = out.T.reindex(columns=order).fillna(0.0)
        out["songs"] = [int(mask.sum()) for mask in rows.values()]
        return out

    @property
    def _unit_items(self):
        return _unit(self.cf_.item_factors_)

    @property
    def _unit_audio(self):
        return _unit(self.audio_vectors_)

    def _adjectives(self, artist_pos: int) -> str:
        c = self.artist_culture_
        artist_id = int(self.world_.artists["artist_id"].iloc[artist_pos])
        return c.adjectives_[int(np.flatnonzero(c.artist_ids_ == artist_id)[0])]

    def all_mixtapes(self, *, users=None, batch_size: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Every user's mixtape with reasons, one row per song (columns as :meth:`explain`).

        ``users``: user positions (default: all).
        """
        users = np.arange(self.train_.shape[0]) if users is None else np.asarray(users)
        batch_size = batch_size or default_batch_size(len(self.world_.tracks))
        picks = self.recommend(users, batch_size=batch_size, progress=progress)
        tables = []
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            sig = signals(batch, cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_)
            parts = {g: np.asarray(v) for g, v in self.blend_.group_contributions(sig).items()}
            for row, u in enumerate(batch):
                p = picks[start + row][picks[start + row] >= 0]
                tables.append(self.explain(u, p, contributions={g: v[row, p] for g, v in parts.items()}))
        return pd.concat(tables, ignore_index=True)

    def _table(self, user, picks, reasons, models, kinds, contributions) -> pd.DataFrame:
        tracks, artists = self.world_.tracks, self.world_.artists
        rows = tracks.iloc[picks]
        table = pd.DataFrame({
            "user_id": self.train_.users.id(user),
            "position": np.arange(1, len(picks) + 1),
            "track_id": rows["track_id"].to_numpy(),
            "title": rows["title"].to_numpy(),
            "artist": artists["name"].to_numpy()[self.profile_.artist_of_track[picks]],
            "genre": rows["genre"].to_numpy(),
            "tempo": rows["tempo"].to_numpy(),
            "new": (self.profile_.cold & self.profile_.new)[picks],
            "model": models,
            "reason": kinds,
            "why": reasons,
        })
        for group in SIGNAL_GROUPS:
            table[f"by {group}"] = np.asarray(contributions[group], dtype=float)
        return table


def _unit(M):
    return M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)
