"""The course's evaluation protocols: train on the past, judge on what comes next.

A Discover Weekly is judged by what the listener does *next*: did they play the
songs it offered, among the ones they had never played? Three splits:

* :func:`next_week_split` — train on every observed week, judge on **next week**
  (the truth's week ``n_weeks``), which no model ever sees. The final test.
* :func:`validation_split` — train on weeks ``0 .. n_weeks - 2``, judge on the
  last observed week. Public data only: use it to tune and to learn blends.
* :func:`cold_start_split` — hold out tracks (and whole artists) as new
  releases with no listens, for the audio model of chapter 04 (judged with
  :func:`coursekit.metrics.cold_start_table`; nothing here imports TensorFlow).

In the first two, the relevant tracks of a user are those they played in the
judged week and never before; tracks not yet released that week cannot be
recommended (:func:`make_split` builds such a split from any two logs). The
floor and ceiling of :func:`baselines` (random, popularity, an oracle that ranks
by the true affinities) are the range every model is measured in.
:func:`recommend_all` gives any model's (or score matrix's) top-N lists for
every user, a batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._base import recommend_all, score_users
from .baselines import Popularity, Random
from .feedback import Feedback, build_feedback, heldout_matrix
from .metrics import evaluate

__all__ = [
    "ColdStartSplit",
    "Split",
    "baselines",
    "cold_start_split",
    "make_split",
    "next_week_split",
    "recommend_all",
    "validation_split",
]


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

    def scores(self, model_or_scores, userids) -> np.ndarray:
        """Scores for the rows ``userids`` with unreleased tracks set to −∞."""
        s = score_users(model_or_scores, userids)
        s[:, ~self.released] = -np.inf
        return s

    def recommend(self, model_or_scores, N: int = 30, *, batch_size: int = 1024, progress=False) -> np.ndarray:
        """Top-N unheard, released tracks for every user (users × N track positions), by :func:`recommend_all`."""
        split = self

        class _Masked:
            def predict(self, userids):
                return split.scores(model_or_scores, userids)

        return recommend_all(_Masked(), self.train.preference, N, batch_size=batch_size, progress=progress)

    def evaluate(self, recommended, k: int = 30) -> dict:
        """All top-k metrics of :func:`coursekit.metrics.evaluate` on this split."""
        return evaluate(recommended, self.heldout, k)


def make_split(world, train_listens: pd.DataFrame, test_listens: pd.DataFrame, week: int, **feedback_kw) -> Split:
    """Train on ``train_listens``; judge on the tracks first played in ``test_listens``.

    Parameters
    ----------
    world : coursekit.world.World
        Gives the user and track lists (the rows and columns) and release weeks.
    train_listens, test_listens : pandas.DataFrame
        Listens (``world.listens``' columns) to learn from and to judge on.
    week : int
        The judged week: tracks released later cannot be recommended.
    **feedback_kw
        Passed to :func:`coursekit.feedback.build_feedback`.

    Returns
    -------
    Split
    """
    train = build_feedback(train_listens, users=world.users["user_id"], tracks=world.tracks["track_id"], **feedback_kw)
    heldout = heldout_matrix(test_listens, train, only_new=True)
    released = world.tracks["release_week"].to_numpy() <= week
    return Split(train, heldout, released, week)


def next_week_split(world, truth, **feedback_kw) -> Split:
    """Train on all observed weeks; judge on next week's listens (from the truth).

    Extra keyword arguments go to :func:`coursekit.feedback.build_feedback`.
    """
    return make_split(world, world.listens, truth.next_week, world.n_weeks, **feedback_kw)


def validation_split(world, **feedback_kw) -> Split:
    """Train on weeks ``0 .. n_weeks - 2``; judge on the last observed week. Public data only."""
    last = world.n_weeks - 1
    listens = world.listens
    return make_split(world, listens[listens["week"] < last], listens[listens["week"] == last], last, **feedback_kw)


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
        "random": split.recommend(Random(random_state=random_state).fit(R), k),
        "popularity": split.recommend(Popularity().fit(R), k),
    }

    class _Oracle:
        def __init__(self, score):
            self.score = score

        def predict(self, userids):
            return self.score(np.asarray(userids))

    rows["oracle (true affinity)"] = split.recommend(_Oracle(truth.affinity), k)
    rows["oracle (true propensity)"] = split.recommend(_Oracle(lambda u: truth.propensity(u, split.week)), k)
    return pd.DataFrame([split.evaluate(rec, k) for rec in rows.values()], index=list(rows))


# ---------------------------------------------------------------------- cold start


@dataclass
class ColdStartSplit:
    """Tracks the CNN learns from, and tracks treated as new releases.

    Attributes
    ----------
    train : ndarray of bool, shape (n_tracks,)
        Tracks to train on: not held out, with at least ``min_listeners``
        listeners (capped at ``n_train``).
    heldout : ndarray of bool, shape (n_tracks,)
        Held-out tracks ("new releases"): their listens are removed.
    heldout_artist : ndarray of bool, shape (n_tracks,)
        The held-out tracks whose whole artist is held out (no track of the
        artist is ever seen), a subset of ``heldout``.
    listens : pandas.DataFrame
        The public listens without the held-out tracks': what ALS is fit on.
    heldout_listens : pandas.DataFrame
        The removed listens (to fold the held-out tracks into ALS afterwards
        and compare: the vectors CF would give them once they have listeners).
    listeners : ndarray of int, shape (n_tracks,)
        Distinct listeners of every track in the public listens.
    artist_listeners : ndarray of int, shape (n_tracks,)
        Distinct listeners of each track's artist in ``listens`` (its other,
        known tracks): what a popularity ranking of new releases can go by; 0
        for the tracks of held-out artists.
    """

    train: np.ndarray
    heldout: np.ndarray
    heldout_artist: np.ndarray
    listens: pd.DataFrame
    heldout_listens: pd.DataFrame
    listeners: np.ndarray
    artist_listeners: np.ndarray


def cold_start_split(world, *, artist_share: float = 0.05, track_share: float = 0.05, min_listeners: int = 10,
                     n_train: int | None = None, random_state: int = 0) -> ColdStartSplit:
    """Hold out tracks, by track and by whole artist, as new releases with no listens.

    Parameters
    ----------
    world : coursekit.world.World
    artist_share : float, optional
        Share of artists whose every track is held out.
    track_share : float, optional
        Share of the other tracks held out one by one.
    min_listeners : int, optional
        Fewest listeners a track needs to be a training track (its ALS vector
        is then worth learning).
    n_train : int, optional
        Most training tracks (a random subset, for a quick notebook); ``None``: no cap.
    random_state : int, optional

    Returns
    -------
    ColdStartSplit
    """
    for name, share in (("artist_share", artist_share), ("track_share", track_share)):
        if not 0 < share < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {share}")
    rng = np.random.default_rng(random_state)
    tracks, listens = world.tracks, world.listens
    track_id = tracks["track_id"].to_numpy()
    listeners = (listens.groupby("track_id")["user_id"].nunique()
                 .reindex(track_id, fill_value=0).to_numpy())
    artists = world.artists["artist_id"].to_numpy()
    held_artists = rng.choice(artists, size=max(1, int(round(artist_share * len(artists)))), replace=False)
    by_artist = tracks["artist_id"].isin(held_artists).to_numpy()
    single = np.zeros(len(tracks), bool)
    others = np.flatnonzero(~by_artist)
    single[rng.choice(others, size=max(1, int(round(track_share * len(others)))), replace=False)] = True
    heldout = by_artist | single
    train = ~heldout & (listeners >= min_listeners)
    if n_train is not None and train.sum() > n_train:
        idx = np.flatnonzero(train)
        train[:] = False
        train[rng.choice(idx, size=n_train, replace=False)] = True
    removed = listens["track_id"].isin(track_id[heldout]).to_numpy()
    known = listens[~removed]
    artist_of = pd.Series(tracks["artist_id"].to_numpy(), index=track_id)
    per_artist = known.groupby(artist_of.reindex(known["track_id"]).to_numpy())["user_id"].nunique()
    artist_listeners = per_artist.reindex(tracks["artist_id"].to_numpy(), fill_value=0).to_numpy()
    return ColdStartSplit(train=train, heldout=heldout, heldout_artist=by_artist, listens=known,
                          heldout_listens=listens[removed], listeners=listeners, artist_listeners=artist_listeners)


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
