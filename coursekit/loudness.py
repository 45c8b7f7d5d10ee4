"""Loudness as the lecture's attribute: integrated loudness in LUFS (ITU-R BS.1770-4), and mastering to it.

One job: measure and set how loud a clip is. :func:`integrated_loudness`
K-weights the signal (a high shelf for the head, a high pass), measures the
power of 400 ms blocks and gates them (absolute gate at −70 LUFS, relative
gate at −10 LU), as BS.1770-4 prescribes; :func:`master` brings a mix to a
target loudness, with a soft limiter for loud targets. The synthesiser
(:mod:`coursekit.synth`) masters its clips with it and the analyser
(:mod:`coursekit.audio`) reports it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["integrated_loudness", "master"]


@lru_cache(maxsize=8)
def _k_weighting(sr: int) -> np.ndarray:
    """The K-weighting filter of BS.1770 as second-order sections at ``sr`` Hz.

    A high shelf (+4 dB above about 1.7 kHz: the head) and a high pass (about
    38 Hz), computed from their analogue prototypes as libebur128 does, so that
    at 48 kHz they match the standard's coefficients and any other rate works.
    """
    f0, G, Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    K = np.tan(np.pi * f0 / sr)
    Vh = 10 ** (G / 20)
    Vb = Vh**0.4996667741545416
    a0 = 1 + K / Q + K * K
    shelf = [(Vh + Vb * K / Q + K * K) / a0, 2 * (K * K - Vh) / a0, (Vh - Vb * K / Q + K * K) / a0,
             1.0, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0]
    f0, Q = 38.13547087602444, 0.5003270373238773
    K = np.tan(np.pi * f0 / sr)
    a0 = 1 + K / Q + K * K
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0]
    return np.array([shelf, high_pass])


def _block_powers(y: np.ndarray, sr: int, *, k_weighted: bool = True) -> np.ndarray:
    """Mean square of the (K-weighted) signal in 400 ms blocks overlapping by 75 %."""
    from scipy.signal import sosfilt

    z = np.asarray(y, dtype=np.float64)
    if k_weighted:
        z = sosfilt(_k_weighting(sr), z)
    step = int(round(0.1 * sr))  # a block is 4 steps of 100 ms
    if z.size < 4 * step:  # shorter than one block: the whole clip is the block
        return np.array([np.mean(z**2)])
    steps = np.einsum("ij,ij->i", *(2 * [z[: z.size // step * step].reshape(-1, step)]))
    return np.convolve(steps, np.ones(4), mode="valid") / (4 * step)


def _gated_loudness(z: np.ndarray) -> float:
    """BS.1770 gating of block mean squares: absolute -70 LUFS, then relative -10 LU."""
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(z)
    kept = z[levels > -70.0]
    if kept.size == 0:
        return float("-inf")
    relative_gate = -0.691 + 10 * np.log10(kept.mean()) - 10.0
    kept = z[levels > max(relative_gate, -70.0)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def integrated_loudness(y: np.ndarray, *, sr: int | None = None) -> float:
    """Integrated loudness of a mono or multichannel signal, LUFS (ITU-R BS.1770-4).

    Each channel is K-weighted and its mean square taken in 400 ms blocks
    that overlap by 75 %; the channels' block powers are *summed* (weight 1
    for every channel, as for left, right and centre; surround weights are
    not applied), so a stereo signal is measured as the standard says, not
    mixed to mono first. Blocks quieter than -70 LUFS are dropped (absolute
    gate), then blocks more than 10 LU below the mean of the rest (relative
    gate); the loudness is ``-0.691 + 10 log10(mean power of the kept
    blocks)``. A full-scale 1 kHz sine measures about -3 LUFS in one channel,
    0 LUFS in two. A clip shorter than 400 ms is measured as one block.

    Parameters
    ----------
    y : ndarray, shape (samples,) or (channels, samples)
        The signal, full scale = 1.
    sr : int
        Sample rate, Hz. Required: the K-weighting filter depends on it.

    Returns
    -------
    float
        Loudness units relative to full scale (LUFS, i.e. dB); ``-inf`` when
        every block is below the absolute gate (silence).

    Raises
    ------
    ValueError
        If ``sr`` is missing, or ``y`` looks like integer PCM stored as floats
        (a peak above 8, e.g. values up to 32767): divide it by 32768 first.

    Examples
    --------
    >>> from coursekit.synth import SR
    >>> t = np.arange(SR * 2) / SR
    >>> tone = np.sin(2 * np.pi * 1000 * t)
    >>> round(integrated_loudness(tone, sr=SR), 1), round(integrated_loudness(np.stack([tone, tone]), sr=SR), 1)
    (-3.0, 0.0)
    """
    if sr is None:
        raise ValueError("sr is required: give the sample rate of y in Hz (coursekit.synth.SR = 22050 "
                         "for the world's clips), e.g. integrated_loudness(y, sr=sr)")
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.size and float(np.max(np.abs(y))) > 8.0:
        raise ValueError(f"y peaks at {float(np.max(np.abs(y))):.0f}, far above full scale (1.0): it looks like "
                         f"integer PCM stored as floats; divide it by 32768 (16-bit) first")
    if y.ndim == 2:  # (channels, samples): BS.1770 sums the channels' mean squares
        return _gated_loudness(sum(_block_powers(channel, sr) for channel in y))
    return _gated_loudness(_block_powers(y, sr))


#: The drive search reads every ``_SEARCH_STRIDE``-th sample: its unweighted loudness is off by
#: hundredths of an LU, and the true, full measurement corrects it.
_SEARCH_STRIDE = 4
#: K-weighting raises a block's power by at most its shelf's +4 dB: a target this far above the
#: unweighted loudness of the peak-normalised mix surely needs the limiter.
_SURELY_LIMITED = 6.0


#: Samples a block of the K-weighting's block form (:func:`_k_blocks`); 2205 (100 ms at 22050 Hz) is 45 of them.
_K_BLOCK = 49


@lru_cache(maxsize=8)
def _k_blocks(sr: int) -> tuple:
    """The K-weighting filter in block form: a block's output is a matrix product, the state passes between blocks.

    With ``x`` and ``y`` a block of ``L = _K_BLOCK`` samples in and out and
    ``s`` the filter's state (4 numbers) at the block's start,
    ``y = T x + G s`` and the next block starts in the state
    ``Phi s + Psi x``: ``T`` holds the impulse response (lower triangular
    Toeplitz), ``G`` the response to each state, ``Phi`` and ``Psi`` the
    state after ``L`` samples. Each is read off the filter (run on unit
    impulses and unit states), and ``Phi``'s powers ``Phi^d`` for d = 1, 2,
    4, ... until they vanish (its poles are inside the unit circle) serve the
    scan that propagates the states. Returns ``(T', Psi', G', [(d, Phi^d')])``,
    transposed for row-vector products, ``T'`` float32.
    """
    from scipy.signal import lfilter, sos2tf

    b, a = sos2tf(_k_weighting(sr))
    impulse = np.eye(_K_BLOCK)[0]
    h = lfilter(b, a, impulse)
    T = np.array([np.concatenate([np.zeros(j), h[: _K_BLOCK - j]]) for j in range(_K_BLOCK)]).T
    G, Phi = np.zeros((_K_BLOCK, 4)), np.zeros((4, 4))
    for m, state in enumerate(np.eye(4)):
        G[:, m], Phi[:, m] = lfilter(b, a, np.zeros(_K_BLOCK), zi=state)
    Psi = np.stack([lfilter(b, a, x, zi=np.zeros(4))[1] for x in np.eye(_K_BLOCK)], axis=1)
    powers, P, d = [], Phi, 1
    while np.abs(P).max() > 1e-18:
        powers.append((d, np.ascontiguousarray(P.T)))
        P, d = P @ P, 2 * d
    return np.ascontiguousarray(T.T, dtype=np.float32), np.ascontiguousarray(Psi.T), np.ascontiguousarray(G.T), powers


def _k_filter(x: np.ndarray, sr: int) -> np.ndarray:
    """K-weight a mono float32 signal a block at a time (:func:`_k_blocks`): what ``sosfilt`` gives, float32.

    Twice the speed of ``sosfilt``: the work is three matrix products and a
    scan of the block states (``s[k] += Phi^d s[k - d]`` for d = 1, 2, 4, ...)
    instead of a loop over every sample.
    """
    T, Psi, G, powers = _k_blocks(sr)
    blocks = np.zeros((-(-x.size // _K_BLOCK), _K_BLOCK), dtype=np.float32)
    blocks.reshape(-1)[: x.size] = x
    with _blas_threads().limit(limits=1, user_api="blas"):  # small products: more threads only wait for each other
        y = blocks @ T  # each block's response from rest
        states = np.zeros((blocks.shape[0], 4))
        states[1:] = blocks[:-1].astype(np.float64) @ Psi  # the state each block leaves, from rest (float64:
        # the direct form's states are large and cancel)
        for d, Phi_d in powers:  # s[k] = sum over j of Phi^j (state left by block k - 1 - j)
            states[d:] = states[d:] + states[:-d] @ Phi_d
        y += (states @ G).astype(np.float32)
    return y.reshape(-1)[: x.size]


@lru_cache(maxsize=1)
def _blas_threads():
    """The process's BLAS thread pools (found once: looking them up takes a millisecond, limiting them microseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _k_loudness(z: np.ndarray, sr: int) -> float:
    """The true loudness of a mono float signal, K-weighted in float32 (within 0.001 LU of :func:`integrated_loudness`)."""
    return _gated_loudness(_block_powers(_k_filter(np.asarray(z, dtype=np.float32), sr), sr, k_weighted=False))


