"""Discover Weekly on the ``large`` world end to end: feedback, training, top-30, every mixtape; time and memory.

Issue 18, item 3, on the 1,000,000-listener × 100,000-track world. Prints
these tables and saves them, with the machine and its load, to
``benchmarks/results/mixtape_large.json``, each next to issue 18's figure
for the code before (``TODAY``) and its target:

0. **feedback matrices** — :func:`coursekit.feedback.build_feedback` on all
   29 M listen rows (sparse aggregation: ``coo → csr`` sums the duplicates, no
   pandas group-by): wall, CPU, peak memory and the memory added above the
   world already held;
1. **load and training** — loading the world, then ``DiscoverWeekly.fit``
   (``engine="implicit"``, no audio CNN) cut at each of its steps: the step's
   own seconds (``model.timings_``), and the wall time, CPU time and peak memory
   of the whole stretch until the next step starts (which also holds the
   untimed work: building the feedback matrices, the profiles);
2. **top-30 for every listener** — collaborative filtering alone, with
   implicit's batched top-k (``implicit.cpu.topk.topk``, the routine behind
   its ``recommend``; played tracks filtered), all cores;
3. **candidate scoring against full scoring** — ``DiscoverWeekly.recommend``
   (every track scored) and :func:`coursekit.batch.candidate_mixtapes` (only
   the batch's candidate pools) for the same ``--trial-users`` users in the
   same run: ms per user, their ratio, and whether the mixtapes are identical;
4. **mixtapes** — :func:`coursekit.batch.write_mixtapes` for ``--users``
   (``all`` or a random sample) into ``--mixtapes-dir`` in ``--jobs``
   processes (resumable .npz shards, tqdm bar on stderr): wall, CPU (all
   processes), peak memory of the process tree (summed PSS, sampled every 2 s);
   when a sample, the time for every user is extrapolated and labelled so;
5. **rules** — on the mixtapes written: 30 distinct, unheard, released songs,
   at most 2 per artist, and the reserved new release present whenever the
   user has an unheard one.

What is left out, and why:

* the audio CNN of chapter 04 (``audio_fn=None``: the audio signal is 0, the
  "sound" closeness still speaks): rendering 100,000 clips, their mel
  spectrograms and training the CNN on them would take hours on 2 cores and
  does not fit the 4 GB the fit may use; the blend learns without it;
* the blend learns from the library's sample of validation users
  (``DiscoverWeekly(blend_users=...)``, ``--blend-users``), not from all of
  the large world's ~730,000. The script wraps
  ``training_pairs`` (from :mod:`coursekit.blend`) in ``coursekit.mixtape`` while fitting, only to measure it, and
  reports the cost of the sample and the cost extrapolated to every user.

Peak memory is the process's resident-set high-water mark (Linux ``VmHWM``),
reset before each step. The machine may be shared: the load average is sampled
every 10 s and summarised per step (our own processes count about 1 each).

    python benchmarks/mixtape_large.py                                    # 50,000 users
    python benchmarks/mixtape_large.py --users all --jobs 2               # every listener (about 30 min)
    python benchmarks/mixtape_large.py --users 2000 --trial-users 256 --out /tmp/try.json
    python benchmarks/mixtape_large.py --size small --users 2000          # a quick dry run
    python benchmarks/mixtape_large.py ... --save-model /tmp/dw           # then --load-model /tmp/dw skips the fit

``--save-model`` writes the model with :func:`coursekit.batch.save_model` (the
model cache's format: an .npz read without pickle and JSON, sha256-checked) and
the fit's figures; ``--load-model`` rebuilds it on the world
(:func:`coursekit.batch.load_model`). ``benchmarks/scaling.py`` reads the same folder.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

import coursekit.mixtape as mixtape
from coursekit.batch import candidate_mixtapes, load_model, read_mixtapes, save_model, write_mixtapes
from coursekit.datasets import load_world
from coursekit.feedback import build_feedback
from coursekit.mixtape import DiscoverWeekly
from coursekit.signals import SIGNALS

from _memory import _peak_mb, _peak_reset, _status_mb  # noqa: E402  (shared with the other benchmarks)

RESULTS = Path(__file__).resolve().parent / "results" / "mixtape_large.json"
#: Issue 18's figures for the code before it (2 cores, benchmarks/results/mixtape_large.json of 2026-11-27 and the
#: issue's own measurements) and its targets: (today, target, unit).
TODAY = {
    "feedback matrices s": (103.0, None, "s"), "feedback matrices peak MB": (8300.0, 3000.0, "MB"),
    "fit peak MB": (10833.0, 4000.0, "MB"), "fit s": (390.0, None, "s"),
    "top-30 for every listener s": (3881.0, 600.0, "s"),
    "mixtapes ms per user (one core)": (6.26, None, "ms"),
    "mixtapes for every listener s": (6262.0, 1800.0, "s (today extrapolated)"),
}
#: What each stretch of ``fit`` holds besides its own step (see DiscoverWeekly.fit).
ALSO_IN_STRETCH = {
    "(before the first step)": "",
    "cultural vectors from web text": "+ validation feedback matrices (weeks 0..n-2)",
    "collaborative filtering (validation weeks)": "+ validation profiles",
    "blend training pairs": "",
    "blend": "+ feedback matrices of every observed week",
    "collaborative filtering (all weeks)": "+ final profiles",
}


def _rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return float("nan") if rss is None else rss


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class LoadMonitor:
    """Samples the 1-minute load average every ``every`` seconds in a daemon thread."""

    def __init__(self, every: float = 10.0):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            self.samples.append((time.perf_counter(), os.getloadavg()[0]))
            if self._stop.wait(self._every):
                return

    def summary(self, t0: float, t1: float) -> str:
        loads = [v for t, v in self.samples if t0 <= t <= t1] or [os.getloadavg()[0]]
        return f"{min(loads):.1f}-{max(loads):.1f}"

    def stop(self):
        self._stop.set()


class Step:
    """Time a stretch of work: wall and CPU seconds, peak RSS (VmHWM reset at the start), load."""

    def __init__(self, rows: list, name: str, monitor: LoadMonitor, quiet: bool = False, **extra):
        self.rows, self.name, self.monitor, self.quiet, self.extra = rows, name, monitor, quiet, extra

    def __enter__(self):
        gc.collect()
        self.rss_before = _rss_mb()
        self.exact = _peak_reset()
        self.cpu = _cpu_s()
        self.start = time.perf_counter()
        if not self.quiet:
            print(f"... {self.name}", flush=True)
        return self

    def __exit__(self, *exc):
        end = time.perf_counter()
        self.row = {"step": self.name, "seconds": end - self.start, "cpu s": _cpu_s() - self.cpu,
                    "peak MB": _peak_mb() if self.exact else float("nan"), "MB before": self.rss_before,
                    "load": self.monitor.summary(self.start, end), **self.extra}
        self.rows.append(self.row)
        if not self.quiet:
            print(f"    {self.row['seconds']:.1f} s, peak {self.row['peak MB']:,.0f} MB", flush=True)
        return False


class FitStretches:
    """``progress`` callback for ``DiscoverWeekly.fit``: closes a :class:`Step` at each new step."""

    def __init__(self, rows: list, monitor: LoadMonitor):
        self.rows, self.monitor = rows, monitor
        self.step = Step(rows, "(before the first step)", monitor, quiet=True).__enter__()

    def __call__(self, message: str):
        self.close()
        print(f"... {message}", flush=True)
        self.step = Step(self.rows, message, self.monitor, quiet=True).__enter__()

    def close(self):
        self.step.__exit__(None, None, None)
        r = self.step.row
        if r["step"] != "(before the first step)" or r["seconds"] > 1:
            print(f"    {r['seconds']:.1f} s, peak {r['peak MB']:,.0f} MB", flush=True)


@contextlib.contextmanager
def measured_pairs(record: dict):
    """Record what ``DiscoverWeekly.fit``'s blend pairs cost (users, pairs, seconds, MB), to extrapolate.

    Wraps the name ``training_pairs`` in ``coursekit.mixtape`` (looked up by ``fit`` at call
    time) without changing what it does: the user sample is the library's
    (``DiscoverWeekly(blend_users=...)``).
    """
    original = mixtape.training_pairs

    def measured(split, sig_fn, cold, **kw):
        record["users with held-out tracks"] = int((split.heldout.getnnz(axis=1) > 0).sum())
        start = time.perf_counter()
        pairs, labels = original(split, sig_fn, cold, **kw)
        seconds = time.perf_counter() - start
        used = len(np.unique(pairs["user"])) if "user" in pairs else record["users with held-out tracks"]
        nbytes = sum(np.asarray(v).nbytes for v in pairs.values()) + labels.nbytes
        record.update({
            "users used": used, "pairs": int(len(labels)), "positives": int(labels.sum()),
            "seconds": seconds, "ms per user": 1000 * seconds / max(used, 1), "pairs MB": nbytes / 2**20,
        })
        return pairs, labels

    mixtape.training_pairs = measured
    try:
        yield
    finally:
        mixtape.training_pairs = original


def extrapolate_pairs(record: dict, n_features: int) -> None:
    """Add to ``record`` what the blend pairs of every validation user would cost."""
    if "users used" not in record:
        return
    ratio = record["users with held-out tracks"] / max(record["users used"], 1)
    record.update({
        "features": n_features,
        "all users: extrapolated seconds": record["seconds"] * ratio,
        "all users: extrapolated pairs": int(record["pairs"] * ratio),
        # the per-batch parts and their concatenation live together at the end of training_pairs
        "all users: extrapolated pairs MB (parts + concatenation)": 2 * record["pairs MB"] * ratio,
        # Blend.fit stacks X (pairs x features) and standardises a copy
        "all users: extrapolated Blend.fit X MB (X + standardised copy)":
            2 * record["pairs"] * ratio * n_features * 8 / 2**20,
    })


def blas(threads: int | None):
    """Limit BLAS to ``threads`` threads (no limit for None)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, "blas") if threads else contextlib.nullcontext()


