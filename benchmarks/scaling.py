"""How the cost of ALS grows: implicit and Spark local mode on 10⁵–10⁷ non-zeros, and Annoy on the large world.

Usage::

    python benchmarks/scaling.py                                  # the full run (about 9 min on 2 quiet cores)
    python benchmarks/scaling.py --world-path /tmp/ckdata/large   # a large world already on disk
    python benchmarks/scaling.py --sizes 1e5 1e6 --skip-annoy     # a quick look
    python benchmarks/scaling.py --only-mixtapes --mixtape-model /tmp/dw-large   # the mixtape batch alone

The first run also builds the large world's feedback (about 2 min, 8.5 GB peak)
and caches it, with the samples, in ``--cache`` (default: the data cache).

Data: the ``large`` world (1M users x 100k tracks; generated on first use, ~3 min)
turned into chapter 01's feedback (``Feedback.scaled``, α = 5) and subsampled **by
users**: users are taken in a random order until the target number of non-zeros
is reached, with all their plays, and tracks nobody in the sample played are left
out. Each (engine, size) runs in a fresh process; its peak memory is the largest
proportional set size (PSS: shared pages counted once) of that process tree
(Python and, for Spark, the JVM) sampled every 0.2 s, including the interactions
themselves. Each time is given as wall-clock
seconds and as CPU seconds (user + system, all threads): on a shared machine the
wall clock depends on the other jobs, the CPU seconds much less.

* ``implicit`` — :class:`coursekit.als.ImplicitALS`, ``num_threads=1`` and one
  BLAS thread (threadpoolctl): exact Cholesky solves (the cost model's
  algorithm) at f = 32 and f = 64 (up to ``--max-nnz-f64``), and the
  conjugate-gradient solver (implicit's default) at f = 64; 3 sweeps each.
  Wall-clock seconds per sweep: the median of implicit's per-sweep times; CPU
  seconds per sweep: the median over sweeps 2 and 3 (the first also pays set-up).
* ``spark`` — :class:`coursekit.scale.SparkALS` in local mode on all cores, from
  Parquet files, f = 32, up to ``--max-nnz-spark`` (lower both limits on a
  slow or busy machine). After a warm-up fit of
  one sweep on the same data (JIT compilation, file cache), fits of 1 and 3
  sweeps; seconds per sweep = (T₃ − T₁) / 2, and T₁ minus one sweep is the fixed
  cost of a fit (job start, reading and blocking the data).

Annoy: implicit (f = 64, CG, 8 sweeps, 2 threads) on the whole large world, then an Annoy index
over the vectors of the tracks that have listens, for a few ``n_trees`` and
``search_k``: build seconds, index file size, milliseconds per query and recall@10
against exact cosine search, for 1,000 random tracks.

Mixtapes (issue 18): the fitted ``DiscoverWeekly`` of the large world (``--mixtape-model``, a folder
written by ``benchmarks/mixtape_large.py --save-model``) writes the mixtapes of ``--mixtape-users``
random listeners twice, each in a fresh process, timed in the same run: on one machine with
:func:`coursekit.batch.write_mixtapes` (2 processes), and on Spark in local mode with
:func:`coursekit.scale.spark_mixtapes` — the same scoring as a ``mapInPandas`` over listener partitions,
each Python worker loading the world and the model once. Both report the fixed cost (loading the world
and model; for Spark also starting the JVM), the scoring time, CPU seconds and peak memory (PSS of the
process tree), and whether the mixtapes are identical. ``--only-mixtapes`` runs just this part and
updates the ``mixtapes`` entry of the saved results.

Writes ``coursekit/data/scaling.json`` (every number, the machine, the load; it
ships with the package, so chapter 06 reads it on Colab too) and
``benchmarks/results/scaling.png`` (log-log: seconds per sweep against non-zeros) and prints the
tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAVED = ROOT / "coursekit" / "data" / "scaling.json"  # package data: coursekit.notebook.saved_results("scaling")
ALPHA, LAMBDA = 5.0, 10.0  # chapter 01's α; chapter 02's λ (Spark gets the matching regParam)


# ------------------------------------------------------------------ the machine


def machine() -> dict:
    """What the numbers were measured on."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("numpy", "scipy", "implicit", "annoy", "pyspark"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": java[0] if java else "not found",
        "versions": versions,
    }


def describe(m: dict) -> str:
    return f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']:.0f} GB RAM"


