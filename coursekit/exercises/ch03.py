"""Checkers for exercises 03 · cultural vectors (df, tf, salience, two-word terms, similarity).

The references are :func:`coursekit.text.salience`, :func:`coursekit.terms.ngram_terms`
and :func:`coursekit.similarity.unit_rows`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from coursekit.similarity import unit_rows
from coursekit.terms import STOP_WORDS, clean_text, ngram_terms, tokenize
from coursekit.text import salience

from ._feedback import hidden_seed as _hidden_seed
from ._feedback import ExerciseFeedback, as_matrix, call, close, first_difference, match_mistakes, passed

__all__ = ["hidden_seed", "EXAMPLE_DOCUMENTS", "example_terms", "example_artist_vectors", "check_document_frequency",
           "check_term_frequency", "check_salience_scores", "check_two_word_terms", "check_cultural_similarity"]


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("03", *key)

#: Three reviews, one per artist: two sunny pop acts and a heavy one.
EXAMPLE_DOCUMENTS = (
    "A perky, bright pop song. Its perky chorus and shiny synths make a new, sunny classic.",
    "A dark, heavy record with heavy guitars and dark, slow lyrics. Not a new sound.",
    "A bright, sunny summer record: perky, warm and new.",
)


def example_terms() -> list[list[str]]:
    """The adjectives of each example document, as :func:`coursekit.terms.adjectives` finds them."""
    return [
        ["perky", "bright", "perky", "shiny", "new", "sunny", "classic"],
        ["dark", "heavy", "heavy", "dark", "slow", "new"],
        ["bright", "sunny", "perky", "warm", "new"],
    ]


def example_artist_vectors() -> np.ndarray:
    """Salience vectors of 4 artists over 5 terms; the last artist has no text at all."""
    return np.array([
        [0.33, 0.33, 0.00, 0.17, 0.12],
        [0.00, 0.00, 0.60, 0.00, 0.10],
        [0.20, 0.20, 0.00, 0.25, 0.14],
        [0.00, 0.00, 0.00, 0.00, 0.00],
    ])


def _as_score_dict(got, *, name: str) -> dict:
    __tracebackhide__ = True
    if got is None:
        raise ExerciseFeedback(f"`{name}` returned None: did you forget the `return` line?")
    if hasattr(got, "to_dict"):  # a pandas Series
        got = got.to_dict()
    if not isinstance(got, dict):
        raise ExerciseFeedback(f"`{name}` should return a dict {{term: number}}, got a {type(got).__name__}")
    try:
        return {str(k): float(v) for k, v in got.items()}
    except (TypeError, ValueError):
        raise ExerciseFeedback(f"the values of `{name}` must be numbers") from None


def _compare_dicts(got: dict, expected: dict, *, name: str, what: str) -> str | None:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        return (f"`{name}` has no {what} for {missing[:3]}{' ...' if len(missing) > 3 else ''}: every term of "
                f"the input needs one")
    if extra:
        return f"`{name}` has terms that are not in the input: {extra[:3]}"
    wrong = [t for t in expected if not close(got[t], expected[t])]
    if wrong:
        t = wrong[0]
        return (f"the {what} of {t!r} should be {expected[t]:.4g}, yours is {got[t]:.4g} "
                f"({len(wrong)} of {len(expected)} terms differ)")
    return None


def _df(terms) -> dict:
    return dict(Counter(t for doc in terms for t in set(doc)))


def _tf(doc_terms) -> dict:
    counts = Counter(doc_terms)
    return {t: c / len(doc_terms) for t, c in counts.items()}


def check_document_frequency(document_frequency, *, terms=None):
    """Exercise 1: df(t) = number of documents that contain t (at least once)."""
    __tracebackhide__ = True
    terms = example_terms() if terms is None else [list(d) for d in terms]
    got = _as_score_dict(call(document_frequency, [list(d) for d in terms], name="document_frequency"),
                         name="document_frequency")
    expected = _df(terms)
    problem = _compare_dicts(got, expected, name="document_frequency", what="document frequency")
    if problem is None:
        return passed(f"document_frequency is right: {len(expected)} terms; 'new' is in every document.")
    occurrences = Counter(t for doc in terms for t in doc)
    if _compare_dicts(got, dict(occurrences), name="", what="") is None:
        raise ExerciseFeedback("you counted occurrences: df counts *documents*, so a term used twice in one review "
                               "counts once (use set(doc))")
    raise ExerciseFeedback(problem)


def check_term_frequency(term_frequency, *, doc_terms=None):
    """Exercise 2: tf(t) = the share of the document's terms that are t (sums to 1)."""
    __tracebackhide__ = True
    doc_terms = example_terms()[0] if doc_terms is None else list(doc_terms)
    got = _as_score_dict(call(term_frequency, list(doc_terms), name="term_frequency"), name="term_frequency")
    expected = _tf(doc_terms)
    problem = _compare_dicts(got, expected, name="term_frequency", what="term frequency")
    if problem is None:
        return passed("term_frequency is right: shares that add up to 1.")
    counts = Counter(doc_terms)
    if _compare_dicts(got, {t: float(c) for t, c in counts.items()}, name="", what="") is None:
        raise ExerciseFeedback("scores not normalised: you returned counts; tf is each term's *share* of the "
                               "document's terms (divide by len(doc_terms)), so that long and short reviews compare")
    if _compare_dicts(got, {t: c / len(counts) for t, c in counts.items()}, name="", what="") is None:
        raise ExerciseFeedback("you divided by the number of *distinct* terms; divide by the number of terms, "
                               "repeats included, so that the shares add up to 1")
    raise ExerciseFeedback(problem)


