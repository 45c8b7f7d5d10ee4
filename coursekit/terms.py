"""Web text to terms: the words the Echo Nest kept about an artist (chapter 03).

One job: turn one crawled document into its four kinds of terms, the
vocabulary of :class:`coursekit.text.CulturalVectors`.

* **n1**: single words ("disco"), stop words removed;
* **n2**: two-word sequences ("dancing queen"), neither word a stop word and
  never across punctuation;
* **np**: noun phrases ("mamma mia", "toy piano"), found by
  :data:`NP_GRAMMAR` (an ``nltk.RegexpParser``) over part-of-speech tags,
  leading determiners dropped;
* **adj**: adjectives ("perky"), the words tagged ``JJ``, ``JJR`` or ``JJS``.

:func:`clean_text` first strips HTML (in linear time, whatever the text holds).
Tags come from textblob's ``PatternTagger`` (a Brill-style tagger whose
lexicon ships with textblob, so it works offline); tokens from
:data:`TOKEN_PATTERN` (an ``nltk.RegexpTokenizer``), so tagging and n-grams see
the same words. :mod:`coursekit.text` weighs the terms into cultural vectors.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import numpy as np
from nltk import RegexpParser
from nltk.tokenize import RegexpTokenizer
from nltk.util import ngrams

__all__ = [
    "TERM_TYPES", "STOP_WORDS", "TOKEN_PATTERN", "NP_GRAMMAR", "ADJECTIVE_TAGS",
    "clean_text", "tokenize", "words", "ngram_terms", "pos_tag", "noun_phrases", "adjectives",
    "extract_terms", "has_markup", "check_stop_words",
]

#: The four term types, in the order of the vectors' blocks.
TERM_TYPES = ("n1", "n2", "np", "adj")

#: English stop words: function words, pronouns, auxiliaries and clitics.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her
here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's
its itself let's me more most mustn't my myself no nor not of off on once only or other ought our
ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some such than
that that's the their theirs them themselves then there there's these they they'd they'll they're
they've this those through to too under until up very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's which while who who's whom why why's with won't would
wouldn't you you'd you'll you're you've your yours yourself yourselves
's 're 've 'll 'd 'm n't will just also ever even much many every
""".split())

#: Tokens: words (with inner hyphens and apostrophes), clitics split off as the
#: Penn Treebank does ("isn't" → "is", "n't"; "band's" → "band", "'s"), and
#: every other non-space character on its own.
TOKEN_PATTERN = (
    r"\w+(?=n't\b)"                      # "is" of "isn't"
    r"|n't\b"                            # "n't"
    r"|\w+(?='(?:s|re|ve|ll|d|m)\b)"     # "band" of "band's"
    r"|'(?:s|re|ve|ll|d|m)\b"            # "'s"
    r"|\w+(?:[-']\w+)*"                  # words: "sun-bleached", "o'clock"
    r"|[^\w\s]"                          # punctuation, one character at a time
)

#: Noun-phrase chunker: an optional determiner or possessive pronoun, then
#: adjectives, then one or more nouns; a participle ("the pitch-shifted
#: vocals") only right after a determiner, so that verbs ("making dusty hip
#: hop") stay out.
NP_GRAMMAR = r"""
NP: {<DT|PRP\$><VBG|VBN><JJ.*>*<NN.*>+}
    {<DT|PRP\$>?<JJ.*>*<NN.*>+}
"""

#: Penn Treebank tags that count as adjectives.
ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS"})

# Markup. A tag runs from a "<" to the first ">" after it. These patterns are only ever applied
# to text that ends with a ">" (see _strip_markup), where "[^>]*>" cannot fail and so never
# backtracks: each match attempt stops at the next ">", and the whole pass is linear.
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|table|blockquote|section|article)\b[^>]*>",
                        re.IGNORECASE)   # tags that end a line of text
_SCRIPT_OR_COMMENT = re.compile(r"<(?:!--|(script|style)\b)", re.IGNORECASE)
_RAW_TEXT_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_SYMBOLS = re.compile(r"[^\w\s.,;:!?'\"()\[\]\-&/%$]")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": " - ", "\u00a0": " "})
_WORD = re.compile(r"[^\W\d_]")          # a token is a word if it contains a letter
_SENTENCE_END = frozenset(".!?")
_DROP_AT_NP_START = frozenset({"DT", "PRP$", "POS", "PDT"})
_CHUNK_SPAN, _MAX_CHUNK_SPAN = 80, 200   # tokens the NP chunker sees at once (see _chunks)

_tokenizer = RegexpTokenizer(TOKEN_PATTERN)


