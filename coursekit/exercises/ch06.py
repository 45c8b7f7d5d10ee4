"""Checkers for exercises 06 · scaling out (32-bit ids for Spark, the cost of an ALS sweep).

Spark's ALS takes user and item ids as 32-bit integers, so a catalogue's 64-bit
ids are first mapped to positions (what :class:`coursekit.scale.SparkALS` does
with :class:`coursekit.feedback.IdMap`). One sweep costs
O(f²·nnz + f³·(users + items)): the checkers fit
T ≈ c·nnz + a·f²·nnz + b·f³·(users + items) by least squares, as chapter 06
does. Nothing here needs pyspark.
"""

from __future__ import annotations

import numpy as np

from ._feedback import ExerciseFeedback, call, close, match_mistakes, passed
from ._feedback import hidden_seed as _hidden_seed

__all__ = ["hidden_seed", "example_ids", "random_ids", "example_runs", "random_runs", "check_id_positions",
           "check_cost_features", "check_fit_cost_model"]

_INT32_MAX = 2**31 - 1


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("06", *key)


def example_ids() -> np.ndarray:
    """Eight plays' track ids: 64-bit, some above 2**31 - 1, repeated, not sorted."""
    return np.array([5_000_000_123, 42, 3_000_000_000, 42, 7, 5_000_000_123, 2_147_483_648, 7], dtype=np.int64)


def random_ids(*, seed: int, n: int = 60, distinct: int = 15) -> np.ndarray:
    """``n`` plays of ``distinct`` random 64-bit ids, most of them above the 32-bit range."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(1, 2**62, size=distinct, dtype=np.int64)
    pool[: distinct // 4] = rng.integers(0, 1000, size=distinct // 4)
    return rng.choice(pool, size=n)


#: The coefficients behind :func:`example_runs` (seconds per play, per f²·play, per f³·row).
EXAMPLE_COEFFICIENTS = (6e-7, 3e-10, 5e-11)


def _features(nnz, users, items, f) -> np.ndarray:
    nnz, users, items, f = (np.asarray(x, dtype=float) for x in (nnz, users, items, f))
    return np.column_stack([nnz, f**2 * nnz, f**3 * (users + items)])


def random_runs(*, seed: int, runs: int = 8, coefficients=EXAMPLE_COEFFICIENTS, noise: float = 0.02) -> dict:
    """Timings of ``runs`` ALS sweeps: nnz, users, items, f and seconds (1-D arrays), with a little noise."""
    rng = np.random.default_rng(seed)
    nnz = np.round(10 ** rng.uniform(5, 7, runs))
    users = np.round(nnz / rng.uniform(20, 60, runs))
    items = np.round(nnz / rng.uniform(50, 300, runs))
    f = rng.choice([16, 32, 64, 128], size=runs).astype(float)
    seconds = _features(nnz, users, items, f) @ np.asarray(coefficients) * (1 + noise * rng.standard_normal(runs))
    return {"nnz": nnz, "users": users, "items": items, "f": f, "seconds": seconds}


def example_runs() -> dict:
    """The notebook's six timings (see :func:`random_runs`)."""
    return random_runs(seed=0, runs=6)


def check_id_positions(id_positions, *, ids=None):
    """Exercise 1: (sorted distinct ids, int32 position of each play's id in them)."""
    __tracebackhide__ = True
    ids = example_ids() if ids is None else np.asarray(ids, dtype=np.int64)
    got = call(id_positions, ids.copy(), name="id_positions")
    if not isinstance(got, tuple) or len(got) != 2:
        raise ExerciseFeedback("`id_positions` should return two arrays, `return unique_ids, positions` "
                               f"(got a {type(got).__name__})")
    unique, positions = (np.asarray(x) for x in got)
    expected_unique, expected_positions = np.unique(ids, return_inverse=True)
    if unique.shape != expected_unique.shape or not np.array_equal(unique, expected_unique):
        if unique.shape == expected_unique.shape and set(unique.tolist()) == set(expected_unique.tolist()):
            raise ExerciseFeedback("the distinct ids are right but not sorted: np.unique sorts them, and position "
                                   "i must stand for the i-th smallest id")
        raise ExerciseFeedback(f"the distinct ids should be the {len(expected_unique)} different ids of the plays, "
                               f"sorted; you returned {unique.size} values")
    if positions.shape != ids.shape:
        raise ExerciseFeedback(f"`positions` needs one entry per play ({ids.shape[0]}), got shape {positions.shape}")
    if positions.dtype.kind in "iu" and np.array_equal(positions.astype(np.int64), ids.astype(np.int32)):
        raise ExerciseFeedback("you cast the ids themselves to int32: ids above 2**31 - 1 wrap around to "
                               "other (even negative) numbers. Map each id to its position instead")
    if positions.dtype != np.int32:
        if positions.dtype.kind in "iu" and np.array_equal(positions, expected_positions):
            raise ExerciseFeedback(f"the positions are right but their dtype is {positions.dtype}: Spark's ALS "
                                   "reads 32-bit integers, so return positions.astype(np.int32)")
        raise ExerciseFeedback(f"`positions` should be int32 positions 0..{len(expected_unique) - 1}, got dtype "
                               f"{positions.dtype}")
    if not np.array_equal(positions, expected_positions):
        first = int(np.flatnonzero(positions != expected_positions)[0])
        raise ExerciseFeedback(f"play {first} has id {ids[first]}, at position {expected_positions[first]} of the "
                               f"sorted distinct ids; you gave {positions[first]}")
    if not np.array_equal(unique[positions], ids):
        raise ExerciseFeedback("unique_ids[positions] should give back the ids")  # pragma: no cover
    return passed(f"id_positions is right: {len(ids)} plays of {len(expected_unique)} ids, as int32 positions "
                  "that Spark accepts.")