def check_salience_scores(salience_scores, *, terms=None, doc=0, mu=float(np.log(2)), sigma=0.5):
    """Exercise 3: s(t) = tf(t) · exp(−(ln df(t) − μ)² / 2σ²) for the terms of document ``doc``."""
    __tracebackhide__ = True
    terms = example_terms() if terms is None else [list(d) for d in terms]
    got = _as_score_dict(call(salience_scores, [list(d) for d in terms], doc, mu, sigma, name="salience_scores"),
                         name="salience_scores")
    tf, df = _tf(terms[doc]), _df(terms)
    words = list(tf)
    tf_v = np.array([tf[t] for t in words])
    df_v = np.array([df[t] for t in words], dtype=float)
    expected = dict(zip(words, salience(tf_v[None, :], df_v, mu=mu, sigma=sigma)[0]))
    problem = _compare_dicts(got, expected, name="salience_scores", what="salience")
    if problem is None:
        best = max(expected, key=expected.get)
        return passed(f"salience_scores is right: the top term of document {doc} is {best!r}.")
    if set(got) == set(words):
        g = np.array([got[t] for t in words])
        gauss = lambda x: np.exp(-((x - mu) ** 2) / (2 * sigma**2))  # noqa: E731
        match_mistakes(g, [
            (tf_v * gauss(np.log10(df_v)), "you used log10; the formula uses the natural logarithm (np.log)"),
            (tf_v * gauss(df_v), "the Gaussian is over log df, not df: exp(−(log df − μ)² / 2σ²)"),
            (tf_v * np.exp(-((np.log(df_v) - mu) ** 2) / sigma**2), "you forgot the 2 in the denominator: 2σ²"),
            (tf_v * np.exp(-((np.log(df_v) - mu) ** 2) / (2 * sigma)), "σ must be squared: 2σ², not 2σ"),
            (tf_v * np.exp(((np.log(df_v) - mu) ** 2) / (2 * sigma**2)),
             "you lost the minus sign: exp(−(…)²/2σ²) is at most 1, largest at df = e^μ"),
            (tf_v * np.log(len(terms) / df_v), "that is TF-IDF; salience replaces the idf by a Gaussian of log df"),
            (gauss(np.log(df_v)), "you left out tf: the score is tf · Gaussian"),
            (np.array([Counter(terms[doc])[t] for t in words]) * gauss(np.log(df_v)),
             "scores not normalised: use tf as a share of the document's terms, not raw counts"),
        ])
    raise ExerciseFeedback(problem)


