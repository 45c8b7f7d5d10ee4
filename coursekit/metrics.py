"""Honest evaluation of top-k recommendations, and the baselines to beat.

Every ranking metric here takes

* ``recommended``: the top-k lists, a 2-D int array (users x k) of item indices,
  best first, or a list of 1-D arrays (ragged lists are padded with -1, which
  never counts as a hit); and
* ``relevant``: the held-out truth, a CSR matrix (users x items) whose positive
  entries are the relevant items, or a list of sets/arrays of item indices,

row u of one matching row u of the other. Metrics are computed per user and
**averaged over the users that have at least one relevant item**; users with none
are left out (``per_user=True`` gives them NaN). If no user has a relevant
item the average is NaN. Relevance is binary.

Baselines: :class:`PopularityRecommender` (the most played items nobody
personalises) and :class:`RandomRecommender`; :func:`recommend_all` turns any
model's scores into top-n lists in batches.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coursekit.als import Recommendations, check_user_items

__all__ = [
    "PopularityRecommender",
    "RandomRecommender",
    "catalogue_coverage",
    "evaluate",
    "expected_percentile_ranking",
    "hit_rate_at_k",
    "map_at_k",
    "ndcg_at_k",
    "popularity_scores",
    "precision_at_k",
    "recall_at_k",
    "recommend_all",
]


# ------------------------------------------------------------------ input handling


def _as_lists(recommended) -> np.ndarray:
    """Top-k lists as a 2-D int array padded with -1."""
    if isinstance(recommended, np.ndarray) and recommended.ndim == 2:
        rec = recommended
    else:
        rows = [np.asarray(r).reshape(-1) for r in recommended]
        width = max((len(r) for r in rows), default=0)
        rec = np.full((len(rows), width), -1, dtype=np.int64)
        for u, r in enumerate(rows):
            rec[u, : len(r)] = r
    if rec.size and rec.dtype.kind not in "iu":
        raise TypeError(f"recommended must hold integer item indices, got dtype {rec.dtype}")
    rec = rec.astype(np.int64, copy=False)
    if (rec < -1).any():
        raise ValueError("recommended holds negative item indices (only -1 is allowed, as padding)")
    # a list that names an item twice would count it twice
    ordered = np.sort(rec, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        users = np.flatnonzero(repeated.any(axis=1))
        raise ValueError(f"recommended lists repeat an item for {len(users)} users (first: row {users[0]})")
    return rec


def _as_relevance(relevant, n_users: int, n_items_hint: int) -> sp.csr_matrix:
    """Held-out truth as a boolean CSR matrix (users x items)."""
    if sp.issparse(relevant):
        R = check_user_items(sp.csr_matrix(relevant) if relevant.format != "csr" else relevant, name="relevant")
        R.data = (R.data > 0).astype(np.float64)
        R.eliminate_zeros()
    else:
        rows = [np.fromiter(r, dtype=np.int64) if isinstance(r, (set, frozenset)) else np.asarray(r, dtype=np.int64).reshape(-1)
                for r in relevant]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        cols = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if (cols < 0).any():
            raise ValueError("relevant holds negative item indices")
        n_items = max(n_items_hint, int(cols.max(initial=-1)) + 1)
        R = sp.csr_matrix(
            (np.ones(len(cols)), (np.repeat(np.arange(len(rows)), lengths), cols)), shape=(len(rows), n_items)
        )
        R.sum_duplicates()
        R.data[:] = 1.0
    if R.shape[0] != n_users:
        raise ValueError(f"recommended has {n_users} rows (users) but relevant has {R.shape[0]}")
    return R


def _hits(recommended, relevant, k: int):
    """hits[u, j] = the j-th recommendation of user u is relevant; plus |relevant_u|."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    rec = _as_lists(recommended)
    rec = rec[:, :k]
    if rec.shape[1] < k:  # shorter lists: the missing places are misses
        rec = np.pad(rec, ((0, 0), (0, k - rec.shape[1])), constant_values=-1)
    R = _as_relevance(relevant, rec.shape[0], int(rec.max(initial=-1)) + 1)
    n_items = R.shape[1]
    if rec.size and rec.max() >= n_items:
        raise ValueError(f"recommended holds item {rec.max()} but relevant has only {n_items} items (columns)")
    # membership test on keys u * n_items + i, vectorised over all users at once
    rows_r = np.repeat(np.arange(R.shape[0], dtype=np.int64), np.diff(R.indptr))
    relevant_keys = rows_r * n_items + R.indices
    rec_keys = np.arange(rec.shape[0], dtype=np.int64)[:, None] * n_items + rec
    hits = np.isin(rec_keys, relevant_keys) & (rec >= 0)
    return hits, np.diff(R.indptr)


