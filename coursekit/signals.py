"""The three models' signals: what each says about a (user, track) pair (chapter 05).

One job: turn the trained models into per-pair evidence the blend
(:mod:`coursekit.blend`) combines. :func:`profiles` summarises each user
(their artists' cultural vectors, their usual tempo, mode and loudness) and
each track (popularity, cold, new); :func:`signals` scores a batch of users
against every track with each of :data:`SIGNALS` — collaborative filtering,
the artist's CF vector, cultural similarity from web text, the audio CNN's
vector and closeness of sound — all vectorised as users × tracks arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .text import CulturalVectors

__all__ = ["SIGNALS", "MODELS", "SIGNAL_GROUPS", "MODEL_GROUPS", "ArtistCulture", "Profiles", "profiles", "signals"]


#: The signals the blend combines, in order. ``cf`` collaborative filtering
#: (x_u·y_i + biases), ``artist`` the user's CF vector against the mean CF
#: vector of the artist's known songs (how CF can speak for an artist's brand-new
#: song), ``text`` cultural similarity of the track's artist to the user's
#: artists, ``audio`` the user's vector against the audio-predicted track vector,
#: ``sound`` closeness to the user's usual tempo, mode and loudness,
#: ``popularity`` log(1 + listeners per week out), ``artist_popularity``
#: log(1 + the artist's listeners per known song), ``cold`` 1 for tracks with
#: too few listeners for CF, ``new`` 1 for tracks released during the observed weeks.
SIGNALS = ("cf", "artist", "text", "audio", "sound", "popularity", "artist_popularity", "cold", "new")
#: Models a pick's reason can come from.
MODELS = ("cf", "text", "audio")
#: The blend's features grouped by the signal they come from (with their cold-track interactions), for
#: showing where a score comes from: ``popularity`` holds the track-only signals (popularity, cold, new).
SIGNAL_GROUPS = {"cf": ("cf",),
                 "artist": ("artist", "cold×artist", "artist_popularity", "cold×artist_popularity"),
                 "text": ("text", "cold×text"),
                 "audio": ("audio", "cold×audio"),
                 "sound": ("sound", "cold×sound"),
                 "popularity": ("popularity", "cold", "new", "cold×new")}
#: The groups each model of :data:`MODELS` speaks for in a reason.
MODEL_GROUPS = {"cf": ("cf", "artist"), "text": ("text",), "audio": ("audio", "sound")}


@dataclass
class ArtistCulture:
    """What the mixtape keeps of the cultural vectors (chapter 03): each documented artist's vector and words.

    Attributes
    ----------
    artist_ids_ : numpy.ndarray of int
        The documented artists' ``artist_id``.
    vectors_ : scipy.sparse.csr_matrix
        Their unit-length cultural vectors (rows as ``artist_ids_``).
    adjectives_ : list of str
        Each artist's two top adjectives ("stormy and sparse"), for the reasons.
    """

    artist_ids_: np.ndarray
    vectors_: sp.csr_matrix
    adjectives_: list

    @classmethod
    def from_vectors(cls, culture: CulturalVectors) -> "ArtistCulture":
        """Keep the vectors and the two top adjectives of every artist of fitted ``culture``."""
        adjectives = [" and ".join(culture.top_terms(int(a), term_type="adj", n=2)["term"]) or "the same words"
                      for a in culture.artist_ids_]
        return cls(np.asarray(culture.artist_ids_), sp.csr_matrix(culture.vectors_), adjectives)


@dataclass
class Profiles:
    """What the signals need about users and tracks, from one training log.

    Built by :func:`profiles`; all arrays are in ``users``/``tracks`` table order.
    """

    artist_of_track: np.ndarray      # artist position of each track
    user_artists: object             # users × artists CSR, each row sums to 1 (share of r_ui)
    artist_similarity: np.ndarray    # artists × artists cultural cosine (0 where no text)
    documented: np.ndarray           # artists with a cultural vector
    sound: np.ndarray                # tracks × 3 standardised (tempo, mode, loudness)
    user_sound: np.ndarray           # users × 3 mean sound of what they play
    listeners: np.ndarray            # training listeners per track
    cold: np.ndarray                 # tracks with fewer than ``cold_listeners`` listeners
    artist_factors: np.ndarray       # artists × f mean CF vector of the artist's known tracks (0 if none)
    artist_listeners: np.ndarray     # artists: mean training listeners per known track
    new: np.ndarray                  # new releases: released during the observed weeks (or the week ahead)
    weeks_out: np.ndarray            # training weeks each track has been out (at least 1)


#: Artists per block of the cultural similarity (:func:`profiles`).
_SIM_ROWS = 512


def profiles(world, strength, culture, item_factors=None, *, week: int | None = None,
             cold_listeners: int = 5) -> Profiles:
    """Summaries of a training log for the signals.

    Parameters
    ----------
    world : coursekit.world.World
        For the tracks' artists and audio attributes.
    strength : scipy.sparse.csr_matrix
        r_ui of the training weeks (users × tracks, table order).
    culture : ArtistCulture or coursekit.text.CulturalVectors or None
        Cultural vectors (``artist_ids_`` and ``vectors_``); ``None`` leaves the text signal at 0.
    item_factors : numpy.ndarray, optional
        The CF model's track vectors, for each artist's mean vector over its
        known (not cold) tracks; zeros without them.
    week : int, optional
        The week the mixtapes are for (training covers weeks ``0 .. week - 1``);
        default ``world.n_weeks``. A track's popularity is its listeners per
        week it has been out, so a two-week-old release is not judged against
        songs that had every week.
    cold_listeners : int
        A track with fewer training listeners than this is "cold": CF cannot rank it.
    """
    tracks, artists = world.tracks, world.artists
    artist_pos = pd.Index(artists["artist_id"]).get_indexer(tracks["artist_id"])
    n_artists = len(artists)
    to_artist = sp.csr_matrix((np.ones(len(tracks)), (np.arange(len(tracks)), artist_pos)),
                              shape=(len(tracks), n_artists))
    # the passing copies first (a boolean copy of ``strength``, then ``ua`` twice), the similarity last
    listeners = np.asarray((strength > 0).sum(axis=0)).ravel()
    ua = (strength @ to_artist).tocsr()
    totals = np.asarray(ua.sum(axis=1)).ravel()
    ua = sp.diags(1.0 / np.maximum(totals, 1e-12)) @ ua
    sim = np.zeros((n_artists, n_artists))
    documented = np.zeros(n_artists, bool)
    if culture is not None:
        pos = pd.Index(artists["artist_id"]).get_indexer(culture.artist_ids_)
        V = sp.csr_matrix(culture.vectors_)
        VT = V.T.tocsr()
        # a block of rows at a time: V Vᵀ is nearly dense, and as one sparse product it would take
        # 1.5× the dense matrix on top of it (the large world's 8,000 artists: 0.8 GB); each row is
        # computed as in the whole product, so the values are the same
        for start in range(0, len(pos), _SIM_ROWS):
            rows = slice(start, start + _SIM_ROWS)
            sim[np.ix_(pos[rows], pos)] = (V[rows] @ VT).toarray()
        documented[pos] = True
    np.fill_diagonal(sim, 0.0)  # "like an artist you play" means another artist
    raw = np.column_stack([tracks["tempo"], tracks["mode"], tracks["loudness"]]).astype(float)
    sound = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    user_sound = _user_mean(strength, sound)
    cold = listeners < cold_listeners
    known = sp.diags((~cold).astype(float)) @ to_artist          # tracks × artists, known tracks only
    n_known = np.asarray(known.sum(axis=0)).ravel()
    artist_listeners = (known.T @ listeners) / np.maximum(n_known, 1)
    f = 1 if item_factors is None else item_factors.shape[1]
    artist_factors = np.zeros((n_artists, f)) if item_factors is None else \
        (known.T @ np.asarray(item_factors, float)) / np.maximum(n_known, 1)[:, None]
    week = world.n_weeks if week is None else week
    release = tracks["release_week"].to_numpy()
    weeks_out = np.clip(week - np.maximum(release, 0), 1, max(week, 1))
    return Profiles(artist_pos, ua, sim, documented, sound, user_sound, listeners, cold,
                    artist_factors, artist_listeners, release >= 1, weeks_out)


def _user_mean(strength, values):
    """Each user's r-weighted mean of per-track ``values`` (tracks × d)."""
    totals = np.asarray(strength.sum(axis=1)).ravel()
    return (strength @ values) / np.maximum(totals, 1e-12)[:, None]


