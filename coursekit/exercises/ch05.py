"""Checkers for exercises 05 · Discover Weekly (mask heard songs, blend, artist cap, the mixtape).

The reference for the picks is :func:`coursekit.mixtape.select` (with no
new-release quota).
"""

from __future__ import annotations

import numpy as np

from coursekit.mixtape import select

from ._feedback import hidden_seed as _hidden_seed
from ._feedback import (ExerciseFeedback, as_matrix, call, check_shape, close, first_difference, match_mistakes,
                        passed)

__all__ = ["hidden_seed", "example_scores", "example_played", "random_case", "EXAMPLE_TRACK_ARTIST",
           "check_mask_heard", "check_blend",
           "check_pick_with_cap", "check_mixtape"]


def hidden_seed(*key) -> int:
    """A hidden test's seed, made from the instructor's grading secret (see :func:`._feedback.hidden_seed`)."""
    return _hidden_seed("05", *key)

#: Artist of each of the 10 tracks: artist 0 has four tracks, artist 1 three.
EXAMPLE_TRACK_ARTIST = (0, 0, 1, 0, 2, 1, 3, 0, 1, 4)


def example_scores() -> tuple[np.ndarray, np.ndarray]:
    """(cf, text): two models' scores for 3 users × 10 tracks, on very different scales."""
    rng = np.random.default_rng(18)
    cf = rng.normal(0.05, 0.2, size=(3, 10))    # x_uᵀy_i: around 0
    text = rng.uniform(0.3, 0.9, size=(3, 10))  # cosines of cultural vectors: around 0.6
    return cf, text


def example_played() -> np.ndarray:
    """Which of the 10 tracks each of the 3 users already played (bool, users × tracks)."""
    played = np.zeros((3, 10), dtype=bool)
    played[0, [0, 4]] = True
    played[1, [1, 2, 3]] = True
    played[2, [9]] = True
    return played


def random_case(*, seed: int, n_users: int = 5, n_tracks: int = 30, n_artists: int = 8):
    """(cf, text, played, track_artist) drawn at random, for the hidden tests."""
    rng = np.random.default_rng(seed)
    cf = rng.normal(0.0, 0.3, size=(n_users, n_tracks))
    text = rng.uniform(0.0, 1.0, size=(n_users, n_tracks))
    played = rng.random((n_users, n_tracks)) < 0.3
    return cf, text, played, rng.integers(0, n_artists, n_tracks)


def _zscores(S):
    S = np.asarray(S, dtype=float)
    return (S - S.mean(axis=1, keepdims=True)) / S.std(axis=1, keepdims=True)


def _masked(S, played):
    return np.where(played, -np.inf, S)


def _select(scores, track_artist, n, max_per_artist):
    return select(np.atleast_2d(scores), track_artist=np.asarray(track_artist), is_new=np.zeros(len(track_artist),
                  dtype=bool), n=n, max_per_artist=max_per_artist, new_share=0.0)


def check_mask_heard(mask_heard, *, scores=None, played=None):
    """Exercise 1: a copy of the scores with -inf where the user already played the track."""
    __tracebackhide__ = True
    S = example_scores()[0] if scores is None else np.asarray(scores, dtype=float)
    played = example_played() if played is None else np.asarray(played, dtype=bool)
    given = S.copy()
    got = call(mask_heard, given, played.copy(), name="mask_heard")
    if not np.array_equal(given, S) and got is given:
        raise ExerciseFeedback("you changed the scores you were given (in place): a later step still needs the "
                               "unmasked scores. Work on a copy: S = S.copy() (or np.where(...))")
    if got is None:
        raise ExerciseFeedback("`mask_heard` returned None: did you forget the `return` line?")
    M = np.asarray(got, dtype=float)
    check_shape(M, S.shape, name="mask_heard", rows="users", cols="tracks")
    expected = _masked(S, played)
    if np.array_equal(M, expected):
        if not np.array_equal(given, S):
            raise ExerciseFeedback("the result is right, but you also changed the scores you were given (in place); "
                                   "work on a copy: S = S.copy()")
        return passed(f"mask_heard is right: {int(played.sum())} played songs can no longer be picked.")
    if np.array_equal(M, np.where(played, 0.0, S)):
        raise ExerciseFeedback("played songs got score 0, but 0 can still beat a user's negative scores: use -np.inf, "
                               "which loses to every real score")
    if np.array_equal(M, np.where(played, np.nan, S), equal_nan=True):
        raise ExerciseFeedback("use -np.inf, not NaN: NaN does not sort below the other scores")
    if np.array_equal(M, np.where(~played, -np.inf, S)):
        raise ExerciseFeedback("you masked the songs the user has *not* played; mask the played ones")
    if np.array_equal(M, S):
        raise ExerciseFeedback("nothing was masked: set the scores of played songs to -np.inf")
    raise ExerciseFeedback("some scores are wrong: " + first_difference(np.nan_to_num(M, neginf=-1e9),
                                                                        np.nan_to_num(expected, neginf=-1e9),
                                                                        rows="user", cols="track"))


