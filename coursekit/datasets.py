"""Loading the data sets: the music world (committed, or generated and cached) and real Last.fm data.

The ``small`` world ships with the course as compact files in ``datasets/small``
(committed to git), so notebooks start in a second. A pip-installed
``coursekit`` has no ``datasets/`` folder: then the world is generated from its
seed, written to the cache folder (``$COURSEKIT_DATA``, default
``~/.cache/coursekit``) and read back through the same reader, so both paths
give the same numbers. :func:`load_dataset` is the one switch between the
generated world and the real data sets of :mod:`coursekit.lastfm`.

Files of a world folder::

    manifest.json                 size, seed, row counts, sha256 of every file
    artists.csv  tracks.csv  users.csv
    listens.csv.gz  documents.csv.gz        (large: listens/ as .npy columns)
    truth/next_week.csv.gz  truth/user_genres.csv.gz
    truth/user_vectors.csv.gz  truth/track_vectors.csv.gz     (large: .npy)
    truth/tracks.csv.gz  truth/similar_artists.csv.gz

Every file is checked against its sha256 in ``manifest.json`` when read, and
the tables' content (ids unique and known, counts not negative) is checked
too. The ``truth/`` folder is read only by :func:`load_truth`, for evaluation.

A world is written to a temporary folder and moved into place when complete;
an existing folder is replaced only when it holds a coursekit manifest, and
then only the files that manifest lists: nothing else in it is touched.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import atomic_folder, cache_dir, is_plain_relative, sha256_bytes, sha256_file
from .download import DatasetVerificationError
from .world import LISTEN_COLUMNS, SIZES, Truth, World, generate_world

__all__ = ["load_dataset", "load_world", "load_truth", "write_world", "world_dir", "cache_dir", "DATASETS",
           "FORMAT_VERSION"]

#: Bumped whenever the generator or the file format changes what a world holds.
FORMAT_VERSION = 2

#: Names :func:`load_dataset` accepts.
DATASETS = ("world", "lastfm-2k", "lastfm-360k")

_REPO_DATASETS = Path(__file__).resolve().parent.parent / "datasets"
_FLOAT = "%.6f"
_MANIFEST = "manifest.json"

#: The columns each public table must have (the files may not leave one out).
_COLUMNS = {
    "artists": ("artist_id", "name", "genre", "origin", "active_since"),
    "tracks": ("track_id", "artist_id", "title", "genre", "release_week", "duration_s", "tempo", "key", "mode",
               "loudness", "time_signature", "acousticness", "energy", "instrumentalness"),
    "users": ("user_id", "country", "age"),
    "documents": ("doc_id", "artist_id", "track_id", "kind", "text"),
}


# ------------------------------------------------------------------ the switch
def load_dataset(name: str = "world", *, size: str = "small", verify: bool = True, **options) -> World:
    """The tables of the generated world or of a real dataset, by name.

    The one switch notebooks need: ``world = load_dataset(DATASET)``.

    Parameters
    ----------
    name : {"world", "lastfm-2k", "lastfm-360k"}
        Which data.
    size : str
        Size of the generated world (``"tiny"``, ``"small"``, ``"large"``); only for ``"world"``.
    verify : bool
        Check the files against their sha256 (and, for Last.fm, the official
        row counts); ``False`` reads a copy that differs on purpose.
    **options
        Passed to :func:`load_world`, :func:`coursekit.lastfm.load_lastfm_2k`
        or :func:`coursekit.lastfm.load_lastfm_360k`.

    Returns
    -------
    World
        A :class:`coursekit.lastfm.LastfmWorld` for a real dataset; check
        ``getattr(world, "has_truth", True)`` before using :func:`load_truth`.

    Raises
    ------
    ValueError
        An unknown ``name``.

    Examples
    --------
    >>> world = load_dataset("world")
    >>> world.size, world.n_weeks
    ('small', 8)
    """
    if name == "world":
        return load_world(size, verify=verify, **options)
    if name in ("lastfm-2k", "lastfm-360k"):
        from . import lastfm

        loader = lastfm.load_lastfm_2k if name == "lastfm-2k" else lastfm.load_lastfm_360k
        return loader(verify=verify, **options)
    raise ValueError(f"unknown dataset {name!r}; use one of {list(DATASETS)}")


# ------------------------------------------------------------------ the world
def world_dir(size: str) -> Path:
    """Folder holding the files of a named world.

    The course's own ``datasets/<size>`` when it exists (a clone of the course),
    the cache folder otherwise.
    """
    committed = _REPO_DATASETS / size
    if (committed / _MANIFEST).exists():
        return committed
    return cache_dir() / f"world-{size}-v{FORMAT_VERSION}"


def load_world(size: str | None = None, *, path: str | os.PathLike | None = None, verify: bool = True,
               progress=None) -> World:
    """The public tables of a music world, checked against its manifest.

    Parameters
    ----------
    size : {"tiny", "small", "large"}, optional
        Which world. Default: ``"small"`` (the notebooks'), or with ``path``
        whichever size the folder's manifest names.
    path : path-like, optional
        Read this folder instead of the default one. A folder that does not
        exist (or is empty) gets the world generated into it; a folder with
        files but no coursekit ``manifest.json`` is an error, and none of its
        files is touched.
    verify : bool
        Check every file read against its sha256 in ``manifest.json``.
        ``False`` reads edited files as they are (their content is still
        checked: ids, references, counts); the world then has no
        ``fingerprint``, so no model is cached for it.
    progress : callable, optional
        Passed to :func:`coursekit.world.generate_world` when the world has to
        be generated.

    Returns
    -------
    World
        With ``fingerprint``: a SHA-256 over the verified sha256 entries of
        the files read (and ``n_weeks``) — the key a model cache can use;
        ``""`` when ``verify=False``.

    Raises
    ------
    ValueError
        An unknown size, or the folder holds another size than ``size``.
    FileExistsError
        ``path`` holds files but no coursekit manifest.
    FileNotFoundError
        A file the manifest lists is missing.
    DatasetVerificationError
        (a ``ValueError``) A file differs from its sha256, cannot be parsed, or
        its content is inconsistent; the message names the file and the command
        that regenerates it.

    Examples
    --------
    >>> world = load_world("tiny")
    >>> world.listens.columns.tolist()
    ['user_id', 'track_id', 'week', 'streams', 'saved', 'artist_page_visits']
    """
    folder = _WorldFolder.open(size, path, progress, verify=verify)
    world = World(
        artists=folder.csv("artists.csv"),
        tracks=folder.csv("tracks.csv"),
        users=folder.csv("users.csv"),
        listens=folder.listens("listens"),
        documents=folder.documents("documents.csv.gz"),
        size=folder.size,
        n_weeks=folder.n_weeks,
        fingerprint=folder.fingerprint() if verify else "",
    )
    _check_content(world, folder)
    _check_counts(world, folder)
    return world


def load_truth(size: str | None = None, *, path: str | os.PathLike | None = None, verify: bool = True) -> Truth:
    """What generated the world — **for evaluation only**.

    Returns next week's listens, the users' genre mixes and latent vectors;
    see :class:`coursekit.world.Truth`. No model in the course reads it.
    ``size``, ``path`` and ``verify`` are as in :func:`load_world`.
    """
    folder = _WorldFolder.open(size, path, None, verify=verify)
    tracks = folder.csv("truth/tracks.csv.gz")
    similar = folder.csv("truth/similar_artists.csv.gz")
    genres = folder.csv("truth/user_genres.csv.gz")
    next_week = folder.listens("truth/next_week")
    for frame, name, columns in ((tracks, "truth/tracks.csv.gz", ("track_id", "popularity", "genre_index",
                                                                    "release_week")),
                                 (similar, "truth/similar_artists.csv.gz", ("artist_id",)),
                                 (genres, "truth/user_genres.csv.gz", ("user_id",))):
        folder.require_columns(frame, name, columns)
    next_file = "truth/next_week.csv.gz" if folder.exists("truth/next_week.csv.gz") else "truth/next_week"
    _check_listens(next_week, folder, next_file, genres["user_id"].to_numpy(), tracks["track_id"].to_numpy(),
                   range(folder.n_weeks, folder.n_weeks + 1))
    cfg = replace(SIZES[folder.size], seed=int(folder.manifest["seed"]))
    return Truth(
        next_week=next_week,
        user_genres=genres.set_index("user_id"),
        user_vectors=folder.matrix("truth/user_vectors"),
        track_vectors=folder.matrix("truth/track_vectors"),
        track_popularity=tracks["popularity"].to_numpy(),
        track_genre=tracks["genre_index"].to_numpy(),
        release_week=tracks["release_week"].to_numpy(),
        similar_artists={int(a): [int(v) for v in row] for a, row in zip(similar["artist_id"], similar.drop(columns="artist_id").to_numpy())},
        config=cfg,
    )


def write_world(size: str, folder: str | os.PathLike, *, progress=None) -> Path:
    """Generate a named world and write its files to ``folder``, byte for byte reproducibly.

    The files are written to a temporary folder next to ``folder`` and moved
    into place when complete, so an interrupted run never leaves a world that
    looks whole. An existing ``folder`` must be empty or hold a coursekit
    world (a ``manifest.json``): then only the files its manifest lists are
    replaced, and any other file in it stays. This is the command behind
    ``coursekit world --size small --write datasets/small``.

    Parameters
    ----------
    size : {"tiny", "small", "large"}
        Which world.
    folder : path-like
        Where to write it.
    progress : callable, optional
        Passed to :func:`coursekit.world.generate_world`.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    ValueError
        An unknown size.
    FileExistsError
        ``folder`` is a file, or holds files but no coursekit manifest (it is
        checked before the world is generated, and nothing in it is touched).
    """
    if size not in SIZES:
        raise ValueError(f"unknown world size {size!r}; use one of {sorted(SIZES)}")
    folder = Path(folder)
    _owned_files(folder)  # refuse a folder of foreign files before the (long) generation
    world, truth = generate_world(size, progress=progress)
    with atomic_folder(folder, owned=lambda: _owned_files(folder), last=_MANIFEST) as tmp:
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
            "sha256": {f: sha256_file(tmp / f) for f in files},
        }
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return folder


def _owned_files(folder: Path) -> set[str] | None:
    """The files of an existing world folder that coursekit wrote (``None``: absent or empty folder)."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a folder; choose another place for the world")
    if not (folder / _MANIFEST).exists():
        if any(folder.iterdir()):
            raise FileExistsError(
                f"{folder} already holds files but no coursekit {_MANIFEST}: it is not a world folder, and none of "
                f"its files is touched. Choose a new or empty folder for the world")
        return None
    manifest = _read_manifest(folder, any_version=True)
    return set(manifest["sha256"]) | {_MANIFEST}


