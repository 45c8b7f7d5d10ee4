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
    with pytest.raises(ValueError, match=r"listens.csv.gz: \d+ row\(s\) with user ids that are not in the users table"):
        load_world("tiny", path=folder, verify=False)
    users.to_csv(folder / "users.csv", index=False)
    docs = pd.read_csv(folder / "documents.csv.gz")
    docs.iloc[:-3].to_csv(folder / "documents.csv.gz", index=False)   # consistent, but 3 rows short
    with pytest.raises(ValueError, match="table 'documents' has .* rows, the manifest says"):
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


def test_the_columnar_format_of_the_large_world_round_trips(tmp_path, monkeypatch, tiny):
    from coursekit.world import SIZES

    monkeypatch.setitem(SIZES, "large", SIZES["tiny"])       # the large world's file format, tiny's size
    folder = write_world("large", tmp_path / "large")
    assert (folder / "listens" / "user_id.npy").exists() and (folder / "truth" / "user_vectors.npy").exists()
    world = load_world("large", path=folder)
    pd.testing.assert_frame_equal(world.listens, tiny[0].listens)
    assert load_truth(path=folder).user_vectors.shape == tiny[1].user_vectors.shape
    (folder / "listens" / "streams.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"listens/streams.npy: its sha256 differs"):
        load_world("large", path=folder)
    with pytest.raises(ValueError, match=r"listens/streams.npy: cannot be read"):
        load_world("large", path=folder, verify=False)


def test_a_world_finished_by_another_process_meanwhile_is_not_foreign(tmp_path, monkeypatch):
    import coursekit.datasets as datasets

    folder = tmp_path / "w"
    real = datasets.generate_world

    def racing(size, **kw):   # another process completes the same world while this one generates
        result = real(size, **kw)
        monkeypatch.setattr(datasets, "generate_world", real)
        write_world(size, folder)
        return result

    monkeypatch.setattr(datasets, "generate_world", racing)
    write_world("tiny", folder)
    assert len(load_world("tiny", path=folder).users) == 300 and list(tmp_path.iterdir()) == [folder]


def test_a_hand_made_world_in_another_row_order_loads_unverified(tmp_path):
    folder = write_world("tiny", tmp_path / "w")
    users = pd.read_csv(folder / "users.csv")
    users.iloc[::-1].to_csv(folder / "users.csv", index=False)          # same rows, another order
    listens = pd.read_csv(folder / "listens.csv.gz")
    listens.sample(frac=1, random_state=0).to_csv(folder / "listens.csv.gz", index=False)
    world = load_world("tiny", path=folder, verify=False)
    assert world.users["user_id"].tolist() == list(range(300, 0, -1)) and len(world.listens) == len(listens)
    pd.concat([listens, listens.iloc[[5]]]).to_csv(folder / "listens.csv.gz", index=False)
    with pytest.raises(ValueError, match=r"listens.csv.gz: 1 repeated \(user_id, track_id, week\) row"):
        load_world("tiny", path=folder, verify=False)