def check_blend(blend, *, cf=None, text=None, w=0.7):
    """Exercise 2: w · z(cf) + (1 − w) · z(text), z-scores taken per user (row)."""
    __tracebackhide__ = True
    if cf is None:
        cf, text = example_scores()
    cf, text = np.asarray(cf, dtype=float), np.asarray(text, dtype=float)
    got = call(blend, cf.copy(), text.copy(), w, name="blend")
    B = as_matrix(got, name="blend", shape=cf.shape, rows="users", cols="tracks")
    expected = w * _zscores(cf) + (1 - w) * _zscores(text)
    if close(B, expected):
        return passed("blend is right: each model's scores are z-scores per user before they are mixed.")

    def z_cols(S):
        return (S - S.mean(axis=0, keepdims=True)) / S.std(axis=0, keepdims=True)

    def z_ddof1(S):
        return (S - S.mean(axis=1, keepdims=True)) / S.std(axis=1, ddof=1, keepdims=True)

    def minmax(S):
        lo, hi = S.min(axis=1, keepdims=True), S.max(axis=1, keepdims=True)
        return (S - lo) / (hi - lo)

    match_mistakes(B, [
        (w * cf + (1 - w) * text, "scores not normalised: CF scores sit around 0 and text similarities around 0.6, "
                                  "so the raw mix is mostly decided by scale. Turn each model's scores into z-scores "
                                  "per user first: (S − mean) / std along axis=1"),
        (w * z_cols(cf) + (1 - w) * z_cols(text),
         "you normalised each *track* (axis=0, down the columns); normalise each *user's* row: axis=1, keepdims=True"),
        ((1 - w) * _zscores(cf) + w * _zscores(text), f"the weights are swapped: w = {w} goes with cf"),
        (w * z_ddof1(cf) + (1 - w) * z_ddof1(text), "use the population standard deviation, np.std (ddof=0); "
                                                    "pandas' .std() divides by n − 1"),
        (w * (cf - cf.mean(axis=1, keepdims=True)) + (1 - w) * (text - text.mean(axis=1, keepdims=True)),
         "you centred the scores but did not divide by their standard deviation"),
        (w * minmax(cf) + (1 - w) * minmax(text), "that is min-max scaling; this exercise asks for z-scores"),
    ])
    raise ExerciseFeedback("some blended scores are wrong: " + first_difference(B, expected, rows="user",
                                                                                cols="track"))


def _check_picks(ids, scores, track_artist, n, cap, *, name: str, user: str = ""):
    """Feedback on a wrong list of picks (1-D), against the greedy capped ranking."""
    __tracebackhide__ = True
    expected = _select(scores, track_artist, n, cap)[0]
    if np.array_equal(ids, expected):
        return
    artist = np.asarray(track_artist)
    picked = ids[ids >= 0]
    if picked.size and (picked.max() >= len(scores)):
        raise ExerciseFeedback(f"{user}track {picked.max()} does not exist (there are {len(scores)} tracks)")
    if np.isinf(scores[picked]).any():
        t = picked[np.isinf(scores[picked])][0]
        raise ExerciseFeedback(f"{user}you picked track {t}, whose score is -inf: it was already heard. Stop when only "
                               "-inf songs are left and pad with -1")
    if len(set(picked.tolist())) < len(picked):
        raise ExerciseFeedback(f"{user}a track appears twice in your list")
    if np.array_equal(ids, _select(scores, track_artist, n, n)[0]):
        raise ExerciseFeedback(f"{user}you ignored the artist cap: your list is simply the {n} best scores. Skip a "
                               f"track when its artist already has max_per_artist = {cap} song(s) in the list")
    counts = np.bincount(artist[picked], minlength=artist.max() + 1) if picked.size else np.zeros(1, int)
    if counts.max() > cap:
        a = int(np.argmax(counts))
        raise ExerciseFeedback(f"{user}artist {a} has {counts.max()} songs in your list but the cap is {cap}"
                               + (" — off by one: stop at the cap, count < max_per_artist before adding"
                                  if counts.max() == cap + 1 else ""))
    for other in (cap - 1,):
        if other >= 1 and np.array_equal(ids, _select(scores, track_artist, n, other)[0]):
            raise ExerciseFeedback(f"{user}you allowed only {other} song(s) per artist; the cap is {cap} "
                                   "(off by one: `<`, not `<=`, with the count before adding)")
    if np.array_equal(ids[ids >= 0], expected[expected >= 0]) is False and set(ids.tolist()) == set(
            expected.tolist()):
        raise ExerciseFeedback(f"{user}the right songs in the wrong order: best score first")
    raise ExerciseFeedback(f"{user}expected {expected.tolist()}, you picked {ids.tolist()}: go down the tracks in "
                           "order of score and take each one unless its artist already has max_per_artist songs")


