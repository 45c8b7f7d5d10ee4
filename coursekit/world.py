"""The music world: a generated streaming service with a known truth.

No real listening logs, blog corpora or audio catalogues can be downloaded on an
offline machine, so the course generates a world from one seed:

* a latent **taste space** of ``n_factors`` dimensions; each genre is a region of
  it (a centroid), artists sit near their genre and tracks near their artist;
  part of a track's position is tied to its tempo, mode and loudness, and a
  larger part to three **traits beyond genre** — acousticness (acoustic or
  electric instruments), energy (density of notes and drums) and
  instrumentalness (a voice leads, or none) — drawn per artist around the
  genre's mean and varied per track; users have a personal taste along the
  same axes, so within a genre what a song sounds like says a lot about who
  will love it. The traits are public columns of ``tracks`` (as Spotify's API
  publishes its audio features) and :mod:`coursekit.synth` renders them;
* **long-tailed popularity** for artists and tracks; a share of tracks are
  **new releases** that come out during (or right after) the observed weeks;
* **users** who like one to three genres, with personal taste inside them and
  an activity level;
* every week each active user **discovers** tracks — a genre from their mix,
  candidates drawn by popularity (exposure), the one closest to their taste
  chosen — and **replays** tracks they found before, more often the more they
  like them. Each (user, track, week) gets stream counts, a save (rare, telling)
  and artist-page visits (rarer still);
* **web text** about artists and songs (:mod:`coursekit.webtext`), which names
  the artists they resemble; some artists are never written about.

The model-facing tables are in :class:`World`. What generated them — user
tastes, latent vectors, true affinities, and **next week's listens** — is in
:class:`Truth`, which is for evaluation only: no model in the course reads it.

The discovery probability of track ``i`` (genre ``g``) for user ``u`` is

    P(i | u) = m_ug · pop_i^γ · exp(β · x_u·t_i) / Z_ug,

with ``m_u`` the user's genre mix, ``pop_i`` the track's popularity, ``x_u`` and
``t_i`` the latent vectors and ``Z_ug`` the normaliser over the genre's released
tracks. The generator draws from it by sampling-importance-resampling
(``candidates`` draws by popularity, one kept by taste), so it is exact as the
number of candidates grows. :meth:`Truth.affinity` is ``log m_ug + β·x_u·t_i``
(how much the user would like the track once heard); :meth:`Truth.propensity`
is ``log P(i | u)`` (how likely it is to be the user's next discovery).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import names
from .genres import GENRES, GENRE_NAMES

__all__ = ["WorldConfig", "SIZES", "World", "Truth", "generate_world", "LISTEN_COLUMNS"]

#: Columns of the ``listens`` table, in order.
LISTEN_COLUMNS = ("user_id", "track_id", "week", "streams", "saved", "artist_page_visits")

_GENRE_SHARE = np.array([0.20, 0.16, 0.14, 0.13, 0.08, 0.11, 0.08, 0.10])
#: Spread of artists around their genre's centroid and of tracks around their artist
#: (norm of the random offset, before the traits move them).
_ARTIST_SPREAD, _TRACK_SPREAD = 0.40, 0.30
#: How far one standard deviation of a trait (acousticness, energy, vocals)
#: moves an artist or track along the trait's axis in taste space.
TRAIT_WEIGHT = 0.35
#: How strongly users' personal taste follows the trait axes (one normal draw per user and trait).
USER_TRAIT_WEIGHT = 0.25


@dataclass(frozen=True)
class WorldConfig:
    """Size and behaviour of a generated world.

    Parameters
    ----------
    n_users, n_tracks, n_artists : int
        Sizes of the catalogue and the audience.
    n_weeks : int
        Observed weeks (0 .. n_weeks - 1) in the public ``listens`` table; week
        ``n_weeks`` is "next week", kept in the truth.
    n_factors : int
        Dimensions of the latent taste space.
    seed : int
        The one seed every table is drawn from.
    new_release_share : float
        Share of tracks released during weeks 1 .. n_weeks (the rest are back
        catalogue, released before week 0).
    undocumented_share : float
        Share of artists nobody writes about (no documents).
    docs_per_artist : float
        Mean number of documents for a documented artist (long-tailed).
    discoveries_per_week : float
        Median number of new tracks an active user finds in a week.
    candidates : int
        Candidates drawn by popularity for each discovery (one kept by taste).
    beta : float
        Taste sharpness β: how strongly users pick what matches them.
    gamma : float
        Popularity exponent γ: how strongly exposure follows popularity.
    chunk_users : int
        Users simulated at a time (bounds memory for the large world).
    """

    n_users: int
    n_tracks: int
    n_artists: int
    n_weeks: int = 8
    n_factors: int = 16
    seed: int = 2014
    new_release_share: float = 0.08
    undocumented_share: float = 0.15
    docs_per_artist: float = 12.0
    discoveries_per_week: float = 7.0
    candidates: int = 48
    beta: float = 7.0
    gamma: float = 0.6
    chunk_users: int = 50_000


#: The three sizes of DESIGN.md.
SIZES: dict[str, WorldConfig] = {
    "tiny": WorldConfig(n_users=300, n_tracks=800, n_artists=60, n_weeks=6, docs_per_artist=6.0),
    "small": WorldConfig(n_users=2_000, n_tracks=5_000, n_artists=400, n_weeks=8),
    "large": WorldConfig(
        n_users=1_000_000, n_tracks=100_000, n_artists=8_000, n_weeks=4,
        docs_per_artist=6.0, discoveries_per_week=5.0, candidates=16,
    ),
}


@dataclass
class World:
    """The public tables of a music world: everything a model may read.

    Attributes
    ----------
    artists : pandas.DataFrame
        ``artist_id, name, genre, origin, active_since``.
    tracks : pandas.DataFrame
        ``track_id, artist_id, title, genre, release_week, duration_s, tempo,
        key, mode, loudness, time_signature, acousticness, energy,
        instrumentalness`` (the last three 0..1, two decimals: acoustic rather
        than electric instruments; density of notes and drums; no voice leads,
        below 0.5 a voice sings the melody).
    users : pandas.DataFrame
        ``user_id, country, age``.
    listens : pandas.DataFrame
        ``user_id, track_id, week, streams, saved, artist_page_visits``: one row
        per user, track and week with at least one stream.
    documents : pandas.DataFrame
        ``doc_id, artist_id, track_id (nullable), kind, text``.
    size : str
        Name of the size ("tiny", "small", "large") or "custom".
    n_weeks : int
        Number of observed weeks; "next week" is week ``n_weeks``.
    fingerprint : str
        A SHA-256 of the world's content, set by
        :func:`coursekit.datasets.load_world`: a hash over the sha256 of every
        file read (each checked against ``manifest.json``) and ``n_weeks``.
        ``""`` when the world was generated in memory, edited, or loaded with
        ``verify=False``: what a model cache is keyed on (no key, no cache).
    """

    artists: pd.DataFrame
    tracks: pd.DataFrame
    users: pd.DataFrame
    listens: pd.DataFrame
    documents: pd.DataFrame
    size: str = "custom"
    n_weeks: int = 8
    fingerprint: str = ""

    def summary(self) -> pd.DataFrame:
        """One row per table with its number of rows, plus the headline facts."""
        listens = self.listens
        n_pairs = len(listens.groupby(["user_id", "track_id"], sort=False).size()) if len(listens) else 0
        plays = listens.groupby("track_id")["streams"].sum()
        top1 = plays.sort_values(ascending=False)
        top_share = top1.iloc[: max(1, len(self.tracks) // 100)].sum() / max(1, plays.sum())
        new = self.tracks[self.tracks["release_week"] >= 1]
        new_listens = listens[listens["track_id"].isin(new["track_id"])].groupby("track_id")["streams"].sum()
        documented = self.documents["artist_id"].nunique()
        rows = [
            ("users", len(self.users)),
            ("artists", len(self.artists)),
            ("tracks", len(self.tracks)),
            ("weeks observed", self.n_weeks),
            ("listens (user-track-week rows)", len(listens)),
            ("user-track pairs", n_pairs),
            ("streams", int(listens["streams"].sum())),
            ("saves", int(listens["saved"].sum())),
            ("artist-page visits", int(listens["artist_page_visits"].sum())),
            ("matrix density (%)", round(100 * n_pairs / max(1, len(self.users) * len(self.tracks)), 3)),
            ("streams on top 1% of tracks (%)", round(100 * float(top_share), 1)),
            ("new releases", len(new)),
            ("new releases with < 50 streams", int(len(new) - (new_listens >= 50).sum())),
            ("documents", len(self.documents)),
            ("artists never written about", len(self.artists) - documented),
        ]
        index = pd.Index([w for w, _ in rows], name="what")
        return pd.DataFrame({"value": pd.Series([v for _, v in rows], index=index, dtype=object)})


@dataclass
class Truth:
    """What generated the world. **Evaluation only**: models never read it.

    Attributes
    ----------
    next_week : pandas.DataFrame
        Week ``n_weeks`` of listens, in the ``listens`` schema.
    user_genres : pandas.DataFrame
        Each user's genre mix m_u (one column per genre, rows sum to 1).
    user_vectors : numpy.ndarray
        x_u, shape (n_users, n_factors), row k = ``users.user_id`` row k.
    track_vectors : numpy.ndarray
        t_i, shape (n_tracks, n_factors), row k = ``tracks.track_id`` row k.
    track_popularity : numpy.ndarray
        pop_i, the exposure weight of each track.
    track_genre : numpy.ndarray
        Genre index of each track (into :data:`coursekit.genres.GENRE_NAMES`).
    release_week : numpy.ndarray
        Release week of each track.
    similar_artists : dict
        artist_id -> the artist ids nearest in taste space.
    config : WorldConfig
        The parameters the world was drawn with.
    """

    next_week: pd.DataFrame
    user_genres: pd.DataFrame
    user_vectors: np.ndarray
    track_vectors: np.ndarray
    track_popularity: np.ndarray
    track_genre: np.ndarray
    release_week: np.ndarray
    similar_artists: dict = field(repr=False)
    config: WorldConfig = field(repr=False, default=None)

    def affinity(self, user_index, track_index=None) -> np.ndarray:
        """True affinity ``log m_ug + β·x_u·t_i`` of users for tracks.

        Parameters
        ----------
        user_index : int or array of int
            Row positions in ``users`` (not ids).
        track_index : array of int, optional
            Row positions in ``tracks``; all tracks when omitted.

        Returns
        -------
        numpy.ndarray
            Shape (len(user_index), len(track_index)); computed on demand, so
            ask for a batch of users at a time in a large world.
        """
        u = np.atleast_1d(np.asarray(user_index))
        t = np.arange(len(self.track_vectors)) if track_index is None else np.asarray(track_index)
        log_mix = np.log(_smoothed_mix(self.user_genres.to_numpy()[u]))
        taste = self.user_vectors[u] @ self.track_vectors[t].T
        return log_mix[:, self.track_genre[t]] + self.config.beta * taste

    def propensity(self, user_index, week: int | None = None) -> np.ndarray:
        """``log P(i | u)``: log-probability that a user's next discovery is each track.

        Tracks not yet released in ``week`` (default: next week) get ``-inf``.
        Shape (len(user_index), n_tracks).
        """
        cfg = self.config
        week = cfg.n_weeks if week is None else week
        u = np.atleast_1d(np.asarray(user_index))
        available = self.release_week <= week
        taste = cfg.beta * (self.user_vectors[u] @ self.track_vectors.T)
        log_w = np.where(available, cfg.gamma * np.log(self.track_popularity) + taste, -np.inf)
        out = np.empty_like(log_w)
        mix = _smoothed_mix(self.user_genres.to_numpy()[u])
        for g in range(len(GENRE_NAMES)):
            cols = self.track_genre == g
            block = log_w[:, cols]
            log_z = np.logaddexp.reduce(block, axis=1, keepdims=True)
            out[:, cols] = np.log(mix[:, [g]]) + block - log_z
        return out


def _smoothed_mix(weights: np.ndarray, eps: float = 0.04) -> np.ndarray:
    """m_u = (1 − ε)·w_u + ε/G: users now and then stray outside their genres."""
    return (1 - eps) * weights + eps / weights.shape[1]


def _rngs(seed: int, *keys) -> np.random.Generator:
    """An independent generator per purpose, so each table's draws stay fixed."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _catalogue(cfg: WorldConfig):
    """Genres, artists and tracks: latent positions, popularity and attributes."""
    G, D = len(GENRES), cfg.n_factors
    rng = _rngs(cfg.seed, 1)
    centroids = rng.normal(size=(G, D))
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    # Directions along which tempo, mode and loudness move a track in taste space.
    sound_axes = rng.normal(size=(3, D)) / np.sqrt(D)

    a_genre = rng.choice(G, size=cfg.n_artists, p=_GENRE_SHARE)
    a_vec = centroids[a_genre] + _ARTIST_SPREAD * rng.normal(size=(cfg.n_artists, D)) / np.sqrt(D)
    a_pop = rng.lognormal(0.0, 1.3, size=cfg.n_artists)
    # every artist has at least one track; the rest go to popular artists more often
    extra = rng.choice(cfg.n_artists, size=cfg.n_tracks - cfg.n_artists, p=a_pop**0.5 / (a_pop**0.5).sum())
    t_artist = np.sort(np.concatenate([np.arange(cfg.n_artists), extra]))
    t_genre = a_genre[t_artist]

    # audio attributes from the genre's signature
    lo = np.array([g.tempo[0] for g in GENRES])[t_genre]
    hi = np.array([g.tempo[1] for g in GENRES])[t_genre]
    tempo = np.round(rng.uniform(lo, hi), 1)
    mode = (rng.random(cfg.n_tracks) < np.array([g.major_share for g in GENRES])[t_genre]).astype(np.int8)
    key = rng.integers(0, 12, size=cfg.n_tracks).astype(np.int8)
    loud_mu = np.array([g.loudness[0] for g in GENRES])[t_genre]
    loud_sd = np.array([g.loudness[1] for g in GENRES])[t_genre]
    loudness = np.round(np.clip(rng.normal(loud_mu, loud_sd), -30.0, -2.0), 1)
    waltz = rng.random(cfg.n_tracks) < np.array([g.waltz_share for g in GENRES])[t_genre]
    time_signature = np.where(waltz, 3, 4).astype(np.int8)
    duration = np.round(np.clip(rng.normal(215, 45, size=cfg.n_tracks), 90, 480), 1)

    sound = np.column_stack([
        (tempo - (lo + hi) / 2) / np.maximum(hi - lo, 1) * 3.4,  # about unit variance
        2.0 * mode - 1.0,
        (loudness - loud_mu) / loud_sd,
    ])
    t_vec = (a_vec[t_artist] + _TRACK_SPREAD * rng.normal(size=(cfg.n_tracks, D)) / np.sqrt(D)
             + 0.25 * sound @ sound_axes)
    t_pop = a_pop[t_artist] * rng.lognormal(0.0, 0.8, size=cfg.n_tracks)

    release = -rng.integers(1, 520, size=cfg.n_tracks)
    is_new = rng.random(cfg.n_tracks) < cfg.new_release_share
    release[is_new] = rng.integers(1, cfg.n_weeks + 1, size=int(is_new.sum()))

    artists = pd.DataFrame({
        "artist_id": np.arange(1, cfg.n_artists + 1, dtype=np.int64),
        "name": names.artist_names(cfg.n_artists, rng),
        "genre": np.array(GENRE_NAMES, dtype=object)[a_genre],
        "origin": names.origins(cfg.n_artists, rng),
        "active_since": rng.integers(1965, 2025, size=cfg.n_artists).astype(np.int64),
    })
    tracks = pd.DataFrame({
        "track_id": np.arange(1, cfg.n_tracks + 1, dtype=np.int64),
        "artist_id": (t_artist + 1).astype(np.int64),
        "title": names.track_titles(cfg.n_tracks, rng),
        "genre": np.array(GENRE_NAMES, dtype=object)[t_genre],
        "release_week": release.astype(np.int64),
        "duration_s": duration,
        "tempo": tempo,
        "key": key.astype(np.int64),
        "mode": mode.astype(np.int64),
        "loudness": loudness,
        "time_signature": time_signature.astype(np.int64),
    })
    # the traits beyond genre: drawn per artist (widely, around the genre's
    # mean), varied a little per track, heard in the audio and part of the
    # latent position (artists and tracks move along the trait axes)
    trait_axes, a_traits, traits = _traits(cfg, a_genre, t_artist)
    a_vec = a_vec + TRAIT_WEIGHT * a_traits @ trait_axes
    t_vec = t_vec + TRAIT_WEIGHT * _trait_deviation(traits, t_genre) @ trait_axes
    for name, column in traits.items():
        tracks[name] = column
    return centroids, trait_axes, a_vec, a_pop, artists, tracks, t_vec, t_pop, t_genre


