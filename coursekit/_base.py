"""The one recommender contract every model of the course follows.

Every recommender here — from-scratch ALS, implicit's ALS, Spark's ALS and the
baselines — reads the same input and answers the same questions, with
`implicit <https://github.com/benfred/implicit>`_'s argument names and
scikit-learn's estimator habits:

* input: a ``scipy.sparse`` CSR matrix, users × items, of interaction
  strengths ``r_ui ≥ 0`` (:func:`check_user_items`);
* ``fit(user_items)`` returns the estimator; what it learned ends in ``_``;
  hyperparameters live in ``__init__``, so ``get_params``, ``set_params``,
  ``sklearn.base.clone`` and the repr work (scikit-learn's ``BaseEstimator``);
  using a model before ``fit`` raises ``sklearn.exceptions.NotFittedError``;
* ``predict(userids, itemids=None)`` scores items, ``recommend(userid,
  user_items, N=10, filter_already_liked_items=True)`` ranks them
  (:class:`Recommendations`), and the factor models add ``similar_items`` /
  ``similar_users`` (:class:`Neighbours`).

Names: ``userid``/``itemid`` (and ``userids``/``itemids``) are **positions** —
rows and columns of ``user_items``; ``user_id``/``track_id`` elsewhere in the
course are the world's ids (columns of its tables).

The helpers every model shares live here once: :func:`top_n` (the best N of a
score vector by ``numpy.argpartition``), :func:`unit_rows` (row normalisation),
:func:`recommend_all` (top-N lists for many users, a batch at a time) and
:func:`progress_bar` (the course's one ``progress`` convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

__all__ = [
    "FactorRecommender",
    "Neighbours",
    "NotFittedError",
    "Recommendations",
    "Recommender",
    "check_int",
    "check_user_items",
    "progress_bar",
    "recommend_all",
    "score_users",
    "top_n",
    "unit_rows",
]

#: Largest interaction strength accepted. Squares of larger values overflow
#: float64 sums long before they mean anything (a stream count of 1e12 already
#: would be more plays than there are people).
MAX_STRENGTH = 1e12


# --------------------------------------------------------------------------- checks


def check_int(value, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError that names ``name``.

    Examples
    --------
    >>> check_int(3, "N")
    3
    >>> check_int(0, "N")
    Traceback (most recent call last):
    ...
    ValueError: N must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _count(n: int, what: str, after: str = "") -> str:
    """``3 NaN values``, ``1 value above 1e12``."""
    return f"{n} {what}{'s' * (n != 1)}{after}"


def check_user_items(user_items, *, name: str = "user_items", n_users: int | None = None,
                     n_items: int | None = None) -> sp.csr_matrix:
    """Check an interaction matrix and return it as a float64 CSR matrix.

    Parameters
    ----------
    user_items : scipy.sparse.csr_matrix or csr_array, shape (n_users, n_items)
        Interaction strengths ``0 <= r_ui <= 1e12``, users in rows, items in columns.
    name : str, optional
        What to call the matrix in error messages.
    n_users, n_items : int, optional
        The number of rows and columns it must have, where they are known (a
        fitted model, the id maps of a world). A matrix that has them the other
        way round is recognised as items × users.

    Returns
    -------
    scipy.sparse.csr_matrix
        A copy with float64 values, sorted indices and duplicates summed (the
        input is never modified).

    Raises
    ------
    TypeError
        If the input is dense, not a matrix, a sparse matrix in another format,
        or holds no numbers; the message says how to convert it.
    ValueError
        If it has no rows or no columns, the wrong shape, or NaN, infinite,
        negative or huge (> 1e12) values (the message counts them).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> check_user_items(sp.csr_matrix(np.eye(2))).shape
    (2, 2)
    >>> check_user_items(sp.csr_matrix(np.ones((3, 2))), n_users=2, n_items=3)
    Traceback (most recent call last):
    ...
    ValueError: user_items has shape (3, 2) but (2, 3) (users x items) was expected; it looks like items x users: pass user_items.T.tocsr()
    """
    if not sp.issparse(user_items):
        shape = getattr(user_items, "shape", None)
        given = type(user_items).__name__ + (f" of shape {shape}" if shape is not None else "")
        raise TypeError(
            f"{name} must be a scipy.sparse CSR matrix (users x items), got a dense {given}; "
            f"convert it with scipy.sparse.csr_matrix({name})"
        )
    if user_items.format != "csr":
        raise TypeError(
            f"{name} must be a scipy.sparse CSR matrix (users x items), got a "
            f"{user_items.format.upper()} {type(user_items).__name__}; convert it with {name}.tocsr()"
        )
    if user_items.ndim != 2:
        raise ValueError(f"{name} must be 2-D (users x items), got {user_items.ndim}-D")
    if not (np.issubdtype(user_items.dtype, np.number) or user_items.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {user_items.dtype}")
    if np.issubdtype(user_items.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {user_items.dtype}")
    if min(user_items.shape) == 0:
        raise ValueError(f"{name} has shape {user_items.shape}: it needs at least one user (row) and one item (column)")
    expected = (n_users if n_users is not None else user_items.shape[0],
                n_items if n_items is not None else user_items.shape[1])
    if user_items.shape != expected:
        hint = ""
        if user_items.shape == expected[::-1]:
            hint = f"; it looks like items x users: pass {name}.T.tocsr()"
        raise ValueError(f"{name} has shape {user_items.shape} but {expected} (users x items) was expected{hint}")
    R = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
    R.sum_duplicates()  # also sorts the indices
    r = R.data
    problems = []
    for count, what, after in ((int(np.isnan(r).sum()), "NaN value", ""),
                               (int(np.isinf(r).sum()), "infinite value", ""),
                               (int((r < 0).sum()), "negative value", ""),
                               (int((r > MAX_STRENGTH).sum()), "value", " above 1e12")):
        if count:
            problems.append(_count(count, what, after))
    if problems:
        raise ValueError(f"{name} must hold finite interaction strengths 0 <= r_ui <= 1e12, but it has "
                         + ", ".join(problems))
    return R


def _played(R: sp.csr_matrix) -> sp.csr_matrix:
    """``R`` without its stored zeros: the entries a user really played."""
    P = R.copy()
    P.eliminate_zeros()
    return P


def _check_positions(ids, n: int, name: str) -> np.ndarray:
    """Integer positions in 0..n-1, as an array of the input's shape."""
    a = np.asarray(ids)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer positions, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise IndexError(f"{name} must lie in 0..{n - 1}, got {a.min()}..{a.max()}")
    return a.astype(np.int64, copy=False)


