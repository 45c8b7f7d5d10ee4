"""Tests of coursekit.loudness's mastering: the drive search on a stand-in, the true K-weighted check."""

import numpy as np
import pytest
from scipy.signal import sosfilt

from coursekit import loudness
from coursekit.loudness import integrated_loudness, master

MASTER_TOLERANCE = 0.05  # LU: master's promise, checked on the true (K-weighted, full) loudness
K_FILTER_TOLERANCE = 3e-5  # float32 block form (sums of 49 products) against float64 sosfilt, full scale = 1


def _mix(sr, seconds=3.0, seed=0):
    """A band-ish mix: a bass, a bright lead with harmonics, kicks every half second and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    bass = 0.6 * np.sin(2 * np.pi * 55 * t)
    lead = sum(0.3 / k * np.sin(2 * np.pi * 440 * k * t) for k in range(1, 12) if 440 * k < sr / 2)
    kicks = np.exp(-((t % 0.5) / 0.05)) * np.sin(2 * np.pi * 60 * t)
    return (bass + lead + kicks + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("sr", [22050, 48000])
def test_the_block_form_filters_as_sosfilt(sr):
    x = _mix(sr, seconds=1.3) / 3  # not a whole number of blocks
    expected = sosfilt(loudness._k_weighting(sr), x.astype(np.float64))
    np.testing.assert_allclose(loudness._k_filter(x, sr), expected, atol=K_FILTER_TOLERANCE)
    assert loudness._k_loudness(x, sr) == pytest.approx(integrated_loudness(x, sr=sr), abs=1e-3)


def test_a_quiet_target_is_a_plain_gain():
    sr = 48000
    tone = np.sin(2 * np.pi * 997 * np.arange(2 * sr) / sr).astype(np.float32)  # -3.01 LUFS at full scale
    y = master(tone, -20.0, sr)
    assert np.abs(y).max() == pytest.approx(10 ** ((-20.0 + 3.01) / 20), rel=2e-3)  # -16.99 dB: a gain, no clipping
    assert integrated_loudness(y, sr=sr) == pytest.approx(-20.0, abs=MASTER_TOLERANCE)


@pytest.mark.parametrize("target", [-14.0, -9.0, -6.0, -3.0])  # from just above the mix's level to far above
@pytest.mark.parametrize("sr", [22050, 16000])
def test_a_loud_target_is_reached_by_the_limiter(target, sr):
    mix = _mix(sr)
    peak_normalised = integrated_loudness(mix / np.abs(mix).max(), sr=sr)
    assert peak_normalised < target  # the limiter's case
    y = master(mix, target, sr)
    assert integrated_loudness(y, sr=sr) == pytest.approx(target, abs=MASTER_TOLERANCE)
    assert np.abs(y).max() <= 1.0 and y.dtype == np.float32


def test_a_lone_click_is_mastered_without_nan():
    y = np.zeros(3 * 22050, dtype=np.float32)
    y[1001] = 0.5  # between the samples the stand-in reads
    out = master(y, -60.0, 22050)
    assert np.isfinite(out).all()
    assert integrated_loudness(out, sr=22050) == pytest.approx(-60.0, abs=MASTER_TOLERANCE)