def _average(values: np.ndarray, n_relevant: np.ndarray, per_user: bool):
    values = np.where(n_relevant > 0, values, np.nan)
    if per_user:
        return values
    evaluated = n_relevant > 0
    return float(values[evaluated].mean()) if evaluated.any() else float("nan")


# ------------------------------------------------------------------------ metrics
# Per-user values from hits (users x k, True where the j-th item is relevant)
# and n_rel = |Rel(u)|; the public functions below document the definitions.


def _precision(hits, n_rel):
    return hits.sum(axis=1) / hits.shape[1]  # |top_k ∩ Rel| / k


def _recall(hits, n_rel):
    return hits.sum(axis=1) / np.maximum(n_rel, 1)  # |top_k ∩ Rel| / |Rel|


def _ndcg(hits, n_rel):
    k = hits.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # 1 / log₂(j + 1), j = 1..k
    dcg = hits @ discount
    idcg = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_rel, k)]
    return dcg / np.where(idcg > 0, idcg, 1.0)


def _average_precision(hits, n_rel):
    k = hits.shape[1]
    precision_at_j = np.cumsum(hits, axis=1) / np.arange(1, k + 1)  # P@j
    return (precision_at_j * hits).sum(axis=1) / np.maximum(np.minimum(n_rel, k), 1)


def _hit(hits, n_rel):
    return hits.any(axis=1).astype(np.float64)



def precision_at_k(recommended, relevant, k: int, *, per_user: bool = False):
    """Precision@k: the share of the k recommendations that are relevant.

    P@k(u) = |top_k(u) ∩ Rel(u)| / k — always divided by k, so a list shorter
    than k is penalised for its empty places.

    Parameters
    ----------
    recommended : array_like of int, shape (n_users, >= k), or list of arrays
        Top lists, best first (see the module docstring).
    relevant : scipy.sparse.csr_matrix (n_users, n_items) or list of sets
        Held-out relevant items of each user.
    k : int
        Cut-off.
    per_user : bool, optional
        Return one value per user (NaN where the user has no relevant item)
        instead of the average.

    Returns
    -------
    float or numpy.ndarray
        Mean over users with at least one relevant item.

    Examples
    --------
    >>> precision_at_k([[1, 2, 3]], [{1, 3, 7}], 3)
    0.6666666666666666
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _average(_precision(hits, n_rel), n_rel, per_user)


def recall_at_k(recommended, relevant, k: int, *, per_user: bool = False):
    """Recall@k: the share of the relevant items that made the top k.

    R@k(u) = |top_k(u) ∩ Rel(u)| / |Rel(u)| (not capped at k: a user with more
    than k relevant items cannot reach 1).

    Parameters
    ----------
    recommended, relevant, k, per_user
        As in :func:`precision_at_k`.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> recall_at_k([[1, 2, 3]], [{1, 3, 7}], 3)
    0.6666666666666666
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _average(_recall(hits, n_rel), n_rel, per_user)


def ndcg_at_k(recommended, relevant, k: int, *, per_user: bool = False):
    """Normalised discounted cumulative gain at k (binary relevance).

    DCG@k(u) = Σ_{j=1..k} rel_j / log₂(j + 1), with rel_j = 1 if the j-th
    recommendation is relevant; IDCG@k(u) = Σ_{j=1..min(k, |Rel(u)|)} 1 / log₂(j + 1)
    is the DCG of a perfect list; NDCG@k = DCG@k / IDCG@k ∈ [0, 1].

    Parameters
    ----------
    recommended, relevant, k, per_user
        As in :func:`precision_at_k`.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    Hits at places 1 and 3 of 3, two relevant items:
    (1 + 1/log₂4) / (1 + 1/log₂3) = 1.5 / 1.6309 = 0.9197.

    >>> round(ndcg_at_k([[5, 6, 7]], [{5, 7}], 3), 4)
    0.9197
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _average(_ndcg(hits, n_rel), n_rel, per_user)


def map_at_k(recommended, relevant, k: int, *, per_user: bool = False):
    """Mean average precision at k.

    AP@k(u) = (1 / min(k, |Rel(u)|)) Σ_{j=1..k} P@j(u) · rel_j: the precision at
    each place that holds a hit, averaged over the hits a perfect list would
    have. MAP@k is its mean over users.

    Parameters
    ----------
    recommended, relevant, k, per_user
        As in :func:`precision_at_k`.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    Hits at places 1 and 3, two relevant items: (1/1 + 2/3) / 2 = 0.8333.

    >>> round(map_at_k([[5, 6, 7]], [{5, 7}], 3), 4)
    0.8333
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _average(_average_precision(hits, n_rel), n_rel, per_user)


