import numpy as np
import pandas as pd
import pytest

from coursekit.blend import Blend
from coursekit.mixtape import DiscoverWeekly, listening_order, select


def test_select_respects_cap_reservation_and_exclusions():
    rng = np.random.default_rng(0)
    scores = rng.random((50, 400))
    scores[:, :20] = -np.inf  # already played
    artist = rng.integers(0, 40, 400)
    new = np.zeros(400, bool)
    new[300:340] = True
    picks = select(scores, track_artist=artist, is_new=new, n=30, max_per_artist=2, new_share=1 / 6)
    assert picks.shape == (50, 30)
    for u, row in enumerate(picks):
        assert len(set(row)) == 30 and (row >= 20).all()
        assert np.bincount(artist[row]).max() <= 2
        assert new[row].sum() >= 5
        assert list(row) == sorted(row, key=lambda t: -scores[u, t])  # best first


def test_select_by_hand_and_padding():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, -np.inf]])
    artist = np.array([0, 0, 0, 1, 2, 3])
    picks = select(scores, track_artist=artist, is_new=np.zeros(6, bool), n=5, max_per_artist=2, new_share=0)
    # the third song of artist 0 is dropped; the unplayable last track never comes: pad with -1
    assert picks.tolist() == [[0, 1, 3, 4, -1]]
    reserved = select(scores, track_artist=artist, is_new=np.array([0, 0, 0, 0, 1, 0], bool), n=2,
                      max_per_artist=2, new_share=0.5)
    assert sorted(reserved[0].tolist()) == [0, 4]


def test_listening_order_is_an_arc_of_tempo():
    mix = np.array([[0, 1, 2, 3, 4, 5]])
    tempo = np.array([100.0, 60.0, 140.0, 80.0, 120.0, 90.0])
    order = listening_order(mix, tempo)[0]
    t = tempo[order]
    peak = int(np.argmax(t))
    assert (np.diff(t[: peak + 1]) > 0).all() and (np.diff(t[peak:]) < 0).all()
    assert sorted(order.tolist()) == list(range(6))


def test_blend_weights_reproducible():
    rng = np.random.default_rng(1)
    pairs = {k: rng.normal(size=500) for k in ("cf", "text", "audio", "sound", "popularity")}
    pairs["cold"] = (rng.random(500) < 0.2).astype(float)
    labels = (pairs["cf"] + 0.5 * pairs["text"] + rng.normal(size=500) > 0.5).astype(float)
    use = ("cf", "text", "audio", "sound", "popularity", "cold")
    a = Blend(use=use).fit(pairs, labels)
    b = Blend(use=use).fit(pairs, labels)
    pd.testing.assert_series_equal(a.weights_, b.weights_)
    assert a.weights_["cf"] > a.weights_["text"] > 0


@pytest.fixture(scope="module")
def tiny_model():
    from coursekit.world import generate_world

    world, truth = generate_world("tiny")
    return world, truth, DiscoverWeekly(factors=8, iterations=4).fit(world)


def test_mixtapes_are_30_distinct_unheard_released_tracks(tiny_model):
    world, _, model = tiny_model
    picks = model.recommend()
    heard = model.train_.preference
    artist = model.profile_.artist_of_track
    for u, row in enumerate(picks):
        row = row[row >= 0]
        assert len(row) == 30 and len(set(row)) == 30
        assert heard[u, row].nnz == 0
        assert model.split_.released[row].all()
        assert np.bincount(artist[row]).max() <= 2


def test_mixtape_table_has_a_reason_for_every_song(tiny_model):
    world, _, model = tiny_model
    user = int(world.listens["user_id"].iloc[0])
    table = model.mixtape(user)
    assert len(table) == 30 and table["why"].str.len().min() > 10
    assert set(table["model"]) <= {"cf", "text", "audio"}
    with pytest.raises(KeyError, match="unknown user_id"):
        model.mixtape(10**9)


def test_blend_beats_chance_on_next_week(tiny_model):
    from coursekit.evaluation import next_week_split

    world, truth, model = tiny_model
    split = next_week_split(world, truth)
    blend = split.evaluate(model.recommend(ordered=False))["ndcg@30"]
    chance = split.evaluate(model.recommend(model="popularity", ordered=False))["ndcg@30"]
    assert blend > chance


def test_cold_start_user_gets_labelled_popular_picks(tiny_model):
    world, _, model = tiny_model
    empty = np.flatnonzero(model.train_.preference.getnnz(axis=1) == 0)
    if len(empty) == 0:
        pytest.skip("every tiny user has history")
    table = model.explain(int(empty[0]), model.recommend([int(empty[0])])[0])
    assert "cold start" in table.attrs["note"]


