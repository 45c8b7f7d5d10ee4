"""The small world's trained models committed in datasets/models (issue 18): current, verified, used.

A change to the code that trains the models, to the world or to the parameters changes the
key the committed folder is named after: ``test_committed_models_match_the_code`` then fails
until ``coursekit models --size small`` has written them again (and they are committed).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from coursekit.datasets import load_world
from coursekit.modelcache import COMMITTED, ModelCacheWarning, _cache_key, _write_npz, trained

REGENERATE = "run `coursekit models --size small` and commit datasets/models"


@pytest.fixture(scope="module")
def small():
    return load_world("small")


def _committed_folder(world) -> Path:
    return COMMITTED / world.size / f"discover-weekly-{_cache_key(world, {'audio': True})}"


def test_committed_models_match_the_code(small):
    folder = _committed_folder(small)
    present = sorted(p.name for p in (COMMITTED / "small").glob("discover-weekly-*"))
    assert folder.exists(), (f"the committed models are stale or missing: {folder.name} expected for this code and "
                             f"world, found {present}; {REGENERATE}")
    assert present == [folder.name], f"only the current models are committed, found {present}; {REGENERATE}"
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["state"]["timings"] == {}, "committed models carry no timings (they would differ run to run)"


def test_the_mixtape_uses_the_committed_models_without_training(small, tmp_path):
    messages = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelCacheWarning)   # a committed copy that fails its checksums is an error
        model = trained(small, cache_dir=tmp_path / "empty-cache", progress=messages.append)
    assert any("committed models" in m for m in messages), messages
    assert not any(m.startswith("cultural vectors") or "collaborative filtering" in m for m in messages), messages
    assert not any((tmp_path / "empty-cache").glob("discover-weekly-*/")), "nothing trained, nothing stored"
    table = model.mixtape(int(small.users["user_id"].iloc[42]))
    assert len(table) == model.n


def test_a_tampered_committed_model_is_not_used(small, tmp_path):
    """A committed copy whose bytes changed is reported and not used (the model is trained instead: mocked here)."""
    import shutil

    folder = _committed_folder(small)
    copy = tmp_path / "models" / "small" / folder.name
    shutil.copytree(folder, copy)
    data = bytearray((copy / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "arrays.npz").write_bytes(bytes(data))
    from coursekit import modelcache

    with pytest.warns(ModelCacheWarning, match="arrays.npz"):
        model = modelcache._load(copy, small, lambda message: None)
    assert model is None


def test_npz_bytes_depend_only_on_the_arrays(tmp_path):
    import numpy as np

    arrays = {"b": np.arange(5.0), "a": np.eye(3, dtype=np.float32)}
    _write_npz(tmp_path / "one.npz", arrays)
    _write_npz(tmp_path / "two.npz", dict(reversed(list(arrays.items()))))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz", allow_pickle=False) as npz:
        assert np.array_equal(npz["a"], arrays["a"]) and np.array_equal(npz["b"], arrays["b"])
