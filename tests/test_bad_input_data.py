"""Bad input to the data entry points: every case ends in a clear error or a documented warning.

Entry points: ``write_world``, ``coursekit world --write``, ``load_world``,
``load_dataset`` and ``load_truth`` (a world folder), and the Last.fm loaders
(unverifiable files). Each error must be a ``ValueError`` / ``TypeError`` /
``FileNotFoundError`` / ``FileExistsError`` (an ``OSError`` the CLI reports)
whose message names the file or the argument — never a bare ``ParserError``,
``EOFError`` or ``UnicodeDecodeError`` — and nothing the library did not write
is ever deleted.
"""

import gzip
import json
import shutil
import zipfile
from dataclasses import replace

import pandas as pd
import pytest

from coursekit.cli import main
from coursekit.datasets import load_dataset, load_truth, load_world, write_world
from coursekit.lastfm import REGISTRY, UnverifiedDataWarning, load_lastfm_2k

THESIS = b"Chapter 1. Six years of work, in no backup.\n"


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    return write_world("tiny", tmp_path_factory.mktemp("worlds") / "tiny")


@pytest.fixture
def world(tiny_world, tmp_path):
    """A fresh copy of the tiny world's folder, to damage."""
    return shutil.copytree(tiny_world, tmp_path / "tiny")


def thesis_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.txt").write_bytes(THESIS)
    return folder


# ------------------------------------------------ a folder of someone else's files
def _write(folder):
    write_world("tiny", folder)


def _cli(folder):
    code = main(["world", "--size", "tiny", "--write", str(folder)])
    if code:
        raise FileExistsError("the CLI returned 2")


WRITERS = {
    "write_world": _write,
    "coursekit world --write": _cli,
    "load_world(path=)": lambda folder: load_world("tiny", path=folder),
    "load_dataset(path=)": lambda folder: load_dataset("world", size="tiny", path=folder),
    "load_truth(path=)": lambda folder: load_truth("tiny", path=folder),
}


@pytest.mark.parametrize("entry", WRITERS)
def test_a_folder_of_foreign_files_is_refused_and_left_alone(entry, tmp_path, capsys):
    folder = thesis_folder(tmp_path)
    with pytest.raises(FileExistsError) as info:
        WRITERS[entry](folder)
    message = capsys.readouterr().err if entry.startswith("coursekit") else str(info.value)
    assert str(folder) in message and "no coursekit manifest.json" in message
    assert [p.name for p in folder.iterdir()] == ["thesis.txt"] and (folder / "thesis.txt").read_bytes() == THESIS
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]          # no temporary folder left behind


@pytest.mark.parametrize("entry", ["write_world", "coursekit world --write"])
def test_rewriting_a_world_replaces_only_the_files_its_manifest_lists(entry, world):
    (world / "thesis.txt").write_bytes(THESIS)                 # the user's, beside the world
    (world / "truth" / "notes.txt").write_bytes(THESIS)
    manifest = json.loads((world / "manifest.json").read_text())
    manifest["sha256"]["old_table.csv"] = "0" * 64              # a file an older coursekit wrote
    (world / "manifest.json").write_text(json.dumps(manifest))
    (world / "old_table.csv").write_text("stale\n")
    (world / "users.csv").write_text("damaged\n")
    WRITERS[entry](world)
    assert (world / "thesis.txt").read_bytes() == THESIS and (world / "truth" / "notes.txt").read_bytes() == THESIS
    assert not (world / "old_table.csv").exists()              # listed by the old manifest: ours to remove
    assert len(load_world("tiny", path=world).users) == 300    # and the world is whole again


def test_a_world_file_would_overwrite_a_foreign_file(world):
    manifest = json.loads((world / "manifest.json").read_text())
    del manifest["sha256"]["users.csv"]                         # users.csv is not ours, says the manifest
    (world / "manifest.json").write_text(json.dumps(manifest))
    (world / "users.csv").write_bytes(THESIS)
    with pytest.raises(FileExistsError, match=r"would overwrite \['users.csv'\]"):
        write_world("tiny", world)
    assert (world / "users.csv").read_bytes() == THESIS


def test_a_file_where_the_folder_should_be(tmp_path):
    path = tmp_path / "thesis.txt"
    path.write_bytes(THESIS)
    for call in (lambda: write_world("tiny", path), lambda: load_world("tiny", path=path)):
        with pytest.raises(FileExistsError, match=f"{path} is a file, not a folder"):
            call()
    assert path.read_bytes() == THESIS


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    assert len(load_world("tiny", path=tmp_path / "empty").users) == 300


