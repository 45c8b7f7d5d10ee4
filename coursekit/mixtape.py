"""The Discover Weekly mixtape: 30 unheard songs, with a reason for each.

Three models score every (user, unheard track) pair — collaborative filtering,
cultural vectors from web text, and audio (CNN-predicted vectors and closeness
to the user's usual tempo, mode and loudness). A blend learned on a validation
week combines them (:class:`Blend`), and :func:`select` turns blended scores into
mixtapes that follow the rules of a good one:

* exactly ``n`` (30) songs the user has never played, all released;
* at most ``max_per_artist`` (2) songs by one artist;
* a reserved share of **new releases** (``new_share``, default 1/30: one song
  in every mixtape) — tracks released during the observed weeks with too few
  listeners for collaborative filtering to rank, found by the artist, audio and
  text signals. More new releases come in when they win a place on their
  blended score. Each reserved slot costs ranking quality on next week's
  listening (a new release is a less likely discovery than the 30th-best known
  song), so the share is a product decision, kept small;
* ordered for listening: the songs climb in tempo and then come back down, so
  neighbouring songs are never far apart in tempo.

All of it is vectorised over users: a batch of users is one matrix of scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["select", "listening_order"]


def select(scores: np.ndarray, *, track_artist: np.ndarray, is_new: np.ndarray, n: int = 30,
           max_per_artist: int = 2, new_share: float = 1 / 30, pool: int = 300) -> np.ndarray:
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


# ------------------------------------------------------------------ the three models' signals
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


def profiles(world, strength, culture, item_factors=None, *, week: int | None = None,
             cold_listeners: int = 5) -> Profiles:
    """Summaries of a training log for the signals.

    Parameters
    ----------
    world : coursekit.world.World
        For the tracks' artists and audio attributes.
    strength : scipy.sparse.csr_matrix
        r_ui of the training weeks (users × tracks, table order).
    culture : coursekit.text.CulturalVectors or None
        Fitted cultural vectors; ``None`` leaves the text signal at 0.
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
    import scipy.sparse as sp

    tracks, artists = world.tracks, world.artists
    artist_pos = pd.Index(artists["artist_id"]).get_indexer(tracks["artist_id"])
    n_artists = len(artists)
    to_artist = sp.csr_matrix((np.ones(len(tracks)), (np.arange(len(tracks)), artist_pos)),
                              shape=(len(tracks), n_artists))
    ua = (strength @ to_artist).tocsr()
    totals = np.asarray(ua.sum(axis=1)).ravel()
    ua = sp.diags(1.0 / np.maximum(totals, 1e-12)) @ ua
    sim = np.zeros((n_artists, n_artists))
    documented = np.zeros(n_artists, bool)
    if culture is not None:
        pos = pd.Index(artists["artist_id"]).get_indexer(culture.artist_ids_)
        V = culture.vectors_
        sim[np.ix_(pos, pos)] = (V @ V.T).toarray()
        documented[pos] = True
    np.fill_diagonal(sim, 0.0)  # "like an artist you play" means another artist
    raw = np.column_stack([tracks["tempo"], tracks["mode"], tracks["loudness"]]).astype(float)
    sound = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    user_sound = _user_mean(strength, sound)
    listeners = np.asarray((strength > 0).sum(axis=0)).ravel()
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