def check_cost_features(cost_features, *, runs=None):
    """Exercise 2: the runs × 3 matrix [nnz, f²·nnz, f³·(users + items)]."""
    __tracebackhide__ = True
    runs = example_runs() if runs is None else runs
    args = [np.asarray(runs[k], dtype=float).copy() for k in ("nnz", "users", "items", "f")]
    got = call(cost_features, *args, name="cost_features")
    if got is None:
        raise ExerciseFeedback("`cost_features` returned None: did you forget the `return` line?")
    X = np.asarray(got, dtype=float)
    n = len(args[0])
    if X.shape == (3, n) and n != 3:
        raise ExerciseFeedback(f"your matrix is 3 × {n}: one row per run and one column per term, "
                               "np.column_stack([...]) (or .T)")
    if X.shape != (n, 3):
        raise ExerciseFeedback(f"return a runs × 3 matrix ({n} × 3), got shape {X.shape}")
    expected = _features(*args)
    if close(X, expected):
        return passed("cost_features is right: nnz, f²·nnz and f³·(users + items) for every run.")
    nnz, users, items, f = args
    for column, name in ((0, "nnz"), (1, "f²·nnz"), (2, "f³·(users + items)")):
        if close(X[:, column], expected[:, column]):
            continue
        match_mistakes(X[:, column], [
            (f**3 * nnz, "the second column is f²·nnz, not f³·nnz: each play adds an f × f outer product"),
            (f**2 * (users + items), "the third column is f³·(users + items), not f²: each row solves an f × f "
                                     "system, which costs f³"),
            (f**3 * users, "the third column counts users *and* items: both sides of the matrix are solved, "
                           "f³·(users + items)"),
            (f**3 * items, "the third column counts users *and* items: f³·(users + items)"),
            (f**2 * nnz, "the columns are in the wrong order: nnz, f²·nnz, f³·(users + items)"),
            (nnz, "the columns are in the wrong order: nnz, f²·nnz, f³·(users + items)"),
        ])
        raise ExerciseFeedback(f"column {column} should be {name}")
    raise ExerciseFeedback("some features are wrong")  # pragma: no cover


def check_fit_cost_model(fit_cost_model, *, runs=None):
    """Exercise 3: least-squares (c, a, b) of seconds ≈ c·nnz + a·f²·nnz + b·f³·(users + items)."""
    __tracebackhide__ = True
    runs = example_runs() if runs is None else runs
    args = [np.asarray(runs[k], dtype=float).copy() for k in ("nnz", "users", "items", "f", "seconds")]
    got = call(fit_cost_model, *args, name="fit_cost_model")
    if got is None:
        raise ExerciseFeedback("`fit_cost_model` returned None: did you forget the `return` line?")
    if isinstance(got, tuple) and len(got) == 4:
        raise ExerciseFeedback("you returned all of np.linalg.lstsq's tuple (solution, residuals, rank, singular "
                               "values): take its first element, [0]")
    try:
        coef = np.asarray(got, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ExerciseFeedback("return the three coefficients (c, a, b) as an array") from None
    if coef.size != 3:
        raise ExerciseFeedback(f"return the three coefficients (c, a, b), got {coef.size} numbers — "
                               "np.linalg.lstsq returns a tuple: take its first element")
    X, y = _features(*args[:4]), args[4]
    expected = np.linalg.lstsq(X, y, rcond=None)[0]
    if np.allclose(coef, expected, rtol=1e-4, atol=0):
        return passed("fit_cost_model is right: c = {:.2e} s/play, a = {:.2e} s/(f²·play), b = {:.2e} s/(f³·row)."
                      .format(*expected))
    if np.allclose(coef, expected[::-1], rtol=1e-4, atol=0):
        raise ExerciseFeedback("the coefficients are in reverse order: return (c, a, b) for nnz, f²·nnz, f³·rows")
    scaled = X / X.max(axis=0)
    unscaled = np.linalg.lstsq(scaled, y, rcond=None)[0]
    if np.allclose(coef, unscaled, rtol=1e-4, atol=0):
        raise ExerciseFeedback("you fitted scaled columns: divide the coefficients by the same scale to get "
                               "seconds per unit")
    two = np.linalg.lstsq(X[:, 1:], y, rcond=None)[0]
    if np.allclose(coef[1:], two, rtol=1e-4, atol=0) or np.allclose(coef, np.r_[0.0, two], rtol=1e-4, atol=1e-15):
        raise ExerciseFeedback("you left out the c·nnz term (reading the plays costs time even at f = 0): "
                               "fit all three columns")
    if np.all(np.abs(X @ coef - y) <= np.abs(X @ expected - y) + 1e-12):
        raise ExerciseFeedback("your coefficients fit as well as least squares but differ from it: "
                               "use np.linalg.lstsq(X, seconds, rcond=None)[0]")  # pragma: no cover
    raise ExerciseFeedback(f"(c, a, b) should be {np.array2string(expected, precision=3)}, you returned "
                           f"{np.array2string(coef, precision=3)}: solve min ||X·(c, a, b) − seconds|| with "
                           "np.linalg.lstsq")
