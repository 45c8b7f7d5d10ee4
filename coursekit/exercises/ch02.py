"""Checkers for exercises 02 · matrix factorization (predictions, one ALS user step, neighbours, top-k, precision).

The references are :class:`coursekit.als.ALS`, :func:`coursekit.similarity.cosine_neighbours`
and :func:`coursekit.metrics.precision_at_k`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coursekit.als import ALS
from coursekit.metrics import precision_at_k, recall_at_k
from coursekit.similarity import cosine_neighbours

from ._feedback import hidden_seed as _hidden_seed
from ._feedback import (ExerciseFeedback, as_index_list, as_matrix, call, check_shape, close, first_difference,
                        match_mistakes, passed, uses_loop)

__all__ = ["hidden_seed", "example_plays", "random_plays", "example_model", "example_vectors", "check_predict_all",
           "check_user_update",
           "check_top_k_cosine", "check_top_k_unheard", "check_precision_at_k"]


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("02", *key)


def example_plays() -> sp.csr_matrix:
    """Stream counts of 6 users × 5 songs (users × items, CSR): two tastes, songs 0–2 and songs 2–4."""
    return sp.csr_matrix(np.array([
        [4, 2, 1, 0, 0],
        [3, 0, 2, 0, 0],
        [5, 1, 0, 0, 1],
        [0, 0, 1, 3, 4],
        [0, 1, 0, 2, 5],
        [0, 0, 2, 4, 1],
    ], dtype=float))


def random_plays(*, seed: int, n_users: int = 12, n_items: int = 9, density: float = 0.35) -> sp.csr_matrix:
    """Random stream counts (users × items, CSR); every user has played at least one item."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(3.0, size=(n_users, n_items)) * (rng.random((n_users, n_items)) < density)
    counts[np.arange(n_users), rng.integers(0, n_items, n_users)] += 1
    return sp.csr_matrix(counts.astype(float))


def example_model(*, use_biases: bool = True) -> ALS:
    """ALS with 2 factors fitted to :func:`example_plays` (deterministic)."""
    return ALS(factors=2, regularization=0.1, alpha=1.0, iterations=10, use_biases=use_biases,
               random_state=0).fit(example_plays())


def example_vectors(n: int = 8, d: int = 3, *, seed: int = 0) -> np.ndarray:
    """n random song vectors of length d (no ties among their cosines)."""
    return np.random.default_rng(seed).normal(size=(n, d))


def check_predict_all(predict_all, *, model=None):
    """Exercise 1: S = X Yᵀ + β_u (one per row) + β_i (one per column), users × items."""
    __tracebackhide__ = True
    model = example_model() if model is None else model
    X, Y = model.user_factors_.copy(), model.item_factors_.copy()
    b_u, b_i = model.user_biases_.copy(), model.item_biases_.copy()
    n_users, n_items = len(X), len(Y)
    try:
        got = call(predict_all, X.copy(), Y.copy(), b_u.copy(), b_i.copy(), name="predict_all")
    except ExerciseFeedback as feedback:
        _explain_broadcasting(feedback, n_users, n_items)
        raise
    S = as_matrix(got, name="predict_all", shape=(n_users, n_items), rows="users", cols="items")
    expected = model.predict(np.arange(n_users))
    if close(S, expected):
        return passed(f"predict_all is right: s_ui = x_uᵀy_i + β_u + β_i for all {n_users} × {n_items} pairs at "
                      "once.")
    dot = X @ Y.T
    match_mistakes(S, [
        (dot, "you left out the biases: s_ui = x_uᵀy_i + β_u + β_i"),
        (dot + b_i[None, :], "you left out the user bias β_u (one number per row: b_user[:, None])"),
        (dot + b_u[:, None], "you left out the item bias β_i (one number per column)"),
        (dot + b_u[None, :n_items] if n_users >= n_items else None,
         "β_u went along the columns: give it a column axis, b_user[:, None], so it adds one value per row"),
    ])
    raise ExerciseFeedback("some predictions are wrong: " + first_difference(S, expected, rows="user",
                                                                             cols="item"))


