"""Time rendering and attribute estimation, and measure the estimators' accuracy.

Renders N tracks (without the cache, then through ``render_tracks`` into a
temporary cache folder, then again from that cache), estimates their
attributes, and prints the time per clip and the accuracy against the true
attributes, per genre: tempo within 4 % (octave errors counted apart), key and
mode exact (with the relative and fifth confusions), time signature exact,
loudness mean absolute error.

    python benchmarks/audio.py                          # 300 tracks of the tiny world
    python benchmarks/audio.py --n 800 --world small    # another world, more tracks
    python benchmarks/audio.py --source example         # genres in equal shares
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

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
    audio.estimate_attributes(synth.render_track(tracks.iloc[0], duration=duration))
    warm_up = time.perf_counter() - start

    timings = []
    rows = tracks.to_dict("records")
    start = time.perf_counter()
    for row in rows:
        synth.render_track(row, duration=duration)
    timings.append(("render_track (no cache)", time.perf_counter() - start))
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        synth.render_tracks(tracks, duration=duration, cache_dir=cache_dir)
        timings.append(("render_tracks, empty cache (render + write)", time.perf_counter() - start))
        start = time.perf_counter()
        clips = synth.render_tracks(tracks, duration=duration, cache_dir=cache_dir)
        timings.append(("render_tracks, full cache (read)", time.perf_counter() - start))
    start = time.perf_counter()
    estimated = audio.estimate_many(clips)
    timings.append(("estimate_many", time.perf_counter() - start))

    print(f"\none-off warm-up (librosa's numba compilation): {warm_up:.1f} s")
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
    overall = table.loc["all"]
    targets = {"tempo": 0.90, "key_mode": 0.80, "time_signature": 0.80}
    print("targets: " + ", ".join(f"{k} {overall[k]:.3f} {'>=' if overall[k] >= v else '<'} {v:.2f}"
                                  for k, v in targets.items()))
    return 0 if all(overall[k] >= v for k, v in targets.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
