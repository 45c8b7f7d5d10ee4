"""Tests of coursekit.synth: the score, the synthesiser, the clip cache and the loudness measure."""

import numpy as np
import pandas as pd
import pytest

from coursekit import scores, synth
from coursekit.loudness import integrated_loudness

librosa = pytest.importorskip("librosa")

SR = synth.SR
TEMPO_TOLERANCE = 0.04  # relative, as in the accuracy targets
LOUDNESS_TOLERANCE = 0.1  # LU


def _track(genre="pop", tempo=112.0, key=0, mode=1, loudness=-7.0, time_signature=4, track_id=1):
    return dict(track_id=track_id, genre=genre, tempo=tempo, key=key, mode=mode, loudness=loudness,
                time_signature=time_signature)


def _beat_accents(y, beat_times):
    """Onset strength at each beat (max within ±2 frames)."""
    env = librosa.onset.onset_strength(y=y, sr=SR)
    frames = librosa.time_to_frames(beat_times, sr=SR)
    return np.array([env[max(f - 2, 0): f + 3].max() for f in frames])


# -- the score and the synthesiser ---------------------------------------------------------


@pytest.mark.parametrize("genre", ["folk", "pop"])
def test_waltz_has_its_accents_every_third_beat(genre):
    track = _track(genre=genre, tempo=100.0, key=2, time_signature=3)
    score = synth.compose(track, style="easy")  # the score played exactly
    accents = _beat_accents(synth.render_track(track, style="easy"), score.beat_times)
    by_position = [accents[score.beat_in_bar == k].mean() for k in range(3)]
    assert by_position[0] > 1.1 * max(by_position[1:])  # the downbeat is the strongest
    # and the accents repeat every 3 beats, not every 2 or 4
    z = (accents - accents.mean()) / accents.std()
    corr = {lag: np.mean(z[:-lag] * z[lag:]) for lag in (2, 3, 4)}
    assert corr[3] > corr[2] and corr[3] > corr[4]


def test_four_four_has_its_accents_every_fourth_beat():
    track = _track(genre="folk", tempo=100.0, key=2, time_signature=4)
    score = synth.compose(track, style="easy")  # the score played exactly
    accents = _beat_accents(synth.render_track(track, style="easy"), score.beat_times)
    by_position = [accents[score.beat_in_bar == k].mean() for k in range(4)]
    assert by_position[0] > 1.1 * max(by_position[1:])


def test_score_beats_bars_and_chords():
    score = synth.compose(_track(tempo=120.0, time_signature=3, mode=0, key=9), style="easy")
    assert np.diff(score.beat_times) == pytest.approx(0.5)  # 60 / 120 s
    assert set(score.beat_in_bar) == {0, 1, 2}
    assert score.beat_times.min() >= 0 and score.beat_times.max() < score.duration
    assert "i" in score.chords[:2]  # the progression starts on the tonic within the first two bars
    # the bass plays the root of its bar's chord on every downbeat: in A minor, A for i, E for V
    roots = {"i": 9, "iv": 2, "V": 4, "VI": 5, "VII": 7}
    bass = score.notes[score.notes["voice"] == "bass"]
    downbeats = score.beat_times[score.beat_in_bar == 0]
    assert len(score.chords) == len(downbeats) + 1  # the clip starts inside a bar
    for t, chord in zip(downbeats, score.chords[1:]):
        note = bass[np.isclose(bass["onset"], t)]
        assert len(note) == 1 and note["midi"].iloc[0] % 12 == roots[chord]


def test_a_minor_track_chroma_peaks_on_a_c_e():
    track = _track(genre="rock", tempo=100.0, key=9, mode=0, loudness=-8.0, time_signature=3, track_id=0)
    y = synth.render_track(track, style="easy")
    score = synth.compose(track, style="easy")
    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=1024)
    times = librosa.frames_to_time(np.arange(chroma.shape[1]), sr=SR, hop_length=1024)
    bar = 3 * 60 / score.tempo
    downbeats = score.beat_times[score.beat_in_bar == 0]
    starts = np.concatenate([[downbeats[0] - bar], downbeats])  # the clip starts inside a bar
    in_tonic = np.zeros(times.size, bool)
    for start, chord in zip(starts, score.chords):
        if chord == "i":
            in_tonic |= (times >= start + 0.05) & (times < start + bar)
    assert in_tonic.sum() > 10
    top3 = set(np.argsort(chroma[:, in_tonic].mean(axis=1))[-3:])
    assert top3 == {9, 0, 4}  # A, C, E
    # over the whole clip, the tonic is the strongest pitch class
    assert np.argmax(chroma.mean(axis=1)) == 9


