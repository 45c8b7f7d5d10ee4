"""Chapter 03's text model on the world's web text: throughput and genre agreement.

Prints

1. throughput of each step on the world's documents — cleaning and
   tokenising, part-of-speech tagging (textblob's PatternTagger), noun-phrase
   chunking (nltk's RegexpParser), full term extraction (all four term types)
   — in documents and words per second, and the wall time of a whole
   ``CulturalVectors().fit`` (extraction, counting, salience, vectors);
2. how often an artist's nearest neighbours by cultural vector share its genre
   (top 5 and top 10), for the salience and the TF-IDF vectors, next to chance
   (the share of same-genre pairs among all pairs of artists with a vector),
   and how many of the world's true similar artists (the ones the web text
   mentions alongside; evaluation only) are among the top 5;
3. the lecture-format top-terms table of the most written-about artist.

    python benchmarks/text.py               # the small world
    python benchmarks/text.py --size tiny
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from coursekit import terms, text
from coursekit.datasets import load_truth, load_world


def _timed(fn, items):
    start = time.perf_counter()
    out = [fn(x) for x in items]
    return out, time.perf_counter() - start


def throughput(documents: pd.DataFrame) -> pd.DataFrame:
    """Docs/s and words/s of each extraction step over the given documents."""
    texts = documents["text"].tolist()
    terms.extract_terms("warm up the tagger's lexicon")
    tokens, t_tok = _timed(terms._document_tokens, texts)
    n_words = sum(sum(1 for t in toks if terms._is_word(t)) for toks in tokens)
    tagged, t_tag = _timed(terms._tag_tokens, tokens)
    _, t_np = _timed(terms.noun_phrases, tagged)
    _, t_all = _timed(terms.extract_terms, texts)
    rows = [("clean + tokenise", t_tok), ("POS tagging (PatternTagger)", t_tag),
            ("NP chunking (RegexpParser)", t_np), ("extract_terms (all 4 types)", t_all)]
    return pd.DataFrame([(name, s, len(texts) / s, n_words / s) for name, s in rows],
                        columns=["step", "seconds", "docs/s", "words/s"])


def agreement(model: text.CulturalVectors, genre: dict, true_similar: dict, k: int) -> tuple[float, float]:
    """Share of top-k neighbours in the query's genre; share of the true similar artists in the top k."""
    same, found = [], []
    for a in model.artist_ids_.tolist():
        ids, _ = model.similar_artists(a, n=k)
        same.extend(genre[i] == genre[a] for i in ids.tolist())
        truth = set(true_similar.get(a, []))
        if truth:
            found.append(len(truth & set(ids.tolist())) / len(truth))
    return float(np.mean(same)), float(np.mean(found))


def chance(model: text.CulturalVectors, genre: dict) -> float:
    """Probability that a random other artist with a vector shares the query's genre."""
    counts = pd.Series([genre[a] for a in model.artist_ids_.tolist()]).value_counts().to_numpy()
    n = counts.sum()
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


def main(size: str) -> int:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    world = load_world(size)
    truth = load_truth(size)
    docs = world.documents
    print(f"world {size!r}: {len(docs)} documents about {docs['artist_id'].nunique()} of "
          f"{len(world.artists)} artists, {docs['text'].str.len().sum() / 1e6:.2f} M characters\n")

    print("1. throughput (one core)")
    print(throughput(docs).to_string(index=False, float_format=lambda x: f"{x:,.1f}"))
    for weighting in ("salience", "tfidf"):
        start = time.perf_counter()
        model = text.CulturalVectors(weighting=weighting).fit(docs, world.artists)
        print(f"CulturalVectors(weighting={weighting!r}).fit: {time.perf_counter() - start:.2f} s, "
              f"{model.vectors_.shape[0]} artists x {model.vectors_.shape[1]} features, "
              f"{model.vectors_.nnz} non-zeros")
    r = model.report_
    print(f"report: {r.n_used} used, {r.n_skipped} skipped, {r.n_html} with HTML, "
          f"{len(r.artists_without_documents)} artists without documents (no vector)\n")

    print("2. genre agreement of similar_artists")
    genre = dict(zip(world.artists["artist_id"].tolist(), world.artists["genre"].tolist()))
    rows = []
    for weighting in ("salience", "tfidf"):
        model = text.CulturalVectors(weighting=weighting).fit(docs, world.artists)
        for k in (5, 10):
            same, found = agreement(model, genre, truth.similar_artists, k)
            rows.append((weighting, k, same, chance(model, genre), found))
    table = pd.DataFrame(rows, columns=["weighting", "top k", "same genre", "chance", "true similar found"])
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))

    model = text.CulturalVectors().fit(docs, world.artists)
    top = int(docs["artist_id"].value_counts().idxmax())
    row = world.artists.set_index("artist_id").loc[top]
    print(f"\n3. top terms of artist {top}, {row['name']} ({row['genre']}, {row['origin']}), salience")
    with pd.option_context("display.width", 160, "display.max_columns", 10):
        print(model.top_terms_table(top).round(4).to_string())
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small", choices=["tiny", "small", "large"])
    raise SystemExit(main(parser.parse_args().size))