def check_two_word_terms(two_word_terms, *, text=EXAMPLE_DOCUMENTS[0]):
    """Exercise 4: the n2 terms of a text, as :func:`coursekit.terms.ngram_terms` finds them."""
    __tracebackhide__ = True
    tokens = tokenize(clean_text(text))
    got = call(two_word_terms, list(tokens), name="two_word_terms")
    if got is None:
        raise ExerciseFeedback("`two_word_terms` returned None: did you forget the `return` line?")
    if isinstance(got, (str, bytes)) or not all(isinstance(t, str) for t in got):
        raise ExerciseFeedback("return a list of strings like 'perky chorus' (two words joined by one space)")
    got = list(got)
    expected = ngram_terms(text, 2)
    if got == expected:
        return passed(f"two_word_terms is right: {expected}.")
    words = [t.lower() for t in tokens if any(ch.isalpha() for ch in t)]
    across = [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in STOP_WORDS and b not in STOP_WORDS]
    low = [t.lower() for t in tokens]
    with_stop = [f"{a} {b}" for a, b in zip(low, low[1:]) if a.isalpha() and b.isalpha()]
    if got == across:
        raise ExerciseFeedback("your pairs cross punctuation (e.g. across a comma or a full stop): two words make a "
                               "term only when nothing but a space separates them")
    if got == with_stop or any(w in STOP_WORDS for t in got for w in t.split()):
        bad = next(t for t in got if any(w in STOP_WORDS for w in t.split()))
        raise ExerciseFeedback(f"{bad!r} contains a stop word: drop pairs in which either word is in STOP_WORDS")
    if [t.lower() for t in got] == expected:
        raise ExerciseFeedback("lowercase the words: 'Perky chorus' and 'perky chorus' are the same term")
    if sorted(got) == sorted(expected):
        raise ExerciseFeedback("the right terms in another order: keep them in the order of the text")
    missing = [t for t in expected if t not in got]
    extra = [t for t in got if t not in expected]
    raise ExerciseFeedback(f"expected {expected}, got {got}"
                           + (f"; missing {missing}" if missing else "") + (f"; not terms: {extra}" if extra else ""))


def check_cultural_similarity(cultural_similarity, *, vectors=None):
    """Exercise 5: the artists × artists cosine matrix, 0 (not NaN) for an artist nobody wrote about."""
    __tracebackhide__ = True
    V = example_artist_vectors() if vectors is None else np.asarray(vectors, dtype=float)
    got = call(cultural_similarity, V.copy(), name="cultural_similarity")
    n = len(V)
    zero = np.flatnonzero(np.linalg.norm(V, axis=1) == 0)
    if got is not None and np.shape(got) == (n, n) and zero.size and np.isnan(np.asarray(got, dtype=float)).any():
        raise ExerciseFeedback(f"artist {zero[0]} has no text (an all-zero row) and your similarities for it are NaN "
                               "(0/0). Nobody can say what it is like: make its similarities 0 — divide only where "
                               "the norm is > 0 (np.divide(..., where=norms > 0) or replace zero norms by 1)")
    S = as_matrix(got, name="cultural_similarity", shape=(n, n), rows="artists", cols="artists")
    V_hat = unit_rows(V)
    expected = V_hat @ V_hat.T
    if close(S, expected):
        return passed("cultural_similarity is right: cosines in [−1, 1], 1 on the diagonal, 0 for the artist "
                      "without text.")
    match_mistakes(S, [
        (V @ V.T, "the scores are not normalised: V Vᵀ is the dot product; divide each row by its length first"),
        (V.T @ V if V.shape[1] == n else None, "that is terms × terms: compare rows (artists), V̂ V̂ᵀ"),
    ])
    raise ExerciseFeedback("some similarities are wrong: " + first_difference(S, expected, rows="artist",
                                                                              cols="artist"))