def _traits(cfg: WorldConfig, a_genre: np.ndarray, t_artist: np.ndarray):
    """Acousticness, energy and instrumentalness of every track, and the trait axes.

    Each artist gets an acousticness and an energy from a beta distribution
    around the genre's mean (concentration 4: a folk artist may well play an
    electric guitar) and sings with the genre's ``vocal_share``; each track
    varies its artist's values (normal, sd 0.08) and is sung with probability
    0.9 for a singer's track, 0.1 for an instrumentalist's. Returns the trait
    axes (3 × n_factors), each artist's standardised deviation from its
    genre's means along them, and the tracks' columns.
    """
    rng = _rngs(cfg.seed, 6)
    D = cfg.n_factors
    trait_axes = rng.normal(size=(3, D)) / np.sqrt(D)
    mean = np.array([[g.acousticness, g.energy, g.vocal_share] for g in GENRES])
    n_a, n_t = len(a_genre), len(t_artist)
    conc = 4.0
    a_ac = rng.beta(conc * mean[a_genre, 0], conc * (1 - mean[a_genre, 0]))
    a_en = rng.beta(conc * mean[a_genre, 1], conc * (1 - mean[a_genre, 1]))
    a_sings = rng.random(n_a) < mean[a_genre, 2]
    ac = np.round(np.clip(a_ac[t_artist] + 0.08 * rng.normal(size=n_t), 0.0, 1.0), 2)
    en = np.round(np.clip(a_en[t_artist] + 0.08 * rng.normal(size=n_t), 0.0, 1.0), 2)
    sung = rng.random(n_t) < np.where(a_sings[t_artist], 0.9, 0.1)
    instrumental = np.round(np.where(sung, rng.uniform(0.0, 0.15, n_t), rng.uniform(0.6, 0.95, n_t)), 2)
    traits = {"acousticness": ac, "energy": en, "instrumentalness": instrumental}
    a_dev = _trait_deviation({"acousticness": a_ac, "energy": a_en, "instrumentalness": np.where(a_sings, 0.0, 1.0)},
                             a_genre)
    return trait_axes, a_dev, traits


