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