def new_releases(model) -> np.ndarray:
    """The tracks ``recommend`` reserves a slot for (as in DiscoverWeekly.recommend)."""
    p = model.profile_
    return p.cold & p.new & model.split_.released


def check_rules(model, users: np.ndarray, picks: np.ndarray) -> dict:
    """Count the mixtapes that break each rule (vectorised over users)."""
    n = model.n
    valid = picks >= 0
    full = valid.all(axis=1)
    safe = np.maximum(picks, 0)
    rows = np.repeat(np.arange(len(users)), n)[valid.ravel()]
    P = sp.csr_matrix((np.ones(len(rows)), (rows, picks[valid])), shape=(len(users), model.train_.shape[1]))
    played = model.train_.preference[users]
    heard = np.asarray(played.multiply(P).getnnz(axis=1)).ravel() > 0
    s = np.sort(np.where(valid, picks, -np.arange(1, n + 1)), axis=1)   # padding never collides
    dup = (s[:, 1:] == s[:, :-1]).any(axis=1)
    unreleased = (~model.split_.released[safe] & valid).any(axis=1)
    artist = np.where(valid, model.profile_.artist_of_track[safe], -np.arange(1, n + 1))
    a = np.sort(artist, axis=1)
    cap = model.max_per_artist
    over_cap = (a[:, cap:] == a[:, :-cap]).any(axis=1)
    is_new = new_releases(model)
    n_new = int(round(n * model.new_share))
    new_in = (is_new[safe] & valid).sum(axis=1)
    played_new = np.asarray(played @ is_new.astype(float)).ravel()
    available = (is_new.sum() - played_new) > 0
    cold_start = played.getnnz(axis=1) == 0
    return {
        "mixtapes": int(len(users)),
        "cold-start users (no history: popularity picks)": int(cold_start.sum()),
        f"with fewer than {n} songs": int((~full).sum()),
        "with a repeated song": int(dup.sum()),
        "with a song already played": int(heard.sum()),
        "with an unreleased song": int(unreleased.sum()),
        f"with more than {cap} songs by one artist": int(over_cap.sum()),
        f"reserved new releases per mixtape (round({n} x {model.new_share:.4f}))": n_new,
        "users with an unheard new release": int(available.sum()),
        f"... whose mixtape has fewer than {n_new} new release(s)": int(((new_in < n_new) & available).sum()),
        "new releases per mixtape (mean)": float(new_in.mean()) if len(users) else 0.0,
        "distinct artists per mixtape (mean)": float(((a[:, 1:] != a[:, :-1]) & (a[:, 1:] >= 0)).sum(axis=1).mean()
                                                     + (a[:, 0] >= 0).mean()) if len(users) else 0.0,
    }


