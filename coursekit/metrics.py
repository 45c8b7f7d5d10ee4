"""Honest evaluation of top-k recommendations, and of recommending new releases (cold start).

Every ranking metric here takes

* ``recommended``: the top-k lists, a 2-D int array (users x k) of item indices,
  best first, or a list of 1-D arrays (ragged lists are padded with -1, which
  never counts as a hit); and
* ``relevant``: the held-out truth, a CSR matrix (users x items) whose positive
  entries are the relevant items, or a list of sets/arrays of item indices,

row u of one matching row u of the other. Metrics are computed per user and
**averaged over the users that have at least one relevant item**; users with none
are left out (``per_user=True`` gives them NaN). If no user has a relevant
item the average is NaN. Relevance is binary. Item indices must be whole
numbers (a float such as 5.5 is refused, never truncated) and ``k >= 1``.

Cold start (chapter 04): :func:`cold_start_table` and :func:`listener_auc` judge
scores of held-out tracks against the world's true affinities.

The baselines are in :mod:`coursekit.baselines`, top-N lists for many users
come from :func:`coursekit.evaluation.recommend_all`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._base import check_int, check_user_items, score_users, top_n

__all__ = [
    "catalogue_coverage",
    "cold_start_table",
    "evaluate",
    "expected_percentile_ranking",
    "hit_rate_at_k",
    "listener_auc",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]


# ------------------------------------------------------------------ input handling


def _as_indices(values, name: str) -> np.ndarray:
    """Item indices as a 1-D int64 array; whole floats pass, fractions, booleans and strings do not."""
    a = np.fromiter(values, dtype=object) if isinstance(values, (set, frozenset)) else np.asarray(values)
    a = a.reshape(-1)
    if a.dtype == object:
        try:
            a = a.astype(np.float64) if a.size else a.astype(np.int64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold integer item indices, got {a[:3].tolist()}") from None
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer item indices, got dtype {a.dtype}")
    if a.dtype.kind == "f":
        if a.size == 0:
            return a.astype(np.int64)
        whole = np.isfinite(a) & (a == np.round(a)) & (np.abs(a) < 2**62)
        if not whole.all():
            raise ValueError(f"{name} must hold integer item indices, got {a[~whole][0].item()!r}: fractions and "
                             f"NaN are not items (round or map them first)")
    return a.astype(np.int64)


def _as_lists(recommended) -> np.ndarray:
    """Top-k lists as a 2-D int array padded with -1."""
    if isinstance(recommended, np.ndarray) and recommended.ndim == 2:
        rec = _as_indices(recommended, "recommended").reshape(recommended.shape)
    else:
        rows = [_as_indices(r, "recommended") for r in recommended]
        width = max((len(r) for r in rows), default=0)
        rec = np.full((len(rows), width), -1, dtype=np.int64)
        for u, r in enumerate(rows):
            rec[u, : len(r)] = r
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
        rows = [_as_indices(r, "relevant") for r in relevant]
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
    k = check_int(k, "k")
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
    n_items = check_int(n_items, "n_items")
    rec = _as_lists(recommended)
    if k is not None:
        rec = rec[:, : check_int(k, "k")]
    items = np.unique(rec[rec >= 0])
    if items.size and items[-1] >= n_items:
        raise ValueError(f"recommended holds item {items[-1]} but the catalogue has only {n_items} items")
    return items.size / n_items


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
    model_or_scores : object with ``predict(userids)``, or numpy.ndarray (n_users, n_items)
        A fitted model (:class:`coursekit.als.ALS`, a :mod:`coursekit.baselines` model) or a score matrix.
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
        scores = score_users(model_or_scores, users)
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
        Top lists, e.g. from :func:`coursekit.evaluation.recommend_all`.
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


# ---------------------------------------------------------------------- cold start


def _auc(S: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Per row: the chance that a relevant column outscores an irrelevant one (ties count half)."""
    from scipy.stats import rankdata

    P = relevant.sum(axis=1)
    N = relevant.shape[1] - P
    R = rankdata(S, axis=1)  # 1 = lowest; ties get their average rank
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((R * relevant).sum(axis=1) - P * (P + 1) / 2) / (P * N)


