import dataclasses

import numpy as np
import pandas as pd
import pytest

from coursekit.genres import GENRE_NAMES, key_name
from coursekit.world import LISTEN_COLUMNS, SIZES, World, WorldConfig, generate_world


def test_same_seed_same_tables(tiny):
    world, truth = tiny
    again, truth2 = generate_world("tiny")
    for name in ("artists", "tracks", "users", "listens", "documents"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    pd.testing.assert_frame_equal(truth.next_week, truth2.next_week)
    np.testing.assert_array_equal(truth.user_vectors, truth2.user_vectors)


def test_summary_has_every_value(tiny):
    world, _ = tiny
    summary = world.summary()["value"]
    assert summary.notna().all()
    assert summary["users"] == 300 and summary["tracks"] == 800


def test_other_seed_other_listens(tiny):
    world, _ = tiny
    other, _ = generate_world("tiny", seed=7)
    assert not world.listens.equals(other.listens)


def test_sizes_and_schema(tiny):
    world, truth = tiny
    cfg = SIZES["tiny"]
    assert (len(world.users), len(world.tracks), len(world.artists)) == (cfg.n_users, cfg.n_tracks, cfg.n_artists)
    assert list(world.listens.columns) == list(LISTEN_COLUMNS)
    assert list(truth.next_week.columns) == list(LISTEN_COLUMNS)
    assert set(world.tracks["genre"]) <= set(GENRE_NAMES)
    assert set(world.tracks["time_signature"]) <= {3, 4}
    assert set(world.tracks["mode"]) <= {0, 1}
    assert world.tracks["key"].between(0, 11).all()
    assert list(world.documents.columns) == ["doc_id", "artist_id", "track_id", "kind", "text"]


def test_no_negative_counts_and_streams_at_least_one(tiny):
    world, truth = tiny
    for table in (world.listens, truth.next_week):
        assert (table[["streams", "saved", "artist_page_visits"]] >= 0).all().all()
        assert (table["streams"] >= 1).all()
        assert table["saved"].isin([0, 1]).all()


def test_ids_consistent_across_tables(tiny):
    world, truth = tiny
    assert world.listens["user_id"].isin(world.users["user_id"]).all()
    assert world.listens["track_id"].isin(world.tracks["track_id"]).all()
    assert world.tracks["artist_id"].isin(world.artists["artist_id"]).all()
    assert world.documents["artist_id"].isin(world.artists["artist_id"]).all()
    named = world.documents["track_id"].dropna()
    assert named.isin(world.tracks["track_id"]).all()
    # a document about a track is filed under that track's artist
    docs = world.documents.dropna(subset=["track_id"]).merge(world.tracks[["track_id", "artist_id"]], on="track_id")
    assert (docs["artist_id_x"] == docs["artist_id_y"]).all()
    assert not world.listens.duplicated(["user_id", "track_id", "week"]).any()


def test_weeks_and_release_dates_respected(tiny):
    world, truth = tiny
    assert world.listens["week"].between(0, world.n_weeks - 1).all()
    assert (truth.next_week["week"] == world.n_weeks).all()
    released = world.listens.merge(world.tracks[["track_id", "release_week"]], on="track_id")
    assert (released["release_week"] <= released["week"]).all()


def test_truth_not_reachable_from_public_tables(tiny):
    world, truth = tiny
    fields = {f.name for f in dataclasses.fields(World)}
    assert fields == {"artists", "tracks", "users", "listens", "documents", "size", "n_weeks", "fingerprint"}
    public_columns = set().union(*(getattr(world, n).columns for n in ("artists", "tracks", "users", "listens", "documents")))
    assert not public_columns & {"popularity", "affinity", "vector", "taste", *GENRE_NAMES[1:]}
    # next week's rows are not in the public log
    assert world.listens["week"].max() < truth.next_week["week"].min()


def test_signals_are_realistic(tiny):
    world, truth = tiny
    listens = world.listens
    # saves and artist visits are rarer than streams ...
    assert listens["saved"].sum() < 0.2 * listens["streams"].sum()
    assert listens["artist_page_visits"].sum() < 0.3 * listens["streams"].sum()
    # ... and more telling: saved pairs are closer to the user's taste than unsaved ones
    u = listens["user_id"].to_numpy() - 1
    t = listens["track_id"].to_numpy() - 1
    taste = np.einsum("nd,nd->n", truth.user_vectors[u], truth.track_vectors[t])
    assert taste[listens["saved"].to_numpy() == 1].mean() > taste[listens["saved"].to_numpy() == 0].mean() + 0.05
    # long tail: the top 10 % of tracks draw more than 30 % of streams
    plays = listens.groupby("track_id")["streams"].sum().sort_values(ascending=False)
    assert plays.iloc[: len(world.tracks) // 10].sum() > 0.3 * plays.sum()
    # most users are active in few genres
    top_two = np.sort(truth.user_genres.to_numpy(), axis=1)[:, -2:].sum(axis=1)
    assert np.median(top_two) > 0.9
    # some new releases have fewer than 50 streams; some artists are never written about
    new = world.tracks[world.tracks["release_week"] >= 1]
    new_plays = plays.reindex(new["track_id"], fill_value=0)
    assert len(new) > 0 and (new_plays < 50).any()
    assert world.documents["artist_id"].nunique() < len(world.artists)


def test_truth_affinity_predicts_next_week(tiny):
    world, truth = tiny
    users = np.arange(len(world.users))
    aff = truth.affinity(users)
    nxt = truth.next_week
    listened = aff[nxt["user_id"] - 1, nxt["track_id"] - 1]
    assert listened.mean() > aff.mean() + 1.0
    prop = truth.propensity(users[:5])
    released = truth.release_week <= world.n_weeks
    probs = np.exp(prop[:, released])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-9)
    assert np.isneginf(prop[:, ~released]).all()


def test_bad_sizes():
    with pytest.raises(ValueError, match="unknown world size"):
        generate_world("medium")
    with pytest.raises(ValueError, match="n_artists"):
        generate_world(WorldConfig(n_users=10, n_tracks=5, n_artists=6))


def test_key_name():
    assert key_name(9, 0) == "A minor"
    assert key_name(0, 1) == "C major"
    with pytest.raises(ValueError):
        key_name(12, 1)


def test_traits_beyond_genre_are_public_and_vary_within_a_genre(tiny):
    world, _ = tiny
    tracks = world.tracks
    for column in ("acousticness", "energy", "instrumentalness"):
        assert tracks[column].between(0.0, 1.0).all()
        assert (tracks[column] == tracks[column].round(2)).all()
    # the traits are drawn per artist: within a genre they spread widely, within an artist little
    by_genre = tracks.groupby("genre")["acousticness"].std().mean()
    by_artist = tracks.groupby("artist_id")["acousticness"].std().dropna().mean()
    assert by_genre > 0.1 and by_artist < 0.5 * by_genre
    # and the genres' means follow their signatures: folk is more acoustic than metal
    mean = tracks.groupby("genre")[["acousticness", "energy"]].mean()
    assert mean.loc["folk", "acousticness"] > mean.loc["metal", "acousticness"] + 0.4
    assert mean.loc["metal", "energy"] > mean.loc["classical", "energy"] + 0.4
    assert set((tracks["instrumentalness"] >= 0.5).unique()) == {False, True}


def test_traits_move_taste_within_a_genre(tiny):
    """Inside one genre, a track's traits predict its latent vector beyond its genre's centroid."""
    world, truth = tiny
    tracks = world.tracks
    traits = tracks[["acousticness", "energy", "instrumentalness"]].to_numpy(float)
    residual_share = []
    for g in np.unique(truth.track_genre):
        rows = truth.track_genre == g
        if rows.sum() < 40:
            continue
        V = truth.track_vectors[rows] - truth.track_vectors[rows].mean(axis=0)
        F = np.column_stack([traits[rows] - traits[rows].mean(axis=0), (traits[rows, 2] >= 0.5)])
        coef, *_ = np.linalg.lstsq(F, V, rcond=None)
        residual_share.append(np.sum((V - F @ coef) ** 2) / np.sum(V**2))
    # the traits explain a good part of where tracks sit within their genre
    assert np.mean(residual_share) < 0.8