def test_render_is_deterministic_per_seed():
    track = _track(genre="jazz", tempo=131.0, key=3, mode=0, loudness=-14.0, time_signature=3, track_id=42)
    a, b = synth.render_track(track), synth.render_track(track)
    assert a.dtype == np.float32 and a.shape == (int(synth.DEFAULT_DURATION * SR),)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, synth.render_track(track, seed=42))  # the default seed is track_id
    assert not np.array_equal(a, synth.render_track(track, seed=43))
    assert not np.array_equal(a, synth.render_track(dict(track, track_id=43)))


@pytest.mark.parametrize("genre,loudness", [("classical", -21.0), ("folk", -12.0), ("pop", -7.0),
                                            ("metal", -3.5)])
def test_render_reaches_its_loudness_without_clipping(genre, loudness):
    y = synth.render_track(_track(genre=genre, loudness=loudness), duration=4.0)
    assert integrated_loudness(y, sr=SR) == pytest.approx(loudness, abs=LOUDNESS_TOLERANCE)
    assert np.abs(y).max() <= 1.0
    np.testing.assert_array_equal(np.round(y * 32767), y * 32767)  # on the 16-bit grid


def test_duration_and_sample_rate_are_configurable():
    y = synth.render_track(_track(), duration=2.5, sr=16000)
    assert y.shape == (40000,)
    assert integrated_loudness(y, sr=16000) == pytest.approx(-7.0, abs=LOUDNESS_TOLERANCE)


@pytest.mark.parametrize("change,match", [
    (dict(time_signature=5), "time_signature"),
    (dict(genre="polka"), "genre"),
    (dict(key=12), "key"),
    (dict(mode=2), "mode"),
    (dict(tempo=0.0), "tempo"),
    (dict(loudness=3.0), "loudness"),
])
def test_render_rejects_bad_attributes(change, match):
    with pytest.raises(ValueError, match=match):
        synth.render_track(dict(_track(), **change))


def test_render_names_a_missing_attribute():
    track = _track()
    del track["tempo"]
    with pytest.raises(ValueError, match="tempo"):
        synth.render_track(track)


def test_render_tracks_caches_wav_files(tmp_path, monkeypatch):
    tracks = synth.example_tracks(3, seed=5)
    clips = synth.render_tracks(tracks, duration=2.0, cache_dir=tmp_path)
    assert clips.shape == (3, 2 * SR)
    for i, row in enumerate(tracks.to_dict("records")):  # the cache returns exactly what was rendered
        np.testing.assert_array_equal(clips[i], synth.render_track(row, duration=2.0))
    files = sorted(tmp_path.glob("*.wav"))
    assert len(files) == 3 and all(f.name.startswith("track") for f in files)
    assert not list(tmp_path.glob(".tmp-*"))  # no temporary file left behind

    def no_render(*args, **kwargs):
        raise AssertionError("rendered although cached")

    monkeypatch.setattr(synth, "render_track", no_render)
    np.testing.assert_array_equal(synth.render_tracks(tracks, duration=2.0, cache_dir=tmp_path), clips)
    monkeypatch.undo()

    # a damaged file is rendered again; a changed attribute gets a file of its own
    files[0].write_bytes(b"not a wav file")
    np.testing.assert_array_equal(synth.render_tracks(tracks, duration=2.0, cache_dir=tmp_path), clips)
    louder = tracks.assign(loudness=tracks["loudness"] + 1.0)
    synth.render_tracks(louder.iloc[:1], duration=2.0, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.wav"))) == 4


def test_default_cache_dir_follows_coursekit_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))
    assert synth.default_cache_dir() == tmp_path / "audio"
    monkeypatch.delenv("COURSEKIT_DATA")
    assert synth.default_cache_dir().parts[-3:] == (".cache", "coursekit", "audio")


def test_example_tracks_follow_the_genre_signatures():
    tracks = synth.example_tracks(400, seed=0)
    assert (tracks["genre"].value_counts() == 50).all()
    for genre in synth.GENRES:
        rows = tracks[tracks["genre"] == genre.name]
        assert rows["tempo"].between(*genre.tempo).all()
    assert set(tracks["time_signature"]) == {3, 4} and tracks["key"].between(0, 11).all()