# -------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Recommendations:
    """Top-N items for one user (1-D arrays) or for several (2-D, one row a user).

    Unpacks like implicit's result: ``ids, scores = model.recommend(...)``.

    Attributes
    ----------
    ids : numpy.ndarray of int, shape (N,) or (n_users, N)
        Item positions, best first. For several users, -1 pads a list where
        fewer than N items were left to recommend.
    scores : numpy.ndarray of float, same shape
        The model's score for each item (−inf on the padding) or, where
        ``fallback`` is true, the item's popularity.
    fallback : bool or numpy.ndarray of bool
        True where the user had no interactions, so the list is the popularity
        ranking rather than the model's.
    """

    ids: np.ndarray
    scores: np.ndarray
    fallback: bool | np.ndarray = False

    def __iter__(self):
        return iter((self.ids, self.scores))


class Neighbours(NamedTuple):
    """The nearest vectors to a query, most similar first.

    A named tuple: ``ids, scores = model.similar_items(...)`` unpacks it.

    Attributes
    ----------
    ids : numpy.ndarray of int, shape (N,) or (n_queries, N)
        Positions of the neighbours.
    scores : numpy.ndarray of float, same shape
        Their cosine similarity with the query.
    """

    ids: np.ndarray
    scores: np.ndarray


# ------------------------------------------------------------------------ arithmetic


