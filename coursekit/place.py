"""Place a recording among the world's songs: where the audio CNN of chapter 04 puts a clip you bring.

:func:`place` reads a recording (a file or an array), checks that it is
music (:func:`coursekit.audio.music_score`), estimates its attributes
(:func:`coursekit.audio.estimate_attributes`: tempo with its confidence, key,
metre, loudness), predicts its vector with the trained CNN — averaged over
windows of the clip length the CNN was trained on, so a 30-second recording
and its first 10 seconds land in nearly the same place — and returns the
world's songs whose vectors are nearest by cosine, with the mix of their
genres (:class:`Placement`).

The CNN is the one trained with the course's models
(:func:`coursekit.modelcache.trained_cnn`: the committed copy or the cache,
stored in Keras' own ``.keras`` format and checked by sha256; trained only if
neither is there), or one you pass. The recording is compared with the CNN's
own vectors of the world's songs (what the network predicts from each song's
clip, ``DiscoverWeekly.audio_vectors_``), so a song and a recording are
compared as the network hears both, new songs without listeners included.

This module imports TensorFlow (through :mod:`coursekit.cnn`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import audio, cnn
from ._base import unit_rows
from .genres import key_name

__all__ = ["Placement", "place"]


@dataclass
class Placement:
    """Where a recording lands among the world's songs.

    Attributes
    ----------
    songs : pandas.DataFrame
        The ``k`` nearest songs, nearest first: ``rank`` (1..k),
        ``track_id``, ``artist``, ``title``, ``genre`` and ``cosine`` (between
        the recording's predicted vector and the song's).
    genres : pandas.Series
        The predicted genre mix: the share of each genre among the ``k``
        nearest songs (sums to 1), largest first, indexed by genre.
    attributes : coursekit.audio.Attributes
        Tempo (with ``tempo_confidence``), key and mode (``key_confidence``),
        metre, loudness (LUFS) and the ``music_score``.
    vector : ndarray, shape (f,)
        The recording's predicted unit vector, in the CNN's output space.
    seconds : float
        Length of the recording, seconds.
    """

    songs: pd.DataFrame
    genres: pd.Series
    attributes: audio.Attributes
    vector: np.ndarray
    seconds: float

    def to_string(self) -> str:
        """The placement as text: the attributes, the genre mix and the table of nearest songs."""
        a = self.attributes
        key = f"{key_name(a.key, a.mode)} (confidence {a.key_confidence:.2f})" if a.key >= 0 else "unknown"
        tempo = f"{a.tempo:.1f} BPM (confidence {a.tempo_confidence:.2f})" if np.isfinite(a.tempo) else "unknown"
        metre = f"{a.metre} ({a.time_signature} beats a bar as the world writes it)" if a.metre else "unknown"
        mix = ", ".join(f"{genre} {share:.0%}" for genre, share in self.genres.items())
        lines = [f"{self.seconds:.1f} s of audio, music score {a.music_score:.2f}",
                 f"tempo {tempo}; key {key}; metre {metre}; loudness {a.loudness:.1f} LUFS",
                 f"genre mix of the {len(self.songs)} nearest songs: {mix}", "",
                 self.songs.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
        return "\n".join(lines)


def place(recording, *, sr: int | None = None, k: int = 10, model=None, world=None, vectors=None,
          size: str = "small", window_seconds: float = cnn.CLIP_SECONDS, hop_seconds: float | None = None,
          music_threshold: float = audio.MUSIC_THRESHOLD, cache_dir=None, progress=None) -> Placement:
    """Place a recording among the world's songs: the nearest songs, the genre mix and the attributes.

    1. The recording is read (a file through :func:`coursekit.audio.load_audio`,
       at 22,050 Hz mono) or checked (:func:`coursekit.audio.check_audio`).
    2. Its attributes and music score are estimated
       (:func:`coursekit.audio.estimate_attributes`); below ``music_threshold``
       it is refused (speech, animals, noise).
    3. Its vector ŷ is predicted by the CNN on windows of ``window_seconds``
       (half overlapping by default) and averaged
       (:meth:`coursekit.cnn.AudioCNN.predict_audio`).
    4. The ``k`` songs with the highest cosine ``ŷᵀv_i / ‖v_i‖`` are the
       nearest; the genre mix is the share of each genre among them.

    Parameters
    ----------
    recording : path-like or ndarray, shape (samples,) or (channels, samples)
        An audio file (any format libsndfile reads: WAV, FLAC, OGG) or a clip,
        full scale = 1.
    sr : int
        Sample rate of an array, Hz (required for an array: a wrong rate
        gives wrong tempi, keys and vectors). For a file, its own rate is used
        and ``sr``, if given, must match it.
    k : int, optional
        Number of nearest songs.
    model : coursekit.cnn.AudioCNN or None, optional
        A fitted CNN. ``None``: the CNN trained with the course's models for
        ``world`` (:func:`coursekit.modelcache.trained_cnn`: the committed
        copy or the cache; trained and stored only if neither holds it,
        which takes minutes and is announced through ``progress``).
    world : coursekit.world.World or None, optional
        The world whose songs the recording is placed among; ``None``: the
        world of ``size`` (:func:`coursekit.datasets.load_world`). Required
        with ``model``.
    vectors : ndarray, shape (n_tracks, f), optional
        With ``model``: the vectors of ``world.tracks`` in the CNN's output
        space, rows in the table's order. Default: the CNN's predictions of
        each track's clip (:data:`coursekit.cnn.CLIP_SECONDS` s, spectrograms
        cached on disk by :func:`coursekit.mel.mel_spectrograms`).
    size : str, optional
        World size when ``world`` is not given.
    window_seconds : float, optional
        Window length, seconds; ``None`` hears the whole recording in one pass.
    hop_seconds : float or None, optional
        Step between windows, seconds; default half a window.
    music_threshold : float, optional
        :func:`coursekit.audio.music_score` below which the recording is
        refused; 0 places anything.
    cache_dir : path-like, optional
        Model cache folder (:func:`coursekit.modelcache.trained_cnn`).
    progress : callable, optional
        Receives short messages (loading, training).

    Returns
    -------
    Placement

    Raises
    ------
    ValueError
        If the recording is not music (the message gives its music score),
        silent, shorter than 1 s, or unreadable; if ``sr`` is missing for an
        array; if ``k`` is not a positive whole number; if ``model`` is given
        without ``world`` or ``vectors`` do not fit.
    FileNotFoundError
        If there is no file at the path.

    Examples
    --------
    A tiny network on 20 songs of the tiny world, for a quick example (without
    ``model``, the course's trained CNN places it among the small world's songs):

    >>> from dataclasses import replace
    >>> from coursekit import mel, synth
    >>> from coursekit.datasets import load_world
    >>> world = load_world("tiny")
    >>> world = replace(world, tracks=world.tracks.iloc[:20])
    >>> X = mel.mel_spectrograms(world.tracks, duration=cnn.CLIP_SECONDS, cache=False)
    >>> Y = np.random.default_rng(0).normal(size=(20, 4))
    >>> network = cnn.AudioCNN(filters=(8, 8, 8), dense=8, epochs=1).fit(X, Y)
    >>> y = synth.render_track(world.tracks.iloc[0], duration=6.0)
    >>> p = place(y, sr=synth.SR, k=3, model=network, world=world, vectors=network.predict(X))
    >>> p.songs.columns.tolist(), len(p.songs), round(float(p.genres.sum()), 6)
    (['rank', 'track_id', 'artist', 'title', 'genre', 'cosine'], 3, 1.0)
    """
    say = progress or (lambda message: None)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number of songs, got {k!r}")
    y, rate = _read(recording, sr)
    seconds = y.shape[-1] / rate
    attributes = _music(y, rate, music_threshold)

    if model is None:
        from .modelcache import trained_cnn

        if world is None:
            from .datasets import load_world

            say(f"loading the {size} music world")
            world = load_world(size)
        if vectors is not None:
            raise ValueError("vectors are read from the trained models when model is None; pass them with a model")
        say("loading the trained audio CNN (the committed or cached models; trained only if absent)")
        trained, model, rotation = trained_cnn(world, cache_dir=cache_dir, progress=say)
        vectors = trained.audio_vectors_ @ rotation.T  # back into the CNN's output space
    else:
        if not isinstance(model, cnn.AudioCNN):
            raise ValueError(f"model must be a fitted coursekit.cnn.AudioCNN or None, got {type(model).__name__}")
        if world is None:
            raise ValueError("give the world whose songs to place the recording among: place(..., model=cnn, "
                             "world=world)")
        if vectors is None:
            from .mel import mel_spectrograms

            say(f"predicting the vectors of the world's {len(world.tracks)} songs")
            vectors = model.predict(mel_spectrograms(world.tracks, duration=cnn.CLIP_SECONDS))
    vectors = np.asarray(vectors, dtype=float)
    vector = model.predict_audio(y, rate, window_seconds=window_seconds, hop_seconds=hop_seconds)
    if vectors.shape != (len(world.tracks), len(vector)):
        raise ValueError(f"vectors must be shaped (tracks of the world, factors) = ({len(world.tracks)}, "
                         f"{len(vector)}), got {vectors.shape}")
    cosine = unit_rows(vectors) @ vector
    top = np.argsort(-cosine, kind="stable")[: min(int(k), len(cosine))]
    tracks = world.tracks.iloc[top]
    artists = world.artists.set_index("artist_id")["name"]
    songs = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "track_id": tracks["track_id"].to_numpy(),
                          "artist": artists.reindex(tracks["artist_id"]).to_numpy(),
                          "title": tracks["title"].to_numpy(), "genre": tracks["genre"].to_numpy(),
                          "cosine": cosine[top]})
    genres = songs["genre"].value_counts(normalize=True, sort=False)
    genres = genres.iloc[np.lexsort((genres.index.to_numpy(), -genres.to_numpy()))].rename("share")
    genres.index.name = "genre"
    return Placement(songs=songs, genres=genres, attributes=attributes, vector=vector, seconds=float(seconds))


def _read(recording, sr) -> tuple[np.ndarray, int]:
    """The recording as float32 at :data:`coursekit.audio.SR`, mono or channels first."""
    if isinstance(recording, (str, os.PathLike)):
        if sr is not None:
            import soundfile

            try:
                rate = soundfile.info(str(recording)).samplerate
            except Exception:   # unreadable: load_audio below says why
                rate = sr
            if int(sr) != rate:
                raise ValueError(f"sr={sr} but {recording} is sampled at {rate} Hz; leave sr out for a file "
                                 f"(its own rate is read)")
        return audio.load_audio(recording), audio.SR
    return audio.check_audio(recording, sr, channels=np.ndim(recording) == 2,
                             needs="placing needs at least 1 s (a few beats)")


def _music(y: np.ndarray, sr: int, music_threshold: float) -> audio.Attributes:
    """The attributes, after checking the recording is music; ``ValueError`` with the music score otherwise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="this clip does not sound like music")
        attributes = audio.estimate_attributes(y, sr, music_threshold=music_threshold)
    score = attributes.music_score
    if not np.isfinite(score):
        raise ValueError(f"the recording is silent ({attributes.reason}): there is no music to place")
    if score < music_threshold:
        raise ValueError(f"this recording does not sound like music: music score {score:.2f} < "
                         f"{music_threshold:.2f} (coursekit.audio.MUSIC_THRESHOLD; beat strength "
                         f"{attributes.beat_strength:.2f}, tonal clarity {attributes.tonal_clarity:.2f}, pitch variety "
                         f"{attributes.pitch_variety:.1f}). Speech, "
                         f"animals and noise are not placed among songs; music_threshold=0 places it anyway")
    return attributes