def _read_manifest(folder: Path, *, any_version: bool = False) -> dict:
    path = folder / _MANIFEST
    fix = (f"if {folder} is a coursekit world, delete it and load again (or run `coursekit world --size SIZE "
           f"--write {folder}` into a new folder) to regenerate it")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DatasetVerificationError(f"{path} is not a coursekit manifest (not JSON: {err}); {fix}") from err
    except IsADirectoryError as err:
        raise DatasetVerificationError(f"{path} is a folder, not a coursekit manifest; {fix}") from err
    keys = {"format_version": int, "size": str, "seed": int, "n_weeks": int, "rows": dict, "sha256": dict}
    if not isinstance(manifest, dict):
        raise DatasetVerificationError(f"{path} is not a coursekit manifest (a JSON {type(manifest).__name__}, "
                                       f"not an object); {fix}")
    wrong = [k for k, t in keys.items() if not isinstance(manifest.get(k), t) or isinstance(manifest.get(k), bool)]
    if wrong:
        raise DatasetVerificationError(f"{path} is not a coursekit manifest: {wrong} missing or of the wrong "
                                       f"type; {fix}")
    bad = [f for f, h in manifest["sha256"].items() if not is_plain_relative(f) or not _is_sha256(h)]
    if bad:
        raise DatasetVerificationError(f"{path} is not a coursekit manifest: entries {bad[:3]} are not a file "
                                       f"inside the folder with a sha256; {fix}")
    if not any_version and manifest["format_version"] != FORMAT_VERSION:
        raise DatasetVerificationError(
            f"{path}: the world was written in format {manifest['format_version']}, this coursekit reads format "
            f"{FORMAT_VERSION}; regenerate it with `coursekit world --size {manifest['size']} --write {folder}`")
    if not any_version and manifest["size"] not in SIZES:
        raise DatasetVerificationError(f"{path}: unknown world size {manifest['size']!r}; {fix}")
    return manifest


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class _WorldFolder:
    """A world folder being read: every file verified against the manifest, every error naming its file."""

    def __init__(self, folder: Path, manifest: dict, verify: bool):
        self.folder, self.manifest, self.verify = folder, manifest, verify
        self.size = manifest["size"]
        self.n_weeks = manifest["n_weeks"]
        self.verified: dict[str, str] = {}
        self.regenerate = f"regenerate it with `coursekit world --size {self.size} --write {folder}`"

    @classmethod
    def open(cls, size, path, progress, *, verify: bool) -> "_WorldFolder":
        if size is not None and size not in SIZES:
            raise ValueError(f"unknown world size {size!r}; use one of {sorted(SIZES)}")
        if not isinstance(verify, bool):
            raise TypeError(f"verify must be True or False, got {verify!r}")
        folder = Path(path) if path is not None else world_dir(size or "small")
        if not (folder / _MANIFEST).exists():
            _owned_files(folder)  # an error when the folder holds files that are not a world
            write_world(size or "small", folder, progress=progress)
        manifest = _read_manifest(folder)
        if size is not None and manifest["size"] != size:
            raise ValueError(f"{folder} holds the {manifest['size']!r} world (its {_MANIFEST} says so), not "
                             f"size={size!r}; pass size={manifest['size']!r} or the folder of the {size!r} world")
        expected_weeks = SIZES[manifest["size"]].n_weeks
        if manifest["n_weeks"] != expected_weeks:
            raise DatasetVerificationError(f"{folder / _MANIFEST}: n_weeks is {manifest['n_weeks']}, the "
                                           f"{manifest['size']!r} world has {expected_weeks}")
        return cls(folder, manifest, verify)

    def error(self, name: str, problem: str) -> DatasetVerificationError:
        return DatasetVerificationError(f"{self.folder / name}: {problem}. The file was edited or damaged: "
                                        f"{self.regenerate}")

    def exists(self, name: str) -> bool:
        return (self.folder / name).exists()

    def read(self, name: str) -> bytes:
        """The bytes of ``name``, checked against the manifest's sha256 when verifying."""
        path = self.folder / name
        if self.verify and name not in self.manifest["sha256"]:
            raise DatasetVerificationError(f"{self.folder / _MANIFEST} lists no sha256 for {name}, so it cannot "
                                           f"be verified; {self.regenerate}, or pass verify=False")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"{path} is missing: the world in {self.folder} is incomplete; "
                                    f"{self.regenerate}") from None
        except IsADirectoryError:
            raise self.error(name, "is a folder, not a file") from None
        if self.verify:
            got = sha256_bytes(data)
            if got != self.manifest["sha256"][name]:
                raise DatasetVerificationError(
                    f"{path}: its sha256 differs from the one in {_MANIFEST} (the file was edited or damaged); "
                    f"{self.regenerate}, or pass verify=False to read it as it is")
            self.verified[name] = got
        return data

    def fingerprint(self) -> str:
        """SHA-256 over the verified files' sha256 entries and n_weeks: what a model cache is keyed on."""
        blob = json.dumps({"n_weeks": self.n_weeks, "sha256": self.verified}, sort_keys=True)
        return sha256_bytes(blob.encode("utf-8"))

    def parse(self, name: str, parse):
        """``parse(bytes)`` (gunzipped for ``.gz``), any error of a damaged file turned into one naming the file."""
        data = self.read(name)
        try:
            return parse(gzip.decompress(data) if name.endswith(".gz") else data)
        except (ValueError, EOFError, OSError, zlib.error, KeyError, IndexError, TypeError) as err:
            raise self.error(name, f"cannot be read ({type(err).__name__}: {str(err)[:200]})") from err

    def require_columns(self, frame: pd.DataFrame, name: str, columns) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise self.error(name, f"lacks the column(s) {missing}; it has {list(frame.columns)[:12]}")

    def csv(self, name: str) -> pd.DataFrame:
        frame = self.parse(name, _read_csv)
        table = name.split(".")[0]
        if table in _COLUMNS:
            self.require_columns(frame, name, _COLUMNS[table])
        return frame

    def documents(self, name: str) -> pd.DataFrame:
        docs = self.parse(name, _read_documents)
        self.require_columns(docs, name, _COLUMNS["documents"])
        docs["text"] = docs["text"].astype(str)
        return docs

    def listens(self, name: str) -> pd.DataFrame:
        if self.exists(f"{name}.csv.gz") or not self.exists(name):
            file = f"{name}.csv.gz"
            frame = self.parse(file, _read_listens_csv)
            self.require_columns(frame, file, LISTEN_COLUMNS)
            return frame[list(LISTEN_COLUMNS)]
        columns = {c: self.parse(f"{name}/{c}.npy", _load_npy).astype(np.int64) for c in LISTEN_COLUMNS}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1 or any(v.ndim != 1 for v in columns.values()):
            raise self.error(name, "its .npy columns differ in length or shape")
        return pd.DataFrame(columns)

    def matrix(self, name: str) -> np.ndarray:
        if self.exists(f"{name}.npy"):
            m = self.parse(f"{name}.npy", _load_npy).astype(np.float64)
        else:
            m = self.parse(f"{name}.csv.gz", lambda data: np.loadtxt(io.BytesIO(data), delimiter=",", ndmin=2))
        if m.ndim != 2 or not np.isfinite(m).all():
            raise self.error(name, "is not a finite 2-D matrix")
        return m


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _check_counts(world: World, folder: _WorldFolder) -> None:
    rows = folder.manifest["rows"]
    for name in ("artists", "tracks", "users", "listens", "documents"):
        expected = rows.get(name)
        got = len(getattr(world, name))
        if got != expected:
            raise DatasetVerificationError(
                f"{folder.folder}: table {name!r} has {got} rows, the manifest says {expected}; the files are "
                f"damaged or half-written: {folder.regenerate}")


