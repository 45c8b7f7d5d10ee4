"""Placing a recording among the world's songs (issue 16, item 4): the stored CNN, windows, refusals, the CLI."""

import json
import shutil
import warnings
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("keras")
cnn = pytest.importorskip("coursekit.cnn")

import coursekit.modelcache as modelcache  # noqa: E402
from coursekit import audio, mel, synth  # noqa: E402
from coursekit.cli import main  # noqa: E402
from coursekit.datasets import load_world  # noqa: E402
from coursekit.modelcache import ModelCacheWarning  # noqa: E402
from coursekit.place import place  # noqa: E402

SR = audio.SR
N_TRACKS = 40


@pytest.fixture(scope="module")
def small_cnn():
    """The tiny world's first 40 tracks, a CNN trained on their 3 s clips (2 epochs) and its vectors of them."""
    world = load_world("tiny")
    world = replace(world, tracks=world.tracks.iloc[:N_TRACKS])
    X = mel.mel_spectrograms(world.tracks, duration=cnn.CLIP_SECONDS, cache=False)
    # targets: one direction per genre, so that the network has something to learn
    genres = world.tracks["genre"].astype("category").cat.codes.to_numpy()
    Y = np.eye(8)[genres % 8] + 0.1 * np.random.default_rng(0).normal(size=(N_TRACKS, 8))
    model = cnn.AudioCNN(filters=(8, 8, 8), dense=16, epochs=2, batch_size=8).fit(X, Y)
    return world, model, model.predict(X), X


@pytest.fixture(scope="module")
def stored(small_cnn, tmp_path_factory):
    """A model-cache folder holding the tiny world's models with the CNN (cnn.keras) and a known rotation."""
    world, model, vectors, _ = small_cnn
    tiny = load_world("tiny")
    dw = modelcache.trained(tiny, cache_dir=tmp_path_factory.mktemp("unused"), audio=False, factors=8, iterations=2)
    full = np.zeros((len(tiny.tracks), 8))
    full[:N_TRACKS] = vectors
    full[N_TRACKS:] = np.random.default_rng(1).normal(size=(len(tiny.tracks) - N_TRACKS, 8))
    full /= np.linalg.norm(full, axis=1, keepdims=True)
    rotation, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(8, 8)))   # a known orthogonal map

    def fn(item_factors, mask):
        return full

    fn.model, fn.vectors, fn.rotation = model, full, None
    dw.audio_fn, dw.audio_vectors_ = fn, full @ rotation
    folder = tmp_path_factory.mktemp("models") / "discover-weekly-test"
    modelcache._store(dw, folder)
    return folder, rotation, tiny


def test_the_stored_cnn_is_a_keras_file_that_predicts_the_same(small_cnn, stored):
    _, model, _, X = small_cnn
    folder, rotation, tiny = stored
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "cnn.keras", "model.json"]
    meta = json.loads((folder / "model.json").read_text())
    assert meta["files"]["cnn.keras"] == modelcache.sha256_file(folder / "cnn.keras")
    assert meta["state"]["cnn"]["params"]["filters"] == [8, 8, 8]
    loaded, found = modelcache._load_cnn(folder)
    assert isinstance(loaded.model_.get_layer("temporal_pooling"), cnn.GlobalTemporalPooling)
    assert np.array_equal(loaded.predict(X), model.predict(X))          # identical predictions
    y = synth.render_track(tiny.tracks.iloc[0], duration=4.0)
    assert np.array_equal(loaded.predict_audio(y), model.predict_audio(y))
    assert found == pytest.approx(rotation, abs=1e-9)                   # the rotation, recovered from the vectors
    assert list(loaded.history_["loss"]) == list(model.history_["loss"]) and loaded.min_frames_ == model.min_frames_
    assert modelcache._load(folder, tiny, lambda message: None) is not None


def test_the_keras_file_has_the_same_bytes_for_the_same_weights(small_cnn, tmp_path):
    _, model, _, _ = small_cnn
    modelcache._save_keras(model.model_, tmp_path / "one.keras")
    modelcache._save_keras(model.model_, tmp_path / "two.keras")
    assert (tmp_path / "one.keras").read_bytes() == (tmp_path / "two.keras").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.keras", "two.keras"]   # no temporary file left


