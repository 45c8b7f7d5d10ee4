import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from coursekit.datasets import load_truth, load_world, world_dir, write_world

REPO = Path(__file__).resolve().parent.parent


def test_load_world_generates_when_absent_and_matches_generator(tmp_path, tiny):
    world = load_world("tiny", path=tmp_path / "tiny")
    generated, truth = tiny
    pd.testing.assert_frame_equal(world.listens, generated.listens)
    pd.testing.assert_frame_equal(world.tracks[["track_id", "tempo", "key"]], generated.tracks[["track_id", "tempo", "key"]])
    assert world.documents["text"].tolist() == generated.documents["text"].tolist()
    loaded_truth = load_truth("tiny", path=tmp_path / "tiny")
    pd.testing.assert_frame_equal(loaded_truth.next_week, truth.next_week)
    assert loaded_truth.similar_artists == truth.similar_artists


def test_files_are_byte_for_byte_reproducible(tmp_path):
    a = write_world("tiny", tmp_path / "a")
    b = write_world("tiny", tmp_path / "b")
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    assert ma["sha256"] == mb["sha256"]
    for name, digest in ma["sha256"].items():
        assert hashlib.sha256((a / name).read_bytes()).hexdigest() == digest


def test_committed_small_world_is_what_the_generator_writes(tmp_path):
    committed = REPO / "datasets" / "small"
    assert world_dir("small") == committed
    fresh = write_world("small", tmp_path / "small")
    expected = json.loads((committed / "manifest.json").read_text())
    assert json.loads((fresh / "manifest.json").read_text()) == expected, (
        "datasets/small is out of date with the generator: run "
        "`coursekit world --size small --write datasets/small` and commit the files")
    total = sum(p.stat().st_size for p in committed.rglob("*") if p.is_file())
    assert total < 20 * 2**20


def test_small_world_meets_the_design():
    world = load_world("small")
    assert (len(world.users), len(world.tracks), len(world.artists), world.n_weeks) == (2000, 5000, 400, 8)
    assert len(world.listens) >= 200_000


def test_damaged_folder_is_reported(tmp_path):
    folder = write_world("tiny", tmp_path / "w")
    users = pd.read_csv(folder / "users.csv")
    users.iloc[:-3].to_csv(folder / "users.csv", index=False)
    with pytest.raises(ValueError, match=r"users.csv: its sha256 differs.*coursekit world --size tiny --write"):
        load_world("tiny", path=folder)
    with pytest.raises(ValueError, match="users.*rows.*manifest"):
        load_world("tiny", path=folder, verify=False)


def test_fingerprint_follows_the_verified_content(tmp_path):
    folder = write_world("tiny", tmp_path / "w")
    world = load_world("tiny", path=folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    public = {f: h for f, h in manifest["sha256"].items() if not f.startswith("truth/")}
    blob = json.dumps({"n_weeks": 6, "sha256": public}, sort_keys=True).encode()
    assert world.fingerprint == hashlib.sha256(blob).hexdigest()
    assert load_world(path=folder).size == "tiny"                      # the manifest names the size
    assert load_world("tiny", path=folder, verify=False).fingerprint == ""   # unverified: never cached


def test_unknown_size():
    with pytest.raises(ValueError, match="unknown world size"):
        load_world("huge")