# ---------------------------------------------------------------------------- text to terms


def clean_text(text: str) -> str:
    """Plain text from crawled text: HTML stripped, entities decoded, symbols dropped.

    Block-level tags (``<p>``, ``<br>``, ...) become line breaks, other tags
    (anything from a ``<`` to the next ``>``) become spaces, ``<script>`` and
    ``<style>`` elements and ``<!-- comments -->`` go with their content,
    ``&amp;`` becomes ``&``, typographic quotes become ASCII ones and symbols
    such as emoji become spaces. Letters of any script stay.

    The time grows linearly with the length of the text, whatever it holds:
    a few tenths of a second for 1 MB of HTML, and as much for a megabyte of
    ``<``, of unclosed tags or of ``<script>`` that never ends (the tag
    patterns only run up to the text's last ``>``, so none of them ever scans
    to the end and backtracks). A ``<`` with no ``>`` after it is not a tag
    (it is dropped as a symbol, the text after it is kept); a ``<script>`` or
    comment that never ends is treated as a plain tag, so the text after it
    is kept, not lost. :class:`coursekit.text.CulturalVectors` cuts each text
    to its ``max_chars`` (default 1,000,000 characters) *before* cleaning and
    counts the cut texts in its report; this function itself reads the whole
    text.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        Lines of plain text, spaces collapsed, no empty lines.

    Raises
    ------
    TypeError
        If ``text`` is not a string.

    Examples
    --------
    >>> clean_text("<p>Rock &amp; roll</p><p>Great!</p>")
    'Rock & roll\\nGreat!'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if "<" in text:
        text = _strip_markup(text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _SYMBOLS.sub(" ", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _strip_markup(text: str) -> str:
    """Scripts, styles and comments removed, block tags to line breaks, other tags to spaces; linear time.

    Each pattern runs only up to the last ``>`` of the text, where every ``<``
    has a ``>`` after it, so no match attempt scans to the end and fails
    (which made ``<[^>]*>`` quadratic on a text of ``<``).
    """
    text = _drop_scripts_and_comments(text)
    text = _up_to_last_tag_end(_BLOCK_TAG, "\n", text)
    return _up_to_last_tag_end(_TAG, " ", text)


def _up_to_last_tag_end(pattern: re.Pattern, replacement: str, text: str) -> str:
    last = text.rfind(">")
    if last < 0:
        return text
    return pattern.sub(replacement, text[: last + 1]) + text[last + 1:]


def _drop_scripts_and_comments(text: str) -> str:
    """``<script>…</script>``, ``<style>…</style>`` and ``<!-- … -->`` to a space each.

    One that never ends stays (and its opening tag becomes a space like any
    tag). A closing string found missing once is not searched for again, so a
    text of a million ``<script>`` is read once, not a million times.
    """
    last = text.rfind(">")
    if last < 0 or "<" not in text:
        return text
    out: list[str] = []
    missing: set[str] = set()   # closing strings absent from the rest of the text
    done = pos = 0
    while True:
        opening = _SCRIPT_OR_COMMENT.search(text, pos, last + 1)
        if opening is None:
            break
        pos = opening.end()
        name = "-->" if opening.group(1) is None else opening.group(1).lower()
        if name in missing or name not in ("-->", *_RAW_TEXT_END):
            continue
        if name == "-->":
            close = text.find("-->", pos)
            stop = close + 3 if close >= 0 else -1
        else:   # the opening tag ends at the next ">"; the element at the next "</script>"
            match = _RAW_TEXT_END[name].search(text, text.find(">", pos) + 1)
            stop = match.end() if match else -1
        if stop < 0:   # later openings end at or after this one, so they would fail too
            missing.add(name)
            continue
        out.append(text[done:opening.start()])
        out.append(" ")
        done = pos = stop
    out.append(text[done:])
    return "".join(out)


def has_markup(text: str) -> bool:
    """Whether ``text`` holds a tag (a ``<`` with a ``>`` after it), in linear time."""
    start = text.find("<")
    return start >= 0 and text.find(">", start + 1) >= 0


def tokenize(text: str) -> list[str]:
    """Split clean text into tokens with :data:`TOKEN_PATTERN` (case kept).

    Examples
    --------
    >>> tokenize("It isn't the band's best.")
    ['It', 'is', "n't", 'the', 'band', "'s", 'best', '.']
    """
    return _tokenizer.tokenize(text)


def _is_word(token: str) -> bool:
    return _WORD.search(token) is not None


def _document_tokens(text: str) -> list[str]:
    """Tokens of a cleaned text; each paragraph (line) ends with a sentence mark."""
    tokens: list[str] = []
    for line in clean_text(text).split("\n"):
        tokens.extend(tokenize(line))
        if tokens and tokens[-1] not in _SENTENCE_END:
            tokens.append(".")   # a paragraph ends a sentence
    return tokens


def words(text: str, *, stop_words=STOP_WORDS) -> list[str]:
    """The n1 terms of a text: lowercase words, stop words, numbers and punctuation removed.

    Examples
    --------
    >>> words("<b>ABBA</b>: the perky Swedish pop of 1976!")
    ['abba', 'perky', 'swedish', 'pop']
    """
    stop_words = check_stop_words(stop_words)
    tokens = _document_tokens(text)
    return [t for t in (tok.lower() for tok in tokens) if _is_word(t) and t not in stop_words]


def check_stop_words(stop_words):
    """A collection of words; a bare string would make ``in`` test substrings, so it is refused."""
    if isinstance(stop_words, (str, bytes)) or not hasattr(stop_words, "__contains__"):
        raise TypeError(f"stop_words must be a collection of lowercase words (e.g. STOP_WORDS | {{'band'}}), "
                        f"got {type(stop_words).__name__} {stop_words!r:.40}")
    return stop_words


def ngram_terms(text: str, n: int = 2, *, stop_words=STOP_WORDS) -> list[str]:
    """The n-gram terms of a text (n2 for ``n=2``), joined by spaces.

    An n-gram is n consecutive lowercase words inside one stretch of text
    without punctuation; n-grams that contain a stop word or a number are
    dropped. ``n=1`` gives the same terms as :func:`words`.

    Examples
    --------
    >>> ngram_terms("Dancing Queen is a disco era hit, swedish pop at its best.")
    ['dancing queen', 'disco era', 'era hit', 'swedish pop']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return _ngrams(_document_tokens(text), int(n), check_stop_words(stop_words))


