"""Hand-computed checks of the sliced next-week evaluation (coursekit.evaluation)."""

import numpy as np
import pytest
import scipy.sparse as sp

from coursekit.evaluation import activity_slices, popularity_slices, sliced_hits

# 3 users × 6 tracks. Relevant (next week): user 0 -> tracks 0, 4; user 1 -> track 5; user 2 -> track 1.
HELDOUT = sp.csr_matrix(np.array([[1, 0, 0, 0, 1, 0],
                                  [0, 0, 0, 0, 0, 1],
                                  [0, 1, 0, 0, 0, 0]]))
SLICES = {"popular": np.array([1, 1, 0, 0, 0, 0], bool), "rare": np.array([0, 0, 1, 1, 1, 1], bool)}
A = np.array([[0, 2], [5, 3], [3, -1]])   # hits: user 0 track 0 (popular), user 1 track 5 (rare)
B = np.array([[4, 1], [2, 3], [1, 0]])    # hits: user 0 track 4 (rare), user 2 track 1 (popular)


def test_hit_rates_by_slice_are_hand_computed():
    table = sliced_hits({"a": A, "b": B}, HELDOUT, track_slices=SLICES, k=2).set_index(["tracks", "system"])
    # popular: users 0 and 2 have a relevant popular track; a hits user 0 only, b hits user 2 only
    assert table.loc[("popular", "a"), "users"] == 2 and table.loc[("popular", "a"), "hit_rate"] == 0.5
    assert table.loc[("popular", "b"), "hit_rate"] == 0.5
    # rare: users 0 and 1; a hits user 1 (track 5), b hits user 0 (track 4)
    assert table.loc[("rare", "a"), "hit_rate"] == 0.5 and table.loc[("rare", "b"), "hit_rate"] == 0.5


def test_only_the_top_k_counts():
    late = np.array([[2, 0], [3, 2], [3, 2]])   # user 0's relevant track 0 comes second
    at = lambda k: sliced_hits({"late": late}, HELDOUT, track_slices=SLICES, k=k).set_index("tracks")
    assert at(1).loc["popular", "hit_rate"] == 0.0 and at(2).loc["popular", "hit_rate"] == 0.5


def test_paired_difference_against_the_reference():
    table = sliced_hits({"a": A, "b": B}, HELDOUT, track_slices=SLICES, k=2, reference="a",
                        n_boot=500).set_index(["tracks", "system"])
    row = table.loc[("popular", "b")]
    # users 0 and 2: b − a = (0 − 1, 1 − 0) -> mean 0; the bootstrap means lie in [−1, 1]
    assert row["diff"] == 0.0 and -1 <= row["ci_low"] <= 0 <= row["ci_high"] <= 1
    assert np.isnan(table.loc[("popular", "a"), "diff"])
    same = sliced_hits({"a": A, "a again": A.copy()}, HELDOUT, track_slices=SLICES, k=2, reference="a")
    assert (same.dropna()[["diff", "ci_low", "ci_high"]] == 0).all().all()


def test_user_slices_split_the_listeners():
    users = {"first": np.array([1, 0, 0], bool), "others": np.array([0, 1, 1], bool)}
    table = sliced_hits({"a": A}, HELDOUT, track_slices=SLICES, user_slices=users, k=2).set_index(
        ["listeners", "tracks"])
    assert table.loc[("first", "popular"), "hit_rate"] == 1.0    # user 0 hit track 0
    assert table.loc[("others", "popular"), "hit_rate"] == 0.0   # user 2 missed track 1
    assert table.loc[("others", "rare"), "users"] == 1           # only user 1 has a rare relevant track


def test_popularity_slices_are_disjoint_and_ranked_by_listeners():
    P = sp.csr_matrix(np.array([[1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0],
                                [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
                                [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]]))
    new = np.zeros(11, bool)
    new[10] = True
    s = popularity_slices(P, new, head_share=0.2, tail_share=0.5)
    assert np.flatnonzero(s["head"]).tolist() == [0, 1]            # 3 and 2 listeners
    assert np.flatnonzero(s["new releases"]).tolist() == [10]
    assert s["tail"].sum() == 5 and s["mid"].sum() == 3
    assert (sum(m.astype(int) for m in s.values()) == 1).all()


def test_activity_slices_split_at_the_median():
    P = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]]))
    s = activity_slices(P)
    assert s["light"].tolist() == [True, False, False, True] and s["heavy"].tolist() == [False, True, True, False]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="ranking 'a'"):
        sliced_hits({"a": A[:2]}, HELDOUT, track_slices=SLICES, k=2)
    with pytest.raises(ValueError, match="reference 'c'"):
        sliced_hits({"a": A}, HELDOUT, track_slices=SLICES, reference="c")
    with pytest.raises(ValueError, match="track slice 'bad'"):
        sliced_hits({"a": A}, HELDOUT, track_slices={"bad": np.ones(3, bool)}, k=2)
    with pytest.raises(ValueError, match="is_new"):
        popularity_slices(HELDOUT, np.zeros(2, bool))