# ------------------------------------------------------------------------------ the blend
@dataclass
class Blend:
    """Logistic regression over the signals, learned on a validation week.

    Each user's positives are the unheard tracks they played in the validation
    week; negatives are ``negatives`` unheard, released tracks drawn at random.
    Features are the signals standardised over the training pairs, plus the
    cold-track interactions (``cold × artist``, ``cold × audio``, ``cold × text``,
    ``cold × sound``, ``cold × artist_popularity``, ``cold × new``): for a track
    CF cannot rank, the other signals must speak.

    Attributes (after :meth:`fit`)
    ------------------------------
    features_ : list of str
    mean_, scale_ : numpy.ndarray
        Standardisation of each raw feature.
    weights_ : pandas.Series
        The learned weight of each feature (the blend, for people to read).
    """

    negatives: int = 100
    C: float = 1.0
    random_state: int = 0
    use: tuple = SIGNALS

    def _raw(self, sig: dict) -> dict:
        feats = {k: sig[k] for k in SIGNALS if k in self.use}
        cold = sig["cold"]
        for k in ("artist", "audio", "text", "sound", "artist_popularity"):
            if k in self.use:
                feats[f"cold×{k}"] = cold * sig[k]
        if "new" in self.use:
            feats["cold×new"] = cold * sig["new"]
        return feats

    def fit(self, sig_pairs: dict, labels: np.ndarray) -> "Blend":
        """Fit on per-pair signal vectors (dict of 1-D arrays) and 0/1 labels."""
        from sklearn.linear_model import LogisticRegression

        raw = self._raw(sig_pairs)
        self.features_ = list(raw)
        X = np.column_stack([raw[k] for k in self.features_])
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        lr = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # BLAS threads split the solver's sums: one gives the same weights anywhere
            lr.fit((X - self.mean_) / self.scale_, labels)
        self.weights_ = pd.Series(lr.coef_[0], index=self.features_, name="weight")
        self.intercept_ = float(lr.intercept_[0])
        return self

    def contributions(self, sig: dict) -> dict:
        """Each feature's weighted, standardised contribution (arrays shaped like the signals)."""
        raw = self._raw(sig)
        return {k: self.weights_[k] * (raw[k] - self.mean_[j]) / self.scale_[j] for j, k in enumerate(self.features_)}

    def score(self, sig: dict) -> np.ndarray:
        """Blended score for every pair in ``sig``: the sum of :meth:`contributions`.

        Computed without building each contribution: the standardisation is
        folded into the coefficients, and features that depend on the track
        alone (broadcast rows, see :func:`signals`) are summed as one row.
        """
        coef = self.weights_.to_numpy() / self.scale_
        row = np.zeros(np.shape(sig["cf"])[1]) - float(coef @ self.mean_)
        out = None

        def track_row(a):
            a = np.asarray(a)
            return a[0] if a.ndim == 2 and a.strides[0] == 0 else None

        cold = track_row(sig["cold"])
        for c, name in zip(coef, self.features_):
            base, factor = name, None
            if name.startswith("cold×"):
                base = name.removeprefix("cold×")
                factor = cold if cold is not None else np.asarray(sig["cold"])
            x = sig[base]
            x_row = track_row(x)
            if x_row is not None and (factor is None or factor.ndim == 1):
                row += c * (x_row if factor is None else x_row * factor)
                continue
            term = c * np.asarray(x) if factor is None else np.asarray(x) * (c * factor)
            if out is None:
                out = term
            else:
                out += term
        if out is None:
            return np.broadcast_to(row, np.shape(sig["cf"])).copy()
        out += row
        return out

    def model_contributions(self, sig: dict) -> dict:
        """Contributions grouped by model, for the reasons: cf (with the artist signals), text, audio (with sound)."""
        parts = self.contributions(sig)
        out = {}
        for model, keys in (("cf", ("cf", "artist", "cold×artist", "artist_popularity", "cold×artist_popularity")),
                            ("text", ("text", "cold×text")),
                            ("audio", ("audio", "sound", "cold×audio", "cold×sound"))):
            present = [parts[k] for k in keys if k in parts]
            out[model] = sum(present) if present else None
        return out


def candidate_pool(cf_scores: np.ndarray, cold: np.ndarray, *, size: int = 300) -> np.ndarray:
    """Which tracks the blend may rank for each user: the ``size`` best by CF, plus every cold track.

    Real recommenders work in two stages — cheap *candidate generation*, then a
    careful *ranking* of the few hundred candidates. CF proposes the tracks it
    knows; cold tracks (too new for CF) are always candidates, so the audio and
    text models can speak for them. ``cf_scores`` must already be −∞ where a
    track cannot be recommended.
    """
    size = min(size, cf_scores.shape[1])
    top = np.argpartition(-cf_scores, size - 1, axis=1)[:, :size]
    pool = np.zeros(cf_scores.shape, dtype=bool)
    np.put_along_axis(pool, top, True, axis=1)
    pool |= np.asarray(cold, bool)[None, :]
    return pool & np.isfinite(cf_scores)