def hit_rate_at_k(recommended, relevant, k: int, *, per_user: bool = False):
    """Hit rate at k: the share of users with at least one relevant item in their top k.

    HR@k(u) = 1 if |top_k(u) ∩ Rel(u)| > 0 else 0.

    Parameters
    ----------
    recommended, relevant, k, per_user
        As in :func:`precision_at_k`.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> hit_rate_at_k([[1, 2], [3, 4]], [{2}, {9}], 2)
    0.5
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _average(_hit(hits, n_rel), n_rel, per_user)


def catalogue_coverage(recommended, n_items: int, *, k: int | None = None) -> float:
    """Share of the catalogue that appears in anybody's top k.

    coverage = |∪_u top_k(u)| / n_items, over all users (relevant or not). A
    popularity ranking covers little of the catalogue; Discover Weekly's point
    is to reach into the long tail.

    Parameters
    ----------
    recommended : array_like of int, shape (n_users, >= k), or list of arrays
    n_items : int
        Size of the catalogue.
    k : int, optional
        Cut-off; all columns when omitted.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> catalogue_coverage([[0, 1], [1, 2]], 10)
    0.3
    """
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
        raise ValueError(f"n_items must be an integer >= 1, got {n_items!r}")
    rec = _as_lists(recommended)
    if k is not None:
        rec = rec[:, :k]
    items = np.unique(rec[rec >= 0])
    if items.size and items[-1] >= n_items:
        raise ValueError(f"recommended holds item {items[-1]} but the catalogue has only {n_items} items")
    return items.size / n_items


def _score_batch(model_or_scores, user_ids: np.ndarray) -> np.ndarray:
    if isinstance(model_or_scores, np.ndarray):
        return np.array(model_or_scores[user_ids], dtype=np.float64)
    return np.array(model_or_scores.predict(user_ids), dtype=np.float64)


def expected_percentile_ranking(
    model_or_scores, heldout, *, user_items=None, batch_size: int = 1024, per_user: bool = False
):
    """Expected percentile ranking of Hu, Koren and Volinsky (2008).

    Each user's items are ranked by score; rank_ui is the percentile of item i
    in that list, 0 for the top item and 1 for the bottom one (ties share their
    average place). The held-out interactions weigh the ranks:

        rank = Σ_{u,i} r^t_ui · rank_ui / Σ_{u,i} r^t_ui

    Lower is better; random scores give about 0.5. Unlike the @k metrics it
    looks at the whole ranking, and it is weighted by interaction strength.

    Parameters
    ----------
    model_or_scores : object with ``predict(user_ids)``, or numpy.ndarray (n_users, n_items)
        A fitted model (:class:`coursekit.als.ALS`, a baseline here) or a score matrix.
    heldout : scipy.sparse.csr_matrix (n_users, n_items)
        Held-out interaction strengths r^t_ui ≥ 0.
    user_items : scipy.sparse.csr_matrix, optional
        Training interactions; if given, a user's already-played items are left
        out of their ranking (the percentile is among the other items), and a
        held-out pair that was also in training is an error.
    batch_size : int, optional
        Users scored at a time.
    per_user : bool, optional
        Return each user's weighted mean percentile (NaN for users without
        held-out interactions) instead of the overall weighted mean.

    Returns
    -------
    float or numpy.ndarray
        In [0, 1].

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> scores = np.array([[3.0, 2.0, 1.0]])
    >>> expected_percentile_ranking(scores, sp.csr_matrix([[0.0, 1.0, 3.0]]))
    0.875
    """
    from scipy.stats import rankdata

    H = check_user_items(heldout, name="heldout")
    H.eliminate_zeros()
    n_users, n_items = H.shape
    if n_items < 2:
        raise ValueError("a percentile ranking needs at least 2 items")
    if user_items is not None:
        T = check_user_items(user_items)
        if T.shape != H.shape:
            raise ValueError(f"user_items has shape {T.shape} but heldout has {H.shape}")
        T.eliminate_zeros()
        overlap = H.multiply(T).nnz
        if overlap:
            raise ValueError(f"{overlap} held-out (user, item) pairs are also in user_items")
    numerator = np.zeros(n_users)
    for start in range(0, n_users, batch_size):
        users = np.arange(start, min(start + batch_size, n_users))
        block = H[users]
        if block.nnz == 0:
            continue
        scores = _score_batch(model_or_scores, users)
        if scores.shape != (len(users), n_items):
            raise ValueError(f"scores for {len(users)} users must have shape {(len(users), n_items)}, got {scores.shape}")
        n_candidates = np.full(len(users), n_items)
        if user_items is not None:
            played = T[users]
            rows, cols = played.nonzero()
            scores[rows, cols] = -np.inf
            n_candidates -= np.diff(played.indptr)
        # rank 1 = highest score; percentile = (rank − 1) / (n_candidates − 1)
        ranks = rankdata(-scores, method="average", axis=1)
        rows = np.repeat(np.arange(len(users)), np.diff(block.indptr))
        percentile = (ranks[rows, block.indices] - 1.0) / np.maximum(n_candidates[rows] - 1, 1)
        numerator[users] = np.bincount(rows, weights=block.data * percentile, minlength=len(users))
    weight = np.asarray(H.sum(axis=1)).ravel()
    if per_user:
        return np.where(weight > 0, numerator / np.where(weight > 0, weight, 1.0), np.nan)
    total = weight.sum()
    return float(numerator.sum() / total) if total > 0 else float("nan")


def evaluate(recommended, heldout, k: int, *, n_items: int | None = None) -> dict:
    """All top-k metrics at once, as one row for a comparison table.

    Parameters
    ----------
    recommended : array_like of int, shape (n_users, >= k)
        Top lists, e.g. from :func:`recommend_all`.
    heldout : scipy.sparse.csr_matrix (n_users, n_items) or list of sets
        Held-out relevant items.
    k : int
    n_items : int, optional
        Catalogue size for the coverage; defaults to ``heldout.shape[1]``.

    Returns
    -------
    dict
        ``precision@k, recall@k, ndcg@k, map@k, hit_rate@k, coverage@k`` and
        ``users`` (how many users had a relevant item). Use
        ``pandas.DataFrame([evaluate(...), ...], index=[...])`` for a table.
    """
    hits, n_rel = _hits(recommended, heldout, k)
    if n_items is None:
        if not sp.issparse(heldout):
            raise ValueError("n_items is needed for the coverage when heldout is not a matrix")
        n_items = heldout.shape[1]
    return {
        f"precision@{k}": _average(_precision(hits, n_rel), n_rel, False),
        f"recall@{k}": _average(_recall(hits, n_rel), n_rel, False),
        f"ndcg@{k}": _average(_ndcg(hits, n_rel), n_rel, False),
        f"map@{k}": _average(_average_precision(hits, n_rel), n_rel, False),
        f"hit_rate@{k}": _average(_hit(hits, n_rel), n_rel, False),
        f"coverage@{k}": catalogue_coverage(recommended, n_items, k=k),
        "users": int((n_rel > 0).sum()),
    }


# ---------------------------------------------------------------------- baselines


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


class _Baseline:
    """``predict``/``recommend`` for the baselines, shaped like :class:`coursekit.als.ALS`."""

    def _check_fitted(self):
        if getattr(self, "n_items_", None) is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(user_items) first")

    def _fit_shape(self, user_items):
        R = check_user_items(user_items)
        self.n_users_, self.n_items_ = R.shape
        return R

    def recommend(self, user_id, user_items, *, n: int = 10, filter_already_liked: bool = True) -> Recommendations:
        """Top-n items for one user, as :meth:`coursekit.als.ALS.recommend` (``fallback`` is False)."""
        self._check_fitted()
        if isinstance(user_id, bool) or not isinstance(user_id, (int, np.integer)) or not 0 <= user_id < self.n_users_:
            raise IndexError(f"user_id must be an integer in 0..{self.n_users_ - 1}, got {user_id!r}")
        R = check_user_items(user_items)
        if R.shape[1] != self.n_items_:
            raise ValueError(f"user_items has {R.shape[1]} columns but the model was fit on {self.n_items_} items")
        row = R if R.shape[0] == 1 else R[user_id]
        scores = np.asarray(self.predict(np.array([user_id])), dtype=np.float64)[0]
        candidates = np.ones(self.n_items_, dtype=bool)
        if filter_already_liked:
            candidates[row.indices[row.data > 0]] = False
        ids = np.flatnonzero(candidates)
        ids = ids[np.argsort(-scores[ids], kind="stable")[:n]]
        return Recommendations(ids=ids, scores=scores[ids], fallback=False)


class PopularityRecommender(_Baseline):
    """Recommend the items the most users played: the same list for everyone.

    Attributes
    ----------
    item_popularity_ : numpy.ndarray, shape (n_items,)
        From :func:`popularity_scores`.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix([[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    >>> PopularityRecommender().fit(R).recommend(1, R, n=2).ids.tolist()
    [2, 1]
    """

    def fit(self, user_items) -> "PopularityRecommender":
        """Count the users of each item."""
        R = self._fit_shape(user_items)
        self.item_popularity_ = popularity_scores(R)
        return self

    def predict(self, user_ids) -> np.ndarray:
        """Popularity of every item for each user, shape (len(user_ids), n_items)."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(user_ids))
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items_)).copy()


class RandomRecommender(_Baseline):
    """Recommend items uniformly at random.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None, optional
        Seed. Each call to ``predict`` draws fresh scores, so the same seed and
        the same sequence of calls give the same lists.
    """

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, user_items) -> "RandomRecommender":
        """Remember the catalogue size and start the random stream."""
        self._fit_shape(user_items)
        self._rng = np.random.default_rng(self.random_state)
        return self

    def predict(self, user_ids) -> np.ndarray:
        """Uniform random scores, shape (len(user_ids), n_items)."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(user_ids))
        return self._rng.random((len(users), self.n_items_))


def recommend_all(
    model_or_scores,
    user_items,
    n: int,
    *,
    filter_already_liked: bool = True,
    user_ids=None,
    batch_size: int = 1024,
    progress: bool = False,
) -> np.ndarray:
    """Top-n items for many users, a batch of users at a time.

    For each batch: one score matrix (``model.predict(batch)``, a matrix product
    for the factor models), already-played items set to −∞, and
    ``numpy.argpartition`` for the top n — no loop over users.

    Parameters
    ----------
    model_or_scores : object with ``predict(user_ids)``, or numpy.ndarray (n_users, n_items)
        A fitted model or precomputed scores.
    user_items : scipy.sparse.csr_matrix (n_users, n_items)
        Training interactions, for the filtering (and the shape).
    n : int
        List length.
    filter_already_liked : bool, optional
        Leave out items the user already played.
    user_ids : array_like of int, optional
        Users to recommend for (rows of ``user_items``); all by default.
    batch_size : int, optional
        Users per batch (memory: batch_size x n_items floats).
    progress : bool, optional
        Show a tqdm progress bar (on stderr).

    Returns
    -------
    numpy.ndarray of int, shape (n_users, n)
        Item indices, best first; -1 where a user has fewer than n unplayed items.
        Ties are broken arbitrarily. Models rank users without history as they
        are (no popularity fallback here; see ``ALS.recommend``).
    """
    R = check_user_items(user_items)
    n_users, n_items = R.shape
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    users = np.arange(n_users) if user_ids is None else np.asarray(user_ids).reshape(-1)
    if users.size and (users.min() < 0 or users.max() >= n_users):
        raise IndexError(f"user_ids must lie in 0..{n_users - 1}")
    width = min(n, n_items)
    out = np.full((len(users), n), -1, dtype=np.int64)
    starts = range(0, len(users), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=len(starts), unit="batch")
    for start in starts:
        batch = users[start : start + batch_size]
        scores = _score_batch(model_or_scores, batch)
        if scores.shape != (len(batch), n_items):
            raise ValueError(
                f"scores for {len(batch)} users must have shape {(len(batch), n_items)}, got {scores.shape}"
            )
        if filter_already_liked:
            played = R[batch]
            rows, cols = played.nonzero()
            scores[rows, cols] = -np.inf
        top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top[np.take_along_axis(top_scores, order, axis=1) == -np.inf] = -1
        out[start : start + len(batch), :width] = top
    return out
