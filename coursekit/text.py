"""Web text to cultural vectors: the lecture's second model (natural language processing).

The Echo Nest crawled what people wrote about music and kept, for each artist,
the terms people used about it — its "top terms" — with a weight each. The
terms of a document (n1 words, n2 bigrams, np noun phrases and adj adjectives)
come from :mod:`coursekit.terms`; this module weighs them per artist.

**Salience.** A term says most about an artist when the artist's documents use
it often *and* it is neither everywhere ("new", "record") nor a one-off.
Following the Echo Nest (Whitman & Lawrence, 2002), the score of term t for
artist a is

    s(a, t) = tf(a, t) · exp(−(log df(t) − μ)² / 2σ²),

where tf(a, t) is the term's share of all terms of its type in the artist's
documents, df(t) the number of documents in the corpus that contain it and log
the natural logarithm. The Gaussian peaks at df = e^μ. By default μ = 0.3 log N
and σ = 0.25 log N for a corpus of N documents: the favoured terms appear in
N^0.3 documents (12 of the ``small`` world's 4,300, about what one artist gets
written about), a one-off (df = 1) keeps exp(−0.72) ≈ 0.49 of the weight and a
term in every document exp(−3.9) ≈ 0.02. On the small world, a sweep of μ over
0.1..0.4 log N and σ over 0.15..0.5 log N put 66 % to 89 % of each artist's five
nearest neighbours in its genre; these defaults give 88 %, on the flat part
near the best (``benchmarks/text.py`` reports them). :func:`salience` is the
formula alone.

Plain **TF-IDF** (scikit-learn's ``TfidfTransformer``, the weighting step of
``TfidfVectorizer``, with each artist's documents as one document) is offered
next to it. :class:`CulturalVectors` concatenates the four term types' weights
into one sparse vector per artist and compares artists by cosine. Artists
nobody wrote about get no vector: asking for their neighbours raises
:class:`NoDocumentsError` (the cold start that chapter 04's audio model solves).
"""


from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfTransformer

from .terms import STOP_WORDS, TERM_TYPES, check_stop_words, clean_text, extract_terms, has_markup

__all__ = [
    "MU_FRACTION", "SIGMA_FRACTION", "NoDocumentsError", "TextReport", "CulturalVectors",
    "salience", "gaussian_weight",
]


#: Default salience centre and width, as fractions of log N (N documents).
MU_FRACTION, SIGMA_FRACTION = 0.3, 0.25


class NoDocumentsError(LookupError):
    """The artist (or track) is known but nobody wrote about it, so it has no cultural vector."""


# ---------------------------------------------------------------------------- scoring


def gaussian_weight(df, *, mu: float, sigma: float) -> np.ndarray:
    """exp(−(log df − μ)² / 2σ²): the salience weight of a term by its document frequency.

    Parameters
    ----------
    df : array_like of int
        Number of documents that contain each term (>= 1).
    mu : float
        Centre, in natural-log units: terms found in e^μ documents weigh 1.
    sigma : float
        Width, in natural-log units (> 0).
    """
    try:
        df = np.asarray(df, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"df must be numbers (document frequencies), got {type(df).__name__} {df!r:.40}") from None
    if df.size and not (np.isfinite(df).all() and df.min() >= 1):
        raise ValueError("df: document frequencies must be finite and >= 1 (a term occurs in at least one document)")
    for name, value in (("mu", mu), ("sigma", sigma)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
                or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    return np.exp(-((np.log(df) - mu) ** 2) / (2.0 * sigma**2))


def salience(tf, df, *, mu: float, sigma: float):
    """The Echo Nest salience s = tf · exp(−(log df − μ)² / 2σ²).

    Parameters
    ----------
    tf : array_like or scipy.sparse matrix, shape (n_rows, n_terms)
        Term frequencies (here: each term's share of its row's terms).
    df : array_like, shape (n_terms,)
        Document frequency of each term.
    mu, sigma : float
        See :func:`gaussian_weight`.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
        Same shape (and sparsity) as ``tf``.

    Examples
    --------
    >>> salience([[0.5, 0.5]], [1, np.e], mu=1.0, sigma=1.0).round(4)
    array([[0.3033, 0.5   ]])
    """
    w = gaussian_weight(df, mu=mu, sigma=sigma)
    if not sp.issparse(tf):
        tf = np.asarray(tf, dtype=np.float64)
    if tf.ndim != 2 or tf.shape[1] != w.shape[-1] or w.ndim != 1:
        raise ValueError(f"tf must be 2-D with one column per term of df: tf has shape {tf.shape}, "
                         f"df has shape {w.shape}")
    if sp.issparse(tf):
        return sp.csr_matrix(tf.multiply(w[np.newaxis, :]))
    return np.asarray(tf, dtype=np.float64) * w


def _row_normalize(M: sp.csr_matrix, norm: str) -> sp.csr_matrix:
    M = sp.csr_matrix(M, dtype=np.float64)
    if norm == "l1":
        s = np.asarray(abs(M).sum(axis=1)).ravel()
    else:
        s = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel())
    inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
    return sp.csr_matrix(sp.diags(inv) @ M)


