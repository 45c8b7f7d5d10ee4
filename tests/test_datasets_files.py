"""coursekit._files: atomic writes with the user's permissions, hashes, the cache folder."""

import os
import stat

import pytest

from coursekit._files import atomic_folder, atomic_write, cache_dir, is_plain_relative, sha256_file, write_bytes


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_follows_the_umask_not_mkstemps_0600(tmp_path, umask):
    assert mode(write_bytes(tmp_path / "a.csv", "x,y\n")) == 0o644
    umask(0o027)
    assert mode(write_bytes(tmp_path / "b.csv", b"1")) == 0o640
    assert (tmp_path / "a.csv").read_text() == "x,y\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, error):
    target = tmp_path / "table.csv"
    target.write_text("old but whole")
    with pytest.raises(error):
        with atomic_write(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(".table.csv.") and tmp.suffix == ".csv"
            tmp.write_text("half")
            raise error()
    assert target.read_text() == "old but whole" and list(tmp_path.iterdir()) == [target]


def test_two_writers_get_different_temporary_files(tmp_path):
    with atomic_write(tmp_path / "x") as a, atomic_write(tmp_path / "x") as b:
        assert a != b
        a.write_text("a")
        b.write_text("b")
    assert (tmp_path / "x").read_text() == "a" and list(tmp_path.iterdir()) == [tmp_path / "x"]


def test_sha256_file(tmp_path):
    (tmp_path / "abc").write_bytes(b"abc")  # FIPS 180-2's test vector
    assert sha256_file(tmp_path / "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("COURSEKIT_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "coursekit"


def test_atomic_folder_renames_into_place_and_cleans_up_on_failure(tmp_path, umask):
    with atomic_folder(tmp_path / "w") as tmp:
        (tmp / "a.txt").write_text("a")
    assert mode(tmp_path / "w") == 0o755 and (tmp_path / "w" / "a.txt").read_text() == "a"
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "v") as tmp:
            (tmp / "a.txt").write_text("a")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_atomic_folder_never_deletes_what_it_does_not_own(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "thesis.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=f"{folder} already holds files that coursekit did not write"):
        with atomic_folder(folder) as tmp:
            (tmp / "a.txt").write_text("a")
    (folder / "old.txt").write_text("ours, from before")
    (folder / "sub").mkdir()
    (folder / "sub" / "gone.txt").write_text("ours too")
    with atomic_folder(folder, owned={"old.txt", "sub/gone.txt", "../thesis.txt"}, last="a.txt") as tmp:
        (tmp / "a.txt").write_text("a")
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "thesis.txt"]
    assert list(tmp_path.iterdir()) == [folder]


def test_plain_relative():
    assert [is_plain_relative(p) for p in ("a/b.csv", "/etc/passwd", "../x", "a/../../x", "a\\b", "", "a//b")] == [
        True, False, False, False, False, False, False]