# ---------------------------------------------------------------- damaged files
def _edit_csv(name, edit, *, gz=False):
    def mutate(folder):
        path = folder / name
        frame = pd.read_csv(path)
        frame = edit(frame)
        text = frame.to_csv(index=False).encode()
        path.write_bytes(gzip.compress(text) if gz else text)
    return mutate


def _set(column, value, rows=slice(0, 3)):
    def edit(frame):
        frame.loc[frame.index[rows], column] = value
        return frame
    return edit


def _write_bytes(name, data):
    def mutate(folder):
        (folder / name).write_bytes(data)
    return mutate


def _truncate(name):
    def mutate(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return mutate


# (mutation, verify, exception, what the message must say)
DAMAGE = {
    "tempo edited, same rows": (_edit_csv("tracks.csv", _set("tempo", 999.0)), True, ValueError,
                                r"tracks.csv: its sha256 differs.*coursekit world --size tiny --write"),
    "negative streams": (_edit_csv("listens.csv.gz", _set("streams", -4), gz=True), False, ValueError,
                         r"listens.csv.gz: 3 row\(s\) with stream counts below 1 .*\(column 'streams'\), e.g. \[-4, -4, -4\]"),
    "unknown artist ids": (_edit_csv("tracks.csv", _set("artist_id", 999)), False, ValueError,
                           r"tracks.csv: column 'artist_id' names 1 artist id\(s\) that do not exist, e.g. \[999\]"),
    "unknown track ids": (_edit_csv("listens.csv.gz", _set("track_id", 5000), gz=True), False, ValueError,
                          r"listens.csv.gz: 3 row\(s\) with track ids that are not in the tracks table"),
    "duplicate user ids": (_edit_csv("users.csv", _set("user_id", 7, slice(0, 2))), False, ValueError,
                           r"users.csv: column 'user_id' repeats the id\(s\) \[7\]"),
    "shuffled ids repeat a row": (_edit_csv("listens.csv.gz", _set("user_id", 1, slice(0, 40)), gz=True), False,
                                  ValueError, r"listens.csv.gz: .*(repeated \(user_id, track_id, week\))"),
    "a column left out": (_edit_csv("tracks.csv", lambda f: f.drop(columns="tempo")), False, ValueError,
                          r"tracks.csv: .*lacks the column\(s\) \['tempo'\]"),
    "garbage .gz": (_write_bytes("listens.csv.gz", b"\x1f\x8b\x08garbage" * 10), False, ValueError,
                    r"listens.csv.gz: cannot be read \(.*\).*coursekit world --size tiny --write"),
    "garbage .gz, verified": (_write_bytes("listens.csv.gz", b"\x1f\x8b\x08garbage" * 10), True, ValueError,
                              r"listens.csv.gz: its sha256 differs"),
    "truncated .gz": (_truncate("documents.csv.gz"), False, ValueError, r"documents.csv.gz: cannot be read"),
    "garbage csv": (_write_bytes("users.csv", bytes(range(256)) * 4), False, ValueError,
                    r"users.csv: (cannot be read|.*lacks the column)"),
    "not numbers": (_write_bytes("users.csv", b"user_id,country,age\nabc,SE,20\n"), False, ValueError,
                    r"users.csv: column 'user_id' must hold whole numbers"),
    "missing file": (lambda folder: (folder / "documents.csv.gz").unlink(), True, FileNotFoundError,
                     r"documents.csv.gz is missing: the world in .* is incomplete"),
    "bad manifest": (_write_bytes("manifest.json", b"{'size': tiny"), True, ValueError,
                     r"manifest.json is not a coursekit manifest \(not JSON"),
    "manifest not an object": (_write_bytes("manifest.json", b"[1, 2]"), True, ValueError,
                               r"manifest.json is not a coursekit manifest \(a JSON list"),
    "manifest pointing outside": (
        lambda folder: (folder / "manifest.json").write_text(json.dumps({
            **json.loads((folder / "manifest.json").read_text()), "sha256": {"../thesis.txt": "0" * 64}})),
        True, ValueError, r"manifest.json is not a coursekit manifest: entries \['../thesis.txt'\]"),
    "manifest without a file's sha256": (
        lambda folder: (folder / "manifest.json").write_text(json.dumps({
            **json.loads((folder / "manifest.json").read_text()), "sha256": {}})),
        True, ValueError, r"manifest.json lists no sha256 for artists.csv"),
    "manifest rows edited": (
        lambda folder: (folder / "manifest.json").write_text(json.dumps({
            **json.loads((folder / "manifest.json").read_text()), "rows": {"users": 1}})),
        True, ValueError, r"table 'artists' has 60 rows, the manifest says None"),
}


@pytest.mark.parametrize("entry", ["load_world", "load_dataset"])
@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_world_files_are_named(case, entry, world):
    mutate, verify, exc, match = DAMAGE[case]
    mutate(world)
    load = (lambda: load_world("tiny", path=world, verify=verify)) if entry == "load_world" else (
        lambda: load_dataset("world", size="tiny", path=world, verify=verify))
    with pytest.raises(exc, match=match):
        load()


TRUTH_DAMAGE = {
    "garbage truth .gz": (_write_bytes("truth/next_week.csv.gz", b"garbage"), False, r"truth/next_week.csv.gz: cannot"),
    "edited truth": (_truncate("truth/user_vectors.csv.gz"), True, r"truth/user_vectors.csv.gz: its sha256 differs"),
    "bad manifest": (_write_bytes("manifest.json", b"\xff\xfe"), True, r"manifest.json is not a coursekit manifest"),
    "next week repeats a row": (_edit_csv("truth/next_week.csv.gz", lambda f: pd.concat([f, f.iloc[:2]]), gz=True),
                                False, r"truth/next_week.csv.gz: 2 repeated \(user_id, track_id, week\) row"),
    "next week in the past": (_edit_csv("truth/next_week.csv.gz", _set("week", 0), gz=True), False,
                              r"truth/next_week.csv.gz: 3 row\(s\) with weeks outside 6..6"),
}


@pytest.mark.parametrize("case", TRUTH_DAMAGE)
def test_damaged_truth_files_are_named(case, world):
    mutate, verify, match = TRUTH_DAMAGE[case]
    mutate(world)
    with pytest.raises(ValueError, match=match):
        load_truth("tiny", path=world, verify=verify)


@pytest.mark.parametrize("load", [
    lambda folder: load_world("small", path=folder),
    lambda folder: load_dataset("world", size="small", path=folder),
    lambda folder: load_truth("small", path=folder),
])
def test_a_world_of_another_size_is_refused(load, world):
    with pytest.raises(ValueError, match=r"holds the 'tiny' world .*not size='small'; pass size='tiny'"):
        load(world)


def test_bad_arguments_are_named(world):
    with pytest.raises(ValueError, match="unknown world size 'huge'"):
        load_world("huge", path=world)
    with pytest.raises(TypeError, match="verify must be True or False, got 'no'"):
        load_world("tiny", path=world, verify="no")
    with pytest.raises(ValueError, match="unknown dataset 'lastfm-1m'"):
        load_dataset("lastfm-1m")


def test_cli_reports_a_damaged_world_without_a_traceback(world, capsys):
    (world / "users.csv").write_bytes(b"nothing")
    assert main(["world", "--size", "tiny", "--write", str(world)]) == 0     # a world of ours: regenerated
    assert len(load_world("tiny", path=world).users) == 300


# ---------------------------------------------------------------- real data
def test_360k_unverified_is_an_explicit_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPLICIT_DATASET_DIR", str(tmp_path))
    (tmp_path / "lastfm_360k.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=f"{tmp_path / 'lastfm_360k.hdf5'} cannot be verified.*verify=False"):
        load_dataset("lastfm-360k")
    with pytest.warns(UnverifiedDataWarning, match="lastfm_360k.hdf5 is used without checking"), \
            pytest.raises(ValueError, match="lastfm_360k.hdf5 cannot be read"):
        load_dataset("lastfm-360k", verify=False)


@pytest.mark.filterwarnings("ignore::coursekit.lastfm.DataQualityWarning")   # the small files' planted repairs
def test_a_hetrec_zip_that_is_not_the_release(tmp_path, monkeypatch):
    from test_lastfm import make_zip, small_spec

    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))
    (tmp_path / "lastfm").mkdir()
    archive = make_zip(tmp_path / "lastfm" / "hetrec2011-lastfm-2k.zip")
    spec = small_spec(sha256="0" * 64)
    with pytest.raises(ValueError, match=f"{archive} has sha256 .* should have 0000.*another release"):
        load_dataset("lastfm-2k", spec=spec, download=False)
    with pytest.warns(UnverifiedDataWarning, match="hetrec2011-lastfm-2k.zip is used without checking"):
        world = load_lastfm_2k(spec=replace(spec, tables=REGISTRY["lastfm-2k"].tables), download=False, verify=False)
    assert len(world.users) == 4
    with zipfile.ZipFile(archive) as zf:                        # the user's zip is left as it was
        assert "hetrec2011-lastfm-2k/readme.txt" in zf.namelist()