# -- loudness ------------------------------------------------------------------------------


def test_loudness_of_a_full_scale_sine_is_minus_3_lufs():
    # BS.1770's calibration: a 0 dBFS 997 Hz sine reads -3.01 LUFS (coefficients exact at 48 kHz)
    t = np.arange(48000 * 3) / 48000
    assert integrated_loudness(np.sin(2 * np.pi * 997 * t), sr=48000) == pytest.approx(-3.01, abs=0.01)
    t = np.arange(SR * 3) / SR
    assert integrated_loudness(0.5 * np.sin(2 * np.pi * 997 * t), sr=SR) == pytest.approx(-9.03, abs=0.05)


def test_loudness_gates_silence():
    t = np.arange(SR * 6) / SR
    tone = np.sin(2 * np.pi * 997 * t)
    with_silence = np.concatenate([tone, np.zeros(SR * 12)])
    # the silent blocks fall below the absolute gate and do not count (only the three
    # blocks that straddle the end of the tone lower it a little); ungated it would be 4.8 LU lower
    assert integrated_loudness(with_silence, sr=SR) == pytest.approx(integrated_loudness(tone, sr=SR), abs=0.2)
    assert integrated_loudness(np.zeros(SR), sr=SR) == -np.inf


def test_stereo_loudness_sums_the_channels_as_bs1770_says():
    # two identical channels carry twice the power of one: +10 log10(2) = +3.01 LU, not the mono mix's 0
    t = np.arange(2 * 48000) / 48000
    tone = 0.5 * np.sin(2 * np.pi * 997 * t)
    mono = integrated_loudness(tone, sr=48000)
    assert integrated_loudness(np.stack([tone, tone]), sr=48000) == pytest.approx(mono + 3.01, abs=0.01)
    # a signal in one channel only, silence in the other: the same loudness as the channel alone
    assert integrated_loudness(np.stack([tone, 0 * tone]), sr=48000) == pytest.approx(mono, abs=1e-9)
    # opposite phases cancel in a mono mix but not in BS.1770's channel sum
    assert integrated_loudness(np.stack([tone, -tone]), sr=48000) == pytest.approx(mono + 3.01, abs=0.01)


def test_loudness_needs_the_sample_rate_and_full_scale_floats():
    t = np.arange(SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 997 * t)
    with pytest.raises(ValueError, match="sr is required"):
        integrated_loudness(tone)
    with pytest.raises(ValueError, match="integer PCM stored as floats"):
        integrated_loudness(tone * 32767.0, sr=SR)


class _Pitch:
    def __init__(self, midi):
        self.midi = midi


class _Note:
    def __init__(self, offset, length, *midi):
        self.offset, self.quarterLength, self.pitches = offset, length, [_Pitch(m) for m in midi]


class _Part:
    def __init__(self, *notes):
        self.notes = list(notes)

    def flatten(self):
        return self


class _Score:
    def __init__(self, *parts):
        self.parts = list(parts)


def test_notes_from_score_reads_a_score_by_hand():
    # two parts: C4 then a C-E chord; a bass C3 of two quarters. At 120 quarters a minute, a quarter is 0.5 s
    score = _Score(_Part(_Note(0.0, 1.0, 60), _Note(1.0, 1.0, 60, 64)), _Part(_Note(0.0, 2.0, 48)))
    notes = scores.notes_from_score(score, bpm=120.0)
    assert notes[["voice", "onset", "length", "midi"]].values.tolist() == [
        ["0.0", 0.0, 0.5, 60], ["0.0", 0.5, 0.5, 60], ["0.1", 0.5, 0.5, 64], ["1.0", 0.0, 1.0, 48]]
    assert len(scores.notes_from_score(score, bpm=120.0, max_seconds=0.5)) == 2  # notes starting before 0.5 s
    y = synth.render_notes(notes, sr=SR, loudness=-20.0)
    assert y.shape == (int(round((1.0 + 0.04) * SR)),)  # until the last note has faded
    assert integrated_loudness(y, sr=SR) == pytest.approx(-20.0, abs=LOUDNESS_TOLERANCE)
    with pytest.raises(ValueError, match="bpm"):
        scores.notes_from_score(score, bpm=0)
    with pytest.raises(ValueError, match="instrument"):
        synth.render_notes(notes, sr=SR, instrument="kazoo")


# -- traits and styles ----------------------------------------------------------------------


