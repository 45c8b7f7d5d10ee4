"""Checkers for exercises 04 · raw audio (tempo from beats, receptive field, temporal pooling, a Keras layer).

The references are :mod:`coursekit.cnn` (``GlobalTemporalPooling``,
``receptive_field``); TensorFlow is imported only by the checkers that need it.
"""

from __future__ import annotations

import numpy as np

from ._feedback import hidden_seed as _hidden_seed
from ._feedback import ExerciseFeedback, call, check_shape, close, match_mistakes, passed

__all__ = ["hidden_seed", "example_beats", "EXAMPLE_LAYERS", "example_activations", "check_tempo_from_beats",
           "check_receptive_field", "check_temporal_pooling", "check_l2_pooling_layer",
           "probe_l2_pooling_layer"]


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("04", *key)

#: The time layers of coursekit's audio CNN (``coursekit.cnn.build_model``), input to output.
EXAMPLE_LAYERS = (("conv", 4), ("pool", 2), ("conv", 4), ("pool", 2), ("conv", 4))


def example_beats() -> np.ndarray:
    """Beat times (seconds) of a 120 bpm song in which the tracker missed one beat."""
    return np.array([0.52, 1.02, 1.51, 2.02, 2.52, 3.53, 4.02, 4.51, 5.02, 5.52])


def example_activations(batch: int = 2, frames: int = 5, channels: int = 3, *, seed: int = 0) -> np.ndarray:
    """Random convolution outputs shaped (batch, frames, channels), float32."""
    return np.random.default_rng(seed).normal(size=(batch, frames, channels)).astype(np.float32)


def check_tempo_from_beats(tempo_from_beats, *, beats=None):
    """Exercise 1: bpm = 60 / median inter-beat interval."""
    __tracebackhide__ = True
    beats = example_beats() if beats is None else np.asarray(beats, dtype=float)
    got = call(tempo_from_beats, beats.copy(), name="tempo_from_beats")
    try:
        bpm = float(got)
    except (TypeError, ValueError):
        raise ExerciseFeedback(f"`tempo_from_beats` should return one number (beats per minute), got "
                               f"{type(got).__name__}") from None
    gaps = np.diff(beats)
    expected = 60.0 / np.median(gaps)
    if close(bpm, expected):
        return passed(f"tempo_from_beats is right: {expected:.1f} bpm.")
    match_mistakes(bpm, [
        (60.0 / gaps.mean(), "one missed beat makes one gap twice as long and pulls the *mean* gap up; the median "
                             "gap ignores it (np.median)"),
        (1.0 / np.median(gaps), "that is beats per *second*; multiply by 60 for beats per minute"),
        (np.median(gaps), "that is the gap between beats in seconds; the tempo is 60 / gap"),
        (60.0 * len(beats) / (beats[-1] - beats[0]), "counting beats over the duration counts one beat too many "
                                                     "and is thrown off by the missed beat; use the median gap"),
        (60.0 * (len(beats) - 1) / (beats[-1] - beats[0]), "beats over duration is the mean gap in disguise; a "
                                                           "missed beat pulls it down — use the median gap"),
    ])
    raise ExerciseFeedback(f"expected {expected:.2f} bpm, got {bpm:.2f}")


def _field(layers) -> int:
    field, jump = 1, 1
    for kind, size in layers:
        field += (size - 1) * jump
        if kind == "pool":
            jump *= size
    return field


def check_receptive_field(receptive_field, *, layers=EXAMPLE_LAYERS):
    """Exercise 2: input frames one output frame of the last layer sees; compared with coursekit.cnn."""
    __tracebackhide__ = True
    layers = [tuple(layer) for layer in layers]
    got = call(receptive_field, list(layers), name="receptive_field")
    try:
        frames = float(got)
    except (TypeError, ValueError):
        raise ExerciseFeedback(f"`receptive_field` should return a number of frames, got "
                               f"{type(got).__name__}") from None
    expected = _field(layers)
    if frames == expected:
        return passed(f"receptive_field is right: {expected} frames.")
    no_jump = 1 + sum(size - 1 for _, size in layers)
    sum_sizes = sum(size for _, size in layers)
    match_mistakes(frames, [
        (no_jump, "you added (size − 1) for every layer as if each looked at neighbouring input frames; after a "
                  "pooling of 2, one step of the next layer spans 2 input frames (multiply by the product of the "
                  "earlier pooling sizes)"),
        (expected - 1, "off by one: one output frame of a single convolution of width k sees k frames, so start "
                       "from 1 and add (k − 1) · jump"),
        (expected + 1, "off by one: start from 1 frame and add (k − 1) · jump for each layer"),
        (sum_sizes, "the widths do not simply add up; start from 1 and add (k − 1) · jump for each layer"),
    ])
    raise ExerciseFeedback(f"expected {expected} frames, got {got}")


