"""Notebooks 02 and 03 on real Last.fm data, offline: HetRec files placed in the cache by hand.

A user behind a firewall downloads ``hetrec2011-lastfm-2k.zip`` elsewhere and puts it
(or its unpacked files) into ``$COURSEKIT_DATA/lastfm``; the notebooks then run with
``DATASET = "lastfm-2k"``. Here the files are small ones in exactly the HetRec format,
with a planted structure (listeners keep to a few genres, artists are tagged with their
genre's tags) so that the notebooks' claims can hold. Their row counts are not the
release's, so the kernel gets a registry entry with these files' counts, as
``tests/test_lastfm.py`` passes ``spec=small_spec()``: verification stays on.
"""

import hashlib
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from hetrec_files import make_zip, small_spec, write_unpacked

from coursekit.lastfm import data_folder

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

GENRES = {  # main tag, then sub-genre tags
    "post-rock": ["instrumental", "ambient", "icelandic"],
    "hip-hop": ["rap", "underground hip-hop", "east coast"],
    "electronic": ["house", "techno", "electro"],
    "metal": ["heavy metal", "thrash", "doom"],
    "folk": ["acoustic", "singer-songwriter", "americana"],
    "pop": ["dance pop", "synthpop", "female vocalists"],
}
GENERIC_TAGS = ["seen live", "favorites", "awesome", "80s", "00s", "love"]
SYLLABLES = ["ka", "lo", "mi", "ver", "dun", "sel", "tor", "bri", "nax", "pel"]


def hetrec_files(*, n_users=300, n_artists=800, n_untagged=10, seed=0):
    """The four HetRec ``.dat`` files (bytes) of a small made-up Last.fm.

    Every artist has a genre and long-tailed popularity; every user keeps to one
    or two genres, plays 15-40 artists and tags some of them with their genre's
    tags, generic tags and words of the artist's own (drawn from a long-tailed
    pool, so that some are shared by many artists and most by few). The last
    ``n_untagged`` artists are never tagged (nobody "wrote" about them).
    """
    rng = np.random.default_rng(seed)
    names = list(GENRES)
    artist_genre = rng.integers(len(names), size=n_artists)
    popularity = rng.pareto(1.5, size=n_artists) + 1
    words = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
    shared = 1 / (np.arange(len(words)) + 5)
    own_tags = [[words[k] for k in rng.choice(len(words), size=8, replace=False, p=shared / shared.sum())]
                for _ in range(n_artists)]
    tag_names = sorted({t for main, subs in GENRES.items() for t in [main, *subs]} | set(GENERIC_TAGS))
    tag_id = {t: i + 1 for i, t in enumerate(tag_names + words)}

    plays, tagged = [], []
    for user in range(2, n_users + 2):                                  # HetRec user ids start at 2
        likes = rng.choice(len(names), size=1 + (rng.random() < 0.3), replace=False)
        in_taste = np.isin(artist_genre, likes)
        p = popularity * np.where(in_taste, 1.0, 0.01)
        chosen = rng.choice(n_artists, size=int(rng.integers(15, 41)), replace=False, p=p / p.sum())
        for a in np.sort(chosen):
            plays.append((user, a + 1, int(rng.lognormal(5, 1.2)) + 1))
            if a >= n_artists - n_untagged or rng.random() > 0.6:
                continue
            main = names[artist_genre[a]]
            given = [main] if rng.random() < 0.8 else []
            given += [GENRES[main][k] for k in range(3) if rng.random() < 0.4]
            given += [GENERIC_TAGS[k] for k in rng.choice(len(GENERIC_TAGS), size=rng.integers(0, 2))]
            given += [t for t in own_tags[a] if rng.random() < 0.2]
            day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(2005, 2011))
            tagged += [(user, a + 1, tag_id[t], day, month, year) for t in dict.fromkeys(given)]

    def dat(header, rows):
        return ("\t".join(header) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)).encode("utf-8")

    artist_names = ["Sigur Rós" if a == 0 else f"Band {a + 1}" for a in range(n_artists)]
    return {
        "user_artists.dat": dat(["userID", "artistID", "weight"], plays),
        "artists.dat": dat(["id", "name", "url", "pictureURL"],
                           [(a + 1, n, f"http://www.last.fm/music/{n.replace(' ', '+')}", "")
                            for a, n in enumerate(artist_names)]),
        "tags.dat": dat(["tagID", "tagValue"], [(i, t) for t, i in tag_id.items()]),
        "user_taggedartists.dat": dat(["userID", "artistID", "tagID", "day", "month", "year"], tagged),
    }