def test_artist_signal_is_the_users_vector_against_the_artists_known_songs(tiny_model):
    from coursekit.signals import signals

    world, _, model = tiny_model
    p, cf = model.profile_, model.cf_
    sig = signals([0, 1], cf_model=cf, profile=p)
    track = int(np.flatnonzero(p.cold)[0])
    a = p.artist_of_track[track]
    known = np.flatnonzero((p.artist_of_track == a) & ~p.cold)
    expected = cf.item_factors_[known].mean(axis=0) if len(known) else np.zeros(cf.item_factors_.shape[1])
    np.testing.assert_allclose(sig["artist"][:, track], cf.user_factors_[[0, 1]] @ expected, atol=1e-9)
    # popularity is per week out: a release of week w has had n_weeks - w weeks
    w = world.tracks["release_week"].to_numpy()
    assert p.weeks_out[w < 0].min() == world.n_weeks and (p.weeks_out >= 1).all()


def test_every_mixtape_holds_its_reserved_new_releases(tiny_model):
    world, _, model = tiny_model
    picks = model.recommend(ordered=False)
    reserved = int(round(model.n * model.new_share))
    new = model.profile_.cold & model.profile_.new & model.split_.released
    assert reserved >= 1 and new.sum() >= reserved
    has_history = model.train_.preference.getnnz(axis=1) > 0
    counts = new[np.maximum(picks, 0)].sum(axis=1)
    assert (counts[has_history] >= reserved).all()
    table = model.mixtape(int(world.users["user_id"].iloc[int(np.flatnonzero(has_history)[0])]))
    assert table["new"].sum() >= reserved
    assert table.loc[table["new"], "why"].str.contains("new release").all()


def test_a_copy_keeps_the_world(tiny_model):
    import copy

    _, _, model = tiny_model
    other = copy.copy(model)
    other.new_share = 0.0
    assert other.world_ is model.world_ and model.new_share > 0
    assert other.recommend([0]).shape == (1, model.n)


def test_fast_blend_score_is_the_sum_of_contributions_and_signals_can_be_chosen(tiny_model):
    from coursekit.signals import signals

    _, _, model = tiny_model
    sig = signals([0, 1, 2], cf_model=model.cf_, profile=model.profile_)
    slow = sum(model.blend_.contributions(sig).values())
    np.testing.assert_allclose(model.blend_.score(sig), slow, atol=1e-10)
    some = signals([0, 1], cf_model=model.cf_, profile=model.profile_, only=["sound", "cold"])
    assert set(some) == {"sound", "cold"} and some["cold"].shape == (2, len(model.profile_.cold))
    d = model.profile_.user_sound[[0, 1]][:, None, :] - model.profile_.sound[None, :, :]
    np.testing.assert_allclose(some["sound"], -np.sqrt((d ** 2).sum(axis=2)), atol=1e-6)
    with pytest.raises(ValueError, match="unknown signals"):
        signals([0], cf_model=model.cf_, profile=model.profile_, only=["loudness"])
    pairs, labels = model.validation_pairs_
    assert len(labels) == len(pairs["cf"]) and labels.sum() > 0


def test_blend_pairs_from_a_sample_of_users(tiny_model):
    from coursekit.evaluation import validation_split
    from coursekit.blend import training_pairs
    from coursekit.signals import signals

    world, _, model = tiny_model
    val = validation_split(world)
    sig_fn = lambda u: signals(u, cf_model=model.cf_, profile=model.profile_)  # noqa: E731
    pairs, labels = training_pairs(val, sig_fn, model.profile_.cold, negatives=10, max_users=25)
    assert len(np.unique(pairs["user"])) <= 25 and labels.sum() > 0
    again, _ = training_pairs(val, sig_fn, model.profile_.cold, negatives=10, max_users=25)
    np.testing.assert_array_equal(pairs["user"], again["user"])
    everyone, _ = training_pairs(val, sig_fn, model.profile_.cold, negatives=10)
    assert len(np.unique(everyone["user"])) > 25


def test_default_batch_size_follows_the_catalogue():
    from coursekit.blend import default_batch_size

    assert default_batch_size(5_000) == 256 and default_batch_size(100_000) == 20
    assert default_batch_size(10**9) == 1


def _contributions(n, **by_group):
    from coursekit.signals import SIGNAL_GROUPS

    return {g: np.full(n, float(by_group.get(g, 0.0))) for g in SIGNAL_GROUPS}


def _warm_documented_picks(model, user, k=3):
    """Unplayed tracks CF knows, by artists with web text other than the user's own."""
    p = model.profile_
    played = set(model.train_.preference[user].indices)
    ok = ~p.cold & p.documented[p.artist_of_track] & model.split_.released
    return np.array([t for t in np.flatnonzero(ok) if t not in played][:k])