def _check_content(world: World, folder: _WorldFolder) -> None:
    """What a hash cannot tell (hand-made folders, ``verify=False``): ids, references, counts."""
    def ids(frame, column, file, *, unique=False, nullable=False):
        values = frame[column]
        if nullable:
            values = values.dropna()
        if not pd.api.types.is_integer_dtype(values.dtype) and not (len(values) == 0):
            raise folder.error(file, f"column {column!r} must hold whole numbers, found {values.dtype}")
        values = values.to_numpy(np.int64)
        dup = _repeated(values) if unique else []
        if len(dup):
            raise folder.error(file, f"column {column!r} repeats the id(s) {dup[:3].tolist()}")
        return values

    def known(values, universe, file, column, what):
        unknown = np.unique(values[~np.isin(values, universe)])
        if len(unknown):
            raise folder.error(file, f"column {column!r} names {len(unknown)} {what} id(s) that do not exist, e.g. "
                                     f"{unknown[:3].tolist()}")

    artists = ids(world.artists, "artist_id", "artists.csv", unique=True)
    tracks = ids(world.tracks, "track_id", "tracks.csv", unique=True)
    users = ids(world.users, "user_id", "users.csv", unique=True)
    known(ids(world.tracks, "artist_id", "tracks.csv"), artists, "tracks.csv", "artist_id", "artist")
    t = world.tracks
    for column, ok in (("tempo", t["tempo"] > 0), ("duration_s", t["duration_s"] > 0),
                       ("key", t["key"].between(0, 11)), ("mode", t["mode"].isin([0, 1])),
                       ("time_signature", t["time_signature"].between(1, 16)),
                       *((c, pd.to_numeric(t[c], errors="coerce").between(0.0, 1.0))
                         for c in ("acousticness", "energy", "instrumentalness")),
                       ("loudness", np.isfinite(pd.to_numeric(t["loudness"], errors="coerce")))):
        bad = ~ok.to_numpy(bool)
        if bad.any():
            raise folder.error("tracks.csv", f"{int(bad.sum())} row(s) with an impossible {column}, e.g. track "
                                             f"{t['track_id'].to_numpy()[bad][:3].tolist()}")
    listens_file = "listens.csv.gz" if folder.exists("listens.csv.gz") else "listens"
    _check_listens(world.listens, folder, listens_file, users, tracks, range(folder.n_weeks))
    docs_file = "documents.csv.gz"
    ids(world.documents, "doc_id", docs_file, unique=True)
    known(ids(world.documents, "artist_id", docs_file), artists, docs_file, "artist_id", "artist")
    known(ids(world.documents, "track_id", docs_file, nullable=True), tracks, docs_file, "track_id", "track")


