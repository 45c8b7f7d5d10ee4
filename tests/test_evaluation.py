"""Tests of coursekit.evaluation: the protocols (next-week, validation and cold-start splits)."""

import sys

import numpy as np

from coursekit.evaluation import cold_start_split, make_split


def test_cold_start_split_holds_out_tracks_and_whole_artists(tiny):
    world, _ = tiny
    split = cold_start_split(world, artist_share=0.1, track_share=0.1, min_listeners=5, random_state=0)
    tracks = world.tracks
    held_artists = set(tracks.loc[split.heldout_artist, "artist_id"])
    assert len(held_artists) == 6  # 10 % of 60 artists
    # every track of a held-out artist is held out, and none of theirs is trained on
    assert split.heldout[tracks["artist_id"].isin(held_artists).to_numpy()].all()
    assert not (split.train & split.heldout).any()
    assert (split.listeners[split.train] >= 5).all()
    # the held-out tracks' listens are gone from the public log, and nothing else is
    held_ids = set(tracks.loc[split.heldout, "track_id"])
    assert not split.listens["track_id"].isin(held_ids).any()
    assert split.heldout_listens["track_id"].isin(held_ids).all()
    assert len(split.listens) + len(split.heldout_listens) == len(world.listens)
    capped = cold_start_split(world, artist_share=0.1, track_share=0.1, min_listeners=5, n_train=50)
    assert capped.train.sum() == 50 and np.array_equal(capped.heldout, split.heldout)


def test_artist_listeners_count_only_the_known_tracks(tiny):
    world, _ = tiny
    split = cold_start_split(world, artist_share=0.1, track_share=0.1, random_state=3)
    assert (split.artist_listeners[split.heldout_artist] == 0).all()
    t = world.tracks.iloc[np.flatnonzero(split.heldout & ~split.heldout_artist)[0]]
    others = world.tracks.loc[(world.tracks["artist_id"] == t["artist_id"]), "track_id"]
    known = split.listens[split.listens["track_id"].isin(others)]
    assert split.artist_listeners[t.name] == known["user_id"].nunique() > 0


def test_make_split_judges_only_new_released_tracks(tiny):
    world, _ = tiny
    listens = world.listens
    last = world.n_weeks - 1
    split = make_split(world, listens[listens["week"] < last], listens[listens["week"] == last], last)
    heard = split.train.preference.multiply(split.heldout)
    assert heard.nnz == 0  # the relevant tracks are the ones never played before
    assert split.heldout.shape == (len(world.users), len(world.tracks))
    assert (split.released == (world.tracks["release_week"].to_numpy() <= last)).all()
    scores = split.scores(np.zeros((len(world.users), len(world.tracks))), np.array([0, 1]))
    assert np.isneginf(scores[:, ~split.released]).all() and (scores[:, split.released] == 0).all()


def test_evaluating_cold_start_does_not_import_tensorflow():
    import subprocess

    code = ("import sys, coursekit.evaluation, coursekit.metrics, coursekit.als; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
