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