def _ngrams(tokens: list[str], n: int, stop_words) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for tok in tokens + ["."]:
        if _is_word(tok):
            run.append(tok.lower())
            continue
        if len(run) >= n:
            for gram in ngrams(run, n):
                if not any(w in stop_words or not _WORD.search(w) for w in gram):
                    out.append(" ".join(gram))
        run = []
    return out


@lru_cache(maxsize=1)
def _pattern_tagger():
    """The PatternTagger, made once (its lexicon loads on the first call)."""
    from textblob.en.taggers import PatternTagger

    return PatternTagger()


def _sentences(tokens: list[str]):
    start = 0
    for i, tok in enumerate(tokens):
        if tok in _SENTENCE_END:
            if i + 1 > start:
                yield tokens[start:i + 1]
            start = i + 1
    if start < len(tokens):
        yield tokens[start:]


def _tag_tokens(tokens: list[str]) -> list[tuple[str, str]]:
    """Tag pre-tokenised text, one sentence a line (the tagger splits on newlines)."""
    if not tokens:
        return []
    lines = "\n".join(" ".join(s) for s in _sentences(tokens))
    return _fix_tags(_pattern_tagger().tag(lines, tokenize=False))


_HAVE_BE = frozenset("have has had having be is are was were been being am 's 're 've".split())


