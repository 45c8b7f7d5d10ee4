"""Tests of coursekit.cnn: the pooling layer, the network and its training."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
cnn = pytest.importorskip("coursekit.cnn")

from sklearn.exceptions import NotFittedError  # noqa: E402

from coursekit import audio, mel, synth  # noqa: E402

POOL_TOLERANCE = 1e-6  # float32 arithmetic on small numbers
SR = audio.SR


def _pool(x):
    return np.asarray(cnn.GlobalTemporalPooling()(np.asarray(x, dtype=np.float32)))


# -- global temporal pooling ---------------------------------------------------------------


def test_pooling_is_mean_max_and_l2_norm_over_time_by_hand():
    # 1 clip, 3 frames, 2 channels
    x = [[[1.0, -2.0], [3.0, 2.0], [2.0, 0.0]]]
    out = _pool(x)
    mean = [2.0, 0.0]
    top = [3.0, 2.0]
    rms = [np.sqrt((1 + 9 + 4) / 3), np.sqrt((4 + 4 + 0) / 3)]  # L2 norm / √T
    assert out.shape == (1, 6)
    assert out[0] == pytest.approx(mean + top + rms, abs=POOL_TOLERANCE)


@pytest.mark.parametrize("frames", [1, 2, 7, 50])
def test_pooling_works_for_any_clip_length(frames):
    x = np.random.default_rng(frames).normal(size=(3, frames, 4))
    out = _pool(x)
    assert out.shape == (3, 12)
    assert out[:, :4] == pytest.approx(x.mean(axis=1), abs=POOL_TOLERANCE)
    assert out[:, 4:8] == pytest.approx(x.max(axis=1), abs=POOL_TOLERANCE)
    assert out[:, 8:] == pytest.approx(np.linalg.norm(x, axis=1) / np.sqrt(frames), abs=POOL_TOLERANCE)
    # the same music twice as long gives the same summary
    assert _pool(np.concatenate([x, x], axis=1)) == pytest.approx(out, abs=POOL_TOLERANCE)


def test_pooling_has_finite_gradients_on_all_zero_channels():
    import tensorflow as tf

    x = tf.zeros((2, 5, 3))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(cnn.GlobalTemporalPooling()(x))
    assert np.isfinite(tape.gradient(y, x).numpy()).all()


def test_model_with_pooling_layer_saves_and_loads(tmp_path):
    model = cnn.build_model(8, 3, filters=(4, 4, 4), dense=6)
    x = np.random.default_rng(0).normal(size=(2, 40, 8)).astype(np.float32)
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("temporal_pooling"), cnn.GlobalTemporalPooling)
    assert np.asarray(loaded(x)) == pytest.approx(np.asarray(model(x)), abs=1e-6)


# -- the network ---------------------------------------------------------------------------


def test_network_shapes_any_length_and_unit_output():
    model = cnn.build_model(16, 5)
    assert cnn.receptive_field(model) == 25  # 4, pool 2, 4, pool 2, 4: 1 + 3 + 1 + 3·2 + 2 + 3·4
    assert cnn.min_frames(model) == 25
    for frames in (25, 60, 128):
        y = np.asarray(model(np.zeros((3, frames, 16), np.float32) + 1.0))
        assert y.shape == (3, 5)
        assert np.linalg.norm(y, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert model.get_layer("temporal_pooling").output.shape == (None, 3 * 64)


@pytest.fixture(scope="module")
def toy():
    """Spectrogram-like data whose targets depend on which band is loud."""
    rng = np.random.default_rng(0)
    n, frames, bands = 48, 60, 12
    loud = rng.integers(0, 4, size=n)
    X = rng.normal(-40, 3, size=(n, frames, bands))
    for i, b in enumerate(loud):
        X[i, :, 3 * b: 3 * b + 3] += 25.0
    Y = np.eye(4)[loud] + 0.05 * rng.normal(size=(n, 4))
    return X.astype(np.float16), Y, loud


def test_training_is_deterministic_and_seeded(toy):
    X, Y, _ = toy
    kw = dict(filters=(8, 8, 8), dense=16, crop_seconds=1.0, epochs=3, batch_size=16)
    first = cnn.AudioCNN(random_state=1, **kw).fit(X, Y).predict(X)
    again = cnn.AudioCNN(random_state=1, **kw).fit(X, Y).predict(X)
    other = cnn.AudioCNN(random_state=2, **kw).fit(X, Y).predict(X)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_the_network_learns_which_sound_goes_where(toy):
    X, Y, loud = toy
    model = cnn.AudioCNN(filters=(8, 8, 8), dense=16, crop_seconds=1.0, epochs=25, batch_size=16,
                         learning_rate=5e-3).fit(X, Y, validation_data=(X, Y))
    P = model.predict(X)
    assert (P.argmax(axis=1) == loud).mean() >= 0.9
    h = model.history_
    assert list(h.columns) == ["loss", "val_loss", "val_cosine"] and len(h) == 25
    assert h["loss"].iloc[-1] < 0.5 * h["loss"].iloc[0]
    assert h["val_cosine"].iloc[-1] > 0.8
    assert model.fit_seconds_ > 0


def test_predict_takes_clips_of_different_lengths(toy):
    X, Y, _ = toy
    model = cnn.AudioCNN(filters=(8, 8, 8), dense=16, crop_seconds=1.0, epochs=1).fit(X, Y)
    whole = model.predict(X[:3])
    parts = model.predict([X[0], X[1, :40], X[2, :30]])
    assert parts.shape == (3, 4)
    assert parts[0] == pytest.approx(whole[0], abs=1e-6)
    assert not np.allclose(parts[1], whole[1], atol=1e-6)  # a shorter clip hears less


# -- bad input -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mel_model():
    """A small model trained on real log-mel spectrograms (1 s clips)."""
    tracks = synth.example_tracks(16, seed=3)
    X = mel.mel_spectrograms(tracks, duration=1.0, cache=False)
    Y = np.random.default_rng(0).normal(size=(16, 4))
    return cnn.AudioCNN(filters=(8, 8, 8), dense=8, crop_seconds=0.8, epochs=1).fit(X, Y), tracks


def test_clip_shorter_than_the_receptive_field_is_refused(mel_model):
    model, tracks = mel_model
    y = synth.render_track(tracks.iloc[0], duration=1.0)
    assert model.predict_audio(y).shape == (4,)
    with pytest.raises(ValueError, match=r"20 frames \(0\.46 s\).*receptive field of 25 frames \(0\.58 s\)"):
        model.predict_audio(y[: 1024 + 19 * 512])
    with pytest.raises(ValueError, match="receptive field"):
        model.predict(np.zeros((2, 10, mel.MEL_BANDS), np.float32))
    with pytest.raises(ValueError, match="receptive field of 25 frames"):  # crops too short to train on
        cnn.AudioCNN(crop_seconds=0.3, epochs=1).fit(np.zeros((4, 60, 8)), np.ones((4, 2)))


def test_nan_samples_and_silence_are_refused(mel_model):
    model, tracks = mel_model
    y = synth.render_track(tracks.iloc[0], duration=1.0)
    y[500] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite samples"):
        model.predict_audio(y)
    with pytest.raises(ValueError, match="silent"):
        model.predict_audio(np.zeros(SR, np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.predict(np.full((1, 40, mel.MEL_BANDS), np.nan, np.float32))


def test_stereo_is_mixed_down_and_another_rate_resampled(mel_model):
    model, tracks = mel_model
    mono = synth.render_track(tracks.iloc[1], duration=1.0)
    v = model.predict_audio(mono)
    assert model.predict_audio(np.stack([mono, mono])) == pytest.approx(v, abs=1e-6)
    with pytest.raises(ValueError, match=r"\(samples, channels\)"):
        model.predict_audio(np.stack([mono, mono], axis=1))
    hi_fi = synth.render_track(tracks.iloc[1], duration=1.0, sr=44100)
    assert float(model.predict_audio(hi_fi, 44100) @ v) > 0.99
    with pytest.raises(ValueError, match="mel bands"):
        model.predict(np.zeros((1, 40, 10), np.float32))


def test_fit_refuses_bad_training_data():
    X = np.zeros((4, 60, 8), np.float32)
    with pytest.raises(ValueError, match="one row per clip"):
        cnn.AudioCNN(epochs=1).fit(X, np.ones((3, 2)))
    with pytest.raises(ValueError, match="1 all-zero rows"):
        cnn.AudioCNN(epochs=1).fit(X, np.array([[1.0, 0], [0, 1], [0, 0], [1, 1]]))
    with pytest.raises(ValueError, match=r"\(clips, frames, mel bands\)"):
        cnn.AudioCNN(epochs=1).fit(X[0], np.ones((60, 2)))
    with pytest.raises(NotFittedError, match="not fitted"):
        cnn.AudioCNN().predict(X)


# -- the mixtape's entry point ---------------------------------------------------------------


def test_audio_vector_model_predicts_every_track_of_the_tiny_world(tiny, tmp_path):
    from dataclasses import replace

    world = replace(tiny[0], tracks=tiny[0].tracks.iloc[:240])  # a third of the tracks: a quicker test
    messages = []
    fn = cnn.audio_vector_model(world, progress=messages.append, max_train=60, clip_seconds=1.0,
                                crop_seconds=0.75, epochs=2, filters=(8, 8, 8), dense=16, cache_dir=tmp_path)
    n = len(world.tracks)
    factors = np.random.default_rng(0).normal(size=(n, 6))
    mask = np.zeros(n, bool)
    mask[::4] = True
    out = fn(factors, mask)
    assert out.shape == (n, 6)
    assert np.linalg.norm(out, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert any("training the CNN on 60 tracks" in m for m in messages)
    assert len(list((tmp_path / "mel").glob("*.npy"))) == n  # every track's spectrogram is cached
    assert fn.model.model_.input_shape == (None, None, mel.MEL_BANDS)
    # the second call reads the spectrograms it already has and is reproducible
    assert np.array_equal(fn(factors, mask), out)
    with pytest.raises(ValueError, match="one row per track"):
        fn(factors[:10], mask)
    with pytest.raises(ValueError, match="boolean"):
        fn(factors, mask.astype(int))
    with pytest.raises(TypeError):
        cnn.audio_vector_model(world, no_such_option=1)


def test_audio_vector_model_starts_the_spectrograms_at_once(tiny, tmp_path, monkeypatch):
    # the workers start when the model is made (e.g. before DiscoverWeekly.fit's text and ALS), not when it is called
    calls = []
    monkeypatch.setattr(cnn.mel, "prefetch_mel_spectrograms", lambda tracks, **kw: calls.append((len(tracks), kw)))
    world = tiny[0]
    cnn.audio_vector_model(world, clip_seconds=1.5, cache_dir=tmp_path, n_jobs=3)
    (n, kw), = calls
    order = kw.pop("order")  # the training clips first, in the seed's order
    assert n == len(world.tracks) and kw == {"duration": 1.5, "cache_dir": tmp_path, "n_jobs": 3}
    np.testing.assert_array_equal(order, cnn.mel.render_order(len(world.tracks), 0))
    assert sorted(order) == list(range(len(world.tracks)))
    cnn.audio_vector_model(world, cache_dir=tmp_path, prefetch=False)
    cnn.audio_vector_model(world, cache=False)  # nothing to prefetch into
    assert len(calls) == 1


def test_the_cnn_trains_on_the_first_known_tracks_in_render_order(tiny, tmp_path, monkeypatch):
    """A seeded uniform sample of the known tracks: the first max_train of them in mel.render_order, rendered first."""
    world = tiny[0]
    n = len(world.tracks)
    known = np.arange(n) % 3 != 0
    Y = np.column_stack([np.arange(n) + 1.0, np.ones(n)])  # the first column names the row

    class Seen(Exception):
        pass

    def fake_fit(self, X, Y_train, **kw):
        raise Seen(np.asarray(Y_train[:, 0] - 1, dtype=int))

    monkeypatch.setattr(cnn.AudioCNN, "fit", fake_fit)
    for seed in (0, 7):
        fn = cnn.audio_vector_model(world, max_train=25, clip_seconds=1.0, crop_seconds=0.75, cache_dir=tmp_path,
                                    random_state=seed, prefetch=False)
        with pytest.raises(Seen) as caught:
            fn(Y, known)
        order = cnn.mel.render_order(n, seed)
        np.testing.assert_array_equal(caught.value.args[0], np.sort([i for i in order if known[i]][:25]))
