"""Which songs are most like this one, which users are most like me: cosine neighbours.

Two vectors point the same way when their cosine

    cos(a, b) = aᵀb / (‖a‖ ‖b‖)

is close to 1. :func:`cosine_neighbours` finds the exact top-n by one matrix
product per batch of queries; :class:`AnnoyNeighbours` finds them approximately
with Annoy, the random-projection-forest library Spotify wrote for this, and
:func:`recall_at_n` says how many of the exact neighbours it found, and
:func:`annoy_recall_curve` measures that recall against query time.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ._base import Neighbours, NotFittedError, check_int, top_n, unit_rows

__all__ = ["AnnoyNeighbours", "Neighbours", "annoy_recall_curve", "cosine_neighbours", "recall_at_n", "unit_rows"]


def _check_vectors(vectors) -> np.ndarray:
    V = np.asarray(vectors, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (n_vectors x dimensions), got shape {V.shape}")
    if not np.isfinite(V).all():
        raise ValueError(f"vectors must be finite, got {int((~np.isfinite(V)).sum())} NaN or infinite values")
    return V


def _check_queries(query_ids, n_vectors: int):
    q = np.asarray(query_ids)
    if q.dtype.kind not in "iu":
        raise TypeError(f"query ids must be integers, got dtype {q.dtype}")
    if q.size and (q.min() < 0 or q.max() >= n_vectors):
        raise IndexError(f"query ids must lie in 0..{n_vectors - 1}, got {q.min()}..{q.max()}")
    return q


def cosine_neighbours(vectors, query_ids, N: int, *, exclude_self: bool = True, batch_size: int = 1024
                      ) -> Neighbours:
    """Exact top-n neighbours by cosine similarity.

    For each query q, ranks all rows v of ``vectors`` by cos(v_q, v) computed as
    one matrix product V̂[batch] V̂ᵀ of row-normalised vectors per batch of queries.
    A zero vector has cosine 0 with everything.

    Parameters
    ----------
    vectors : array_like, shape (n_vectors, d)
        User vectors x_u or item vectors y_i.
    query_ids : int or array_like of int
        Rows to find neighbours for.
    N : int
        Neighbours per query (capped at the number of other vectors).
    exclude_self : bool, optional
        Leave the query itself out of its own neighbours.
    batch_size : int, optional
        Queries per matrix product (memory: batch_size x n_vectors floats).

    Returns
    -------
    Neighbours
        ``ids`` (numpy.ndarray of int, shape (N,) or (n_queries, N): neighbour
        positions, most similar first) and ``scores`` (their cosines).

    Examples
    --------
    >>> ids, sims = cosine_neighbours([[1, 0], [1, 1], [0, 1], [-1, 0]], 0, 2)
    >>> ids.tolist(), sims.round(3).tolist()
    ([1, 2], [0.707, 0.0])
    """
    V_hat = unit_rows(_check_vectors(vectors))
    q = _check_queries(query_ids, len(V_hat))
    n = min(check_int(N, "N"), len(V_hat) - int(exclude_self))
    if n < 1:
        raise ValueError("there are no other vectors to return as neighbours")
    queries = q.reshape(-1)
    ids = np.empty((len(queries), n), dtype=np.int64)
    sims = np.empty((len(queries), n))
    for start in range(0, len(queries), batch_size):
        batch = queries[start : start + batch_size]
        S = V_hat[batch] @ V_hat.T  # cos(v_q, v) for the whole batch
        if exclude_self:
            S[np.arange(len(batch)), batch] = -np.inf
        ids[start : start + len(batch)], sims[start : start + len(batch)] = top_n(S, n)
    if q.ndim == 0:
        return Neighbours(ids[0], sims[0])
    return Neighbours(ids, sims)


class AnnoyNeighbours(BaseEstimator):
    """Approximate cosine neighbours with an Annoy forest (angular metric).

    Annoy splits the space with random hyperplanes into ``n_trees`` trees and
    searches about ``search_k`` leaves' worth of candidates; more trees and a
    larger ``search_k`` give better recall for more time and memory. Angular
    distance is d = √(2 (1 − cos)), so similarities are reported as 1 − d²/2.

    Parameters
    ----------
    n_trees : int, optional
        Trees in the forest.
    search_k : int, optional
        Nodes to inspect per query; -1 means Annoy's default (n_trees x n).
    random_state : int, optional
        Seed for the random hyperplanes (``AnnoyIndex.set_seed``), so that the
        same vectors give the same index.

    Attributes
    ----------
    index_ : annoy.AnnoyIndex
        The built index.
    n_vectors_ : int

    Examples
    --------
    >>> import numpy as np
    >>> V = np.random.default_rng(0).normal(size=(100, 8))
    >>> ann = AnnoyNeighbours(n_trees=5, random_state=0).fit(V)
    >>> ids, sims = ann.query([0, 1], 3)
    >>> ids.shape
    (2, 3)
    """

    def __init__(self, *, n_trees: int = 10, search_k: int = -1, random_state: int = 0):
        self.n_trees = n_trees
        self.search_k = search_k
        self.random_state = random_state

    def fit(self, vectors) -> "AnnoyNeighbours":
        """Build the index over the rows of ``vectors``."""
        from annoy import AnnoyIndex

        V = _check_vectors(vectors)
        index = AnnoyIndex(V.shape[1], "angular")
        index.set_seed(int(self.random_state))
        for i, v in enumerate(V):
            index.add_item(i, v)
        index.build(int(self.n_trees), n_jobs=1)
        self.index_ = index
        self.n_vectors_ = len(V)
        return self

    def _check_fitted(self):
        if getattr(self, "index_", None) is None:
            raise NotFittedError("this AnnoyNeighbours is not fitted yet; call fit(vectors) first")

    def _collect(self, results, n):
        ids = np.full((len(results), n), -1, dtype=np.int64)
        sims = np.full((len(results), n), np.nan)
        for row, (found, distances) in enumerate(results):
            found, distances = found[:n], np.asarray(distances[:n])
            ids[row, : len(found)] = found
            sims[row, : len(found)] = 1.0 - distances**2 / 2.0  # d = √(2(1 − cos))
        return ids, sims

    def query(self, query_ids, N: int, *, exclude_self: bool = True) -> Neighbours:
        """Approximate top-N neighbours of indexed vectors.

        Parameters
        ----------
        query_ids : int or array_like of int
        N : int
        exclude_self : bool, optional

        Returns
        -------
        Neighbours
            As in :func:`cosine_neighbours`; where Annoy found fewer than N
            neighbours the row is padded with id -1 and similarity NaN.
        """
        self._check_fitted()
        q = _check_queries(query_ids, self.n_vectors_)
        n = min(check_int(N, "N"), self.n_vectors_ - int(exclude_self))
        results = []
        for i in q.reshape(-1).tolist():
            found, distances = self.index_.get_nns_by_item(
                i, n + int(exclude_self), search_k=int(self.search_k), include_distances=True
            )
            if exclude_self:
                keep = [k for k, j in enumerate(found) if j != i][:n]
                found, distances = [found[k] for k in keep], [distances[k] for k in keep]
            results.append((found, distances))
        ids, sims = self._collect(results, n)
        return Neighbours(ids[0], sims[0]) if q.ndim == 0 else Neighbours(ids, sims)

    def query_vectors(self, vectors, N: int) -> Neighbours:
        """Approximate top-N neighbours of arbitrary vectors (e.g. a new user), as :meth:`query`."""
        self._check_fitted()
        V = _check_vectors(np.atleast_2d(vectors))
        n = min(check_int(N, "N"), self.n_vectors_)
        results = [
            self.index_.get_nns_by_vector(v, n, search_k=int(self.search_k), include_distances=True) for v in V
        ]
        ids, sims = self._collect(results, n)
        return Neighbours(ids[0], sims[0]) if np.ndim(vectors) == 1 else Neighbours(ids, sims)


def recall_at_n(approx, exact) -> float:
    """Share of the exact neighbours that the approximate search found.

    recall = mean over queries q of |A_q ∩ E_q| / |E_q|, where A_q and E_q are
    the approximate and exact neighbour lists (ids -1 are padding and ignored).

    Parameters
    ----------
    approx, exact : array_like of int, shape (n_queries, n)

    Returns
    -------
    float
        In [0, 1]; 1 means the approximate search found every exact neighbour.

    Examples
    --------
    >>> recall_at_n([[1, 2], [3, 4]], [[1, 5], [3, 4]])
    0.75
    """
    A = np.atleast_2d(np.asarray(approx, dtype=np.int64))
    E = np.atleast_2d(np.asarray(exact, dtype=np.int64))
    if A.shape[0] != E.shape[0]:
        raise ValueError(f"approx and exact must have one row per query, got {A.shape[0]} and {E.shape[0]} rows")
    width = int(max(A.max(initial=0), E.max(initial=0))) + 1
    rows_a = np.arange(A.shape[0])[:, None] * width
    rows_e = np.arange(E.shape[0])[:, None] * width
    keys_a = np.where(A >= 0, rows_a + A, -1)
    keys_e = np.where(E >= 0, rows_e + E, -1)
    found = np.isin(keys_e, keys_a[keys_a >= 0]) & (E >= 0)
    n_exact = (E >= 0).sum(axis=1)
    if (n_exact == 0).any():
        raise ValueError("every query needs at least one exact neighbour")
    return float(np.mean(found.sum(axis=1) / n_exact))


def annoy_recall_curve(vectors, query_ids, *, n: int = 10, n_trees=(2, 10, 50), search_ks=(-1, 1000, 10000),
                       repeats: int = 3, random_state: int = 0):
    """Recall against query time of Annoy over a grid of ``n_trees`` × ``search_k``.

    The truth is the exact cosine top-n (:func:`cosine_neighbours`); for every
    forest size one index is built, then the same queries are timed at each
    ``search_k`` and scored with :func:`recall_at_n`. Plot ``query_ms`` against
    ``recall`` with a line per ``n_trees`` to see the trade.

    Parameters
    ----------
    vectors : array_like, shape (n_vectors, d)
        The vectors to index, e.g. song vectors.
    query_ids : array_like of int
        Rows of ``vectors`` to query (each query excludes itself).
    n : int, optional
        Neighbours per query: recall@n.
    n_trees : sequence of int, optional
        Forest sizes, one index each.
    search_ks : sequence of int, optional
        Nodes inspected per query; -1 is Annoy's default (n_trees × n).
    repeats : int, optional
        Times each setting's queries are run; the fastest run is reported, as
        :mod:`timeit` does, so that other jobs on the machine matter less.
    random_state : int, optional
        Seed of every index.

    Returns
    -------
    pandas.DataFrame
        One row per (n_trees, search_k), columns ``n_trees``, ``search_k``,
        ``build_s`` (seconds to build the index), ``query_ms`` (mean
        milliseconds per query, wall clock, fastest of ``repeats`` runs) and
        ``recall`` (in [0, 1]).

    Raises
    ------
    ValueError
        If ``n_trees`` or ``search_ks`` is empty, or a forest size or
        ``repeats`` is below 1.

    See Also
    --------
    AnnoyNeighbours, recall_at_n

    Examples
    --------
    >>> V = np.random.default_rng(0).normal(size=(200, 8))
    >>> curve = annoy_recall_curve(V, np.arange(20), n=5, n_trees=(1, 5), search_ks=(-1, 5000))
    >>> curve[["n_trees", "search_k"]].values.tolist()
    [[1, -1], [1, 5000], [5, -1], [5, 5000]]
    >>> float(curve["recall"].iloc[-1])  # 5000 nodes: every vector is inspected
    1.0
    """
    import time

    import pandas as pd

    trees, ks = [int(t) for t in n_trees], [int(k) for k in search_ks]
    if not trees or not ks:
        raise ValueError(f"n_trees and search_ks need at least one value each, got {n_trees!r} and {search_ks!r}")
    if min(trees) < 1:
        raise ValueError(f"every n_trees must be >= 1, got {trees}")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    V = _check_vectors(vectors)
    exact, _ = cosine_neighbours(V, query_ids, n)
    rows = []
    for t in trees:
        start = time.perf_counter()
        ann = AnnoyNeighbours(n_trees=t, random_state=random_state).fit(V)
        build_s = time.perf_counter() - start
        for k in ks:
            ann.search_k = k
            runs = []
            for _ in range(int(repeats)):
                start = time.perf_counter()
                found, _ = ann.query(query_ids, n)
                runs.append(time.perf_counter() - start)
            query_ms = min(runs) / max(np.size(query_ids), 1) * 1e3
            rows.append({"n_trees": t, "search_k": k, "build_s": build_s, "query_ms": query_ms,
                         "recall": recall_at_n(found, exact)})
    return pd.DataFrame(rows)