def test_a_tampered_keras_file_is_refused(stored, tmp_path):
    folder, _, tiny = stored
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    data = bytearray((copy / "cnn.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "cnn.keras").write_bytes(bytes(data))
    with pytest.warns(ModelCacheWarning, match=r"cnn\.keras.*sha256 does not match"):
        assert modelcache._load_cnn(copy) is None
    with pytest.warns(ModelCacheWarning, match=r"cnn\.keras"):
        assert modelcache._load(copy, tiny, lambda message: None) is None   # the whole entry is retrained


def test_window_averaging_weighs_the_parts_of_a_clip_by_their_length(small_cnn):
    """A 30 s clip whose sound changes after 10 s: the windowed vector leans to the 20 s part.

    One pass through the pooling layer lets a short loud part dominate; windows give each part
    its share of the clip. (How well a full recording and its first 10 s agree is measured on
    real recordings by ``benchmarks/place.py``, not asserted here: it depends on the world.)
    """
    world, model, _, _ = small_cnn
    tracks = world.tracks
    other = tracks[tracks["genre"] != tracks["genre"].iloc[0]].iloc[0]
    a, b = synth.render_track(tracks.iloc[0], duration=10.0), synth.render_track(other, duration=20.0)
    full = model.predict_audio(np.concatenate([a, b]))
    va, vb = model.predict_audio(a), model.predict_audio(b)
    assert float(va @ vb) < 0.99                          # the parts sound different to the model
    assert float(full @ vb) > float(full @ va)
    # a clip of one window is one pass
    short = synth.render_track(tracks.iloc[1], duration=cnn.CLIP_SECONDS)
    assert np.array_equal(model.predict_audio(short), model.predict_audio(short, window_seconds=None))


def test_window_average_by_hand(small_cnn):
    """4.5 s = windows at 0 and 1.5 s, and the last one ending at the clip's end."""
    world, model, _, _ = small_cnn
    y = synth.render_track(world.tracks.iloc[2], duration=5.0)
    spec = mel.log_mel_spectrogram(y, SR)
    w = 128   # 3 s of frames
    starts = [0, 64, len(spec) - w]
    expected = sum(model.predict(spec[s: s + w][None])[0] for s in starts)
    assert model.predict_audio(y) == pytest.approx(expected / np.linalg.norm(expected), abs=1e-6)
    with pytest.raises(ValueError, match="positive seconds"):
        model.predict_audio(y, window_seconds=0)


def test_place_returns_the_nearest_songs_the_genre_mix_and_the_attributes(small_cnn):
    world, model, vectors, _ = small_cnn
    y = synth.render_track(world.tracks.iloc[5], duration=8.0)
    p = place(y, sr=SR, k=4, model=model, world=world, vectors=vectors)
    assert list(p.songs.columns) == ["rank", "track_id", "artist", "title", "genre", "cosine"]
    v = model.predict_audio(y)
    cosines = vectors @ v / np.linalg.norm(vectors, axis=1)
    assert p.songs["track_id"].tolist() == world.tracks["track_id"].iloc[np.argsort(-cosines)[:4]].tolist()
    assert p.songs["cosine"].to_numpy() == pytest.approx(np.sort(cosines)[::-1][:4])
    shares = p.songs["genre"].value_counts() / 4
    assert p.genres.to_dict() == pytest.approx(shares.to_dict()) and p.genres.sum() == pytest.approx(1.0)
    assert p.genres.is_monotonic_decreasing
    assert p.attributes.music_score >= audio.MUSIC_THRESHOLD and np.isfinite(p.attributes.tempo)
    assert p.seconds == pytest.approx(8.0)
    assert "genre mix of the 4 nearest songs" in p.to_string()
    # the same clip at 44.1 kHz lands in the same place
    hi = synth.render_track(world.tracks.iloc[5], duration=8.0, sr=44100)
    assert float(place(hi, sr=44100, k=4, model=model, world=world, vectors=vectors).vector @ p.vector) > 0.99


def _speech_like(seconds=6.0, seed=0):
    """Syllables of noise through a gliding formant, at irregular times: no steady pitch, no beat."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    start = 0.1
    while start < seconds - 0.4:
        length = rng.uniform(0.08, 0.3)
        idx = (t >= start) & (t < start + length)
        f0 = rng.uniform(100, 220) * (1 + 0.5 * (t[idx] - start) / length)   # a gliding voice pitch
        y[idx] = np.sin(2 * np.pi * np.cumsum(f0) / SR) * np.hanning(idx.sum()) * rng.normal(1, 0.5, idx.sum())
        start += length + rng.uniform(0.05, 0.5)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_noise_and_speech_are_refused_with_the_music_score(small_cnn):
    world, model, vectors, _ = small_cnn
    noise = (0.1 * np.random.default_rng(0).normal(size=6 * SR)).astype(np.float32)
    for clip in (noise, _speech_like()):
        with pytest.raises(ValueError, match=r"does not sound like music: music score 0\.\d\d < 0\.50"):
            place(clip, sr=SR, model=model, world=world, vectors=vectors)
    with pytest.raises(ValueError, match="silent"):
        place(np.zeros(3 * SR, np.float32), sr=SR, model=model, world=world, vectors=vectors)
    with pytest.raises(ValueError, match="sr is required"):
        place(noise, model=model, world=world, vectors=vectors)
    with pytest.raises(ValueError, match="give the world"):
        place(noise, sr=SR, model=model, music_threshold=0.0)
    with pytest.raises(ValueError, match=r"vectors must be shaped \(tracks of the world, factors\) = \(40, 8\)"):
        place(synth.render_track(world.tracks.iloc[0], duration=4.0), sr=SR, model=model, world=world,
              vectors=vectors[:5])
    with pytest.raises(ValueError, match="k must be a positive whole number"):
        place(noise, sr=SR, k=0, model=model, world=world, vectors=vectors)


def test_place_without_a_model_uses_the_cached_cnn(small_cnn, stored, monkeypatch):
    world, model, vectors, _ = small_cnn
    folder, rotation, tiny = stored
    calls = []

    def from_cache(w, **kwargs):
        calls.append(w.size)
        dw = modelcache.DiscoverWeekly.from_state(tiny, *_stored_state(folder))
        loaded, r = modelcache._load_cnn(folder)
        return dw, loaded, r

    monkeypatch.setattr(modelcache, "trained_cnn", from_cache)
    y = synth.render_track(tiny.tracks.iloc[5], duration=8.0)
    p = place(y, sr=SR, k=3, world=tiny)
    direct = place(y, sr=SR, k=3, model=model, world=world, vectors=vectors)
    assert calls == ["tiny"]
    assert p.songs["cosine"].iloc[0] >= direct.songs["cosine"].iloc[0] - 1e-9   # more songs to choose from
    assert p.vector == pytest.approx(direct.vector, abs=1e-6)


def _stored_state(folder):
    meta = json.loads((folder / "model.json").read_text())
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return arrays, meta["state"]


def test_cli_places_a_wav_file_and_refuses_noise(small_cnn, stored, tmp_path, monkeypatch, capsys):
    import soundfile

    folder, _, tiny = stored

    def from_cache(w, **kwargs):
        dw = modelcache.DiscoverWeekly.from_state(tiny, *_stored_state(folder))
        return (dw, *modelcache._load_cnn(folder))

    monkeypatch.setattr(modelcache, "trained_cnn", from_cache)
    song = tmp_path / "song.wav"
    soundfile.write(song, synth.render_track(tiny.tracks.iloc[5], duration=6.0, sr=44100), 44100)
    assert main(["place", str(song), "--k", "3", "--size", "tiny"]) == 0
    out, _ = capsys.readouterr()
    assert "genre mix of the 3 nearest songs" in out and "track_id" in out and out.count("\n") >= 7
    noise = tmp_path / "noise.wav"
    soundfile.write(noise, (0.1 * np.random.default_rng(0).normal(size=5 * SR)).astype(np.float32), SR)
    assert main(["place", str(noise), "--size", "tiny"]) == 2
    _, err = capsys.readouterr()
    assert "coursekit place:" in err and "music score 0." in err
    assert main(["place", str(tmp_path / "missing.wav"), "--size", "tiny"]) == 2
    assert "no audio file" in capsys.readouterr().err
    assert main(["place", str(song), "--sr", "22050", "--size", "tiny"]) == 2
    assert "sampled at 44100 Hz" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["place", str(song), "--sr", "44100", "--k", "1", "--size", "tiny"]) == 0


def test_trained_cnn_stores_the_cnn_once_and_then_loads_it(tmp_path, monkeypatch):
    """The models with an audio CNN (here a small one on random spectrograms, for speed) trained once, then read."""
    tiny = load_world("tiny")
    X = np.random.default_rng(0).normal(-40, 10, size=(len(tiny.tracks), 40, mel.MEL_BANDS)).astype(np.float32)
    trainings = []

    def fake_audio_vector_model(world, progress=None, random_state=0):
        def fn(item_factors, trained_mask):
            trainings.append(int(trained_mask.sum()))
            fn.model = cnn.AudioCNN(filters=(4, 4, 4), dense=8, crop_seconds=0.8, epochs=1).fit(
                X[trained_mask], item_factors[trained_mask])
            return fn.model.predict(X)

        fn.model = None
        return fn

    monkeypatch.setattr(cnn, "audio_vector_model", fake_audio_vector_model)
    options = dict(cache_dir=tmp_path, committed=None, factors=8, iterations=2)
    model, first, rotation = modelcache.trained_cnn(tiny, **options)
    assert trainings and np.allclose(rotation @ rotation.T, np.eye(8), atol=1e-9)
    assert model.audio_vectors_ == pytest.approx(first.predict(X) @ rotation, abs=1e-6)   # float32 outputs
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (folder / "cnn.keras").exists()
    messages = []
    again, loaded, same = modelcache.trained_cnn(tiny, progress=messages.append, **options)
    assert len(trainings) == 1, "the second call loads the stored CNN, it does not train"
    assert any("loaded the trained models" in m for m in messages)
    assert np.array_equal(loaded.predict(X), first.predict(X)) and np.array_equal(same, rotation)
    assert np.array_equal(again.audio_vectors_, model.audio_vectors_)
