"""Seconds per ALS sweep: from-scratch NumPy vs implicit, both on one thread.

Usage::

    python benchmarks/als.py                       # synthetic 2,000 x 5,000 (~250k nnz) and the small world
    python benchmarks/als.py --data synthetic --users 20000 --items 50000 --nnz 10000000
    python benchmarks/als.py --repeats 3 --iterations 5
    python benchmarks/als.py --data large [--world-path /tmp/ckdata/large]   # the 1M-user world (minutes)
    python benchmarks/als.py --data targets        # issue 18's CG targets: small world and 10M non-zeros (~5 min)

A sweep is one user step plus one item step. Every model runs with BLAS limited
to one thread (threadpoolctl) and implicit with ``num_threads=1``; the models
are fitted in turn, ``--repeats`` times, and the table gives the median and the
fastest sweep over all of them (the machine may be shared). Our sweep time
leaves out the loss evaluation. "peak MB" is the largest traced allocation
during a 2-sweep fit (tracemalloc: NumPy buffers, including implicit's factors,
not implicit's C++ scratch space).

``--data targets`` checks the conjugate-gradient solver against issue 18's
targets in one run: ``ALS(solver="cg", dtype=float32)`` at most 1.5x
implicit's CG per sweep at 64 factors on one thread, on the small world and on
a synthetic matrix of ``--target-nnz`` (10M) non-zeros, with the same quality
as the exact solve within 0.005 NDCG@30 (small world, next-week split). It
prints, per model, seconds per sweep (wall, median over all sweeps of all
fits), CPU seconds per sweep (the figure to compare on a busy machine), the
ratio of both to implicit CG measured in the same run, the peak resident
memory the fit added (``VmHWM`` reset before the fit, minus the resident set
before it: everything, implicit's C++ memory included), the final objective
and, on the small world, NDCG@30. The exact solve's ratio is the figure
before the CG solver.

``--data large`` runs the scaling check on the ``large`` world (1M users x
100k tracks, ~17M user-track pairs; generated on first use, ~3 min): implicit
fits all of it for ``--large-iterations`` sweeps, top-30 recommendations are
computed for every user in batches with a progress bar
(:func:`coursekit.evaluation.recommend_all`), and the from-scratch ALS and
implicit are timed per sweep on a random subset of users with at least
``--subset-nnz`` non-zeros. There "peak MB" is the process's peak resident set
during each step (Linux ``VmHWM``, reset before the step: everything, including
implicit's C++ memory), and the subset fits run ``--subset-iterations`` sweeps
once each (the loss after each sweep is not counted in the sweep time).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from coursekit.als import ALS, ImplicitALS


def synthetic(n_users: int, n_items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Stream counts with long-tailed item popularity and about ``nnz`` non-zeros."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.0, n_items) + 1.0
    popularity /= popularity.sum()
    R = sp.csr_matrix((n_users, n_items))
    while R.nnz < 0.99 * nnz:  # repeated pairs merge, so draw until there are enough
        draws = int(1.2 * (nnz - R.nnz)) + 1
        users = rng.integers(0, n_users, draws)
        items = rng.choice(n_items, draws, p=popularity)
        R = R + sp.csr_matrix((rng.poisson(3.0, draws) + 1.0, (users, items)), shape=(n_users, n_items))
    return sp.csr_matrix(R)


def world_matrix(size: str = "small") -> sp.csr_matrix:
    """The world's r_ui (chapter 01's feedback, log-scaled) as users x tracks CSR."""
    from coursekit.datasets import load_world
    from coursekit.feedback import build_feedback

    world = load_world(size)
    feedback = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    return feedback.scaled


MODELS = {
    "from scratch, biases": lambda it: ALS(factors=64, iterations=it, use_biases=True, random_state=0),
    "from scratch, no biases": lambda it: ALS(factors=64, iterations=it, use_biases=False, random_state=0),
    "from scratch, biases, float32": lambda it: ALS(
        factors=64, iterations=it, use_biases=True, random_state=0, dtype=np.float32
    ),
    "from scratch, biases, CG, float32": lambda it: ALS(
        factors=64, iterations=it, use_biases=True, random_state=0, solver="cg", dtype=np.float32
    ),
    "implicit, CG (default)": lambda it: ImplicitALS(factors=64, iterations=it, use_cg=True, random_state=0),
    "implicit, Cholesky": lambda it: ImplicitALS(factors=64, iterations=it, use_cg=False, random_state=0),
}


def peak_megabytes(make, R) -> float:
    tracemalloc.start()
    make(2).fit(R)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def benchmark(name: str, R: sp.csr_matrix, *, iterations: int, repeats: int) -> pd.DataFrame:
    sweeps = {model: [] for model in MODELS}
    with threadpool_limits(1, "blas"):
        for _ in range(repeats):
            for model, make in MODELS.items():
                sweeps[model] += make(iterations).fit(R).sweep_seconds_
        peaks = {model: peak_megabytes(make, R) for model, make in MODELS.items()}
    baseline = np.median(sweeps["implicit, CG (default)"])
    rows = [
        {
            "data": name,
            "users x items": f"{R.shape[0]:,} x {R.shape[1]:,}",
            "nnz": f"{R.nnz:,}",
            "model": model,
            "s/sweep (median)": np.median(times),
            "s/sweep (best)": np.min(times),
            "x implicit CG": np.median(times) / baseline,
            "peak MB": peaks[model],
        }
        for model, times in sweeps.items()
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------- the CG targets


TARGET_MODELS = {
    "from scratch, exact": lambda it: ALS(factors=64, iterations=it, random_state=0),
    "from scratch, CG, float32": lambda it: ALS(factors=64, iterations=it, random_state=0, solver="cg",
                                                 dtype=np.float32),
    "implicit, CG (default)": lambda it: ImplicitALS(factors=64, iterations=it, use_cg=True, random_state=0),
}


def _fit_measured(make, R, iterations: int) -> tuple:
    """Fit once; return the model and the resident memory the fit added at its peak, MB."""
    before = _status_mb("VmRSS") or 0.0
    _peak_reset()
    model = make(iterations).fit(R)
    return model, _peak_mb() - before


def targets(args) -> None:
    """Issue 18's CG targets on the small world and a synthetic 10M-non-zero matrix; prints one table."""
    from coursekit.datasets import load_truth, load_world
    from coursekit.evaluation import next_week_split

    world = load_world("small")
    split = next_week_split(world, load_truth("small"))
    cases = [("small world", split.train.scaled, args.target_small_iterations, args.repeats, split)]
    big = synthetic(args.target_users, args.target_items, args.target_nnz)
    cases.append(("synthetic", big, args.target_iterations, args.target_repeats, None))
    rows = []
    start = time.perf_counter()
    with threadpool_limits(1, "blas"):
        for name, R, iterations, repeats, judge in cases:
            print(f"... {name}: {R.shape[0]:,} x {R.shape[1]:,}, {R.nnz:,} non-zeros", flush=True)
            wall = {model: [] for model in TARGET_MODELS}
            cpu = {model: [] for model in TARGET_MODELS}
            peak, loss, ndcg = {}, {}, {}
            for repeat in range(repeats):
                for model, make in TARGET_MODELS.items():
                    if repeat and model == "from scratch, exact" and judge is None:
                        continue  # the reference is slow at 10M non-zeros: one fit is enough
                    fitted, added = _fit_measured(make, R, iterations)
                    wall[model] += fitted.sweep_seconds_
                    cpu[model] += fitted.sweep_cpu_seconds_
                    peak[model] = max(peak.get(model, 0.0), added)
                    if repeat == 0:
                        loss[model] = fitted.loss_history_[-1] if fitted.loss_history_ else np.nan
                        if judge is not None:
                            ndcg[model] = judge.evaluate(judge.recommend(fitted, 30), 30)["ndcg@30"]
                    del fitted
            base_wall, base_cpu = np.median(wall["implicit, CG (default)"]), np.median(cpu["implicit, CG (default)"])
            for model in TARGET_MODELS:
                rows.append({
                    "data": name, "nnz": f"{R.nnz:,}", "model": model,
                    "s/sweep": np.median(wall[model]), "CPU s/sweep": np.median(cpu[model]),
                    "x implicit (wall)": np.median(wall[model]) / base_wall,
                    "x implicit (CPU)": np.median(cpu[model]) / base_cpu,
                    "peak MB": peak[model], "objective": loss[model],
                    "ndcg@30": ndcg.get(model, np.nan),
                    "sweeps x fits": f"{iterations} x {len(wall[model]) // iterations}",
                })
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(f"ALS at 64 factors, 1 BLAS thread, implicit num_threads=1 (target: CG <= 1.5x implicit CG, "
              f"|NDCG@30 CG - exact| <= 0.005; the objective of implicit is without biases)")
        print(table.to_string(index=False, na_rep=""))
    small = table[table["data"] == "small world"].set_index("model")["ndcg@30"]
    gap = abs(small["from scratch, CG, float32"] - small["from scratch, exact"])
    cg = table[table["model"] == "from scratch, CG, float32"].set_index("data")
    ex = table[table["model"] == "from scratch, exact"].set_index("data")
    for data in cg.index:
        print(f"{data}: CG {cg.loc[data, 'x implicit (wall)']:.2f}x implicit wall, "
              f"{cg.loc[data, 'x implicit (CPU)']:.2f}x CPU (exact solve: {ex.loc[data, 'x implicit (wall)']:.2f}x, "
              f"{ex.loc[data, 'x implicit (CPU)']:.2f}x)")
    print(f"small world: NDCG@30 CG - exact = {small['from scratch, CG, float32'] - small['from scratch, exact']:+.4f} "
          f"({'within' if gap <= 0.005 else 'OUTSIDE'} 0.005)")
    print(f"({time.perf_counter() - start:.0f} s)")


