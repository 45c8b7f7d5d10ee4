"""coursekit: how Discover Weekly finds 30 songs you have never heard but will probably love.

One module per idea of the lecture, imported where needed so that
``import coursekit`` stays quick (TensorFlow and Spark load only in
``coursekit.cnn`` and ``coursekit.scale``):

- :mod:`coursekit.world`, :mod:`coursekit.datasets` — the generated music world
- :mod:`coursekit.feedback` — implicit feedback: preference and confidence
- :mod:`coursekit.als`, :mod:`coursekit.similarity`, :mod:`coursekit.metrics` — collaborative filtering
- :mod:`coursekit.text` — cultural vectors from web text
- :mod:`coursekit.synth` — the world's audio, rendered from track attributes
- :mod:`coursekit.audio` — audio attributes
"""

__version__ = "0.1.0"