def _check_listens(listens: pd.DataFrame, folder: _WorldFolder, file: str, users, tracks, weeks: range) -> None:
    values = {c: listens[c].to_numpy() for c in LISTEN_COLUMNS}
    checks = (
        ("user_id", ~np.isin(values["user_id"], users), "user ids that are not in the users table"),
        ("track_id", ~np.isin(values["track_id"], tracks), "track ids that are not in the tracks table"),
        ("week", (values["week"] < weeks.start) | (values["week"] >= weeks.stop),
         f"weeks outside {weeks.start}..{weeks.stop - 1}"),
        ("streams", values["streams"] < 1, "stream counts below 1 (every row has at least one stream)"),
        ("saved", ~np.isin(values["saved"], [0, 1]), "saved values other than 0 and 1"),
        ("artist_page_visits", values["artist_page_visits"] < 0, "negative artist-page visits"),
    )
    for column, bad, what in checks:
        if bad.any():
            raise folder.error(file, f"{int(bad.sum())} row(s) with {what} (column {column!r}), e.g. "
                                     f"{values[column][bad][:3].tolist()}")
    # one int64 key per (week, user, track) from row positions (ids are known and weeks in range by now,
    # so it cannot overflow); the files are written in this order, so the check is one pass
    u, t = _positions(users, values["user_id"]), _positions(tracks, values["track_id"])
    key = ((values["week"] - weeks.start) * len(users) + u) * len(tracks) + t
    repeated = len(_repeated(key))
    if repeated:
        raise folder.error(file, f"{repeated} repeated (user_id, track_id, week) row(s)")


