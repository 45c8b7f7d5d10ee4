"""Tests for coursekit.similarity: exact and approximate cosine neighbours."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from coursekit.similarity import AnnoyNeighbours, Neighbours, cosine_neighbours, recall_at_n, unit_rows

EXACT = 1e-12

# unit-circle directions at 0°, 45°, 90°, 180° and a longer copy of 0°
VECTORS = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0], [3.0, 0.0]])


def test_hand_computed_neighbours():
    ids, sims = cosine_neighbours(VECTORS, 0, 4)
    # cos(0°, 0°) = 1 for the longer copy, then 45°, 90°, 180°: length does not matter
    assert ids.tolist() == [4, 1, 2, 3]
    np.testing.assert_allclose(sims, [1.0, np.sqrt(0.5), 0.0, -1.0], atol=EXACT)


def test_self_is_excluded_or_first():
    ids, sims = cosine_neighbours(VECTORS, [3, 2], 2)  # 180° and 90°
    assert ids[0].tolist() == [2, 1] and ids[1, 0] == 1
    np.testing.assert_allclose(sims[0], [0.0, -np.sqrt(0.5)], atol=EXACT)
    ids, sims = cosine_neighbours(VECTORS, 3, 2, exclude_self=False)
    assert ids.tolist() == [3, 2] and sims[0] == pytest.approx(1.0)


def test_matches_brute_force_in_any_batch_size():
    V = np.random.default_rng(0).normal(size=(50, 6))
    V_hat = V / np.linalg.norm(V, axis=1, keepdims=True)
    S = V_hat @ V_hat.T
    np.fill_diagonal(S, -np.inf)
    queries = np.arange(0, 50, 3)
    ids, sims = cosine_neighbours(V, queries, 5, batch_size=4)
    np.testing.assert_array_equal(ids, np.argsort(-S[queries], axis=1)[:, :5])
    np.testing.assert_allclose(sims, -np.sort(-S[queries], axis=1)[:, :5], atol=EXACT)


def test_zero_vectors_have_cosine_zero():
    np.testing.assert_array_equal(unit_rows([[0.0, 0.0], [0.0, 2.0]]), [[0.0, 0.0], [0.0, 1.0]])
    ids, sims = cosine_neighbours([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]], 0, 2)
    np.testing.assert_array_equal(sims, [0.0, 0.0])


def test_n_is_capped_and_bad_queries_are_refused():
    result = cosine_neighbours(VECTORS, 0, 99)
    assert isinstance(result, Neighbours) and len(result.ids) == 4
    with pytest.raises(IndexError, match=r"0..4, got 5..5"):
        cosine_neighbours(VECTORS, 5, 2)
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        cosine_neighbours(VECTORS, 0, 0)
    with pytest.raises(ValueError, match="2 NaN or infinite"):
        cosine_neighbours([[np.nan, np.inf], [1.0, 0.0]], 0, 1)


def test_annoy_finds_the_exact_neighbours_of_clustered_vectors():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16))
    V = np.repeat(centres, 30, axis=0) + 0.3 * rng.normal(size=(300, 16))
    exact, exact_sims = cosine_neighbours(V, np.arange(300), 10)
    ann = AnnoyNeighbours(n_trees=10, random_state=0).fit(V)
    approx, approx_sims = ann.query(np.arange(300), 10)
    assert approx.shape == (300, 10) and not (approx == np.arange(300)[:, None]).any()
    assert recall_at_n(approx, exact) >= 0.9
    # similarities are cosines: where Annoy found the exact neighbour, it reports the same value
    same = approx == exact
    np.testing.assert_allclose(approx_sims[same], exact_sims[same], atol=1e-5)
    # a tiny forest searched narrowly finds fewer
    rough = AnnoyNeighbours(n_trees=1, search_k=10, random_state=0).fit(V)
    assert recall_at_n(rough.query(np.arange(300), 10)[0], exact) < recall_at_n(approx, exact)


def test_annoy_is_deterministic_with_a_seed():
    V = np.random.default_rng(1).normal(size=(200, 8))
    a = AnnoyNeighbours(n_trees=3, search_k=50, random_state=5).fit(V).query(np.arange(200), 5)[0]
    b = AnnoyNeighbours(n_trees=3, search_k=50, random_state=5).fit(V).query(np.arange(200), 5)[0]
    c = AnnoyNeighbours(n_trees=3, search_k=50, random_state=6).fit(V).query(np.arange(200), 5)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # the seed does reach the forest


def test_annoy_query_vectors_and_single_query():
    ann = AnnoyNeighbours(n_trees=5, random_state=0).fit(VECTORS)
    ids, sims = ann.query_vectors([2.0, 0.1], 2)
    assert set(ids.tolist()) == {0, 4} and sims[0] > 0.99
    ids, sims = ann.query(0, 1)
    assert ids.tolist() == [4] and sims[0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(NotFittedError, match="not fitted"):
        AnnoyNeighbours().query(0, 1)


def test_recall_at_n_by_hand():
    assert recall_at_n([[1, 2], [3, 4]], [[1, 5], [3, 4]]) == pytest.approx(0.75)
    assert recall_at_n([[2, 1]], [[1, 2]]) == 1.0  # order does not matter
    assert recall_at_n([[1, -1]], [[1, 2]]) == 0.5  # -1 is padding
    assert recall_at_n([[1, -1]], [[1, -1]]) == 1.0  # on both sides
    assert recall_at_n([[7, 8]], [[1, 2]]) == 0.0
    with pytest.raises(ValueError, match="one row per query"):
        recall_at_n([[1]], [[1], [2]])
