"""Training gives the same numbers, bit for bit, on 1 core and on 2.

Each run is a fresh Python process allowed 1 or 2 cores (``os.sched_setaffinity``,
set before NumPy or TensorFlow start their thread pools). It trains what
:class:`coursekit.mixtape.DiscoverWeekly` trains on the tiny world — ALS, the
cultural vectors, the audio CNN, the blend — and writes the learned arrays and
every listener's mixtape. The CNN learns from seeded noise shaped like 3-second
log-mel spectrograms (256 clips of 128 frames), the smallest training found
where TensorFlow's default thread pools (one thread per core) change the
weights (by about 2e-6 after one epoch): rendering the tiny world's audio would
take longer than the whole test.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import os, sys
os.sched_setaffinity(0, {int(c) for c in sys.argv[2].split(",")})
import numpy as np
from coursekit.cnn import AudioCNN
from coursekit.datasets import load_world
from coursekit.mixtape import DiscoverWeekly

world = load_world("tiny")
rng = np.random.default_rng(0)
clips = (rng.normal(size=(len(world.tracks), 128, 64)) * 10 - 40).astype(np.float32)
cnn = {}

def audio_fn(item_factors, trained_mask):
    idx = np.flatnonzero(trained_mask)[:256]
    cnn["model"] = AudioCNN(epochs=1, random_state=0).fit(clips[idx], item_factors[idx])
    return cnn["model"].predict(clips)

model = DiscoverWeekly(iterations=5, random_state=0, audio_fn=audio_fn).fit(world)
np.savez(sys.argv[1], cf=model.cf_.item_factors_, text=model.culture_.vectors_.toarray(),
         cnn=np.concatenate([w.ravel() for w in cnn["model"].model_.get_weights()]),
         audio=model.audio_vectors_, blend=model.blend_.weights_.to_numpy(), mixtapes=model.recommend())
"""


@pytest.mark.slow
def test_training_is_the_same_on_one_core_and_on_two(tmp_path):
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip(f"needs 2 cores to compare 1 with 2; this process may use {len(cores)}")
    from coursekit.datasets import load_world

    load_world("tiny")  # generated or checked once here, not by both runs at once
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("COURSEKIT_TF_THREADS", None)  # the library's default, as in the notebooks
    runs = {}
    for name, allowed in [("1 core", cores[:1]), ("2 cores", cores[:2])]:
        out = tmp_path / f"{len(allowed)}.npz"
        runs[name] = (out, subprocess.Popen([sys.executable, "-c", _CHILD, str(out), ",".join(map(str, allowed))],
                                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    arrays = {}
    for name, (out, proc) in runs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"the {name} run failed:\n{err.decode(errors='replace')[-3000:]}"
        with np.load(out) as saved:
            arrays[name] = dict(saved)
    one, two = arrays["1 core"], arrays["2 cores"]
    assert set(one) == {"cf", "text", "cnn", "audio", "blend", "mixtapes"}
    for piece in one:
        np.testing.assert_array_equal(one[piece], two[piece], err_msg=f"{piece} differs between 1 core and 2 cores")