def _trait_deviation(traits: dict, genre: np.ndarray) -> np.ndarray:
    """Traits as deviations from the genre's means, about unit variance: (n, 3)."""
    mean = np.array([[g.acousticness, g.energy, 1.0 - g.vocal_share] for g in GENRES])[genre]
    sd = np.sqrt(mean[:, :2] * (1 - mean[:, :2]) / 5.0)  # a Beta(4m, 4(1-m)) has variance m(1-m)/5
    instrumental = (np.asarray(traits["instrumentalness"]) >= 0.5).astype(float)
    instrumental_sd = np.sqrt(mean[:, 2] * (1 - mean[:, 2])).clip(0.2)
    return np.column_stack([(traits["acousticness"] - mean[:, 0]) / sd[:, 0],
                            (traits["energy"] - mean[:, 1]) / sd[:, 1],
                            (instrumental - mean[:, 2]) / instrumental_sd]).clip(-3.0, 3.0)


def _audience(cfg: WorldConfig, centroids: np.ndarray, trait_axes: np.ndarray):
    """Users: genre mix, latent taste (with a personal taste in traits), activity."""
    G, D = centroids.shape
    rng = _rngs(cfg.seed, 2)
    n = cfg.n_users
    k = rng.choice([1, 2, 3], size=n, p=[0.45, 0.35, 0.20])
    # draw k distinct genres per user by popularity: rank Gumbel-perturbed log-shares
    keys = np.log(_GENRE_SHARE)[None, :] + rng.gumbel(size=(n, G))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = rank < k[:, None]
    raw = rng.gamma(1.5, size=(n, G)) * chosen
    mix = raw / raw.sum(axis=1, keepdims=True)
    x = mix @ centroids
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += 0.45 * rng.normal(size=(n, D)) / np.sqrt(D)
    activity = rng.lognormal(np.log(cfg.discoveries_per_week), 0.55, size=n)
    p_active = rng.beta(6, 2, size=n)
    loyalty = rng.normal(0.0, 0.5, size=n)  # how much a user replays what they know
    countries = np.array(["SE", "GB", "US", "DE", "FR", "BR", "MX", "JP", "ES", "NL", "AU", "CA"])
    users = pd.DataFrame({
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "country": countries[rng.integers(0, len(countries), size=n)],
        "age": np.clip(np.round(rng.normal(29, 9, size=n)), 14, 80).astype(np.int64),
    })
    # personal taste in sound beyond genre: some folk fans want it acoustic, some electric
    x = x + USER_TRAIT_WEIGHT * _rngs(cfg.seed, 7).normal(size=(n, trait_axes.shape[0])) @ trait_axes
    return users, mix, x, activity, p_active, loyalty


