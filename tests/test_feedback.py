import numpy as np
import pandas as pd
import pytest

from coursekit.feedback import (
    DEFAULT_WEIGHTS, IdMap, build_feedback, check_listens, confidence_values, heldout_matrix,
    split_by_week, split_random, validate_listens,
)


def log(rows):
    return pd.DataFrame(rows, columns=["user_id", "track_id", "week", "streams", "saved", "artist_page_visits"])


TOY = log([
    (1, 10, 0, 3, 1, 0),   # r = 3 + 5 = 8
    (1, 11, 0, 1, 0, 0),   # r = 1
    (1, 11, 1, 2, 0, 1),   # r = 2 + 2 = 4  -> pair (1, 11) sums to 5
    (2, 10, 1, 1, 0, 0),   # r = 1
])


def test_preference_strength_and_confidence_by_hand():
    fb = build_feedback(TOY, alpha=2.0, epsilon=1.0)
    assert fb.users.ids.tolist() == [1, 2]
    assert fb.tracks.ids.tolist() == [10, 11]
    np.testing.assert_array_equal(fb.strength.toarray(), [[8.0, 5.0], [1.0, 0.0]])
    np.testing.assert_array_equal(fb.preference.toarray(), [[1, 1], [1, 0]])
    expected = 1 + 2.0 * np.log(1 + np.array([8.0, 5.0, 1.0]))
    np.testing.assert_allclose(fb.confidence.data, expected)
    np.testing.assert_allclose(fb.scaled.data, np.log1p([8.0, 5.0, 1.0]))
    assert fb.density == pytest.approx(3 / 4)


def test_linear_confidence_and_weights():
    fb = build_feedback(TOY, alpha=0.5, scale="linear", weights={"streams": 1.0, "saved": 0.0, "artist_page_visits": 0.0})
    np.testing.assert_array_equal(fb.strength.toarray(), [[3.0, 3.0], [1.0, 0.0]])
    np.testing.assert_allclose(fb.confidence.data, [2.5, 2.5, 1.5])
    assert confidence_values(4.0, alpha=0.5, scale="linear") == pytest.approx(3.0)
    with pytest.raises(ValueError, match="scale"):
        confidence_values(1.0, scale="square")


def test_full_catalogue_keeps_tracks_without_listens():
    fb = build_feedback(TOY, users=[1, 2, 3], tracks=[10, 11, 12])
    assert fb.shape == (3, 3)
    assert fb.report["users_without_listens"] == 1
    assert fb.report["tracks_without_listens"] == 1
    assert fb.users.index(3) == 2 and fb.tracks.id(2) == 12


def test_duplicates_are_summed_and_reported():
    doubled = pd.concat([TOY, TOY.iloc[[0]]], ignore_index=True)
    fb = build_feedback(doubled, alpha=1.0)
    assert fb.report["duplicate_rows_merged"] == 1
    # streams sum (3 + 3), the save flag stays one save: r = 6 + 5
    assert fb.strength[0, 0] == pytest.approx(11.0)


def test_the_lectures_two_users():
    # A likes P, Q, R, S; B likes Q, R, S, T: suggest T to A and P to B.
    rows = [("A", s) for s in "PQRS"] + [("B", s) for s in "QRST"]
    songs = list("PQRST")
    listens = log([(0 if u == "A" else 1, songs.index(s), 0, 1, 0, 0) for u, s in rows])
    P = build_feedback(listens).preference.toarray()
    overlap = P[0] @ P[1]
    assert overlap == 3  # Q, R, S
    suggest_a = [songs[i] for i in np.flatnonzero((P[1] == 1) & (P[0] == 0))]
    suggest_b = [songs[i] for i in np.flatnonzero((P[0] == 1) & (P[1] == 0))]
    assert (suggest_a, suggest_b) == (["T"], ["P"])


@pytest.mark.parametrize("column, value, message", [
    ("streams", -1, r"'streams' has 1 negative"),
    ("saved", np.nan, r"'saved' has 1 missing"),
    ("artist_page_visits", np.inf, r"'artist_page_visits' has 1 infinite"),
    ("week", 0.5, r"'week' must hold whole numbers"),
])
def test_bad_values_name_the_column_and_count(column, value, message):
    bad = TOY.copy()
    bad[column] = bad[column].astype(float)
    bad.loc[2, column] = value
    with pytest.raises(ValueError, match=message):
        build_feedback(bad)


