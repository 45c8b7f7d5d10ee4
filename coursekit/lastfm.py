"""Real listening data: Last.fm, behind the same interface as the music world.

Two public Last.fm datasets land in the course's tables (a :class:`LastfmWorld`,
which *is* a :class:`coursekit.world.World`), with artists as the items:

* ``"lastfm-2k"`` — HetRec 2011 (GroupLens): 1,892 users, 17,632 artists, play
  counts, and the tags users gave artists (the artists' "web text" for chapter 03).
* ``"lastfm-360k"`` — Òscar Celma's 360K users, in the HDF5 file that ``implicit``
  publishes (play counts only), read from implicit's own folder.

:func:`coursekit.datasets.load_dataset` switches between these and the generated
world, so a notebook needs one ``DATASET`` parameter (it is importable from here
too). A real dataset has no truth (no
next week, no true tastes) and no audio: ``world.has_truth`` and
``world.has_audio`` are ``False``, and the audio columns of ``tracks`` are absent.

HetRec downloads go to ``cache_dir()/lastfm`` (``$COURSEKIT_DATA``, default
``~/.cache/coursekit``) through :func:`coursekit.download.download_file`
(verified, atomic, retried, with a progress bar). Offline, place the zip in that
folder, or its unpacked ``.dat`` files in its ``hetrec2011-lastfm-2k`` sub-folder,
by hand: the error message says exactly where. The 360K file lives in implicit's
folder (``$IMPLICIT_DATASET_DIR``, default ``~/implicit_datasets``); no checksum
of it is published, so it is read only with an explicit ``verify=False``, which
warns (:class:`UnverifiedDataWarning`).

Reading rules for the ``.dat`` files (tab-separated, one header line):

* each line is decoded as UTF-8; a line that is not valid UTF-8 (``tags.dat`` has
  a few legacy bytes) is decoded as Windows-1252 (Latin-1 for the bytes it lacks)
  and counted in :attr:`LoadReport.non_utf8_lines`;
* duplicate (user, artist) rows of ``user_artists.dat`` are summed and counted;
* a last line that ends without a newline *and* is incomplete (too few fields,
  or an empty or cut-off number) is a truncated download: it is left out, kept verbatim
  in :attr:`LoadReport.truncated_lines` and warned about;
* any other malformed line is an error naming the file and line number.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._files import atomic_write, cache_dir, sha256_file
from .datasets import DATASETS, load_dataset
from .download import DatasetUnavailableError, DatasetVerificationError, download_file
from .world import LISTEN_COLUMNS, World

__all__ = [
    "DATASETS", "REGISTRY", "DatasetSpec", "TableSpec", "LastfmWorld", "LoadReport",
    "DatasetUnavailableError", "DatasetVerificationError", "DataQualityWarning", "UnverifiedDataWarning",
    "data_folder", "implicit_folder", "download_file", "fetch", "read_table", "load_lastfm_2k", "plays_to_world",
    "load_lastfm_360k", "load_dataset",
]

# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class TableSpec:
    """One tab-separated file of a dataset and how to check it.

    Attributes
    ----------
    filename : str
        Name of the file inside the dataset folder.
    header : tuple of str
        The exact header line, split at tabs.
    rows : int or None
        Data rows (header excluded) in the official release; ``None`` skips the check.
    int_columns : tuple of str
        Columns that must hold whole numbers.
    min_fields : int or None
        Fewest fields a line may have (trailing optional text columns may be
        absent); default: all of them.
    """

    filename: str
    header: tuple[str, ...]
    rows: int | None = None
    int_columns: tuple[str, ...] = ()
    min_fields: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and how to tell that a copy is whole.

    Attributes
    ----------
    name : str
        The name :func:`load_dataset` knows it by.
    filename : str
        Name of the downloaded file in :func:`data_folder`.
    urls : tuple of str
        Primary download address first, then mirrors.
    sha256 : str or None
        SHA-256 of the downloaded file; ``None`` when no published checksum is known.
    size : int or None
        Size of the downloaded file in bytes, when known.
    folder : str or None
        Sub-folder of :func:`data_folder` the archive is unpacked into
        (``None``: the download is used as it is).
    tables : tuple of TableSpec
        The files the loader reads, with their expected header and row counts.
    counts : dict
        Expected numbers of distinct ``users`` and ``items`` in the play counts.
    homepage : str
        Where a person can read about the dataset and download it by hand.
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None
    size: int | None = None
    folder: str | None = None
    tables: tuple[TableSpec, ...] = ()
    counts: dict = field(default_factory=dict)
    homepage: str = ""

    def table(self, filename: str) -> TableSpec:
        """The :class:`TableSpec` of ``filename``."""
        for t in self.tables:
            if t.filename == filename:
                return t
        raise KeyError(f"{self.name} has no table {filename!r}; it has {[t.filename for t in self.tables]}")


#: Every downloadable dataset, by name. The HetRec checksum is the one several
#: independent projects publish for the GroupLens zip; GroupLens has no mirror,
#: and implicit's 360K file has no published checksum: it is read only with an
#: explicit ``verify=False`` (or a ``spec`` carrying a checksum you trust).
REGISTRY: dict[str, DatasetSpec] = {
    "lastfm-2k": DatasetSpec(
        name="lastfm-2k",
        filename="hetrec2011-lastfm-2k.zip",
        urls=("https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",),
        sha256="6738f48195667ff03caaab4d32ca9a3133d8cc026b7c3cdaf6ce1010e913c59c",
        folder="hetrec2011-lastfm-2k",
        tables=(
            TableSpec("user_artists.dat", ("userID", "artistID", "weight"), 92_834,
                      ("userID", "artistID", "weight")),
            TableSpec("artists.dat", ("id", "name", "url", "pictureURL"), 17_632, ("id",), min_fields=2),
            TableSpec("tags.dat", ("tagID", "tagValue"), 11_946, ("tagID",)),
            TableSpec("user_taggedartists.dat", ("userID", "artistID", "tagID", "day", "month", "year"),
                      186_479, ("userID", "artistID", "tagID", "day", "month", "year")),
        ),
        counts={"users": 1_892, "items": 17_632},
        homepage="https://grouplens.org/datasets/hetrec-2011/",
    ),
    "lastfm-360k": DatasetSpec(
        name="lastfm-360k",
        filename="lastfm_360k.hdf5",
        urls=("https://github.com/benfred/recommender_data/releases/download/v1.0/lastfm_360k.hdf5",),
        homepage="http://ocelma.net/MusicRecommendationDataset/lastfm-360K.html",
    ),
}


# ------------------------------------------------------------- errors and report
class DataQualityWarning(UserWarning):
    """The files were read, but something in them was repaired (summed duplicates, a cut-off last line)."""


class UnverifiedDataWarning(UserWarning):
    """A file was used without checking it against a checksum (``verify=False``)."""


@dataclass
class LoadReport:
    """What reading a real dataset found, so that nothing is dropped silently.

    Attributes
    ----------
    dataset : str
        Dataset name.
    source : str
        Folder or file the tables were read from.
    rows : dict
        Complete data rows read, per file.
    non_utf8_lines : dict
        Lines per file that were not valid UTF-8 and were decoded as Windows-1252.
    truncated_lines : dict
        File → the cut-off last line that was left out.
    duplicate_rows_merged : int
        (user, item) rows summed into an earlier row.
    unmatched : dict
        Counts of references that did not resolve, e.g. ``tag_assignments_unknown_artist``
        (tags given to artists missing from ``artists.dat``), ``unknown_tag_ids``,
        ``items_without_name``.
    notes : list of str
        Anything else worth knowing (e.g. the matrix orientation found).
    """

    dataset: str
    source: str = ""
    rows: dict = field(default_factory=dict)
    non_utf8_lines: dict = field(default_factory=dict)
    truncated_lines: dict = field(default_factory=dict)
    duplicate_rows_merged: int = 0
    unmatched: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def problems(self) -> list[str]:
        """One sentence per repair the loader had to make (empty when the files were clean)."""
        out = [f"{f}: the last line is cut off (no newline, incomplete) and was left out: {line!r}"
               for f, line in self.truncated_lines.items()]
        if self.duplicate_rows_merged:
            out.append(f"{self.duplicate_rows_merged} duplicate (user, item) row(s) were summed into one")
        return out


@dataclass
class LastfmWorld(World):
    """A :class:`~coursekit.world.World` read from real data.

    Same tables as the generated world, with artists as the items: ``tracks``
    has one row per artist (``track_id`` = ``artist_id``, ``title`` = the
    artist's name, ``genre`` = its most used tag or ``"unknown"``,
    ``release_week`` = 0) and no audio columns; ``listens`` has one row per
    (user, artist) in week 0 with ``streams`` = play count and
    ``saved`` = ``artist_page_visits`` = 0; ``documents`` has one ``kind="tags"``
    document per tagged artist.

    Attributes
    ----------
    report : LoadReport
        What reading the files found.
    has_truth : bool
        Always ``False``: there is no next week and no true taste to evaluate
        against (hold out listens with :func:`coursekit.feedback.split_random`).
    has_audio : bool
        Always ``False``: no audio attributes, nothing to render.
    """

    report: LoadReport | None = None
    has_truth: bool = False
    has_audio: bool = False


# -------------------------------------------------------------------- downloads
def data_folder() -> Path:
    """Folder of the Last.fm downloads: ``cache_dir()/lastfm``."""
    return cache_dir() / "lastfm"


def _manual_hint(spec: DatasetSpec, dest: Path) -> str:
    where = f"place the file at {dest}"
    if spec.folder:
        where += f" (or unpack its files into {dest.parent / spec.folder})"
    return (f"If this machine is offline or behind a firewall, download {spec.urls[0]} on another machine "
            f"(see {spec.homepage or spec.urls[0]}) and {where}. Set COURSEKIT_DATA to use another cache folder.")


def fetch(name: str, *, spec: DatasetSpec | None = None, download: bool = True, verify: bool = True,
          **download_kw) -> Path:
    """The verified download of a registered dataset, downloading it when absent.

    A file already in :func:`data_folder` (a finished download, or one placed
    there by hand) is checked against the registry's size and SHA-256 first.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    spec : DatasetSpec, optional
        Use this instead of ``REGISTRY[name]`` (tests, another release).
    download : bool
        Allow the network; with ``False`` a missing file is an error at once.
    verify : bool
        Check size and SHA-256. ``False`` accepts a file that differs from the
        registry (another release, a copy of your own) with an
        :class:`UnverifiedDataWarning`.
    **download_kw
        ``urlopen``, ``sleep``, ``retries``, ``backoff_s``, ``timeout_s``,
        ``progress``: see :func:`download_file`.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    DatasetUnavailableError
        Not in the cache and not downloadable; names the folder to put it in.
    DatasetVerificationError
        The cached file does not match the registry.

    Examples
    --------
    >>> fetch("lastfm-2k", download=False)  # doctest: +SKIP
    PosixPath('/home/me/.cache/coursekit/lastfm/hetrec2011-lastfm-2k.zip')
    """
    spec = _spec(name, spec)
    dest = data_folder() / spec.filename
    hint = _manual_hint(spec, dest)
    if dest.exists():
        _verify_file(dest, spec, verify=verify)
        return dest
    if not download:
        raise DatasetUnavailableError(f"{spec.name} is not in the cache ({dest} does not exist) and "
                                      f"download=False. {hint}")
    if not verify:
        _warn_unverified(dest)
    return download_file(spec.urls, dest, sha256=spec.sha256 if verify else None,
                         size=spec.size if verify else None, hint=hint, **download_kw)


def _spec(name: str, spec: DatasetSpec | None) -> DatasetSpec:
    if spec is not None:
        return spec
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; registered: {sorted(REGISTRY)}")
    return REGISTRY[name]


def _warn_unverified(path: Path) -> None:
    warnings.warn(f"{path} is used without checking its SHA-256 (verify=False): a damaged or altered copy "
                  f"would go unnoticed", UnverifiedDataWarning, stacklevel=4)


def _verify_file(path: Path, spec: DatasetSpec, *, verify: bool = True) -> None:
    if not verify:
        _warn_unverified(path)
        return
    got_size = path.stat().st_size
    if spec.size is not None and got_size != spec.size:
        raise DatasetVerificationError(f"{path} has {got_size} bytes, {spec.name} should have {spec.size}: it is "
                                       f"damaged or another file. Delete it and load again to download it anew.")
    if spec.sha256 is not None:
        got = sha256_file(path)
        if got != spec.sha256:
            raise DatasetVerificationError(
                f"{path} has sha256 {got}, {spec.name} should have {spec.sha256}: the file is damaged, cut short "
                f"or another release. Delete it and load again to download it anew.")


def _unpacked(spec: DatasetSpec, *, download: bool, verify: bool = True, **download_kw) -> Path:
    """The folder with the dataset's tables, unpacking (and downloading) the archive if needed.

    Files are taken from the archive by name (wherever they sit in it) and
    each is written through a uniquely named temporary file renamed when complete.
    """
    folder = data_folder() / spec.folder
    missing = [t.filename for t in spec.tables if not (folder / t.filename).exists()]
    if not missing:
        return folder
    archive = fetch(spec.name, spec=spec, download=download, verify=verify, **download_kw)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m).name: m for m in zf.namelist() if not m.endswith("/")}
            absent = [f for f in missing if f not in members]
            if absent:
                raise DatasetVerificationError(f"{archive} does not contain {absent}; it holds {sorted(members)}")
            folder.mkdir(parents=True, exist_ok=True)
            for filename in missing:
                with atomic_write(folder / filename) as tmp, zf.open(members[filename]) as src, \
                        open(tmp, "wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
    except zipfile.BadZipFile as err:
        raise DatasetVerificationError(f"{archive} is not a readable zip ({err}); delete it and load again") from err
    return folder


# ------------------------------------------------------------------ file reader
def _decode(raw: bytes) -> tuple[str, bool]:
    """UTF-8 if it is; Windows-1252 (Latin-1 for its five gaps) otherwise. Returns (text, was_utf8)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), False
        except UnicodeDecodeError:
            return raw.decode("latin-1"), False