def top_n(scores, N: int):
    """The N highest scores of a vector (or of each row), best first.

    ``numpy.argpartition`` finds the N best in linear time, and only those N are
    sorted; equal scores go to the lower position first (also at the cut-off),
    NaN ranks last.

    Parameters
    ----------
    scores : array_like, shape (n,) or (n_rows, n)
    N : int
        How many to keep (all of them if there are fewer).

    Returns
    -------
    ids : numpy.ndarray of int, shape (min(N, n),) or (n_rows, min(N, n))
    values : numpy.ndarray, same shape
        ``scores`` at ``ids``.

    Raises
    ------
    ValueError
        If N is not an integer >= 1.

    Examples
    --------
    >>> ids, values = top_n([0.1, 0.9, 0.5, 0.9], 3)
    >>> ids.tolist(), values.tolist()
    ([1, 3, 2], [0.9, 0.9, 0.5])
    """
    N = check_int(N, "N")
    S = np.asarray(scores)
    if S.ndim not in (1, 2):
        raise ValueError(f"scores must be 1-D or 2-D, got shape {S.shape}")
    S2 = S[None, :] if S.ndim == 1 else S
    if S2.dtype.kind == "f" and np.isnan(S2).any():
        S2 = np.where(np.isnan(S2), -np.inf, S2)  # NaN ranks last
    n = S2.shape[1]
    width = min(N, n)
    if width < n:
        part = np.argpartition(-S2, width - 1, axis=1)[:, :width]
        # the N-th best value, and which positions make the cut: all better ones, and of
        # those equal to it the lowest positions (argpartition alone picks ties arbitrarily)
        kth = np.take_along_axis(S2, part, axis=1).min(axis=1, keepdims=True)
        better = S2 > kth
        tied = S2 == kth
        chosen = better | (tied & (np.cumsum(tied, axis=1) <= width - better.sum(axis=1, keepdims=True)))
        ids = np.nonzero(chosen)[1].reshape(len(S2), width)
    else:
        ids = np.broadcast_to(np.arange(n), S2.shape)
    values = np.take_along_axis(S2, ids, axis=1)
    order = np.lexsort((ids, -values), axis=-1)  # by score, then by position
    ids = np.take_along_axis(ids, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    return (ids[0], values[0]) if S.ndim == 1 else (ids, values)


def unit_rows(vectors) -> np.ndarray:
    """Each row scaled to unit length; all-zero rows stay zero.

    Parameters
    ----------
    vectors : array_like, shape (d,) or (n, d)

    Returns
    -------
    numpy.ndarray of float64, same shape

    Raises
    ------
    ValueError
        If a value is NaN or infinite.

    Examples
    --------
    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]]).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    V = np.asarray(vectors, dtype=np.float64)
    if not np.isfinite(V).all():
        raise ValueError(f"vectors must be finite, got {int((~np.isfinite(V)).sum())} NaN or infinite values")
    norms = np.linalg.norm(V, axis=-1, keepdims=True)
    return np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)


# -------------------------------------------------------------------------- progress


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(progress, *, total: int, desc: str | None = None, unit: str = "it"):
    """The course's one ``progress`` convention, as a bar to ``update()`` and ``close()``.

    Parameters
    ----------
    progress : bool or callable
        False (or None): no bar. True: a ``tqdm.auto`` bar (on stderr, or a
        widget in a notebook). A callable: called like ``tqdm`` with ``total=``,
        ``desc=`` and ``unit=`` (e.g. ``functools.partial(tqdm, leave=False)``).
    total : int
        Steps to come.
    desc, unit : str, optional
        Label and unit of the bar.

    Returns
    -------
    object with ``update(n)`` and ``close()``
    """
    if progress is None or progress is False:
        return _NoBar()
    if progress is True:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit)
    if callable(progress):
        return progress(total=total, desc=desc, unit=unit)
    raise TypeError(f"progress must be a bool or a tqdm-like callable, got {type(progress).__name__}")


# ---------------------------------------------------------------------- many users


def score_users(model_or_scores, userids) -> np.ndarray:
    """Scores of every item for ``userids``: rows of a score matrix, or ``model.predict(userids)``.

    Parameters
    ----------
    model_or_scores : object with ``predict(userids)``, or numpy.ndarray (n_users, n_items)
    userids : array_like of int

    Returns
    -------
    numpy.ndarray of float64, shape (len(userids), n_items)
        A fresh array (safe to modify).
    """
    if isinstance(model_or_scores, np.ndarray):
        return np.array(model_or_scores[userids], dtype=np.float64)
    return np.array(model_or_scores.predict(userids), dtype=np.float64)


def recommend_all(model_or_scores, user_items, N: int, *, filter_already_liked_items: bool = True, userids=None,
                  batch_size: int = 1024, progress=False) -> np.ndarray:
    """Top-N items for many users, a batch of users at a time.

    For each batch: one score matrix (``model.predict(batch)``, a matrix product
    for the factor models), already-played items set to −∞, and :func:`top_n`
    — no loop over users.

    Parameters
    ----------
    model_or_scores : object with ``predict(userids)``, or numpy.ndarray (n_users, n_items)
        A fitted model or precomputed scores.
    user_items : scipy.sparse.csr_matrix (n_users, n_items)
        Training interactions, for the filtering (and the shape).
    N : int
        List length.
    filter_already_liked_items : bool, optional
        Leave out items the user already played.
    userids : array_like of int, optional
        Users (rows of ``user_items``) to recommend for; all by default.
    batch_size : int, optional
        Users per batch (memory: batch_size x n_items floats).
    progress : bool or callable, optional
        A progress bar over the batches (see :func:`progress_bar`).

    Returns
    -------
    numpy.ndarray of int, shape (len(userids), N)
        Item positions, best first; -1 where a user has fewer than N unplayed
        items. Models rank users without history as they are (no popularity
        fallback here; see ``recommend``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    >>> played = sp.csr_matrix([[0, 1, 0], [0, 0, 0]])
    >>> recommend_all(scores, played, 2).tolist()
    [[2, 0], [0, 1]]
    """
    R = check_user_items(user_items)
    n_users, n_items = R.shape
    N = check_int(N, "N")
    batch_size = check_int(batch_size, "batch_size")
    users = np.arange(n_users) if userids is None else _check_positions(np.reshape(userids, -1), n_users, "userids")
    width = min(N, n_items)
    out = np.full((len(users), N), -1, dtype=np.int64)
    bar = progress_bar(progress, total=-(-len(users) // batch_size), desc="recommend", unit="batch")
    try:
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            scores = score_users(model_or_scores, batch)
            if scores.shape != (len(batch), n_items):
                raise ValueError(
                    f"scores for {len(batch)} users must have shape {(len(batch), n_items)}, got {scores.shape}"
                )
            if filter_already_liked_items:
                rows, cols = _played(R[batch]).nonzero()
                scores[rows, cols] = -np.inf
            top, top_scores = top_n(scores, width)
            top[top_scores == -np.inf] = -1
            out[start : start + len(batch), :width] = top
            bar.update(1)
    finally:
        bar.close()
    return out


# ----------------------------------------------------------------------- the bases


class Recommender(BaseEstimator):
    """What every recommender does once it can ``predict``: validate, recommend.

    A subclass sets its hyperparameters in ``__init__`` (stored unchanged),
    implements ``fit(user_items)`` (calling :meth:`_fit_shape` first) and
    ``predict(userids)`` (scores of every item, one row per user).

    Attributes
    ----------
    n_users_, n_items_ : int
        The shape of the matrix it was fitted on.
    """

    def _check_fitted(self):
        if getattr(self, "n_items_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(user_items) first")

    def _fit_shape(self, user_items) -> sp.csr_matrix:
        R = check_user_items(user_items)
        self.n_users_, self.n_items_ = R.shape
        return R

    def _check_position(self, value, name: str, n: int, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer {what[:-1]} position, got {type(value).__name__}")
        if not 0 <= value < n:
            raise IndexError(f"{name} {value} is out of range: the model was fit on {n} {what} "
                             f"(valid {'rows' if what == 'users' else 'columns'} 0..{n - 1})")
        return int(value)

    def _check_userid(self, userid) -> int:
        self._check_fitted()
        return self._check_position(userid, "userid", self.n_users_, "users")

    def _check_itemid(self, itemid) -> int:
        self._check_fitted()
        return self._check_position(itemid, "itemid", self.n_items_, "items")

    def _rows_for(self, users: np.ndarray, user_items, single: bool) -> sp.csr_matrix:
        """The played rows of ``users``: ``user_items`` is the full matrix or just their rows."""
        R = check_user_items(user_items)
        if R.shape[1] != self.n_items_:
            hint = ""
            if R.shape == (self.n_items_, self.n_users_):
                hint = "; it looks like items x users: pass user_items.T.tocsr()"
            raise ValueError(f"user_items has {R.shape[1]} columns but the model was fit on {self.n_items_} items "
                             f"(expected users x items, got shape {R.shape}){hint}")
        if R.shape[0] == len(users) and (single or R.shape[0] != self.n_users_ or np.array_equal(
                users, np.arange(self.n_users_))):
            return R
        if R.shape[0] == self.n_users_:
            return R[users]
        own = "the user's own row (1" if single else f"the users' own rows ({len(users)}"
        raise ValueError(f"user_items must be {own} x {self.n_items_}) or the full matrix "
                         f"({self.n_users_} x {self.n_items_}), got shape {R.shape}")

    def _recommend_scores(self, users: np.ndarray, rows: sp.csr_matrix):
        """Scores of every item for ``users`` (whose played rows are ``rows``) and who fell back."""
        return np.array(self.predict(users), dtype=np.float64).reshape(len(users), -1), np.zeros(len(users), bool)

    def recommend(self, userid, user_items, *, N: int = 10, filter_already_liked_items: bool = True
                  ) -> Recommendations:
        """The user's top-N items, best first (like ``implicit``'s ``recommend``).

        Parameters
        ----------
        userid : int or array_like of int
            Row(s) of the training matrix.
        user_items : scipy.sparse.csr_matrix
            The full users x items matrix, or just the rows of ``userid`` (in its
            order, as implicit takes them; with as many ``userid`` as the model
            has users, a matrix of that height is read as the full matrix); its
            non-zeros are what each user already played.
        N : int, optional
            How many items to return.
        filter_already_liked_items : bool, optional
            Leave out items the user already played.

        Returns
        -------
        Recommendations
            ``ids`` and ``scores`` (unpack as ``ids, scores = ...``) and
            ``fallback``. For one user, 1-D arrays (fewer than N items if fewer
            are left after filtering); for several, 2-D padded with id -1.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        IndexError
            If ``userid`` is not a row of the fitted model.
        ValueError
            If ``N`` < 1 or ``user_items`` has the wrong shape (e.g. items x users).
        """
        self._check_fitted()
        N = check_int(N, "N")
        single = np.ndim(userid) == 0
        users = np.array([self._check_userid(userid)]) if single else _check_positions(
            np.reshape(userid, -1), self.n_users_, "userid")
        rows = self._rows_for(users, user_items, single)
        scores, fallback = self._recommend_scores(users, rows)
        if filter_already_liked_items:
            r, c = _played(rows).nonzero()
            scores[r, c] = -np.inf
        ids, top = top_n(scores, N)
        if single:
            keep = top[0] > -np.inf
            return Recommendations(ids=ids[0][keep], scores=top[0][keep], fallback=bool(fallback[0]))
        ids = np.where(top > -np.inf, ids, -1)
        if ids.shape[1] < N:
            ids = np.pad(ids, ((0, 0), (0, N - ids.shape[1])), constant_values=-1)
            top = np.pad(top, ((0, 0), (0, N - top.shape[1])), constant_values=-np.inf)
        return Recommendations(ids=ids, scores=top, fallback=fallback)


class FactorRecommender(Recommender):
    """A recommender whose scores are s_ui = x_uᵀy_i + β_u + β_i.

    A subclass's ``fit`` sets ``user_factors_`` (n_users x f), ``item_factors_``
    (n_items x f) and may set ``user_biases_`` and ``item_biases_`` (zeros when
    absent), ``item_popularity_`` (the ranking for users without history; no
    fallback when absent) and ``user_activity_`` (items each training user played).
    """

    def _check_fitted(self):
        if getattr(self, "user_factors_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(user_items) first")

    @property
    def n_users_(self) -> int:
        self._check_fitted()
        return self.user_factors_.shape[0]

    @property
    def n_items_(self) -> int:
        self._check_fitted()
        return self.item_factors_.shape[0]

    def _biases(self):
        bu = getattr(self, "user_biases_", None)
        bi = getattr(self, "item_biases_", None)
        return (np.zeros(self.n_users_) if bu is None else bu), (np.zeros(self.n_items_) if bi is None else bi)

    def _remember_training(self, R: sp.csr_matrix):
        """Set ``item_popularity_`` and ``user_activity_`` from the training matrix."""
        positive = R.data > 0
        rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
        self.user_activity_ = np.bincount(rows[positive], minlength=R.shape[0])
        self.item_popularity_ = np.bincount(R.indices[positive], minlength=R.shape[1]).astype(np.float64)

    def predict(self, userids, itemids=None) -> np.ndarray:
        """Predicted preference s_ui = x_uᵀy_i + β_u + β_i.

        Parameters
        ----------
        userids : int or array_like of int
            Rows to score.
        itemids : array_like of int, optional
            If given, score the pairs ``(userids[k], itemids[k])`` (same length);
            otherwise score every item for every user.

        Returns
        -------
        numpy.ndarray
            Shape (n_items,) for one user, (len(userids), n_items) for several,
            or (len(userids),) for pairs.
        """
        self._check_fitted()
        X, Y = self.user_factors_, self.item_factors_
        bu, bi = self._biases()
        u = _check_positions(userids, len(X), "userids")
        if itemids is None:
            return X[u] @ Y.T + bu[u][..., None] + bi
        i = _check_positions(itemids, len(Y), "itemids")
        return np.einsum("...f,...f->...", X[u], Y[i]) + bu[u] + bi[i]

    def _recommend_scores(self, users, rows):
        scores = self.predict(users)
        played = np.diff(_played(rows).indptr) > 0
        popularity = getattr(self, "item_popularity_", None)
        fallback = ~played if popularity is not None else np.zeros(len(users), bool)
        scores[fallback] = popularity
        activity = getattr(self, "user_activity_", None)
        if activity is not None and hasattr(self, "recalculate_user"):
            for k in np.flatnonzero(played & (activity[users] == 0)):  # new interactions since fit
                x_u, beta_u = self.recalculate_user(rows[k])
                scores[k] = self.item_factors_ @ x_u + beta_u + self._biases()[1]
        return scores, fallback

    def recommend(self, userid, user_items, *, N: int = 10, filter_already_liked_items: bool = True
                  ) -> Recommendations:
        """The user's top-N items, best first (like ``implicit``'s ``recommend``).

        As :meth:`Recommender.recommend`, with two cases of its own: a user whose
        row is empty gets the popularity ranking (``fallback=True``, popularity
        counts as scores), and a user who had no interactions at fit time but
        has some now is scored with ``recalculate_user`` where the model has it.

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp
        >>> from coursekit.als import ALS
        >>> R = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=float))
        >>> model = ALS(factors=2, iterations=2, random_state=0).fit(R)
        >>> model.recommend(2, R, N=2)
        Recommendations(ids=array([1, 0]), scores=array([2., 1.]), fallback=True)
        """
        return super().recommend(userid, user_items, N=N, filter_already_liked_items=filter_already_liked_items)

    def _neighbours(self, V, query, N, exclude_self):
        from .similarity import cosine_neighbours

        return cosine_neighbours(V, query, N, exclude_self=exclude_self)

    def similar_items(self, itemid, *, N: int = 10, exclude_self: bool = True) -> Neighbours:
        """The N items whose vectors y_j have the highest cosine with y_i.

        Parameters
        ----------
        itemid : int
            Column of the training matrix.
        N : int, optional
        exclude_self : bool, optional
            Leave the item itself out (``implicit`` keeps it as the first result).

        Returns
        -------
        Neighbours
            Item positions and cosine similarities, best first. Biases are not
            part of the vectors.
        """
        return self._neighbours(self.item_factors_, self._check_itemid(itemid), N, exclude_self)

    def similar_users(self, userid, *, N: int = 10, exclude_self: bool = True) -> Neighbours:
        """The N users whose vectors x_v have the highest cosine with x_u.

        Parameters
        ----------
        userid : int
            Row of the training matrix.
        N : int, optional
        exclude_self : bool, optional

        Returns
        -------
        Neighbours
            User positions and cosine similarities, best first.
        """
        return self._neighbours(self.user_factors_, self._check_userid(userid), N, exclude_self)
