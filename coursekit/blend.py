"""The blend: the signals weighed into one score by a model learned on a validation week (chapter 05).

One job: learn how much each of the three models' signals
(:mod:`coursekit.signals`) counts. :func:`candidate_pool` says which tracks
may be ranked for a user (the best few hundred by CF, plus every cold track),
:func:`training_pairs` draws the labelled (user, track) pairs of a validation
week from those pools, and :class:`Blend` is the logistic regression over the
standardised signals whose weights people can read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from .signals import MODEL_GROUPS, SIGNAL_GROUPS, SIGNALS

__all__ = ["Blend", "candidate_pool", "default_batch_size", "training_pairs"]


@dataclass
class Blend:
    """Logistic regression over the signals, learned on a validation week.

    Each user's positives are the unheard tracks they played in the validation
    week; negatives are ``negatives`` unheard, released tracks drawn at random.
    Features are the signals standardised over the training pairs, plus the
    cold-track interactions (``cold × artist``, ``cold × audio``, ``cold × text``,
    ``cold × sound``, ``cold × artist_popularity``, ``cold × new``): for a track
    CF cannot rank, the other signals must speak.

    Attributes (after :meth:`fit`)
    ------------------------------
    features_ : list of str
    mean_, scale_ : numpy.ndarray
        Standardisation of each raw feature.
    weights_ : pandas.Series
        The learned weight of each feature (the blend, for people to read).
    """

    negatives: int = 100
    C: float = 1.0
    random_state: int = 0
    use: tuple = SIGNALS

    def _raw(self, sig: dict) -> dict:
        feats = {k: sig[k] for k in SIGNALS if k in self.use}
        cold = sig["cold"]
        for k in ("artist", "audio", "text", "sound", "artist_popularity"):
            if k in self.use:
                feats[f"cold×{k}"] = cold * sig[k]
        if "new" in self.use:
            feats["cold×new"] = cold * sig["new"]
        return feats

    def fit(self, sig_pairs: dict, labels: np.ndarray) -> "Blend":
        """Fit on per-pair signal vectors (dict of 1-D arrays) and 0/1 labels."""
        raw = self._raw(sig_pairs)
        self.features_ = list(raw)
        X = np.column_stack([raw[k] for k in self.features_])
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        lr = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
        from threadpoolctl import threadpool_limits

        X -= self.mean_   # standardised in place: the same values as (X - mean) / scale, without two copies of X
        X /= self.scale_
        with threadpool_limits(1, "blas"):  # BLAS threads split the solver's sums: one gives the same weights anywhere
            lr.fit(X, labels)
        self.weights_ = pd.Series(lr.coef_[0], index=self.features_, name="weight")
        self.intercept_ = float(lr.intercept_[0])
        return self

    def contributions(self, sig: dict) -> dict:
        """Each feature's weighted, standardised contribution (arrays shaped like the signals)."""
        raw = self._raw(sig)
        return {k: self.weights_[k] * (raw[k] - self.mean_[j]) / self.scale_[j] for j, k in enumerate(self.features_)}

    def score(self, sig: dict) -> np.ndarray:
        """Blended score for every pair in ``sig``: the sum of :meth:`contributions`.

        Computed without building each contribution: the standardisation is
        folded into the coefficients, and features that depend on the track
        alone (broadcast rows, see :func:`coursekit.signals.signals`) are summed as one row.
        """
        coef = self.weights_.to_numpy() / self.scale_
        row = np.zeros(np.shape(sig["cf"])[1]) - float(coef @ self.mean_)
        out = None

        def track_row(a):
            a = np.asarray(a)
            return a[0] if a.ndim == 2 and a.strides[0] == 0 else None

        cold = track_row(sig["cold"])
        for c, name in zip(coef, self.features_):
            base, factor = name, None
            if name.startswith("cold×"):
                base = name.removeprefix("cold×")
                factor = cold if cold is not None else np.asarray(sig["cold"])
            x = sig[base]
            x_row = track_row(x)
            if x_row is not None and (factor is None or factor.ndim == 1):
                row += c * (x_row if factor is None else x_row * factor)
                continue
            term = c * np.asarray(x) if factor is None else np.asarray(x) * (c * factor)
            if out is None:
                out = term
            else:
                out += term
        if out is None:
            return np.broadcast_to(row, np.shape(sig["cf"])).copy()
        out += row
        return out

    def group_contributions(self, sig: dict) -> dict:
        """Contributions summed by signal group (:data:`~coursekit.signals.SIGNAL_GROUPS`); 0 for a group not used."""
        parts = self.contributions(sig)
        shape = np.shape(sig["cf"])
        return {g: sum((np.asarray(parts[k]) for k in keys if k in parts), np.zeros(shape))
                for g, keys in SIGNAL_GROUPS.items()}

    def model_contributions(self, sig: dict) -> dict:
        """Contributions grouped by model (:data:`~coursekit.signals.MODEL_GROUPS`): cf (with artist), text, audio (with sound)."""
        groups = self.group_contributions(sig)
        return {m: sum(groups[g] for g in keys) for m, keys in MODEL_GROUPS.items()}