def _search_samples(y: np.ndarray, sr: int, stride: int = _SEARCH_STRIDE) -> np.ndarray:
    """Every ``stride``-th sample of each 100 ms step, shape (steps, samples); one row if shorter than a block."""
    step = int(round(0.1 * sr))
    if y.size < 4 * step:
        return y[None, ::stride]
    return np.ascontiguousarray(y[: y.size // step * step].reshape(-1, step)[:, ::stride])


def _search_loudness(rows: np.ndarray) -> float:
    """Gated loudness without K-weighting of :func:`_search_samples`' rows (a 400 ms block is 4 rows)."""
    steps = np.einsum("ij,ij->i", rows, rows).astype(np.float64) / rows.shape[1]
    return _gated_loudness(steps if rows.shape[0] < 4 else np.convolve(steps, np.ones(4), mode="valid") / 4)


def master(y: np.ndarray, target: float, sr: int) -> np.ndarray:
    """Bring a mix to ``target`` LUFS without exceeding full scale.

    Quieter targets are a plain gain. Louder ones need a limiter, as in a real
    master: a tanh soft clipper, ``tanh(drive * y)``, whose drive is raised
    until the loudness is within 0.05 LU of the target. The drive is searched
    (secant steps against log drive) on a cheap stand-in: the loudness
    without K-weighting, which needs no filtering, of every 4th sample,
    shifted by the K-weighting's effect as last measured; the true loudness
    (K-weighted, every sample) is then measured and the shift updated, until
    the true loudness is within the tolerance. A target beyond what a
    hard-driven clip reaches gives the loudest it reaches.
    """
    y = y / max(y.max(), -y.min())  # the peak at full scale
    rows = _search_samples(y, sr)
    flat = _search_loudness(rows)
    if not np.isfinite(flat):  # the samples read missed what sounds (a lone click): read them all
        rows = _search_samples(y, sr, 1)
        flat = _search_loudness(rows)
    if target > flat + _SURELY_LIMITED:  # the limiter for sure: no need to measure the mix itself
        level, shift = flat, 0.0  # the K-weighting's effect is first measured at the first drive tried
    else:
        level = _k_loudness(y, sr)
        if target <= level:
            return (y * 10 ** ((target - level) / 20)).astype(np.float32, copy=False)
        shift = level - flat
    x = (target - level) / 20  # log10 of the drive; drive 1 leaves the peaks at full scale
    for _ in range(4):
        # secant search on the stand-in loudness + shift: points (log10 drive, loudness)
        x0, l0 = 0.0, level
        for _ in range(12):
            flat = _search_loudness(np.tanh(10**x * rows))
            l1 = flat + shift
            if abs(l1 - target) < 0.02 or x >= 3.0:
                break
            slope = (l1 - l0) / (x - x0) if l1 > l0 and x != x0 else 20.0
            x0, l0, x = x, l1, min(x + (target - l1) / max(slope, 0.5), 3.0)
        out = np.tanh(10**x * y)
        level_out = _k_loudness(out, sr)
        if abs(level_out - target) < 0.05 or x >= 3.0:
            break
        shift = level_out - flat
    return out.astype(np.float32, copy=False)
