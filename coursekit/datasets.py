"""Loading the music world: committed files first, generated (and cached) when absent.

The ``small`` world ships with the course as compact files in ``datasets/small``
(committed to git), so notebooks start in a second. A pip-installed
``coursekit`` has no ``datasets/`` folder: then the world is generated from its
seed, written to the cache folder (``$COURSEKIT_DATA``, default
``~/.cache/coursekit``) and read back through the same reader, so both paths
give the same numbers.

Files of a world folder::

    manifest.json                 size, seed, row counts, sha256 of every file
    artists.csv  tracks.csv  users.csv
    listens.csv.gz  documents.csv.gz        (large: listens/ as .npy columns)
    truth/next_week.csv.gz  truth/user_genres.csv.gz
    truth/user_vectors.csv.gz  truth/track_vectors.csv.gz     (large: .npy)
    truth/tracks.csv.gz  truth/similar_artists.csv.gz

The ``truth/`` folder is read only by :func:`load_truth`, for evaluation.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .world import LISTEN_COLUMNS, SIZES, Truth, World, generate_world

__all__ = ["load_world", "load_truth", "write_world", "world_dir", "cache_dir", "FORMAT_VERSION"]

#: Bumped whenever the generator or the file format changes what a world holds.
FORMAT_VERSION = 1

_REPO_DATASETS = Path(__file__).resolve().parent.parent / "datasets"
_FLOAT = "%.6f"


def cache_dir() -> Path:
    """Persistent cache folder: ``$COURSEKIT_DATA`` or ``~/.cache/coursekit``."""
    return Path(os.environ.get("COURSEKIT_DATA") or Path.home() / ".cache" / "coursekit")


def world_dir(size: str) -> Path:
    """Folder holding the files of a named world.

    The course's own ``datasets/<size>`` when it exists (a clone of the course),
    the cache folder otherwise.
    """
    committed = _REPO_DATASETS / size
    if (committed / "manifest.json").exists():
        return committed
    return cache_dir() / f"world-{size}-v{FORMAT_VERSION}"


def load_world(size: str = "small", *, path: str | os.PathLike | None = None, progress=None) -> World:
    """The public tables of a music world.

    Parameters
    ----------
    size : {"tiny", "small", "large"}
        Which world. ``small`` is the notebooks' default.
    path : path-like, optional
        Read (or write, when empty) this folder instead of the default one.
    progress : callable, optional
        Passed to :func:`coursekit.world.generate_world` when the world has to
        be generated.

    Returns
    -------
    World

    Examples
    --------
    >>> world = load_world("tiny")
    >>> world.listens.columns.tolist()
    ['user_id', 'track_id', 'week', 'streams', 'saved', 'artist_page_visits']
    """
    folder = _ensure(size, path, progress)
    manifest = json.loads((folder / "manifest.json").read_text())
    world = World(
        artists=_read_csv(folder / "artists.csv"),
        tracks=_read_csv(folder / "tracks.csv"),
        users=_read_csv(folder / "users.csv"),
        listens=_read_listens(folder, "listens"),
        documents=_read_documents(folder / "documents.csv.gz"),
        size=size,
        n_weeks=int(manifest["n_weeks"]),
        fingerprint=_sha256(folder / "manifest.json"),
    )
    _check_counts(world, manifest, folder)
    return world


def load_truth(size: str = "small", *, path: str | os.PathLike | None = None) -> Truth:
    """What generated the world — **for evaluation only**.

    Returns next week's listens, the users' genre mixes and latent vectors;
    see :class:`coursekit.world.Truth`. No model in the course reads it.
    """
    folder = _ensure(size, path, None)
    manifest = json.loads((folder / "manifest.json").read_text())
    t = folder / "truth"
    tracks = _read_csv(t / "tracks.csv.gz")
    similar = _read_csv(t / "similar_artists.csv.gz")
    genres = _read_csv(t / "user_genres.csv.gz").set_index("user_id")
    cfg = replace(SIZES[manifest["size"]], seed=int(manifest["seed"]))
    return Truth(
        next_week=_read_listens(t, "next_week"),
        user_genres=genres,
        user_vectors=_read_matrix(t, "user_vectors"),
        track_vectors=_read_matrix(t, "track_vectors"),
        track_popularity=tracks["popularity"].to_numpy(),
        track_genre=tracks["genre_index"].to_numpy(),
        release_week=tracks["release_week"].to_numpy(),
        similar_artists={int(a): [int(v) for v in row] for a, row in zip(similar["artist_id"], similar.drop(columns="artist_id").to_numpy())},
        config=cfg,
    )


def write_world(size: str, folder: str | os.PathLike, *, progress=None) -> Path:
    """Generate a named world and write its files to ``folder``, byte for byte reproducibly.

    The folder is written next to its final place and renamed when complete,
    so an interrupted run never leaves a world that looks whole.
    This is the command behind ``coursekit world --size small --write datasets/small``.
    """
    if size not in SIZES:
        raise ValueError(f"unknown world size {size!r}; use one of {sorted(SIZES)}")
    folder = Path(folder)
    world, truth = generate_world(size, progress=progress)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        (tmp / "truth").mkdir()
        columnar = size == "large"
        _write_csv(world.artists, tmp / "artists.csv")
        _write_csv(world.tracks, tmp / "tracks.csv")
        _write_csv(world.users, tmp / "users.csv")
        _write_listens(world.listens, tmp, "listens", columnar)
        _write_csv(world.documents, tmp / "documents.csv.gz")
        _write_listens(truth.next_week, tmp / "truth", "next_week", columnar)
        _write_csv(truth.user_genres.reset_index(), tmp / "truth" / "user_genres.csv.gz")
        _write_matrix(truth.user_vectors, tmp / "truth", "user_vectors", columnar)
        _write_matrix(truth.track_vectors, tmp / "truth", "track_vectors", columnar)
        _write_csv(pd.DataFrame({
            "track_id": world.tracks["track_id"],
            "popularity": truth.track_popularity,
            "genre_index": truth.track_genre,
            "release_week": truth.release_week,
        }), tmp / "truth" / "tracks.csv.gz")
        sim = pd.DataFrame(
            [[a, *v] for a, v in sorted(truth.similar_artists.items())],
            columns=["artist_id"] + [f"similar_{k + 1}" for k in range(len(next(iter(truth.similar_artists.values()))))],
        )
        _write_csv(sim, tmp / "truth" / "similar_artists.csv.gz")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        manifest = {
            "format_version": FORMAT_VERSION,
            "size": size,
            "seed": truth.config.seed,
            "n_weeks": world.n_weeks,
            "rows": {"artists": len(world.artists), "tracks": len(world.tracks), "users": len(world.users),
                     "listens": len(world.listens), "documents": len(world.documents),
                     "next_week": len(truth.next_week)},
            "sha256": {f: _sha256(tmp / f) for f in files},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _ensure(size, path, progress) -> Path:
    if size not in SIZES:
        raise ValueError(f"unknown world size {size!r}; use one of {sorted(SIZES)}")
    folder = Path(path) if path is not None else world_dir(size)
    if not (folder / "manifest.json").exists():
        write_world(size, folder, progress=progress)
    return folder


def _check_counts(world: World, manifest: dict, folder: Path) -> None:
    for name, expected in manifest["rows"].items():
        if name == "next_week":
            continue
        got = len(getattr(world, name))
        if got != expected:
            raise ValueError(
                f"{folder}: table {name!r} has {got} rows, the manifest says {expected}; the files are "
                f"damaged or half-written — delete the folder and load again to regenerate it"
            )


# ---------------------------------------------------------------- file formats
def _gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as fh:
        fh.write(data)
    return buf.getvalue()


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    text = df.to_csv(index=False, float_format=_FLOAT, lineterminator="\n").encode("utf-8")
    path.write_bytes(_gzip_bytes(text) if path.suffix == ".gz" else text)


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _read_documents(path: Path) -> pd.DataFrame:
    docs = pd.read_csv(path, keep_default_na=False, na_values={"track_id": [""]}, dtype={"track_id": "Int64"})
    docs["text"] = docs["text"].astype(str)
    return docs


def _write_matrix(m: np.ndarray, folder: Path, name: str, binary: bool) -> None:
    if binary:
        np.save(folder / f"{name}.npy", m.astype(np.float32))
        return
    buf = io.StringIO()
    np.savetxt(buf, m, fmt=_FLOAT, delimiter=",")
    (folder / f"{name}.csv.gz").write_bytes(_gzip_bytes(buf.getvalue().encode()))


def _read_matrix(folder: Path, name: str) -> np.ndarray:
    if (folder / f"{name}.npy").exists():
        return np.load(folder / f"{name}.npy").astype(np.float64)
    return np.loadtxt(folder / f"{name}.csv.gz", delimiter=",", ndmin=2)


def _write_listens(df: pd.DataFrame, folder: Path, name: str, columnar: bool) -> None:
    if not columnar:
        _write_csv(df, folder / f"{name}.csv.gz")
        return
    (folder / name).mkdir()
    for col in LISTEN_COLUMNS:
        values = df[col].to_numpy()
        small = np.int32 if col in ("user_id", "track_id") else np.int16
        np.save(folder / name / f"{col}.npy", values.astype(small))


def _read_listens(folder: Path, name: str) -> pd.DataFrame:
    if (folder / f"{name}.csv.gz").exists():
        return pd.read_csv(folder / f"{name}.csv.gz", dtype={c: np.int64 for c in LISTEN_COLUMNS})
    return pd.DataFrame({c: np.load(folder / name / f"{c}.npy").astype(np.int64) for c in LISTEN_COLUMNS})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