def test_traits_default_to_the_genre_and_are_checked():
    a = synth.check_track(_track(genre="folk"))
    assert (a["acousticness"], a["energy"], a["instrumentalness"]) == (0.8, 0.35, 1.0)
    with pytest.raises(ValueError, match="energy"):
        synth.render_track(dict(_track(), energy=1.5))
    with pytest.raises(ValueError, match="style"):
        synth.render_track(_track(), style="hard")


def test_energy_makes_a_busier_score():
    calm = synth.compose(dict(_track(genre="rock"), energy=0.1), style="easy")
    busy = synth.compose(dict(_track(genre="rock"), energy=0.95), style="easy")
    assert len(busy.notes) > 1.5 * len(calm.notes)
    assert "arpeggio" not in set(calm.notes["voice"]) and (calm.notes["voice"] == "chord").sum() < 20
    assert (busy.notes["voice"] == "hat").sum() > (calm.notes["voice"] == "hat").sum()


def test_acoustic_notes_decay_and_electric_ones_sustain():
    """The lead's envelope: a piano (acousticness 1) dies away, the genre's organ (0) holds, halfway is between."""
    one_second = SR
    electric = synth._timbre("organ", 0.0, 0.5, 10, SR)[1]
    acoustic = synth._timbre("organ", 1.0, 0.5, 10, SR)[1]
    half = synth._timbre("organ", 0.5, 0.5, 10, SR)[1]
    np.testing.assert_allclose(electric, synth._envelope("organ", SR), rtol=1e-6)
    attack, decay, sustain = synth._ENVELOPES["piano"]
    assert acoustic[one_second] == pytest.approx(sustain + (1 - sustain) * np.exp(-1.0 / decay), rel=1e-5)
    assert electric[one_second] > 0.75 > half[one_second] > 0.3 > acoustic[one_second]


def test_a_sung_melody_has_formants_and_vibrato():
    sung = dict(_track(genre="pop", tempo=80.0), instrumentalness=0.05, energy=0.2)
    played = dict(sung, instrumentalness=0.9)
    y_sung = synth.render_track(sung, style="easy")
    y_played = synth.render_track(played, style="easy")
    assert not np.array_equal(y_sung, y_played)
    # vibrato: the pitch of the sung melody wobbles, so its spectral peaks move from frame to frame
    def wobble(y):
        S = np.abs(librosa.stft(y, n_fft=4096, hop_length=512))
        band = S[(np.fft.rfftfreq(4096, 1 / SR) > 200) & (np.fft.rfftfreq(4096, 1 / SR) < 1200)]
        peaks = np.argmax(band, axis=0)
        return np.mean(np.abs(np.diff(peaks)) > 0)
    assert wobble(y_sung) > wobble(y_played)


def test_the_real_style_performs_the_easy_score():
    track = _track(genre="jazz", tempo=120.0, track_id=7)
    easy, real = synth.compose(track, style="easy"), synth.compose(track, style="real")
    # the same notes, in the same order of voices, played a little off the grid
    assert len(real.notes) == pytest.approx(len(easy.notes), abs=6)
    shift = np.abs(real.notes["onset"].to_numpy()[:20] - easy.notes["onset"].to_numpy()[:20])
    assert 0 < np.median(shift) < 0.1
    y_easy, y_real = synth.render_track(track, style="easy"), synth.render_track(track, style="real")
    assert integrated_loudness(y_real, sr=SR) == pytest.approx(-7.0, abs=LOUDNESS_TOLERANCE)
    # the room and the noise floor: no digital silence between the notes
    assert np.mean(y_real == 0) < np.mean(y_easy == 0) or np.mean(y_real == 0) < 0.01


def test_a_batch_renders_the_same_samples_as_one_clip_at_a_time(monkeypatch):
    tracks = synth.example_tracks(10, seed=3)  # every genre, sung and not
    rows = tracks.to_dict("records")
    one_by_one = np.stack([synth.render_track(row, duration=3.0) for row in rows])
    np.testing.assert_array_equal(synth._render_batch(rows, duration=3.0), one_by_one)
    monkeypatch.setattr(synth, "_ROOM_SAMPLES", 3 * 66150)  # the rooms three clips at a time (bounded memory)
    np.testing.assert_array_equal(synth._render_batch(rows, duration=3.0), one_by_one)
    np.testing.assert_array_equal(synth._render_batch(rows[:1], duration=3.0), one_by_one[:1])