# ------------------------------------------------------------------- the large world


from _memory import _peak_mb, _peak_reset, _status_mb  # noqa: E402  (shared with the other benchmarks)


class _Step:
    """Time a step and record its peak RSS."""

    def __init__(self, log: list, name: str, **extra):
        self.log, self.name, self.extra = log, name, extra

    def __enter__(self):
        self.exact = _peak_reset()
        self.start = time.perf_counter()
        print(f"... {self.name}", flush=True)
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.start
        row = {"step": self.name, "seconds": seconds,
               "peak MB": _peak_mb() if self.exact else float("nan"), **self.extra}
        self.log.append(row)
        print(f"    {seconds:.1f} s, peak {row['peak MB']:.0f} MB", flush=True)
        return False


def user_subset(R: sp.csr_matrix, min_nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Rows of ``R`` for a random set of users holding at least ``min_nnz`` non-zeros (all columns kept)."""
    order = np.random.default_rng(seed).permutation(R.shape[0])
    cumulative = np.cumsum(np.diff(R.indptr)[order])
    if cumulative[-1] < min_nnz:
        raise ValueError(f"the matrix has only {cumulative[-1]:,} non-zeros, fewer than {min_nnz:,}")
    n = int(np.searchsorted(cumulative, min_nnz)) + 1
    return R[np.sort(order[:n])]


LARGE_SUBSET_MODELS = {
    "from scratch, biases": lambda it: ALS(factors=64, iterations=it, use_biases=True, random_state=0),
    "from scratch, biases, float32": lambda it: ALS(
        factors=64, iterations=it, use_biases=True, random_state=0, dtype=np.float32
    ),
    "implicit, CG (default)": lambda it: ImplicitALS(factors=64, iterations=it, use_cg=True, random_state=0),
}


def large_world(args) -> None:
    """The scaling check on the large world; prints two tables."""
    from coursekit.datasets import load_world
    from coursekit.feedback import build_feedback
    from coursekit.evaluation import recommend_all

    steps, sweeps = [], []
    start = time.perf_counter()
    with _Step(steps, f"load the {args.world_size} world"):
        world = load_world(args.world_size, path=args.world_path)
    with _Step(steps, "feedback matrices (chapter 01)"):
        feedback = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    n_listens = len(world.listens)
    del world
    R = feedback.scaled
    played = feedback.preference
    del feedback
    shape = f"{R.shape[0]:,} x {R.shape[1]:,}"
    print(f"{args.world_size} world: {n_listens:,} listen rows -> {shape} users x tracks, {R.nnz:,} non-zeros", flush=True)

    with _Step(steps, f"implicit fit, {args.large_iterations} sweeps (CG, 1 thread, 1 BLAS thread)"):
        model = ImplicitALS(factors=64, iterations=args.large_iterations, use_cg=True, random_state=0).fit(R)
    steps[-1]["s/sweep (median)"] = float(np.median(model.sweep_seconds_))
    with _Step(steps, f"top-{args.n} for all {R.shape[0]:,} users (batches of {args.batch_size})"):
        with threadpool_limits(args.recommend_threads, "blas"):
            top = recommend_all(model, played, args.n, batch_size=args.batch_size, progress=True)
    assert top.shape == (R.shape[0], args.n)
    steps[-1]["users/s"] = R.shape[0] / steps[-1]["seconds"]
    steps[-1]["lists with -1"] = int((top < 0).any(axis=1).sum())
    del model, top

    sub = user_subset(R, args.subset_nnz)
    del R, played
    sub_shape = f"{sub.shape[0]:,} x {sub.shape[1]:,}"
    print(f"subset: {sub_shape}, {sub.nnz:,} non-zeros", flush=True)
    with threadpool_limits(1, "blas"):
        for name, make in LARGE_SUBSET_MODELS.items():
            with _Step(steps, f"subset fit: {name}, {args.subset_iterations} sweeps"):
                model = make(args.subset_iterations).fit(sub)
            sweeps.append({"data": f"{args.world_size}-world subset", "users x items": sub_shape, "nnz": f"{sub.nnz:,}",
                           "model": name, "s/sweep (median)": float(np.median(model.sweep_seconds_)),
                           "s/sweep (best)": float(np.min(model.sweep_seconds_)),
                           "peak MB": steps[-1]["peak MB"]})
            del model
    table = pd.DataFrame(sweeps)
    table["x implicit CG"] = table["s/sweep (median)"] / table.loc[
        table["model"] == "implicit, CG (default)", "s/sweep (median)"].iloc[0]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.2f}".format):
        print()
        print(f"{args.world_size.capitalize()} world ({shape}, {n_listens:,} listen rows), 64 factors; "
              f"implicit num_threads=1 and 1 BLAS thread; recommendations with {args.recommend_threads} BLAS thread(s)")
        step_table = pd.DataFrame(steps)
        if "lists with -1" in step_table:
            step_table["lists with -1"] = step_table["lists with -1"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
        print(step_table.to_string(index=False, na_rep=""))
        print()
        print(f"Seconds per sweep at 64 factors on a random user subset, 1 BLAS thread, "
              f"{args.subset_iterations} sweeps per model")
        print(table.to_string(index=False))
    print(f"({time.perf_counter() - start:.0f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["synthetic", "small", "both", "large", "targets"], default="both")
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--nnz", type=int, default=250_000)
    parser.add_argument("--iterations", type=int, default=5, help="sweeps per fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits per model")
    target = parser.add_argument_group("--data targets (the small world uses --repeats)")
    target.add_argument("--target-small-iterations", type=int, default=10,
                        help="sweeps per fit on the small world (as DiscoverWeekly and notebook 02)")
    target.add_argument("--target-users", type=int, default=20_000)
    target.add_argument("--target-items", type=int, default=50_000)
    target.add_argument("--target-nnz", type=int, default=10_000_000)
    target.add_argument("--target-iterations", type=int, default=3, help="sweeps per fit at 10M non-zeros")
    target.add_argument("--target-repeats", type=int, default=2, help="fits per model at 10M (exact: 1)")
    large = parser.add_argument_group("--data large")
    large.add_argument("--world-path", default=None, help="folder of the large world (default: the cache)")
    large.add_argument("--world-size", default="large", help="another world size, for a quick dry run")
    large.add_argument("--large-iterations", type=int, default=10, help="implicit sweeps on the full world")
    large.add_argument("--n", type=int, default=30, help="recommendations per user")
    large.add_argument("--batch-size", type=int, default=512, help="users per scoring batch")
    large.add_argument("--recommend-threads", type=int, default=1, help="BLAS threads while recommending")
    large.add_argument("--subset-nnz", type=int, default=10_000_000, help="non-zeros of the timing subset")
    large.add_argument("--subset-iterations", type=int, default=3, help="sweeps per subset fit")
    args = parser.parse_args(argv)
    if args.data == "large":
        large_world(args)
        return
    if args.data == "targets":
        targets(args)
        return

    datasets = []
    if args.data in ("synthetic", "both"):
        datasets.append(("synthetic", synthetic(args.users, args.items, args.nnz)))
    if args.data in ("small", "both"):
        datasets.append(("small world", world_matrix("small")))
    start = time.perf_counter()
    table = pd.concat([benchmark(name, R, iterations=args.iterations, repeats=args.repeats) for name, R in datasets])
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(f"ALS at 64 factors, 1 BLAS thread, implicit num_threads=1; {args.repeats} fits x {args.iterations} sweeps each")
        print(table.to_string(index=False))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
