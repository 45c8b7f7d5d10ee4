"""Property tests of the ranking metrics (coursekit.metrics) with ``hypothesis`` (issue 14).

Random rankings and random truth: every metric is in [0, 1] (NaN exactly when
no user has a relevant item), a perfect ranking scores 1
(``precision_at_k(truth, truth) == 1``), and junk input ends in a documented
``ValueError`` / ``TypeError`` or in a value in [0, 1] — never another crash.
Fractional item indices and ``k`` below 1 in ``catalogue_coverage`` are refused.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.metrics import (catalogue_coverage, hit_rate_at_k, map_at_k, ndcg_at_k, precision_at_k,
                               recall_at_k)

METRICS = {"precision": precision_at_k, "recall": recall_at_k, "ndcg": ndcg_at_k, "map": map_at_k,
           "hit_rate": hit_rate_at_k}
SETTINGS = settings(deadline=None, max_examples=60)
TOL = 1e-12   # float rounding of sums of discounts


@st.composite
def rankings_and_truth(draw, *, min_truth=0):
    """(recommended, relevant sets, n_items, k): unique item indices per list, best first."""
    n_items = draw(st.integers(1, 25))
    n_users = draw(st.integers(1, 6))
    k = draw(st.integers(1, 8))
    items = st.integers(0, n_items - 1)
    recommended = [draw(st.lists(items, max_size=k + 2, unique=True)) for _ in range(n_users)]
    truth = [set(draw(st.lists(items, min_size=min(min_truth, n_items), max_size=n_items, unique=True)))
             for _ in range(n_users)]
    return recommended, truth, n_items, k


def as_matrix(truth, n_items):
    rows = [u for u, items in enumerate(truth) for _ in items]
    cols = [i for items in truth for i in sorted(items)]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(truth), n_items))


@SETTINGS
@given(data=rankings_and_truth(), as_csr=st.booleans(), name=st.sampled_from(sorted(METRICS)))
def test_every_metric_lies_in_the_unit_interval(data, as_csr, name):
    recommended, truth, n_items, k = data
    relevant = as_matrix(truth, n_items) if as_csr else truth
    metric = METRICS[name]
    per_user = metric(recommended, relevant, k, per_user=True)
    has_truth = np.array([len(t) > 0 for t in truth])
    assert per_user.shape == (len(truth),)
    np.testing.assert_array_equal(np.isnan(per_user), ~has_truth)   # NaN exactly for users without truth
    assert ((per_user[has_truth] >= -TOL) & (per_user[has_truth] <= 1 + TOL)).all()
    mean = metric(recommended, relevant, k)
    if has_truth.any():
        assert mean == pytest.approx(per_user[has_truth].mean(), abs=TOL)
    else:
        assert math.isnan(mean)
    coverage = catalogue_coverage(recommended, n_items, k=k)
    assert 0.0 <= coverage <= 1.0


@SETTINGS
@given(n_items=st.integers(1, 25), n_users=st.integers(1, 6), k=st.integers(1, 8), data=st.data())
def test_precision_of_the_truth_itself_is_one(n_items, n_users, k, data):
    k = min(k, n_items)
    truth = [data.draw(st.lists(st.integers(0, n_items - 1), min_size=k, max_size=k, unique=True))
             for _ in range(n_users)]
    for name, metric in METRICS.items():
        assert metric(truth, truth, k) == pytest.approx(1.0, abs=TOL), name
    assert precision_at_k(truth, [set(t) for t in truth], k) == 1.0


@SETTINGS
@given(data=rankings_and_truth(min_truth=1))
def test_a_perfect_list_scores_one_and_a_list_of_misses_zero(data):
    _, truth, n_items, k = data
    perfect = [sorted(t)[:k] for t in truth]        # as many relevant items as fit in k places
    for name in ("recall", "ndcg", "map", "hit_rate"):
        values = METRICS[name](perfect, truth, k, per_user=True)
        full = np.array([len(t) <= k for t in truth])
        if name == "recall":   # recall is not capped at k: only users with <= k relevant items reach 1
            np.testing.assert_allclose(values[full], 1.0, atol=TOL)
            np.testing.assert_allclose(values[~full], [k / len(t) for t, f in zip(truth, full) if not f], atol=TOL)
        else:
            np.testing.assert_allclose(values, 1.0, atol=TOL, err_msg=name)
    misses = [sorted(set(range(n_items)) - t)[:k] for t in truth]
    for name, metric in METRICS.items():
        assert metric(misses, truth, k) == 0.0, name


junk_item = st.one_of(st.integers(-3, 40), st.floats(-2.0, 40.0, allow_nan=False), st.just(float("nan")))
junk_k = st.one_of(st.integers(-2, 8), st.sampled_from([True, 2.5, float("nan"), "3", None]))


@SETTINGS
@given(recommended=st.lists(st.lists(junk_item, max_size=6), max_size=4),
       truth=st.lists(st.sets(st.integers(0, 30), max_size=5), max_size=4),
       k=junk_k, name=st.sampled_from(sorted(METRICS)))
def test_junk_gives_a_documented_error_or_a_value_in_the_unit_interval(recommended, truth, k, name):
    try:
        value = METRICS[name](recommended, truth, k)
    except (ValueError, TypeError):
        return
    assert math.isnan(value) or 0.0 <= value <= 1.0




@SETTINGS
@given(item=st.floats(0.01, 30.0).filter(lambda x: x != int(x)), name=st.sampled_from(sorted(METRICS)))
def test_fractional_item_indices_are_refused(item, name):
    with pytest.raises((ValueError, TypeError), match="recommended"):
        METRICS[name]([[item, 31]], [{0}], 2)


@SETTINGS
@given(k=st.one_of(st.integers(-5, 0), st.sampled_from([2.5, True])))
def test_catalogue_coverage_refuses_k_below_one(k):
    with pytest.raises((ValueError, TypeError), match="k"):
        catalogue_coverage([[0, 1, 2], [3, 4, 5]], 10, k=k)