def spec_of(files, **changes):
    """The registry's HetRec entry with the row, user and artist counts of ``files``."""
    rows = {name: data.count(b"\n") - 1 for name, data in files.items()}
    plays = np.array([line.split(b"\t")[:2] for line in files["user_artists.dat"].splitlines()[1:]], dtype=int)
    counts = {"users": len(np.unique(plays[:, 0])), "items": len(np.unique(plays[:, 1]))}
    return small_spec(rows=rows, counts=counts, **changes)


def run_notebook(name, overrides, spec, tmp_path):
    """Execute ``notebooks/<name>.ipynb`` with its parameters overridden; returns the executed notebook.

    The parameters cell's assignments are replaced (each must be there), as nbval
    or papermill would; a first cell gives the kernel the registry entry of the
    test's files. The kernel inherits ``COURSEKIT_DATA`` from this process.
    """
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    source = params[0].source
    for key, value in overrides.items():
        source, n = re.subn(rf"^{key} = .*$", f"{key} = {value!r}", source, flags=re.MULTILINE)
        assert n == 1, f"{name}'s parameters cell has no line '{key} = ...'"
    params[0].source = source
    setup = ("from coursekit.lastfm import REGISTRY, DatasetSpec, TableSpec\n"
             f"REGISTRY[{spec.name!r}] = {spec!r}")
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = str(err)
    nbformat.write(nb, tmp_path / f"{name}.ipynb")   # to look at when something fails
    if error:
        pytest.fail(f"{name} failed on lastfm-2k:\n{error}", pytrace=False)
    return nb


def text_of(nb):
    """Everything the notebook printed, in order."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    return tmp_path / "cache"


def test_notebook_02_on_a_hand_placed_hetrec_zip(cache, tmp_path):
    files = hetrec_files()
    data_folder().mkdir(parents=True)
    archive = make_zip(data_folder() / "hetrec2011-lastfm-2k.zip", files)
    spec = spec_of(files, sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
    printed = text_of(run_notebook("02_matrix_factorization", {"DATASET": "lastfm-2k"}, spec, tmp_path))
    assert "lastfm-2k (lastfm-2k): 300 users, 800 items" in printed
    assert "holding out a random 20% of each user's items instead" in printed
    ratio = re.search(r"ALS vs popularity: ([\d.]+)x the NDCG@30", printed)
    assert ratio and float(ratio.group(1)) >= 2, "notebook 02 should report ALS against popularity"
    assert "no oracle to compare with; skipped" in printed


def test_notebook_03_on_hand_unpacked_hetrec_files(cache, tmp_path):
    files = hetrec_files()
    write_unpacked(files)
    untagged = 800   # one of the artists nobody tagged: the notebook follows another one
    printed = text_of(run_notebook("03_cultural_vectors", {"DATASET": "lastfm-2k", "ARTIST": untagged},
                                   spec_of(files), tmp_path))
    followed = re.search(rf"Note: artist {untagged} has no tags in lastfm-2k; following '(.+?)' ", printed)
    assert followed, "an artist without tags should be replaced, with a note"
    assert re.search(r"documents used: (\d+) of \1 ", printed)              # one tag document per tagged artist
    assert f"artists most like {followed.group(1)} (" in printed             # similar artists by cultural vector
    assert "mean overlap@10 of text and CF neighbours" in printed            # agreement with CF neighbours
    assert "Note: skipped on lastfm-2k: tags have no markup" in printed      # web-text specifics
    assert "Note: skipped on lastfm-2k: real data has no truth" in printed


def test_notebook_05_on_real_data_says_why_and_skips_the_rest(cache, tmp_path):
    files = hetrec_files(n_users=30, n_artists=60, n_untagged=2)
    write_unpacked(files)
    nb = run_notebook("05_discover_weekly", {"DATASET": "lastfm-2k"}, spec_of(files), tmp_path)
    printed = text_of(nb)
    assert "The rest of this notebook is skipped: DATASET = 'lastfm-2k': Discover Weekly needs weekly" in printed
    code = [c for c in nb.cells if c.cell_type == "code"]
    last = "".join(o.get("text", "") for o in code[-1].outputs)
    assert last.startswith("skipped: DATASET = 'lastfm-2k'")