def test_wrong_dtype_missing_column_empty_and_unknown_ids():
    bad = TOY.astype({"streams": object})
    bad.loc[1, "streams"] = "many"
    with pytest.raises(ValueError, match=r"'streams' has dtype object.*1 row\(s\) are not numbers.*'many'"):
        build_feedback(bad)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['saved'\]"):
        build_feedback(TOY.drop(columns="saved"))
    with pytest.raises(ValueError, match="empty"):
        build_feedback(TOY.iloc[:0])
    with pytest.raises(ValueError, match=r"'track_id' has 2 row\(s\) with ids not in the tracks table"):
        build_feedback(TOY, tracks=[11, 12])
    with pytest.raises(ValueError, match="DataFrame"):
        build_feedback(TOY.to_numpy())
    with pytest.raises(ValueError, match="weights"):
        build_feedback(TOY, weights={"streams": -1.0})


def test_idmap_unknown_ids():
    m = IdMap(np.array([5, 7, 9]), "user_id")
    assert m.index([9, 5]).tolist() == [2, 0]
    with pytest.raises(KeyError, match=r"unknown user_id: \[8\]"):
        m.index([5, 8])
    with pytest.raises(ValueError, match="unique"):
        IdMap(np.array([1, 1]))


def test_split_by_week():
    train, test = split_by_week(TOY)
    assert train["week"].tolist() == [0, 0] and test["week"].tolist() == [1, 1]
    with pytest.raises(ValueError, match="test_weeks"):
        split_by_week(TOY, test_weeks=2)


def test_split_random_per_user_is_reproducible_and_keeps_a_track():
    rows = [(u, t, w, 1, 0, 0) for u in (1, 2) for t in range(10) for w in (0, 1)] + [(3, 0, 0, 1, 0, 0)]
    listens = log(rows)
    train, test = split_random(listens, test_fraction=0.3, random_state=1)
    again, _ = split_random(listens, test_fraction=0.3, random_state=1)
    pd.testing.assert_frame_equal(train, again)
    held = test.drop_duplicates(["user_id", "track_id"]).groupby("user_id").size()
    assert held.to_dict() == {1: 3, 2: 3}  # 30 % of 10 tracks, user 3 keeps their only track
    # a held-out pair is held out in all its weeks
    assert not set(map(tuple, train[["user_id", "track_id"]].values)) & set(map(tuple, test[["user_id", "track_id"]].values))


def test_heldout_matrix_keeps_only_new_tracks():
    train, test = split_by_week(TOY)
    fb = build_feedback(train, users=[1, 2], tracks=[10, 11])
    held = heldout_matrix(test, fb)
    # user 1 replayed track 11 (not new); user 2 found track 10 (new)
    np.testing.assert_array_equal(held.toarray(), [[0, 0], [1, 0]])
    assert heldout_matrix(test, fb, only_new=False).nnz == 2


def test_default_weights_value_saves_over_streams():
    assert DEFAULT_WEIGHTS["saved"] > DEFAULT_WEIGHTS["streams"]


def test_check_listens_is_the_table_check_alone_with_any_column_names():
    frame = pd.DataFrame({"user": [1, 2], "item": [5, 6], "rating": [1.0, 0.5]})
    assert check_listens(frame, keys=("user", "item"), signals=("rating",), name="interactions") is None
    with pytest.raises(ValueError, match=r"interactions is missing column\(s\) \['rating'\].*'ratings': 'rating'"):
        check_listens(frame.rename(columns={"rating": "ratings"}), keys=("user", "item"), signals=("rating",),
                      name="interactions")
    with pytest.raises(ValueError, match=r"column 'item' has 1 id\(s\) >= 2\*\*63"):
        check_listens(frame.assign(item=np.array([5, 2**63], dtype=np.uint64)), keys=("user", "item"),
                      signals=("rating",))
    # the check changes nothing: duplicates stay (validate_listens merges them)
    doubled = pd.concat([TOY, TOY.iloc[[0]]], ignore_index=True)
    check_listens(doubled)
    assert len(doubled) == 5 and validate_listens(doubled)[1]["duplicate_rows_merged"] == 1