def read_table(path, table: TableSpec, *, report: LoadReport | None = None) -> pd.DataFrame:
    """Read one HetRec ``.dat`` file exactly: header checked, every line accounted for.

    Parameters
    ----------
    path : path-like
        The file.
    table : TableSpec
        Its expected header, integer columns and fewest fields.
    report : LoadReport, optional
        Receives the row count, the non-UTF-8 lines and a truncated last line.

    Returns
    -------
    pandas.DataFrame
        Columns named as the header; integer columns as ``int64``, the others
        as strings (a missing optional field is ``""``).

    Raises
    ------
    DatasetVerificationError
        A different header, or a malformed line other than a cut-off last one,
        naming the file and line number.
    """
    path = Path(path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    ends_with_newline = lines[-1] == b""
    if ends_with_newline:
        lines.pop()
    n_fields = len(table.header)
    min_fields = n_fields if table.min_fields is None else table.min_fields
    int_pos = [table.header.index(c) for c in table.int_columns]
    header = _decode(lines[0].rstrip(b"\r"))[0].lstrip("\ufeff").split("\t") if lines else []
    if tuple(header) != table.header:
        raise DatasetVerificationError(f"{path}: header is {header}, expected {list(table.header)} "
                                       f"(tab-separated); this is not the {table.filename} of the dataset")
    columns = [[] for _ in range(n_fields)]
    non_utf8 = 0
    truncated = None
    last = len(lines) - 1
    blank = 0
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            blank += 1
            continue
        text, utf8 = _decode(raw.rstrip(b"\r"))
        fields = text.split("\t")
        problem = None
        if not min_fields <= len(fields) <= n_fields:
            problem = f"{len(fields)} field(s), expected {n_fields}"
        else:
            fields += [""] * (n_fields - len(fields))
            try:
                values = [int(fields[p]) for p in int_pos]
            except ValueError:
                problem = f"a non-integer in {[table.header[p] for p in int_pos]}"
        if problem is not None:
            if number - 1 == last and not ends_with_newline:
                truncated = text
                break
            raise DatasetVerificationError(f"{path}, line {number}: {problem}: {text[:200]!r}")
        for p, v in zip(int_pos, values):
            fields[p] = v
        for col, v in zip(columns, fields):
            col.append(v)
        non_utf8 += not utf8
    frame = pd.DataFrame({name: (np.array(col, dtype=np.int64) if i in int_pos else pd.Series(col, dtype=object))
                          for i, (name, col) in enumerate(zip(table.header, columns))})
    if report is not None:
        report.rows[table.filename] = len(frame)
        if non_utf8:
            report.non_utf8_lines[table.filename] = non_utf8
        if truncated is not None:
            report.truncated_lines[table.filename] = truncated
        if blank:
            report.notes.append(f"{table.filename}: skipped {blank} empty line(s)")
    return frame


# -------------------------------------------------------------- HetRec 2011 (2k)
def load_lastfm_2k(*, folder=None, download: bool = True, verify: bool = True, spec: DatasetSpec | None = None,
                   **download_kw) -> LastfmWorld:
    """Last.fm HetRec 2011 (1,892 users, 17,632 artists) in the course's tables.

    Looks for the unpacked files in ``data_folder()/hetrec2011-lastfm-2k``, then
    for the zip in ``data_folder()`` (verified by SHA-256, then unpacked), then
    downloads the zip.

    Parameters
    ----------
    folder : path-like, optional
        Read the ``.dat`` files from this folder instead (nothing is downloaded).
    download : bool
        Allow the network when the files are not in the cache.
    verify : bool
        Check the zip's SHA-256, every file's row count and the numbers of users
        and artists against the registry. ``False`` reads a copy that differs
        from the official release (warning :class:`UnverifiedDataWarning` for
        the zip). Headers are always checked.
    spec : DatasetSpec, optional
        Use this instead of ``REGISTRY["lastfm-2k"]`` (tests, another release).
    **download_kw
        Passed to :func:`download_file` (``urlopen``, ``sleep``, ``retries``,
        ``backoff_s``, ``timeout_s``, ``progress``).

    Returns
    -------
    LastfmWorld
        ``size="lastfm-2k"``, ``n_weeks=1``; see :class:`LastfmWorld` for the tables.

    Raises
    ------
    DatasetUnavailableError
        Not in the cache and not downloadable (offline): the message names the
        folder where the zip or its files can be placed by hand.
    DatasetVerificationError
        A file has another header, malformed lines, or other row counts than the
        official release.

    Warns
    -----
    DataQualityWarning
        When duplicate rows were summed or a cut-off last line was left out.

    Examples
    --------
    >>> world = load_lastfm_2k()  # doctest: +SKIP
    >>> world.listens.head(2)  # doctest: +SKIP
       user_id  track_id  week  streams  saved  artist_page_visits
    0        2        51     0    13883      0                   0
    1        2        52     0    11690      0                   0
    """
    spec = _spec("lastfm-2k", spec)
    folder = Path(folder) if folder is not None else _unpacked(spec, download=download, verify=verify, **download_kw)
    report = LoadReport(dataset=spec.name, source=str(folder))
    missing = [t.filename for t in spec.tables if not (folder / t.filename).exists()]
    if missing:
        raise DatasetUnavailableError(f"{folder} lacks {missing}. {_manual_hint(spec, data_folder() / spec.filename)}")
    tables = {t.filename: read_table(folder / t.filename, t, report=report) for t in spec.tables}
    plays = tables["user_artists.dat"].rename(columns={"userID": "user_id", "artistID": "artist_id",
                                                       "weight": "streams"})
    if verify:
        _check_rows(spec, report, folder)
    summed = plays.groupby(["user_id", "artist_id"], as_index=False, sort=True)["streams"].sum()
    report.duplicate_rows_merged = len(plays) - len(summed)
    if verify:
        _check_counts(spec, summed["user_id"].nunique(), summed["artist_id"].nunique(), folder)

    names = tables["artists.dat"].rename(columns={"id": "artist_id", "pictureURL": "picture_url"})
    dup_names = int(names["artist_id"].duplicated().sum())
    if dup_names:
        raise DatasetVerificationError(f"{folder / 'artists.dat'}: {dup_names} artist id(s) appear twice")
    item_ids = np.union1d(names["artist_id"].to_numpy(), summed["artist_id"].to_numpy())
    artists = pd.DataFrame({"artist_id": item_ids}).merge(names, on="artist_id", how="left")
    nameless = artists["name"].isna()
    report.unmatched["items_without_name"] = int(nameless.sum())
    artists.loc[nameless, "name"] = "artist " + artists.loc[nameless, "artist_id"].astype(str)
    artists = artists.fillna({"url": "", "picture_url": ""})

    documents, top_tag = _tag_documents(tables["tags.dat"], tables["user_taggedartists.dat"], item_ids, report)
    artists["genre"] = artists["artist_id"].map(top_tag).fillna("unknown").astype(object)
    artists = artists[["artist_id", "name", "genre", "url", "picture_url"]]

    world = _world(spec.name, summed, artists, pd.DataFrame({"user_id": np.unique(summed["user_id"])}),
                   documents, report)
    problems = report.problems()
    if problems:
        warnings.warn(f"{spec.name} ({folder}): " + "; ".join(problems), DataQualityWarning, stacklevel=2)
    return world


def _check_rows(spec: DatasetSpec, report: LoadReport, folder: Path) -> None:
    wrong = {t.filename: (report.rows[t.filename], t.rows) for t in spec.tables
             if t.rows is not None and report.rows[t.filename] != t.rows}
    if wrong:
        detail = "; ".join(f"{f} has {got} rows, expected {want}"
                           + (" (its last line is cut off)" if f in report.truncated_lines else "")
                           for f, (got, want) in wrong.items())
        raise DatasetVerificationError(
            f"{folder}: {detail}. The files are damaged, cut short or from another release: delete the folder "
            f"(and the zip next to it) and load again, or pass verify=False to read them anyway.")


def _check_counts(spec: DatasetSpec, n_users: int, n_items: int, folder: Path) -> None:
    want = spec.counts
    got = {"users": n_users, "items": n_items}
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    if wrong:
        detail = ", ".join(f"{got_} {k} (expected {v})" for k, (got_, v) in wrong.items())
        raise DatasetVerificationError(f"{folder}: the play counts have {detail}; delete the folder and load "
                                       f"again, or pass verify=False to read them anyway.")


def _tag_documents(tags: pd.DataFrame, tagged: pd.DataFrame, item_ids: np.ndarray, report: LoadReport):
    """One ``kind="tags"`` document per tagged artist, and each artist's most used tag.

    The text holds every tag as often as users gave it, most used first, one
    tag a sentence ("indie rock. indie rock. britpop."), so term counts in
    chapter 03 follow how many listeners agree.
    """
    tag_name = dict(zip(tags["tagID"].tolist(), tags["tagValue"].tolist()))
    known_tag = tagged["tagID"].isin(list(tag_name))
    known_artist = tagged["artistID"].isin(item_ids)
    report.unmatched["unknown_tag_ids"] = int((~known_tag).sum())
    report.unmatched["tag_assignments_unknown_artist"] = int((known_tag & ~known_artist).sum())
    used = tagged.loc[known_tag & known_artist, ["artistID", "tagID"]]
    counts = used.groupby(["artistID", "tagID"]).size().rename("n").reset_index()
    counts["tag"] = counts["tagID"].map(tag_name)
    counts = counts.sort_values(["artistID", "n", "tag"], ascending=[True, False, True], kind="stable")
    texts, top = {}, {}
    for artist, tag, n in zip(counts["artistID"].tolist(), counts["tag"].tolist(), counts["n"].tolist()):
        if artist not in texts:  # rows come most used first within each artist
            top[artist], texts[artist] = tag, []
        texts[artist] += [f"{tag}."] * n
    texts = {a: " ".join(parts) for a, parts in texts.items()}
    documents = pd.DataFrame({
        "doc_id": np.arange(1, len(texts) + 1, dtype=np.int64),
        "artist_id": np.array(list(texts), dtype=np.int64),
        "track_id": pd.array([pd.NA] * len(texts), dtype="Int64"),
        "kind": "tags",
        "text": pd.Series(list(texts.values()), dtype=object),
    })
    return documents, top


def _world(name: str, listens_by_artist: pd.DataFrame, artists: pd.DataFrame, users: pd.DataFrame,
           documents: pd.DataFrame, report: LoadReport, dtype=np.int64) -> LastfmWorld:
    """Assemble the course's tables, artists as items (``track_id`` = ``artist_id``)."""
    n = len(listens_by_artist)
    listens = pd.DataFrame({
        "user_id": listens_by_artist["user_id"].to_numpy(dtype),
        "track_id": listens_by_artist["artist_id"].to_numpy(dtype),
        "week": np.zeros(n, dtype),
        "streams": listens_by_artist["streams"].to_numpy(dtype),
        "saved": np.zeros(n, dtype),
        "artist_page_visits": np.zeros(n, dtype),
    })[list(LISTEN_COLUMNS)]
    tracks = pd.DataFrame({
        "track_id": artists["artist_id"].to_numpy(np.int64),
        "artist_id": artists["artist_id"].to_numpy(np.int64),
        "title": artists["name"].to_numpy(object),
        "genre": artists["genre"].to_numpy(object),
        "release_week": np.zeros(len(artists), np.int64),
    })
    return LastfmWorld(artists=artists.reset_index(drop=True), tracks=tracks, users=users.reset_index(drop=True),
                       listens=listens, documents=documents, size=name, n_weeks=1, report=report)


# ---------------------------------------------------------------- Last.fm 360K
def plays_to_world(artists, users, plays, *, name: str = "lastfm-360k") -> LastfmWorld:
    """Turn implicit's ``(artists, users, plays)`` into the course's tables.

    :func:`implicit.datasets.lastfm.get_lastfm` returns ``plays`` as an
    **artist × user** CSR matrix; the course (and implicit's ``fit``) wants
    users × items, so it is transposed. The orientation is checked against the
    lengths of the two name arrays. Because the matrix is built without an
    explicit shape, users after the last one with a play are missing from it;
    they are still in the ``users`` table (with no listens).

    Parameters
    ----------
    artists : array-like of str
        Artist names, one per row of ``plays``.
    users : array-like of str
        User names (hashes), one per column of ``plays``.
    plays : scipy.sparse matrix
        Play counts, artist × user (a users × artists matrix is accepted too
        when the two lengths tell them apart).
    name : str
        Dataset name stored in ``world.size``.

    Returns
    -------
    LastfmWorld
        ``users`` (``user_id`` 1..n, ``lastfm_user`` the original name),
        ``artists``/``tracks`` (``artist_id`` = ``track_id`` 1..m, ``name``/``title``,
        ``genre="unknown"``), ``listens`` (``int32`` columns to save memory),
        and an empty ``documents`` table (this dataset has no text).

    Raises
    ------
    ValueError
        If the matrix shape fits neither orientation, or it holds negative or
        non-finite counts.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> plays = sp.csr_matrix(np.array([[3.0, 0.0], [0.0, 5.0], [1.0, 0.0]]))  # 3 artists × 2 users
    >>> world = plays_to_world(np.array(["a", "b", "c"]), np.array(["u1", "u2"]), plays)
    >>> world.listens[["user_id", "track_id", "streams"]].values.tolist()
    [[1, 1, 3], [1, 3, 1], [2, 2, 5]]
    """
    artists, users = np.asarray(artists).astype(str), np.asarray(users).astype(str)
    n_a, n_u = len(artists), len(users)
    plays = sp.csr_matrix(plays)
    rows, cols = plays.shape
    report = LoadReport(dataset=name)
    if rows == n_a and cols <= n_u:
        user_items = plays.T.tocsr()
        report.notes.append(f"plays came as artist × user {plays.shape}; transposed to users × artists")
    elif rows == n_u and cols <= n_a and n_a != n_u:
        user_items = plays
        report.notes.append(f"plays came as users × artists {plays.shape}; used as it is")
    else:
        raise ValueError(f"plays has shape {plays.shape} but there are {n_a} artist names and {n_u} user names: "
                         f"expected an artist × user matrix ({n_a}, ≤{n_u}) as get_lastfm returns; the file and "
                         f"the name arrays do not belong together")
    user_items.sum_duplicates()
    values = user_items.data
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"plays holds {int((~np.isfinite(values)).sum())} non-finite and "
                         f"{int((values < 0).sum())} negative count(s)")
    stored_zeros = int((values == 0).sum())
    user_items.eliminate_zeros()
    if stored_zeros:
        report.unmatched["stored_zero_counts"] = stored_zeros
    user_items.sort_indices()
    coo = user_items.tocoo()  # row-major, so the listens come sorted by user, then artist
    report.rows["plays"] = int(user_items.nnz)
    listens = pd.DataFrame({"user_id": coo.row + 1, "artist_id": coo.col + 1, "streams": np.rint(coo.data)})
    artist_table = pd.DataFrame({"artist_id": np.arange(1, n_a + 1, dtype=np.int64), "name": artists.astype(object),
                                 "genre": "unknown"})
    user_table = pd.DataFrame({"user_id": np.arange(1, n_u + 1, dtype=np.int64), "lastfm_user": users.astype(object)})
    documents = pd.DataFrame({"doc_id": pd.Series(dtype=np.int64), "artist_id": pd.Series(dtype=np.int64),
                              "track_id": pd.array([], dtype="Int64"), "kind": pd.Series(dtype=object),
                              "text": pd.Series(dtype=object)})
    return _world(name, listens, artist_table, user_table, documents, report, dtype=np.int32)


