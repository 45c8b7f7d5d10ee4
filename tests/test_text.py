"""Tests of chapter 03's text model (coursekit.text) on sentences written for the tests."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from coursekit.terms import (STOP_WORDS, adjectives, clean_text, extract_terms, ngram_terms, noun_phrases,
                             pos_tag, tokenize, words)
from coursekit.text import CulturalVectors, NoDocumentsError, gaussian_weight, salience

TOL = 1e-9        # exact arithmetic, up to float rounding
HAND_TOL = 1e-4   # values computed by hand to four decimals

# ------------------------------------------------------------------ tokens and n-grams

QUARTET = "The Swedish quartet's latest record isn't subtle: it's a perky disco anthem."


def test_tokenize_splits_clitics_and_punctuation():
    assert tokenize(QUARTET) == [
        "The", "Swedish", "quartet", "'s", "latest", "record", "is", "n't", "subtle", ":",
        "it", "'s", "a", "perky", "disco", "anthem", ".",
    ]
    assert tokenize("sun-bleached rock 'n' roll o'clock") == [
        "sun-bleached", "rock", "'", "n", "'", "roll", "o'clock"]


def test_words_drop_stop_words_numbers_and_punctuation():
    assert words(QUARTET) == ["swedish", "quartet", "latest", "record", "subtle", "perky", "disco", "anthem"]
    assert words("It was 1976, and it was all ours!") == []


def test_bigrams_stay_inside_clauses_and_skip_stop_words():
    assert ngram_terms(QUARTET) == ["swedish quartet", "latest record", "perky disco", "disco anthem"]
    # "record, perky" crosses a comma; "of the" has stop words
    assert ngram_terms("A great record, perky and sunny, of the disco era.") == [
        "great record", "disco era"]
    assert ngram_terms(QUARTET, 1) == words(QUARTET)
    assert ngram_terms("Dancing Queen by ABBA", 3) == []
    assert ngram_terms("mamma mia here we go again", 3) == []
    assert ngram_terms("swedish disco pop anthem", 3) == ["swedish disco pop", "disco pop anthem"]
    with pytest.raises(ValueError, match="n must be"):
        ngram_terms(QUARTET, 0)


def test_html_entities_and_symbols_are_cleaned():
    text = "<p>Rock &amp; roll <b>forever</b></p><p>Björk 🎶 sang</p><script>x=1</script>"
    assert clean_text(text) == "Rock & roll forever\nBjörk sang"
    # "&" and a paragraph break end a clause: no "rock roll", no "forever björk"
    assert ngram_terms(text) == ["roll forever", "björk sang"]
    with pytest.raises(TypeError, match="str"):
        clean_text(42)


@pytest.mark.parametrize("text, expected", [
    ("<div>one</div><li>two<br/>three", "one\ntwo\nthree"),            # block tags end lines
    ("a<span class='x'>b</span>c", "a b c"),                           # other tags are spaces
    ("<P>up</P><Br>case", "up\ncase"),                                  # tag names in any case
    ("<pre>not a p</pre>", "not a p"),                                   # "pre" is not "p"
    ("x<style>p {color: red}</style>y<SCRIPT>a = 1 < 2;</script >z", "x y z"),   # dropped with content
    ("before<!-- a > b -->after", "before after"),                      # a comment goes whole
    ("<script>var x = 1; ABBA rocks", "var x 1; ABBA rocks"),             # never ends: plain tag, text kept
    ("<!-- never closed> text", "text"),                                 # unclosed comment: plain tag
    ("1 < 2 and 3 <4", "1 2 and 3 4"),                                   # "<" without ">": not a tag
    ("a < b > c", "a c"),                                                # from a "<" to the next ">": a tag
])
def test_markup_is_stripped_tag_by_tag(text, expected):
    assert clean_text(text) == expected


# ------------------------------------------------------------------ tags, noun phrases, adjectives

SENTENCES = {
    "Mamma Mia remains their most famous song.":
        (["mamma mia", "famous song"], ["famous"]),
    "Benny wrote the chorus on an old piano in Stockholm.":
        (["benny", "chorus", "old piano", "stockholm"], ["old"]),
    "Critics called the record nonviolent and strangely moving.":
        (["critics", "record"], ["nonviolent"]),
    "Her third album sounds darker than anything she has released before.":
        (["third album", "anything"], ["third", "darker"]),
    "We waited for hours outside a tiny basement club in Glasgow.":
        (["hours", "tiny basement club", "glasgow"], ["tiny"]),
    QUARTET:
        (["swedish quartet", "latest record", "perky disco anthem"], ["swedish", "latest", "subtle", "perky"]),
    "Breathy vocals come in before the pedal steel.":
        (["breathy vocals", "pedal steel"], ["breathy"]),
    "Another perky song appeared on the radio.":   # "another" is a determiner, not a stop word
        (["perky song", "radio"], ["perky"]),
    "Fans of ABBA will love the pitch-shifted vocals.":
        (["fans", "abba", "pitch-shifted vocals"], ["pitch-shifted"]),
}


@pytest.mark.parametrize("sentence", list(SENTENCES))
def test_noun_phrases_and_adjectives_of_hand_written_sentences(sentence):
    expected_np, expected_adj = SENTENCES[sentence]
    assert noun_phrases(sentence) == expected_np
    assert adjectives(sentence) == expected_adj


def test_pos_tags_and_context_fixes():
    assert pos_tag("A perky song.") == [("A", "DT"), ("perky", "JJ"), ("song", "NN"), (".", ".")]
    tags = dict(pos_tag("Fans will love the pedal steel you can hear."))
    assert tags["love"] == "VB"      # noun after a modal → verb
    assert tags["pedal"] == "NN"     # verb after a determiner → noun
    # a participle after "has" stays a verb and out of the noun phrase
    assert noun_phrases("The band has released records.") == ["band", "records"]
    assert adjectives("The band has released records.") == []


def test_extract_terms_tags_once_for_all_types():
    terms = extract_terms("<p>Fans of <b>ABBA</b> will love this perky song.</p>")
    assert terms == {
        "n1": ["fans", "abba", "love", "perky", "song"],
        "n2": ["perky song"],
        "np": ["fans", "abba", "perky song"],
        "adj": ["perky"],
    }
    assert extract_terms("") == {"n1": [], "n2": [], "np": [], "adj": []}
    assert extract_terms("the of and , . !") == {"n1": [], "n2": [], "np": [], "adj": []}


# ------------------------------------------------------------------ scores on a 3-document corpus

# d0 (artist 1): perky, disco, perky, pop   d1 (artist 1): sunny, disco   d2 (artist 2): grim, metal
CORPUS = pd.DataFrame({
    "artist_id": [1, 1, 2],
    "track_id": pd.array([10, pd.NA, 20], dtype="Int64"),
    "text": ["Perky disco. Perky pop.", "Sunny disco.", "Grim metal."],
})


def test_gaussian_weight_and_salience_by_hand():
    # mu = log 2, sigma = 1: df = 2 weighs exp(0) = 1, df = 1 weighs exp(-(log 2)^2 / 2) = 0.78645
    w = gaussian_weight([1, 2, 4], mu=math.log(2), sigma=1.0)
    assert w == pytest.approx([0.78645, 1.0, 0.78645], abs=HAND_TOL)
    s = salience([[1 / 3, 1 / 3, 1 / 6]], [1, 2, 1], mu=math.log(2), sigma=1.0)
    assert s.shape == (1, 3)
    assert s[0] == pytest.approx([0.26215, 0.33333, 0.13108], abs=HAND_TOL)
    S = salience(sp.csr_matrix([[0.5, 0.0]]), [1, 2], mu=0.0, sigma=1.0)
    assert sp.issparse(S) and S.nnz == 1 and S[0, 0] == pytest.approx(0.5, abs=TOL)
    with pytest.raises(ValueError, match=">= 1"):
        gaussian_weight([0, 1], mu=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_weight([1], mu=0.0, sigma=0.0)


def test_salience_scores_of_the_three_document_corpus():
    model = CulturalVectors(mu=math.log(2), sigma=1.0).fit(CORPUS)
    assert model.n_documents_ == 3
    assert model.document_frequency_["n1"].tolist() == [2, 1, 1, 1, 1, 1]   # disco grim metal perky pop sunny
    assert model.vocabulary_["n1"].tolist() == ["disco", "grim", "metal", "perky", "pop", "sunny"]
    # artist 1: counts disco 2, perky 2, pop 1, sunny 1 of 6 -> tf 1/3, 1/3, 1/6, 1/6
    top = model.top_terms(1, term_type="n1", n=10)
    assert top["term"].tolist() == ["disco", "perky", "pop", "sunny"]
    assert top["score"].tolist() == pytest.approx([0.33333, 0.26215, 0.13108, 0.13108], abs=HAND_TOL)
    # track 10 is d0 alone: perky 2/4, disco 1/4, pop 1/4
    track = model.top_terms(track_id=10, term_type="n1")
    assert track["term"].tolist() == ["perky", "disco", "pop"]
    assert track["score"].tolist() == pytest.approx([0.39322, 0.25, 0.19661], abs=HAND_TOL)


def test_default_mu_and_sigma_follow_the_corpus_size():
    model = CulturalVectors().fit(CORPUS)
    assert model.mu_ == pytest.approx(0.3 * math.log(3), abs=TOL)
    assert model.sigma_ == pytest.approx(0.25 * math.log(3), abs=TOL)


def test_tfidf_by_hand_and_equal_to_sklearn_tfidfvectorizer():
    model = CulturalVectors(weighting="tfidf").fit(CORPUS)
    # every artist-1 term is in one of the two artists: same idf, so tf-idf is counts / ||counts||
    top = model.top_terms(1, term_type="n1")
    assert top["term"].tolist() == ["disco", "perky", "pop", "sunny"]
    assert top["score"].tolist() == pytest.approx(np.array([2, 2, 1, 1]) / math.sqrt(10), abs=TOL)
    # the same numbers as TfidfVectorizer with each artist's terms as one document
    per_artist = [["perky", "disco", "perky", "pop", "sunny", "disco"], ["grim", "metal"]]
    vec = TfidfVectorizer(analyzer=lambda terms: terms, vocabulary=model.vocabulary_["n1"].tolist())
    expected = vec.fit_transform(per_artist).toarray()
    got = np.vstack([model._weights(model.counts_["n1"][i], "n1", "tfidf").toarray() for i in range(2)])
    assert got == pytest.approx(expected, abs=TOL)


def test_top_terms_table_has_the_lectures_format():
    model = CulturalVectors().fit(CORPUS)
    table = model.top_terms_table(1)
    assert list(table.columns) == ["n2 term", "n2 score", "np term", "np score", "adj term", "adj score"]
    assert len(table) == 10 and table.index.tolist() == list(range(1, 11))
    assert table.loc[1, "adj term"] in {"perky", "sunny"}
    assert table["np score"].dtype == np.float64
    # fewer terms than rows: blanks and NaN, not made-up terms
    assert table.loc[10, "n2 term"] == "" and np.isnan(table.loc[10, "n2 score"])
    scores = table["np score"].dropna().to_numpy()
    assert np.all(np.diff(scores) <= 0)


# ------------------------------------------------------------------ cultural vectors and similarity

ARTISTS = pd.DataFrame({"artist_id": [1, 2, 3, 4, 5]})
SIM_DOCS = pd.DataFrame({
    "artist_id": [1, 1, 2, 2, 3, 3, 4, 4],
    "text": [
        "A perky disco anthem with a sunny chorus.", "Perky Swedish pop for the dance floor.",
        "A sunny disco single, perky and bright.", "Swedish pop for the dance floor, perky and sunny.",
        "Grim doom metal with a crushing riff.", "A bleak, grim riff from the metal underground.",
        "Perky Swedish pop for the dance floor.", "A perky disco anthem with a sunny chorus.",
    ],
})


def test_similar_artists_rank_by_cosine():
    model = CulturalVectors().fit(SIM_DOCS, ARTISTS)
    ids, scores = model.similar_artists(1, n=3)
    assert ids.tolist() == [4, 2, 3]
    assert 1 not in ids
    assert np.all(np.diff(scores) <= 0)
    norms = np.sqrt(np.asarray(model.vectors_.multiply(model.vectors_).sum(axis=1)).ravel())
    assert norms == pytest.approx(np.ones(4), abs=TOL)
    # the same documents (in another order) give cosine 1; the metal artist shares almost nothing
    S = model.similarity([1, 2, 3, 4])
    assert S.loc[1, 4] == pytest.approx(1.0, abs=TOL) and scores[0] == pytest.approx(1.0, abs=TOL)
    assert 0.3 < S.loc[1, 2] < 1.0
    assert S.loc[1, 3] < 0.1
    assert S.to_numpy() == pytest.approx(S.to_numpy().T, abs=TOL)
    # asking for more neighbours than exist gives all of them
    assert len(model.similar_artists(1, n=50)[0]) == 3


def test_artists_without_documents_have_no_vector():
    model = CulturalVectors().fit(SIM_DOCS, ARTISTS)
    assert model.report_.artists_without_documents == [5]
    assert not model.has_vector(5) and model.has_vector(1)
    with pytest.raises(NoDocumentsError, match="no documents"):
        model.similar_artists(5)
    with pytest.raises(NoDocumentsError):
        model.top_terms_table(5)
    for n in (1, 10):
        assert 5 not in model.similar_artists(1, n=n)[0]
    with pytest.raises(KeyError, match="unknown artist id 99"):
        model.similar_artists(99)
    with pytest.raises(NoDocumentsError, match="track 7"):
        model.top_terms(track_id=7)


def test_tfidf_vectors_also_find_the_pop_neighbours():
    model = CulturalVectors(weighting="tfidf").fit(SIM_DOCS, ARTISTS)
    ids, _ = model.similar_artists(2, n=3)
    assert set(ids[:2]) == {1, 4} and ids[2] == 3


def test_top_terms_are_each_artists_own_weights_in_either_weighting():
    # top_terms weighs every artist at once and keeps the result; each row must be the artist's own
    model = CulturalVectors().fit(SIM_DOCS, ARTISTS)
    for weighting in ("tfidf", "salience", "tfidf"):
        for artist in model.artist_ids_.tolist():
            own = model._weights(model.counts_["adj"][model._artist_row[artist]], "adj", weighting)
            top = model.top_terms(artist, term_type="adj", n=50, weighting=weighting)
            expected = dict(zip(model.vocabulary_["adj"][own.indices], own.data))
            assert dict(zip(top["term"], top["score"])) == pytest.approx(expected, abs=TOL)


def test_tag_documents_as_the_lastfm_loader_writes_them():
    # coursekit.lastfm: one document per artist, each tag as often as listeners gave it, one tag a sentence
    docs = pd.DataFrame({"artist_id": [1, 2, 3], "kind": "tags",
                         "text": ["post-rock. post-rock. icelandic. seen live.", "post-rock. ambient. icelandic.",
                                  "rnb. rnb. seen live. 2010."]})
    model = CulturalVectors().fit(docs)
    assert model.report_.n_used == 3 and model.n_documents_ == 3
    counts = dict(zip(model.vocabulary_["n1"], model.counts_["n1"][0].toarray().ravel()))
    assert counts == {"ambient": 0, "icelandic": 1, "live": 1, "post-rock": 2, "rnb": 0, "seen": 1}  # 2010: no word
    assert model.vocabulary_["n2"].tolist() == ["seen live"]          # a tag never runs into the next one
    assert model.document_frequency_["n1"].tolist() == [1, 2, 2, 2, 1, 2]   # artists tagged with it
    ids, sims = model.similar_artists(1, n=2)
    assert ids.tolist() == [2, 3] and sims[0] > sims[1] > 0

# ------------------------------------------------------------------ bad input


def test_bad_documents_are_skipped_and_counted():
    docs = pd.DataFrame({
        "artist_id": [1, 1, 1, 1, 2, 2, 2, 9, None],
        "text": [
            "",                                          # empty
            "   ",                                       # whitespace
            "<p></p><br/>",                              # only markup
            "The of and, to ... !!! 42",                 # only stop words, numbers and punctuation
            None,                                        # missing
            "<p>A <b>perky</b> Café-pop song &amp; more</p>",   # HTML, accents: used
            "Перки 🎶 диско, 日本語のポップ.",               # other scripts and emoji: used
            "A song by nobody we know.",                 # artist not in the table
            "A song with no artist.",                    # missing artist id
        ],
    })
    model = CulturalVectors().fit(docs, pd.DataFrame({"artist_id": [1, 2]}))
    r = model.report_
    assert (r.n_documents, r.n_used, r.n_empty, r.n_no_terms, r.n_unknown_artist) == (9, 2, 4, 1, 2)
    assert r.n_skipped == 7 and r.n_html == 2 and r.n_non_ascii == 2
    assert model.artist_ids_.tolist() == [2]
    assert r.artists_without_documents == [1]
    assert "perky" in model.top_terms(2, term_type="adj")["term"].tolist()
    assert "perky café-pop song" in model.top_terms(2, term_type="np")["term"].tolist()
    assert "перки" in model.top_terms(2, term_type="n1", n=50)["term"].tolist()


def test_a_one_megabyte_document_is_handled():
    big = "The perky disco anthem never stops. " * 28_000   # about 1 MB
    assert len(big) > 1_000_000
    docs = pd.DataFrame({"artist_id": [1, 2], "text": [big, "A grim metal riff."]})
    model = CulturalVectors().fit(docs)
    assert model.report_.n_truncated == 1 and model.report_.n_used == 2
    assert model.top_terms(1, term_type="np", n=1)["term"].tolist() == ["perky disco anthem"]
    short = CulturalVectors(max_chars=100).fit(docs)
    assert short.counts_["n1"][0].sum() < 20


@pytest.mark.parametrize("weighting", ["salience", "tfidf"])
def test_a_corpus_without_adjectives_fits_with_that_block_empty(weighting):
    docs = pd.DataFrame({"artist_id": [1, 2], "text": ["The band plays songs.", "Die Band spielt Lieder."]})
    with pytest.warns(UserWarning, match=r"\['adj'\].*empty_term_types_"):
        model = CulturalVectors(weighting=weighting).fit(docs)
    assert model.empty_term_types_ == ("adj",) and model.report_.empty_term_types == ["adj"]
    assert model.vocabulary_["adj"].size == 0
    assert not any(name.startswith("adj:") for name in model.feature_names_)
    assert model.top_terms(1, term_type="adj").empty
    assert model.top_terms_table(1, n=1)["adj term"].tolist() == [""]
    assert sorted(model.top_terms(1, term_type="n1")["term"]) == ["band", "plays", "songs"]
    np.testing.assert_allclose(sp.linalg.norm(model.vectors_, axis=1), [1.0, 1.0], atol=TOL)
    assert model.similar_artists(1)[0].tolist() == [2]     # "band" is shared


def test_one_word_documents_have_no_bigrams_or_adjectives():
    docs = pd.DataFrame({"artist_id": [1, 2, 3], "text": ["Rock", "Songs", "Rock"]})
    with pytest.warns(UserWarning, match=r"\['n2', 'adj'\]"):
        model = CulturalVectors().fit(docs)
    assert model.empty_term_types_ == ("n2", "adj")
    assert model.feature_names_.tolist() == ["n1:rock", "n1:songs", "np:rock", "np:songs"]
    assert model.similarity().loc[1, 3] == pytest.approx(1.0) and model.similarity().loc[1, 2] == 0


def test_a_corpus_with_every_term_type_does_not_warn(recwarn):
    CulturalVectors().fit(CORPUS)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning) and "term" in str(w.message)]


@pytest.mark.parametrize("column, values, shown", [
    ("artist_id", ["ABBA", "Queen"], "'ABBA'"),
    ("artist_id", [1.5, 2], "1.5"),
    ("artist_id", [1e20, 2], "1e+20"),
    ("artist_id", np.array([2**63, 2], dtype=np.uint64), "9223372036854775808"),
    ("track_id", ["Dancing Queen", None], "'Dancing Queen'"),
])
def test_ids_that_are_not_integer_ids_are_named(column, values, shown):
    docs = pd.DataFrame({"artist_id": [1, 2], "text": ["A perky song.", "A grim riff."]})
    docs[column] = values
    with pytest.raises(ValueError, match=rf"documents\['{column}'\] must hold integer ids.*{re.escape(shown)}"):
        CulturalVectors().fit(docs)


def test_huge_integer_ids_stay_exact():
    big = 2**62 + 1                      # not a float: 2**62 + 1 would round to 2**62
    docs = pd.DataFrame({"artist_id": pd.Series([big, 2, None], dtype=object),
                         "text": ["A perky song.", "A grim riff.", "A song with no artist."]})
    model = CulturalVectors().fit(docs)
    assert model.artist_ids_.tolist() == [2, big] and model.report_.n_unknown_artist == 1


def test_api_misuse_gets_clear_errors():
    with pytest.raises(NotFittedError):
        CulturalVectors().similar_artists(1)
    with pytest.raises(TypeError, match="DataFrame"):
        CulturalVectors().fit(["a text"])
    with pytest.raises(ValueError, match="text"):
        CulturalVectors().fit(pd.DataFrame({"artist_id": [1]}))
    with pytest.raises(ValueError, match="no usable documents"):
        CulturalVectors().fit(pd.DataFrame({"artist_id": [1], "text": ["the of and"]}))
    with pytest.raises(TypeError, match="strings"):
        CulturalVectors().fit(pd.DataFrame({"artist_id": [1], "text": [42]}))
    with pytest.raises(ValueError, match="weighting"):
        CulturalVectors(weighting="bm25").fit(CORPUS)
    with pytest.raises(ValueError, match="sigma"):
        CulturalVectors(sigma=-1.0).fit(CORPUS)
    with pytest.raises(ValueError, match="unknown term type"):
        CulturalVectors(type_weights={"n3": 1.0}).fit(CORPUS)
    model = CulturalVectors().fit(CORPUS)
    with pytest.raises(ValueError, match="n must be"):
        model.similar_artists(1, n=0)
    with pytest.raises(ValueError, match="term_type"):
        model.top_terms(1, term_type="verb")
    with pytest.raises(ValueError, match="exactly one"):
        model.top_terms(1, track_id=10)
    with pytest.raises(TypeError, match="integer id"):
        model.similar_artists("ABBA")
    with pytest.raises(TypeError, match="integer id"):
        model.similar_artists(True)
    assert model.similar_artists(np.int64(1), n=1)[0].tolist() == [2]


def test_custom_stop_words():
    assert "perky" not in words("A perky song.", stop_words=STOP_WORDS | {"perky"})
    model = CulturalVectors(stop_words=["disco"]).fit(CORPUS)
    assert "disco" not in model.vocabulary_["n1"].tolist()
    assert "the" in model.vocabulary_["n1"].tolist() or "the" not in " ".join(CORPUS["text"]).lower()


# ------------------------------------------------------------------ on the tiny world


def test_world_neighbours_share_the_genre_far_above_chance(tiny):
    world, _ = tiny
    model = CulturalVectors().fit(world.documents, world.artists)
    genre = dict(zip(world.artists["artist_id"], world.artists["genre"]))
    same = [genre[b] == genre[a] for a in model.artist_ids_.tolist()
            for b in model.similar_artists(a, n=5)[0].tolist()]
    shares = pd.Series([genre[a] for a in model.artist_ids_.tolist()]).value_counts(normalize=True)
    chance = float((shares**2).sum())
    assert np.mean(same) > 0.6 > 2 * chance
    silent = sorted(set(world.artists["artist_id"]) - set(world.documents["artist_id"]))
    assert silent and model.report_.artists_without_documents == silent
    with pytest.raises(NoDocumentsError):
        model.similar_artists(silent[0])
