"""Does a recording's vector depend on its length? One pass against 3-s windows (issue 16, item 4).

With the small world's trained CNN (the committed models, or the model cache),
prints for 30-s clips -- six world songs (one per genre) and seven real
compositions from music21's corpus (Bach chorales, two fiddle reels, Joplin's
Maple Leaf Rag), rendered by ``coursekit.synth.render_notes`` -- the cosine
between the whole clip's vector and its first 10 s's (and first 3 s's), with
``AudioCNN.predict_audio(window_seconds=None)`` (one pass through the pooling
layer) and with the default 3-s windows averaged; then the mean and the
minimum, and the mean cosine of two random world songs for scale.

    python benchmarks/place.py
"""
import sys
import time

import numpy as np
from pathlib import Path
from music21 import corpus
from coursekit import audio, scores, synth
from coursekit.datasets import load_world
from coursekit.modelcache import trained_cnn

SR = audio.SR
t = time.perf_counter()
world = load_world("small")
dw, model, R = trained_cnn(world, progress=lambda m: print("  ", m, file=sys.stderr))
print(f"loaded in {time.perf_counter() - t:.1f} s")
clips = []
tr = world.tracks
for g in sorted(tr["genre"].unique())[:6]:
    row = tr[tr["genre"] == g].iloc[0]
    clips.append((f"world {g} #{row['track_id']}", synth.render_track(row, duration=30.0)))
root = Path(corpus.__file__).parent
pieces = [("chorale " + Path(str(p)).stem, p, "organ") for p in corpus.getComposer("bach")[:4]]
pieces += [("fiddle " + p.stem, p, "saw") for p in sorted((root / "ryansMammoth").glob("*Reel.abc"))[:2]]
pieces += [("rag maple_leaf", root / "joplin" / "maple_leaf_rag.mxl", "pluck")]
for name, path, instrument in pieces:
    score = corpus.parse(str(path))
    notes = scores.notes_from_score(score, bpm=90, max_seconds=30.0)
    y = synth.render_notes(notes, sr=SR, duration=30.0, instrument=instrument)
    clips.append((name, y))
rows = []
for name, y in clips:
    first = y[: 10 * SR]
    single = float(model.predict_audio(y, window_seconds=None) @ model.predict_audio(first, window_seconds=None))
    win = float(model.predict_audio(y) @ model.predict_audio(first))
    f3 = y[: 3 * SR]
    s3 = float(model.predict_audio(y, window_seconds=None) @ model.predict_audio(f3, window_seconds=None))
    w3 = float(model.predict_audio(y) @ model.predict_audio(f3))
    rows.append((name, single, win, s3, w3))
    print(f"{name:32s} 10 s: one pass {single:6.3f}  windows {win:6.3f} | 3 s: one pass {s3:6.3f}  windows {w3:6.3f}")
a = np.array([r[1:] for r in rows])
for name, f in (("mean", np.mean), ("min", np.min)):
    print(f"{name:32s} 10 s: one pass {f(a[:,0]):6.3f}  windows {f(a[:,1]):6.3f} | 3 s: one pass {f(a[:,2]):6.3f}  windows {f(a[:,3]):6.3f}")
V = dw.audio_vectors_ / np.linalg.norm(dw.audio_vectors_, axis=1, keepdims=True)
rng = np.random.default_rng(0); i, j = rng.integers(0, len(V), (2, 20000))
print(f"calibration: mean cosine of two random world songs' CNN vectors {np.mean(np.sum(V[i]*V[j],1)):.3f}")
