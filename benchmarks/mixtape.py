"""Discover Weekly end to end: training time, every listener's mixtape, and the evaluation on next week.

Prints three tables:

1. **training** — seconds per step of ``DiscoverWeekly.fit`` (cultural vectors,
   the validation CF model, the audio CNN when ``coursekit.cnn`` is installed,
   the blend's training pairs, the blend, the final CF model) and the peak
   memory of the whole fit;
2. **batch** — every listener's mixtape at once: ``recommend()`` (scores, rules
   and listening order for all users; the median and fastest of ``--repeats``
   runs, against the issue's budget of 10 s for the small world on 2 cores) and
   ``all_mixtapes()`` (the same plus a reason for every song), with the peak
   memory of each;
3. **evaluation** — on next week's listening (the truth's week, which no model
   sees; :func:`coursekit.evaluation.next_week_split`): per model alone and
   blended, with and without the reserved new-release slots, against popularity
   and random. Hit rate, precision and NDCG at ``n`` are computed on the
   *ranking* (``ordered=False``, best first), before the tempo ordering;
   "true affinity" is the truth's mean affinity of the picks; "new / mixtape"
   counts new releases with too few listeners for CF (``profile_.cold &
   profile_.new``, the reserved slots' pool); "new hit rate" is the hit rate on
   next week's discoveries of such tracks.

With ``--ablation`` a fourth table refits the whole system without text,
without audio and without the artist signals (``DiscoverWeekly(use=...)``; slow: every fit retrains).

Peak memory is the process's resident-set high-water mark (Linux ``VmHWM``),
reset before each step. The machine may be shared: the header prints the load
average.

    python benchmarks/mixtape.py                    # small world, audio CNN if installed
    python benchmarks/mixtape.py --no-audio         # without the CNN
    python benchmarks/mixtape.py --size tiny --repeats 1
    python benchmarks/mixtape.py --ablation
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coursekit.datasets import load_truth, load_world
from coursekit.evaluation import next_week_split
from coursekit.baselines import Random
from coursekit.metrics import hit_rate_at_k
from coursekit.mixtape import DiscoverWeekly
from coursekit.signals import SIGNALS

BATCH_BUDGET_S = {"small": 10.0}


from _memory import _peak_mb, _peak_reset  # noqa: E402  (shared with the other benchmarks)


def _measured(fn):
    """Run ``fn()``; return its result, wall seconds and peak MB."""
    _peak_reset()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start, _peak_mb()


def audio_function(world, use_audio: bool, seed: int):
    """Chapter 04's audio model as DiscoverWeekly's ``audio_fn``, or None (with the reason)."""
    if not use_audio:
        return None, "off (--no-audio)"
    try:
        from coursekit.cnn import audio_vector_model
    except ImportError:
        return None, "off (coursekit.cnn is not installed)"
    return audio_vector_model(world, random_state=seed), "on (chapter 04's CNN)"


def train(world, audio_fn, seed: int, **params):
    model, seconds, peak = _measured(lambda: DiscoverWeekly(audio_fn=audio_fn, random_state=seed, **params).fit(world))
    steps = pd.Series(model.timings_, name="seconds")
    steps["total (fit)"] = seconds
    return model, steps.to_frame(), peak


def batch_table(model, size: str, repeats: int) -> pd.DataFrame:
    n_users = model.train_.shape[0]
    rows = []
    times, peak = [], 0.0
    for _ in range(repeats):
        _, seconds, p = _measured(model.recommend)
        times.append(seconds)
        peak = max(peak, p)
    budget = BATCH_BUDGET_S.get(size)
    rows.append({"step": f"recommend() for all {n_users:,} users", "median s": float(np.median(times)),
                 "fastest s": min(times), "ms / user": 1000 * float(np.median(times)) / n_users, "peak MB": peak,
                 "budget s": budget if budget else "-",
                 "within budget": ("yes" if min(times) <= budget else "NO") if budget else "-"})
    table, seconds, peak = _measured(model.all_mixtapes)
    rows.append({"step": f"all_mixtapes() with reasons ({len(table):,} rows)", "median s": seconds,
                 "fastest s": seconds, "ms / user": 1000 * seconds / n_users, "peak MB": peak,
                 "budget s": "-", "within budget": "-"})
    return pd.DataFrame(rows).set_index("step")


def evaluation_table(world, truth, model, rankings: dict, n: int) -> pd.DataFrame:
    """One row of metrics per ranking (users × n track positions, best first)."""
    split = next_week_split(world, truth)
    new = model.profile_.cold & model.profile_.new & split.released
    H = split.heldout
    H_new = (H @ sp.diags(new.astype(float))).tocsr()
    H_new.eliminate_zeros()
    artist_of = model.profile_.artist_of_track
    users = np.arange(H.shape[0])
    rows = {}
    for name, recs in rankings.items():
        ev = split.evaluate(recs, k=n)
        ok = recs >= 0
        p = np.maximum(recs, 0)
        affinity = np.concatenate([np.take_along_axis(truth.affinity(users[s:s + 500]), p[s:s + 500], axis=1)[ok[s:s + 500]]
                                   for s in range(0, len(users), 500)])
        rows[name] = {
            f"hit rate@{n}": ev[f"hit_rate@{n}"], f"precision@{n}": ev[f"precision@{n}"], f"NDCG@{n}": ev[f"ndcg@{n}"],
            "true affinity": affinity.mean(),
            "new / mixtape": (new[p] & ok).sum(axis=1).mean(),
            "new hit rate": hit_rate_at_k(recs, H_new, n),
            "distinct artists": np.mean([len(np.unique(artist_of[row[row >= 0]])) for row in recs]),
            "coverage": ev[f"coverage@{n}"],
        }
    return pd.DataFrame(rows).T


def rankings_of(world, truth, model, seed: int) -> dict:
    split = next_week_split(world, truth)
    unreserved = copy.copy(model)           # shares the fitted models
    unreserved.new_share = 0.0
    out = {"blend": model.recommend(ordered=False),
           "blend, no reserved slots": unreserved.recommend(ordered=False)}
    for name in ("cf", "text", "audio", "popularity"):
        out[name] = model.recommend(model=name, ordered=False)
    out["random"] = split.recommend(Random(random_state=seed).fit(split.train.preference), model.n)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["tiny", "small"])
    parser.add_argument("--no-audio", action="store_true", help="leave out chapter 04's CNN")
    parser.add_argument("--repeats", type=int, default=3, help="runs of recommend() for the batch timing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ablation", action="store_true", help="also refit without text and without audio (slow)")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {load:.1f}), "
          f"Python {platform.python_version()}")
    world = load_world(args.size)
    truth = load_truth(args.size)
    audio_fn, audio_note = audio_function(world, not args.no_audio, args.seed)
    print(f"world: {args.size}, {len(world.users):,} users × {len(world.tracks):,} tracks; audio CNN {audio_note}")
    pd.set_option("display.width", 160)

    model, steps, peak = train(world, audio_fn, args.seed)
    print(f"\n1. Training (peak {peak:,.0f} MB)\n")
    print(steps.round(1).to_string())

    print("\n2. Every listener's mixtape\n")
    print(batch_table(model, args.size, max(1, args.repeats)).round(2).to_string())

    print(f"\n3. Evaluation on next week (week {world.n_weeks}), rankings of {model.n}\n")
    table = evaluation_table(world, truth, model, rankings_of(world, truth, model, args.seed), model.n)
    print(table.round(4).to_string())

    if args.ablation:
        print("\n4. Ablation: the whole system refit without a model\n")
        variants = {"all signals": model}
        for name, dropped in (("without text", ("text",)), ("without audio", ("audio", "sound")),
                              ("without artist", ("artist", "artist_popularity"))):
            variants[name], _, _ = train(world, audio_fn, args.seed, use=tuple(s for s in SIGNALS if s not in dropped))
        rankings = {name: m.recommend(ordered=False) for name, m in variants.items()}
        print(evaluation_table(world, truth, model, rankings, model.n).round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
