import subprocess
import sys

import pytest

from coursekit.cli import main


def test_world_summary(capsys):
    assert main(["world", "--size", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "users" in out and "300" in out and "nan" not in out.lower()


def test_mixtape_prints_30_songs_and_writes_pictures(tmp_path, capsys):
    assert main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio", "--out", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "30 songs you have never played" in out
    assert (tmp_path / "m.png").stat().st_size > 10_000
    assert main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio", "--out", str(tmp_path / "m.html")]) == 0
    assert "Discover Weekly for user 5" in (tmp_path / "m.html").read_text()


def test_mixtape_all_to_csv(tmp_path, capsys):
    import pandas as pd

    assert main(["mixtape", "--size", "tiny", "--all", "--no-audio", "--out", str(tmp_path / "all.csv")]) == 0
    table = pd.read_csv(tmp_path / "all.csv")
    assert table["user_id"].nunique() == 300
    assert table.groupby("user_id").size().max() == 30


def test_mixtape_errors(tmp_path, capsys):
    assert main(["mixtape", "--size", "tiny", "--user", "999999", "--no-audio"]) == 2
    assert "Pick a user id between 1 and 300" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="does not exist"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", str(tmp_path / "missing" / "m.png")])
    assert not (tmp_path / "missing").exists()
    assert main(["mixtape", "--size", "tiny"]) == 2


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "coursekit", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "mixtape" in proc.stdout


def test_out_with_the_wrong_kind_of_file_is_refused_before_training(tmp_path):
    with pytest.raises(SystemExit, match=r"must end in \.png or \.html"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", str(tmp_path / "m.csv")])
    with pytest.raises(SystemExit, match=r"must end in \.csv"):
        main(["mixtape", "--size", "tiny", "--all", "--out", str(tmp_path / "m.png")])
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit, match="does not exist"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", str(tmp_path / "a_file" / "m.png")])


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import coursekit.picture

    def broken(table, path, fmt=None):
        with open(path, "wb") as fh:
            fh.write(b"half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(coursekit.picture, "write_picture", broken)
    with pytest.raises(OSError, match="disk full"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio", "--out", str(tmp_path / "m.png")])
    assert list(tmp_path.iterdir()) == []


def test_a_listener_who_heard_nearly_everything_gets_fewer_songs_and_a_warning(tmp_path, monkeypatch, capsys):
    import pandas as pd

    import coursekit.datasets
    from coursekit.datasets import load_world

    world = load_world("tiny")
    released = world.tracks.loc[world.tracks["release_week"] < world.n_weeks, "track_id"]
    everything = pd.DataFrame({"user_id": 5, "track_id": released.iloc[12:].to_numpy(), "week": 0, "streams": 1,
                               "saved": 0, "artist_page_visits": 0})
    world.listens = pd.concat([world.listens, everything], ignore_index=True).drop_duplicates(
        ["user_id", "track_id", "week"])
    world.fingerprint = ""   # an edited world is never cached
    monkeypatch.setattr(coursekit.datasets, "load_world", lambda *a, **k: world)
    assert main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio"]) == 0
    out, err = capsys.readouterr()
    assert "songs you have never played" in out
    assert "warning: only" in err and "heard nearly everything" in err


def _no_training(monkeypatch):
    import coursekit.modelcache

    def refuse(*args, **kwargs):
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(coursekit.modelcache, "trained", refuse)


def test_out_naming_a_folder_is_refused_before_training(tmp_path, monkeypatch):
    _no_training(monkeypatch)
    (tmp_path / "pictures.png").mkdir()
    with pytest.raises(SystemExit, match="is a folder"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="is a folder"):
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", str(tmp_path / "pictures.png")])
    with pytest.raises(SystemExit, match="is a folder"):
        main(["mixtape", "--size", "tiny", "--all", "--out", str(tmp_path)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_out_in_an_unwritable_folder_is_refused_before_training(tmp_path, monkeypatch):
    import os

    _no_training(monkeypatch)
    with pytest.raises(SystemExit, match="not writable"):   # not writable even for root
        main(["mixtape", "--size", "tiny", "--user", "5", "--out", "/proc/m.png"])
    if os.geteuid() != 0:
        (tmp_path / "ro").mkdir(mode=0o555)
        with pytest.raises(SystemExit, match="not writable"):
            main(["mixtape", "--size", "tiny", "--all", "--out", str(tmp_path / "ro" / "all.csv")])
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".probe")]


def test_a_read_only_model_cache_still_prints_the_mixtape_with_a_warning(tmp_path, monkeypatch, capsys):
    import coursekit.modelcache

    def refuse(model, folder):   # what a read-only folder does (even to root, who could write a chmod 555 one)
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(coursekit.modelcache, "default_cache", lambda: tmp_path)
    monkeypatch.setattr(coursekit.modelcache, "_store", refuse)
    assert main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio"]) == 0
    out, err = capsys.readouterr()
    assert "30 songs you have never played" in out and out.count("\n") > 30
    assert "coursekit mixtape: warning: could not store the trained models" in err


def test_output_files_follow_the_umask(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        assert main(["mixtape", "--size", "tiny", "--user", "5", "--no-audio", "--out", str(tmp_path / "m.html")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "m.html").stat().st_mode & 0o777 == 0o644
