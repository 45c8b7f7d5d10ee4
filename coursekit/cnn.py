"""Raw audio model: a CNN that places a song among the songs users already love.

Collaborative filtering cannot place a song nobody has played yet. Following
Sander Dieleman's work at Spotify (and van den Oord, Dieleman & Schrauwen,
*Deep content-based music recommendation*, NIPS 2013), a convolutional network
reads a track's **log-mel spectrogram** (time × mel bands,
:func:`coursekit.mel.log_mel_spectrogram`) and predicts its
collaborative-filtering vector ``y_i`` (the ALS item vector of chapter 02,
unit-normalised). A new track then gets a predicted vector ŷ_i from its audio
alone, and a user u is offered it when ``x_uᵀŷ_i`` is high.

The network (:func:`build_model`)::

    log-mel (T frames × 64 bands)
      → per-band standardisation
      → Conv1D(64, 4) → max-pool 2 → Conv1D(64, 4) → max-pool 2 → Conv1D(64, 4)   (over time)
      → GlobalTemporalPooling: mean, max and L2 norm over time  (any T works)
      → Dense(128, ReLU) → Dense(f) → unit length

trained with mean squared error against the unit-normalised ALS vectors, on
random 2-second crops of each track's clip (:class:`AudioCNN`). Training is
seeded and, on CPU, bit-for-bit deterministic (``keras.utils.set_random_seed``,
``tf.config.experimental.enable_op_determinism`` and thread pools of
:data:`TF_THREADS` threads on any number of cores).

Cold start, measured: :func:`coursekit.evaluation.cold_start_split` holds out
tracks (single tracks and every track of some artists) and removes their listens,
:meth:`coursekit.als.ALS.fold_in_items` gives them the CF vectors their listens
would, and :func:`coursekit.metrics.cold_start_table` ranks them for every user by
``x_uᵀŷ_i`` against the world's true affinities (evaluation only), next to random
and popularity — none of these import TensorFlow.

:func:`audio_vector_model` is the entry point of the mixtape (chapter 05).

This is the only module of the course that imports TensorFlow.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from ._base import unit_rows


def _import_tensorflow_quietly():
    """Import TensorFlow and Keras without their C++ start-up log lines (oneDNN, CPU features).

    Those lines are written straight to file descriptor 2 before TensorFlow's
    logging is set up, so neither ``TF_CPP_MIN_LOG_LEVEL`` nor Python can
    silence them; in a notebook they would land in the cell's output. Errors
    still surface as Python exceptions.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import tensorflow
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"coursekit.cnn (chapters 04-05 and the mixtape) needs TensorFlow, and {exc.name} "
                                  "is not installed: pip install 'coursekit[tensorflow]' "
                                  "(on Colab, TensorFlow is already there)", name=exc.name) from exc
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras, tensorflow


keras, tf = _import_tensorflow_quietly()
from keras import ops  # noqa: E402

from . import audio, mel  # noqa: E402

#: Threads in each of TensorFlow's two thread pools, whatever the number of cores
#: (the environment variable ``COURSEKIT_TF_THREADS`` overrides it). Its CPU
#: kernels split their sums by the pool's size, so a pool that followed the core
#: count (TensorFlow's default) trained other weights on 1 core than on 2.
_threads = os.environ.get("COURSEKIT_TF_THREADS") or "2"
if not _threads.isdigit() or int(_threads) < 1:
    raise ValueError(f"COURSEKIT_TF_THREADS must be a whole number of threads, 1 or more; got {_threads!r}")
TF_THREADS = int(_threads)
try:  # only possible before TensorFlow runs its first operation in this process
    tf.config.threading.set_intra_op_parallelism_threads(TF_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(TF_THREADS)
except RuntimeError:  # TensorFlow ran before coursekit.cnn was imported: its pools are already fixed
    pass

__all__ = [
    "devices",
    "CLIP_SECONDS",
    "CROP_SECONDS",
    "GlobalTemporalPooling",
    "build_model",
    "min_frames",
    "receptive_field",
    "AudioCNN",
    "audio_vector_model",
    "place",
]

#: Length of each track's clip that the CNN hears, seconds (128 log-mel frames).
CLIP_SECONDS = 3.0
#: Length of the random crops the CNN is trained on, seconds (86 frames).
CROP_SECONDS = 2.0
_FRAME_SECONDS = mel.MEL_HOP / audio.SR


def devices() -> list[str]:
    """The devices TensorFlow trains on, e.g. ``["CPU:0"]`` or ``["CPU:0", "GPU:0"]``."""
    return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_logical_devices()]


