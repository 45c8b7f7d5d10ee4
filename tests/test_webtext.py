"""Tests of the web-text writer (coursekit.webtext)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from coursekit.webtext import (DOCUMENT_COLUMNS, GENRE_VOCABULARY, SIGNATURE_ADJECTIVES,
                               SIGNATURE_PHRASES, demonym, write_documents)


def _inputs():
    artists = pd.DataFrame({
        "artist_id": np.array([1, 2, 3, 4], dtype=np.int64),
        "name": ["ABBA", "The Velvet Foxes", "Nora Lind", "Kalomi"],
        "genre": ["pop", "metal", "jazz", "pop"],
        "origin": ["Stockholm, Sweden", "Oslo, Norway", "New York, the United States", "Lagos, Nigeria"],
        "active_since": np.array([1972, 1988, 2004, 2015], dtype=np.int64),
    })
    tracks = pd.DataFrame({
        "track_id": np.arange(1, 8, dtype=np.int64),
        "artist_id": np.array([1, 1, 1, 2, 3, 3, 4], dtype=np.int64),
        "title": ["Dancing Queen", "Mamma Mia", "Chiquitita", "Iron Winter", "Blue Rain", "Late Set",
                  "Sugar Sky"],
    })
    similar = {1: [4, 3], 2: [3], 3: [1, 2], 4: [1]}
    return artists, tracks, similar


def _write(n_docs=(30, 25, 0, 12), seed=7):
    artists, tracks, similar = _inputs()
    return write_documents(artists, tracks, similar, np.array(n_docs), np.random.default_rng(seed))


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", " ", text).replace("&amp;", "and")


def test_schema_and_dtypes():
    docs = _write()
    assert tuple(docs.columns) == DOCUMENT_COLUMNS
    assert docs["doc_id"].dtype == np.int64
    assert docs["artist_id"].dtype == np.int64
    assert str(docs["track_id"].dtype) == "Int64"
    assert docs["doc_id"].tolist() == list(range(len(docs)))
    assert set(docs["kind"]) <= {"blog", "review", "news"}
    assert set(docs["kind"]) == {"blog", "review", "news"}
    assert docs["text"].map(len).min() > 10


def test_n_docs_respected_including_zeros():
    docs = _write((30, 25, 0, 12))
    counts = docs["artist_id"].value_counts().to_dict()
    assert counts == {1: 30, 2: 25, 4: 12}
    assert _write((0, 0, 0, 0)).shape == (0, len(DOCUMENT_COLUMNS))


def test_deterministic_and_seed_dependent():
    a, b, c = _write(seed=3), _write(seed=3), _write(seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["text"].equals(c["text"])


def test_track_documents_quote_their_title_and_belong_to_the_artist():
    artists, tracks, _ = _inputs()
    docs = _write()
    title = dict(zip(tracks["track_id"], tracks["title"]))
    owner = dict(zip(tracks["track_id"], tracks["artist_id"]))
    about_track = docs[docs["track_id"].notna()]
    assert len(about_track) > 10
    assert docs["track_id"].isna().sum() > 10
    for row in about_track.itertuples():
        assert owner[row.track_id] == row.artist_id
        assert f'"{title[row.track_id]}"' in row.text


def test_artists_named_and_similar_artists_mentioned():
    docs = _write()
    abba = docs[docs["artist_id"] == 1]["text"].map(_plain)
    assert abba.str.contains("ABBA").all()
    # ABBA resembles Kalomi and Nora Lind: the web mentions them alongside it
    assert abba.str.contains("Kalomi").sum() >= 3
    assert abba.str.contains("Nora Lind").sum() >= 3
    # ... and never an artist it does not resemble
    assert not abba.str.contains("The Velvet Foxes").any()


def test_genre_vocabulary_and_origin_adjective():
    docs = _write()
    text = " ".join(docs[docs["artist_id"] == 2]["text"].map(_plain)).lower()
    metal_hits = sum(text.count(f" {w} ") for w in GENRE_VOCABULARY["metal"]["adj"])
    pop_hits = sum(text.count(f" {w} ") for w in set(GENRE_VOCABULARY["pop"]["adj"])
                   - set(GENRE_VOCABULARY["metal"]["adj"]))
    assert metal_hits > 20 and metal_hits > 5 * pop_hits
    abba = " ".join(docs[docs["artist_id"] == 1]["text"])
    assert "Swedish" in abba and "Stockholm" in abba
    assert demonym("Sweden") == "Swedish" and demonym("Atlantis") == "local"


def test_each_artist_has_repeated_signature_words():
    docs = _write()
    pool = list(SIGNATURE_ADJECTIVES) + list(SIGNATURE_PHRASES)
    for aid in (1, 2, 4):
        text = " ".join(docs[docs["artist_id"] == aid]["text"].map(_plain))
        counts = {w: len(re.findall(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)) for w in pool}
        repeated = [w for w, c in counts.items() if c >= 3]
        assert 2 <= len(repeated) <= 4, (aid, repeated)


def test_lengths_vary_and_some_blogs_carry_html():
    docs = _write((200, 10, 0, 10))
    n_sent = docs["text"].map(_plain).str.count(r"[.!?](?:\s|$)")
    assert n_sent.min() == 1 and n_sent.max() >= 7
    blogs = docs[docs["kind"] == "blog"]["text"]
    with_html = blogs.str.contains("<p>")
    assert 0 < with_html.mean() < 0.6
    assert not docs[docs["kind"] != "blog"]["text"].str.contains("<").any()


def test_bad_input_is_named():
    artists, tracks, similar = _inputs()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="one entry per artist"):
        write_documents(artists, tracks, similar, np.array([1, 2]), rng)
    with pytest.raises(ValueError, match="non-negative"):
        write_documents(artists, tracks, similar, np.array([1, -1, 0, 0]), rng)
    with pytest.raises(ValueError, match="origin"):
        write_documents(artists.drop(columns="origin"), tracks, similar, np.array([1, 1, 1, 1]), rng)
    bad = artists.assign(genre=["pop", "polka", "jazz", "pop"])
    with pytest.raises(ValueError, match="polka"):
        write_documents(bad, tracks, similar, np.array([1, 1, 1, 1]), rng)
