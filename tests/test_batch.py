"""Tests for coursekit.batch: candidate-only scoring gives DiscoverWeekly's mixtapes; shards resume."""

import json
from dataclasses import replace

import numpy as np
import pytest

from coursekit import batch
from coursekit.batch import MANIFEST, candidate_mixtapes, read_mixtapes, write_mixtapes
from coursekit.mixtape import DiscoverWeekly


@pytest.fixture(scope="module")
def model(tiny):
    """DiscoverWeekly on the tiny world, with two listeners' listens removed: listeners without history."""
    world, _ = tiny
    silent = world.users["user_id"].to_numpy()[:2]
    world = replace(world, listens=world.listens[~world.listens["user_id"].isin(silent)].reset_index(drop=True))
    return DiscoverWeekly(factors=8, iterations=4, engine="implicit").fit(world)


def test_candidate_scoring_gives_the_full_scorings_mixtapes(model):
    users = np.arange(model.train_.shape[0])
    np.testing.assert_array_equal(candidate_mixtapes(model, users, batch_size=7), model.recommend(users))


def test_users_without_history_get_the_popularity_mixtape(model):
    empty = np.flatnonzero(model.train_.preference.getnnz(axis=1) == 0)
    assert len(empty) >= 2, "the fixture removed two listeners' listens"
    users = np.concatenate([empty[:2], [int(np.flatnonzero(model.train_.preference.getnnz(axis=1))[0])]])
    np.testing.assert_array_equal(candidate_mixtapes(model, users), model.recommend(users))


def test_shards_cover_every_user_once(model, tmp_path):
    users = np.arange(model.train_.shape[0])
    info = write_mixtapes(model, users, tmp_path, shard_size=37, batch_size=8)
    n_shards = -(-len(users) // 37)
    assert (info["shards_written"], info["shards_skipped"]) == (n_shards, 0)
    got = read_mixtapes(tmp_path)
    assert got["complete"] and got["missing"] == []
    np.testing.assert_array_equal(got["users"], users)
    np.testing.assert_array_equal(got["tracks"], model.recommend(users))
    np.testing.assert_array_equal(got["user_id"], model.train_.users.id(users))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [MANIFEST] + [f"mixtapes-{i:05d}.npz" for i in range(n_shards)])   # no temporary file is left


def test_a_crash_keeps_the_finished_shards_and_a_rerun_writes_only_the_rest(model, tmp_path, monkeypatch):
    users = np.arange(100)
    (tmp_path / "notes.txt").write_text("mine")       # a file the library did not write
    real = batch._write_shard
    calls = []

    def crash_on_the_fourth(job):
        calls.append(job[0])
        if len(calls) == 4:
            raise KeyboardInterrupt   # killed while writing shard 3 (60 % of 5 shards done)
        return real(job)

    monkeypatch.setattr(batch, "_write_shard", crash_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        write_mixtapes(model, users, tmp_path, shard_size=20)
    partial = read_mixtapes(tmp_path)
    assert not partial["complete"] and partial["missing"] == ["mixtapes-00003.npz", "mixtapes-00004.npz"]
    np.testing.assert_array_equal(partial["users"], users[:60])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # the interrupted temp file is gone

    monkeypatch.setattr(batch, "_write_shard", real)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("mixtapes-*.npz")}
    info = write_mixtapes(model, users, tmp_path, shard_size=20)
    assert (info["shards_written"], info["shards_skipped"]) == (2, 3)
    assert all(before[name] == (tmp_path / name).stat().st_mtime_ns for name in before)   # not rewritten
    done = read_mixtapes(tmp_path)
    assert done["complete"]
    np.testing.assert_array_equal(done["tracks"], model.recommend(users))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_damaged_shard_is_written_again(model, tmp_path):
    users = np.arange(40)
    write_mixtapes(model, users, tmp_path, shard_size=20)
    (tmp_path / "mixtapes-00001.npz").write_bytes(b"half a file")
    info = write_mixtapes(model, users, tmp_path, shard_size=20)
    assert (info["shards_written"], info["shards_skipped"]) == (1, 1)
    np.testing.assert_array_equal(read_mixtapes(tmp_path)["tracks"], model.recommend(users))


def test_two_processes_write_the_same_shards(model, tmp_path):
    users = np.arange(model.train_.shape[0])
    write_mixtapes(model, users, tmp_path, n_jobs=2, shard_size=50)
    np.testing.assert_array_equal(read_mixtapes(tmp_path)["tracks"], model.recommend(users))


def test_another_model_or_user_list_is_refused_and_nothing_is_deleted(model, tmp_path):
    write_mixtapes(model, np.arange(30), tmp_path, shard_size=10)
    files = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="another model, user list or shard size"):
        write_mixtapes(model, np.arange(31), tmp_path, shard_size=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    assert json.loads((tmp_path / MANIFEST).read_text())["users"] == 30


@pytest.mark.parametrize("kwargs, message", [
    ({"n_jobs": 0}, "n_jobs must be a positive integer"),
    ({"shard_size": 2.5}, "shard_size must be a positive integer"),
    ({"users": [-1]}, "users must be positions between 0"),
])
def test_bad_arguments_are_named(model, tmp_path, kwargs, message):
    kwargs = {"users": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        write_mixtapes(model, kwargs.pop("users"), tmp_path, **kwargs)


def test_read_without_a_manifest_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="write the mixtapes first"):
        read_mixtapes(tmp_path)


def test_a_saved_model_writes_the_same_mixtapes(model, tmp_path):
    from coursekit.batch import load_model, save_model

    save_model(model, tmp_path / "dw")
    again = load_model(tmp_path / "dw", model.world_)
    users = np.arange(60)
    np.testing.assert_array_equal(candidate_mixtapes(again, users), model.recommend(users))
    with pytest.raises(ValueError, match="cannot load a model from"):
        load_model(tmp_path / "nothing", model.world_)