class TreePSS:
    """Peak of the summed PSS of this process and its children (forked workers share pages: PSS counts them once)."""

    def __init__(self, every: float = 2.0):
        import psutil

        self.peak_mb, self._stop = 0.0, threading.Event()
        self._me = psutil.Process()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _sample(self) -> float:
        total = 0.0
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                total += proc.memory_full_info().pss / 2**20
            except Exception:   # a worker that just ended
                pass
        return total

    def _run(self, every):
        while True:
            self.peak_mb = max(self.peak_mb, self._sample())
            if self._stop.wait(every):
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def _cpu_with_children_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def save_fitted(model, folder: str, extra: dict) -> None:
    """The model (:func:`coursekit.batch.save_model`: sha256-checked, no pickle) and ``extra`` results (JSON)."""
    save_model(model, folder)
    (Path(folder) / "benchmark.json").write_text(json.dumps(extra, default=_json_default))


def load_fitted(folder: str, world):
    """:func:`save_fitted`'s model rebuilt on ``world`` and its results."""
    return load_model(folder, world), json.loads((Path(folder) / "benchmark.json").read_text())


def top_n_every_user(model, N: int = 30, *, chunk: int = 100_000, threads: int = 0):
    """Every user's top-N by CF alone, played tracks filtered: implicit's batched top-k, ``chunk`` users a call.

    implicit runs its batches in ``threads`` OpenMP threads (0: all cores), each with its own matrix
    product, so BLAS is held to one thread: with its default (every core in each product) the threads
    oversubscribe the cores (measured on 2 busy cores: about a fifth more CPU seconds, same top-N).
    """
    from implicit.cpu.topk import topk
    from threadpoolctl import threadpool_limits

    X = np.ascontiguousarray(model.cf_.user_factors_, dtype=np.float32)
    Y = np.ascontiguousarray(model.cf_.item_factors_, dtype=np.float32)
    if np.any(model.cf_.item_biases_) or np.any(model.cf_.user_biases_):
        raise ValueError("top_n_every_user needs a model without biases (engine='implicit')")
    played = model.train_.preference
    ids = np.empty((X.shape[0], N), dtype=np.int32)
    with threadpool_limits(1, "blas"):
        for start in range(0, X.shape[0], chunk):
            stop = min(start + chunk, X.shape[0])
            ids[start:stop], _ = topk(Y, X[start:stop], N, filter_query_items=played[start:stop],
                                      num_threads=threads)
    return ids


