"""Time the audio CNN and measure it on cold-start tracks.

Holds out tracks of the world (single tracks and every track of some artists)
as new releases with no listens, fits ALS on the rest, trains the CNN on the
log-mel spectrograms of known tracks (targets: their unit ALS vectors), and
ranks the held-out tracks for every user by x_u·ŷ_i. Prints:

- timings: ALS, log-mel spectrograms (from an empty cache, then read back),
  CNN training (seconds and per epoch), prediction;
- the cold-start table: AUC, NDCG@k, precision@k (per user, relevant = the
  user's top 10 % of held-out tracks by true affinity) and listener AUC (per
  track, finding its top 10 % of users) for the CNN against random, popularity
  (the artist's listeners on known tracks), the genre's mean vector (a
  metadata tag) and, as a ceiling, CF after the listens (the held-out tracks
  folded into ALS with their real listens);
- the CNN twice: hearing the 3 s clip the mixtape renders for every track, and
  hearing a ``--preview-seconds`` preview of each new release (30 s, as
  Dieleman's model and :func:`coursekit.place.place` do: 3 s windows, half
  overlapping, whose vectors are averaged by ``AudioCNN.predict_audio``); the
  network and its training are the same, only what it hears of the new song
  differs;
- the CNN minus each other ranking, per user: the mean difference of NDCG@k and
  AUC with a 95 % paired bootstrap interval over users (the same resample for
  both rankings);
- the cosine between predicted and true vectors (the folded-in ALS vectors), by
  kind of held-out track.

With ``--audio-fn`` it also times ``audio_vector_model`` (the mixtape's entry
point) on every track of the world, from an empty spectrogram cache and again.

    python benchmarks/cnn.py                          # the notebook's setting (small world, 1200 tracks, 20 epochs)
    python benchmarks/cnn.py --n-train 1500 --epochs 20 --audio-fn
    python benchmarks/cnn.py --size tiny --n-train 200 --epochs 3
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


def paired_differences(scores: dict, affinity: np.ndarray, model: str, *, k: int, random_state: int = 0,
                       n_boot: int = 2000) -> pd.DataFrame:
    """``model`` minus every other model, per user: mean difference of NDCG@k and AUC, 95 % bootstrap interval.

    The users are resampled with replacement and the same resample is used for
    both models (a paired interval): it is above 0 when the model beats the
    other for the users as a whole, not just on average by chance. Relevance
    and tie-breaking are those of :func:`coursekit.metrics.cold_start_table`.
    """
    import scipy.sparse as sp

    from coursekit.metrics import _auc, _top_share, ndcg_at_k

    relevant = _top_share(affinity, 0.1)
    R_rel = sp.csr_matrix(relevant.astype(float))
    tie = np.random.default_rng(random_state).random(affinity.shape) * 1e-9
    per_user = {}
    for name, S in scores.items():
        spread = np.ptp(S, axis=1, keepdims=True)
        top = np.argsort(-(S + tie * np.where(spread > 0, spread, 1.0)), axis=1, kind="stable")[:, :k]
        per_user[name] = {f"NDCG@{k}": np.asarray(ndcg_at_k(top, R_rel, k, per_user=True), dtype=float),
                          "AUC": np.asarray(_auc(S, relevant), dtype=float)}
    rng = np.random.default_rng(random_state)
    n = affinity.shape[0]
    resamples = rng.integers(0, n, size=(n_boot, n))
    rows = {}
    for other in scores:
        if other == model:
            continue
        row = {}
        for metric in (f"NDCG@{k}", "AUC"):
            d = per_user[model][metric] - per_user[other][metric]
            d = np.where(np.isnan(d), 0.0, d)
            boot = d[resamples].mean(axis=1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            row[f"Δ {metric}"] = f"{d.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]"
        rows[f"vs {other}"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", help="world size (default small)")
    parser.add_argument("--n-train", type=int, default=1200, help="training tracks (default 1200)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20, as AudioCNN)")
    parser.add_argument("--artist-share", type=float, default=0.04, help="share of artists held out (0.04)")
    parser.add_argument("--track-share", type=float, default=0.03, help="share of other tracks held out (0.03)")
    parser.add_argument("--k", type=int, default=10, help="cut-off of NDCG@k (default 10)")
    parser.add_argument("--n-jobs", type=int, default=1, help="processes for the spectrograms (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--audio-fn", action="store_true", help="also time audio_vector_model on every track")
    parser.add_argument("--preview-seconds", type=float, default=30.0,
                        help="length of the new releases' preview heard in 3 s windows (default 30; 0 skips it)")
    args = parser.parse_args(argv)

    start, cpu = time.perf_counter(), time.process_time()
    from coursekit import cnn, mel
    from coursekit.evaluation import cold_start_split
    from coursekit.metrics import cold_start_table
    from coursekit.similarity import unit_rows
    from coursekit.als import ALS
    from coursekit.datasets import load_truth, load_world
    from coursekit.feedback import build_feedback

    import_s = (time.perf_counter() - start, time.process_time() - cpu)
    import tensorflow as tf

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gpus = tf.config.list_physical_devices("GPU")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}, "
          f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
          f"{'GPU: ' + ', '.join(g.name for g in gpus) if gpus else 'no GPU'}")
    world, truth = load_world(args.size), load_truth(args.size)
    split = cold_start_split(world, artist_share=args.artist_share, track_share=args.track_share,
                             n_train=args.n_train, random_state=args.seed)
    train, held = np.flatnonzero(split.train), np.flatnonzero(split.heldout)
    print(f"{args.size} world: {len(world.tracks)} tracks; training on {train.size}, held out {held.size} "
          f"({split.heldout_artist.sum()} of them by {len(set(world.tracks['artist_id'][split.heldout_artist]))} "
          f"whole artists); clips {cnn.CLIP_SECONDS:g} s, crops {cnn.CROP_SECONDS:g} s, {args.epochs} epochs")

    def clock():
        return time.perf_counter(), time.process_time()

    def since(t):
        return time.perf_counter() - t[0], time.process_time() - t[1]

    timings = [("import coursekit.cnn (TensorFlow)", import_s, None)]
    t = clock()
    feedback = build_feedback(split.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    als = ALS(factors=32, regularization=1.0, alpha=5.0, iterations=10, random_state=args.seed).fit(feedback.scaled)
    timings.append(("ALS without the held-out tracks' listens", since(t), None))

    need = np.concatenate([train, held])
    with tempfile.TemporaryDirectory() as cache_dir:
        t = clock()
        mel.mel_spectrograms(world.tracks.iloc[need], duration=cnn.CLIP_SECONDS, cache_dir=cache_dir,
                               n_jobs=args.n_jobs)
        timings.append((f"log-mels, empty cache ({need.size} tracks)", since(t), need.size))
        t = clock()
        mels = mel.mel_spectrograms(world.tracks.iloc[need], duration=cnn.CLIP_SECONDS, cache_dir=cache_dir)
        timings.append(("log-mels, from the cache", since(t), need.size))
    X_train, X_held = mels[: train.size], mels[train.size:]

    full = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    Y_true = als.fold_in_items(full.scaled[:, held])  # what CF says once the listens are in
    model = cnn.AudioCNN(epochs=args.epochs, random_state=args.seed)
    t = clock()
    model.fit(X_train, als.item_factors_[train])
    timings.append((f"CNN training ({args.epochs} epochs)", since(t), None))
    t = clock()
    Y_hat = model.predict(X_held)
    timings.append((f"CNN prediction ({held.size} clips)", since(t), held.size))
    if args.preview_seconds > 0:
        from coursekit import synth

        t = clock()
        Y_preview = np.stack([model.predict_audio(synth.render_track(world.tracks.iloc[i], duration=args.preview_seconds))
                              for i in held])
        timings.append((f"{args.preview_seconds:g} s previews: render + windowed prediction", since(t), held.size))

    print(f"\n{'step':<46}{'wall s':>8}{'CPU s':>8}{'wall ms/track':>15}")
    for name, (seconds, cpu_s), n in timings:
        print(f"{name:<46}{seconds:>8.1f}{cpu_s:>8.1f}{'' if n is None else f'{1000 * seconds / n:.1f}':>15}")
    print("(CPU s: this process's time on all its threads; spectrogram worker processes are not counted)")
    print(f"per epoch: {model.fit_seconds_ / args.epochs:.2f} s; final training loss "
          f"{model.history_['loss'].iloc[-1]:.4f}")

    # -- cold start: rank the held-out tracks for every user
    X = als.user_factors_
    users = np.arange(len(world.users))
    affinity = truth.affinity(users, held)  # evaluation only
    genre = world.tracks["genre"].to_numpy()
    unit_train = unit_rows(als.item_factors_[train])
    genre_mean = {g: unit_rows(unit_train[genre[train] == g].mean(axis=0)) for g in np.unique(genre[train])}
    Y_genre = np.array([genre_mean[g] for g in genre[held]])
    rng = np.random.default_rng(args.seed)
    scores = {
        "CNN, 3 s clip": X @ Y_hat.T,
        **({f"CNN, {args.preview_seconds:g} s preview": X @ Y_preview.T} if args.preview_seconds > 0 else {}),
        "random": rng.random(affinity.shape),
        "popularity (artist's listeners)": np.tile(split.artist_listeners[held].astype(float), (len(users), 1)),
        "genre mean vector (metadata)": X @ Y_genre.T,
        "CF after the listens (ceiling)": X @ Y_true.T,
    }
    table = cold_start_table(scores, affinity, k=args.k, random_state=args.seed)
    print(f"\ncold start: {held.size} held-out tracks ranked for {len(users)} users "
          f"(relevant: each user's top 10 % by true affinity)")
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(table.to_string())
    for name in [n for n in scores if n.startswith("CNN")]:
        others = {n: S for n, S in scores.items() if not n.startswith("CNN") or n == name}
        paired = paired_differences(others, affinity, name, k=args.k, random_state=args.seed)
        print(f"\n{name} minus each baseline, per user (mean and 95 % paired bootstrap interval over "
              f"{len(users)} users, 2,000 resamples)")
        with pd.option_context("display.width", 120):
            print(paired.to_string())

    known = split.listeners[held] >= 10  # a folded-in vector is only trustworthy with some listeners
    cos = {"CNN, 3 s clip": np.sum(Y_hat * unit_rows(Y_true), axis=1),
           **({f"CNN, {args.preview_seconds:g} s preview": np.sum(Y_preview * unit_rows(Y_true), axis=1)}
              if args.preview_seconds > 0 else {}),
           "genre mean vector": np.sum(Y_genre * unit_rows(Y_true), axis=1),
           "random direction": np.sum(unit_rows(rng.normal(size=Y_true.shape)) * unit_rows(Y_true), axis=1)}
    groups = {"single held-out tracks": known & ~split.heldout_artist[held],
              "tracks of held-out artists": known & split.heldout_artist[held], "all": known}
    cos_table = pd.DataFrame({g: {name: float(c[m].mean()) for name, c in cos.items()} for g, m in groups.items()})
    cos_table.loc["n tracks"] = [int(m.sum()) for m in groups.values()]
    print("\ncosine between predicted and true (folded-in ALS) vectors, held-out tracks with >= 10 listeners")
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(cos_table.to_string())

    if args.audio_fn:
        print(f"\naudio_vector_model on all {len(world.tracks)} tracks (max_train 1500, default options)")
        with tempfile.TemporaryDirectory() as cache_dir:
            for label in ("empty spectrogram cache", "spectrograms cached"):
                t = time.perf_counter()
                fn = cnn.audio_vector_model(world, cache_dir=cache_dir, random_state=args.seed)
                out = fn(als.item_factors_, ~split.heldout & (split.listeners >= 1))
                print(f"  {label}: {time.perf_counter() - t:.1f} s (training {fn.model.fit_seconds_:.1f} s), "
                      f"output {out.shape}")

    ok = table.loc["CNN, 3 s clip", "AUC"] > table.loc["random", "AUC"] + 0.1
    print(f"\nCNN AUC {table.loc['CNN, 3 s clip', 'AUC']:.3f} vs random {table.loc['random', 'AUC']:.3f}: "
          f"{'clearly above' if ok else 'NOT clearly above'} (margin 0.1)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