# ------------------------------------------------------------------------ data


def large_feedback(world_path: str | None, cache: Path) -> sp.csr_matrix:
    """The large world's r_ui after the log transform (users x tracks), cached as .npz."""
    path = cache / "large_scaled.npz"
    if path.exists():
        return sp.load_npz(path).tocsr()
    from coursekit.datasets import load_world
    from coursekit.feedback import build_feedback

    world = load_world("large", path=world_path)
    feedback = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"],
                              alpha=ALPHA)
    cache.mkdir(parents=True, exist_ok=True)
    sp.save_npz(path, feedback.scaled)
    return feedback.scaled


def subsample_users(R: sp.csr_matrix, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Whole users in random order until ``nnz`` plays; unplayed tracks dropped."""
    counts = np.diff(R.indptr)
    order = np.random.default_rng(seed).permutation(np.flatnonzero(counts))
    take = int(np.searchsorted(np.cumsum(counts[order]), nnz)) + 1
    S = R[np.sort(order[:take])]
    return S[:, np.flatnonzero(S.getnnz(axis=0))].tocsr()


# --------------------------------------------------------------- the workers


def worker_implicit(path: str, factors: int, use_cg: bool, iterations: int) -> dict:
    """implicit's CPU ALS on chapter 02's confidences (as ImplicitALS runs it), timing each sweep.

    Calls implicit directly so that a callback can read the CPU clock after every
    sweep: the first sweep also pays implicit's set-up (the items x users copy),
    so the CPU time per sweep is the median over the later ones.
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from coursekit.als import implicit_confidence

    C = implicit_confidence(sp.load_npz(path).tocsr(), ALPHA)  # c_ui = 1 + α r_ui, fitted with alpha=1
    walls, cpus = [], [time.process_time()]

    def after_sweep(iteration, elapsed, loss):
        walls.append(elapsed)
        cpus.append(time.process_time())

    with threadpool_limits(1):
        model = AlternatingLeastSquares(factors=factors, regularization=LAMBDA, alpha=1.0, iterations=iterations,
                                        use_cg=use_cg, num_threads=1, random_state=0)
        model.fit(C, show_progress=False, callback=after_sweep)
    per_sweep = np.diff(cpus)
    return {"sweeps": walls, "cpu_sweeps": per_sweep.tolist(), "cpu_per_sweep": float(np.median(per_sweep[1:]))}


def worker_spark(path: str, factors: int, memory: str) -> dict:
    from coursekit.scale import SparkALS, matching_reg_param, save_parquet, spark_session

    R = sp.load_npz(path).tocsr()
    spark = spark_session("local[*]", memory=memory)
    scratch = spark.conf.get("spark.local.dir")  # removed with the session's folder when the worker exits
    os.makedirs(scratch, exist_ok=True)
    parquet = Path(tempfile.mkdtemp(prefix="scaling-", dir=scratch)) / "interactions.parquet"
    start = time.perf_counter()
    save_parquet(R, parquet, spark=spark)
    write_s = time.perf_counter() - start
    reg = matching_reg_param(LAMBDA, R)
    shape = R.shape
    del R
    SparkALS(factors=factors, reg_param=reg, alpha=ALPHA, iterations=1, spark=spark).spark_estimator(
        spark).fit(spark.read.parquet(str(parquet)))  # warm-up: JIT-compile the solver, cache the files
    fits, cpus = {}, {}
    for iterations in (1, 3):
        model = SparkALS(factors=factors, reg_param=reg, alpha=ALPHA, iterations=iterations, spark=spark)
        estimator = model.spark_estimator(spark)
        data = spark.read.parquet(str(parquet))
        cpu, start = jvm_cpu_seconds(), time.perf_counter()
        fitted = estimator.fit(data)
        fitted.itemFactors.count()  # the factors are computed by the time fit returns; this checks they exist
        fits[iterations] = time.perf_counter() - start
        cpus[iterations] = jvm_cpu_seconds() - cpu
    sweep = (fits[3] - fits[1]) / 2
    return {"sweeps": [sweep], "cpu_per_sweep": (cpus[3] - cpus[1]) / 2, "fit_1": fits[1], "fit_3": fits[3],
            "fixed": fits[1] - sweep,
            "parquet_write_s": write_s, "blocks": spark.sparkContext.defaultParallelism}


def worker_mixtapes(engine: str, model_dir: str, users_path: str, world_path: str, jobs: str) -> dict:
    """The mixtapes of the users in ``users_path`` on one machine (``write_mixtapes``) or on Spark (``mapInPandas``)."""
    import hashlib

    from coursekit.batch import load_model, read_mixtapes, write_mixtapes
    from coursekit.datasets import load_world

    users = np.load(users_path)
    wall0, cpu0 = time.perf_counter(), _tree_cpu_s()
    if engine == "local":
        model = load_model(model_dir, load_world(path=world_path or None, size=None if world_path else "large"))
        fixed = time.perf_counter() - wall0
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_mixtapes(model, users, tmp, n_jobs=int(jobs), shard_size=max(1, len(users) // (4 * int(jobs))))
            got = read_mixtapes(tmp)
        picks = got["tracks"][np.argsort(got["users"], kind="stable")]
        partitions = None
    else:
        from coursekit.scale import spark_mixtapes, spark_session

        spark = spark_session(f"local[{jobs}]", memory="1g")
        fixed = time.perf_counter() - wall0   # the JVM; each Python worker loads the model inside the job
        start = time.perf_counter()
        partitions = 4 * int(jobs)
        out = spark_mixtapes(spark, users, model_dir=model_dir, world_path=world_path or None,
                             world_size=None if world_path else "large", partitions=partitions)
        picks = np.stack(out["tracks"].to_numpy())
    seconds = time.perf_counter() - start
    cpu = _tree_cpu_s() - cpu0
    digest = hashlib.sha256(np.ascontiguousarray(picks, dtype=np.int64).tobytes()).hexdigest()
    return {"engine": engine, "users": int(len(users)), "jobs": int(jobs), "partitions": partitions,
            "fixed_s": fixed, "score_s": seconds, "total_s": fixed + seconds, "cpu_s": cpu,
            "ms_per_user": 1000 * seconds / max(1, len(users)), "picks_sha256": digest,
            "arrow": engine == "spark" and _has_arrow()}


def _has_arrow() -> bool:
    from coursekit.scale import _has_arrow as has

    return has()


def _tree_cpu_s() -> float:
    """CPU seconds of this process and its live children (the JVM, Spark's Python workers, forked scorers)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2]) + me.cpu_times().children_user + me.cpu_times().children_system
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def mixtape_comparison(model_dir: str, world_path: str | None, n_users: int, jobs: int, cache: Path,
                       pipeline: Path) -> dict:
    """The same mixtapes on one machine and on Spark local mode, each in a fresh process, in this run."""
    from coursekit.batch import load_model  # noqa: F401  (fail early without coursekit.batch)

    with open(Path(model_dir) / "model.json") as fh:
        json.load(fh)   # a model folder of coursekit.batch.save_model
    meta = json.loads((Path(world_path) / "manifest.json").read_text()) if world_path else None
    total_users = meta["rows"]["users"] if meta else 1_000_000
    users = np.sort(np.random.default_rng(0).choice(total_users, min(n_users, total_users), replace=False))
    cache.mkdir(parents=True, exist_ok=True)
    users_path = cache / f"mixtape_users_{len(users)}.npy"
    np.save(users_path, users)
    out = {"users": int(len(users)), "of": int(total_users), "jobs": jobs, "load_before": list(os.getloadavg())}
    for engine in ("local", "spark"):
        print(f"  mixtapes, {engine}: {len(users):,} listeners ...", flush=True)
        out[engine] = run_worker(["mixtapes", engine, model_dir, str(users_path), world_path or "", str(jobs)],
                                 timeout=1800)
        print(f"    {out[engine]}", flush=True)
    ok = all("picks_sha256" in out[e] for e in ("local", "spark"))
    out["identical"] = ok and out["local"]["picks_sha256"] == out["spark"]["picks_sha256"]
    out["load_after"] = list(os.getloadavg())
    out["pipeline"] = pipeline_summary(pipeline)
    return out


def pipeline_summary(path: Path) -> dict | None:
    """The large world's whole pipeline on one machine, from ``benchmarks/mixtape_large.py``'s results."""
    if not path.exists():
        return None
    r = json.loads(path.read_text())
    load = {row["step"]: row for row in r.get("load", [])}
    fit = {row["step"]: row for row in r.get("fit", [])}
    steps = []
    feedback = load.get("feedback matrices (sparse aggregation)")
    if feedback:
        steps.append({"step": "feedback matrices", "wall s": feedback["seconds"], "cpu s": feedback["cpu s"],
                      "peak MB": feedback["peak MB"]})
    total = fit.get("total (fit)")
    if total:
        steps.append({"step": "DiscoverWeekly.fit (no audio CNN)", "wall s": total["stretch s"],
                      "cpu s": total["cpu s"], "peak MB": total["peak MB"]})
    for row in r.get("top-30") or []:
        steps.append({"step": "top-30 by CF, every listener", "wall s": row["seconds"], "cpu s": row["cpu s"],
                      "peak MB": row["peak MB"]})
    mix = r.get("mixtapes")
    if mix:
        steps.append({"step": f"mixtapes, {mix['users']:,} listeners ({mix.get('all listeners seconds is', '')})",
                      "wall s": mix["seconds"], "cpu s": mix.get("cpu s (all processes)", mix.get("cpu s")),
                      "peak MB": mix.get("tree PSS peak MB", mix.get("peak MB"))})
    return {"source": f"benchmarks/results/{path.name}", "users": r["world"]["users"],
            "tracks": r["world"]["tracks"], "listens": r["world"]["listens"], "started": r.get("started"),
            "load average": [r.get("load average before"), r.get("load average after")], "steps": steps}


def jvm_cpu_seconds() -> float:
    """User + system CPU seconds of this process's children (the JVM that pyspark started)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        times = child.cpu_times()
        total += times.user + times.system
    return total


def run_worker(args: list[str], timeout: float) -> dict:
    """Run ``scaling.py --worker ...`` in a fresh process; return its result and peak tree PSS."""
    import psutil

    proc = subprocess.Popen([sys.executable, __file__, "--worker", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        parent = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                # PSS: pages shared with a forked helper of the JVM (chmod, bash) count once
                peak[0] = max(peak[0], sum(p.memory_full_info().pss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        done.set()
        thread.join()
    if proc.returncode:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak[0] / 2**20
    return result


# ----------------------------------------------------------------------- annoy


def annoy_table(R: sp.csr_matrix, *, factors: int, trees: list[int], search_ks: list[int], queries: int,
                iterations: int) -> dict:
    from threadpoolctl import threadpool_limits

    from coursekit.als import ImplicitALS
    from coursekit.similarity import AnnoyNeighbours, cosine_neighbours, recall_at_n

    start = time.perf_counter()
    with threadpool_limits(1):
        model = ImplicitALS(factors=factors, regularization=LAMBDA, alpha=ALPHA, iterations=iterations, num_threads=2,
                            random_state=0).fit(R)
    fit_s = time.perf_counter() - start
    played = np.flatnonzero(R.getnnz(axis=0))
    Y = model.item_factors_[played]  # tracks without listens have no vector to search with
    q = np.random.default_rng(0).choice(len(Y), queries, replace=False)
    start = time.perf_counter()
    exact, _ = cosine_neighbours(Y, q, 10)
    exact_ms = (time.perf_counter() - start) / queries * 1e3
    rows = []
    for n_trees in trees:
        start = time.perf_counter()
        ann = AnnoyNeighbours(n_trees=n_trees, random_state=0).fit(Y)
        build_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            ann.index_.save(str(Path(tmp) / "index.ann"))
            size_mb = (Path(tmp) / "index.ann").stat().st_size / 2**20
        for search_k in search_ks:
            ann.search_k = search_k
            start = time.perf_counter()
            found, _ = ann.query(q, 10)
            query_ms = (time.perf_counter() - start) / queries * 1e3
            rows.append({"n_trees": n_trees, "search_k": search_k, "build_s": build_s, "index_mb": size_mb,
                         "query_ms": query_ms, "recall@10": recall_at_n(found, exact)})
    return {"tracks": int(len(Y)), "factors": factors, "nnz": int(R.nnz), "fit_s": fit_s, "iterations": iterations,
            "vectors_mb": Y.astype(np.float32).nbytes / 2**20, "exact_query_ms": exact_ms,
            "queries": queries, "rows": rows}


# ------------------------------------------------------------------------ main


def plot(results: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    styles = {"implicit": "o-", "spark": "s--"}
    groups = group_runs(results["runs"])
    for ax, key, what in zip(axes, ["s_per_sweep", "cpu_s_per_sweep"],
                             ["wall-clock seconds per sweep", "CPU seconds per sweep (all cores)"]):
        for label, rows in groups.items():
            ax.loglog([r["nnz"] for r in rows], [r[key] for r in rows], styles[label.split()[0]], label=label)
        nnz = np.array([r["nnz"] for r in results["runs"] if key in r])
        top = max(r[key] for r in results["runs"] if key in r)
        ref = np.array([nnz.min(), nnz.max()])
        ax.loglog(ref, top * ref / ref[-1], ":", color="grey", label="slope 1 (time ∝ nnz)")
        ax.set_xlabel("non-zeros (user-track pairs with plays)")
        ax.set_ylabel("seconds")
        ax.set_title(what, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"ALS cost per sweep vs data size — {describe(results['machine'])}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def group_runs(runs: list[dict]) -> dict:
    groups = {}
    for r in runs:
        if "s_per_sweep" in r:
            groups.setdefault(r["label"], []).append(r)
    return groups


def print_tables(results: dict):
    print(f"machine: {describe(results['machine'])}; load average before/after: "
          f"{results['load_before']} / {results['load_after']}")
    print(f"{'engine':<28}{'nnz':>12}{'users':>10}{'tracks':>9}{'s/sweep':>10}{'CPU s':>9}{'fixed s':>9}"
          f"{'peak MB':>9}")
    for r in results["runs"]:
        if "error" in r:
            print(f"{r['label']:<28}{r['nnz']:>12,}  {r['error']}")
            continue
        fixed = f"{r['fixed_s']:9.1f}" if r.get("fixed_s") is not None else f"{'':>9}"
        print(f"{r['label']:<28}{r['nnz']:>12,}{r['users']:>10,}{r['tracks']:>9,}{r['s_per_sweep']:10.3f}"
              f"{r['cpu_s_per_sweep']:9.3f}{fixed}{r['peak_mb']:9.0f}")
    mix = results.get("mixtapes")
    if mix and "local" in mix:
        print(f"\nMixtapes for {mix['users']:,} random listeners of {mix['of']:,} ({mix['jobs']} cores), "
              f"identical on both: {mix['identical']}")
        print(f"{'engine':<28}{'fixed s':>9}{'score s':>9}{'total s':>9}{'CPU s':>9}{'ms/user':>9}{'peak MB':>9}")
        for engine, label in (("local", "one machine (write_mixtapes)"), ("spark", "Spark local (mapInPandas)")):
            r = mix[engine]
            if "error" in r:
                print(f"{label:<28}  {r['error']}")
                continue
            print(f"{label:<28}{r['fixed_s']:9.1f}{r['score_s']:9.1f}{r['total_s']:9.1f}{r['cpu_s']:9.1f}"
                  f"{r['ms_per_user']:9.2f}{r['peak_mb']:9.0f}")
    annoy = results.get("annoy")
    if annoy:
        print(f"\nAnnoy over {annoy['tracks']:,} track vectors (f = {annoy['factors']}, from implicit on "
              f"{annoy['nnz']:,} non-zeros in {annoy['fit_s']:.0f} s); exact search "
              f"{annoy['exact_query_ms']:.2f} ms/query (numpy, batched); {annoy['queries']} queries")
        print(f"{'n_trees':>8}{'search_k':>10}{'build s':>9}{'index MB':>10}{'ms/query':>10}{'recall@10':>11}")
        for r in annoy["rows"]:
            print(f"{r['n_trees']:>8}{r['search_k']:>10}{r['build_s']:9.1f}{r['index_mb']:10.1f}"
                  f"{r['query_ms']:10.3f}{r['recall@10']:11.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 3e6, 1e7],
                        help="target non-zeros")
    parser.add_argument("--max-nnz-f64", type=float, default=1e7, help="largest size for Cholesky at f = 64")
    parser.add_argument("--max-nnz-spark", type=float, default=1e7, help="largest size for Spark")
    parser.add_argument("--world-path", default=None, help="folder of the large world (default: the cache)")
    parser.add_argument("--cache", type=Path, default=None, help="where to keep the feedback and the samples")
    parser.add_argument("--spark-memory", default="6g")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-annoy", action="store_true")
    parser.add_argument("--mixtape-model", default=None,
                        help="folder of the large world's fitted DiscoverWeekly (mixtape_large.py --save-model); "
                             "without it the mixtape comparison is skipped")
    parser.add_argument("--mixtape-users", type=int, default=50_000, help="listeners for the mixtape comparison")
    parser.add_argument("--mixtape-jobs", type=int, default=2, help="processes / Spark cores for the mixtapes")
    parser.add_argument("--pipeline-results", type=Path, default=RESULTS / "mixtape_large.json",
                        help="benchmarks/mixtape_large.py's results: the whole pipeline on one machine")
    parser.add_argument("--only-mixtapes", action="store_true",
                        help="run only the mixtape comparison and update it in the saved results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:  # inside a measuring subprocess
        kind, path, factors, *rest = args.worker
        if kind == "mixtapes":
            result = worker_mixtapes(path, factors, *rest)
        elif kind == "implicit":
            result = worker_implicit(path, int(factors), rest[0] == "cg", int(rest[1]))
        else:
            result = worker_spark(path, int(factors), rest[0])
        print(json.dumps(result))
        return 0

    from coursekit.datasets import cache_dir

    started = time.perf_counter()
    cache = args.cache or cache_dir() / "scaling"
    json_out = SAVED if args.out == RESULTS else args.out / "scaling.json"
    if args.only_mixtapes:
        if not args.mixtape_model:
            parser.error("--only-mixtapes needs --mixtape-model (a folder from mixtape_large.py --save-model)")
        results = json.loads(json_out.read_text()) if json_out.exists() else {"machine": machine(), "runs": []}
        results["mixtapes"] = mixtape_comparison(args.mixtape_model, args.world_path, args.mixtape_users,
                                                 args.mixtape_jobs, cache, args.pipeline_results)
        results["mixtapes"]["machine"] = machine()
        results["mixtapes"]["command"] = " ".join(["python", "benchmarks/scaling.py", *sys.argv[1:]])
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=1) + "\n")
        print_tables(results)
        print(f"({time.perf_counter() - started:.0f} s; updated the mixtapes in {json_out})")
        return 0
    results = {"machine": machine(), "load_before": [round(x, 2) for x in os.getloadavg()], "runs": [],
               "alpha": ALPHA, "lambda": LAMBDA, "command": " ".join(["python", "benchmarks/scaling.py", *sys.argv[1:]])}
    print(f"machine: {describe(results['machine'])}", flush=True)
    R = large_feedback(args.world_path, cache)
    print(f"large world: {R.shape[0]:,} users x {R.shape[1]:,} tracks, {R.nnz:,} non-zeros "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    plans = [("implicit Cholesky f=32", "implicit", 32, "chol", np.inf),
             ("implicit Cholesky f=64", "implicit", 64, "chol", args.max_nnz_f64),
             ("implicit CG f=64", "implicit", 64, "cg", np.inf)]
    if not args.skip_spark:
        plans.append(("spark local f=32", "spark", 32, None, args.max_nnz_spark))
    for target in args.sizes:
        S = subsample_users(R, int(target))
        path = cache / f"sample_{int(target)}.npz"
        sp.save_npz(path, S, compressed=False)
        for label, kind, f, solver, largest in plans:
            if target > largest:
                continue
            extra = [solver, "3"] if kind == "implicit" else [args.spark_memory]
            result = run_worker([kind, str(path), str(f), *extra], timeout=900)
            row = {"label": label, "engine": kind, "factors": f, "nnz": int(S.nnz), "users": S.shape[0],
                   "tracks": S.shape[1], **result}
            if "sweeps" in result:
                row["s_per_sweep"] = float(np.median(result["sweeps"]))
                row["cpu_s_per_sweep"] = float(result["cpu_per_sweep"])
                row["fixed_s"] = result.get("fixed")
            results["runs"].append(row)
            print(f"  {label:<26}{S.nnz:>12,} nnz: "
                  + (f"{row['s_per_sweep']:.3f} s/sweep ({row['cpu_s_per_sweep']:.3f} CPU s), "
                     f"peak {row['peak_mb']:.0f} MB" if "sweeps" in result
                     else result["error"]), flush=True)
    if not args.skip_annoy:
        results["annoy"] = annoy_table(R, factors=64, trees=[10, 50], search_ks=[-1, 5_000, 50_000], queries=1000,
                                       iterations=8)
    if args.mixtape_model:
        results["mixtapes"] = mixtape_comparison(args.mixtape_model, args.world_path, args.mixtape_users,
                                                 args.mixtape_jobs, cache, args.pipeline_results)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["total_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.out / "scaling.png")
    print()
    print_tables(results)
    print(f"({results['total_s']:.0f} s; wrote {json_out} and {args.out / 'scaling.png'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
