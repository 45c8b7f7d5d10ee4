"""coursekit: how Discover Weekly finds 30 songs you have never heard but will probably love.

One module per idea of the lecture, imported where needed so that
``import coursekit`` stays quick (TensorFlow loads only in :mod:`coursekit.cnn`,
Spark only in :mod:`coursekit.scale`):

- :mod:`coursekit.world` — the generated music world: users, artists, tracks, listens and the truth
- :mod:`coursekit.genres` — the genres: where they sit in taste space and how they sound
- :mod:`coursekit.names` — names of artists, songs, towns and countries for the world
- :mod:`coursekit.webtext` — the world's web text: blog posts, reviews and news
- :mod:`coursekit.datasets` — ``load_world`` and friends: committed files first, generated when absent
- :mod:`coursekit.lastfm` — real listening data (Last.fm HetRec 2k and 360K) behind the same interface
- :mod:`coursekit.download` — downloads with retries, mirrors, checksums and atomic renames
- :mod:`coursekit._files` — atomic writes, checksums and the cache folder, shared by every module
- :mod:`coursekit.feedback` — implicit feedback: preference and confidence matrices from listens (chapter 01)
- :mod:`coursekit._base` — the one recommender contract: ``fit``/``predict``/``recommend``/``similar_*``
- :mod:`coursekit.als` — ALS on the lecture's objective, from scratch and with ``implicit`` (chapter 02)
- :mod:`coursekit.baselines` — the popularity and random recommenders every model must beat
- :mod:`coursekit.similarity` — exact and approximate (Annoy) cosine neighbours
- :mod:`coursekit.metrics` — top-k metrics, expected percentile ranking and the cold-start measures
- :mod:`coursekit.evaluation` — the protocols: next-week, validation and cold-start splits
- :mod:`coursekit.terms` — web text to terms: HTML cleaning, tokens, tags and the four term types
- :mod:`coursekit.text` — cultural vectors: the terms weighed per artist (chapter 03)
- :mod:`coursekit.synth` — the world's audio: tracks rendered from their attributes
- :mod:`coursekit.loudness` — integrated loudness in LUFS (ITU-R BS.1770-4) and mastering to it
- :mod:`coursekit.scores` — real written scores (music21): their notes and the key and metre they state
- :mod:`coursekit.audio` — reading audio and estimating its attributes: tempo, key, metre, loudness (chapter 04)
- :mod:`coursekit.mel` — log-mel spectrograms, the CNN's input, cached on disk and made in parallel
- :mod:`coursekit.cnn` — the Keras CNN that predicts a track's CF vector from its audio (chapter 04)
- :mod:`coursekit.signals` — what each of the three models says about a (user, track) pair
- :mod:`coursekit.blend` — the signals weighed into one score, learned on a validation week
- :mod:`coursekit.mixtape` — the mixtape's rules and the whole Discover Weekly system (chapter 05)
- :mod:`coursekit.picture` — the mixtape drawn as PNG or HTML
- :mod:`coursekit.place` — place a recording among the world's songs with the trained CNN (``coursekit place FILE``)
- :mod:`coursekit.modelcache` — the trained models stored without pickles, checked on load
- :mod:`coursekit.scale` — the same factorization on Spark (chapter 06)
- :mod:`coursekit.notebook` — small helpers for the notebooks
- :mod:`coursekit.cli` — the ``coursekit`` command
- :mod:`coursekit.exercises` — the exercise checks, releasing and grading
"""

__version__ = "0.1.0"