def _explain_broadcasting(feedback, n_users: int, n_items: int) -> None:
    """A broadcasting error names the bias that went along the wrong axis (users ≠ items in every example)."""
    __tracebackhide__ = True
    cause = feedback.__cause__
    text = str(cause).replace(" ", "") if cause is not None else ""
    if cause is None or type(cause).__name__ != "ValueError" or "broadcast" not in text:
        return
    if f"(1,{n_users})" in text or f"({n_users},)" in text:
        raise ExerciseFeedback("β_u went along the columns: b_user has one value per user, so it must add one "
                               "value per *row* — give it a column axis, b_user[:, None] (your shapes could "
                               f"not be broadcast: {cause})") from None
    if f"({n_items},1)" in text:
        raise ExerciseFeedback("β_i went down the rows: b_item has one value per song, so it must add one value "
                               "per *column* — b_item[None, :] (or just b_item) (your shapes could not be "
                               f"broadcast: {cause})") from None


def _solve(Y, c, p, lam):
    f = Y.shape[1]
    return np.linalg.solve(Y.T @ (c[:, None] * Y) + lam * np.eye(f), Y.T @ (c * p))


def check_user_update(user_update, *, model=None, user_row=None):
    """Exercise 2: x_u = (YᵀC_uY + λI)⁻¹ YᵀC_u p_u, compared with ``ALS.recalculate_user``."""
    __tracebackhide__ = True
    model = example_model(use_biases=False) if model is None else model
    if model.use_biases:
        raise ValueError("check_user_update needs a model fitted with use_biases=False")
    if user_row is None:
        user_row = np.array([2.0, 0.0, 3.0, 0.0, 1.0])  # a new listener of both tastes
    r_u = np.asarray(user_row.toarray() if sp.issparse(user_row) else user_row, dtype=float).ravel()
    Y, alpha, lam = model.item_factors_.copy(), model.alpha, model.regularization
    got = call(user_update, Y.copy(), r_u.copy(), alpha, lam, name="user_update")
    f = Y.shape[1]
    if got is None:
        raise ExerciseFeedback("`user_update` returned None: did you forget the `return` line?")
    x = np.asarray(got, dtype=float)
    if x.shape != (f,):
        if x.size == f:
            raise ExerciseFeedback(f"return a 1-D vector of shape ({f},), got {x.shape}: np.linalg.solve(A, b) "
                                   "with a 1-D b gives one (or use .ravel())")
        check_shape(x, (f,), name="user_update", rows="factor")
    expected = model.recalculate_user(sp.csr_matrix(r_u[None, :])).factors
    if close(x, expected):
        return passed(f"user_update is right, and equals coursekit's ALS.recalculate_user: x_u = "
                      f"{np.round(expected, 3).tolist()}.")
    p = (r_u > 0).astype(float)
    c = 1.0 + alpha * r_u
    I = np.eye(f)
    match_mistakes(x, [
        (_solve(Y, c, p, 0.0), "you forgot the regularization: add λI to YᵀC_uY before solving"),
        (_solve(Y, np.ones_like(c), p, lam),
         "you left out the confidences: with C_u = I every song counts the same; use c_ui = 1 + α r_ui on both "
         "sides, YᵀC_uY and YᵀC_u p_u"),
        (np.linalg.solve(Y.T @ (c[:, None] * Y) + lam * I, Y.T @ p),
         "the right-hand side needs the confidences too: YᵀC_u p_u, not Yᵀp_u"),
        (np.linalg.solve(Y.T @ (c[:, None] * Y) + lam * I, Y.T @ (c * r_u)),
         "the target is the preference p_u (0/1), not the strength r_u"),
        (_solve(Y, alpha * r_u, p, lam), "c_ui = 1 + α r_ui: you forgot the 1 (songs the user never played still "
                                         "count, with confidence 1)"),
    ])
    raise ExerciseFeedback(f"x_u is not the ALS solution: expected {np.round(expected, 4).tolist()}, got "
                           f"{np.round(x, 4).tolist()}. Check each piece: c = 1 + α·r, p = (r > 0), "
                           "A = YᵀC_uY + λI, b = YᵀC_u p, x_u = solve(A, b)")