def _repeated(values: np.ndarray) -> np.ndarray:
    """The values that occur more than once (sorted); one pass when ``values`` is strictly increasing."""
    if len(values) < 2 or (np.diff(values) > 0).all():
        return values[:0]
    s = np.sort(values)
    return np.unique(s[1:][s[1:] == s[:-1]])


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row position of each of ``values`` in the unique ``ids`` (all known)."""
    if len(ids) and ids[0] == ids.min() and ids[-1] - ids[0] + 1 == len(ids) and not len(_repeated(ids)):
        return values.astype(np.int64) - ids[0]  # ids 1..n in order, as written: no search needed
    order = np.argsort(ids)
    return order[np.searchsorted(ids, values, sorter=order)].astype(np.int64)


# ---------------------------------------------------------------- file formats
def _gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as fh:
        fh.write(data)
    return buf.getvalue()


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    text = df.to_csv(index=False, float_format=_FLOAT, lineterminator="\n").encode("utf-8")
    path.write_bytes(_gzip_bytes(text) if path.suffix == ".gz" else text)


def _read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])


def _read_documents(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values={"track_id": [""]},
                       dtype={"track_id": "Int64"})


def _read_listens_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype={c: np.int64 for c in LISTEN_COLUMNS})


def _write_matrix(m: np.ndarray, folder: Path, name: str, binary: bool) -> None:
    if binary:
        np.save(folder / f"{name}.npy", m.astype(np.float32))
        return
    buf = io.StringIO()
    np.savetxt(buf, m, fmt=_FLOAT, delimiter=",")
    (folder / f"{name}.csv.gz").write_bytes(_gzip_bytes(buf.getvalue().encode()))


def _write_listens(df: pd.DataFrame, folder: Path, name: str, columnar: bool) -> None:
    if not columnar:
        _write_csv(df, folder / f"{name}.csv.gz")
        return
    (folder / name).mkdir()
    for col in LISTEN_COLUMNS:
        values = df[col].to_numpy()
        small = np.int32 if col in ("user_id", "track_id") else np.int16
        np.save(folder / name / f"{col}.npy", values.astype(small))
