"""Checkers for exercises 01 · implicit feedback (strength, preference, confidence, sparse, new pairs).

Each ``check_*`` takes the student's function, runs it on the notebook's
example (or on the case given as keywords — the hidden tests pass other cases)
and compares with :mod:`coursekit.feedback`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coursekit.feedback import DEFAULT_WEIGHTS, build_feedback, confidence_values

from ._feedback import hidden_seed as _hidden_seed
from ._feedback import (ExerciseFeedback, as_matrix, call, check_shape, close, first_difference, match_mistakes,
                        passed, uses_loop)

__all__ = ["hidden_seed", "example_listens", "example_weights", "random_listens", "EXAMPLE_USERS", "EXAMPLE_TRACKS",
           "check_strength_matrix", "check_preference_matrix", "check_confidence_matrix",
           "check_sparse_strength", "check_new_pairs"]


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("01", *key)

_SIGNALS = ("streams", "saved", "artist_page_visits")
EXAMPLE_USERS = (101, 205)
EXAMPLE_TRACKS = (7, 12, 30, 42)


def example_listens() -> pd.DataFrame:
    """Two users, four tracks, two weeks: the notebook's listening log (a fresh copy)."""
    return pd.DataFrame({
        "user_id":            [101, 101, 101, 205, 205, 101, 205],
        "track_id":           [7,   12,  42,  12,  30,  7,   42],
        "week":               [0,   0,   0,   0,   0,   1,   1],
        "streams":            [3,   1,   0,   5,   2,   2,   1],
        "saved":              [0,   1,   0,   1,   0,   0,   0],
        "artist_page_visits": [1,   0,   1,   0,   0,   0,   0],
    })


def example_weights() -> dict:
    """Hand-set weights: a save is worth 4 streams, a visit to the artist's page 2."""
    return {"streams": 1.0, "saved": 4.0, "artist_page_visits": 2.0}