def check_top_k_cosine(top_k_cosine, *, vectors=None, queries=(0, 3), k=3):
    """Exercise 3: the k rows most similar (cosine) to row q, best first, without q itself and without a loop."""
    __tracebackhide__ = True
    V = example_vectors() if vectors is None else np.asarray(vectors, dtype=float)
    for q in queries:
        got = call(top_k_cosine, V.copy(), q, k, name="top_k_cosine")
        ids = as_index_list(got, name="top_k_cosine", length=k, what="neighbours")
        expected, _ = cosine_neighbours(V, q, k)
        if np.array_equal(ids, expected):
            continue
        with_self, _ = cosine_neighbours(V, q, k, exclude_self=False)
        dot = V @ V[q]
        dot[q] = -np.inf
        by_dot = np.argsort(-dot, kind="stable")[:k]
        V_hat = V / np.linalg.norm(V, axis=1, keepdims=True)
        cos = V_hat @ V_hat[q]
        cos[q] = np.inf
        worst = np.argsort(cos, kind="stable")[:k]
        if q in ids.tolist():
            raise ExerciseFeedback(f"row {q} is in its own neighbour list: every vector has cosine 1 with itself, "
                                   "so leave the query out (e.g. set its similarity to -np.inf before ranking)")
        if np.array_equal(ids, by_dot):
            raise ExerciseFeedback("the scores are not normalised: you ranked by the dot product vᵀv_q, which "
                                   "favours "
                                   "long vectors; cosine divides by both lengths (normalise the rows first)")
        if np.array_equal(ids, worst):
            raise ExerciseFeedback("you returned the *least* similar rows: sort by descending similarity "
                                   "(np.argsort(-s))")
        if np.array_equal(ids, expected[::-1]) or set(ids.tolist()) == set(expected.tolist()):
            raise ExerciseFeedback(f"the right neighbours of row {q}, in the wrong order: best first, i.e. "
                                   f"{expected.tolist()}")
        if np.array_equal(ids, with_self[:k]):
            raise ExerciseFeedback(f"row {q} is in its own neighbour list")
        raise ExerciseFeedback(f"the neighbours of row {q} should be {expected.tolist()}, you returned "
                               f"{ids.tolist()}")
    if uses_loop(top_k_cosine):
        raise ExerciseFeedback("the neighbours are right, but `top_k_cosine` uses a Python loop (for, while or a "
                               "comprehension): normalise all rows at once and take one matrix–vector product")
    return passed(f"top_k_cosine is right for rows {list(queries)}, without a loop.")