# ---------------------------------------------------------------------------- the model


@dataclass
class TextReport:
    """What :meth:`CulturalVectors.fit` did with its documents; nothing is dropped unreported.

    Attributes
    ----------
    n_documents : int
        Rows of the ``documents`` table.
    n_used : int
        Documents that gave at least one term and belong to a known artist.
    n_empty : int
        Skipped: missing or empty text, or nothing left after stripping HTML.
    n_no_terms : int
        Skipped: only stop words, numbers or punctuation.
    n_unknown_artist : int
        Skipped: ``artist_id`` missing, or not in the ``artists`` table given to ``fit``.
    n_truncated : int
        Texts longer than ``max_chars``, cut to that length (and still used).
    n_html : int
        Texts that contained HTML markup (stripped, still used).
    n_non_ascii : int
        Texts with non-ASCII characters (kept; symbols such as emoji dropped).
    n_artists : int
        Artists with a cultural vector.
    artists_without_documents : list of int
        Artists of the ``artists`` table (if given) with no usable document.
    empty_term_types : list of str
        Term types that no used document gave (e.g. ``["adj"]`` for a corpus
        without adjectives): their block of the vectors is empty.
    """

    n_documents: int = 0
    n_used: int = 0
    n_empty: int = 0
    n_no_terms: int = 0
    n_unknown_artist: int = 0
    n_truncated: int = 0
    n_html: int = 0
    n_non_ascii: int = 0
    n_artists: int = 0
    artists_without_documents: list = field(default_factory=list)
    empty_term_types: list = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        """Documents not used, for any reason."""
        return self.n_empty + self.n_no_terms + self.n_unknown_artist


def _id_column(values: pd.Series, what: str) -> pd.Series:
    """A column of integer ids as nullable ``Int64`` (missing stays ``<NA>``); anything else is an error."""
    if pd.api.types.is_bool_dtype(values):
        raise TypeError(f"{what} must hold integer ids, got booleans")
    given = values.notna()
    if values.dtype == object and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                                      for v in values[given]):
        exact = [int(v) if ok else None for v, ok in zip(values, given)]   # Python ints, e.g. with None
        bad = pd.Series([v is not None and not -(2**63) <= v < 2**63 for v in exact], index=values.index)
        numbers = None if bad.any() else pd.Series(pd.array(exact, dtype="Int64"), index=values.index)
    else:
        numbers = pd.to_numeric(values, errors="coerce")
        if pd.api.types.is_integer_dtype(numbers):       # exact: no detour through floats
            bad = (numbers >= 2**63) if pd.api.types.is_unsigned_integer_dtype(numbers) else numbers < -(2**63)
        else:
            as_float = numbers.astype("Float64")
            whole = as_float.notna() & (as_float.abs() < 2.0**63) & (as_float == as_float.round())
            bad = ~whole.fillna(False) & given
    if bad.any():
        table, key = ("tracks", "title") if "track" in what else ("artists", "name")
        hint = (f" If these are {key}s, map them to ids first, e.g. {what} = "
                f"{what}.map({table}.set_index({key!r})[{what.split('[')[1][:-1]}])" if what.startswith("doc") else "")
        raise ValueError(f"{what} must hold integer ids below 2**63 (the {table} table's ids), got "
                         f"{int(bad.sum())} value(s) that are not, e.g. {values[bad].head(3).tolist()}.{hint}")
    return numbers.astype("Int64")