def check_pick_with_cap(pick_with_cap, *, scores=None, track_artist=EXAMPLE_TRACK_ARTIST, n=5, max_per_artist=2):
    """Exercise 3: one user's n best tracks with at most ``max_per_artist`` per artist (-1 pads)."""
    __tracebackhide__ = True
    if scores is None:
        scores = _masked(example_scores()[0], example_played())[0]
    scores = np.asarray(scores, dtype=float)
    track_artist = np.asarray(track_artist)
    got = call(pick_with_cap, scores.copy(), track_artist.copy(), n, max_per_artist, name="pick_with_cap")
    if got is None:
        raise ExerciseFeedback("`pick_with_cap` returned None: did you forget the `return` line?")
    ids = np.asarray(got)
    if ids.ndim != 1:
        raise ExerciseFeedback(f"return a 1-D array of {n} track positions, got shape {ids.shape}")
    if len(ids) != n:
        raise ExerciseFeedback(f"return exactly n = {n} entries (pad with -1 if fewer songs are eligible), got "
                               f"{len(ids)}" + (" — off by one in n" if abs(len(ids) - n) == 1 else ""))
    if ids.dtype.kind not in "iu":
        raise ExerciseFeedback(f"return track positions (integers), got dtype {ids.dtype}")
    _check_picks(ids, scores, track_artist, n, max_per_artist, name="pick_with_cap")
    return passed(f"pick_with_cap is right: {ids.tolist()}.")


def check_mixtape(mixtape, *, cf=None, text=None, played=None, track_artist=EXAMPLE_TRACK_ARTIST, w=0.7, n=4,
                  max_per_artist=1):
    """Exercise 4: blend, mask what each user heard, pick n per user under the artist cap (users × n)."""
    __tracebackhide__ = True
    if cf is None:
        cf, text = example_scores()
    played = example_played() if played is None else np.asarray(played, dtype=bool)
    cf, text, track_artist = np.asarray(cf, float), np.asarray(text, float), np.asarray(track_artist)
    got = call(mixtape, cf.copy(), text.copy(), played.copy(), track_artist.copy(), w, n, max_per_artist,
               name="mixtape")
    if got is None:
        raise ExerciseFeedback("`mixtape` returned None: did you forget the `return` line?")
    ids = np.asarray(got)
    check_shape(ids, (len(cf), n), name="mixtape", rows="users", cols="picks")
    if ids.dtype.kind not in "iu":
        raise ExerciseFeedback(f"return track positions (integers), got dtype {ids.dtype}")
    blended = w * _zscores(cf) + (1 - w) * _zscores(text)
    scores = _masked(blended, played)
    expected = _select(scores, track_artist, n, max_per_artist)
    if np.array_equal(ids, expected):
        return passed(f"mixtape is right: {n} unheard songs per user, at most {max_per_artist} per artist.")
    heard = played[np.arange(len(ids))[:, None], np.clip(ids, 0, played.shape[1] - 1)] & (ids >= 0)
    if heard.any():
        u, j = np.argwhere(heard)[0]
        raise ExerciseFeedback(f"you forgot to exclude heard songs: user {u} already played track {ids[u, j]}")
    raw = _select(_masked(w * cf + (1 - w) * text, played), track_artist, n, max_per_artist)
    if np.array_equal(ids, raw):
        raise ExerciseFeedback("scores not normalised: blend z-scores (per user) of the two models, as in exercise 2, "
                               "not their raw scores")
    for u in range(len(ids)):
        _check_picks(ids[u], scores[u], track_artist, n, max_per_artist, name="mixtape", user=f"user {u}: ")
    raise ExerciseFeedback("some picks are wrong")  # pragma: no cover - _check_picks explains every difference