def implicit_folder() -> Path:
    """The folder implicit keeps its data sets in: ``$IMPLICIT_DATASET_DIR``, or ``~/implicit_datasets``.

    ``~/implicit_datasets`` is where :func:`implicit.datasets.lastfm.get_lastfm`
    downloads ``lastfm_360k.hdf5``, so a copy implicit fetched is found here.
    """
    return Path(os.environ.get("IMPLICIT_DATASET_DIR") or Path.home() / "implicit_datasets")


def _360k_hint(spec: DatasetSpec, path: Path) -> str:
    return (f"If this machine is offline or behind a firewall, download {spec.urls[0]} on another machine "
            f"(see {spec.homepage}) and place it at {path}. Set IMPLICIT_DATASET_DIR to use another folder "
            f"(or pass path=).")


def load_lastfm_360k(*, path=None, download: bool = True, verify: bool = True, spec: DatasetSpec | None = None,
                     get_lastfm=None, **download_kw) -> LastfmWorld:
    """Last.fm 360K (about 360,000 users, 290,000 artists), from the HDF5 file ``implicit`` publishes.

    The file is read from implicit's folder (:func:`implicit_folder`:
    ``$IMPLICIT_DATASET_DIR``, default ``~/implicit_datasets/lastfm_360k.hdf5``,
    where :func:`implicit.datasets.lastfm.get_lastfm` keeps it); when it is
    absent it is first downloaded there by :func:`coursekit.download.download_file`
    (atomic, retried, with a progress bar).

    No SHA-256 of this file is published, and the registry has none, so a copy
    cannot be verified: reading it needs ``verify=False`` (an explicit choice,
    warned about with :class:`UnverifiedDataWarning`), or a ``spec`` whose
    ``sha256`` you trust.

    Parameters
    ----------
    path : path-like, optional
        The ``.hdf5`` file; default ``implicit_folder() / "lastfm_360k.hdf5"``.
    download : bool
        Allow the network when the file is absent.
    verify : bool
        Check the file's SHA-256 against ``spec``; ``False`` reads it unchecked.
    spec : DatasetSpec, optional
        Use this instead of ``REGISTRY["lastfm-360k"]`` (e.g. with a checksum).
    get_lastfm : callable, optional
        Returns ``(artists, users, plays)`` as implicit's ``get_lastfm`` does;
        given, no file is read (tests, a copy already in memory).
    **download_kw
        Passed to :func:`coursekit.download.download_file`.

    Returns
    -------
    LastfmWorld
        See :func:`plays_to_world`. About 17.5 million listens: it needs several
        GB of memory, more than Binder gives.

    Raises
    ------
    DatasetVerificationError
        ``verify=True`` and no checksum is known, the file differs from the
        checksum, or it cannot be read (an interrupted earlier download); the
        message names the file.
    DatasetUnavailableError
        Offline and the file is not there (the message names the folder).

    Warns
    -----
    UnverifiedDataWarning
        With ``verify=False``.
    """
    spec = _spec("lastfm-360k", spec)
    if get_lastfm is not None:
        return plays_to_world(*get_lastfm(), name=spec.name)
    path = Path(path) if path is not None else implicit_folder() / spec.filename
    hint = _360k_hint(spec, path)
    if verify and spec.sha256 is None:
        raise DatasetVerificationError(
            f"{spec.name}: no SHA-256 of {spec.filename} is published, so {path} cannot be verified. Pass "
            f"verify=False to read it unverified (a warning says so), or a spec= with a checksum you trust")
    if path.exists():
        _verify_file(path, spec, verify=verify)
    elif not download:
        raise DatasetUnavailableError(f"{spec.name} is not in implicit's folder ({path} does not exist) "
                                      f"and download=False. {hint}")
    else:
        if not verify:
            _warn_unverified(path)
        download_file(spec.urls, path, sha256=spec.sha256 if verify else None, size=spec.size if verify else None,
                      hint=hint, **download_kw)
    return plays_to_world(*_read_360k(path), name=spec.name)


def _read_360k(path: Path):
    """``(artists, users, plays)`` from implicit's HDF5 file, as its ``get_lastfm`` reads them."""
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - installed with TensorFlow
        raise ImportError(f"reading {path} needs h5py: pip install h5py") from err
    try:
        with h5py.File(path, "r") as f:
            m = f["artist_user_plays"]
            plays = sp.csr_matrix((m["data"][:], m["indices"][:], m["indptr"][:]))
            return np.array(f["artist"].asstr()[:]), np.array(f["user"].asstr()[:]), plays
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise DatasetVerificationError(f"{path} cannot be read ({err}): it is damaged or cut short. Delete it "
                                       f"and load again to download it anew.") from err