def _pool(H):
    H = np.asarray(H, dtype=np.float64)
    return np.concatenate([H.mean(axis=1), H.max(axis=1), np.sqrt((H**2).mean(axis=1))], axis=-1)


def check_temporal_pooling(temporal_pooling, *, H=None):
    """Exercise 3: [mean, max, RMS] over time, (batch, 3·channels), as coursekit's GlobalTemporalPooling."""
    __tracebackhide__ = True
    H = example_activations() if H is None else np.asarray(H, dtype=np.float32)
    got = call(temporal_pooling, H.copy(), name="temporal_pooling")
    if got is None:
        raise ExerciseFeedback("`temporal_pooling` returned None: did you forget the `return` line?")
    out = np.asarray(got, dtype=np.float64)
    batch, frames, channels = H.shape
    if out.shape == (batch, 3, channels):
        raise ExerciseFeedback(f"your result is {out.shape}: the three statistics must sit side by side, "
                               f"(batch, 3·channels) = {(batch, 3 * channels)} — np.concatenate(..., axis=-1), "
                               "not np.stack")
    if out.shape == (batch, 3 * frames) and frames != channels:
        raise ExerciseFeedback("you pooled over the channels (axis=2); pool over time, axis=1, so that each channel "
                               "keeps its own summary")
    check_shape(out, (batch, 3 * channels), name="temporal_pooling", rows="clips", cols="features")
    expected = _pool(H)
    if np.allclose(out, expected, rtol=1e-5, atol=1e-6):
        return passed("temporal_pooling is right: mean, max and RMS over time, for any number of frames.")
    c = channels
    mean, top, rms = expected[:, :c], expected[:, c:2 * c], expected[:, 2 * c:]
    l2 = np.sqrt((H.astype(np.float64) ** 2).sum(axis=1))
    for value, message in [
        (np.concatenate([mean, top, l2], axis=-1),
         "your third block is the L2 norm √Σh², which grows with the number of frames; divide by T inside the root "
         "(the root mean square), so a clip and the same clip played twice give the same features"),
        (np.concatenate([rms, mean, top], axis=-1), "the blocks are in the wrong order: mean, then max, then RMS"),
        (np.concatenate([mean, rms, top], axis=-1), "the blocks are in the wrong order: mean, then max, then RMS"),
    ]:
        if value is not None and np.allclose(out, value, rtol=1e-5, atol=1e-6):
            raise ExerciseFeedback(message)
    for start, name, want in ((0, "mean", mean), (c, "max", top), (2 * c, "RMS", rms)):
        if not np.allclose(out[:, start:start + c], want, rtol=1e-5, atol=1e-6):
            raise ExerciseFeedback(f"the {name} block (features {start}..{start + c - 1}) is wrong: each block holds "
                                   "one statistic per channel, taken over time (axis=1)")
    raise ExerciseFeedback("some features are wrong")  # pragma: no cover


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err)[:200]}"


def probe_l2_pooling_layer(layer_class, *, channels: int = 3, frames=(5, 9), seed: int = 0) -> dict:
    """What the student's layer does, as plain data: run where the class lives (the student's kernel).

    The grader calls this in the sandboxed kernel and judges the result in its own
    process (:func:`check_l2_pooling_layer` does both in a student's notebook).
    """
    import keras

    result = {"is_layer": isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer),
              "outputs": []}
    if not result["is_layer"]:
        return result
    try:
        layer = layer_class()
    except NotImplementedError:
        return result | {"init_error": "NotImplementedError"}
    except Exception as err:  # noqa: BLE001 - reported as feedback
        return result | {"init_error": _error_text(err)}
    for index, t in enumerate(frames):
        H = example_activations(2, int(t), channels, seed=seed + index)
        try:
            result["outputs"].append(np.asarray(layer(H), dtype=np.float64))
        except NotImplementedError:
            result["outputs"].append("NotImplementedError")
        except Exception as err:  # noqa: BLE001
            result["outputs"].append(_error_text(err))
    try:
        inputs = keras.Input(shape=(None, channels))
        dense = keras.layers.Dense(2, kernel_initializer="ones")
        model = keras.Model(inputs, dense(layer_class()(inputs)))
        clip = example_activations(1, 6, channels, seed=seed + 7)
        result["model_short"] = np.asarray(model.predict(clip, verbose=0), dtype=np.float64)
        result["model_long"] = np.asarray(model.predict(np.concatenate([clip] * 2, axis=1), verbose=0),
                                          dtype=np.float64)
    except Exception as err:  # noqa: BLE001
        result["model_error"] = _error_text(err)
    return result


