"""coursekit.mel's worker pool: spectrograms started ahead of time (prefetch) and joined later."""

import numpy as np
import pytest

from coursekit import mel, synth


@pytest.fixture
def tracks():
    return synth.example_tracks(150, seed=11)  # three batches of 64, 64 and 22


def test_prefetched_spectrograms_equal_the_plain_ones_and_are_joined(tracks, tmp_path, monkeypatch):
    plain = mel.mel_spectrograms(tracks, duration=1.0, cache=False)
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    pool = mel.prefetch_mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2)
    assert pool is not None and len(mel._BACKGROUND) == 1
    in_parent = []
    batch = mel._mel_batch
    monkeypatch.setattr(mel, "_mel_batch", lambda *job: in_parent.append(len(job[0])) or batch(*job))
    joined = mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2)
    np.testing.assert_array_equal(joined, plain)
    assert mel._BACKGROUND == {}, "the call joined the workers"
    assert sum(in_parent) < len(tracks), "the worker computed some batches"
    assert len(list((tmp_path / "mel").glob("*.npy"))) == len(tracks)  # and all went to the cache
    pool.close()  # nothing left to stop
    assert mel.prefetch_mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2) is None  # all cached


def test_some_rows_now_while_the_prefetch_renders_the_rest(tracks, tmp_path, monkeypatch):
    """The CNN's training clips first: they are ready while the worker goes on, then the rest are joined."""
    plain = mel.mel_spectrograms(tracks, duration=1.0, cache=False)
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    order = mel.render_order(len(tracks), 3)
    assert sorted(order) == list(range(len(tracks))) and not np.array_equal(order, np.arange(len(tracks)))
    pool = mel.prefetch_mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2, order=order)
    assert [i for b in pool.batches for i in b] == list(order), "the batches follow the order"
    first = np.sort(order[:70])  # the first batch of 64 rows and 6 of the second
    some = mel.some_mel_spectrograms(tracks, first, duration=1.0, cache_dir=tmp_path)
    np.testing.assert_array_equal(some, plain[first])
    assert pool.results[0] is not None and pool.results[1] is not None
    assert len(mel._BACKGROUND) == 1, "the prefetch goes on"
    joined = mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2)
    np.testing.assert_array_equal(joined, plain)
    assert mel._BACKGROUND == {}
    # without a prefetch: read from the cache (or computed), the same values
    np.testing.assert_array_equal(mel.some_mel_spectrograms(tracks, [5, 1], duration=1.0, cache_dir=tmp_path),
                                  plain[[5, 1]])
    with pytest.raises(ValueError, match="permutation"):
        mel.prefetch_mel_spectrograms(tracks, duration=2.0, cache_dir=tmp_path, n_jobs=2, order=[0, 0, 1])


def test_a_prefetch_nobody_joins_can_be_closed(tracks, tmp_path, monkeypatch):
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    assert mel.prefetch_mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=1) is None  # no workers
    pool = mel.prefetch_mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path, n_jobs=2)
    pool.close()
    assert mel._BACKGROUND == {}
    plain = mel.mel_spectrograms(tracks, duration=1.0, cache=False)
    np.testing.assert_array_equal(mel.mel_spectrograms(tracks, duration=1.0, cache_dir=tmp_path), plain)


def test_a_failing_worker_is_reported_with_its_error(tracks, monkeypatch):
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    monkeypatch.setattr(mel, "_WORKER", "import sys; sys.exit('the worker broke')")
    with pytest.raises(RuntimeError, match="(?s)spectrogram worker failed.*the worker broke"):
        mel.mel_spectrograms(tracks, duration=1.0, cache=False, n_jobs=3)


def test_an_error_in_this_process_stops_the_workers(tracks, monkeypatch):
    import threading

    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    before = threading.active_count()

    def broken(*job):
        raise KeyError("broken batch")

    monkeypatch.setattr(mel, "_mel_batch", broken)
    with pytest.raises(KeyError, match="broken batch"):
        mel.mel_spectrograms(tracks, duration=1.0, cache=False, n_jobs=2)
    assert threading.active_count() == before, "the feeding threads (and their workers) are done"


def test_training_stops_spectrogram_workers_it_did_not_use(monkeypatch):
    from coursekit import modelcache

    closed = []

    class Pool:
        def close(self):
            closed.append(True)

    def fake_audio_fn(world, *, progress=None, background=None, random_state=0):
        background.append(Pool())  # as prefetch_mel_spectrograms' pool
        return lambda item_factors, trained_mask: None

    def failing_fit(self, world, *, progress=None):
        raise ZeroDivisionError("the text step failed")

    monkeypatch.setattr(modelcache, "_audio_fn", fake_audio_fn)
    monkeypatch.setattr(modelcache.DiscoverWeekly, "fit", failing_fit)
    with pytest.raises(ZeroDivisionError):
        modelcache._fit(None, audio=True, say=lambda message: None)
    assert closed == [True]


def test_a_prefetch_of_other_clips_stops_when_the_wanted_ones_are_computed(tracks, tmp_path, monkeypatch):
    monkeypatch.setattr(mel, "_MIN_PARALLEL", 100)
    other = mel.prefetch_mel_spectrograms(tracks, duration=1.5, cache_dir=tmp_path, n_jobs=2)
    assert other is not None
    mel.mel_spectrograms(tracks.iloc[:10], duration=1.0, cache_dir=tmp_path)
    assert mel._BACKGROUND == {}, "the prefetch for 1.5 s clips was stopped"


def test_a_batch_in_parts_gives_the_same_spectrograms(tracks, monkeypatch):
    rows = tracks.iloc[:20].to_dict("records")
    whole = mel._mel_batch(rows, 1.0, mel.MEL_BANDS, mel.MEL_N_FFT, mel.MEL_HOP, [None] * 20)
    one = np.stack([mel.log_mel_spectrogram(synth.render_track(row, duration=1.0), synth.SR) for row in rows[:3]])
    np.testing.assert_array_equal(whole[:3], one.astype(np.float16))
    monkeypatch.setattr(mel, "_PART", 3)  # 7 parts, the last of 2
    np.testing.assert_array_equal(mel._mel_batch(rows, 1.0, mel.MEL_BANDS, mel.MEL_N_FFT, mel.MEL_HOP, [None] * 20),
                                  whole)
