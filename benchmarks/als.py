"""Seconds per ALS sweep: from-scratch NumPy vs implicit, both on one thread.

Usage::

    python benchmarks/als.py                       # synthetic 2,000 x 5,000 (~250k nnz) and the small world
    python benchmarks/als.py --data synthetic --users 20000 --items 50000 --nnz 10000000
    python benchmarks/als.py --repeats 3 --iterations 5

A sweep is one user step plus one item step. Every model runs with BLAS limited
to one thread (threadpoolctl) and implicit with ``num_threads=1``; the models
are fitted in turn, ``--repeats`` times, and the table gives the median and the
fastest sweep over all of them (the machine may be shared). Our sweep time
leaves out the loss evaluation. "peak MB" is the largest traced allocation
during a 2-sweep fit (tracemalloc: NumPy buffers, including implicit's factors,
not implicit's C++ scratch space).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coursekit.als import ALS, ImplicitALS  # noqa: E402


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["synthetic", "small", "both"], default="both")
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--nnz", type=int, default=250_000)
    parser.add_argument("--iterations", type=int, default=5, help="sweeps per fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits per model")
    args = parser.parse_args(argv)

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