def signals(users, *, cf_model, profile: Profiles, audio_vectors=None, only=None) -> dict:
    """Every signal for a batch of users against every track, as users × tracks arrays.

    Signals that depend on the track alone (popularity, artist popularity, the
    cold and new flags) are read-only broadcast views of one row, not copies.

    Parameters
    ----------
    users : array of int
        User positions.
    cf_model : fitted ALS-like model
        ``predict(users)`` and ``user_factors_``.
    profile : Profiles
    audio_vectors : numpy.ndarray, optional
        Tracks × factors item vectors predicted from audio (in the CF model's
        space); the audio signal is 0 without them.
    only : iterable of str, optional
        Compute just these signals (default: all of :data:`SIGNALS`).
    """
    users = np.asarray(users)
    p = profile
    want = set(SIGNALS if only is None else only)
    unknown = want - set(SIGNALS)
    if unknown:
        raise ValueError(f"unknown signals {sorted(unknown)}; the signals are {SIGNALS}")
    shape = (len(users), len(p.artist_of_track))
    out = {}
    if "cf" in want:
        out["cf"] = np.asarray(cf_model.predict(users), dtype=float)
    if "artist" in want:
        if p.artist_factors.shape[1] == cf_model.user_factors_.shape[1]:
            out["artist"] = (cf_model.user_factors_[users] @ p.artist_factors.T)[:, p.artist_of_track]
        else:
            out["artist"] = np.zeros(shape)
    if "text" in want:
        text_by_artist = np.asarray(p.user_artists[users] @ p.artist_similarity)
        out["text"] = text_by_artist[:, p.artist_of_track]
    if "audio" in want:
        if audio_vectors is not None:
            x = cf_model.user_factors_[users]
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            out["audio"] = x @ audio_vectors.T
        else:
            out["audio"] = np.zeros(shape)
    if "sound" in want:
        # −‖s_u − s_i‖ through ‖s_u‖² + ‖s_i‖² − 2 s_u·s_i: one matrix product, no users × tracks × 3 array
        u = p.user_sound[users]
        d2 = (u ** 2).sum(axis=1)[:, None] + (p.sound ** 2).sum(axis=1)[None, :] - 2.0 * (u @ p.sound.T)
        out["sound"] = -np.sqrt(np.maximum(d2, 0.0))
    per_track = {
        "popularity": lambda: np.log1p(p.listeners / p.weeks_out),
        "artist_popularity": lambda: np.log1p(p.artist_listeners)[p.artist_of_track],
        "cold": lambda: p.cold.astype(float),
        "new": lambda: p.new.astype(float),
    }
    for name, row in per_track.items():
        if name in want:
            out[name] = np.broadcast_to(row(), shape)
    return out
