"""Last.fm loaders, fully offline: small files in exactly the HetRec format, fake networks."""

import hashlib
import urllib.error
import zipfile
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coursekit import lastfm
from coursekit.feedback import build_feedback
from coursekit.lastfm import (
    REGISTRY, DataQualityWarning, DatasetUnavailableError, DatasetVerificationError, LastfmWorld, LoadReport,
    UnverifiedDataWarning, data_folder, download_file, load_dataset, load_lastfm_2k, plays_to_world, read_table,
)
from coursekit.world import World

from hetrec_files import (  # noqa: E402  (the small HetRec files, shared with the notebook tests)
    ARTISTS, FILES, ROWS, TAGGED, TAGS, USER_ARTISTS, make_zip, small_spec, write_unpacked,
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the loader
def test_loader_end_to_end_from_unpacked_files(cache):
    write_unpacked()
    with pytest.warns(DataQualityWarning, match=r"user_artists\.dat.*cut off.*'5\\t1'.*1 duplicate"):
        world = load_dataset("lastfm-2k", spec=small_spec(), download=False)
    assert isinstance(world, World) and isinstance(world, LastfmWorld)
    assert (world.size, world.n_weeks, world.has_truth, world.has_audio) == ("lastfm-2k", 1, False, False)

    expected = pd.DataFrame({"user_id": [2, 2, 3, 4, 4, 5], "track_id": [1, 2, 2, 1, 5, 3], "week": 0,
                             "streams": [100, 50, 35, 1, 7, 12], "saved": 0, "artist_page_visits": 0})
    pd.testing.assert_frame_equal(world.listens, expected.astype(np.int64))
    assert world.users["user_id"].tolist() == [2, 3, 4, 5]

    artists = world.artists.set_index("artist_id")
    assert artists["name"].tolist() == ["Beyoncé", "Sigur Rós", "Röyksopp", "Mötley Crüe"]
    assert artists.loc[3, "picture_url"] == artists.loc[5, "picture_url"] == ""
    assert artists.loc[5, "url"].endswith("M%C3%B6tley+Cr%C3%BCe")
    # genre = the most used tag (rnb twice beats seen live once); no known tag → "unknown"
    assert artists["genre"].to_dict() == {1: "rnb", 2: "post-rock", 3: "unknown", 5: "música"}
    assert world.tracks["track_id"].tolist() == world.tracks["artist_id"].tolist() == [1, 2, 3, 5]
    assert world.tracks["title"].tolist() == artists["name"].tolist()
    assert not {"tempo", "key", "mode", "loudness"} & set(world.tracks.columns)

    docs = world.documents.set_index("artist_id")
    assert docs.loc[2, "text"] == "post-rock. post-rock. icelandic."
    assert docs.loc[1, "text"] == "rnb. rnb. seen live."
    assert docs.loc[5, "text"] == "música."
    assert sorted(docs.index) == [1, 2, 5]  # Röyksopp has no known tag; artist 9 is not in artists.dat
    assert (docs["kind"] == "tags").all() and docs["track_id"].isna().all()

    report = world.report
    assert report.duplicate_rows_merged == 1
    assert report.truncated_lines == {"user_artists.dat": "5\t1"}
    assert report.non_utf8_lines == {"tags.dat": 1}
    assert report.rows == ROWS
    assert report.unmatched == {"unknown_tag_ids": 1, "tag_assignments_unknown_artist": 1, "items_without_name": 0}


def test_real_world_has_the_generated_worlds_shapes(cache, tiny):
    write_unpacked()
    with pytest.warns(DataQualityWarning):
        world = load_lastfm_2k(spec=small_spec(), download=False)
    generated, _ = tiny
    assert world.listens.columns.tolist() == generated.listens.columns.tolist()
    assert world.listens.dtypes.tolist() == generated.listens.dtypes.tolist()
    assert world.documents.columns.tolist() == generated.documents.columns.tolist()
    assert world.documents["track_id"].dtype == generated.documents["track_id"].dtype
    assert {"track_id", "artist_id", "title", "genre", "release_week"} <= set(world.tracks.columns)
    assert {"artist_id", "name", "genre"} <= set(world.artists.columns)
    # chapter 01 runs unchanged: play counts become the users × artists matrices
    fb = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    assert fb.strength.shape == (4, 4)
    assert fb.strength[fb.users.index(3), fb.tracks.index(2)] == 35


def test_clean_files_give_no_warning_and_keep_a_complete_last_line(cache, recwarn):
    # a complete last line without a final newline is a whole row, not a truncation
    files = {**FILES, "user_artists.dat": b"userID\tartistID\tweight\n2\t1\t100\n3\t2\t30\n4\t5\t7\n5\t3\t12",
             "tags.dat": TAGS + b"\n\r\n"}  # empty lines at the end are skipped and noted
    write_unpacked(files)
    world = load_lastfm_2k(spec=small_spec(), download=False, verify=False)
    assert world.listens["streams"].tolist() == [100, 30, 7, 12]
    assert world.report.problems() == [] and world.report.truncated_lines == {}
    assert world.report.notes == ["tags.dat: skipped 2 empty line(s)"] and world.report.rows["tags.dat"] == 5
    assert not [w for w in recwarn if issubclass(w.category, DataQualityWarning)]


def test_malformed_line_in_the_middle_is_an_error_naming_file_and_line(cache):
    bad = USER_ARTISTS.replace(b"3\t2\t30\n", b"3\t2\tthirty\n")
    write_unpacked({**FILES, "user_artists.dat": bad})
    with pytest.raises(DatasetVerificationError, match=r"user_artists\.dat, line 4: .*'3\\t2\\tthirty'"):
        load_lastfm_2k(spec=small_spec(), download=False)


def test_wrong_header_is_rejected(cache):
    write_unpacked({**FILES, "tags.dat": TAGS.replace(b"tagValue", b"value")})
    with pytest.raises(DatasetVerificationError, match=r"tags\.dat: header is \['tagID', 'value'\]"):
        load_lastfm_2k(spec=small_spec(), download=False)


def test_corrupted_file_fails_row_count_verification(cache):
    # a file that lost lines in the middle (e.g. a bad copy) is caught by the row counts
    cut = TAGGED.replace(b"3\t2\t2\t1\t6\t2009\n", b"")
    write_unpacked({**FILES, "user_taggedartists.dat": cut})
    with pytest.raises(DatasetVerificationError, match=r"user_taggedartists\.dat has 8 rows, expected 9.*verify=False"):
        load_lastfm_2k(spec=small_spec(), download=False)
    with pytest.warns(DataQualityWarning):
        world = load_lastfm_2k(spec=small_spec(), download=False, verify=False)
    assert world.documents.set_index("artist_id").loc[2, "text"] == "post-rock. post-rock."


def test_official_counts_reject_files_that_are_not_the_release(cache):
    write_unpacked()
    with pytest.raises(DatasetVerificationError, match=r"user_artists\.dat has 7 rows, expected 92834 "
                                                       r"\(its last line is cut off\)"):
        load_lastfm_2k(download=False)


def test_wrong_user_and_artist_counts_are_rejected(cache):
    write_unpacked()
    with pytest.raises(DatasetVerificationError, match="4 users \\(expected 1892\\), 4 items \\(expected 17632\\)"):
        load_lastfm_2k(spec=small_spec(counts={"users": 1892, "items": 17632}), download=False)


def test_read_table_decodes_each_line_on_its_own(tmp_path):
    path = tmp_path / "tags.dat"
    path.write_bytes(b"tagID\ttagValue\n" + "1\tBeyoncé\n".encode() + "2\tcafé\n".encode("cp1252")
                     + "3\t\u2019quoted\u2019\n".encode("cp1252"))
    report = LoadReport("t")
    frame = read_table(path, REGISTRY["lastfm-2k"].table("tags.dat"), report=report)
    assert frame["tagValue"].tolist() == ["Beyoncé", "café", "\u2019quoted\u2019"]
    assert frame["tagID"].tolist() == [1, 2, 3]
    assert report.non_utf8_lines == {"tags.dat": 2}


# ------------------------------------------------------- cache, zip, downloads
def test_hand_placed_zip_is_verified_and_unpacked(cache):
    folder = data_folder()
    folder.mkdir(parents=True)
    archive = make_zip(folder / "hetrec2011-lastfm-2k.zip")
    with pytest.warns(DataQualityWarning):
        world = load_lastfm_2k(spec=small_spec(sha256=sha256(archive)), download=False)
    assert len(world.listens) == 6
    unpacked = folder / "hetrec2011-lastfm-2k"
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(FILES)
    assert (unpacked / "artists.dat").read_bytes() == ARTISTS


def test_corrupted_zip_fails_verification_and_is_not_unpacked(cache):
    folder = data_folder()
    folder.mkdir(parents=True)
    archive = make_zip(folder / "hetrec2011-lastfm-2k.zip")
    expected = sha256(archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetVerificationError, match=f"sha256 .* should have {expected}.*Delete it"):
        load_lastfm_2k(spec=small_spec(sha256=expected), download=False)
    assert not (folder / "hetrec2011-lastfm-2k").exists()


def test_offline_error_says_so_and_names_the_folder(cache):
    calls, sleeps = [], []

    def offline(url, timeout):
        calls.append(url)
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    with pytest.raises(DatasetUnavailableError) as info:
        load_lastfm_2k(urlopen=offline, sleep=sleeps.append, progress=False)
    message = str(info.value)
    assert "network is unreachable" in message
    assert "Temporary failure in name resolution" in message
    assert f"place the file at {cache / 'lastfm' / 'hetrec2011-lastfm-2k.zip'}" in message
    assert f"unpack its files into {cache / 'lastfm' / 'hetrec2011-lastfm-2k'}" in message
    assert REGISTRY["lastfm-2k"].urls[0] in message and "COURSEKIT_DATA" in message
    assert len(calls) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert list((cache / "lastfm").iterdir()) == []


def test_no_download_allowed_names_the_folder_without_touching_the_network(cache):
    def never(url, timeout):
        raise AssertionError("the network was used")

    with pytest.raises(DatasetUnavailableError, match="download=False.*place the file at .*lastfm"):
        load_lastfm_2k(download=False, urlopen=never)


def test_download_from_a_local_file_then_load(cache, tmp_path):
    archive = make_zip(tmp_path / "served.zip", prefix="")
    spec = small_spec(urls=(archive.as_uri(),), sha256=sha256(archive), size=archive.stat().st_size)
    with pytest.warns(DataQualityWarning):
        world = load_lastfm_2k(spec=spec, progress=False)
    assert world.listens["streams"].sum() == 205
    assert sha256(cache / "lastfm" / "hetrec2011-lastfm-2k.zip") == spec.sha256
    assert not list((cache / "lastfm").glob(".*"))  # no .part file left behind


class FakeResponse:
    """A response that serves ``data``; it can stop early or raise partway."""

    def __init__(self, data, *, length=None, raise_after=None, exc=None):
        self.data, self.pos = data, 0
        self.headers = {"Content-Length": str(len(data) if length is None else length)}
        self.raise_after, self.exc = raise_after, exc

    def read(self, n):
        if self.raise_after is not None and self.pos >= self.raise_after:
            raise self.exc
        stop = self.pos + min(n, 7) if self.raise_after is None else min(self.pos + n, self.raise_after)
        block, self.pos = self.data[self.pos:stop], stop
        return block

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


PAYLOAD = b"0123456789" * 10
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_retry_with_exponential_backoff(tmp_path):
    attempts, sleeps = [], []

    def flaky(url, timeout):
        attempts.append(url)
        if len(attempts) < 3:
            raise urllib.error.URLError(TimeoutError("timed out"))
        return FakeResponse(PAYLOAD)

    dest = download_file(["https://a.example/x"], tmp_path / "x.bin", sha256=PAYLOAD_SHA, urlopen=flaky,
                         sleep=sleeps.append, backoff_s=0.5, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert len(attempts) == 3 and sleeps == [0.5, 1.0]


def test_server_errors_are_retried_but_404_moves_to_the_mirror(tmp_path):
    attempts, sleeps = [], []

    def server(url, timeout):
        attempts.append(url)
        if "primary" in url:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        if attempts.count(url) == 1:
            raise urllib.error.HTTPError(url, 503, "Service Unavailable", {}, None)
        return FakeResponse(PAYLOAD)

    urls = ["https://primary.example/x", "https://mirror.example/x"]
    download_file(urls, tmp_path / "x.bin", sha256=PAYLOAD_SHA, urlopen=server, sleep=sleeps.append, progress=False)
    assert attempts == [urls[0], urls[1], urls[1]] and sleeps == [1.0]


@pytest.mark.parametrize("response, message", [
    (FakeResponse(PAYLOAD, raise_after=40, exc=ConnectionResetError("connection reset")), "connection reset"),
    (FakeResponse(PAYLOAD[:40], length=len(PAYLOAD)), "got 40 of 100 bytes"),
    (FakeResponse(PAYLOAD.replace(b"5", b"6")), "sha256 .* differs"),
])
def test_interrupted_or_corrupt_download_leaves_no_file_that_looks_whole(tmp_path, response, message):
    dest = tmp_path / "data" / "x.bin"
    with pytest.raises(DatasetUnavailableError, match=message):
        download_file(["https://a.example/x"], dest, sha256=PAYLOAD_SHA, urlopen=lambda url, timeout: response,
                      retries=0, progress=False, hint="put it in FOLDER")
    assert list(dest.parent.iterdir()) == []


def test_download_stopped_by_the_user_leaves_nothing(tmp_path):
    dest = tmp_path / "x.bin"
    response = FakeResponse(PAYLOAD, raise_after=30, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        download_file(["https://a.example/x"], dest, urlopen=lambda url, timeout: response, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_previous_good_file_survives_a_failed_download(tmp_path):
    dest = tmp_path / "x.bin"
    dest.write_bytes(b"old but whole")
    response = FakeResponse(PAYLOAD, raise_after=30, exc=ConnectionResetError("reset"))
    with pytest.raises(DatasetUnavailableError):
        download_file(["https://a.example/x"], dest, urlopen=lambda url, timeout: response, retries=0,
                      progress=False)
    assert dest.read_bytes() == b"old but whole" and len(list(tmp_path.iterdir())) == 1


# ------------------------------------------------------------- Last.fm 360K
def implicit_like(dense_artist_user):
    """An artist × user CSR matrix built as implicit builds it: without a shape."""
    m = sp.csr_matrix(np.asarray(dense_artist_user, dtype=np.float32))
    return sp.csr_matrix((m.data, m.indices, m.indptr))


# 3 artists × 4 users; the last user has no plays, so the stored matrix has only 3 columns
ARTIST_USER = [[3, 0, 1, 0],
               [0, 5, 0, 0],
               [2, 0, 4, 0]]
ARTIST_NAMES = np.array(["beyoncé", "sigur rós", "the beatles"])
USER_NAMES = np.array(["00000c2", "00001411", "0000bd27", "fffe8c7"])


def write_hdf5(path, dense_artist_user, artists=ARTIST_NAMES, users=USER_NAMES):
    """A file in the layout of implicit's ``lastfm_360k.hdf5`` (what its ``get_lastfm`` reads)."""
    import h5py

    plays = implicit_like(dense_artist_user)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        g = f.create_group("artist_user_plays")
        for name in ("data", "indptr", "indices"):
            g.create_dataset(name, data=getattr(plays, name))
        text = h5py.special_dtype(vlen=str)
        f.create_dataset("artist", data=list(artists), dtype=text)
        f.create_dataset("user", data=list(users), dtype=text)
    return path


@pytest.fixture
def implicit_cache(tmp_path, monkeypatch):
    folder = tmp_path / "implicit_datasets"
    monkeypatch.setenv("IMPLICIT_DATASET_DIR", str(folder))
    return folder


def test_implicit_folder_is_implicits_default_or_its_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("IMPLICIT_DATASET_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lastfm.implicit_folder() == tmp_path / "implicit_datasets"   # where implicit's get_lastfm keeps it
    monkeypatch.setenv("IMPLICIT_DATASET_DIR", str(tmp_path / "elsewhere"))
    assert lastfm.implicit_folder() == tmp_path / "elsewhere"


def test_360k_is_transposed_to_users_by_artists(implicit_cache):
    plays = implicit_like(ARTIST_USER)
    assert plays.shape == (3, 3)  # as implicit returns it: the empty last user is not stored
    write_hdf5(implicit_cache / "lastfm_360k.hdf5", ARTIST_USER)   # nothing to download
    with pytest.warns(UnverifiedDataWarning, match="lastfm_360k.hdf5 is used without checking its SHA-256"):
        world = load_dataset("lastfm-360k", verify=False)
    assert isinstance(world, LastfmWorld) and world.size == "lastfm-360k" and not world.has_truth
    assert world.users["lastfm_user"].tolist() == USER_NAMES.tolist()
    assert world.users["user_id"].tolist() == [1, 2, 3, 4]
    assert world.tracks["title"].tolist() == ARTIST_NAMES.tolist()
    assert world.listens[["user_id", "track_id", "streams"]].values.tolist() == [
        [1, 1, 3], [1, 3, 2], [2, 2, 5], [3, 1, 1], [3, 3, 4]]
    fb = build_feedback(world.listens, users=world.users["user_id"], tracks=world.tracks["track_id"])
    np.testing.assert_array_equal(fb.strength.toarray(), np.array(ARTIST_USER).T)
    assert "transposed" in world.report.notes[0] and len(world.documents) == 0


def test_360k_without_a_checksum_needs_an_explicit_verify_false(implicit_cache):
    path = write_hdf5(implicit_cache / "lastfm_360k.hdf5", ARTIST_USER)
    with pytest.raises(DatasetVerificationError, match=f"no SHA-256 .* {path} cannot be verified.*verify=False"):
        load_dataset("lastfm-360k")
    spec = replace(REGISTRY["lastfm-360k"], sha256=sha256(path))    # a checksum the user trusts
    assert len(lastfm.load_lastfm_360k(spec=spec).listens) == 5
    with pytest.raises(DatasetVerificationError, match="lastfm_360k.hdf5 has sha256 .* should have 0000"):
        lastfm.load_lastfm_360k(spec=replace(spec, sha256="0" * 64))


def test_360k_users_by_artists_is_used_as_it_is():
    plays = sp.csr_matrix(np.array(ARTIST_USER, dtype=np.float32).T)  # 4 users × 3 artists
    world = plays_to_world(ARTIST_NAMES, USER_NAMES, plays)
    assert world.listens[["user_id", "track_id", "streams"]].values.tolist()[:2] == [[1, 1, 3], [1, 3, 2]]
    assert "used as it is" in world.report.notes[0]


def test_360k_orientation_that_does_not_match_the_names_is_an_error():
    plays = implicit_like(ARTIST_USER)
    with pytest.raises(ValueError, match=r"shape \(3, 3\) but there are 2 artist names and 4 user names"):
        plays_to_world(ARTIST_NAMES[:2], USER_NAMES, plays)
    with pytest.raises(ValueError, match="negative"):
        plays_to_world(ARTIST_NAMES, USER_NAMES, implicit_like([[3, 0, -1, 0], [0, 5, 0, 0], [2, 0, 4, 0]]))


def test_360k_is_downloaded_into_implicits_folder_first(implicit_cache, tmp_path):
    payload = write_hdf5(tmp_path / "served.hdf5", ARTIST_USER).read_bytes()
    with pytest.warns(UnverifiedDataWarning):
        world = lastfm.load_lastfm_360k(verify=False, urlopen=lambda url, timeout: FakeResponse(payload),
                                        progress=False)
    assert (implicit_cache / "lastfm_360k.hdf5").read_bytes() == payload
    assert len(world.listens) == 5


def test_360k_offline_error_names_implicits_folder(implicit_cache):
    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    with pytest.warns(UnverifiedDataWarning), \
            pytest.raises(DatasetUnavailableError, match=f"network is unreachable.*place it at "
                                                         f"{implicit_cache / 'lastfm_360k.hdf5'}.*IMPLICIT_DATASET_DIR"):
        lastfm.load_lastfm_360k(verify=False, urlopen=offline, sleep=lambda s: None, progress=False)
    with pytest.raises(DatasetUnavailableError, match=f"{implicit_cache / 'lastfm_360k.hdf5'} does not exist"):
        lastfm.load_lastfm_360k(verify=False, download=False)


def test_360k_damaged_cached_file_is_reported(implicit_cache):
    implicit_cache.mkdir()
    (implicit_cache / "lastfm_360k.hdf5").write_bytes(b"half a file")
    with pytest.warns(UnverifiedDataWarning), \
            pytest.raises(DatasetVerificationError, match="lastfm_360k.hdf5 cannot be read.*Delete it"):
        lastfm.load_lastfm_360k(verify=False)


# ----------------------------------------------------------------- the switch
def test_load_dataset_switches_to_the_world(monkeypatch):
    import coursekit.datasets

    calls = []
    monkeypatch.setattr(coursekit.datasets, "load_world", lambda size, **kw: calls.append((size, kw)) or "W")
    assert load_dataset("world") == "W" and load_dataset("world", size="tiny", path="p") == "W"
    assert calls == [("small", {"verify": True}), ("tiny", {"verify": True, "path": "p"})]
    with pytest.raises(ValueError, match=r"unknown dataset 'lastfm-1k'.*'world', 'lastfm-2k', 'lastfm-360k'"):
        load_dataset("lastfm-1k")