def random_listens(*, seed: int, n_users: int = 20, n_tracks: int = 30, weeks: int = 3,
                   rows: int = 120) -> pd.DataFrame:
    """A random log with unique (user, track, week) rows and ids that are not positions."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_tracks * weeks, size=min(rows, n_users * n_tracks * weeks), replace=False)
    user, rest = np.divmod(keys, n_tracks * weeks)
    track, week = np.divmod(rest, weeks)
    return pd.DataFrame({
        "user_id": 1000 + 7 * user, "track_id": 50 + 3 * track, "week": week,
        "streams": 1 + rng.poisson(1.5, len(keys)), "saved": rng.random(len(keys)) < 0.2,
        "artist_page_visits": rng.poisson(0.3, len(keys)),
    }).astype({"saved": int}).sort_values(["week", "user_id", "track_id"], ignore_index=True)


def _case(listens, weights, users, tracks):
    example = listens is None
    listens = example_listens() if example else listens.copy()
    weights = example_weights() if weights is None else dict(weights)
    if users is None:
        users = EXAMPLE_USERS if example else np.sort(listens["user_id"].unique())
    if tracks is None:
        tracks = EXAMPLE_TRACKS if example else np.sort(listens["track_id"].unique())
    return listens, weights, [int(u) for u in users], [int(t) for t in tracks]


def _strength(listens, weights, users, tracks) -> np.ndarray:
    return build_feedback(listens, users=users, tracks=tracks, weights=weights).strength.toarray()


def _strength_mistakes(listens, weights, users, tracks):
    """The dense r of the typical wrong answers, with what to say about each."""
    r = lambda log, w=weights, u=users, t=tracks: _strength(log, w, u, t)  # noqa: E731
    weeks = sorted(listens["week"].unique())
    out = []
    if len(weeks) > 1:
        last, first = listens[listens["week"] == weeks[-1]], listens[listens["week"] == weeks[0]]
        msg = ("you counted only week {} — r_ui sums the evidence over *all* weeks (group by user and track, "
               "not by user, track and week)")
        out += [(r(last), msg.format(weeks[-1])), (r(first), msg.format(weeks[0]))]
    out.append((r(listens, {"streams": 1.0, "saved": 0.0, "artist_page_visits": 0.0}),
                "you counted only the streams: r_ui also adds w_saved · saved + w_visits · artist_page_visits"))
    out.append((r(listens, {s: 1.0 for s in _SIGNALS}),
                "you added the three signals without their weights: multiply each signal by its weight first"))
    if dict(weights) != DEFAULT_WEIGHTS:
        out.append((r(listens, DEFAULT_WEIGHTS),
                    "you used coursekit's DEFAULT_WEIGHTS; use the `weights` passed to your function"))
    return out


def _reorder(M, from_rows, from_cols, to_rows, to_cols):
    ri = [list(from_rows).index(u) for u in to_rows]
    ci = [list(from_cols).index(t) for t in to_cols]
    return M[np.ix_(ri, ci)]


def check_strength_matrix(strength_matrix, *, listens=None, weights=None, users=None, tracks=None):
    """Exercise 1: r_ui = Σ_weeks (w_streams·streams + w_saved·saved + w_visits·visits), dense users × tracks."""
    __tracebackhide__ = True
    listens, weights, users, tracks = _case(listens, weights, users, tracks)
    got = call(strength_matrix, listens.copy(), dict(weights), list(users), list(tracks), name="strength_matrix")
    n_seen = listens["user_id"].nunique()
    if got is not None and np.ndim(got) == 2 and np.shape(got)[0] == n_seen != len(users):
        raise ExerciseFeedback(f"`strength_matrix` has {n_seen} rows, one per user *in the log*, but `users` "
                               f"lists {len(users)}: a user without listens still gets a row (of zeros)")
    R = as_matrix(got, name="strength_matrix", shape=(len(users), len(tracks)), rows="users", cols="tracks")
    expected = _strength(listens, weights, users, tracks)
    if close(R, expected):
        return passed(f"strength_matrix is right: r_ui for {len(users)} users × {len(tracks)} tracks.")
    if close(R, (expected > 0).astype(float)):
        raise ExerciseFeedback("your matrix holds only 0s and 1s: that is the preference P, not the strength r_ui "
                               "(keep the weighted sums)")
    match_mistakes(R, _strength_mistakes(listens, weights, users, tracks))
    if list(users) != sorted(users) or list(tracks) != sorted(tracks):
        sorted_answer = _reorder(expected, users, tracks, sorted(users), sorted(tracks))
        if close(R, sorted_answer):
            raise ExerciseFeedback("your rows or columns are in sorted id order; they must follow the order of the "
                                   f"`users` ({list(users)}) and `tracks` ({list(tracks)}) lists you are given")
    raise ExerciseFeedback("some strengths are wrong: " + first_difference(R, expected, row_labels=users,
                                                                            col_labels=tracks, rows="user",
                                                                            cols="track"))


def check_preference_matrix(preference_matrix, *, R=None):
    """Exercise 2: p_ui = 1 where r_ui > 0, else 0."""
    __tracebackhide__ = True
    if R is None:
        R = _strength(*_case(None, None, None, None))
    R = np.asarray(R, dtype=float)
    got = call(preference_matrix, R.copy(), name="preference_matrix")
    P = as_matrix(got, name="preference_matrix", shape=R.shape, rows="users", cols="tracks")
    expected = (R > 0).astype(float)
    if close(P, expected):
        return passed("preference_matrix is right: 1 wherever the user showed any interest, else 0.")
    match_mistakes(P, [
        (R, "you returned the strengths themselves: P holds only 0 and 1 (p_ui = 1 if r_ui > 0)"),
        (np.ones_like(R), "every entry is 1: p_ui = 1 only where r_ui > 0 (use R > 0, not R >= 0)"),
        (1.0 - expected, "your 0s and 1s are swapped: p_ui = 1 where the user *did* show interest"),
    ])
    raise ExerciseFeedback("some preferences are wrong: " + first_difference(P, expected, rows="user", cols="track"))


def check_confidence_matrix(confidence_matrix, *, R=None, alpha=5.0, epsilon=2.0):
    """Exercise 3: c_ui = 1 + α log(1 + r_ui/ε) on every pair (1 where nothing was observed)."""
    __tracebackhide__ = True
    if R is None:
        R = _strength(*_case(None, None, None, None))
    R = np.asarray(R, dtype=float)
    got = call(confidence_matrix, R.copy(), alpha, epsilon, name="confidence_matrix")
    C = as_matrix(got, name="confidence_matrix", shape=R.shape, rows="users", cols="tracks")
    expected = confidence_values(R, alpha=alpha, epsilon=epsilon, scale="log")
    if close(C, expected):
        return passed(f"confidence_matrix is right: c = 1 + {alpha:g}·log(1 + r/{epsilon:g}); "
                      "pairs with no evidence keep confidence 1.")
    observed = R > 0
    match_mistakes(C, [
        (np.where(observed, expected, 0.0),
         "pairs with no evidence have confidence 0 in your matrix, but c_ui = 1 + α·log(1 + 0) = 1 there: "
         "an unplayed song is weak evidence, not no data — compute the formula on every pair"),
        (expected - 1.0, "you forgot the `1 +` in front: c_ui = 1 + α·log(1 + r_ui/ε)"),
        (1.0 + alpha * np.log10(1.0 + R / epsilon),
         "you used log10; the formula uses the natural logarithm (np.log, or np.log1p(x) = log(1 + x))"),
        (1.0 + alpha * np.log2(1.0 + R / epsilon), "you used log2; the formula uses the natural logarithm (np.log)"),
        (1.0 + alpha * R, "that is the linear form 1 + α·r_ui; this exercise asks for the log form "
                          "1 + α·log(1 + r_ui/ε)"),
        (1.0 + alpha * np.log(1.0 + R), "you forgot to divide r_ui by ε inside the log")
        if epsilon != 1 else (None, ""),
        (1.0 + np.log(1.0 + alpha * R / epsilon), "α belongs outside the log: 1 + α·log(1 + r/ε)")
        if alpha != 1 else (None, ""),
        (alpha * np.log(1.0 + R / epsilon) + (R > 0), "unobserved pairs need the `1 +` too"),
    ])
    raise ExerciseFeedback("some confidences are wrong: " + first_difference(C, expected, rows="user", cols="track"))


def check_sparse_strength(sparse_strength, *, listens=None, weights=None, users=None, tracks=None):
    """Exercise 4: the same r as a scipy CSR matrix, built without a Python loop."""
    __tracebackhide__ = True
    listens, weights, users, tracks = _case(listens, weights, users, tracks)
    got = call(sparse_strength, listens.copy(), dict(weights), list(users), list(tracks), name="sparse_strength")
    if got is None:
        raise ExerciseFeedback("`sparse_strength` returned None: did you forget the `return` line?")
    if not sp.issparse(got):
        raise ExerciseFeedback(f"`sparse_strength` returned a dense {type(got).__name__}; return a "
                               "scipy.sparse.csr_matrix — Spotify's users × tracks matrix has about 10¹⁵ cells, "
                               "almost all zero, and only the non-zeros can be stored")
    if got.format != "csr":
        raise ExerciseFeedback(f"`sparse_strength` returned a {got.format.upper()} matrix; convert it with .tocsr() "
                               "(CSR: fast rows, one row per user, what ALS and `implicit` read)")
    expected = build_feedback(listens, users=users, tracks=tracks, weights=weights).strength
    shape = (len(users), len(tracks))
    if got.shape != shape and got.shape[0] > max(users) and got.shape[1] > max(tracks):
        raise ExerciseFeedback(f"your matrix is {got.shape[0]} × {got.shape[1]}: you used the ids themselves as "
                               f"row and column numbers. Map ids to positions 0..{len(users) - 1} and "
                               f"0..{len(tracks) - 1}, e.g. pd.Index(users).get_indexer(listens['user_id'])")
    check_shape(got, shape, name="sparse_strength", rows="users", cols="tracks")
    R = got.toarray()
    if not close(R, expected.toarray()):
        match_mistakes(R, _strength_mistakes(listens, weights, users, tracks))
        raise ExerciseFeedback("some strengths are wrong: " + first_difference(
            R, expected.toarray(), row_labels=users, col_labels=tracks, rows="user", cols="track"))
    if uses_loop(sparse_strength, over=(0,)):
        raise ExerciseFeedback("the values are right, but `sparse_strength` loops over the rows of the log. "
                               "Build it from whole columns: positions with get_indexer, one "
                               "weighted sum of columns, then scipy.sparse.csr_matrix((r, (rows, cols)), shape=...)"
                               " — it adds up repeated (row, column) pairs for you")
    return passed(f"sparse_strength is right: a {shape[0]} × {shape[1]} CSR matrix with {got.nnz} stored "
                  "values, duplicates summed by scipy.")


def _pairs(frame) -> set:
    return set(zip(frame["user_id"].tolist(), frame["track_id"].tolist()))


def _as_pair_set(got) -> set:
    __tracebackhide__ = True
    if got is None:
        raise ExerciseFeedback("`new_pairs` returned None: did you forget the `return` line?")
    if isinstance(got, pd.DataFrame):
        if not {"user_id", "track_id"} <= set(got.columns):
            raise ExerciseFeedback(f"return a set of (user_id, track_id) tuples; your DataFrame has columns "
                                   f"{list(got.columns)}")
        return _pairs(got)
    try:
        items = list(got)
        pairs = {tuple(int(x) for x in p) for p in items}
    except (TypeError, ValueError):
        raise ExerciseFeedback("return a set of (user_id, track_id) tuples, e.g. {(101, 30), (205, 7)}") from None
    if any(len(p) != 2 for p in pairs):
        raise ExerciseFeedback("each element must be a pair (user_id, track_id)")
    if len(items) != len(pairs):
        raise ExerciseFeedback(f"your answer lists {len(items) - len(pairs)} pair(s) twice: return a set")
    return pairs


def check_new_pairs(new_pairs, *, listens=None, test_week=None):
    """Exercise 5: the pairs of the test week that are new to their user (what Discover Weekly must find)."""
    __tracebackhide__ = True
    listens = example_listens() if listens is None else listens.copy()
    test_week = int(listens["week"].max()) if test_week is None else test_week
    got = _as_pair_set(call(new_pairs, listens.copy(), test_week, name="new_pairs"))
    before, week = listens[listens["week"] < test_week], listens[listens["week"] == test_week]
    heard = _pairs(before)
    expected = _pairs(week) - heard
    if got == expected:
        return passed(f"new_pairs is right: {len(expected)} pair(s) of week {test_week} are new to their user.")
    stale = sorted(got & heard)
    if stale:
        u, t = stale[0]
        raise ExerciseFeedback(f"you forgot to exclude heard songs: user {u} already played track {t} before week "
                               f"{test_week}, so recommending it would not be a discovery "
                               f"({len(stale)} such pair(s) in your answer)")
    if got == _pairs(week) - {(u, t) for u, t in _pairs(week) if t in {t2 for _, t2 in heard}}:
        raise ExerciseFeedback("you dropped tracks that *another* user had heard; a track is new to a user when "
                               "that same user never played it")
    after = listens[listens["week"] > test_week]
    if len(after) and got == _pairs(week) - heard - _pairs(after):
        raise ExerciseFeedback(f"only weeks *before* week {test_week} are the user's history; later weeks are the "
                               "future")
    extra, missing = sorted(got - expected), sorted(expected - got)
    if extra:
        u, t = extra[0]
        raise ExerciseFeedback(f"user {u} did not play track {t} in week {test_week}, yet ({u}, {t}) is in your "
                               f"answer ({len(extra)} pair(s) too many)")
    u, t = missing[0]
    raise ExerciseFeedback(f"({u}, {t}) is missing: user {u} played track {t} in week {test_week} for the first time "
                           f"({len(missing)} pair(s) missing)")