def _check_id(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer id, got {value!r} ({type(value).__name__})")
    return int(value)


class CulturalVectors:
    """Top terms and cultural vectors of artists from what the web writes about them.

    Parameters
    ----------
    weighting : {"salience", "tfidf"}, optional
        Term weights that make up the vectors: the Echo Nest salience (default)
        or scikit-learn's TF-IDF with each artist's documents as one document.
    mu, sigma : float, optional
        Centre and width of the salience Gaussian, in natural-log document
        counts. Default ``mu = 0.3 * log N`` and ``sigma = 0.25 * log N`` for N
        used documents (see the module docstring).
    type_weights : dict, optional
        Weight of each term type's block in the vector (each block is scaled to
        unit length first); default 1 for each of :data:`TERM_TYPES`.
    stop_words : collection of str, optional
        Lowercase stop words; default :data:`STOP_WORDS`.
    max_chars : int, optional
        Texts longer than this many characters (default 1,000,000, about a
        megabyte) are cut to their first ``max_chars`` characters before
        cleaning and still used; the cut texts are counted in
        ``report_.n_truncated``. Cleaning is linear in the length (see
        :func:`clean_text`), the tagger too, so the bound keeps one document's
        time to seconds and its memory to megabytes.

    Attributes
    ----------
    artist_ids_ : numpy.ndarray of int
        Artists with a vector, ascending; row i of ``vectors_`` is ``artist_ids_[i]``.
    vectors_ : scipy.sparse.csr_matrix, shape (n_artists, n_features)
        Unit-length cultural vectors.
    feature_names_ : numpy.ndarray of str
        ``"type:term"`` for each column of ``vectors_``.
    vocabulary_ : dict
        Term type → numpy array of its terms (column order of its block).
    document_frequency_ : dict
        Term type → number of used documents that contain each term.
    counts_ : dict
        Term type → csr matrix, artists × terms, occurrence counts.
    track_ids_, track_counts_ : numpy.ndarray, dict
        The same for tracks that a document is about.
    mu_, sigma_ : float
        The salience parameters used.
    n_documents_ : int
        Documents used (N).
    empty_term_types_ : tuple of str
        Term types that no used document gave (a corpus without adjectives,
        one-word documents without bigrams): the model still fits, their
        block of ``vectors_`` has no columns and ``top_terms`` of that type
        are empty. A ``UserWarning`` names them.
    report_ : TextReport
        Counts of what was skipped, cut or cleaned.

    Examples
    --------
    >>> docs = pd.DataFrame({"artist_id": [1, 1, 2, 3],
    ...                      "text": ["A perky disco song.", "Perky, sunny disco.",
    ...                               "A sunny disco record.", "Grim, heavy doom."]})
    >>> model = CulturalVectors().fit(docs)
    >>> ids, scores = model.similar_artists(1, n=2)
    >>> ids.tolist()
    [2, 3]
    """

    def __init__(self, *, weighting: str = "salience", mu: float | None = None, sigma: float | None = None,
                 type_weights: dict | None = None, stop_words=None, max_chars: int = 1_000_000):
        self.weighting = weighting
        self.mu = mu
        self.sigma = sigma
        self.type_weights = type_weights
        self.stop_words = stop_words
        self.max_chars = max_chars

    # ------------------------------------------------------------------ fitting

    def _check_params(self):
        if self.weighting not in ("salience", "tfidf"):
            raise ValueError(f"weighting must be 'salience' or 'tfidf', got {self.weighting!r}")
        for name in ("mu", "sigma"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float, np.number)) and np.isfinite(v)):
                raise ValueError(f"{name} must be a finite number or None, got {v!r}")
        if self.sigma is not None and self.sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma!r}")
        weights = dict.fromkeys(TERM_TYPES, 1.0)
        if self.type_weights is not None:
            if not isinstance(self.type_weights, dict):
                raise ValueError(f"type_weights must be a dict of term type -> weight, e.g. {{'adj': 2.0}}, "
                                 f"got {type(self.type_weights).__name__}")
            unknown = set(self.type_weights) - set(TERM_TYPES)
            if unknown:
                raise ValueError(f"type_weights has unknown term type(s) {sorted(unknown)}; use {TERM_TYPES}")
            weights.update(self.type_weights)
            if any(isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, float, np.number))
                   for w in weights.values()):
                raise ValueError(f"type_weights must map term types to numbers, got {self.type_weights}")
            if any(not np.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"type_weights must be non-negative with a positive sum, got {weights}")
        if self.stop_words is not None:
            check_stop_words(self.stop_words)
            if not all(isinstance(w, str) for w in self.stop_words):
                raise TypeError(f"stop_words must hold strings, got {sorted(map(repr, self.stop_words))[:5]}")
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, (int, np.integer)) \
                or self.max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {self.max_chars!r}")
        return weights

    def fit(self, documents: pd.DataFrame, artists: pd.DataFrame | None = None) -> "CulturalVectors":
        """Extract, count and weigh the terms of every artist (and track).

        Parameters
        ----------
        documents : pandas.DataFrame
            ``artist_id`` and ``text``; optional ``track_id`` (nullable) for
            documents about one song. The world's ``documents`` table.
        artists : pandas.DataFrame, optional
            The ``artists`` table (``artist_id``). Given, documents of other
            artists are skipped and artists without documents are listed in
            ``report_.artists_without_documents`` and answer
            :class:`NoDocumentsError` rather than "unknown artist".

        Returns
        -------
        self

        Raises
        ------
        TypeError
            If ``documents`` is not a DataFrame or a text is neither a string nor missing.
        ValueError
            If a column is missing, an ``artist_id`` or ``track_id`` is not an
            integer id (e.g. an artist's name), or no document gives any term
            (an empty table, only empty texts, only stop words).

        Warns
        -----
        UserWarning
            If no used document gives a term of some type (listed in
            ``empty_term_types_``); the model fits with that block empty.
        """
        type_weights = self._check_params()
        stop_words = STOP_WORDS if self.stop_words is None else frozenset(w.lower() for w in self.stop_words)
        if not isinstance(documents, pd.DataFrame):
            raise TypeError(f"documents must be a pandas DataFrame, got {type(documents).__name__}")
        missing = [c for c in ("artist_id", "text") if c not in documents.columns]
        if missing:
            raise ValueError(f"documents is missing column(s) {missing}; it needs artist_id and text")
        known = None
        if artists is not None:
            if not isinstance(artists, pd.DataFrame) or "artist_id" not in artists.columns:
                raise ValueError("artists must be a DataFrame with an artist_id column")
            known_ids = _id_column(artists["artist_id"], "artists['artist_id']")
            if known_ids.isna().any():
                raise ValueError(f"artists['artist_id'] has {int(known_ids.isna().sum())} missing id(s); "
                                 f"every artist needs an integer artist_id")
            known = set(known_ids.astype(np.int64).tolist())

        report = TextReport(n_documents=len(documents))
        a_col = _id_column(documents["artist_id"], "documents['artist_id']")
        t_col = (_id_column(documents["track_id"], "documents['track_id']")
                 if "track_id" in documents.columns else pd.Series(pd.NA, index=documents.index, dtype="Float64"))
        doc_artist, doc_track, term_lists = [], [], {t: [] for t in TERM_TYPES}
        for a, trk, text in zip(a_col.tolist(), t_col.tolist(), documents["text"].tolist()):
            if a is None or a is pd.NA or (isinstance(a, float) and np.isnan(a)) or a != int(a) \
                    or (known is not None and int(a) not in known):
                report.n_unknown_artist += 1
                continue
            if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
                report.n_empty += 1
                continue
            if not isinstance(text, str):
                raise TypeError(f"document texts must be strings, got {type(text).__name__}: {text!r:.60}")
            if len(text) > self.max_chars:
                text = text[: self.max_chars]
                report.n_truncated += 1
            if has_markup(text):
                report.n_html += 1
            if not text.isascii():
                report.n_non_ascii += 1
            if not text.strip() or not clean_text(text):
                report.n_empty += 1
                continue
            terms = extract_terms(text, stop_words=stop_words)
            if not any(terms.values()):
                report.n_no_terms += 1
                continue
            doc_artist.append(int(a))
            doc_track.append(-1 if trk is None or trk is pd.NA or np.isnan(trk) else int(trk))
            for t in TERM_TYPES:
                term_lists[t].append(terms[t])
        report.n_used = len(doc_artist)
        if report.n_used == 0:
            raise ValueError(f"no usable documents: {report.n_documents} given, {report.n_empty} empty, "
                             f"{report.n_no_terms} without terms, {report.n_unknown_artist} of unknown artists; "
                             f"documents needs at least one English text about a known artist_id")

        N = report.n_used
        self.n_documents_ = N
        self.mu_ = MU_FRACTION * np.log(N) if self.mu is None else float(self.mu)
        self.sigma_ = SIGMA_FRACTION * np.log(N) if self.sigma is None else float(self.sigma)
        if self.sigma_ <= 0:   # a one-document corpus: log N = 0
            self.sigma_ = 1.0

        doc_artist = np.asarray(doc_artist, dtype=np.int64)
        doc_track = np.asarray(doc_track, dtype=np.int64)
        self.artist_ids_, a_row = np.unique(doc_artist, return_inverse=True)
        has_track = doc_track >= 0
        self.track_ids_, t_row = np.unique(doc_track[has_track], return_inverse=True)
        self._track_artist = dict(zip(doc_track[has_track].tolist(), doc_artist[has_track].tolist()))
        G_artist = sp.csr_matrix((np.ones(N), (a_row, np.arange(N))), shape=(len(self.artist_ids_), N))
        G_track = sp.csr_matrix((np.ones(int(has_track.sum())), (t_row, np.flatnonzero(has_track))),
                                shape=(len(self.track_ids_), N))

        self.vocabulary_, self.document_frequency_, self.counts_, self.track_counts_ = {}, {}, {}, {}
        self._tfidf = {}
        for t in TERM_TYPES:
            D, vocab = _doc_term_matrix(term_lists[t])
            self.vocabulary_[t] = vocab
            self.document_frequency_[t] = np.asarray((D > 0).sum(axis=0)).ravel().astype(np.int64)
            self.counts_[t] = sp.csr_matrix(G_artist @ D)
            self.track_counts_[t] = sp.csr_matrix(G_track @ D)
            # scikit-learn refuses a matrix without columns; an empty type has no weights to learn
            self._tfidf[t] = TfidfTransformer().fit(self.counts_[t]) if len(vocab) else None
        self.empty_term_types_ = tuple(t for t in TERM_TYPES if not len(self.vocabulary_[t]))
        report.empty_term_types = list(self.empty_term_types_)
        if self.empty_term_types_:
            warnings.warn(f"documents: no used document gave any term of type(s) "
                          f"{list(self.empty_term_types_)} (e.g. no adjective: text not in English, or "
                          f"one-word documents); the model fits with those blocks of the vectors empty, "
                          f"see empty_term_types_", UserWarning, stacklevel=2)
        self._artist_row = {a: i for i, a in enumerate(self.artist_ids_.tolist())}
        self._track_row = {a: i for i, a in enumerate(self.track_ids_.tolist())}
        self._known = known

        # the cultural vector: each type's weights scaled to unit length, weighted, concatenated
        blocks, names = [], []
        total = sum(type_weights.values())
        self._artist_weights = {}   # (term type, weighting) -> every artist's weights, see top_terms
        for t in TERM_TYPES:
            W = self._artist_weights[t, self.weighting] = self._weights(self.counts_[t], t, self.weighting)
            blocks.append(_row_normalize(W, "l2") * np.sqrt(type_weights[t] / total))
            names.append(np.char.add(f"{t}:", self.vocabulary_[t].astype(str)))
        V = _row_normalize(sp.hstack(blocks, format="csr"), "l2")
        self.vectors_ = V
        self.feature_names_ = np.concatenate(names)
        report.n_artists = len(self.artist_ids_)
        if known is not None:
            report.artists_without_documents = sorted(known - set(self.artist_ids_.tolist()))
        self.report_ = report
        return self

    def _weights(self, counts: sp.csr_matrix, term_type: str, weighting: str) -> sp.csr_matrix:
        if weighting in ("salience", "tfidf") and counts.shape[1] == 0:   # an empty term type
            return sp.csr_matrix(counts.shape, dtype=np.float64)
        if weighting == "salience":
            tf = _row_normalize(counts, "l1")          # tf(a, t): the term's share of the row's terms
            return salience(tf, self.document_frequency_[term_type], mu=self.mu_, sigma=self.sigma_)
        if weighting == "tfidf":
            return sp.csr_matrix(self._tfidf[term_type].transform(counts))
        raise ValueError(f"weighting must be 'salience' or 'tfidf', got {weighting!r}")

    # ------------------------------------------------------------------ lookups

    def _check_fitted(self):
        if not hasattr(self, "vectors_"):
            raise NotFittedError("this CulturalVectors is not fitted yet; call fit(documents) first")

    def has_vector(self, artist_id) -> bool:
        """Whether the artist has a cultural vector (someone wrote about it)."""
        self._check_fitted()
        return _check_id(artist_id, "artist_id") in self._artist_row

    def _artist_index(self, artist_id) -> int:
        self._check_fitted()
        a = _check_id(artist_id, "artist_id")
        if a in self._artist_row:
            return self._artist_row[a]
        if self._known is not None and a in self._known:
            raise NoDocumentsError(f"artist {a} has no documents, so it has no cultural vector: the text "
                                   f"model cannot place an artist nobody has written about")
        raise KeyError(f"unknown artist id {a}: no document is about it"
                       + ("" if self._known is None else " and it is not in the artists table"))

    def _track_index(self, track_id) -> int:
        self._check_fitted()
        t = _check_id(track_id, "track_id")
        if t not in self._track_row:
            raise NoDocumentsError(f"no document is about track {t}, so it has no top terms")
        return self._track_row[t]

    def _check_n(self, n) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        return int(n)

    def top_terms(self, artist_id=None, *, track_id=None, term_type: str = "adj", n: int = 10,
                  weighting: str | None = None) -> pd.DataFrame:
        """The n highest-weighted terms of one type for an artist, or for a track.

        Parameters
        ----------
        artist_id : int, optional
            The artist; give either this or ``track_id``.
        track_id : int, optional
            A track that documents are about (its own top terms).
        term_type : {"n1", "n2", "np", "adj"}
        n : int
        weighting : {"salience", "tfidf"}, optional
            Default: the model's ``weighting``.

        Returns
        -------
        pandas.DataFrame
            ``term, score``, best first (ties by term); fewer than n rows when the
            artist has fewer terms.
        """
        self._check_fitted()
        if term_type not in TERM_TYPES:
            raise ValueError(f"term_type must be one of {TERM_TYPES}, got {term_type!r}")
        n = self._check_n(n)
        if (artist_id is None) == (track_id is None):
            raise ValueError("give exactly one of artist_id and track_id")
        weighting = weighting or self.weighting
        if artist_id is not None:
            i = self._artist_index(artist_id)
            if (term_type, weighting) not in self._artist_weights:   # weigh all artists once, not one per call
                self._artist_weights[term_type, weighting] = self._weights(self.counts_[term_type], term_type,
                                                                           weighting)
            w = self._artist_weights[term_type, weighting][i]
        else:
            w = self._weights(self.track_counts_[term_type][self._track_index(track_id)], term_type, weighting)
        cols, vals = w.indices, w.data
        terms = self.vocabulary_[term_type][cols]
        order = np.lexsort((terms, -vals))[:n]
        return pd.DataFrame({"term": terms[order].astype(str), "score": vals[order]})

    def top_terms_table(self, artist_id=None, n: int = 10, *, track_id=None,
                        term_types=("n2", "np", "adj"), weighting: str | None = None) -> pd.DataFrame:
        """The lecture's table: for each term type a term column and a score column.

        Returns
        -------
        pandas.DataFrame
            n rows; columns ``"n2 term", "n2 score", "np term", "np score",
            "adj term", "adj score"``; missing entries are ``""`` and NaN.

        Examples
        --------
        >>> docs = pd.DataFrame({"artist_id": [1, 2], "text": ["A perky song.", "A grim riff."]})
        >>> CulturalVectors().fit(docs).top_terms_table(1, n=1)["adj term"].tolist()
        ['perky']
        """
        n = self._check_n(n)
        columns = {}
        for t in term_types:
            top = self.top_terms(artist_id, track_id=track_id, term_type=t, n=n, weighting=weighting)
            columns[f"{t} term"] = list(top["term"]) + [""] * (n - len(top))
            columns[f"{t} score"] = list(top["score"]) + [np.nan] * (n - len(top))
        table = pd.DataFrame(columns, index=pd.RangeIndex(1, n + 1, name="rank"))
        for t in term_types:
            table[f"{t} score"] = table[f"{t} score"].astype(np.float64)
        return table

    def vector(self, artist_id) -> sp.csr_matrix:
        """The artist's cultural vector (1 × n_features, unit length)."""
        return self.vectors_[self._artist_index(artist_id)]

    def similar_artists(self, artist_id, *, n: int = 10):
        """The n artists whose cultural vectors have the highest cosine with this one's.

        Only artists with a vector are candidates; the artist itself is left out.

        Parameters
        ----------
        artist_id : int
        n : int, optional
            At most this many (fewer if fewer artists have vectors).

        Returns
        -------
        ids, scores : numpy.ndarray
            Artist ids and cosine similarities, best first (ties by id).

        Raises
        ------
        NoDocumentsError
            The artist is in the ``artists`` table given to ``fit`` but nobody
            wrote about it.
        KeyError
            The id is unknown.
        """
        i = self._artist_index(artist_id)
        n = self._check_n(n)
        sims = np.asarray((self.vectors_ @ self.vectors_[i].T).todense()).ravel()
        sims[i] = -np.inf
        order = np.lexsort((self.artist_ids_, -sims))[: min(n, len(sims) - 1)]
        return self.artist_ids_[order].copy(), sims[order]

    def similarity(self, artist_ids=None) -> pd.DataFrame:
        """Cosine similarity between artists' cultural vectors, as a labelled matrix.

        Parameters
        ----------
        artist_ids : sequence of int, optional
            Default: every artist with a vector.
        """
        self._check_fitted()
        ids = self.artist_ids_ if artist_ids is None else [_check_id(a, "artist_id") for a in artist_ids]
        rows = [self._artist_index(a) for a in ids]
        X = self.vectors_[rows]
        S = np.asarray((X @ X.T).todense())
        index = pd.Index(np.asarray(ids, dtype=np.int64), name="artist_id")
        return pd.DataFrame(S, index=index, columns=index)


def _doc_term_matrix(term_lists: list[list[str]]):
    """Documents × terms count matrix; the vocabulary sorted alphabetically."""
    vocab_index: dict[str, int] = {}
    indices, indptr = [], [0]
    for terms in term_lists:
        for term in terms:
            indices.append(vocab_index.setdefault(term, len(vocab_index)))
        indptr.append(len(indices))
    first_seen = np.array(list(vocab_index), dtype=object)
    order = np.argsort(first_seen.astype(str), kind="stable")
    new_id = np.empty(len(order), dtype=np.int64)
    new_id[order] = np.arange(len(order))
    cols = new_id[np.asarray(indices, dtype=np.int64)] if indices else np.zeros(0, dtype=np.int64)
    D = sp.csr_matrix((np.ones(len(cols)), cols, np.asarray(indptr)), shape=(len(term_lists), len(order)))
    D.sum_duplicates()
    return D, first_seen[order]
