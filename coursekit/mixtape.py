"""The Discover Weekly mixtape: 30 unheard songs, with a reason for each.

Three models score every (user, unheard track) pair — collaborative filtering,
cultural vectors from web text, and audio (CNN-predicted vectors and closeness
to the user's usual tempo, mode and loudness). A blend learned on a validation
week combines them (:class:`Blend`), and :func:`select` turns blended scores into
mixtapes that follow the rules of a good one:

* exactly ``n`` (30) songs the user has never played, all released;
* at most ``max_per_artist`` (2) songs by one artist;
* a reserved share of **new releases** (``new_share``, default 1/6: 5 of 30) —
  tracks with too few listens for collaborative filtering to rank, found by the
  audio and text models;
* ordered for listening: the songs climb in tempo and then come back down, so
  neighbouring songs are never far apart in tempo.

All of it is vectorised over users: a batch of users is one matrix of scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["select", "listening_order"]


def select(scores: np.ndarray, *, track_artist: np.ndarray, is_new: np.ndarray, n: int = 30,
           max_per_artist: int = 2, new_share: float = 1 / 6, pool: int = 300) -> np.ndarray:
    """Pick each user's mixtape from blended scores.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_users, n_tracks)
        Blended scores; tracks that must not be picked (already played, not
        released) are ``-inf``.
    track_artist : numpy.ndarray of int, shape (n_tracks,)
        Artist of each track (any integer code).
    is_new : numpy.ndarray of bool, shape (n_tracks,)
        New releases, for the reserved share.
    n : int
        Songs per mixtape.
    max_per_artist : int
        Artist cap.
    new_share : float
        Share of the ``n`` slots reserved for new releases (filled with other
        songs when a user has too few eligible new releases).
    pool : int
        Best candidates per user considered (the cap and the reservation only
        ever need the top few hundred).

    Returns
    -------
    numpy.ndarray of int, shape (n_users, n)
        Track positions, best first; ``-1`` pads the rare mixtape that has fewer
        than ``n`` eligible songs.
    """
    scores = np.asarray(scores, dtype=float)
    n_users, n_tracks = scores.shape
    if len(track_artist) != n_tracks or len(is_new) != n_tracks:
        raise ValueError(f"track_artist and is_new need one entry per track ({n_tracks}), "
                         f"got {len(track_artist)} and {len(is_new)}")
    if not 0 <= new_share <= 1:
        raise ValueError(f"new_share must be between 0 and 1, got {new_share}")
    n_new = int(round(n * new_share))
    out = np.full((n_users, n), -1, dtype=np.int64)
    if n_users == 0:
        return out
    pool = min(max(pool, 4 * n), n_tracks)
    is_new = np.asarray(is_new, bool)
    # best `pool` candidates overall and best `pool` new releases, per user
    cand = _top(scores, pool)
    new_scores = np.where(is_new[None, :], scores, -np.inf)
    cand_new = _top(new_scores, min(pool, max(1, int(is_new.sum()))))

    def capped(c):
        """Candidates in score order with the artist cap applied (-1 where dropped)."""
        s = np.take_along_axis(scores, np.maximum(c, 0), axis=1)
        s[c < 0] = -np.inf
        order = np.argsort(-s, axis=1, kind="stable")
        c, s = np.take_along_axis(c, order, axis=1), np.take_along_axis(s, order, axis=1)
        artist = np.where(c >= 0, track_artist[np.maximum(c, 0)], -1)
        seen = _rank_within(artist)  # how many earlier picks share the artist
        keep = (seen < max_per_artist) & np.isfinite(s)
        return np.where(keep, c, -1), np.where(keep, s, -np.inf)

    new_c, _ = capped(cand_new)
    new_pick = _first_valid(new_c, n_new)
    # the rest: best capped candidates, counting the artists already used by the new picks
    combined = np.concatenate([new_pick, cand], axis=1)
    artist = np.where(combined >= 0, track_artist[np.maximum(combined, 0)], -1)
    dup = _duplicates(combined)
    seen = _rank_within(np.where(dup, -2, artist))
    ok = (combined >= 0) & ~dup & (seen < max_per_artist)
    ok[:, :n_new] &= new_pick >= 0
    s_comb = np.take_along_axis(scores, np.maximum(combined, 0), axis=1)
    ok &= np.isfinite(s_comb)
    chosen = _first_valid(np.where(ok, combined, -1), n)
    # best first: order by score
    s = np.take_along_axis(scores, np.maximum(chosen, 0), axis=1)
    s[chosen < 0] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def listening_order(mixtapes: np.ndarray, tempo: np.ndarray) -> np.ndarray:
    """Reorder each mixtape to climb in tempo and come back down (an arc).

    Songs at even ranks of the tempo order go up, the others come down, so
    consecutive songs differ by at most two tempo steps.
    """
    mixtapes = np.asarray(mixtapes)
    t = np.where(mixtapes >= 0, np.asarray(tempo, float)[np.maximum(mixtapes, 0)], np.inf)
    by_tempo = np.take_along_axis(mixtapes, np.argsort(t, axis=1, kind="stable"), axis=1)
    up, down = by_tempo[:, 0::2], by_tempo[:, 1::2][:, ::-1]
    arc = np.concatenate([up, down], axis=1)
    # keep padding (-1) at the end
    pad = arc < 0
    return np.take_along_axis(arc, np.argsort(pad, axis=1, kind="stable"), axis=1)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(scores, top, axis=1)
    top = np.take_along_axis(top, np.argsort(-s, axis=1, kind="stable"), axis=1)
    top[~np.isfinite(np.take_along_axis(scores, top, axis=1))] = -1
    return top


def _rank_within(keys: np.ndarray) -> np.ndarray:
    """For each cell, how many cells to its left in the same row hold the same key (keys < 0 never match)."""
    n_rows, width = keys.shape
    order = np.argsort(keys, axis=1, kind="stable")  # stable: left-to-right within a key
    sk = np.take_along_axis(keys, order, axis=1)
    start = np.ones_like(sk, dtype=bool)
    start[:, 1:] = sk[:, 1:] != sk[:, :-1]
    idx = np.broadcast_to(np.arange(width), sk.shape)
    run_start = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
    rank_sorted = idx - run_start
    rank_sorted[sk < 0] = 0
    rank = np.empty_like(rank_sorted)
    np.put_along_axis(rank, order, rank_sorted, axis=1)
    return rank


def _duplicates(items: np.ndarray) -> np.ndarray:
    """True where a track already appeared to the left in the same row."""
    return (_rank_within(items) > 0) & (items >= 0)


def _first_valid(items: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` non-negative entries of each row, in order, padded with -1."""
    valid = items >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    packed = np.take_along_axis(items, order, axis=1)[:, :k]
    if packed.shape[1] < k:
        packed = np.concatenate([packed, np.full((len(items), k - packed.shape[1]), -1)], axis=1)
    return packed