def _simulate_chunk(cfg, rng, mix, x, activity, p_active, loyalty, t_vec, t_pop, t_genre, release, user_offset):
    """Simulate weeks 0 .. n_weeks for a block of users.

    Returns a list with one ``(user_index, track_index, streams, saved, visits)``
    tuple of arrays per week (global user positions).
    """
    G = mix.shape[1]
    n = len(x)
    m = np.cumsum(_smoothed_mix(mix), axis=1)
    x32, t32 = x.astype(np.float32), t_vec.astype(np.float32)
    lib_u = np.empty(0, np.int64)  # the user's library: tracks found so far
    lib_t = np.empty(0, np.int64)
    lib_z = np.empty(0, np.float64)
    lib_saved = np.empty(0, bool)
    weeks = []
    for week in range(cfg.n_weeks + 1):
        table, offsets = _exposure_table(t_pop ** cfg.gamma, release <= week, t_genre, G)
        active = rng.random(n) < p_active
        n_disc = rng.poisson(activity) * active
        du = np.repeat(np.arange(n), n_disc)
        g_draw = np.minimum((rng.random(len(du))[:, None] > m[du]).sum(axis=1), G - 1)
        lo, span = offsets[g_draw], offsets[g_draw + 1] - offsets[g_draw]
        offset = (rng.random((len(du), cfg.candidates), dtype=np.float32) * span[:, None]).astype(np.int64)
        cand = table[lo[:, None] + np.minimum(offset, span[:, None] - 1)]
        taste = np.einsum("nd,ncd->nc", x32[du], t32[cand], optimize=True)  # x_u·t_i per candidate
        with np.errstate(divide="ignore"):
            gumbel = -np.log(-np.log(rng.random(taste.shape, dtype=np.float32)))
        pick = np.argmax(np.float32(cfg.beta) * taste + gumbel, axis=1)
        dt = cand[np.arange(len(du)), pick]
        dz = taste[np.arange(len(du)), pick].astype(np.float64)

        # replays of the library, more likely for loved tracks and loyal users
        if len(lib_u):
            p_replay = _sigmoid(-2.2 + 3.5 * (lib_z - 0.35) + loyalty[lib_u]) * active[lib_u]
            r = rng.random(len(lib_u)) < p_replay
            ru, rt, rz = lib_u[r], lib_t[r], lib_z[r]
        else:
            ru = rt = np.empty(0, np.int64)
            rz = np.empty(0)
        wu = np.concatenate([du, ru])
        wt = np.concatenate([dt, rt])
        wz = np.concatenate([dz, rz])
        key = wu * len(t_genre) + wt
        key, first = np.unique(key, return_index=True)
        wu, wt, wz = wu[first], wt[first], wz[first]
        k = len(wu)
        streams = 1 + rng.poisson(0.6 * np.exp(2.0 * (wz - 0.35)).clip(0, 20))
        # saves and artist-page visits: rarer than streams, and more telling
        already_saved = np.zeros(k, bool)
        new_key = np.ones(k, bool)
        if len(lib_u):
            lib_key = lib_u * len(t_genre) + lib_t
            pos = np.minimum(np.searchsorted(lib_key, key), len(lib_key) - 1)
            hit = lib_key[pos] == key
            new_key = ~hit
            already_saved[hit] = lib_saved[pos[hit]]
        p_save = _sigmoid(-7.0 + 6.0 * (wz - 0.35)) * np.where(new_key, 1.0, 0.4)
        saved = (rng.random(k) < p_save) & ~already_saved
        visits = rng.poisson(0.012 * np.exp(3.0 * (wz - 0.35)).clip(0, 30))
        weeks.append((wu + user_offset, wt, streams, saved, visits))

        # grow the library (kept sorted by key for the lookups above)
        if week < cfg.n_weeks:
            all_key = np.concatenate([lib_u * len(t_genre) + lib_t, key])
            all_z = np.concatenate([lib_z, wz])
            all_saved = np.concatenate([lib_saved, saved])
            uk, idx = np.unique(all_key, return_index=True)
            saved_any = np.zeros(len(uk), bool)
            np.logical_or.at(saved_any, np.searchsorted(uk, all_key), all_saved)
            lib_u, lib_t, lib_z, lib_saved = uk // len(t_genre), uk % len(t_genre), all_z[idx], saved_any
    return weeks


