"""The baselines every recommender must beat: popularity and chance.

:class:`Popularity` recommends the items the most users played — the same list
for everyone, the "Top 50" nobody personalises; :class:`Random` recommends
items uniformly at random, the floor. Both follow the course's recommender
contract (:mod:`coursekit._base`), so they go wherever ALS goes:
``recommend``, :func:`coursekit.evaluation.recommend_all`, a
:class:`~coursekit.evaluation.Split`.
"""

from __future__ import annotations

import numpy as np

from ._base import Recommender, check_user_items

__all__ = ["Popularity", "Random", "popularity_scores"]


def popularity_scores(user_items) -> np.ndarray:
    """Number of distinct users who played each item.

    Parameters
    ----------
    user_items : scipy.sparse.csr_matrix (n_users, n_items)

    Returns
    -------
    numpy.ndarray of float, shape (n_items,)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> popularity_scores(sp.csr_matrix([[5, 0, 1], [2, 0, 0]])).tolist()
    [2.0, 0.0, 1.0]
    """
    R = check_user_items(user_items)
    return np.bincount(R.indices[R.data > 0], minlength=R.shape[1]).astype(np.float64)


class Popularity(Recommender):
    """Recommend the items the most users played: the same list for everyone.

    Attributes
    ----------
    item_popularity_ : numpy.ndarray, shape (n_items,)
        From :func:`popularity_scores`.
    n_users_, n_items_ : int

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix([[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    >>> Popularity().fit(R).recommend(1, R, N=2).ids.tolist()
    [2, 1]
    """

    def fit(self, user_items) -> "Popularity":
        """Count the users of each item."""
        R = self._fit_shape(user_items)
        self.item_popularity_ = popularity_scores(R)
        return self

    def predict(self, userids) -> np.ndarray:
        """Popularity of every item for each user, shape (len(userids), n_items)."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(userids))
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items_)).copy()


class Random(Recommender):
    """Recommend items uniformly at random.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None, optional
        Seed. Each call to ``predict`` draws fresh scores, so the same seed and
        the same sequence of calls give the same lists.

    Attributes
    ----------
    n_users_, n_items_ : int

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix([[1, 0, 1, 0], [0, 1, 0, 0]])
    >>> Random(random_state=0).fit(R).recommend(0, R, N=2).ids.tolist()
    [1, 3]
    """

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, user_items) -> "Random":
        """Remember the catalogue size and start the random stream."""
        self._fit_shape(user_items)
        self.rng_ = np.random.default_rng(self.random_state)
        return self

    def predict(self, userids) -> np.ndarray:
        """Uniform random scores, shape (len(userids), n_items)."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(userids))
        return self.rng_.random((len(users), self.n_items_))
