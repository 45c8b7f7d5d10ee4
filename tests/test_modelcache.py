"""The trained-model cache: data only, checked before use, keyed on the world's content."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import coursekit.modelcache as modelcache
from coursekit.datasets import load_world
from coursekit.modelcache import ModelCacheWarning, trained

PARAMS = {"audio": False, "factors": 8, "iterations": 3}


@pytest.fixture(scope="module")
def world():
    return load_world("tiny")


@pytest.fixture(scope="module")
def stored(world, tmp_path_factory):
    """A cache folder with one stored model, and the model's first mixtape."""
    root = tmp_path_factory.mktemp("models")
    model = trained(world, cache_dir=root, **PARAMS)
    return root, model.recommend([0, 1])


def _copy(root, tmp_path):
    import shutil

    shutil.copytree(root, tmp_path / "models")
    return tmp_path / "models"


def _trained(world, root):
    messages = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = trained(world, cache_dir=root, progress=messages.append, **PARAMS)
    return model, messages, [str(w.message) for w in caught if issubclass(w.category, ModelCacheWarning)]


def _folder(root):
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def test_a_stored_model_is_arrays_and_json_and_is_reused(world, stored, tmp_path):
    root = _copy(stored[0], tmp_path)
    folder = _folder(root)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model.json"]
    meta = json.loads((folder / "model.json").read_text())
    assert meta["files"]["arrays.npz"] == modelcache.sha256_file(folder / "arrays.npz")
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        assert {"cf.user_factors_", "cf.item_factors_", "blend.weights"} <= set(npz.files)
    model, messages, warned = _trained(world, root)
    assert any("loaded the trained models" in m for m in messages) and not warned
    np.testing.assert_array_equal(model.recommend([0, 1]), stored[1])
    assert model.mixtape(5)["why"].str.len().gt(0).all()
    # other parameters: another folder, not the stale one
    trained(world, cache_dir=root, audio=False, factors=6, iterations=3)
    assert len([p for p in root.iterdir() if p.is_dir()]) == 2


def test_flipped_bytes_are_detected_and_the_model_retrained(world, stored, tmp_path):
    root = _copy(stored[0], tmp_path)
    npz = _folder(root) / "arrays.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    model, messages, warned = _trained(world, root)
    assert len(warned) == 1 and "arrays.npz" in warned[0] and "sha256" in warned[0]
    assert not any("loaded" in m for m in messages)
    np.testing.assert_array_equal(model.recommend([0, 1]), stored[1])
    # the rebuilt model is stored again and reused
    _, messages, warned = _trained(world, root)
    assert any("loaded" in m for m in messages) and not warned


class _Payload:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_pickle_does_not_run(world, stored, tmp_path):
    root = _copy(stored[0], tmp_path)
    folder = _folder(root)
    marker = tmp_path / "code-ran"
    # the attacker's best case: an object array in the .npz, with the sha256s in model.json updated to match
    np.savez(folder / "arrays.npz", **{"cf.user_factors_": np.array([_Payload(str(marker))], dtype=object)},
             allow_pickle=True)
    meta = json.loads((folder / "model.json").read_text())
    meta["files"]["arrays.npz"] = modelcache.sha256_file(folder / "arrays.npz")
    body = {k: v for k, v in meta.items() if k != "checksum"}
    meta["checksum"] = modelcache._json_checksum(body)
    (folder / "model.json").write_text(json.dumps(meta))
    # and an old-style pickle beside it, which nothing reads
    (root / "discover-weekly-old.pkl").write_bytes(pickle.dumps(_Payload(str(marker))))
    model, messages, warned = _trained(world, root)
    assert not marker.exists()
    assert len(warned) == 1 and "arrays.npz" in warned[0]
    np.testing.assert_array_equal(model.recommend([0, 1]), stored[1])
    assert (root / "discover-weekly-old.pkl").exists()   # not ours: not deleted


def test_an_edited_json_is_detected(world, stored, tmp_path):
    root = _copy(stored[0], tmp_path)
    path = _folder(root) / "model.json"
    path.write_text(path.read_text().replace('"max_per_artist": 2', '"max_per_artist": 30'))
    model, _, warned = _trained(world, root)
    assert len(warned) == 1 and "model.json" in warned[0] and "checksum" in warned[0]
    assert model.max_per_artist == 2
    path.write_text("{not json")
    _, _, warned = _trained(world, root)
    assert len(warned) == 1 and "model.json" in warned[0]


def test_an_edited_world_does_not_reuse_the_model(world, stored, tmp_path):
    import copy

    root = _copy(stored[0], tmp_path)
    edited = copy.copy(world)
    edited.tracks = world.tracks.copy()
    edited.tracks.loc[0, "tempo"] += 1.0      # same row counts, same manifest: only the content differs
    assert modelcache.world_key(edited) != modelcache.world_key(world) != ""
    _, messages, _ = _trained(edited, root)
    assert not any("loaded" in m for m in messages)
    assert len([p for p in root.iterdir() if p.is_dir()]) == 2