def _exposure_table(weight, available, genre, n_genres, slots_per_track=24):
    """Per-genre lookup tables in which each released track fills slots in proportion to its weight.

    Drawing a uniform slot of genre ``g``'s table draws a track of that genre with
    probability ≈ weight / Σ weight (every released track keeps at least one slot).
    Returns the concatenated table and the start offset of each genre's part.
    """
    parts, offsets = [], [0]
    for g in range(n_genres):
        idx = np.flatnonzero(available & (genre == g))
        w = weight[idx]
        slots = 1 + np.floor(w / w.sum() * (slots_per_track - 1) * len(idx)).astype(np.int64)
        parts.append(np.repeat(idx, slots))
        offsets.append(offsets[-1] + int(slots.sum()))
    return np.concatenate(parts), np.array(offsets)


def _similar_artists(a_vec: np.ndarray, n: int = 5) -> dict:
    """Each artist's nearest artists in taste space (cosine), for the web text."""
    unit = a_vec / np.linalg.norm(a_vec, axis=1, keepdims=True)
    out = {}
    for start in range(0, len(unit), 2048):
        sims = unit[start:start + 2048] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf
        near = np.argpartition(-sims, n, axis=1)[:, :n]
        top = np.take_along_axis(near, np.argsort(-np.take_along_axis(sims, near, axis=1), axis=1), axis=1)
        for r, t in zip(range(start, start + len(top)), top):
            out[r + 1] = [int(a) + 1 for a in t]
    return out