def _top_unheard(S, R, k):
    S = np.array(S, dtype=float)
    S[R.toarray() > 0] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def check_top_k_unheard(top_k_unheard, *, scores=None, plays=None, k=2):
    """Exercise 4: each user's k best songs that they have not played, best first (users × k)."""
    __tracebackhide__ = True
    R = example_plays() if plays is None else sp.csr_matrix(plays)
    S = example_model().predict(np.arange(R.shape[0])) if scores is None else np.asarray(scores, dtype=float)
    given = S.copy()
    got = call(top_k_unheard, given, R.copy(), k, name="top_k_unheard")
    if not np.array_equal(given, S):
        raise ExerciseFeedback("`top_k_unheard` changed the scores it was given (in place), so the caller's S now "
                               "holds -inf: work on a copy, S = S.copy() or np.where(...)")
    if got is None:
        raise ExerciseFeedback("`top_k_unheard` returned None: did you forget the `return` line?")
    ids = np.asarray(got)
    n_users = R.shape[0]
    if ids.ndim == 2 and ids.shape[0] == n_users and abs(ids.shape[1] - k) == 1:
        raise ExerciseFeedback(f"each list has {ids.shape[1]} songs but k = {k}: off by one in k "
                               "(slice with [:, :k])")
    check_shape(ids, (n_users, k), name="top_k_unheard", rows="users", cols="top-k songs")
    if ids.dtype.kind not in "iu":
        raise ExerciseFeedback(f"return song positions (integers), got dtype {ids.dtype}: did you return scores?")
    expected = _top_unheard(S, R, k)
    if np.array_equal(ids, expected):
        return passed(f"top_k_unheard is right: {k} unplayed songs per user, best first.")
    played = R.toarray() > 0
    rows = np.arange(n_users)[:, None]
    heard = played[rows, np.clip(ids, 0, R.shape[1] - 1)]
    if heard.any():
        u, j = np.argwhere(heard)[0]
        raise ExerciseFeedback(f"you forgot to exclude heard songs: user {u}'s list has song {ids[u, j]}, which they "
                               "already played. Set the scores of played songs to -np.inf before ranking")
    if np.array_equal(ids, np.argsort(np.where(played, np.inf, S), axis=1, kind="stable")[:, :k]):
        raise ExerciseFeedback("you returned the *lowest* scores: sort by descending score (np.argsort(-S))")
    if all(set(a) == set(b) for a, b in zip(ids.tolist(), expected.tolist())):
        raise ExerciseFeedback("the right songs, in the wrong order: best first")
    u = int(np.flatnonzero((ids != expected).any(axis=1))[0])
    raise ExerciseFeedback(f"user {u} should get {expected[u].tolist()}, you returned {ids[u].tolist()}")


def check_precision_at_k(precision, *, recommended=None, relevant=None, k=3):
    """Exercise 5: mean over users of |top-k ∩ relevant| / k."""
    __tracebackhide__ = True
    if recommended is None:  # k, k − 1, k + 1, the whole list, recall, sum and count all give different values
        recommended = np.array([[3, 1, 4, 0, 2], [2, 0, 1, 3, 4], [4, 3, 2, 1, 0]])
        relevant = [{3, 4}, {0, 1, 3}, {0, 2}]
    rec = np.asarray(recommended)
    rel = [set(r) for r in relevant]
    got = call(precision, rec.copy(), [set(r) for r in rel], k, name="precision")
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise ExerciseFeedback(f"`precision` should return one number (the mean over users), got "
                               f"{type(got).__name__}") from None
    expected = precision_at_k(rec, rel, k)
    if close(value, expected):
        return passed(f"precision is right: P@{k} = {expected:.4f}.")
    hits = lambda kk: np.array([len(set(r[:kk].tolist()) & s) for r, s in zip(rec, rel)])  # noqa: E731
    match_mistakes(value, [
        (recall_at_k(rec, rel, k), "that is recall@k (divided by the number of relevant songs); precision divides "
                                   "by k, the length of the list"),
        (np.mean(hits(k - 1) / k), "off by one in k: you looked at the first k − 1 songs"),
        (np.mean(hits(k + 1) / k) if rec.shape[1] > k else None,
         "off by one in k: you looked at the first k + 1 songs"),
        (np.mean(hits(rec.shape[1]) / rec.shape[1]) if rec.shape[1] != k else None,
         f"you used the whole list; cut it at k = {k} first"),
        (hits(k).sum() / k, "you added the users up; precision@k is the *mean* over users"),
        (hits(k).sum(), "that is a count of hits; divide each user's hits by k and take the mean"),
    ])
    raise ExerciseFeedback(f"P@{k} should be {expected:.4f}, you returned {value:.4f}")
