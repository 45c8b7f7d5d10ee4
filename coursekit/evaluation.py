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