# ------------------------------------------------------------------------------ the network


@keras.saving.register_keras_serializable(package="coursekit")
class GlobalTemporalPooling(keras.layers.Layer):
    """Summarise a sequence over time by its mean, maximum and L2 norm.

    For an input ``h`` shaped (batch, time, channels) the output is

        [ mean_t h_tc,  max_t h_tc,  sqrt(mean_t h_tc²) ]    (batch, 3 · channels)

    per channel c. The L2 norm over time is divided by √T (it is the
    root mean square), so a clip and the same clip played twice give the same
    features: the layer works for **any number of frames**, which is what lets
    a network trained on 2-second crops hear a whole clip. Dieleman's
    networks at Spotify use the same three statistics.

    Examples
    --------
    >>> x = np.array([[[1.0, -2.0], [3.0, 2.0]]])  # 1 clip, 2 frames, 2 channels
    >>> np.asarray(GlobalTemporalPooling()(x)).round(3)
    array([[2.   , 0.   , 3.   , 2.   , 2.236, 2.   ]], dtype=float32)
    """

    def call(self, h):
        mean = ops.mean(h, axis=1)
        top = ops.max(h, axis=1)
        # the tiny constant keeps the gradient finite where a channel is all zeros
        rms = ops.sqrt(ops.mean(ops.square(h), axis=1) + 1e-12)
        return ops.concatenate([mean, top, rms], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3 * input_shape[-1])


def build_model(n_mels: int = mel.MEL_BANDS, n_factors: int = 32, *, filters=(64, 64, 64),
                kernel_size: int = 4, pool_size: int = 2, dense: int = 128, band_mean=None,
                band_variance=None) -> keras.Model:
    """The CNN: 1-D convolutions over time, global temporal pooling, dense layers.

    Parameters
    ----------
    n_mels : int, optional
        Mel bands of the input (its channels).
    n_factors : int, optional
        Length f of the predicted vector (the ALS factors).
    filters : sequence of int, optional
        Filters of each convolution; a max-pooling of ``pool_size`` sits
        between consecutive convolutions.
    kernel_size : int, optional
        Width of every convolution, frames.
    pool_size : int, optional
        Width and stride of the max-poolings, frames.
    dense : int, optional
        Units of the hidden dense layer.
    band_mean, band_variance : array of float, shape (n_mels,), optional
        Per-band standardisation of the input (dB); 0 and 1 by default.

    Returns
    -------
    keras.Model
        Input ``log_mel`` of shape (batch, frames, n_mels) with any number of
        frames (at least :func:`min_frames`); output (batch, n_factors), unit
        length.
    """
    mean = np.zeros(n_mels) if band_mean is None else np.asarray(band_mean, dtype=float)
    variance = np.ones(n_mels) if band_variance is None else np.asarray(band_variance, dtype=float)
    x = inputs = keras.Input(shape=(None, n_mels), name="log_mel")
    x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name="standardise")(x)
    for k, n in enumerate(filters):
        if k:
            x = keras.layers.MaxPooling1D(pool_size, name=f"pool{k}")(x)
        x = keras.layers.Conv1D(n, kernel_size, activation="relu", name=f"conv{k + 1}")(x)
    x = GlobalTemporalPooling(name="temporal_pooling")(x)
    x = keras.layers.Dense(dense, activation="relu", name="dense")(x)
    x = keras.layers.Dense(n_factors, name="vector")(x)
    outputs = keras.layers.UnitNormalization(name="unit_length")(x)
    return keras.Model(inputs, outputs, name="audio_cnn")