def candidate_pool(cf_scores: np.ndarray, cold: np.ndarray, *, size: int = 300) -> np.ndarray:
    """Which tracks the blend may rank for each user: the ``size`` best by CF, plus every cold track.

    Real recommenders work in two stages — cheap *candidate generation*, then a
    careful *ranking* of the few hundred candidates. CF proposes the tracks it
    knows; cold tracks (too new for CF) are always candidates, so the audio and
    text models can speak for them. ``cf_scores`` must already be −∞ where a
    track cannot be recommended.
    """
    size = min(size, cf_scores.shape[1])
    top = np.argpartition(-cf_scores, size - 1, axis=1)[:, :size]
    pool = np.zeros(cf_scores.shape, dtype=bool)
    np.put_along_axis(pool, top, True, axis=1)
    pool |= np.asarray(cold, bool)[None, :]
    return pool & np.isfinite(cf_scores)


def default_batch_size(n_tracks: int, *, cells: int = 2_000_000) -> int:
    """Users scored at a time: about ``cells`` (user, track) pairs, at most 256.

    Every signal is a users × tracks array, so a batch's memory grows with both.
    On the ``large`` world (100,000 tracks) this gives 20 users, near the fastest
    batch measured there (``benchmarks/mixtape_large.py``: 16 fastest, 128 ~60 %
    slower and 900 MB of buffers); on ``small`` (5,000 tracks), 256.
    """
    return int(max(1, min(256, cells // max(n_tracks, 1))))


def training_pairs(split, sig_fn, cold, *, negatives: int = 100, pool: int = 300, random_state: int = 0,
                   batch_size: int | None = None, max_users: int | None = None):
    """Signals of (user, track) pairs of a split's candidate pools, and their labels.

    For every user with held-out tracks: the positives are held-out tracks in
    the user's candidate pool (:func:`candidate_pool`); ``negatives`` other pool
    tracks are drawn at random. ``sig_fn(users)`` returns :func:`coursekit.signals.signals`.
    With ``max_users``, a random sample of that many such users (in order) is
    used: fifteen weights need thousands of users, not millions.
    """
    rng = np.random.default_rng(random_state)
    heldout = split.heldout
    users = np.flatnonzero(heldout.getnnz(axis=1) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    heard = split.train.preference
    parts, labels = [], []
    batch_size = batch_size or default_batch_size(heldout.shape[1])
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        sig = sig_fn(batch)
        cf = np.array(sig["cf"], dtype=float)
        r_h, c_h = heard[batch].nonzero()
        cf[r_h, c_h] = -np.inf
        cf[:, ~split.released] = -np.inf
        in_pool = candidate_pool(cf, cold, size=pool)
        positive = heldout[batch].toarray() > 0
        pos_r, pos_c = np.nonzero(positive & in_pool)
        # draw negatives among each user's pool tracks that are not positives (Gumbel top-k)
        eligible = in_pool & ~positive
        keys = np.where(eligible, rng.random(eligible.shape), -1.0)
        neg = np.argpartition(-keys, negatives - 1, axis=1)[:, :negatives]
        neg_r = np.repeat(np.arange(len(batch)), negatives)
        neg_c = neg.ravel()
        ok = eligible[neg_r, neg_c]
        rows = np.concatenate([pos_r, neg_r[ok]])
        cols = np.concatenate([pos_c, neg_c[ok]])
        part = {k: np.asarray(v)[rows, cols] for k, v in sig.items()}
        part["user"] = batch[rows]
        parts.append(part)
        labels.append(np.concatenate([np.ones(len(pos_r)), np.zeros(int(ok.sum()))]))
    # one signal at a time, each batch's part freed as it is joined: the pairs are never held twice
    pairs = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
    return pairs, np.concatenate(labels)
