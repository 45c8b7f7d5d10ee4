"""The estimators on real compositions nobody here wrote: music21's corpus (Bach chorales).

The scores state their key and metre (:func:`coursekit.scores.score_attributes`);
they are played with the synthesiser's organ at a known tempo. Skipped without
music21 (``pip install music21``, in the dev extra). ``benchmarks/audio.py``
measures more pieces (fiddle tunes, a rag).
"""

import numpy as np
import pytest

from coursekit import audio, scores, synth

music21 = pytest.importorskip("music21", reason="music21 ships the corpus of real scores (dev extra)")
pytest.importorskip("librosa")

SR = synth.SR


@pytest.fixture(scope="module")
def chorales():
    from music21 import corpus

    out = []
    for k, path in enumerate(corpus.getComposer("bach")[:14]):
        score = corpus.parse(path)
        truth = scores.score_attributes(score)
        if truth["key"] < 0 or not truth["metre"]:
            continue  # the score does not confirm its key (e.g. it ends on the dominant)
        truth["tempo"] = 70.0 + 5 * (k % 6)  # quarter notes a minute, 70..95
        notes = scores.notes_from_score(score, bpm=truth["tempo"] * truth["beat_quarters"], max_seconds=10.0)
        out.append((synth.render_notes(notes, sr=SR, duration=10.0), truth))
    return out


def test_chorales_have_their_answers_in_the_score(chorales):
    assert len(chorales) >= 8
    assert {t["metre"] for _, t in chorales} <= {"duple", "triple"}


def test_estimators_on_bach_chorales(chorales):
    est = audio.estimate_many([y for y, _ in chorales], SR)
    truth = [t for _, t in chorales]
    n = len(truth)
    assert (est["music_score"] >= audio.MUSIC_THRESHOLD).all(), "a chorale is music"
    key_right = np.mean([(e.key, e.mode) == (t["key"], t["mode"]) for e, t in zip(est.itertuples(), truth)])
    assert key_right >= 0.6, f"key and mode right on {key_right:.0%} of {n} chorales"
    ratio = est["tempo"].to_numpy() / np.array([t["tempo"] for t in truth])
    level = np.min([np.abs(ratio * f - 1) for f in (1, 2, 0.5)], axis=0) <= 0.04
    assert level.mean() >= 0.8, "the tempo is the beat's, or an octave of it"
    metre_right = np.mean(est["metre"].to_numpy() == np.array([t["metre"] for t in truth]))
    assert metre_right >= 0.6