def compare_to_today(rows: dict) -> pd.DataFrame:
    """Each measured figure next to issue 18's figure for the code before it and the target."""
    table = []
    for key, value in rows.items():
        today, target, unit = TODAY[key]
        table.append({"figure": key, "today": today, "target": target if target is not None else "",
                      "new": value, "new / today": value / today,
                      "meets target": "" if target is None else ("yes" if value <= target else "NO"),
                      "unit": unit})
    return pd.DataFrame(table)


def _parse_users(value: str):
    return value if value == "default" else None if value == "all" else int(value)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def code_info() -> dict:
    """The commit and the hash of the mixtape module this run imported (the library is edited often)."""
    import hashlib
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = {"mixtape.py sha256": hashlib.sha256(Path(mixtape.__file__).read_bytes()).hexdigest()[:16]}
    try:
        out["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                       text=True, check=True).stdout.strip()
        out["coursekit edited since the commit"] = bool(subprocess.run(
            ["git", "status", "--porcelain", "coursekit"], cwd=root, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def machine_info() -> dict:
    from threadpoolctl import threadpool_info

    info = {"machine": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "blas": [{k: p.get(k) for k in ("internal_api", "num_threads", "version")} for p in threadpool_info()]}
    info["malloc environment"] = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    try:
        with open("/proc/meminfo") as fh:
            info["memory GB"] = round(int(fh.readline().split()[1]) / 2**20, 1)
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="large", help="world size (small/tiny for a dry run)")
    parser.add_argument("--world-path", default=None, help="folder of the world (default: the cache)")
    parser.add_argument("--users", type=_parse_users, default=50_000, help="mixtapes to write: a number or 'all'")
    parser.add_argument("--batch-size", type=int, default=16, help="users scored at a time by the candidate scoring")
    parser.add_argument("--trial-users", type=int, default=1024,
                        help="users for the full-vs-candidate scoring comparison (0 to skip)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes writing the mixtapes")
    parser.add_argument("--shard-size", type=int, default=10_000, help="users per mixtape shard")
    parser.add_argument("--mixtapes-dir", default=None,
                        help="folder of the mixtape shards (default: mixtapes-<size>-<users> in the data cache); "
                             "a rerun resumes there")
    parser.add_argument("--skip-top-n", action="store_true", help="leave out the top-30 for every listener")
    parser.add_argument("--blend-users", type=_parse_users, default="default",
                        help="DiscoverWeekly(blend_users=...): validation users whose pairs train the blend, a "
                             "number or 'all' (default: the library's)")
    parser.add_argument("--no-text", action="store_true", help="leave out the cultural vectors (use= without text)")
    parser.add_argument("--engine", default="implicit", choices=["implicit", "als"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-model", default=None, help="folder: save the fitted model's state (no pickle) here")
    parser.add_argument("--load-model", default=None, help="skip the fit: a folder from --save-model")
    parser.add_argument("--out", default=str(RESULTS), help="JSON results file ('' to skip)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    monitor = LoadMonitor()
    info = machine_info()
    code = code_info()
    print(f"machine: {info['machine']}, {info['cores']} cores, {info.get('memory GB', '?')} GB "
          f"(load average {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}), "
          f"Python {info['python']}; coursekit {code}", flush=True)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    use = tuple(s for s in SIGNALS if not (args.no_text and s == "text"))
    params = dict(engine=args.engine, audio_fn=None, use=use, random_state=args.seed)
    if args.blend_users != "default":
        params["blend_users"] = args.blend_users

    fit_rows: list = []
    with Step(fit_rows, f"load the {args.size} world", monitor):
        world = load_world(args.size, path=args.world_path)
    n_users, n_tracks = len(world.users), len(world.tracks)
    print(f"world: {args.size}, {n_users:,} users x {n_tracks:,} tracks, {len(world.listens):,} listen rows, "
          f"{len(world.documents):,} documents, {world.n_weeks} observed weeks; audio CNN off; "
          f"text {'off (--no-text)' if args.no_text else 'on'}", flush=True)
    figures: dict = {}
    with Step(fit_rows, "feedback matrices (sparse aggregation)", monitor) as st:
        fb = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    figures["feedback matrices s"] = st.row["seconds"]
    figures["feedback matrices peak MB"] = st.row["peak MB"]
    feedback_added = st.row["peak MB"] - st.row["MB before"]
    print(f"    {fb.strength.nnz:,} pairs; {feedback_added:,.0f} MB above the {st.row['MB before']:,.0f} MB held "
          f"before", flush=True)
    del fb
    gc.collect()

    blend_pairs: dict = {}
    if args.load_model:
        with Step(fit_rows, f"load the fitted model ({args.load_model})", monitor):
            model, saved = load_fitted(args.load_model, world)
        fit_table, blend_pairs, fit_peak = pd.DataFrame(saved["fit"]), saved["blend_pairs"], saved["fit peak MB"]
    else:
        stretches: list = []
        fit_start = time.perf_counter()
        with measured_pairs(blend_pairs):
            progress = FitStretches(stretches, monitor)
            model = DiscoverWeekly(**params).fit(world, progress=progress)
            progress.close()
        extrapolate_pairs(blend_pairs, len(model.blend_.features_))
        fit_seconds = time.perf_counter() - fit_start
        fit_peak = max(r["peak MB"] for r in stretches)
        fit_table = pd.DataFrame(stretches)
        fit_table.insert(1, "step s (timings_)", fit_table["step"].map(model.timings_))
        also = {**ALSO_IN_STRETCH, "(before the first step)": "validation feedback matrices (weeks 0..n-2)"} \
            if args.no_text else ALSO_IN_STRETCH
        fit_table.insert(2, "also in the stretch", fit_table["step"].map(also).fillna(""))
        fit_table = fit_table.rename(columns={"seconds": "stretch s"}).drop(columns=["MB before"])
        fit_table.loc[len(fit_table)] = {"step": "total (fit)", "stretch s": fit_seconds,
                                         "cpu s": fit_table["cpu s"].sum(), "peak MB": fit_peak,
                                         "also in the stretch": "", "load": monitor.summary(fit_start, time.perf_counter())}
        if args.save_model:
            with Step(fit_rows, f"save the fitted model ({args.save_model})", monitor):
                save_fitted(model, args.save_model, {"fit": fit_table.to_dict("records"),
                                                    "blend_pairs": blend_pairs, "fit peak MB": fit_peak})
    gc.collect()
    held = _rss_mb()
    figures["fit peak MB"] = float(fit_peak)
    figures["fit s"] = float(fit_table.loc[fit_table["step"] == "total (fit)", "stretch s"].iloc[0])
    load_table = pd.DataFrame(fit_rows).drop(columns=["MB before"])

    print(f"\n1. Load and training (engine={args.engine}, {model.factors} factors, {model.iterations} sweeps, "
          f"blend on {blend_pairs.get('users used', '?'):,} of {blend_pairs.get('users with held-out tracks', '?'):,} "
          f"validation users; fit peak {fit_peak:,.0f} MB; the process holds {held:,.0f} MB after it)\n")
    print(load_table.round(1).to_string(index=False))
    print()
    print(fit_table.round(1).to_string(index=False, na_rep=""))
    if blend_pairs:
        print("\nBlend training pairs (measured on the sample, extrapolated to every validation user):")
        for k, v in blend_pairs.items():
            print(f"  {k}: {v:,.1f}" if isinstance(v, float) else f"  {k}: {v:,}")

    # 2. top-30 for every listener (CF alone)
    top_rows: list = []
    if not args.skip_top_n:
        with Step(top_rows, f"top-30 for all {n_users:,} listeners (implicit top-k, all cores)", monitor):
            top = top_n_every_user(model, 30)
        top_rows[-1]["ms / user"] = 1000 * top_rows[-1]["seconds"] / n_users
        figures["top-30 for every listener s"] = top_rows[-1]["seconds"]
        print("\n2. Top-30 by CF for every listener, played tracks filtered\n")
        print(pd.DataFrame(top_rows).drop(columns=["MB before"]).round(2).to_string(index=False))
        del top

    # 3. full scoring against candidate scoring, same users, same run, one process, one BLAS thread
    rng = np.random.default_rng(args.seed)
    trial_rows: list = []
    same = None
    if args.trial_users:
        trial_users = np.sort(rng.choice(n_users, min(args.trial_users, n_users), replace=False))
        with blas(1):
            model.recommend(trial_users[:16], batch_size=16)                         # warm-up
            candidate_mixtapes(model, trial_users[:16], batch_size=args.batch_size)
            with Step(trial_rows, "DiscoverWeekly.recommend (every track scored)", monitor, quiet=True):
                full = model.recommend(trial_users, batch_size=16)
            with Step(trial_rows, "candidate_mixtapes (candidate columns only)", monitor, quiet=True):
                cand = candidate_mixtapes(model, trial_users, batch_size=args.batch_size)
        same = bool(np.array_equal(full, cand))
        trial = pd.DataFrame(trial_rows).drop(columns=["MB before"])
        trial["ms / user"] = 1000 * trial["seconds"] / len(trial_users)
        trial["speed-up"] = trial["seconds"].iloc[0] / trial["seconds"]
        figures["mixtapes ms per user (one core)"] = float(trial["ms / user"].iloc[1])
        print(f"\n3. Scoring {len(trial_users):,} random users on one core (1 BLAS thread), both in this run; "
              f"identical mixtapes: {same}\n")
        print(trial.round(2).to_string(index=False))

    # 4. mixtapes, resumable shards, --jobs processes
    users = np.arange(n_users) if args.users is None or args.users >= n_users else \
        np.sort(rng.choice(n_users, args.users, replace=False))
    label = "every listener" if len(users) == n_users else f"{len(users):,} random listeners"
    out_dir = Path(args.mixtapes_dir) if args.mixtapes_dir else \
        Path(os.environ.get("COURSEKIT_DATA", "/tmp")) / f"mixtapes-{args.size}-{len(users)}"
    print(f"\n... mixtapes for {label} into {out_dir}, {args.jobs} processes, shards of {args.shard_size:,}, "
          f"batches of {args.batch_size}", flush=True)
    rows: list = []
    def users_on_disk() -> int:
        try:
            return len(read_mixtapes(out_dir)["users"])
        except FileNotFoundError:
            return 0

    before = users_on_disk()
    tree = TreePSS()
    cpu0 = _cpu_with_children_s()
    interrupted = False
    with Step(rows, f"write_mixtapes for {label}", monitor) as st:
        try:
            write_mixtapes(model, users, out_dir, n_jobs=args.jobs, shard_size=args.shard_size,
                           batch_size=args.batch_size, progress=True)
        except KeyboardInterrupt:   # stopped (SIGINT): the finished shards stay; report what was measured
            interrupted = True
            print("\n    interrupted: the finished shards are kept; a rerun resumes", flush=True)
    r = st.row
    written = users_on_disk() - before
    r.update({"users": len(users), "jobs": args.jobs, "users written now": written, "users found done": before,
              "interrupted": interrupted,
              "cpu s (all processes)": _cpu_with_children_s() - cpu0, "tree PSS peak MB": tree.stop()})
    r["ms / user (wall)"] = 1000 * r["seconds"] / max(1, written)
    extrapolated = r["seconds"] / max(written, 1) * n_users
    complete = before + written == len(users)
    if len(users) == n_users and before == 0 and complete:
        what = "measured"
    elif len(users) == n_users:
        what = (f"EXTRAPOLATED from the {written:,} listeners written in this run"
                + (f" ({before:,} were done by an earlier run)" if before else "")
                + ("" if complete else f"; {before + written:,} of {n_users:,} are on disk"))
    else:
        what = f"EXTRAPOLATED from {label}"
    r[f"all {n_users:,} listeners s"] = extrapolated
    figures["mixtapes for every listener s"] = extrapolated
    mix_table = pd.DataFrame(rows)[["step", "users", "jobs", "users written now", "users found done", "seconds",
                                    "cpu s (all processes)", "ms / user (wall)", "peak MB", "tree PSS peak MB",
                                    f"all {n_users:,} listeners s", "load"]]
    print(f"\n4. Mixtapes ({model.n} songs each), {args.jobs} processes\n")
    print(mix_table.round(2).to_string(index=False))
    print(f"\nAll {n_users:,} listeners on this machine ({what}): {extrapolated:,.0f} s = {extrapolated / 60:.1f} min")

    # 5. rules
    got = read_mixtapes(out_dir)
    with Step([], "rules", monitor, quiet=True):
        rules = check_rules(model, got["users"], got["tracks"])
    print(f"\n5. Rules on the {len(got['users']):,} mixtapes\n")
    width = max(len(k) for k in rules)
    for k, v in rules.items():
        print(f"  {k:<{width}}  {v:,.2f}" if isinstance(v, float) else f"  {k:<{width}}  {v:,}")

    comparison = compare_to_today(figures)
    print("\nIssue 18's targets: today's figure (the code before), the new one, measured in this run\n")
    print(comparison.round(2).to_string(index=False))

    monitor.stop()
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}")
    if args.out:
        result = {
            "benchmark": "benchmarks/mixtape_large.py", "argv": sys.argv[1:] if argv is None else list(argv),
            "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": info, "code": code, "load average before": load_before, "load average after": load_after,
            "load samples (s since start, 1-min load)": [(round(t - monitor.samples[0][0]), v)
                                                         for t, v in monitor.samples],
            "world": {"size": args.size, "path": args.world_path, "users": n_users, "tracks": n_tracks,
                      "listens": len(world.listens), "documents": len(world.documents), "weeks": world.n_weeks},
            "feedback MB added above the world": feedback_added,
            "model": {"engine": args.engine, "factors": model.factors, "iterations": model.iterations,
                      "use": list(model.use), "audio": "off (audio_fn=None: the chapter-04 CNN over "
                      f"{n_tracks:,} tracks is out of budget)", "n": model.n,
                      "max_per_artist": model.max_per_artist, "new_share": model.new_share, "pool": model.pool,
                      "blend_users": getattr(model, "blend_users", "not a parameter of this coursekit"),
                      "BLAS threads while writing mixtapes": 1},
            "load": load_table.to_dict("records"), "fit": fit_table.to_dict("records"),
            "fit peak MB": fit_peak, "MB held after fit": held, "blend_pairs": blend_pairs,
            "top-30": top_rows, "scoring trial": trial_rows, "identical mixtapes (full vs candidate)": same,
            "mixtapes": {**mix_table.iloc[0].to_dict(), "all listeners seconds is": what,
                         "folder": str(out_dir), "shard size": args.shard_size, "batch size": args.batch_size},
            "targets": comparison.to_dict("records"),
            "rules": rules,
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, default=_json_default) + "\n")
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