def _time_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            yield layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        elif isinstance(layer, keras.layers.MaxPooling1D):
            yield layer.pool_size[0], layer.strides[0], 1


def receptive_field(model: keras.Model) -> int:
    """Frames of input that one output frame of the last convolution sees."""
    field, jump = 1, 1
    for size, stride, dilation in _time_layers(model):
        field += (size - 1) * dilation * jump
        jump *= stride
    return field


def min_frames(model: keras.Model) -> int:
    """Fewest input frames for which every convolution and pooling still has an output."""
    def out_length(t):
        for size, stride, dilation in _time_layers(model):
            t = (t - (size - 1) * dilation - 1) // stride + 1
        return t

    t = 1
    while out_length(t) < 1:
        t += 1
    return t


# ------------------------------------------------------------------------------ the estimator


class AudioCNN:
    """Predict a track's (unit) CF vector from its log-mel spectrogram.

    Parameters
    ----------
    filters : tuple of int, optional
        Filters of the three convolutions (:func:`build_model`).
    kernel_size : int, optional
        Convolution width, frames.
    dense : int, optional
        Hidden units after the temporal pooling.
    crop_seconds : float, optional
        Length of the random crop of each clip in each epoch, seconds.
    epochs : int, optional
        Passes over the training tracks.
    batch_size : int, optional
        Clips per gradient step.
    learning_rate : float, optional
        Adam's initial step size; it decays to 0 along half a cosine over the
        training steps.
    random_state : int, optional
        Seed of the weights, the crops and the batch order.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    history_ : pandas.DataFrame
        One row per epoch: ``loss`` (training MSE), and with validation data
        ``val_loss`` and ``val_cosine`` (mean cosine of ŷ and y on whole clips).
    fit_seconds_ : float
        Wall-clock seconds of :meth:`fit`.
    min_frames_ : int
        Shortest input the network accepts, frames (its receptive field).

    Notes
    -----
    :meth:`fit` seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``)
    and switches on ``tf.config.experimental.enable_op_determinism()`` for the
    whole process; with TensorFlow's thread pools pinned to :data:`TF_THREADS`
    (set when this module is imported, so import it before running any other
    TensorFlow code) the same data and seed give the same weights on 1 core
    or 2 (another kind of CPU or a GPU may round differently).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(8, 60, 16)).astype("float32")
    >>> Y = rng.normal(size=(8, 4))
    >>> cnn = AudioCNN(epochs=2, batch_size=4).fit(X, Y)
    >>> cnn.predict(X).shape
    (8, 4)
    """

    def __init__(self, *, filters=(64, 64, 64), kernel_size: int = 4, dense: int = 128,
                 crop_seconds: float = CROP_SECONDS, epochs: int = 20, batch_size: int = 32,
                 learning_rate: float = 3e-3, random_state: int = 0):
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense = dense
        self.crop_seconds = crop_seconds
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def __repr__(self):
        return (f"AudioCNN(filters={tuple(self.filters)}, kernel_size={self.kernel_size}, dense={self.dense}, "
                f"crop_seconds={self.crop_seconds}, epochs={self.epochs}, batch_size={self.batch_size}, "
                f"learning_rate={self.learning_rate}, random_state={self.random_state})")

    @staticmethod
    def _check_X(X, name="X") -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"{name} must be log-mel spectrograms shaped (clips, frames, mel bands), "
                             f"got shape {X.shape}")
        if X.dtype.kind != "f":
            raise ValueError(f"{name} must hold floats (dB), got dtype {X.dtype}")
        if not np.isfinite(X).all():
            raise ValueError(f"{name} has NaN or infinite values; compute spectrograms from clean audio")
        return X

    def fit(self, X, Y, *, validation_data=None, progress=None) -> "AudioCNN":
        """Train on log-mel spectrograms ``X`` and CF vectors ``Y``.

        Parameters
        ----------
        X : ndarray, shape (n_tracks, frames, n_mels)
            Log-mel spectrograms (dB), e.g. from :func:`coursekit.mel.mel_spectrograms`.
        Y : ndarray, shape (n_tracks, f)
            Target vectors (the ALS ``item_factors_`` rows); they are
            unit-normalised here. All-zero rows are refused.
        validation_data : tuple (X_val, Y_val), optional
            Held-out tracks, scored on their whole clips after each epoch.
        progress : callable, optional
            Called with a short message after each epoch.

        Returns
        -------
        AudioCNN
        """
        start = time.perf_counter()
        X = self._check_X(X)
        Y = np.asarray(Y, dtype=float)
        if Y.ndim != 2 or len(Y) != len(X):
            raise ValueError(f"Y must be shaped (n_tracks, factors) with one row per clip of X "
                             f"({len(X)}), got shape {Y.shape}")
        if len(X) < 2:
            raise ValueError(f"need at least 2 tracks to train on, got {len(X)}")
        zero = np.linalg.norm(Y, axis=1) == 0
        if zero.any() or not np.isfinite(Y).all():
            raise ValueError(f"Y has {int(zero.sum())} all-zero rows or non-finite values; "
                             f"train only on tracks with a CF vector")
        Y = unit_rows(Y).astype(np.float32)
        n, frames, n_mels = X.shape
        crop = int(round(self.crop_seconds / _FRAME_SECONDS))

        keras.utils.set_random_seed(int(self.random_state))
        tf.config.experimental.enable_op_determinism()
        # per-band standardisation, from the training clips (float64 sums)
        band_mean = X.mean(axis=(0, 1), dtype=np.float64)
        band_variance = X.var(axis=(0, 1), dtype=np.float64) + 1e-6
        model = build_model(n_mels, Y.shape[1], filters=self.filters, kernel_size=self.kernel_size,
                            dense=self.dense, band_mean=band_mean, band_variance=band_variance)
        self.min_frames_ = min_frames(model)
        if frames < self.min_frames_ or crop < self.min_frames_:
            raise ValueError(f"clips of {frames} frames cropped to {min(crop, frames)} frames are shorter than the "
                             f"network's receptive field of {self.min_frames_} frames "
                             f"({self.min_frames_ * _FRAME_SECONDS:.2f} s)")
        crop = min(crop, frames)
        batch = int(self.batch_size)
        # Adam with a learning rate that decays to 0 along half a cosine: big steps first, a calm landing
        steps = int(self.epochs) * int(np.ceil(n / batch))
        schedule = keras.optimizers.schedules.CosineDecay(float(self.learning_rate), max(steps, 1))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
        if validation_data is not None:
            X_val = self._check_X(validation_data[0], "X_val")
            Y_val = unit_rows(validation_data[1]).astype(np.float32)
        rng = np.random.default_rng(int(self.random_state))
        rows = []
        for epoch in range(int(self.epochs)):
            # every clip once, in a new order, each as a random crop
            order = rng.permutation(n)
            starts = rng.integers(0, frames - crop + 1, size=n)
            crops = X[order[:, None], starts[:, None] + np.arange(crop)].astype(np.float32)
            losses = [model.train_on_batch(crops[i: i + batch], Y[order[i: i + batch]])
                      for i in range(0, n, batch)]
            sizes = np.diff(np.append(np.arange(0, n, batch), n))
            row = {"epoch": epoch + 1, "loss": float(np.average(np.ravel(losses), weights=sizes))}
            if validation_data is not None:
                P = self._predict(model, X_val)
                row["val_loss"] = float(np.mean((P - Y_val) ** 2))
                row["val_cosine"] = float(np.mean(np.sum(P * Y_val, axis=1)))
            rows.append(row)
            if progress is not None:
                progress(f"epoch {epoch + 1}/{self.epochs}: " + ", ".join(
                    f"{k} {v:.4f}" for k, v in row.items() if k != "epoch"))
        self.model_ = model
        self.history_ = pd.DataFrame(rows).set_index("epoch")
        self.fit_seconds_ = time.perf_counter() - start
        return self

    @staticmethod
    def _predict(model, X, batch_size: int = 256) -> np.ndarray:
        out = [np.asarray(model(np.asarray(X[i: i + batch_size], dtype=np.float32), training=False))
               for i in range(0, len(X), batch_size)]
        return np.concatenate(out).astype(np.float64)

    def _check_fitted(self):
        if getattr(self, "model_", None) is None:
            raise NotFittedError("this AudioCNN is not fitted yet; call fit(X, Y) first")

    def predict(self, X, *, batch_size: int = 256) -> np.ndarray:
        """Predicted unit vectors ŷ of clips.

        Parameters
        ----------
        X : ndarray (n, frames, n_mels), or sequence of (frames_i, n_mels) arrays
            Log-mel spectrograms; clips may differ in length (the temporal
            pooling makes any length work), each at least ``min_frames_``.

        Returns
        -------
        ndarray, shape (n, f)
            Unit-length rows.
        """
        self._check_fitted()
        if isinstance(X, np.ndarray) and X.ndim == 3:
            clips = [X]
        else:
            clips = [np.asarray(x)[None] for x in X]
        n_mels = self.model_.input_shape[-1]
        for k, c in enumerate(clips):
            self._check_X(c)
            if c.shape[2] != n_mels:
                raise ValueError(f"clips must have {n_mels} mel bands, got {c.shape[2]}")
            if c.shape[1] < self.min_frames_:
                which = f"clip {k}" if len(clips) > 1 else "the clip"
                raise ValueError(
                    f"{which} has {c.shape[1]} frames ({c.shape[1] * _FRAME_SECONDS:.2f} s), fewer than the "
                    f"network's receptive field of {self.min_frames_} frames "
                    f"({self.min_frames_ * _FRAME_SECONDS:.2f} s): give a longer clip")
        if len(clips) == 1:
            return self._predict(self.model_, clips[0], batch_size)
        # one clip at a time when lengths differ (a batch needs one length)
        return np.concatenate([self._predict(self.model_, c) for c in clips])

    def layer_output(self, X, layer: str) -> np.ndarray:
        """What a named layer of the trained network outputs for clips ``X`` (n, frames, n_mels).

        E.g. ``layer_output(X, "conv3")`` is the feature map the temporal
        pooling summarises, shaped (n, time steps, filters).
        """
        self._check_fitted()
        X = self._check_X(X)
        sub = keras.Model(self.model_.input, self.model_.get_layer(layer).output)
        return np.asarray(sub(np.asarray(X, dtype=np.float32), training=False))

    def predict_audio(self, y, sr: int = audio.SR, *, window_seconds: float | None = CLIP_SECONDS,
                      hop_seconds: float | None = None) -> np.ndarray:
        """Predicted unit vector ŷ of one waveform, averaged over windows of the clip length.

        The clip goes through :func:`coursekit.mel.log_mel_spectrogram`:
        channels-first stereo is mixed down, another sample rate resampled,
        integer PCM scaled; NaN samples, silence and clips shorter than the
        receptive field raise ``ValueError``. The spectrogram is then cut into
        windows of ``window_seconds`` (the length the network was trained to
        hear, :data:`CLIP_SECONDS`), every ``hop_seconds``, the last one ending
        at the clip's end; each window is predicted and the unit vectors are
        averaged and normalised again: ŷ = Σ_w ŷ_w / ‖Σ_w ŷ_w‖. A clip of 30 s
        and its first 10 s then agree far better than when the network hears
        the whole clip in one pass (its temporal pooling summarises a long clip
        otherwise than the 2–3 s it was trained on; ``benchmarks``-style
        numbers in ``tests/test_place.py``).

        Parameters
        ----------
        y : ndarray, shape (samples,) or (channels, samples)
        sr : int, optional
            Sample rate of ``y``, Hz.
        window_seconds : float or None, optional
            Window length, seconds; ``None``: the whole clip in one pass.
        hop_seconds : float or None, optional
            Step between windows, seconds; default half a window (windows overlap by half).

        Returns
        -------
        ndarray, shape (f,)
        """
        self._check_fitted()
        spec = mel.log_mel_spectrogram(y, sr)
        if spec.max() <= mel.MEL_FLOOR_DB:
            raise ValueError("the clip is silent: there is no sound to place among the songs")
        if window_seconds is None:
            return self.predict(spec[None])[0]
        if not window_seconds > 0 or (hop_seconds is not None and not hop_seconds > 0):
            raise ValueError(f"window_seconds and hop_seconds must be positive seconds, got {window_seconds!r} "
                             f"and {hop_seconds!r}")
        # a window has the frames of a clip of window_seconds (128 for 3 s, as the training clips)
        window = max(1 + (int(round(window_seconds * audio.SR)) - mel.MEL_N_FFT) // mel.MEL_HOP, self.min_frames_)
        hop = max(1, window // 2 if hop_seconds is None else int(round(hop_seconds / _FRAME_SECONDS)))
        if len(spec) <= window:
            return self.predict(spec[None])[0]
        starts = np.append(np.arange(0, len(spec) - window, hop), len(spec) - window)
        windows = spec[starts[:, None] + np.arange(window)]
        return unit_rows(self.predict(windows).sum(axis=0, keepdims=True))[0]


# ------------------------------------------------------------------------------ for the mixtape


def audio_vector_model(world, *, progress=None, max_train: int = 1500, clip_seconds: float = CLIP_SECONDS,
                       epochs: int = 15, random_state: int = 0, cache: bool = True, cache_dir=None,
                       n_jobs: int | None = None, prefetch: bool = True, **cnn_options):
    """The audio model as a function of CF vectors: train on known tracks, predict all.

    Parameters
    ----------
    world : coursekit.world.World
        Its ``tracks`` table is rendered (log-mel spectrograms, cached on disk
        by :func:`coursekit.mel.mel_spectrograms`) the first time the
        returned function is called.
    progress : callable, optional
        Receives short messages (rendering, training, epochs).
    max_train : int, optional
        Most tracks trained on: bounds the training time. With more known
        tracks, the first ``max_train`` of them in :func:`coursekit.mel.render_order`
        (a uniform random sample, seeded by ``random_state``).
    clip_seconds : float, optional
        Clip length heard per track, seconds.
    epochs : int, optional
        Training epochs. 15 (not :class:`AudioCNN`'s 20) is as good on
        cold-start tracks with 1,500 tracks to train on, and a quarter
        quicker (``benchmarks/cnn.py --n-train 1500 --epochs 15``: NDCG@10
        0.693 and AUC 0.890; 0.690 and 0.885 with 20 epochs).
    random_state : int, optional
        Seed of the subset and of :class:`AudioCNN`.
    cache, cache_dir : optional
        Passed to :func:`coursekit.mel.mel_spectrograms`.
    n_jobs : int or None, optional
        Processes that compute the spectrograms missing from the cache
        (:func:`coursekit.mel.mel_spectrograms`); ``None``: one per CPU
        core, at most 4.
    prefetch : bool, optional
        With the cache, start computing the missing spectrograms at once, in
        worker processes (:func:`coursekit.mel.prefetch_mel_spectrograms`),
        so that they render while the caller fits its other models (e.g.
        :meth:`coursekit.mixtape.DiscoverWeekly.fit`: text and ALS first).
        They render in :func:`coursekit.mel.render_order`, the training
        clips first: the returned function waits for those, trains the
        network while the workers render the rest, then joins them.
        ``False``: nothing starts before the first call.
    **cnn_options
        Other :class:`AudioCNN` parameters (``crop_seconds``, ``batch_size``, ...).

    Returns
    -------
    callable
        ``fn(item_factors, trained_mask) -> ndarray (n_tracks, f)``: trains an
        :class:`AudioCNN` on the tracks of ``trained_mask`` (bool, one per row
        of ``world.tracks``) with targets the unit-normalised rows of
        ``item_factors`` (n_tracks × f), and returns the predicted unit
        vectors of **every** track, rows in ``world.tracks`` order. The
        function keeps the last model as ``fn.model``.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from coursekit.datasets import load_world
    >>> world = load_world("tiny")
    >>> world = replace(world, tracks=world.tracks.iloc[:60])  # a quick example: 60 tracks
    >>> fn = audio_vector_model(world, max_train=50, clip_seconds=1.0, crop_seconds=0.75, epochs=1, cache=False)
    >>> Y = np.random.default_rng(0).normal(size=(len(world.tracks), 8))
    >>> fn(Y, np.ones(len(world.tracks), bool)).shape
    (60, 8)
    """
    say = progress or (lambda message: None)
    n_tracks = len(world.tracks)
    state = {}
    options = dict(cnn_options)
    options.setdefault("crop_seconds", min(CROP_SECONDS, clip_seconds))
    AudioCNN(epochs=epochs, random_state=random_state, **options)  # unknown options fail here, not later
    jobs = min(4, os.cpu_count() or 1) if n_jobs is None else n_jobs
    order = mel.render_order(n_tracks, random_state)  # the training clips first: the CNN trains while the rest render
    if cache and prefetch:  # the workers render while the caller does other work; mels() joins them
        mel.prefetch_mel_spectrograms(world.tracks, duration=clip_seconds, cache_dir=cache_dir, n_jobs=jobs,
                                      order=order)

    def mels():
        # With the disk cache, the spectrograms (220 MB for the small world) are read again on a later
        # call instead of being held between calls: a notebook keeps this function (inside its model)
        # long after training.
        if "mels" in state:
            return state["mels"]
        start = time.perf_counter()
        say(f"audio: log-mel spectrograms of {n_tracks} tracks ({clip_seconds:g} s clips; cached on disk)")
        X = mel.mel_spectrograms(world.tracks, duration=clip_seconds, cache=cache, cache_dir=cache_dir, n_jobs=jobs)
        say(f"audio: spectrograms ready in {time.perf_counter() - start:.1f} s")
        if not cache:
            state["mels"] = X
        return X

    def fn(item_factors, trained_mask):
        Y = np.asarray(item_factors, dtype=float)
        mask = np.asarray(trained_mask)
        if Y.ndim != 2 or len(Y) != n_tracks:
            raise ValueError(f"item_factors must be shaped (n_tracks, factors) with one row per track of the "
                             f"world ({n_tracks}), got shape {Y.shape}")
        if mask.shape != (n_tracks,) or mask.dtype != bool:
            raise ValueError(f"trained_mask must be a boolean array with one entry per track ({n_tracks}), "
                             f"got {mask.dtype} shaped {mask.shape}")
        known = mask & (np.linalg.norm(Y, axis=1) > 0) & np.isfinite(Y).all(axis=1)
        if known.sum() < 2:
            raise ValueError(f"need at least 2 trained tracks with a CF vector, got {int(known.sum())}")
        idx = np.sort(order[known[order]][:max_train])  # all known tracks, or the first max_train in render order
        if cache and "mels" not in state:  # only the training clips: a prefetch goes on with the rest meanwhile
            start = time.perf_counter()
            say(f"audio: log-mel spectrograms of the {idx.size} training tracks ({clip_seconds:g} s clips; "
                f"cached on disk)")
            X_train = mel.some_mel_spectrograms(world.tracks, idx, duration=clip_seconds, cache_dir=cache_dir,
                                                n_jobs=jobs)
            say(f"audio: training spectrograms ready in {time.perf_counter() - start:.1f} s")
        else:
            X_train = mels()[idx]
        say(f"audio: training the CNN on {idx.size} tracks for {epochs} epochs")
        model = AudioCNN(epochs=epochs, random_state=random_state, **options).fit(X_train, Y[idx])
        del X_train
        say(f"audio: trained in {model.fit_seconds_:.1f} s")
        X = mels()
        say(f"audio: predicting {n_tracks} tracks")
        fn.model = model
        return model.predict(X)

    fn.model = None
    return fn


# ------------------------------------------------------------------------------ placing a recording


def place(recording, *, sr=None, **options):
    """Place a recording among the world's songs: nearest songs, genre mix and attributes.

    The same as :func:`coursekit.place.place` (see there for the parameters).
    """
    from .place import place as _place

    return _place(recording, sr=sr, **options)
