"""Tests for coursekit.metrics: hand-computed cases, limits, bad input, and the cold-start measures."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from coursekit.baselines import Random
from coursekit.metrics import (
    catalogue_coverage,
    cold_start_table,
    evaluate,
    expected_percentile_ranking,
    hit_rate_at_k,
    listener_auc,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

EXACT = 1e-12

# Two users, k = 3.
# user 0: recommended 5, 6, 7; relevant {5, 7}  -> hits at places 1 and 3
# user 1: recommended 1, 2, 3; relevant {3, 4, 8, 9} -> a hit at place 3
RECOMMENDED = np.array([[5, 6, 7], [1, 2, 3]])
RELEVANT = [{5, 7}, {3, 4, 8, 9}]
L2, L3, L4 = math.log2(2), math.log2(3), math.log2(4)


def as_csr(relevant, n_items=10):
    rows = np.repeat(np.arange(len(relevant)), [len(r) for r in relevant])
    cols = np.concatenate([sorted(r) for r in relevant]).astype(int)
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(relevant), n_items))


@pytest.mark.parametrize("relevant", [RELEVANT, as_csr(RELEVANT)], ids=["sets", "csr"])
def test_hand_computed_values(relevant):
    assert precision_at_k(RECOMMENDED, relevant, 3) == pytest.approx((2 / 3 + 1 / 3) / 2, abs=EXACT)
    assert recall_at_k(RECOMMENDED, relevant, 3) == pytest.approx((2 / 2 + 1 / 4) / 2, abs=EXACT)
    ndcg_0 = (1 / L2 + 1 / L4) / (1 / L2 + 1 / L3)  # 1.5 / 1.6309 = 0.91972
    ndcg_1 = (1 / L4) / (1 / L2 + 1 / L3 + 1 / L4)  # 0.5 / 2.1309 = 0.23464
    assert ndcg_at_k(RECOMMENDED, relevant, 3) == pytest.approx((ndcg_0 + ndcg_1) / 2, abs=EXACT)
    assert ndcg_0 == pytest.approx(0.919721, abs=1e-6)
    ap_0 = (1 / 1 + 2 / 3) / 2  # precision at the hits, over min(k, |Rel|) = 2
    ap_1 = (1 / 3) / 3  # one hit at place 3, over min(k, |Rel|) = 3
    assert map_at_k(RECOMMENDED, relevant, 3) == pytest.approx((ap_0 + ap_1) / 2, abs=EXACT)
    assert hit_rate_at_k(RECOMMENDED, relevant, 3) == 1.0
    per_user = ndcg_at_k(RECOMMENDED, relevant, 3, per_user=True)
    np.testing.assert_allclose(per_user, [ndcg_0, ndcg_1], atol=EXACT)


def test_cut_off_uses_only_the_first_k():
    assert precision_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((1 + 0) / 2)
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 2) == pytest.approx(0.5)
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx(0.5)


def test_perfect_ranking_scores_one():
    truth = [{3, 1, 4}, {0, 2, 5}]
    perfect = np.array([[3, 1, 4], [5, 0, 2]])
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k):
        assert metric(perfect, truth, 3) == pytest.approx(1.0, abs=EXACT), metric.__name__
    # more relevant items than places: NDCG and MAP still reach 1, recall cannot
    many = [{0, 1, 2, 3, 4}]
    assert ndcg_at_k([[4, 2]], many, 2) == pytest.approx(1.0)
    assert map_at_k([[4, 2]], many, 2) == pytest.approx(1.0)
    assert recall_at_k([[4, 2]], many, 2) == pytest.approx(2 / 5)


def test_no_hits_scores_zero():
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k):
        assert metric([[7, 8]], [{1, 2}], 2) == 0.0, metric.__name__


def test_users_without_relevant_items_are_left_out_of_the_average():
    recommended = [[1, 2], [3, 4], [5, 6]]
    relevant = [{1}, set(), {9}]
    assert hit_rate_at_k(recommended, relevant, 2) == pytest.approx(0.5)  # (1 + 0) / 2, not / 3
    per_user = precision_at_k(recommended, relevant, 2, per_user=True)
    assert per_user[0] == 0.5 and np.isnan(per_user[1]) and per_user[2] == 0.0
    assert math.isnan(ndcg_at_k(recommended, [set(), set(), set()], 2))


def test_ragged_and_short_lists_are_padded_with_misses():
    # the short list of user 1 is missing places, which count as misses in precision
    assert precision_at_k([[1, 2, 3], [4]], [{1}, {4}], 3) == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert precision_at_k(np.array([[1]]), [{1}], 3) == pytest.approx(1 / 3)


def test_padding_never_hits_another_users_item():
    # the -1 that pads user 1's list must not be read as item 2 of user 0
    relevant = as_csr([{2}, {0}], n_items=3)
    assert precision_at_k([[2], [1]], relevant, 2) == pytest.approx((1 / 2 + 0) / 2)


def test_bad_lists_are_refused():
    with pytest.raises(ValueError, match="repeat an item for 1 users"):
        precision_at_k([[1, 1, 2]], [{1}], 3)
    with pytest.raises(ValueError, match="2 rows .* relevant has 1"):
        precision_at_k([[1], [2]], [{1}], 1)
    with pytest.raises(ValueError, match="item 12 but relevant has only 10 items"):
        precision_at_k([[12]], as_csr([{1}]), 1)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        precision_at_k([[1]], [{1}], 0)


def test_catalogue_coverage():
    assert catalogue_coverage(RECOMMENDED, 10) == pytest.approx(6 / 10)
    assert catalogue_coverage(RECOMMENDED, 10, k=1) == pytest.approx(2 / 10)
    assert catalogue_coverage([[0, 1], [1, 0]], 2) == 1.0
    with pytest.raises(ValueError, match="only 5 items"):
        catalogue_coverage(RECOMMENDED, 5)
    for k in (0, -1):  # k = -1 used to drop the last column
        with pytest.raises(ValueError, match="k must be an integer >= 1"):
            catalogue_coverage(RECOMMENDED, 10, k=k)


@pytest.mark.parametrize("recommended, relevant, name", [
    ([[0.9, 5.5]], [[0]], "recommended"),        # used to be truncated to [[0, 5]]: ndcg 1.0
    (np.array([[0.9, 5.5]]), [[0]], "recommended"),
    ([[0, 5]], [[0.5]], "relevant"),
    ([[0, 5]], [{np.nan}], "relevant"),
])
def test_fractional_items_are_refused_and_named(recommended, relevant, name):
    with pytest.raises(ValueError, match=f"{name} must hold integer item indices"):
        ndcg_at_k(recommended, relevant, 2)


def test_whole_floats_and_empty_lists_are_items():
    assert ndcg_at_k([[0.0, 5.0]], [[0]], 2) == 1.0
    assert precision_at_k([[], [1]], [set(), {1}], 1) == 1.0
    with pytest.raises(TypeError, match="recommended must hold integer item indices"):
        ndcg_at_k([["a", "b"]], [[0]], 2)
    with pytest.raises(TypeError, match="recommended must hold integer item indices"):
        ndcg_at_k([[True, False]], [[0]], 2)


def test_evaluate_collects_every_metric():
    row = evaluate(RECOMMENDED, as_csr(RELEVANT), 3)
    assert row["precision@3"] == precision_at_k(RECOMMENDED, RELEVANT, 3)
    assert row["ndcg@3"] == ndcg_at_k(RECOMMENDED, RELEVANT, 3)
    assert row["map@3"] == map_at_k(RECOMMENDED, RELEVANT, 3)
    assert row["recall@3"] == recall_at_k(RECOMMENDED, RELEVANT, 3)
    assert row["coverage@3"] == pytest.approx(0.6) and row["users"] == 2
    assert set(row) == {"precision@3", "recall@3", "ndcg@3", "map@3", "hit_rate@3", "coverage@3", "users"}


# ----------------------------------------------------------- expected percentile rank


def test_expected_percentile_ranking_by_hand():
    scores = np.array([[0.9, 0.5, 0.1, 0.3], [0.2, 0.2, 0.8, 0.0]])
    heldout = sp.csr_matrix(np.array([[0, 2.0, 0, 1.0], [1.0, 0, 0, 0]]))
    # user 0 ranks items 0, 1, 3, 2: item 1 at percentile 1/3 (weight 2), item 3 at 2/3 (weight 1)
    # user 1: items 0 and 1 tie at places 2 and 3 -> average place 2.5 -> percentile 1.5 / 3 (weight 1)
    expected = (2 * (1 / 3) + 1 * (2 / 3) + 1 * 0.5) / 4
    assert expected_percentile_ranking(scores, heldout) == pytest.approx(expected, abs=EXACT)
    per_user = expected_percentile_ranking(scores, heldout, per_user=True, batch_size=1)
    np.testing.assert_allclose(per_user, [(2 / 3 + 2 / 3) / 3, 0.5], atol=EXACT)


def test_expected_percentile_ranking_limits_and_exclusions():
    heldout = sp.csr_matrix(np.array([[0, 0, 1.0, 0, 0]]))
    assert expected_percentile_ranking(np.array([[0, 0, 9.0, 0, 0]]), heldout) == 0.0
    assert expected_percentile_ranking(np.array([[1, 1, -9.0, 1, 1]]), heldout) == 1.0
    # leaving out the two played items (scored highest) moves item 2 from percentile 2/4 to 0/2
    played = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0, 0]]))
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    assert expected_percentile_ranking(scores, heldout) == pytest.approx(0.5)
    assert expected_percentile_ranking(scores, heldout, user_items=played) == 0.0
    # item 3 is 3rd of the 4 unplayed items: percentile 2/3 (it would be 3/4 among all 5)
    heldout_3 = sp.csr_matrix(np.array([[0, 0, 0, 1.0, 0]]))
    played_0 = sp.csr_matrix(np.array([[1.0, 0, 0, 0, 0]]))
    assert expected_percentile_ranking(scores, heldout_3) == pytest.approx(3 / 4)
    assert expected_percentile_ranking(scores, heldout_3, user_items=played_0) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="1 held-out .* also in user_items"):
        expected_percentile_ranking(scores, heldout, user_items=heldout)


def test_random_scores_rank_at_about_one_half():
    heldout = sp.random(200, 100, density=0.05, format="csr", random_state=0)
    model = Random(random_state=0).fit(heldout)
    assert expected_percentile_ranking(model, heldout) == pytest.approx(0.5, abs=0.03)


# -- cold start (chapter 04) ----------------------------------------------------------------


def test_cold_start_table_by_hand():
    affinity = np.array([[5.0, 4.0, 1.0, 0.0],
                         [0.0, 1.0, 4.0, 5.0]])
    scores = {"perfect": affinity, "reversed": -affinity,
              "half": np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]])}
    table = cold_start_table(scores, affinity, k=2, top_share=0.5)  # relevant: each user's best 2
    assert table.loc["perfect"].to_dict() == {"AUC": 1.0, "NDCG@2": 1.0, "precision@2": 1.0, "listener AUC": 1.0}
    assert table.loc["reversed", "AUC"] == 0.0 and table.loc["reversed", "NDCG@2"] == 0.0
    # user 0: relevant {0, 1} scored 1, 0 vs irrelevant {2, 3} scored 0, 1: pairs won 1 + 0.5 + 0.5 + 0 of 4
    assert table.loc["half", "AUC"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="users × held-out tracks"):
        cold_start_table({"bad": affinity[:, :3]}, affinity)


def test_listener_auc_finds_the_right_listeners_by_hand():
    affinity = np.array([[3.0], [2.0], [1.0], [0.0]])  # one track, four users; its listener: user 0
    assert listener_auc(np.array([[0.9], [0.1], [0.2], [0.3]]), affinity, top_share=0.25) == [1.0]
    assert listener_auc(np.array([[0.25], [0.1], [0.2], [0.3]]), affinity, top_share=0.25) \
        == pytest.approx([2 / 3])
