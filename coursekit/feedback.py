"""Implicit feedback: from listening logs to the preference and confidence matrices.

Spotify has no star ratings. It has *implicit feedback*: how often you streamed a
track, whether you saved it to a playlist, whether you visited the artist's page
afterwards. Following Hu, Koren & Volinsky (2008), the evidence for user ``u``
and track ``i`` is folded into one strength

    r_ui = w_streams · streams + w_saved · saved + w_visits · artist_page_visits

summed over weeks, from which come

* the **preference** p_ui = 1 if r_ui > 0 else 0 (did the user show any interest?);
* the **confidence** c_ui = 1 + α · log(1 + r_ui / ε) (how sure are we?), or the
  linear form c_ui = 1 + α · r_ui. Unobserved pairs have c_ui = 1.

Matrices are ``scipy.sparse.csr_matrix``, users × tracks, as in ``implicit``.
Row and column positions map to ids through :class:`IdMap`.

Duplicate rule: rows with the same (user_id, track_id, week) are **summed**
(two log lines for the same week are two halves of the same listening), except
``saved``, which is a flag and stays at most 1; the number of merged rows is
reported in :attr:`Feedback.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "DEFAULT_WEIGHTS", "IdMap", "Feedback", "validate_listens", "interaction_strength",
    "build_feedback", "confidence_values", "split_by_week", "split_random", "heldout_matrix",
]

#: Weights of the three signals in r_ui: a save says more than a stream, and a
#: visit to the artist's page says more than a stream too. Streams are the unit.
DEFAULT_WEIGHTS = {"streams": 1.0, "saved": 5.0, "artist_page_visits": 2.0}

_KEYS = ("user_id", "track_id", "week")


@dataclass(frozen=True)
class IdMap:
    """Positions ↔ ids for the rows or columns of a matrix.

    Attributes
    ----------
    ids : numpy.ndarray
        ``ids[k]`` is the id at position ``k``.
    name : str
        What the ids are ("user_id", "track_id"), used in error messages.
    """

    ids: np.ndarray
    name: str = "id"
    _pos: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        ids = np.asarray(self.ids)
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"{self.name}: ids must be unique, {len(ids) - len(np.unique(ids))} repeat")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_pos", pd.Index(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, ids) -> np.ndarray:
        """Positions of ``ids``; raises ``KeyError`` naming the unknown ones."""
        scalar = np.ndim(ids) == 0
        pos = self._pos.get_indexer(np.atleast_1d(ids))
        if (pos < 0).any():
            bad = np.atleast_1d(ids)[pos < 0]
            raise KeyError(f"unknown {self.name}: {bad[:5].tolist()}{' ...' if len(bad) > 5 else ''} "
                           f"({len(bad)} of {len(pos)}); known ids run from {self.ids.min()} to {self.ids.max()}")
        return int(pos[0]) if scalar else pos

    def id(self, positions) -> np.ndarray:
        """Ids at ``positions``."""
        return self.ids[positions]


@dataclass
class Feedback:
    """The matrices of chapter 01, users × tracks, with their id maps.

    Attributes
    ----------
    strength : scipy.sparse.csr_matrix
        r_ui, the weighted evidence.
    preference : scipy.sparse.csr_matrix
        p_ui ∈ {0, 1}.
    confidence : scipy.sparse.csr_matrix
        c_ui on observed pairs (unobserved pairs have c_ui = 1 and are not stored).
    scaled : scipy.sparse.csr_matrix
        The strength after the confidence's transform, ``log(1 + r/ε)`` (or ``r``
        for the linear form), so that ``c = 1 + α · scaled``: the matrix to hand
        to an ALS model together with the same ``alpha``.
    users, tracks : IdMap
        Row and column ids.
    alpha, epsilon : float
        The confidence's parameters.
    scale : str
        "log" or "linear".
    weights : dict
        The signal weights used for r_ui.
    report : dict
        What the builder merged or found: rows read, duplicate rows summed,
        users and tracks without any listen.
    """

    strength: sp.csr_matrix
    preference: sp.csr_matrix
    confidence: sp.csr_matrix
    scaled: sp.csr_matrix
    users: IdMap
    tracks: IdMap
    alpha: float
    epsilon: float
    scale: str
    weights: dict
    report: dict

    @property
    def shape(self) -> tuple[int, int]:
        return self.strength.shape

    @property
    def density(self) -> float:
        """Share of user-track pairs with any evidence."""
        n_users, n_tracks = self.shape
        return self.preference.nnz / max(1, n_users * n_tracks)


def validate_listens(listens: pd.DataFrame, *, users=None, tracks=None,
                     signals=tuple(DEFAULT_WEIGHTS)) -> tuple[pd.DataFrame, dict]:
    """Check a listens table and merge its duplicate rows.

    Parameters
    ----------
    listens : pandas.DataFrame
        Columns ``user_id, track_id, week`` and the signal columns.
    users, tracks : array-like of ids, optional
        The known ids; rows with other ids are an error.
    signals : sequence of str
        Signal columns to check (counts: numbers, finite, ≥ 0).

    Returns
    -------
    listens : pandas.DataFrame
        A new frame, one row per (user_id, track_id, week), signals summed.
    report : dict
        ``rows_in``, ``duplicate_rows_merged``, ``rows_out``.

    Raises
    ------
    ValueError
        Naming the column and how many rows are affected, for: not a
        DataFrame, missing columns, an empty table, non-numeric values, NaN,
        infinite or negative counts, unknown user or track ids.
    """
    if not isinstance(listens, pd.DataFrame):
        raise ValueError(f"listens must be a pandas DataFrame with columns {list(_KEYS) + list(signals)}, "
                         f"got {type(listens).__name__}")
    needed = list(_KEYS) + list(signals)
    missing = [c for c in needed if c not in listens.columns]
    if missing:
        raise ValueError(f"listens is missing column(s) {missing}; it has {list(listens.columns)}. "
                         f"Expected {needed}")
    if len(listens) == 0:
        raise ValueError("listens is empty: there is no feedback to build a matrix from")
    for col in needed:
        values = listens[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_complex_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = int(numbers.isna().sum() - values.isna().sum())
            example = values[numbers.isna() & values.notna()].head(3).tolist()
            raise ValueError(f"column {col!r} has dtype {values.dtype}, expected numbers; {bad} row(s) are not "
                             f"numbers (e.g. {example}). Convert with pd.to_numeric(listens[{col!r}])")
        n_nan = int(values.isna().sum())
        if n_nan:
            raise ValueError(f"column {col!r} has {n_nan} missing (NaN) value(s); fill them (e.g. with 0 for a "
                             f"count) or drop those rows before building feedback")
        arr = values.to_numpy(dtype=float)
        n_inf = int(np.isinf(arr).sum())
        if n_inf:
            raise ValueError(f"column {col!r} has {n_inf} infinite value(s)")
        n_neg = int((arr < 0).sum())
        if n_neg:
            raise ValueError(f"column {col!r} has {n_neg} negative value(s); counts must be >= 0")
        if col in _KEYS and (arr != np.round(arr)).any():
            raise ValueError(f"column {col!r} must hold whole numbers (ids and weeks); "
                             f"{int((arr != np.round(arr)).sum())} row(s) do not")
    for col, known in (("user_id", users), ("track_id", tracks)):
        if known is not None:
            unknown = ~listens[col].isin(np.asarray(known))
            if unknown.any():
                examples = listens.loc[unknown, col].unique()[:5].tolist()
                raise ValueError(f"column {col!r} has {int(unknown.sum())} row(s) with ids not in the "
                                 f"{col.split('_')[0]}s table (e.g. {examples}); remove them or add those ids")
    frame = listens[needed].copy()
    for col in _KEYS:
        frame[col] = frame[col].astype(np.int64)
    merged = frame.groupby(list(_KEYS), as_index=False, sort=True)[list(signals)].sum()
    if "saved" in merged.columns:
        merged["saved"] = merged["saved"].clip(upper=1)  # a save is a flag: saving twice is still one save
    report = {"rows_in": len(frame), "duplicate_rows_merged": len(frame) - len(merged), "rows_out": len(merged)}
    return merged, report


def interaction_strength(listens: pd.DataFrame, weights: dict | None = None) -> pd.Series:
    """r_ui = Σ_weeks Σ_signals weight · count, indexed by (user_id, track_id)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    bad = {k: v for k, v in weights.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise ValueError(f"signal weights must be finite and >= 0, got {bad}")
    r = sum(float(w) * listens[col].astype(float) for col, w in weights.items())
    return r.groupby([listens["user_id"], listens["track_id"]]).sum()


def confidence_values(r, *, alpha: float = 5.0, epsilon: float = 1.0, scale: str = "log"):
    """c = 1 + α · log(1 + r/ε) (``scale="log"``) or c = 1 + α · r (``"linear"``).

    Works elementwise on numbers, arrays or the ``data`` of a sparse matrix.
    """
    if scale == "log":
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        return 1.0 + alpha * np.log1p(np.asarray(r, dtype=float) / epsilon)
    if scale == "linear":
        return 1.0 + alpha * np.asarray(r, dtype=float)
    raise ValueError(f"scale must be 'log' or 'linear', got {scale!r}")


def build_feedback(listens: pd.DataFrame, *, users=None, tracks=None, weights: dict | None = None,
                   alpha: float = 5.0, epsilon: float = 1.0, scale: str = "log") -> Feedback:
    """Build P, C and r (users × tracks CSR) from a listens table.

    Parameters
    ----------
    listens : pandas.DataFrame
        ``user_id, track_id, week, streams, saved, artist_page_visits``.
    users, tracks : array-like of ids, optional
        Rows and columns of the matrices, in this order. Pass the world's
        full ``users.user_id`` and ``tracks.track_id`` so that users and tracks
        with no listens (new releases!) still get a row or column; by default
        only the ids seen in ``listens``, sorted.
    weights : dict, optional
        Signal weights for r_ui, default :data:`DEFAULT_WEIGHTS`.
    alpha : float
        Confidence slope α.
    epsilon : float
        Scale ε of the log confidence.
    scale : {"log", "linear"}
        Form of the confidence.

    Returns
    -------
    Feedback

    Raises
    ------
    ValueError
        From :func:`validate_listens` when the log is malformed.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"user_id": [1, 1, 2], "track_id": [10, 11, 10], "week": [0, 0, 0],
    ...                     "streams": [3, 1, 1], "saved": [1, 0, 0], "artist_page_visits": [0, 0, 0]})
    >>> fb = build_feedback(log)
    >>> fb.preference.toarray()
    array([[1., 1.],
           [1., 0.]])
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    clean, report = validate_listens(listens, users=users, tracks=tracks, signals=tuple(weights))
    r = interaction_strength(clean, weights)
    user_map = IdMap(np.sort(clean["user_id"].unique()) if users is None else np.asarray(users), "user_id")
    track_map = IdMap(np.sort(clean["track_id"].unique()) if tracks is None else np.asarray(tracks), "track_id")
    rows = user_map.index(r.index.get_level_values(0).to_numpy())
    cols = track_map.index(r.index.get_level_values(1).to_numpy())
    strength = sp.csr_matrix((r.to_numpy(), (rows, cols)), shape=(len(user_map), len(track_map)))
    strength.eliminate_zeros()  # all-zero signals (e.g. weight 0) are not evidence
    strength.sort_indices()
    preference = strength.copy()
    preference.data = np.ones_like(preference.data)
    confidence = strength.copy()
    confidence.data = confidence_values(strength.data, alpha=alpha, epsilon=epsilon, scale=scale)
    scaled = strength.copy()
    scaled.data = np.log1p(strength.data / epsilon) if scale == "log" else strength.data.copy()
    report.update({
        "pairs": int(strength.nnz),
        "pairs_without_evidence": int(len(r) - strength.nnz),
        "users_without_listens": int((strength.getnnz(axis=1) == 0).sum()),
        "tracks_without_listens": int((strength.getnnz(axis=0) == 0).sum()),
    })
    return Feedback(strength, preference, confidence, scaled, user_map, track_map,
                    float(alpha), float(epsilon), scale, weights, report)


def split_by_week(listens: pd.DataFrame, *, test_weeks: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the first weeks, test on the last ``test_weeks``.

    The honest split for a weekly playlist: the model sees the past and is
    judged on the future.
    """
    weeks = np.sort(listens["week"].unique())
    if not 1 <= test_weeks < len(weeks):
        raise ValueError(f"test_weeks must be between 1 and {len(weeks) - 1} (the log has {len(weeks)} weeks), "
                         f"got {test_weeks}")
    cut = weeks[-test_weeks]
    return listens[listens["week"] < cut].copy(), listens[listens["week"] >= cut].copy()


def split_random(listens: pd.DataFrame, *, test_fraction: float = 0.2,
                 random_state: int | None = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random share of each user's tracks (all weeks of a held-out pair).

    Each user keeps at least one track in the training part; a user with a
    single track keeps it there.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(random_state)
    pairs = listens[["user_id", "track_id"]].drop_duplicates().sort_values(["user_id", "track_id"])
    pairs = pairs.assign(_r=rng.random(len(pairs)))
    pairs["_rank"] = pairs.groupby("user_id")["_r"].rank(method="first")
    n = pairs.groupby("user_id")["track_id"].transform("size")
    n_test = np.floor(n * test_fraction).astype(int).clip(upper=n - 1)
    test_pairs = pairs.loc[pairs["_rank"] <= n_test, ["user_id", "track_id"]]
    is_test = listens.set_index(["user_id", "track_id"]).index.isin(test_pairs.set_index(["user_id", "track_id"]).index)
    return listens[~is_test].copy(), listens[is_test].copy()


def heldout_matrix(test: pd.DataFrame, feedback: Feedback, *, only_new: bool = True) -> sp.csr_matrix:
    """Held-out positives as a users × tracks 0/1 CSR aligned with ``feedback``.

    Parameters
    ----------
    test : pandas.DataFrame
        Held-out listens (``user_id``, ``track_id``).
    feedback : Feedback
        The training feedback, whose id maps give the rows and columns.
    only_new : bool
        Keep only tracks the user had not played in training — what a
        Discover Weekly must find.
    """
    users = feedback.users.index(test["user_id"].to_numpy())
    tracks = feedback.tracks.index(test["track_id"].to_numpy())
    m = sp.csr_matrix((np.ones(len(test)), (users, tracks)), shape=feedback.shape)
    m.data[:] = 1.0
    if only_new:
        m = m - m.multiply(feedback.preference)
        m.eliminate_zeros()
    m.sort_indices()
    return m.tocsr()