def test_the_key_changes_with_the_code(world, monkeypatch):
    before = modelcache._cache_key(world, {"factors": 8})
    monkeypatch.setattr(modelcache, "_code_fingerprint", lambda: "edited")
    assert modelcache._cache_key(world, {"factors": 8}) != before != ""


def test_a_read_only_cache_still_gives_the_model_with_a_warning(world, tmp_path, monkeypatch):
    root = tmp_path / "models"
    root.mkdir()
    root.chmod(0o555)
    if os.geteuid() == 0:   # root writes anywhere: refuse as a read-only folder would
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(root))

        monkeypatch.setattr(modelcache.tempfile, "mkdtemp", refuse)
    try:
        model, _, warned = _trained(world, root)
    finally:
        root.chmod(0o755)
    assert model.recommend([0]).shape == (1, 30)
    assert len(warned) == 1 and "could not store" in warned[0] and str(root) in warned[0]
    assert not [p for p in root.iterdir() if p.suffix != ".lock"]   # (root could still write the lock)


def test_replacing_a_broken_model_keeps_files_the_library_did_not_write(world, stored, tmp_path):
    root = _copy(stored[0], tmp_path)
    folder = _folder(root)
    (folder / "arrays.npz").write_bytes(b"garbage")
    (folder / "thesis.txt").write_text("mine")
    _, _, warned = _trained(world, root)
    assert len(warned) == 1
    kept = list(root.rglob("thesis.txt"))
    assert len(kept) == 1 and kept[0].read_text() == "mine"
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "model.json"]


def test_two_processes_train_once(tmp_path):
    script = textwrap.dedent(f"""
        from coursekit.datasets import load_world
        from coursekit.modelcache import trained
        trained(load_world("tiny"), cache_dir={str(tmp_path)!r}, audio=False, factors=8, iterations=3,
                progress=lambda m: print(m, flush=True))
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(modelcache.__file__).parents[1])}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    trainers = [out for out in outs if "collaborative filtering" in out]
    loaders = [out for out in outs if "loaded the trained models" in out]
    assert len(trainers) == 1 and len(loaders) == 1, outs


def test_the_clip_length_known_without_tensorflow_is_the_cnns():
    # the spectrogram workers start before coursekit.cnn (TensorFlow) is imported, for clips of this length
    cnn = pytest.importorskip("coursekit.cnn")
    assert modelcache._CLIP_SECONDS == cnn.CLIP_SECONDS


def test_a_loaded_model_keeps_the_blends_training_pairs(world, stored, tmp_path):
    """Chapter 05 refits the blend on ``validation_pairs_``: a cached model has the same pairs, and the same refit."""
    from coursekit.blend import Blend

    root = _copy(stored[0], tmp_path)
    loaded, messages, _ = _trained(world, root)
    assert any("loaded the trained models" in m for m in messages)
    fresh = modelcache._fit(world, audio=False, say=lambda m: None, factors=8, iterations=3)
    (pairs, labels), (pairs0, labels0) = loaded.validation_pairs_, fresh.validation_pairs_
    assert sorted(pairs) == sorted(pairs0) and "user" in pairs
    np.testing.assert_array_equal(labels, labels0)
    for name in pairs0:
        np.testing.assert_array_equal(pairs[name], pairs0[name])
    refit = Blend(negatives=loaded.negatives, random_state=loaded.random_state, use=loaded.use).fit(pairs, labels)
    np.testing.assert_array_equal(refit.weights_, loaded.blend_.weights_)


def test_parameters_at_their_default_name_the_same_model(world):
    key = modelcache._cache_key
    assert key(world, {"audio": True}) == key(world, {"audio": True, "n": 30, "new_share": 1 / 30, "random_state": 0,
                                                      "use": list(modelcache.DiscoverWeekly().use)})
    assert key(world, {"audio": True}) != key(world, {"audio": True, "random_state": 1})
    assert key(world, {"audio": True}) != key(world, {"audio": True, "n": 20})
    assert key(world, {"audio": True}) != key(world, {"audio": False})


def test_without_tensorflow_the_models_are_keyed_as_trained_without_audio(world, tmp_path, monkeypatch):
    """No CNN can be trained without TensorFlow: the model is stored under the no-audio key, and says so."""
    real = modelcache.importlib.util.find_spec
    monkeypatch.setattr(modelcache.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorflow" else real(name, *a))
    messages = []
    model = trained(world, cache_dir=tmp_path, progress=messages.append, audio=True, factors=8, iterations=3)
    assert model.audio_vectors_ is None
    assert any("TensorFlow is not installed" in m for m in messages), messages
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    expected = modelcache._cache_key(world, {"audio": False, "factors": 8, "iterations": 3})
    assert folder.name == f"discover-weekly-{expected}"