def _fix_tags(tagged: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Three Brill-style context rules that the Pattern lexicon misses.

    1. a noun right after a modal is a verb: "will/MD love/NN" → VB;
    2. a base-form verb after a determiner, possessive, preposition or adjective
       is a noun: "the/DT pedal/VB steel" → NN;
    3. a past participle before a noun, not after "have" or "be", is an
       adjective: "hear detuned/VBN synths/NNS" → JJ (but "has released/VBN records").
    """
    for i in range(1, len(tagged)):
        word, tag = tagged[i]
        prev_word, prev_tag = tagged[i - 1]
        if tag == "NN" and prev_tag == "MD":
            tagged[i] = (word, "VB")
        elif tag == "VB" and prev_tag in ("DT", "PRP$", "IN", "JJ"):
            tagged[i] = (word, "NN")
    for i in range(len(tagged) - 1):
        word, tag = tagged[i]
        if tag == "VBN" and tagged[i + 1][1].startswith("NN") \
                and (i == 0 or tagged[i - 1][0].lower() not in _HAVE_BE):
            tagged[i] = (word, "JJ")
    return tagged


def pos_tag(text: str) -> list[tuple[str, str]]:
    """Part-of-speech tags (Penn Treebank) of a text, with textblob's PatternTagger.

    The text is cleaned (:func:`clean_text`) and tokenised (:func:`tokenize`)
    first, so the tags line up with the n-gram tokens.

    Returns
    -------
    list of (token, tag)

    Examples
    --------
    >>> pos_tag("A perky song.")
    [('A', 'DT'), ('perky', 'JJ'), ('song', 'NN'), ('.', '.')]
    """
    return _tag_tokens(_document_tokens(text))


@lru_cache(maxsize=1)
def _chunker() -> RegexpParser:
    return RegexpParser(NP_GRAMMAR)


def _as_tagged(tagged_or_text) -> list[tuple[str, str]]:
    if isinstance(tagged_or_text, str):
        return pos_tag(tagged_or_text)
    try:
        tagged = [tuple(pair) for pair in tagged_or_text]
    except TypeError:
        tagged = None
    if tagged is None or not all(len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str) for p in tagged):
        raise TypeError(f"tagged_or_text must be a str or a list of (token, tag) string pairs as pos_tag gives, "
                        f"got {type(tagged_or_text).__name__} {tagged_or_text!r:.60}")
    return tagged


def _chunks(tagged: list[tuple[str, str]]):
    """NP subtrees, chunking a few sentences at a time.

    RegexpParser's chunk rule looks ahead over the rest of its input, so its
    time grows with the square of the input's length (nltk stops it after 5 s).
    Pieces of whole sentences, about ``_CHUNK_SPAN`` tokens long (a run-on
    "sentence" is cut at ``_MAX_CHUNK_SPAN``), keep it linear, also on a 1 MB
    document, with few calls.
    """
    parser = _chunker()
    start = 0
    for i, (word, tag) in enumerate(tagged):
        n = i + 1 - start
        if (n >= _CHUNK_SPAN and (word in _SENTENCE_END or tag == ".")) or n >= _MAX_CHUNK_SPAN \
                or i + 1 == len(tagged):
            piece = tagged[start:i + 1]
            start = i + 1
            if any(t.startswith("NN") for _, t in piece):
                yield from parser.parse(piece).subtrees(lambda t: t.label() == "NP")


def noun_phrases(tagged_or_text, *, stop_words=STOP_WORDS) -> list[str]:
    """The np terms: noun-phrase chunks of :data:`NP_GRAMMAR`, lowercased.

    A leading determiner or possessive ("the", "its") is dropped, and so are
    stop words and non-words at either end; chunks with nothing left are skipped.

    Parameters
    ----------
    tagged_or_text : str or list of (token, tag)
        Text (tagged with :func:`pos_tag`) or tags you already have.

    Examples
    --------
    >>> noun_phrases("Its chorus recalls the disco era.")
    ['chorus', 'disco era']
    """
    stop_words = check_stop_words(stop_words)
    out = []
    for chunk in _chunks(_as_tagged(tagged_or_text)):
        leaves = list(chunk.leaves())
        while leaves and leaves[0][1] in _DROP_AT_NP_START:
            leaves.pop(0)
        toks = [w.lower() for w, _ in leaves]
        while toks and (toks[0] in stop_words or not _is_word(toks[0])):
            toks.pop(0)
        while toks and (toks[-1] in stop_words or not _is_word(toks[-1])):
            toks.pop()
        if toks:
            out.append(" ".join(toks))
    return out


def adjectives(tagged_or_text, *, stop_words=STOP_WORDS) -> list[str]:
    """The adj terms: lowercase words tagged JJ, JJR or JJS, stop words removed.

    Examples
    --------
    >>> adjectives("A perky, nonviolent and very Swedish record.")
    ['perky', 'nonviolent', 'swedish']
    """
    stop_words = check_stop_words(stop_words)
    return [w.lower() for w, t in _as_tagged(tagged_or_text)
            if t in ADJECTIVE_TAGS and _is_word(w) and w.lower() not in stop_words]


def extract_terms(text: str, *, stop_words=STOP_WORDS) -> dict[str, list[str]]:
    """All four term types of one document, tagging it once.

    Returns
    -------
    dict
        ``{"n1": [...], "n2": [...], "np": [...], "adj": [...]}``, each term as
        often as it occurs.

    Examples
    --------
    >>> extract_terms("Fans of ABBA will love this perky song.")["np"]
    ['fans', 'abba', 'perky song']
    """
    stop_words = check_stop_words(stop_words)
    tokens = _document_tokens(text)
    tagged = _tag_tokens(tokens)
    return {
        "n1": [t for t in (tok.lower() for tok in tokens) if _is_word(t) and t not in stop_words],
        "n2": _ngrams(tokens, 2, stop_words),
        "np": noun_phrases(tagged, stop_words=stop_words),
        "adj": adjectives(tagged, stop_words=stop_words),
    }
