"""The course's evaluation protocol: train on the past, judge on the next week.

A Discover Weekly is judged by what the listener does *next*: did they play the
songs it offered, among the ones they had never played? Two splits:

* :func:`next_week_split` — train on every observed week, judge on **next week**
  (the truth's week ``n_weeks``), which no model ever sees. The final test.
* :func:`validation_split` — train on weeks ``0 .. n_weeks - 2``, judge on the
  last observed week. Public data only: use it to tune and to learn blends.

In both, the relevant tracks of a user are those they played in the judged week
and never before; tracks not yet released that week cannot be recommended.
The floor and ceiling of :func:`baselines` (random, popularity, an oracle that
ranks by the true affinities) are the range every model is measured in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .feedback import Feedback, build_feedback, heldout_matrix
from .metrics import PopularityRecommender, RandomRecommender, evaluate, recommend_all

__all__ = ["Split", "next_week_split", "validation_split", "baselines"]


@dataclass
class Split:
    """A training log and the week it is judged on.

    Attributes
    ----------
    train : Feedback
        Feedback from the training weeks, over the world's full user and track
        lists (rows and columns in ``users``/``tracks`` table order).
    heldout : scipy.sparse.csr_matrix
        Users × tracks, 1 where the user played a track in the judged week that
        they had not played in training.
    released : numpy.ndarray of bool
        Tracks that exist in the judged week.
    week : int
        The judged week.
    """

    train: Feedback
    heldout: sp.csr_matrix
    released: np.ndarray
    week: int

    def scores(self, model_or_scores, user_ids) -> np.ndarray:
        """Scores for ``user_ids`` with unreleased tracks set to −∞."""
        if isinstance(model_or_scores, np.ndarray):
            s = np.array(model_or_scores[user_ids], dtype=float, copy=True)
        else:
            s = np.asarray(model_or_scores.predict(user_ids), dtype=float).copy()
        s[:, ~self.released] = -np.inf
        return s

    def recommend(self, model_or_scores, n: int = 30, *, batch_size: int = 1024) -> np.ndarray:
        """Top-n unheard, released tracks for every user (users × n track positions)."""
        split = self

        class _Masked:
            def predict(self, user_ids):
                return split.scores(model_or_scores, user_ids)

        return recommend_all(_Masked(), self.train.preference, n, batch_size=batch_size)

    def evaluate(self, recommended, k: int = 30) -> dict:
        """All top-k metrics of :func:`coursekit.metrics.evaluate` on this split."""
        return evaluate(recommended, self.heldout, k)


def _split(world, train_listens: pd.DataFrame, test_listens: pd.DataFrame, week: int, **feedback_kw) -> Split:
    train = build_feedback(train_listens, users=world.users["user_id"], tracks=world.tracks["track_id"], **feedback_kw)
    heldout = heldout_matrix(test_listens, train, only_new=True)
    released = world.tracks["release_week"].to_numpy() <= week
    return Split(train, heldout, released, week)


def next_week_split(world, truth, **feedback_kw) -> Split:
    """Train on all observed weeks; judge on next week's listens (from the truth).

    Extra keyword arguments go to :func:`coursekit.feedback.build_feedback`.
    """
    return _split(world, world.listens, truth.next_week, world.n_weeks, **feedback_kw)


def validation_split(world, **feedback_kw) -> Split:
    """Train on weeks ``0 .. n_weeks - 2``; judge on the last observed week. Public data only."""
    last = world.n_weeks - 1
    listens = world.listens
    return _split(world, listens[listens["week"] < last], listens[listens["week"] == last], last, **feedback_kw)


def baselines(world, truth, *, k: int = 30, random_state: int = 0) -> pd.DataFrame:
    """NDCG and friends at ``k`` for random, popularity and the oracle on the next-week split.

    The oracle ranks each user's unheard, released tracks by the true affinity
    (:meth:`coursekit.world.Truth.affinity`) — the ceiling no model can reach
    without reading the truth; a second oracle ranks by the true discovery
    propensity (affinity plus exposure, :meth:`~coursekit.world.Truth.propensity`).
    """
    split = next_week_split(world, truth)
    R = split.train.preference
    rows = {
        "random": split.recommend(RandomRecommender(random_state=random_state).fit(R), k),
        "popularity": split.recommend(PopularityRecommender().fit(R), k),
    }

    class _Oracle:
        def __init__(self, score):
            self.score = score

        def predict(self, user_ids):
            return self.score(np.asarray(user_ids))

    rows["oracle (true affinity)"] = split.recommend(_Oracle(truth.affinity), k)
    rows["oracle (true propensity)"] = split.recommend(_Oracle(lambda u: truth.propensity(u, split.week)), k)
    return pd.DataFrame([split.evaluate(rec, k) for rec in rows.values()], index=list(rows))


# ---------------------------------------------------------------- where each model adds: sliced hits
def popularity_slices(train_preference, is_new, *, head_share: float = 0.1, tail_share: float = 0.5) -> dict:
    """Split the catalogue into new releases and head / mid / tail by training listeners.

    Parameters
    ----------
    train_preference : scipy.sparse matrix, users × tracks
        p_ui of the training weeks; a track's popularity is its number of listeners.
    is_new : numpy.ndarray of bool, one per track
        New releases. They form their own slice and are left out of the others.
    head_share, tail_share : float
        Shares of the other tracks, ranked by listeners (ties by position), in the
        head (the most played) and in the tail (the least played, tracks nobody
        played included); the rest is the mid.

    Returns
    -------
    dict of str to numpy.ndarray of bool
        ``{"head", "mid", "tail", "new releases"}``: disjoint masks over tracks that
        together cover the catalogue.
    """
    import numpy as np

    listeners = np.asarray((train_preference > 0).sum(axis=0)).ravel()
    is_new = np.asarray(is_new, dtype=bool)
    if is_new.shape != listeners.shape:
        raise ValueError(f"is_new has {is_new.size} entries but train_preference has {listeners.size} tracks")
    if not (0 < head_share and 0 < tail_share and head_share + tail_share < 1):
        raise ValueError(f"head_share and tail_share must be > 0 with a sum below 1; got {head_share}, {tail_share}")
    old = np.flatnonzero(~is_new)
    ranked = old[np.argsort(-listeners[old], kind="stable")]          # most played first
    n_head, n_tail = round(head_share * len(ranked)), round(tail_share * len(ranked))
    masks = {name: np.zeros(len(listeners), dtype=bool) for name in ("head", "mid", "tail")}
    masks["head"][ranked[:n_head]] = True
    masks["mid"][ranked[n_head:len(ranked) - n_tail]] = True
    masks["tail"][ranked[len(ranked) - n_tail:]] = True
    masks["new releases"] = is_new.copy()
    return masks


def activity_slices(train_preference, *, quantile: float = 0.5) -> dict:
    """Split listeners into light and heavy by the number of tracks they played in training.

    ``light``: at most the ``quantile`` of the distinct-track counts (listeners with
    no history included); ``heavy``: the rest. Returns ``{"all", "light", "heavy"}``
    as boolean masks over users.
    """
    import numpy as np

    played = np.asarray((train_preference > 0).sum(axis=1)).ravel()
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1; got {quantile}")
    cut = np.quantile(played, quantile)
    return {"all": np.ones(len(played), dtype=bool), "light": played <= cut, "heavy": played > cut}


def sliced_hits(rankings: dict, heldout, *, track_slices: dict, user_slices: dict | None = None, k: int = 30,
                reference: str | None = None, n_boot: int = 2000, level: float = 0.95,
                random_state: int = 0):
    """Next week's hit rate of several rankings, by slice of tracks and of listeners.

    In every (listener slice, track slice) cell, the listeners counted are those
    with at least one relevant track of that slice, and a listener scores a hit when
    one of those tracks is in their top ``k``: the hit rate@k restricted to the slice
    (so the ``"new releases"`` slice gives the hit rate on new releases). Against a
    ``reference`` ranking, each other ranking gets the paired difference (the mean
    over the same listeners of its 0/1 hit minus the reference's) with a percentile
    bootstrap interval over listeners.

    Parameters
    ----------
    rankings : dict of str to numpy.ndarray
        Name -> users × ≥k track positions, best first; −1 marks an empty place.
    heldout : scipy.sparse matrix, users × tracks
        The relevant tracks (next week's discoveries).
    track_slices : dict of str to numpy.ndarray of bool
        Masks over tracks (e.g. :func:`popularity_slices`).
    user_slices : dict of str to numpy.ndarray of bool, optional
        Masks over users (e.g. :func:`activity_slices`); default: all users.
    k : int
        Length of the list that counts.
    reference : str, optional
        The ranking the others are compared with, listener by listener.
    n_boot : int
        Bootstrap resamples of the listeners.
    level : float
        Coverage of the interval (0.95: the 2.5th to the 97.5th percentile).
    random_state : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per (listeners, tracks, system) with the columns ``users`` (listeners
        counted), ``hit_rate``, and, with a reference, ``diff``, ``ci_low`` and
        ``ci_high`` (NaN for the reference itself).

    Raises
    ------
    ValueError
        If a ranking, a mask or ``reference`` does not fit ``heldout``.
    """
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    H = sp.csr_matrix(heldout)
    n_users, n_tracks = H.shape
    user_slices = user_slices if user_slices is not None else {"all": np.ones(n_users, dtype=bool)}
    if reference is not None and reference not in rankings:
        raise ValueError(f"reference {reference!r} is not one of the rankings: {sorted(rankings)}")
    for name, recs in rankings.items():
        recs = np.asarray(recs)
        if recs.ndim != 2 or recs.shape[0] != n_users or recs.shape[1] < k:
            raise ValueError(f"ranking {name!r} has shape {recs.shape}; it needs {n_users} rows and at least k = {k} "
                             "columns (users × track positions)")
    for kind, slices, size in (("track", track_slices, n_tracks), ("user", user_slices, n_users)):
        for name, mask in slices.items():
            if np.asarray(mask).shape != (size,):
                raise ValueError(f"{kind} slice {name!r} has shape {np.asarray(mask).shape}; it needs one entry per "
                                 f"{kind} ({size})")
    rng = np.random.default_rng(random_state)
    hit_in = {}                                        # system -> users × tracks 0/1 of hits in the top k
    for name, recs in rankings.items():
        top = np.asarray(recs)[:, :k]
        rows, cols = np.nonzero(top >= 0)
        hit_in[name] = sp.csr_matrix((np.ones(len(rows)), (rows, top[rows, cols])), shape=H.shape).multiply(H).tocsc()
    H = H.tocsc()
    records = []
    for tname, tmask in track_slices.items():
        cols = np.flatnonzero(np.asarray(tmask, dtype=bool))
        relevant = np.asarray(H[:, cols].sum(axis=1)).ravel() > 0
        hits = {name: np.asarray(m[:, cols].sum(axis=1)).ravel() > 0 for name, m in hit_in.items()}
        for uname, umask in user_slices.items():
            who = np.asarray(umask, dtype=bool) & relevant
            n = int(who.sum())
            idx = rng.integers(0, n, size=(n_boot, n)) if (reference is not None and n > 0) else None
            for name in rankings:
                row = {"listeners": uname, "tracks": tname, "system": name, "users": n,
                       "hit_rate": float(hits[name][who].mean()) if n else np.nan}
                if reference is not None:
                    row.update(diff=np.nan, ci_low=np.nan, ci_high=np.nan)
                    if name != reference and n:
                        d = hits[name][who].astype(float) - hits[reference][who]
                        boot = d[idx].mean(axis=1)
                        tail = 100 * (1 - level) / 2
                        row.update(diff=float(d.mean()), ci_low=float(np.percentile(boot, tail)),
                                   ci_high=float(np.percentile(boot, 100 - tail)))
                records.append(row)
    return pd.DataFrame.from_records(records)
