"""Time rendering and attribute estimation, and measure the estimators' accuracy.

Three parts: (1) the world audio, rendered easy (the score played exactly, dry) and
real (the world's own audio: performed, in a room, with noise), (2) real compositions nobody here wrote
(music21's corpus: Bach chorales, fiddle tunes from Ryan's Mammoth Collection,
Joplin's Maple Leaf Rag; key and metre as the score states them, rendered with
the synthesiser's instruments at a known tempo), (3) sounds that are not music
(noise, a chirp, a sine, a metronome, clicks, and recorded speech where Python's
own test data ships it): each must be flagged by the music score.

Part (1) renders N tracks (without the cache, then through ``render_tracks`` into a
temporary cache folder, then again from that cache), estimates their
attributes, and prints the time per clip and the accuracy against the true
attributes, per genre: tempo within 4 % (octave errors counted apart), key and
mode exact (with the relative and fifth confusions), time signature exact,
loudness mean absolute error.

    python benchmarks/audio.py                          # 300 tracks of the tiny world
    python benchmarks/audio.py --n 800 --world small    # another world, more tracks
    python benchmarks/audio.py --source example         # genres in equal shares
    python benchmarks/audio.py --real 0                 # skip the real compositions (no music21)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd


def _tracks(args) -> pd.DataFrame:
    from coursekit import synth

    if args.source == "example":
        return synth.example_tracks(args.n, seed=args.seed)
    from coursekit.world import generate_world

    tracks = generate_world(args.world)[0].tracks
    return tracks.sample(n=min(args.n, len(tracks)), random_state=args.seed).reset_index(drop=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of tracks (default 300)")
    parser.add_argument("--source", choices=["world", "example"], default="world",
                        help="tracks of a generated world, or synth.example_tracks (equal genre shares)")
    parser.add_argument("--world", default="tiny", help="world size for --source world (default tiny)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--duration", type=float, default=None, help="clip length, s (default synth.DEFAULT_DURATION)")
    parser.add_argument("--style", nargs="+", choices=["easy", "real"], default=["easy", "real"],
                        help="rendering styles of the world audio (default: both, easy first)")
    parser.add_argument("--real", type=int, default=40,
                        help="real compositions from music21's corpus, at most (default 40; 0 skips them)")
    args = parser.parse_args(argv)

    from coursekit import audio, synth

    duration = synth.DEFAULT_DURATION if args.duration is None else args.duration
    tracks = _tracks(args)
    n = len(tracks)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load:.1f}")
    print(f"{n} tracks ({args.source}{' ' + args.world if args.source == 'world' else ''}, seed {args.seed}), "
          f"{duration:g} s clips at {audio.SR} Hz")

    # warm up: librosa's numba compilation and the filter banks are one-off costs
    start = time.perf_counter()
    audio.estimate_attributes(synth.render_track(tracks.iloc[0], duration=duration), synth.SR)
    warm_up = time.perf_counter() - start
    print(f"one-off warm-up (librosa's numba compilation): {warm_up:.1f} s")

    summary = {}
    ok = True
    for style in args.style:
        overall = _world_audio(tracks, style, duration)
        summary[f"world audio, {style}"] = overall
        if style == "real":  # the world's own audio: the estimators' targets hold on it
            targets = {"tempo": 0.90, "key_mode": 0.80, "time_signature": 0.80}
            print("targets: " + ", ".join(f"{k} {overall[k]:.3f} {'>=' if overall[k] >= v else '<'} {v:.2f}"
                                          for k, v in targets.items()))
            ok = all(overall[k] >= v for k, v in targets.items())
    if args.real > 0:
        real = _real_music(args.real, seed=args.seed)
        if real is not None:
            summary["real compositions (music21)"] = real
    ok &= _not_music()
    table = pd.DataFrame(summary).T
    print("\nsummary: share of clips right (tempo within 4 %, key and mode exact, metre or time signature)")
    with pd.option_context("display.width", 140, "display.float_format", "{:.3f}".format):
        print(table.reindex(columns=["n", "tempo", "key_mode", "time_signature", "metre"]).to_string())
    return 0 if ok else 1


def _world_audio(tracks: pd.DataFrame, style: str, duration: float) -> dict:
    """Render the tracks in one style, time it, estimate their attributes and print the accuracy tables."""
    from coursekit import audio, synth

    n = len(tracks)
    print(f"\n== world audio, style {style!r} ==")
    timings = []
    rows = tracks.to_dict("records")
    start = time.perf_counter()
    for row in rows:
        synth.render_track(row, duration=duration, style=style)
    timings.append(("render_track (no cache)", time.perf_counter() - start))
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        synth.render_tracks(tracks, duration=duration, cache_dir=cache_dir, style=style)
        timings.append(("render_tracks, empty cache (render + write)", time.perf_counter() - start))
        start = time.perf_counter()
        clips = synth.render_tracks(tracks, duration=duration, cache_dir=cache_dir, style=style)
        timings.append(("render_tracks, full cache (read)", time.perf_counter() - start))
    start = time.perf_counter()
    with warnings.catch_warnings():  # clips judged not music are counted below, not warned about one by one
        warnings.simplefilter("ignore", UserWarning)
        estimated = audio.estimate_many(clips, synth.SR)
    timings.append(("estimate_many", time.perf_counter() - start))
    print(f"{'step':<46}{'total s':>9}{'ms/clip':>9}")
    for name, seconds in timings:
        print(f"{name:<46}{seconds:>9.2f}{1000 * seconds / n:>9.1f}")
    table = audio.attribute_accuracy(tracks, estimated, by="genre")
    print("\nattribute accuracy (share of tracks; loudness: mean absolute error, LU)")
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(table.to_string())
        print("\nkey confusion (counts; relative = the relative major/minor, e.g. A minor for C major)")
        print(audio.key_confusion(tracks, estimated).to_string())
        ts = pd.crosstab(tracks["time_signature"].rename("true"), estimated["time_signature"].rename("estimated"))
        print("\ntime signature confusion (counts)")
        print(ts.to_string())
    flagged = estimated["reason"].astype(bool).sum()
    print(f"\nclips with an unknown attribute: {flagged}")
    print(f"clips judged music (music score >= {audio.MUSIC_THRESHOLD}): "
          f"{(estimated['music_score'] >= audio.MUSIC_THRESHOLD).mean():.3f}")
    overall = table.loc["all"].to_dict()
    overall["n"] = n
    overall["metre"] = float(np.mean(estimated["metre"].to_numpy()
                                     == np.where(tracks["time_signature"].to_numpy() == 3, "triple", "duple")))
    return overall


def _real_set(n: int, seed: int, seconds: float = 12.0):
    """Clips of real compositions with the answers their scores state: (name, clip, truth) triples."""
    from pathlib import Path

    from music21 import corpus

    from coursekit import scores, synth

    rng = np.random.default_rng(seed)
    root = Path(corpus.__file__).parent
    pieces = [("chorale", p, "organ") for p in corpus.getComposer("bach")[: max(1, n * 2 // 3)]]
    tunes = [p for kind in ("Jig", "Reel", "Hornpipe", "Strathspey", "Waltz", "Polka")
             for p in sorted((root / "ryansMammoth").glob(f"*{kind}.abc"))[:3]]
    pieces += [("fiddle tune", p, "saw") for p in tunes] + [("rag", root / "joplin" / "maple_leaf_rag.mxl", "pluck")]
    out = []
    for kind, path, instrument in pieces[:n]:
        try:
            score = corpus.parse(str(path))
        except Exception:  # music21 cannot read a few of its own abc files  # noqa: BLE001
            continue
        truth = scores.score_attributes(score)
        if not truth["metre"]:
            continue
        beat_bpm = float(rng.uniform(60, 120))
        notes = scores.notes_from_score(score, bpm=beat_bpm * truth["beat_quarters"], max_seconds=seconds)
        if notes.empty:
            continue
        y = synth.render_notes(notes, sr=synth.SR, duration=seconds, instrument=instrument,
                               loudness=float(rng.uniform(-24, -10)))
        truth.update(kind=kind, name=Path(path).stem, tempo=beat_bpm)
        out.append((y, truth))
    return out


def _real_music(n: int, seed: int) -> dict | None:
    try:
        import music21  # noqa: F401
    except ImportError:
        print("\nreal compositions: skipped (pip install music21, in the dev extra)")
        return None
    from coursekit import audio, synth

    start = time.perf_counter()
    items = _real_set(n, seed)
    render_s = time.perf_counter() - start
    clips = [y for y, _ in items]
    truth = pd.DataFrame([t for _, t in items])
    start = time.perf_counter()
    est = audio.estimate_many(clips, synth.SR, music_threshold=0.0)
    estimate_s = time.perf_counter() - start
    ratio = est["tempo"].to_numpy() / truth["tempo"].to_numpy()
    near = lambda r: np.abs(r - 1) <= 0.04  # noqa: E731
    keyed = truth["key"] >= 0
    rel = audio.attribute_accuracy(truth[keyed].assign(time_signature=0, loudness=0.0),
                                   est[keyed].assign(time_signature=0, loudness=0.0))
    rows = {}
    for kind, m in [("all", np.ones(len(truth), bool))] + [(k, (truth["kind"] == k).to_numpy())
                                                           for k in truth["kind"].unique()]:
        k = m & keyed.to_numpy()
        d3 = m & (truth["beat_division"] > 0).to_numpy()
        rows[kind] = {
            "n": int(m.sum()),
            "tempo": near(ratio[m]).mean(),
            "tempo any level": (near(ratio[m]) | near(ratio[m] / 2) | near(ratio[m] * 2) | near(ratio[m] / 3)
                                | near(ratio[m] * 3) | near(ratio[m] / 1.5) | near(ratio[m] * 1.5)).mean(),
            "n keyed": int(k.sum()),
            "key_mode": float(np.mean((est["key"].to_numpy()[k] == truth["key"].to_numpy()[k])
                                      & (est["mode"].to_numpy()[k] == truth["mode"].to_numpy()[k])))
            if k.any() else float("nan"),
            "metre": float(np.mean(est["metre"].to_numpy()[m] == truth["metre"].to_numpy()[m])),
            "beat division": float(np.mean(est["beat_division"].to_numpy()[d3] == truth["beat_division"].to_numpy()[d3])),
            "music": float(np.mean(est["music_score"].to_numpy()[m] >= audio.MUSIC_THRESHOLD)),
        }
    table = pd.DataFrame(rows).T
    print(f"\nreal compositions (music21's corpus, rendered {render_s:.0f} s, estimated {estimate_s:.0f} s): "
          f"{len(truth)} clips of 12 s")
    print(f"(key_relative = the relative major/minor on the keyed clips: {rel.loc['all', 'key_relative']:.3f}; "
          f"key_fifth: {rel.loc['all', 'key_fifth']:.3f})")
    with pd.option_context("display.width", 140, "display.float_format", "{:.3f}".format):
        print(table.to_string())
        print("\nmetre confusion (counts)")
        print(pd.crosstab(truth["time_signature"].rename("score"), est["metre"].rename("estimated")).to_string())
    # the same clips at three tempo priors: does the answer depend on the prior?
    few = clips[:15]
    by_prior = np.array([audio.estimate_many(few, synth.SR, start_bpm=b, music_threshold=0.0)["tempo"].to_numpy()
                         for b in (60.0, 120.0, 180.0)])
    same = np.all(np.abs(by_prior / by_prior[1] - 1) <= 0.04, axis=0)
    print(f"tempo the same (within 4 %) at start_bpm 60, 120 and 180: {same.mean():.3f} of {len(few)} clips")
    _essentia_anchor(clips, truth, est)
    return {"n": len(truth), "tempo": table.loc["all", "tempo"], "key_mode": table.loc["all", "key_mode"],
            "metre": table.loc["all", "metre"]}


def _essentia_anchor(clips, truth: pd.DataFrame, est: pd.DataFrame) -> None:
    """Essentia's key and rhythm extractors on the same clips: an anchor, not a dependency.

    Runs only where ``essentia`` is importable (``pip install essentia``; it is in no extra).
    ``KeyExtractor`` (default profile) at the clips' rate; ``RhythmExtractor2013``
    (multifeature) expects 44.1 kHz, so each clip is resampled for it (librosa).
    """
    try:
        import essentia
        import essentia.standard as es
    except ImportError:
        print("\nessentia anchor: skipped (pip install essentia to compare with a reference analyser)")
        return
    import librosa

    from coursekit import synth
    from coursekit.genres import KEY_NAMES

    essentia.log.infoActive = False
    key_of = {name: i for i, name in enumerate(KEY_NAMES)} | {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10}
    extract_key = es.KeyExtractor(sampleRate=synth.SR)
    extract_rhythm = es.RhythmExtractor2013(method="multifeature")
    start = time.perf_counter()
    tempo, key, mode = [], [], []
    for y in clips:
        k, scale, _ = extract_key(np.asarray(y, dtype=np.float32))
        key.append(key_of.get(k, -1))
        mode.append(1 if scale == "major" else 0)
        y44 = librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=synth.SR, target_sr=44100)
        tempo.append(float(extract_rhythm(y44.astype(np.float32))[0]))
    seconds = time.perf_counter() - start
    keyed = (truth["key"] >= 0).to_numpy()
    near = lambda r: np.abs(r - 1) <= 0.04  # noqa: E731
    rows = {}
    for name, t, k, m in [("coursekit", est["tempo"].to_numpy(), est["key"].to_numpy(), est["mode"].to_numpy()),
                          (f"essentia {essentia.__version__}", np.array(tempo), np.array(key), np.array(mode))]:
        ratio = t / truth["tempo"].to_numpy()
        rows[name] = {"tempo": near(ratio).mean(),
                      "tempo any level": (near(ratio) | near(ratio / 2) | near(ratio * 2) | near(ratio / 3)
                                          | near(ratio * 3) | near(ratio / 1.5) | near(ratio * 1.5)).mean(),
                      "key_mode": float(np.mean((k[keyed] == truth["key"].to_numpy()[keyed])
                                                & (m[keyed] == truth["mode"].to_numpy()[keyed])))}
    print(f"\nessentia anchor on the same {len(clips)} clips ({int(keyed.sum())} keyed; essentia took {seconds:.0f} s): "
          f"KeyExtractor, RhythmExtractor2013")
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(pd.DataFrame(rows).T.to_string())


def _not_music() -> bool:
    """Noise, a chirp, a sine, a metronome, clicks and recorded speech must all be flagged."""
    import sysconfig
    import warnings
    from pathlib import Path

    from coursekit import audio, synth

    sr, n = synth.SR, 8 * synth.SR
    rng = np.random.default_rng(0)
    t = np.arange(n) / sr
    white = rng.normal(size=n)
    spectrum = np.fft.rfft(white)
    spectrum[1:] /= np.sqrt(np.fft.rfftfreq(n, 1 / sr)[1:])
    pink = np.fft.irfft(spectrum, n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(2001) / 2001, "same")
    tick = np.exp(-np.arange(400) / 50) * rng.normal(size=400)
    beats, clicks = np.zeros(n), np.zeros(n)
    beats[(np.arange(0, 8, 0.5) * sr).astype(int)] = 1.0
    clicks[rng.integers(0, n, 30)] = 1.0
    sounds = {
        "white noise": white, "pink noise": pink, "brown noise": brown,
        "chirp 100 Hz - 3.2 kHz": np.sin(2 * np.pi * 100 * (2 ** (t / 1.6) - 1) * 1.6 / np.log(2)),
        "sine 440 Hz": np.sin(2 * np.pi * 440 * t),
        "sine 440 Hz with vibrato": np.sin(2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t)),
        "two held sines (440 + 660 Hz)": np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 660 * t),
        "harmonic tone 220 Hz (7 partials)": sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 8)),
        "metronome 120 BPM (noise ticks)": np.convolve(beats, tick, "same"),
        "random clicks": np.convolve(clicks, tick, "same"),
    }
    speech = Path(sysconfig.get_paths()["stdlib"]) / "test" / "audiotest.au"
    if speech.exists():  # a 3.5 s recording of a voice that CPython's test suite ships (8012 Hz)
        sounds["recorded speech (CPython test/audiotest.au)"] = audio.load_audio(speech)
    rows = {}
    for name, y in sounds.items():
        y = (0.3 * y / np.abs(y).max()).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = audio.estimate_attributes(y, sr)
            forced = audio.estimate_attributes(y, sr, music_threshold=0.0)
        rows[name] = {"music score": est.music_score, "beat strength": est.beat_strength,
                      "tonal clarity": est.tonal_clarity, "pitch variety": est.pitch_variety, "flagged": est.music_score < audio.MUSIC_THRESHOLD,
                      "tempo if forced": forced.tempo, "key if forced": forced.key, "metre if forced": forced.metre}
    table = pd.DataFrame(rows).T
    print("\nnot music: each should be flagged (tempo, key and metre then unknown, with a warning)")
    with pd.option_context("display.width", 160, "display.float_format", "{:.2f}".format):
        print(table.to_string())
    print(f"flagged: {int(table['flagged'].sum())} of {len(table)}")
    return bool(table["flagged"].all())


if __name__ == "__main__":
    sys.exit(main())