def default_batch_size(n_tracks: int, *, cells: int = 2_000_000) -> int:
    """Users scored at a time: about ``cells`` (user, track) pairs, at most 256.

    Every signal is a users × tracks array, so a batch's memory grows with both.
    On the ``large`` world (100,000 tracks) this gives 20 users, near the fastest
    batch measured there (``benchmarks/mixtape_large.py``: 16 fastest, 128 ~60 %
    slower and 900 MB of buffers); on ``small`` (5,000 tracks), 256.
    """
    return int(max(1, min(256, cells // max(n_tracks, 1))))


def training_pairs(split, sig_fn, cold, *, negatives: int = 100, pool: int = 300, random_state: int = 0,
                   batch_size: int | None = None, max_users: int | None = None):
    """Signals of (user, track) pairs of a split's candidate pools, and their labels.

    For every user with held-out tracks: the positives are held-out tracks in
    the user's candidate pool (:func:`candidate_pool`); ``negatives`` other pool
    tracks are drawn at random. ``sig_fn(users)`` returns :func:`signals`.
    With ``max_users``, a random sample of that many such users (in order) is
    used: fifteen weights need thousands of users, not millions.
    """
    rng = np.random.default_rng(random_state)
    heldout = split.heldout
    users = np.flatnonzero(heldout.getnnz(axis=1) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    heard = split.train.preference
    parts, labels = [], []
    batch_size = batch_size or default_batch_size(heldout.shape[1])
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        sig = sig_fn(batch)
        cf = np.array(sig["cf"], dtype=float)
        r_h, c_h = heard[batch].nonzero()
        cf[r_h, c_h] = -np.inf
        cf[:, ~split.released] = -np.inf
        in_pool = candidate_pool(cf, cold, size=pool)
        positive = heldout[batch].toarray() > 0
        pos_r, pos_c = np.nonzero(positive & in_pool)
        # draw negatives among each user's pool tracks that are not positives (Gumbel top-k)
        eligible = in_pool & ~positive
        keys = np.where(eligible, rng.random(eligible.shape), -1.0)
        neg = np.argpartition(-keys, negatives - 1, axis=1)[:, :negatives]
        neg_r = np.repeat(np.arange(len(batch)), negatives)
        neg_c = neg.ravel()
        ok = eligible[neg_r, neg_c]
        rows = np.concatenate([pos_r, neg_r[ok]])
        cols = np.concatenate([pos_c, neg_c[ok]])
        part = {k: np.asarray(v)[rows, cols] for k, v in sig.items()}
        part["user"] = batch[rows]
        parts.append(part)
        labels.append(np.concatenate([np.ones(len(pos_r)), np.zeros(int(ok.sum()))]))
    pairs = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return pairs, np.concatenate(labels)


# ------------------------------------------------------------------------- the whole system
class DiscoverWeekly:
    """Train the three models, learn the blend on a validation week, and write mixtapes.

    Parameters
    ----------
    n : int
        Songs per mixtape.
    max_per_artist : int
        Artist cap.
    new_share : float
        Share of the mixtape reserved for new releases.
    factors, regularization, alpha, iterations : ALS hyperparameters (chapter 02).
    use : tuple of str
        Signals the blend may use (drop "text" or "audio"/"sound" for an ablation).
    audio_fn : callable, optional
        ``audio_fn(item_factors, trained_mask) -> predicted item vectors`` for every
        track: a model of the track's CF vector from its audio (chapter 04), trained
        on the tracks in ``trained_mask``. Without it the audio signal is 0 and
        only the sound closeness speaks for audio.
    blend_users : int or None
        The blend learns from at most this many validation users (a random
        sample; ``None``: all). The small world has 2,000, all used; the large
        world's 730,000 would take hours and 17 GB for fifteen weights.
    engine : {"als", "implicit"}
        The CF model: chapter 02's :class:`coursekit.als.ALS` (from scratch, with
        biases) or :class:`coursekit.als.ImplicitALS` (the ``implicit`` library,
        no biases; several times faster, for the ``large`` world).
    random_state : int
        Seed for every model.

    Attributes (after :meth:`fit`)
    ------------------------------
    blend_ : Blend
        With ``weights_``, the learned blend.
    validation_pairs_ : (dict, numpy.ndarray)
        The blend's training pairs (signals per pair, with the user) and their
        0/1 labels, to refit only the blend; not kept in the model cache.
    cf_ : ALS
        The CF model trained on every observed week.
    culture_ : coursekit.text.CulturalVectors
    profile_ : Profiles
    audio_vectors_ : numpy.ndarray or None
    train_ : coursekit.feedback.Feedback
        Feedback of every observed week.
    timings_ : dict
        Seconds per training step.
    """

    def __init__(self, *, n: int = 30, max_per_artist: int = 2, new_share: float = 1 / 30,
                 factors: int = 32, regularization: float = 10.0, alpha: float = 1.0, iterations: int = 10,
                 use: tuple = SIGNALS, audio_fn=None, pool: int = 300, negatives: int = 100,
                 blend_users: int | None = 20_000, engine: str = "als", random_state: int = 0):
        if engine not in ("als", "implicit"):
            raise ValueError(f"engine must be 'als' (chapter 02's, from scratch) or 'implicit' (faster, for "
                             f"big worlds); got {engine!r}")
        self.n = n
        self.max_per_artist = max_per_artist
        self.new_share = new_share
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use = tuple(use)
        self.audio_fn = audio_fn
        self.pool = pool
        self.negatives = negatives
        self.blend_users = blend_users
        self.engine = engine
        self.random_state = random_state

    # -- training
    def _als(self):
        from .als import ALS, ImplicitALS

        engine = ImplicitALS if getattr(self, "engine", "als") == "implicit" else ALS
        return engine(factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                      iterations=self.iterations, random_state=self.random_state)

    def fit(self, world, *, progress=None) -> "DiscoverWeekly":
        """Train on every observed week of ``world``; learn the blend on the last one.

        ``progress``, if given, is called with a short message before each step.
        """
        import time

        from .evaluation import _split
        from .text import CulturalVectors

        say = progress or (lambda message: None)
        self.world_ = world
        self.timings_ = {}

        def step(name, fn):
            say(name)
            start = time.perf_counter()
            out = fn()
            self.timings_[name] = time.perf_counter() - start
            return out

        self.culture_ = step("cultural vectors from web text", lambda: CulturalVectors().fit(world.documents, world.artists)) \
            if "text" in self.use else None
        last = world.n_weeks - 1
        listens = world.listens
        val = _split(world, listens[listens["week"] < last], listens[listens["week"] == last], last)
        cf_val = step("collaborative filtering (validation weeks)", lambda: self._als().fit(val.train.scaled))
        prof_val = profiles(world, val.train.strength, self.culture_, cf_val.item_factors_, week=last)
        audio_val = step("audio model (validation weeks)", lambda: self._audio(cf_val, prof_val)) \
            if self.audio_fn is not None and "audio" in self.use else None
        pairs, labels = step("blend training pairs", lambda: training_pairs(
            val, lambda u: signals(u, cf_model=cf_val, profile=prof_val, audio_vectors=audio_val),
            prof_val.cold, negatives=self.negatives, pool=self.pool, random_state=self.random_state,
            max_users=getattr(self, "blend_users", None)))
        self.blend_ = step("blend", lambda: Blend(negatives=self.negatives, random_state=self.random_state,
                                                  use=self.use).fit(pairs, labels))
        self.validation_pairs_ = (pairs, labels)   # for refitting only the blend (an ablation); not cached
        # the final models see every observed week
        self.split_ = _split(world, listens, listens.iloc[:0], world.n_weeks)
        self.train_ = self.split_.train
        self.cf_ = step("collaborative filtering (all weeks)", lambda: self._als().fit(self.train_.scaled))
        self.profile_ = profiles(world, self.train_.strength, self.culture_, self.cf_.item_factors_)
        self.audio_vectors_ = None
        if audio_val is not None:
            # map the validation-space audio vectors into the final CF space (orthogonal Procrustes
            # on the tracks both models know), so the audio model never sees the validation week
            warm = ~prof_val.cold
            A, B = cf_val.item_factors_[warm], self.cf_.item_factors_[warm]
            U, _, Vt = np.linalg.svd(A.T @ B)
            self.audio_vectors_ = audio_val @ (U @ Vt)
        return self

    def _audio(self, cf_model, prof):
        vectors = np.asarray(self.audio_fn(cf_model.item_factors_, ~prof.cold), dtype=float)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    # -- scoring
    def scores(self, users, *, model: str = "blend") -> np.ndarray:
        """Scores of every track for user positions ``users``: the blend or one model alone.

        ``model`` is "blend", "cf", "text", "audio" (audio vectors + sound) or
        "popularity". Played and unreleased tracks are −∞.
        """
        needed = {"blend": set(self.use) | {"cf", "cold"}, "cf": {"cf"}, "text": {"text"},
                  "popularity": {"popularity"}, "audio": {"audio", "sound"}}
        if model not in needed:
            raise ValueError(f"model must be one of blend, cf, text, audio, popularity; got {model!r}")
        sig = signals(users, cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_,
                      only=needed[model])
        if model == "blend":
            cf = self._mask(np.array(sig["cf"], dtype=float, copy=True), users)
            s = np.where(candidate_pool(cf, self.profile_.cold, size=self.pool), self.blend_.score(sig), -np.inf)
        elif model in ("cf", "text", "popularity"):
            s = np.array(sig[model], dtype=float)
        elif model == "audio":
            z = lambda a: (a - a.mean()) / (a.std() or 1.0)
            s = z(sig["audio"]) + z(sig["sound"]) if self.audio_vectors_ is not None else np.array(sig["sound"])
        return self._mask(self._cold_start(np.array(s, dtype=float, copy=True), users), users)

    def _cold_start(self, s, users):
        """Users with no history get the popularity ranking (labelled as such by :meth:`explain`)."""
        empty = self.train_.preference[users].getnnz(axis=1) == 0
        if empty.any():
            s[empty] = np.log1p(self.profile_.listeners)[None, :]
        return s

    def _mask(self, s, users):
        s[:, ~self.split_.released] = -np.inf
        played = self.train_.preference[users]
        r, c = played.nonzero()
        s[r, c] = -np.inf
        return s

    def recommend(self, users=None, *, model: str = "blend", ordered: bool = True, batch_size: int | None = None,
                  progress: bool = False) -> np.ndarray:
        """Mixtapes (track positions, users × n) for user positions ``users`` (all by default)."""
        users = np.arange(self.train_.shape[0]) if users is None else np.atleast_1d(np.asarray(users))
        tracks = self.world_.tracks
        is_new = self.profile_.cold & self.profile_.new & self.split_.released
        out = np.full((len(users), self.n), -1, dtype=np.int64)
        batch_size = batch_size or default_batch_size(len(tracks))
        starts = range(0, len(users), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, unit="batch", desc="mixtapes")
        for start in starts:
            batch = users[start:start + batch_size]
            picks = select(self.scores(batch, model=model), track_artist=self.profile_.artist_of_track,
                           is_new=is_new, n=self.n, max_per_artist=self.max_per_artist,
                           new_share=self.new_share if model in ("blend", "audio", "text") else 0.0)
            if ordered:
                picks = listening_order(picks, tracks["tempo"].to_numpy())
            out[start:start + len(batch)] = picks
        return out

    # -- explaining
    def mixtape(self, user_id, *, model: str = "blend") -> pd.DataFrame:
        """One user's mixtape as a table: position, title, artist, genre, tempo, key, why.

        Parameters
        ----------
        user_id : int
            A ``user_id`` of the world (not a position).

        Raises
        ------
        KeyError
            For an unknown user id, naming the valid range.
        """
        u = self.train_.users.index(user_id)
        picks = self.recommend([u], model=model)[0]
        return self.explain(u, picks)

    def explain(self, user, picks, *, contributions=None) -> pd.DataFrame:
        """The table of :meth:`mixtape` for user position ``user`` and track positions ``picks``.

        Each pick's reason comes from the model that contributed most to its
        blended score (``contributions``: model → scores of this user's picks,
        computed here when not given).
        """
        from .genres import key_name

        tracks, artists = self.world_.tracks, self.world_.artists
        picks = np.asarray(picks)
        picks = picks[picks >= 0]
        history = self.train_.preference[user].indices
        if len(history) == 0:
            table = self._table(user, picks, ["popular with listeners (no history yet)"] * len(picks),
                                ["popularity"] * len(picks))
            table.attrs["note"] = "cold start: no listening history yet, so these are popular and diverse picks"
            return table
        if contributions is None:
            sig = signals([user], cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_)
            parts = self.blend_.model_contributions(sig)
            contributions = {m: np.asarray(v)[0, picks] for m, v in parts.items() if v is not None}
        names = list(contributions)
        chosen = [names[k] for k in np.argmax(np.stack([contributions[m] for m in names], axis=1), axis=1)]
        Y = self._unit_items
        A = self._unit_audio if self.audio_vectors_ is not None else self.profile_.sound
        artist_name = artists["name"].to_numpy()
        titles = tracks["title"].to_numpy()
        track_artist = self.profile_.artist_of_track
        reasons, models = [], []
        for track, model in zip(picks, chosen):
            a = track_artist[track]
            if model == "text" and self.culture_ is not None and self.profile_.documented[a]:
                weights = self.profile_.user_artists[user].toarray().ravel() * self.profile_.artist_similarity[:, a]
                like = artist_name[int(np.argmax(weights))]
                reasons.append(f"written about as {self._adjectives(a)}, like {like}")
            elif model == "audio":
                near = history[np.argmax(A[history] @ A[track])] if self.audio_vectors_ is not None \
                    else history[np.argmin(((A[history] - A[track]) ** 2).sum(axis=1))]
                row = tracks.iloc[track]
                new = ("new release that " if self.profile_.new[track] else "little-known song that ") \
                    if self.profile_.cold[track] else ""
                reasons.append(f"{new}sounds like \"{titles[near]}\" by {artist_name[track_artist[near]]}: "
                               f"{row['tempo']:.0f} BPM, {key_name(row['key'], row['mode'])}")
            elif self.profile_.cold[track]:  # CF's voice for a song it cannot place: the artist's other songs
                model = "cf"
                played_artist = self.profile_.user_artists[user, a] > 0
                what = "new release" if self.profile_.new[track] else "little-known song"
                reasons.append(f"{what} by {artist_name[a]}, " + ("whose songs you play" if played_artist
                                                                 else "played by listeners with your taste"))
            else:
                model = "cf"
                near = history[np.argmax(Y[history] @ Y[track])]
                reasons.append(f"because you play \"{titles[near]}\" by {artist_name[track_artist[near]]}")
            models.append(model)
        table = self._table(user, picks, reasons, models)
        if len(picks) < self.n:
            table.attrs["note"] = (f"only {len(picks)} songs: this listener has heard nearly everything "
                                   f"we could recommend")
        return table

    @property
    def _unit_items(self):
        return _unit(self.cf_.item_factors_)

    @property
    def _unit_audio(self):
        return _unit(self.audio_vectors_)

    def _adjectives(self, artist_pos: int) -> str:
        cache = self.__dict__.setdefault("_adjective_cache", {})
        if artist_pos not in cache:
            artist_id = int(self.world_.artists["artist_id"].iloc[artist_pos])
            terms = self.culture_.top_terms(artist_id, term_type="adj", n=2)["term"].tolist()
            cache[artist_pos] = " and ".join(terms) or "the same words"
        return cache[artist_pos]

    def all_mixtapes(self, *, batch_size: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Every user's mixtape with reasons, one row per song (columns as :meth:`mixtape`)."""
        users = np.arange(self.train_.shape[0])
        batch_size = batch_size or default_batch_size(len(self.world_.tracks))
        picks = self.recommend(users, batch_size=batch_size, progress=progress)
        tables = []
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            sig = signals(batch, cf_model=self.cf_, profile=self.profile_, audio_vectors=self.audio_vectors_)
            parts = {m: np.asarray(v) for m, v in self.blend_.model_contributions(sig).items() if v is not None}
            for row, u in enumerate(batch):
                p = picks[u][picks[u] >= 0]
                tables.append(self.explain(u, p, contributions={m: v[row, p] for m, v in parts.items()}))
        return pd.concat(tables, ignore_index=True)

    def _table(self, user, picks, reasons, models) -> pd.DataFrame:
        tracks, artists = self.world_.tracks, self.world_.artists
        rows = tracks.iloc[picks]
        return pd.DataFrame({
            "user_id": self.train_.users.id(user),
            "position": np.arange(1, len(picks) + 1),
            "track_id": rows["track_id"].to_numpy(),
            "title": rows["title"].to_numpy(),
            "artist": artists["name"].to_numpy()[self.profile_.artist_of_track[picks]],
            "genre": rows["genre"].to_numpy(),
            "tempo": rows["tempo"].to_numpy(),
            "new": (self.profile_.cold & self.profile_.new)[picks],
            "model": models,
            "why": reasons,
        })


def _unit(M):
    return M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)


# ----------------------------------------------------------------------------- model cache
def _cache_key(world, params: dict) -> str:
    import hashlib
    import json

    from . import __version__

    if not world.fingerprint:
        return ""
    blob = json.dumps({"world": world.fingerprint, "params": params, "version": __version__,
                       "code": _code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _code_fingerprint() -> str:
    """A hash of the modules whose code shapes a trained model, so an edited library retrains."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256()
    for name in ("mixtape", "als", "text", "feedback", "evaluation", "cnn", "audio"):
        spec = importlib.util.find_spec(f"coursekit.{name}")
        if spec is not None and spec.origin:
            with open(spec.origin, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def trained(world, *, cache_dir=None, progress=None, audio: bool = True, **params) -> "DiscoverWeekly":
    """A fitted :class:`DiscoverWeekly` for ``world``: from the model cache, or trained and cached.

    The cache file's name is a hash of the world's files, the parameters, the
    coursekit version and the code of the modules that train it, so any change retrains instead of serving a stale
    model. A cache file that cannot be read is reported through ``progress``,
    deleted and rebuilt. Worlds generated in memory (no fingerprint) are never
    cached.

    Parameters
    ----------
    world : coursekit.world.World
    cache_dir : path-like, optional
        Default ``coursekit.datasets.cache_dir() / "models"``.
    progress : callable, optional
        Receives a short message before each long step.
    audio : bool
        Train the audio CNN (chapter 04) for the audio signal.
    **params
        Passed to :class:`DiscoverWeekly`.
    """
    import os
    import pickle
    import tempfile
    from pathlib import Path

    from .datasets import cache_dir as default_cache

    say = progress or (lambda message: None)
    folder = Path(cache_dir) if cache_dir is not None else default_cache() / "models"
    key = _cache_key(world, {**params, "audio": audio})
    path = folder / f"discover-weekly-{key}.pkl"
    if key and path.exists():
        try:
            with open(path, "rb") as fh:
                model = pickle.load(fh)
            if not isinstance(model, DiscoverWeekly):
                raise TypeError(f"holds a {type(model).__name__}")
            model.world_ = world
            say(f"loaded the trained models from {path}")
            return model
        except Exception as exc:  # a corrupt or foreign file: rebuild it
            say(f"the model cache {path} is unreadable ({exc}); retraining")
            path.unlink(missing_ok=True)
    if audio and "audio_fn" not in params:
        params["audio_fn"] = _audio_fn(world, progress=say)
    model = DiscoverWeekly(**params).fit(world, progress=say)
    if key:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(model, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return model


def _audio_fn(world, *, progress=None):
    """The chapter 04 audio model as a blend signal, when its module is available."""
    try:
        from .cnn import audio_vector_model
    except ImportError:
        return None
    return audio_vector_model(world, progress=progress)


def _getstate(self):
    state = dict(self.__dict__)
    state.pop("world_", None)  # the world is re-attached on load, not stored twice
    state.pop("validation_pairs_", None)  # tens of MB, only needed right after fit
    state["audio_fn"] = None   # a trained audio model lives on in audio_vectors_
    return state


def _copy(self):
    """A shallow copy that keeps the world (pickling leaves it out; copying should not)."""
    new = object.__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


DiscoverWeekly.__getstate__ = _getstate
DiscoverWeekly.__copy__ = _copy


# ------------------------------------------------------------------------------- pictures
def write_picture(table: pd.DataFrame, path, *, fmt: str | None = None) -> None:
    """Draw a mixtape: one tile per song, coloured by genre, with its reason.

    ``fmt`` is ".png" or ".html" (default: the suffix of ``path``).
    """
    import html
    from pathlib import Path
    from textwrap import fill

    from .genres import GENRE_COLORS

    fmt = (fmt or Path(path).suffix).lower()
    user = table["user_id"].iloc[0] if len(table) else "?"
    if fmt == ".html":
        tiles = "\n".join(
            f'<div class="tile" style="background:{GENRE_COLORS.get(r.genre, "#cccccc")}">'
            f'<b>{r.position}. {html.escape(str(r.title))}</b><br>{html.escape(str(r.artist))} · {html.escape(str(r.genre))}'
            f'<br><i>{html.escape(str(r.why))}</i></div>' for r in table.itertuples())
        Path(path).write_text(
            "<!doctype html><meta charset='utf-8'><title>Discover Weekly</title><style>"
            "body{font-family:sans-serif} .grid{display:grid;grid-template-columns:repeat(5,1fr);gap:6px}"
            ".tile{color:white;padding:8px;border-radius:6px;font-size:13px;text-shadow:0 0 2px #0008}</style>"
            f"<h1>Discover Weekly for user {user}</h1><div class='grid'>{tiles}</div>", encoding="utf-8")
        return
    if fmt != ".png":
        raise ValueError(f"a mixtape picture is .png or .html, got {fmt!r}")
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    cols = 5
    rows = max(1, -(-len(table) // cols))
    fig = Figure(figsize=(cols * 3.2, rows * 1.9))  # no pyplot: leaves the caller's backend alone
    ax = fig.subplots()
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.axis("off")
    for k, r in enumerate(table.itertuples()):
        x, y = k % cols, k // cols
        ax.add_patch(Rectangle((x + 0.03, y + 0.04), 0.94, 0.92, color=GENRE_COLORS.get(r.genre, "#cccccc")))
        ax.text(x + 0.08, y + 0.12, fill(f"{r.position}. {r.title}", 30), fontsize=8, weight="bold",
                va="top", color="white")
        ax.text(x + 0.08, y + 0.42, f"{r.artist} · {r.genre}", fontsize=7, va="top", color="white")
        ax.text(x + 0.08, y + 0.58, fill(str(r.why), 42), fontsize=6, va="top", color="white", style="italic")
    ax.set_title(f"Discover Weekly for user {user}: {len(table)} songs you have never played", fontsize=12)
    fig.savefig(path, dpi=110, bbox_inches="tight")
