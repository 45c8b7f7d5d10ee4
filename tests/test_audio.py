"""Tests of coursekit.audio: reading audio, log-mel spectrograms and the estimators."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from coursekit import audio, mel, synth

librosa = pytest.importorskip("librosa")

SR = audio.SR
TEMPO_TOLERANCE = 0.04  # relative, as in the accuracy targets
LOUDNESS_TOLERANCE = 0.1  # LU


# -- the estimators ------------------------------------------------------------------------

_COLUMNS = ("genre", "tempo", "key", "mode", "loudness", "time_signature", "track_id")
HANDFUL = [dict(zip(_COLUMNS, row)) for row in [
    ("pop", 112.0, 0, 1, -7.0, 4, 1),
    ("rock", 128.0, 4, 0, -6.0, 4, 2),
    ("jazz", 140.0, 2, 1, -15.0, 3, 3),
    ("folk", 96.0, 9, 0, -13.0, 3, 7),
    ("classical", 76.0, 7, 1, -19.0, 3, 5),
    ("hip hop", 90.0, 1, 0, -6.5, 4, 6),
]]


@pytest.mark.parametrize("track", HANDFUL, ids=[t["genre"] for t in HANDFUL])
def test_estimators_recover_the_attributes(track):
    # the score played exactly (style "easy"); the world's performed takes are judged below
    est = audio.estimate_attributes(synth.render_track(track, style="easy"), SR)
    assert est.tempo == pytest.approx(track["tempo"], rel=TEMPO_TOLERANCE)
    assert (est.key, est.mode) == (track["key"], track["mode"])
    assert est.time_signature == track["time_signature"]
    assert est.loudness == pytest.approx(track["loudness"], abs=LOUDNESS_TOLERANCE)
    assert est.reason == ""
    for conf in (est.tempo_confidence, est.key_confidence, est.time_signature_confidence):
        assert 0.0 <= conf <= 1.0


def test_the_world_s_performed_takes_keep_tempo_key_and_loudness():
    """Style "real" (swing, drift, a room, noise): tempo, key and loudness still hold; the metre mostly."""
    tracks = pd.DataFrame(HANDFUL)
    est = audio.estimate_many(synth.render_tracks(tracks, cache=False, style="real"), SR)
    table = audio.attribute_accuracy(tracks, est)
    assert table.loc["all", "tempo"] == 1.0 and table.loc["all", "key_mode"] == 1.0
    assert table.loc["all", "time_signature"] >= 4 / 6
    assert table.loc["all", "loudness_mae"] < LOUDNESS_TOLERANCE


def test_estimate_many_and_accuracy_table():
    tracks = pd.DataFrame(HANDFUL[:3])
    est = audio.estimate_many(synth.render_tracks(tracks, cache=False, style="easy"), SR)
    assert list(est.columns[:5]) == ["tempo", "key", "mode", "loudness", "time_signature"]
    table = audio.attribute_accuracy(tracks, est, by="genre")
    assert list(table.index) == ["jazz", "pop", "rock", "all"]
    assert table.loc["all", ["tempo", "key_mode", "time_signature"]].tolist() == [1.0, 1.0, 1.0]


def test_attribute_accuracy_counts_octaves_and_relative_keys_apart():
    true = pd.DataFrame({"tempo": [120.0, 120.0, 90.0, 100.0], "key": [0, 0, 9, 2], "mode": [1, 1, 0, 1],
                         "time_signature": [4, 4, 3, 4], "loudness": [-8.0, -8.0, -12.0, -6.0]})
    est = pd.DataFrame({"tempo": [123.0, 60.5, 181.0, 110.0], "key": [0, 9, 0, 9], "mode": [1, 0, 1, 1],
                        "time_signature": [4, 3, 3, -1], "loudness": [-8.5, -8.0, -11.0, -6.0]})
    row = audio.attribute_accuracy(true, est).loc["all"]
    assert row["n"] == 4
    assert row["tempo"] == 0.25  # 123 is within 4 % of 120; 110 is not of 100
    assert row["tempo_octave"] == 0.5  # 60.5 for 120 and 181 for 90
    assert row["key_mode"] == 0.25
    assert row["key_relative"] == 0.5  # A minor for C major, C major for A minor
    assert row["key_fifth"] == 0.25  # A major (the dominant) for D major
    assert row["time_signature"] == 0.5
    assert row["loudness_mae"] == pytest.approx(0.375)
    confusion = audio.key_confusion(true, est)
    assert confusion.loc["major"].to_dict() == dict(correct=1, relative=1, parallel=0, dominant=1,
                                                    subdominant=0, other=0, unknown=0)
    assert confusion.loc["minor", "relative"] == 1
    with pytest.raises(ValueError, match="rows"):
        audio.attribute_accuracy(true, est.iloc[:2])


# -- bad input -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip():
    return synth.render_track(HANDFUL[1])


def test_silence_is_unknown_not_a_confident_guess():
    est = audio.estimate_attributes(np.zeros(3 * SR, dtype=np.float32), SR)
    assert est.loudness == -np.inf and np.isnan(est.tempo)
    assert (est.key, est.mode, est.time_signature) == (-1, -1, -1)
    assert est.key_confidence == 0.0 and "silent" in est.reason


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_and_inf_samples_are_refused(clip, value):
    y = clip.copy()
    y[100:103] = value
    with pytest.raises(ValueError, match="3 NaN or infinite samples.*nan_to_num"):
        audio.estimate_attributes(y, SR)


def test_too_short_clip_is_refused(clip):
    with pytest.raises(ValueError, match=r"0\.50 s long.*at least 1 s"):
        audio.estimate_attributes(clip[: SR // 2], SR)


@pytest.mark.parametrize("sr", [0, -22050, 22050.5, 4000, "22050", None])
def test_bad_sample_rate_is_refused(clip, sr):
    with pytest.raises(ValueError, match="sr"):
        audio.estimate_attributes(clip, sr)


def test_another_sample_rate_is_resampled():
    y = synth.render_track(HANDFUL[1], sr=44100)
    est = audio.estimate_attributes(y, 44100)
    assert est.tempo == pytest.approx(HANDFUL[1]["tempo"], rel=TEMPO_TOLERANCE)
    assert (est.key, est.mode, est.time_signature) == (4, 0, 4)


def test_channels_first_is_mixed_down_and_channels_last_is_refused(clip):
    mono = audio.estimate_attributes(clip, SR)
    stereo = audio.estimate_attributes(np.stack([clip, clip]), SR)
    # BS.1770 sums the channels' powers: two equal channels are 3.01 LU louder than one
    assert stereo.loudness == pytest.approx(mono.loudness + 3.01, abs=0.01)
    assert replace(stereo, loudness=mono.loudness) == mono  # the rest is estimated on the mix
    with pytest.raises(ValueError, match=r"mono.*\(samples, channels\).*y\.T"):
        audio.estimate_attributes(np.stack([clip, clip], axis=1), SR)
    with pytest.raises(ValueError, match="mono"):
        audio.estimate_attributes(clip.reshape(1, 2, -1), SR)


def test_integer_pcm_is_scaled_to_full_scale(clip):
    pcm = np.round(clip * 32767).astype(np.int16)
    assert audio.estimate_attributes(pcm, SR).loudness == pytest.approx(audio.estimate_attributes(clip, SR).loudness,
                                                                    abs=0.01)
    with pytest.raises(ValueError, match="dtype"):
        audio.estimate_attributes(np.array(["a"] * SR * 2), SR)


def test_clipping_is_measured_and_the_rest_still_estimated(clip):
    clipped = np.clip(4.0 * clip, -1.0, 1.0)  # 12 dB of gain into a hard ceiling
    assert audio.clipped_share(clipped) > 0.05
    assert audio.clipped_share(clip) < audio.CLIPPED_SHARE  # the synthesiser's limiter is not a clipper
    est = audio.estimate_attributes(clipped, SR)
    assert est.clipped == pytest.approx(audio.clipped_share(clipped)) and est.reason == ""
    assert audio.estimate_attributes(clip, SR).clipped < audio.CLIPPED_SHARE
    assert est.tempo == pytest.approx(HANDFUL[1]["tempo"], rel=TEMPO_TOLERANCE)
    assert (est.key, est.mode, est.time_signature) == (4, 0, 4)
    assert audio.clipped_share(np.zeros(100)) == 0.0


def test_clipped_share_by_hand():
    y = np.array([0.1, 0.5, 0.5, 0.5, -0.2, -0.5, -0.5, 0.3, 0.5, 0.0])
    # one run of 3 samples at the peak |0.5| counts; runs of 2 and 1 do not
    assert audio.clipped_share(y) == pytest.approx(0.3)
    assert audio.clipped_share(y, min_run=2) == pytest.approx(0.5)


# -- reading files -------------------------------------------------------------------------


def test_load_audio_mixes_down_and_resamples(tmp_path, clip):
    from scipy.io import wavfile

    stereo = np.stack([clip, clip], axis=1)
    pcm = np.round(stereo * 32767).astype(np.int16)
    wavfile.write(tmp_path / "stereo.wav", SR, pcm)
    y = audio.load_audio(tmp_path / "stereo.wav")
    assert y.dtype == np.float32 and y.shape == clip.shape
    np.testing.assert_allclose(y, clip, atol=1 / 32767)
    wavfile.write(tmp_path / "hi.wav", 44100, synth.render_track(HANDFUL[1], sr=44100))
    assert audio.load_audio(tmp_path / "hi.wav").shape == clip.shape


def test_unreadable_audio_files_are_refused_clearly(tmp_path):
    from scipy.io import wavfile

    with pytest.raises(FileNotFoundError, match="no audio file"):
        audio.load_audio(tmp_path / "missing.wav")
    (tmp_path / "notes.wav").write_text("these are words, not sound")
    with pytest.raises(ValueError, match=r"could not read .*notes\.wav as audio"):
        audio.load_audio(tmp_path / "notes.wav")
    wavfile.write(tmp_path / "empty.wav", SR, np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError, match="no audio samples"):
        audio.load_audio(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="could not read"):
        audio.load_audio(tmp_path)  # a folder is not a file either


# -- log-mel spectrograms ------------------------------------------------------------------


def test_log_mel_spectrogram_matches_librosa():
    y = synth.render_track(HANDFUL[0], duration=3.0)
    spec = mel.log_mel_spectrogram(y, SR)
    assert spec.shape == (1 + (3 * SR - 1024) // 512, mel.MEL_BANDS) == (128, 64)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, n_mels=64, center=False)
    ref = np.maximum(10 * np.log10(np.maximum(ref, 1e-30)), mel.MEL_FLOOR_DB).T
    np.testing.assert_allclose(spec, ref, atol=1e-3)


def test_log_mel_spectrogram_keeps_loudness():
    quiet = synth.render_track(dict(HANDFUL[4], loudness=-30.0), duration=3.0)
    loud = synth.render_track(dict(HANDFUL[4], loudness=-20.0), duration=3.0)  # the same mix, 10 dB up
    a, b = mel.log_mel_spectrogram(quiet, SR), mel.log_mel_spectrogram(loud, SR)
    audible = a > mel.MEL_FLOOR_DB + 40
    assert np.median((b - a)[audible]) == pytest.approx(10.0, abs=0.1)


def test_log_mel_spectrogram_bad_input():
    y = synth.render_track(HANDFUL[0], duration=1.0)
    with pytest.raises(ValueError, match=r"one frame of 1024 samples \(46 ms\)"):
        mel.log_mel_spectrogram(y[:1000], SR)
    bad = y.copy()
    bad[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mel.log_mel_spectrogram(bad, SR)
    np.testing.assert_allclose(mel.log_mel_spectrogram(np.stack([y, y]), SR), mel.log_mel_spectrogram(y, SR),
                               atol=1e-4)
    hi = mel.log_mel_spectrogram(synth.render_track(HANDFUL[0], duration=1.0, sr=44100), 44100)
    assert hi.shape == mel.log_mel_spectrogram(y, SR).shape
    silence = mel.log_mel_spectrogram(np.zeros(SR), SR)
    assert (silence == mel.MEL_FLOOR_DB).all()


def test_mel_spectrograms_are_cached_as_float16(tmp_path, monkeypatch):
    tracks = synth.example_tracks(4, seed=7)
    mels = mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path)
    assert mels.shape == (4, 42, mel.MEL_BANDS) and mels.dtype == np.float16
    for i, row in enumerate(tracks.to_dict("records")):
        expected = mel.log_mel_spectrogram(synth.render_track(row, duration=1.0), SR)
        np.testing.assert_allclose(mels[i], expected, atol=0.05)  # float16 of values up to ~40 dB
    files = sorted((tmp_path / "mel").glob("*.npy"))
    assert len(files) == 4 and all(f.name.startswith("track") for f in files)

    def no_render(*args, **kwargs):
        raise AssertionError("rendered although cached")

    monkeypatch.setattr(mel, "_render_batch", no_render)
    np.testing.assert_array_equal(mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path), mels)
    monkeypatch.undo()
    files[0].write_bytes(b"garbage")  # a damaged file is computed again
    np.testing.assert_array_equal(mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path), mels)
    mel.mel_spectrograms(tracks.assign(tempo=tracks["tempo"] + 1), duration=1.0, cache_dir=tmp_path)
    assert len(list((tmp_path / "mel").glob("*.npy"))) == 8  # changed attributes, new files
    with pytest.raises(ValueError, match="tempo"):  # a bad row fails before any work
        mel.mel_spectrograms(tracks.assign(tempo=0.0), duration=1.0, cache=False)


def test_mel_spectrograms_in_worker_processes_equal_one_process(monkeypatch):
    tracks = synth.example_tracks(130, seed=8)  # three batches of 64
    one = mel.mel_spectrograms(tracks, duration=1.0, cache=False)
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)  # workers from 100 tracks on, for a quick test
    in_parent = []
    batch = mel._mel_batch
    monkeypatch.setattr(mel, "_mel_batch", lambda *job: in_parent.append(len(job[0])) or batch(*job))
    three = mel.mel_spectrograms(tracks, duration=1.0, cache=False, n_jobs=3)
    np.testing.assert_array_equal(one, three)
    assert in_parent == [64], "the parent computes one share (the first batch), two workers the other two"
    with pytest.raises(ValueError, match="n_jobs"):
        mel.mel_spectrograms(tracks, duration=1.0, cache=False, n_jobs=0)


def _children(pid: int) -> list:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    from pathlib import Path

    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc (Linux)")
def test_mel_workers_die_with_their_parent(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("from coursekit import mel, synth\n"
              "mel._MIN_PARALLEL = 1\n"
              "mel.mel_spectrograms(synth.example_tracks(2000, seed=1), duration=4.0, n_jobs=3,\n"
              f"                       cache_dir={str(tmp_path)!r})\n")
    parent = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))
    try:
        deadline, workers = time.time() + 60, []
        while time.time() < deadline and len(workers) < 2:  # wait until both workers run (n_jobs=3: the parent is the third)
            time.sleep(0.2)
            workers = _children(parent.pid)
        assert len(workers) == 2, "the parent did not start its two workers"
        time.sleep(1.0)
        parent.send_signal(signal.SIGTERM)
        parent.wait(10)
        deadline = time.time() + 5
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        for w in left:  # clean up before failing
            os.kill(w, signal.SIGKILL)
        assert not left, f"workers {left} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()


# -- what the estimators hold to on sound that is not the world's ------------------------------


def test_the_sample_rate_is_required(clip):
    for call in (lambda: audio.estimate_attributes(clip), lambda: audio.estimate_many([clip]),
                 lambda: mel.log_mel_spectrogram(clip)):
        with pytest.raises(ValueError, match="sr is required"):
            call()


def test_integer_scaled_floats_are_refused(clip):
    with pytest.raises(ValueError, match="integer PCM stored as floats.*32768"):
        audio.estimate_attributes(clip * 32767.0, SR)
    audio.estimate_attributes(clip * 1.5, SR)  # a little over full scale is a real (clipping) signal


def test_music_score_by_hand():
    # b = (0.4 - 0.2) / 0.4 = 0.5, t = (0.07 - 0.02) / 0.1 = 0.5: sqrt(0.25) = 0.5; h = 0 (0.07 < 0.08); v = 1
    assert audio.music_score(0.4, 0.07, 9.0) == pytest.approx(0.5)
    assert audio.music_score(0.9, 0.5, 9.0) == 1.0  # every cue saturates
    assert audio.music_score(0.9, 0.0, 9.0) == 0.0  # a beat without pitch: a metronome
    # clear tonality alone: h = (0.11 - 0.08) / 0.06 = 0.5 with no beat (b = 0)
    assert audio.music_score(0.1, 0.11, 9.0) == pytest.approx(0.5)
    # a held tone: v = (4.5 - 3.5) / 2 = 0.5 scales an otherwise sure score
    assert audio.music_score(0.9, 0.5, 4.5) == pytest.approx(0.5)
    assert audio.music_score(0.9, 0.9, 3.0) == 0.0


def _noise_and_chirp():
    rng = np.random.default_rng(0)
    t = np.arange(6 * SR) / SR
    return {"white noise": 0.1 * rng.normal(size=t.size).astype(np.float32),
            "chirp": (0.3 * np.sin(2 * np.pi * 100 * (2 ** (t / 1.6) - 1) * 1.6 / np.log(2))).astype(np.float32),
            "sine": (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
            # steady tones whose level wobbles read as a beat: the pitch variety refuses them
            "sine with vibrato": (0.3 * np.sin(2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t))).astype(np.float32),
            "two held sines": (0.15 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 660 * t))).astype(np.float32),
            "harmonic tone": (0.15 * sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 8))).astype(np.float32)}


@pytest.mark.parametrize("name", ["white noise", "chirp", "sine", "sine with vibrato", "two held sines",
                                  "harmonic tone"])
def test_what_is_not_music_gets_no_confident_number(name):
    y = _noise_and_chirp()[name]
    with pytest.warns(UserWarning, match="does not sound like music"):
        est = audio.estimate_attributes(y, SR)
    assert est.music_score < audio.MUSIC_THRESHOLD and est.reason.startswith("not music")
    assert np.isnan(est.tempo) and (est.key, est.mode, est.time_signature, est.metre) == (-1, -1, -1, "")
    assert np.isfinite(est.loudness)  # loudness is measured for any sound
    forced = audio.estimate_attributes(y, SR, music_threshold=0.0)  # asked for anyway: numbers, no warning
    assert forced.key >= 0 and forced.music_score == est.music_score


def test_music_passes_the_music_score(clip):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for music
        est = audio.estimate_attributes(clip, SR)
    assert est.music_score >= audio.MUSIC_THRESHOLD and est.beat_strength > 0.5 and est.tonal_clarity > 0.1
    assert est.pitch_variety > 5.5


def test_a_quiet_tune_without_a_beat_is_music():
    # a slow, rubato tune: notes of irregular length with soft attacks, no pulse to speak of
    rng = np.random.default_rng(3)
    notes = rng.choice([60, 62, 64, 65, 67, 69, 71, 72], size=12)
    lengths = rng.uniform(0.35, 1.4, size=12)
    parts = []
    for note, length in zip(notes, lengths):
        t = np.arange(int(length * SR)) / SR
        f = 440 * 2 ** ((note - 69) / 12)
        env = np.minimum(1, t / 0.25) * np.exp(-t / 2)  # slow attack: no sharp onset
        parts.append(env * sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 4)))
    y = (0.3 * np.concatenate(parts) / np.abs(np.concatenate(parts)).max()).astype(np.float32)
    est = audio.estimate_attributes(y, SR, music_threshold=0.0)
    assert est.pitch_variety > 5.5 and est.tonal_clarity > 0.14
    assert est.music_score >= audio.MUSIC_THRESHOLD, est


@pytest.mark.skipif(not (__import__("pathlib").Path(__import__("sysconfig").get_paths()["stdlib"]) / "test"
                         / "audiotest.au").exists(), reason="this Python ships no test/audiotest.au")
def test_recorded_speech_is_not_music():
    import sysconfig
    from pathlib import Path

    speech = audio.load_audio(Path(sysconfig.get_paths()["stdlib"]) / "test" / "audiotest.au")  # 8012 Hz voice
    with pytest.warns(UserWarning, match="does not sound like music"):
        est = audio.estimate_attributes(speech, SR)
    assert np.isnan(est.tempo) and est.key == -1


def test_metre_is_duple_or_triple():
    # played exactly (style "easy"): a swung take divides its beats in three, as triplets do
    waltz = audio.estimate_attributes(synth.render_track(HANDFUL[2], style="easy"), SR)  # jazz in 3/4
    four = audio.estimate_attributes(synth.render_track(HANDFUL[0], style="easy"), SR)  # pop in 4/4
    assert (waltz.metre, waltz.time_signature, waltz.beat_division) == ("triple", 3, 2)
    assert (four.metre, four.time_signature, four.beat_division) == ("duple", 4, 2)


def test_beat_division_by_hand():
    # an autocorrelation (lag in frames) with peaks every 10 frames: a beat of 30 frames divides in 3;
    # with peaks every 15 frames it divides in 2
    lags = np.arange(200)
    bpm = 60.0 * SR / (audio._HOP * 30)
    thirds = np.where(lags % 10 == 0, 1.0, 0.0)
    halves = np.where(lags % 15 == 0, 1.0, 0.0)
    assert audio._beat_division(thirds, bpm) == 3 and audio._beat_division(halves, bpm) == 2


@pytest.mark.parametrize("track", HANDFUL[:3], ids=[t["genre"] for t in HANDFUL[:3]])
def test_the_octave_decision_does_not_follow_start_bpm(track):
    y = synth.render_track(track)
    tempi = [audio.estimate_attributes(y, SR, start_bpm=b).tempo for b in (60.0, 120.0, 180.0)]
    assert tempi == pytest.approx([track["tempo"]] * 3, rel=TEMPO_TOLERANCE)
    assert audio.estimate_attributes(y, SR).tempo_confidence > 0
