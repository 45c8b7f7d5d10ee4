"""Discover Weekly on the ``large`` world: training, then mixtapes in chunks, with time and memory.

Issue 6, item 3 ("batch generation") for the 1,000,000-user × 100,000-track
world. Prints four tables and saves them, with the machine and its load, to
``benchmarks/results/mixtape_large.json``:

1. **load and training** — loading the world, then ``DiscoverWeekly.fit``
   (``engine="implicit"``, no audio CNN) cut at each of its steps: the step's
   own seconds (``model.timings_``), and the wall time, CPU time and peak memory
   of the whole stretch until the next step starts (which also holds the
   untimed work: building the feedback matrices, the profiles);
2. **batch size** — ``recommend()`` for ``--trial-users`` users at each of
   ``--batch-sizes``: ms per user, the peak of NumPy's buffers while writing two
   batches (tracemalloc: what a batch really needs) and the peak resident set
   above what the process held before (0 when the batch fits in memory the
   process already holds); the fastest batch size whose buffers stay under
   ``--max-batch-mb`` is used next;
3. **mixtapes** — ``recommend(users, batch_size=..., progress=True)`` (tqdm
   bar on stderr) for ``--users`` randomly drawn users (or ``all``): ms per
   user, users/s, peak memory, and the time for all users *extrapolated* from
   the sample (the per-user cost does not depend on which users: every user is
   scored against every track);
4. **rules** — on the mixtapes just written: 30 distinct, unheard, released
   songs, at most 2 per artist, and the reserved new release present whenever
   the user has an unheard one.

What is left out, and why:

* the audio CNN of chapter 04 (``audio_fn=None``: the audio signal is 0, the
  "sound" closeness still speaks): computing its inputs and training it over
  100,000 tracks is far outside the time budget of this benchmark;
* the blend learns from the library's sample of validation users
  (``DiscoverWeekly(blend_users=...)``, ``--blend-users``), not from all of
  the large world's ~730,000. The script wraps
  ``training_pairs`` (from :mod:`coursekit.blend`) in ``coursekit.mixtape`` while fitting, only to measure it, and
  reports the cost of the sample and the cost extrapolated to every user
  (``--blend-users all`` would need ~2 h, ~12 GB for the pairs and ~17 GB
  more for the blend's design matrix: see the JSON's ``blend_pairs``).

Mixtapes are written with ``--blas-threads`` (1) BLAS thread: the scoring is
NumPy elementwise work on one core, and a second OpenBLAS thread only spins
(same wall time, twice the CPU time).

Peak memory is the process's resident-set high-water mark (Linux ``VmHWM``),
reset before each step. The machine may be shared: the load average is sampled
every 10 s and summarised per step (our own process counts about 1).

    python benchmarks/mixtape_large.py --world-path /tmp/ckdata/large                  # 50,000 users
    python benchmarks/mixtape_large.py --world-path /tmp/ckdata/large --users all      # every user (hours)
    python benchmarks/mixtape_large.py --world-path /tmp/ckdata/large --users 2000 --trial-users 256 --out /tmp/try.json
    python benchmarks/mixtape_large.py --size small --users 2000                         # a quick dry run
    python benchmarks/mixtape_large.py ... --save-model /tmp/dw.pkl   # then --load-model /tmp/dw.pkl skips the fit

(After ``--load-model`` the ms per user can differ by tens of percent from a
run that fitted: the allocator's state differs, and with it how many fresh,
page-faulted buffers each batch gets. The saved results come from a full run.)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pickle
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
from coursekit.datasets import load_world
from coursekit.mixtape import DiscoverWeekly
from coursekit.signals import SIGNALS

from _memory import _peak_mb, _peak_reset, _status_mb  # noqa: E402  (shared with the other benchmarks)

RESULTS = Path(__file__).resolve().parent / "results" / "mixtape_large.json"
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


def traced_batch_mb(model, users: np.ndarray, batch_size: int, threads: int | None) -> float:
    """Peak of NumPy's buffers (tracemalloc) while ``recommend`` writes ``users`` in batches, MB."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        with blas(threads):
            model.recommend(users, batch_size=batch_size)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


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
    parser.add_argument("--batch-size", type=int, default=None, help="users per batch (default: the trial's pick)")
    parser.add_argument("--batch-sizes", default="8,16,32,64,128", help="batch sizes to try")
    parser.add_argument("--trial-users", type=int, default=2048, help="users per batch-size trial")
    parser.add_argument("--max-batch-mb", type=float, default=4000, help="NumPy buffers a batch may need, MB")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads while writing mixtapes (0: as NumPy starts them); NumPy's elementwise "
                             "work is single-threaded and more BLAS threads only spin")
    parser.add_argument("--blend-users", type=_parse_users, default="default",
                        help="DiscoverWeekly(blend_users=...): validation users whose pairs train the blend, a "
                             "number or 'all' (default: the library's)")
    parser.add_argument("--no-text", action="store_true", help="leave out the cultural vectors (use= without text)")
    parser.add_argument("--engine", default="implicit", choices=["implicit", "als"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-model", default=None, help="pickle the fitted model (and its timings) here")
    parser.add_argument("--load-model", default=None, help="skip the fit: a pickle from --save-model")
    parser.add_argument("--out", default=str(RESULTS), help="JSON results file ('' to skip)")
    args = parser.parse_args(argv)
    args.blas_threads = args.blas_threads or None

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

    blend_pairs: dict = {}
    if args.load_model:
        with Step(fit_rows, f"load the fitted model ({args.load_model})", monitor):
            with open(args.load_model, "rb") as fh:
                saved = pickle.load(fh)
        model, fit_table, blend_pairs, fit_peak = saved["model"], saved["fit"], saved["blend_pairs"], saved["fit peak MB"]
        model.world_ = world
        fit_table = pd.DataFrame(fit_table)
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
                with open(args.save_model, "wb") as fh:
                    pickle.dump({"model": model, "fit": fit_table.to_dict("records"), "blend_pairs": blend_pairs,
                                 "fit peak MB": fit_peak}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    gc.collect()
    held = _rss_mb()
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

    # 2. batch size
    blas_label = "BLAS threads as NumPy starts them" if args.blas_threads is None else \
        f"{args.blas_threads} BLAS thread(s)"
    rng = np.random.default_rng(args.seed)
    with blas(args.blas_threads):
        model.recommend(np.arange(8), batch_size=8)  # warm-up: imports, first-touch allocations
    trial_users = np.sort(rng.choice(n_users, min(args.trial_users, n_users), replace=False))
    sizes = [int(s) for s in args.batch_sizes.split(",") if s]
    if args.batch_size is not None and args.batch_size not in sizes:
        sizes.append(args.batch_size)
    trial_rows: list = []
    for size in sizes:
        with Step(trial_rows, f"batch {size}", monitor, quiet=True, **{"batch size": size}) as st:
            with blas(args.blas_threads):
                model.recommend(trial_users, batch_size=size)
        r = st.row
        r["ms / user"] = 1000 * r["seconds"] / len(trial_users)
        r["MB added"] = r["peak MB"] - r["MB before"]
        r["batch MB (traced)"] = traced_batch_mb(model, trial_users[:2 * size], size, args.blas_threads)
        print(f"... batch {size}: {r['ms / user']:.2f} ms/user, +{r['MB added']:,.0f} MB RSS, "
              f"{r['batch MB (traced)']:,.0f} MB traced", flush=True)
    trial = pd.DataFrame(trial_rows)
    fits = trial[trial["batch MB (traced)"] <= args.max_batch_mb]
    chosen = args.batch_size if args.batch_size is not None else \
        int((fits if len(fits) else trial).sort_values("ms / user")["batch size"].iloc[0])
    trial["chosen"] = np.where(trial["batch size"] == chosen, "<-", "")
    trial_table = trial[["batch size", "seconds", "cpu s", "ms / user", "batch MB (traced)", "peak MB", "MB added",
                         "load", "chosen"]]
    print(f"\n2. Batch size: recommend() for {len(trial_users):,} random users, {blas_label}. batch MB (traced): "
          f"peak of NumPy's buffers while writing 2 batches (tracemalloc); MB added: peak RSS above the "
          f"{trial['MB before'].iloc[0]:,.0f} MB held before (0 when the batch fits in memory the process already "
          f"holds)\n")
    print(trial_table.round(2).to_string(index=False))

    # 3. mixtapes
    users = np.arange(n_users) if args.users is None or args.users >= n_users else \
        np.sort(rng.choice(n_users, args.users, replace=False))
    label = "every user" if len(users) == n_users else f"{len(users):,} random users"
    print(f"\n... mixtapes for {label}, batches of {chosen}", flush=True)
    rows: list = []
    with Step(rows, f"recommend() for {label}", monitor) as st:
        with blas(args.blas_threads):
            picks = model.recommend(users, batch_size=chosen, progress=True)
    r = st.row
    r.update({"users": len(users), "batch size": chosen, "ms / user": 1000 * r["seconds"] / len(users),
              "batch MB (traced)": float(trial.loc[trial["batch size"] == chosen, "batch MB (traced)"].iloc[0]),
              "users / s": len(users) / r["seconds"], "MB added": r["peak MB"] - r["MB before"]})
    extrapolated = r["seconds"] * n_users / len(users)
    r[f"all {n_users:,} users s"] = extrapolated
    mix_table = pd.DataFrame(rows)[["step", "users", "batch size", "seconds", "cpu s", "ms / user", "users / s",
                                    "batch MB (traced)", "peak MB", "MB added", f"all {n_users:,} users s", "load"]]
    what = "measured" if len(users) == n_users else f"EXTRAPOLATED from the {len(users):,}-user sample"
    print(f"\n3. Mixtapes ({model.n} songs each, in batches of {chosen} with a progress bar, {blas_label})\n")
    print(mix_table.round(2).to_string(index=False))
    print(f"\nAll {n_users:,} users on this machine ({what}): {extrapolated:,.0f} s = {extrapolated / 3600:.2f} h")

    # 4. rules
    with Step([], "rules", monitor, quiet=True):
        rules = check_rules(model, users, picks)
    print(f"\n4. Rules on the {len(users):,} mixtapes\n")
    width = max(len(k) for k in rules)
    for k, v in rules.items():
        print(f"  {k:<{width}}  {v:,.2f}" if isinstance(v, float) else f"  {k:<{width}}  {v:,}")

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
            "model": {"engine": args.engine, "factors": model.factors, "iterations": model.iterations,
                      "use": list(model.use), "audio": "off (audio_fn=None: the chapter-04 CNN over "
                      f"{n_tracks:,} tracks is out of budget)", "n": model.n,
                      "max_per_artist": model.max_per_artist, "new_share": model.new_share, "pool": model.pool,
                      "blend_users": getattr(model, "blend_users", "not a parameter of this coursekit"),
                      "BLAS threads while writing mixtapes": args.blas_threads or "default"},
            "load": load_table.to_dict("records"), "fit": fit_table.to_dict("records"),
            "fit peak MB": fit_peak, "MB held after fit": held, "blend_pairs": blend_pairs,
            "batch size trial": {"users": len(trial_users), "rows": trial_table.to_dict("records"),
                                 "chosen": chosen, "max MB added": args.max_batch_mb},
            "mixtapes": {**mix_table.iloc[0].to_dict(),
                         "all users seconds is": what},
            "rules": rules,
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, default=_json_default) + "\n")
        print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
