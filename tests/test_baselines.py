"""Tests for coursekit.baselines and the batch recommender (coursekit.evaluation.recommend_all)."""

import numpy as np
import pytest
import scipy.sparse as sp

from coursekit.baselines import Popularity, Random, popularity_scores
from coursekit.evaluation import recommend_all


TRAIN = sp.csr_matrix(
    np.array(
        [
            [3, 0, 1, 0, 0],
            [1, 0, 0, 0, 2],
            [0, 1, 1, 0, 0],
            [0, 0, 4, 0, 0],
        ],
        dtype=float,
    )
)


def test_popularity_counts_users_not_streams():
    np.testing.assert_array_equal(popularity_scores(TRAIN), [2, 1, 3, 0, 1])
    model = Popularity().fit(TRAIN)
    ids, scores = model.recommend(3, TRAIN, N=3)
    assert ids.tolist() == [0, 1, 4] and scores.tolist() == [2, 1, 1]  # item 2 already played
    assert not model.recommend(3, TRAIN).fallback


def test_recommend_all_matches_one_user_at_a_time():
    train = sp.random(30, 200, density=0.1, format="csr", random_state=1)
    scores = np.random.default_rng(0).random((30, 200))
    top = recommend_all(scores, train, 10, batch_size=7)
    played = train.toarray() > 0
    for u in range(30):
        unplayed = [i for i in np.argsort(-scores[u]) if not played[u, i]]
        assert top[u].tolist() == unplayed[:10]
    unfiltered = recommend_all(scores, train, 10, filter_already_liked_items=False)
    np.testing.assert_array_equal(unfiltered, np.argsort(-scores, axis=1)[:, :10])
    np.testing.assert_array_equal(recommend_all(scores, train, 10, userids=[2, 0]), top[[2, 0]])


def test_recommend_all_pads_when_too_few_items_are_left():
    top = recommend_all(Popularity().fit(TRAIN), TRAIN, 4)
    # user 2 has played 2 of 5 items: 3 left, the 4th place is -1
    assert top[2].tolist() == [0, 4, 3, -1]
    assert set(top[0, :2]) == {1, 4} and top[0, 2:].tolist() == [3, -1]  # 1 and 4 tie


def test_recommend_all_checks_the_scores_shape():
    with pytest.raises(ValueError, match=r"must have shape \(4, 5\), got \(4, 3\)"):
        recommend_all(np.zeros((4, 3)), TRAIN, 2)


def test_random_recommender_is_seeded():
    train = sp.random(50, 40, density=0.1, format="csr", random_state=0)
    a = recommend_all(Random(random_state=1).fit(train), train, 5)
    b = recommend_all(Random(random_state=1).fit(train), train, 5)
    c = recommend_all(Random(random_state=2).fit(train), train, 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (50, 5) and not any(train[u, i] for u in range(50) for i in a[u])