def _top_share(A: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of each row's top ``share`` of columns (at least one)."""
    if not 0 < share <= 1:
        raise ValueError(f"top_share must be in (0, 1], got {share!r}")
    top, _ = top_n(A, max(1, int(round(share * A.shape[1]))))
    mask = np.zeros(A.shape, bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def _check_scores(S, name: str, shape=None) -> np.ndarray:
    S = np.asarray(S, dtype=float)
    if S.ndim != 2:
        raise ValueError(f"{name} must be 2-D (users x held-out tracks), got shape {S.shape}")
    if shape is not None and S.shape != shape:
        raise ValueError(f"{name} has shape {S.shape}, expected {shape} (users × held-out tracks)")
    if np.isnan(S).any():
        raise ValueError(f"{name} holds {int(np.isnan(S).sum())} NaN values")
    return S


def listener_auc(scores: np.ndarray, affinity: np.ndarray, *, top_share: float = 0.1) -> np.ndarray:
    """For each track (column): how well the scores find the users who will love it.

    The "right listeners" of a track are the ``top_share`` of users with the
    highest true affinity for it; the AUC is the chance that such a user
    scores above one of the others (0.5: no better than chance).

    Parameters
    ----------
    scores, affinity : numpy.ndarray, shape (n_users, n_tracks)
    top_share : float, optional
        Share of users, in (0, 1], that count as the right listeners.

    Returns
    -------
    numpy.ndarray, shape (n_tracks,)

    Examples
    --------
    >>> import numpy as np
    >>> affinity = np.array([[0.9], [0.1], [0.2], [0.3]])
    >>> listener_auc(np.array([[0.9], [0.1], [0.2], [0.3]]), affinity, top_share=0.25).tolist()
    [1.0]
    """
    A = _check_scores(affinity, "affinity")
    S = _check_scores(scores, "scores", A.shape)
    return _auc(S.T, _top_share(A.T, top_share))


def cold_start_table(scores: dict, affinity: np.ndarray, *, k: int = 10, top_share: float = 0.1,
                     random_state: int = 0) -> "pandas.DataFrame":
    """Rank held-out tracks for every user; judge against the true affinities.

    For each user, the relevant tracks are the ``top_share`` of held-out
    tracks with the highest true affinity (the ones they will love). Each
    model's scores rank the held-out tracks; ties are broken at random
    (seeded).

    Parameters
    ----------
    scores : dict of str -> numpy.ndarray, shape (n_users, n_heldout)
        Each model's scores, e.g. ``{"CNN": X @ Ŷ.T, "random": ...}``.
    affinity : numpy.ndarray, shape (n_users, n_heldout)
        True affinities (``truth.affinity(users, heldout_index)``; evaluation only).
    k : int, optional
        Cut-off of NDCG@k and precision@k.
    top_share : float, optional
        Share of held-out tracks (per user) and of users (per track) that count
        as relevant.
    random_state : int, optional
        Seed of the tie-breaking.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``AUC`` (per user, mean), ``NDCG@k``,
        ``precision@k``, and ``listener AUC`` (per track: finding the users
        who will love it, mean over tracks).
    """
    import pandas as pd

    k = check_int(k, "k")
    A = _check_scores(affinity, "affinity")
    relevant = _top_share(A, top_share)
    R_rel = sp.csr_matrix(relevant.astype(float))
    rng = np.random.default_rng(random_state)
    tie = rng.random(A.shape) * 1e-9
    rows = {}
    for name, S in scores.items():
        S = _check_scores(S, f"scores[{name!r}]", A.shape)
        spread = np.ptp(S, axis=1, keepdims=True)
        S_tied = S + tie * np.where(spread > 0, spread, 1.0)
        top = np.argsort(-S_tied, axis=1, kind="stable")[:, :k]
        rows[name] = {
            "AUC": float(np.nanmean(_auc(S, relevant))),
            f"NDCG@{k}": float(ndcg_at_k(top, R_rel, k)),
            f"precision@{k}": float(precision_at_k(top, R_rel, k)),
            "listener AUC": float(np.nanmean(listener_auc(S, A, top_share=top_share))),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