def test_confidence_is_at_least_one_and_parameters_are_checked():
    np.testing.assert_allclose(confidence_values([0.0, np.e - 1], alpha=2.0), [1.0, 3.0])
    with pytest.raises(ValueError, match=r"alpha must be finite and > 0, got -1"):
        confidence_values(1.0, alpha=-1)
    with pytest.raises(ValueError, match=r"r must hold finite strengths >= 0.*1 negative"):
        confidence_values([-1.0, 2.0])
    with pytest.raises(ValueError, match=r"confidence .* overflows to infinity.*lower alpha"):
        confidence_values(1e300, alpha=1e10, scale="linear")


def _group_by_strength(listens, users, tracks, weights=DEFAULT_WEIGHTS):
    """r_ui the old way: pandas group-by over the rows (validate_listens, then interaction_strength)."""
    from coursekit.feedback import interaction_strength

    merged, report = validate_listens(listens, signals=tuple(weights))
    r = interaction_strength(merged, weights)
    u = pd.Index(users).get_indexer(r.index.get_level_values(0))
    t = pd.Index(tracks).get_indexer(r.index.get_level_values(1))
    dense = np.zeros((len(users), len(tracks)))
    dense[u, t] = r.to_numpy()
    return dense, report


def test_sparse_aggregation_matches_the_group_by_on_the_tiny_world(tiny):
    tiny, _ = tiny
    listens = pd.concat([tiny.listens, tiny.listens.iloc[::7]], ignore_index=True)   # with duplicate rows
    users, tracks = tiny.users["user_id"].to_numpy(), tiny.tracks["track_id"].to_numpy()
    fb = build_feedback(listens, users=users, tracks=tracks, alpha=5.0)
    expected, report = _group_by_strength(listens, users, tracks)
    np.testing.assert_allclose(fb.strength.toarray(), expected, rtol=1e-12)
    assert fb.strength.has_sorted_indices and fb.strength.nnz == np.count_nonzero(expected)
    for key in ("rows_in", "duplicate_rows_merged", "rows_out"):
        assert fb.report[key] == report[key]
    assert fb.report["duplicate_rows_merged"] == len(tiny.listens.iloc[::7])


def test_a_save_counts_once_per_week_but_once_in_every_week():
    # user 1, track 10: saved twice in week 0 (one save) and once in week 1 -> 2 saves; streams 1+1+1
    listens = log([(1, 10, 0, 1, 1, 0), (1, 10, 0, 1, 1, 0), (1, 10, 1, 1, 1, 0), (1, 11, 0, 0, 0, 0)])
    fb = build_feedback(listens, weights={"streams": 1.0, "saved": 5.0, "artist_page_visits": 2.0})
    np.testing.assert_array_equal(fb.strength.toarray(), [[3 + 2 * 5.0, 0.0]])
    assert fb.report["duplicate_rows_merged"] == 1
    assert fb.report["pairs_without_evidence"] == 1   # (1, 11): a row, but no signal


def test_weeks_in_any_order_and_with_gaps_are_summed_per_week_then_over_weeks():
    # weeks 7, 2, 7, 40 (unsorted, gaps): saves are clipped per week, so (1, 10) has two saves, not three
    listens = log([(1, 10, 7, 1, 1, 0), (1, 10, 2, 2, 1, 0), (1, 10, 7, 0, 1, 1), (2, 11, 40, 4, 0, 0)])
    fb = build_feedback(listens, users=[1, 2], tracks=[10, 11])
    # (1, 10): streams 1 + 2 + 0, saves one in week 7 and one in week 2 (x 5), one visit (x 2)
    np.testing.assert_array_equal(fb.strength.toarray(), [[3 + 2 * 5.0 + 2.0, 0.0], [0.0, 4.0]])
    assert fb.report["duplicate_rows_merged"] == 1   # the two week-7 rows of (1, 10)


def test_positions_a_chunk_at_a_time_are_the_id_maps():
    from coursekit.feedback import _positions

    ids = IdMap(np.array([30, 10, 20]), "user_id")
    got = _positions(ids, np.array([20, 30, 30, 10, 20]), np.int32, chunk=2)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [2, 0, 0, 1, 2])