def _frame(parts, week_of) -> pd.DataFrame:
    """Listens table from ``(user, track, streams, saved, visits)`` parts, already in row order."""
    u = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    wk = np.concatenate([np.full(len(p[0]), week_of[i]) for i, p in enumerate(parts)])
    s = np.concatenate([p[2] for p in parts])
    sv = np.concatenate([p[3] for p in parts])
    v = np.concatenate([p[4] for p in parts])
    df = pd.DataFrame({
        "user_id": (u + 1).astype(np.int64),
        "track_id": (t + 1).astype(np.int64),
        "week": wk.astype(np.int64),
        "streams": s.astype(np.int64),
        "saved": sv.astype(np.int64),
        "artist_page_visits": v.astype(np.int64),
    })
    return df


def generate_world(size: str | WorldConfig = "small", *, seed: int | None = None, progress=None):
    """Generate a music world and its truth.

    Parameters
    ----------
    size : {"tiny", "small", "large"} or WorldConfig
        A named size (see :data:`SIZES`) or a configuration of your own.
    seed : int, optional
        Overrides the configuration's seed.
    progress : callable, optional
        Called as ``progress(done_users, total_users)`` after each user chunk.

    Returns
    -------
    world : World
        The public tables.
    truth : Truth
        What generated them, for evaluation only.

    Examples
    --------
    >>> world, truth = generate_world("tiny")
    >>> len(world.users)
    300
    """
    if isinstance(size, WorldConfig):
        cfg, name = size, "custom"
    elif size in SIZES:
        cfg, name = SIZES[size], size
    else:
        raise ValueError(f"unknown world size {size!r}; use one of {sorted(SIZES)} or a WorldConfig")
    if seed is not None:
        cfg = replace(cfg, seed=int(seed))
    if cfg.n_artists > cfg.n_tracks:
        raise ValueError(f"n_artists ({cfg.n_artists}) must not exceed n_tracks ({cfg.n_tracks})")

    centroids, trait_axes, a_vec, a_pop, artists, tracks, t_vec, t_pop, t_genre = _catalogue(cfg)
    users, mix, x, activity, p_active, loyalty = _audience(cfg, centroids, trait_axes)
    release = tracks["release_week"].to_numpy()

    per_week = [[] for _ in range(cfg.n_weeks + 1)]  # chunks in user order, so rows stay sorted
    for c, start in enumerate(range(0, cfg.n_users, cfg.chunk_users)):
        stop = min(start + cfg.chunk_users, cfg.n_users)
        rng = _rngs(cfg.seed, 3, c)
        weeks = _simulate_chunk(cfg, rng, mix[start:stop], x[start:stop], activity[start:stop],
                                p_active[start:stop], loyalty[start:stop], t_vec, t_pop, t_genre, release, start)
        for week, part in enumerate(weeks):
            per_week[week].append(part)
        if progress is not None:
            progress(stop, cfg.n_users)
    week_of = [w for w in range(cfg.n_weeks) for _ in per_week[w]]
    listens = _frame([p for w in range(cfg.n_weeks) for p in per_week[w]], week_of)
    next_week = _frame(per_week[cfg.n_weeks], [cfg.n_weeks] * len(per_week[cfg.n_weeks]))

    similar = _similar_artists(a_vec)
    documents = _documents(cfg, artists, tracks, similar, a_pop)

    truth = Truth(
        next_week=next_week,
        user_genres=pd.DataFrame(mix, columns=list(GENRE_NAMES), index=users["user_id"].rename("user_id")),
        user_vectors=x,
        track_vectors=t_vec,
        track_popularity=t_pop,
        track_genre=t_genre,
        release_week=release,
        similar_artists=similar,
        config=cfg,
    )
    world = World(artists=artists, tracks=tracks, users=users, listens=listens,
                  documents=documents, size=name, n_weeks=cfg.n_weeks)
    return world, truth


def _documents(cfg, artists, tracks, similar, a_pop) -> pd.DataFrame:
    """How many documents each artist gets (long-tailed, some none), then the text."""
    from .webtext import write_documents

    rng = _rngs(cfg.seed, 4)
    n = len(artists)
    expected = cfg.docs_per_artist * a_pop**0.6 / np.mean(a_pop**0.6)
    n_docs = rng.poisson(expected)
    # the lecture's singer-songwriter friend: nobody has written about them yet
    quiet = rng.random(n) < cfg.undocumented_share * 2 * _sigmoid(-np.log(a_pop))
    n_docs[quiet] = 0
    return write_documents(artists, tracks, similar, n_docs, _rngs(cfg.seed, 5))
