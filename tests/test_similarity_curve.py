"""Tests for coursekit.similarity.annoy_recall_curve: Annoy's recall against query time."""

import numpy as np
import pytest

from coursekit.similarity import AnnoyNeighbours, annoy_recall_curve, cosine_neighbours, recall_at_n

# unit-circle directions at 0°, 45°, 90°, 180° and a longer copy of 0°: the exact
# top-2 of 0 is [4, 1] (cos 1, then cos √½), of 2 is [1, then 0 or 4 tied at cos 0]
VECTORS = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0], [3.0, 0.0]])


def test_grid_order_and_columns():
    curve = annoy_recall_curve(VECTORS, [0, 3], n=2, n_trees=(1, 3), search_ks=(-1, 100, 1000))
    assert list(curve.columns) == ["n_trees", "search_k", "build_s", "query_ms", "recall"]
    assert curve[["n_trees", "search_k"]].values.tolist() == [
        [1, -1], [1, 100], [1, 1000], [3, -1], [3, 100], [3, 1000]]
    assert (curve["query_ms"] > 0).all() and (curve["build_s"] > 0).all()
    # one index per forest: the same build time on every row of a forest
    assert curve.groupby("n_trees")["build_s"].nunique().eq(1).all()


def test_repeats_report_the_fastest_run(monkeypatch):
    # a fake clock: the build takes 100 s, the three runs of the one setting 5 s, 1 s and 1 s;
    # the curve reports the fastest run, per query
    import time

    ticks = iter([0, 100, 100, 105, 105, 106, 106, 107])
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    curve = annoy_recall_curve(VECTORS, [0, 3], n=2, n_trees=(1,), search_ks=(1000,), repeats=3)
    assert curve["build_s"].iloc[0] == 100
    assert curve["query_ms"].iloc[0] == pytest.approx(1 / 2 * 1e3)  # 1 s over 2 queries


def test_exhaustive_search_finds_every_neighbour():
    # five vectors, search_k far above n_trees × 5 nodes: Annoy inspects them all
    curve = annoy_recall_curve(VECTORS, [0, 3], n=2, n_trees=(1, 4), search_ks=(1000,))
    assert curve["recall"].tolist() == [1.0, 1.0]


def test_recall_is_that_of_the_index_it_describes():
    V = np.random.default_rng(0).normal(size=(300, 8))
    queries = np.arange(0, 300, 10)
    curve = annoy_recall_curve(V, queries, n=5, n_trees=(2,), search_ks=(20,), random_state=3)
    exact, _ = cosine_neighbours(V, queries, 5)
    found, _ = AnnoyNeighbours(n_trees=2, search_k=20, random_state=3).fit(V).query(queries, 5)
    assert curve["recall"].iloc[0] == pytest.approx(recall_at_n(found, exact), abs=1e-12)
    assert curve["recall"].iloc[0] < 1.0  # 20 nodes of a 300-vector forest: not exhaustive


@pytest.mark.parametrize("kwargs, match", [
    ({"n_trees": ()}, "at least one"),
    ({"search_ks": []}, "at least one"),
    ({"n_trees": (0, 2)}, "n_trees must be >= 1"),
    ({"repeats": 0}, "repeats must be an integer >= 1"),
])
def test_bad_grids_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        annoy_recall_curve(VECTORS, [0], n=2, **kwargs)