def check_l2_pooling_layer(layer_class, *, channels: int = 3, seed: int = 0):
    """Exercise 4: a Keras layer computing sqrt(mean_t h²), usable in a model with any number of frames."""
    __tracebackhide__ = True
    probe = getattr(layer_class, "_coursekit_probe", None)    # the grader: run the probe in the student's kernel
    if callable(probe) and not isinstance(layer_class, type):
        result = probe("coursekit.exercises.ch04:probe_l2_pooling_layer", channels=channels, seed=seed)
    else:
        result = probe_l2_pooling_layer(layer_class, channels=channels, seed=seed)
    return _judge_l2_pooling(result if isinstance(result, dict) else {}, channels=channels, seed=seed)


def _judge_l2_pooling(result: dict, *, channels: int, seed: int, frames=(5, 9)):
    """The verdict on a probe's result; the inputs are made again here, never taken from the result."""
    __tracebackhide__ = True
    if not result.get("is_layer"):
        raise ExerciseFeedback("`L2TemporalPooling` should be a class that subclasses keras.layers.Layer "
                               "(class L2TemporalPooling(keras.layers.Layer): ...)")
    if "init_error" in result:
        if result["init_error"] == "NotImplementedError":
            raise ExerciseFeedback("`L2TemporalPooling` is not written yet: replace the line `raise "
                                   "NotImplementedError()` with your code, run that cell, then this one.")
        raise ExerciseFeedback(f"creating your layer, L2TemporalPooling(), raised {result['init_error']}")
    outputs = list(result.get("outputs", []))
    if len(outputs) != len(frames):
        raise ExerciseFeedback("your layer could not be tried on the examples")
    for index, (t, out) in enumerate(zip(frames, outputs)):
        H = example_activations(2, t, channels, seed=seed + index).astype(np.float64)
        if isinstance(out, str):
            if out == "NotImplementedError":
                raise ExerciseFeedback("`L2TemporalPooling.call` is not written yet: replace `raise "
                                       "NotImplementedError()` with your code")
            raise ExerciseFeedback(f"calling your layer on a batch of shape {H.shape} raised {out}")
        out = np.asarray(out, dtype=np.float64)
        expected = np.sqrt((H ** 2).mean(axis=1))     # the RMS part of coursekit.cnn.GlobalTemporalPooling
        if out.shape != expected.shape:
            if out.shape == (H.shape[0], t):
                raise ExerciseFeedback("you pooled over the channels; pool over time, axis=1")
            raise ExerciseFeedback(f"for an input of shape {H.shape} your layer returns {out.shape}; expected "
                                   f"{expected.shape} (one RMS per channel)")
        if not np.allclose(out, expected, rtol=1e-4, atol=1e-5):
            if np.allclose(out, np.sqrt((H ** 2).sum(axis=1)), rtol=1e-4, atol=1e-5):
                raise ExerciseFeedback("your layer returns √Σh², which grows with the clip's length: use the mean "
                                       "over time inside the root (keras.ops.mean), not the sum")
            raise ExerciseFeedback(f"for {t} frames your layer returns {np.round(out[0], 4).tolist()}, expected "
                                   f"{np.round(expected[0], 4).tolist()} for the first clip: sqrt(mean over time "
                                   "of h²)")
    if "model_error" in result:
        raise ExerciseFeedback("your layer works on arrays but not inside a Keras model, where it receives symbolic "
                               f"tensors ({result['model_error']}). Use keras.ops (ops.mean, "
                               "ops.square, ops.sqrt), not numpy, inside call()")
    clip = example_activations(1, 6, channels, seed=seed + 7).astype(np.float64)
    short, long = (np.asarray(result.get(k), dtype=np.float64) for k in ("model_short", "model_long"))
    expected = np.sqrt((clip ** 2).mean(axis=1)).sum(axis=1, keepdims=True) * np.ones((1, 2))  # Dense of ones
    if short.shape != expected.shape or not np.allclose(short, expected, rtol=1e-4, atol=1e-4):
        raise ExerciseFeedback("inside a Keras model your layer does not give sqrt(mean over time of h²)")
    if not np.allclose(short, long, rtol=1e-4, atol=1e-5):
        raise ExerciseFeedback("a clip and the same clip played twice should give the same output")
    return passed("L2TemporalPooling is right: it matches the RMS part of coursekit's GlobalTemporalPooling and "
                  "works in a model for clips of any length.")