def test_a_fair_cf_share_gives_a_reason_from_the_listeners_own_songs(tiny_model):
    world, _, model = tiny_model
    user = int(np.argmax(model.train_.preference.getnnz(axis=1)))
    picks = _warm_documented_picks(model, user)
    history_titles = set(world.tracks["title"].to_numpy()[model.train_.preference[user].indices])
    # CF 1 of 3 positive units (= the fair share): the listener's songs, although text gives more
    table = model.explain(user, picks, contributions=_contributions(len(picks), cf=1.0, text=1.5, audio=0.5))
    assert (table["reason"] == "your songs").all() and (table["model"] == "cf").all()
    assert all(why.split('"')[1] in history_titles for why in table["why"])
    # just below the fair share: text drives the pick and the reason says so
    table = model.explain(user, picks, contributions=_contributions(len(picks), cf=0.99, text=1.51, audio=0.5))
    assert (table["reason"] == "web text").all()
    assert table["why"].str.startswith("written about as ").all() and table["why"].str.endswith("whom you play").all()
    # audio ahead of text: "sounds like" a song the listener played
    table = model.explain(user, picks, contributions=_contributions(len(picks), cf=0.1, text=0.2, sound=0.6))
    assert (table["reason"] == "sound").all()
    assert all(why.split('"')[1] in history_titles for why in table["why"])
    # negative parts do not count: CF is the only positive one
    table = model.explain(user, picks, contributions=_contributions(len(picks), cf=0.2, text=-3.0, audio=-1.0))
    assert (table["reason"] == "your songs").all()


def test_the_table_shows_each_signals_contribution(tiny_model):
    from coursekit.signals import SIGNAL_GROUPS, signals

    world, _, model = tiny_model
    table = model.mixtape(int(world.users["user_id"].iloc[3]))
    columns = [f"by {g}" for g in SIGNAL_GROUPS]
    u = model.train_.users.index(int(table["user_id"].iloc[0]))
    picks = world.tracks.index[world.tracks["track_id"].isin(table["track_id"])]
    sig = signals([u], cf_model=model.cf_, profile=model.profile_, audio_vectors=model.audio_vectors_)
    pos = pd.Index(world.tracks["track_id"]).get_indexer(table["track_id"])
    blended = model.blend_.score(sig)[0, pos]
    np.testing.assert_allclose(table[columns].sum(axis=1), blended, atol=1e-9)
    assert abs(sum(table.attrs["recent_genres"].values()) - 1) < 1e-9 and table.attrs["recent_tempo"]
    assert len(picks) == len(table)


def test_reason_mix_per_listener_type(tiny_model):
    _, _, model = tiny_model
    types = model.listener_types()
    assert set(types["activity"]) <= {"light", "heavy", "none"}
    played = types["songs"] > 0
    assert (types.loc[played, "activity"] == "light").sum() >= played.sum() / 2   # at most the median is light
    mix = model.reason_mix()
    assert list(mix.index) == ["all", "light", "heavy", "one-genre", "multi-genre"]
    shares = mix.drop(columns="songs")
    np.testing.assert_allclose(shares.sum(axis=1)[mix["songs"] > 0], 1.0)
    assert mix.loc["light", "songs"] + mix.loc["heavy", "songs"] == mix.loc["all", "songs"]


def test_a_song_too_new_for_cf_gets_its_artist_when_cf_speaks_for_it(tiny_model):
    world, _, model = tiny_model
    p = model.profile_
    user = int(np.argmax(model.train_.preference.getnnz(axis=1)))
    played = set(model.train_.preference[user].indices)
    cold = np.array([t for t in np.flatnonzero(p.cold & model.split_.released) if t not in played][:2])
    names = world.artists["name"].to_numpy()[p.artist_of_track[cold]]
    table = model.explain(user, cold, contributions=_contributions(len(cold), artist=1.0, sound=1.5))
    assert (table["reason"] == "the artist").all()
    assert all(f" by {name}, " in why for name, why in zip(names, table["why"]))
    table = model.explain(user, cold, contributions=_contributions(len(cold), artist=0.4, sound=1.5))
    assert (table["reason"] == "sound").all()


def test_cultural_similarity_in_blocks_is_the_whole_product(tiny_model, monkeypatch):
    import scipy.sparse as sp

    import coursekit.signals as signals_module

    world, _, model = tiny_model
    culture = model.artist_culture_
    whole = signals_module.profiles(world, model.train_.strength, culture).artist_similarity
    monkeypatch.setattr(signals_module, "_SIM_ROWS", 3)   # many blocks, the last one short
    blocks = signals_module.profiles(world, model.train_.strength, culture).artist_similarity
    np.testing.assert_array_equal(blocks, whole)
    V = sp.csr_matrix(culture.vectors_)
    pos = pd.Index(world.artists["artist_id"]).get_indexer(culture.artist_ids_)
    expected = np.zeros_like(whole)
    expected[np.ix_(pos, pos)] = (V @ V.T).toarray()
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_array_equal(blocks, expected)
    assert (blocks != 0).any() and len(pos) > 3


def test_the_validation_split_is_make_splits(tiny_model):
    from coursekit.evaluation import validation_split
    from coursekit.mixtape import _validation_split

    world, _, _ = tiny_model
    ours, theirs = _validation_split(world, world.n_weeks - 1), validation_split(world)
    for name in ("strength", "preference", "confidence", "scaled"):
        assert (getattr(ours.train, name) != getattr(theirs.train, name)).nnz == 0
    assert (ours.heldout != theirs.heldout).nnz == 0 and ours.heldout.nnz > 0
    np.testing.assert_array_equal(ours.released, theirs.released)
    assert ours.week == theirs.week == world.n_weeks - 1
