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
reported in :attr:`Feedback.report` (``duplicate_rows_merged``).

Bad input is refused with a ``ValueError`` (``TypeError`` for an argument of the
wrong kind) that names the column or argument and says how to fix it, never
turned into silently wrong numbers: ids that do not fit in int64 (uint64 ids
≥ 2**63 would wrap negative, a float id of 1e20 would become −2**63) or that a
float cannot hold exactly (above 2**53), missing or fractional ids, negative,
missing or infinite counts, counts so large that r_ui or c_ui overflows to
infinity, α or ε that are not finite and > 0. :func:`check_listens` is the
table check alone, for other modules that read listening tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import difflib
import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "DEFAULT_WEIGHTS", "IdMap", "Feedback", "check_listens", "validate_listens", "interaction_strength",
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

        The four matrices share one pattern (their ``indices`` and ``indptr``
        arrays): to change a pattern in place (``eliminate_zeros``,
        ``sum_duplicates``), work on a ``.copy()``.
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


_MAX_EXACT_FLOAT_ID = 2**53      # above this a float64 cannot hold every integer: ids would merge
_INT64_MAX = np.iinfo(np.int64).max


def check_listens(listens: pd.DataFrame, *, users=None, tracks=None, signals=tuple(DEFAULT_WEIGHTS),
                  keys=_KEYS, name: str = "listens") -> None:
    """Check a listening table; raise a ``ValueError`` that names the column and the fix.

    The check alone (nothing is changed or merged): :func:`validate_listens`
    and :func:`build_feedback` start with it, and other readers of
    listening tables can reuse it with their own column names.

    Parameters
    ----------
    listens : pandas.DataFrame
        Columns ``keys`` and ``signals``.
    users, tracks : array-like of int, optional
        The known ids; rows with other ids in ``user_id`` / ``track_id`` are an error.
    signals : sequence of str
        Count columns: numbers, finite, ≥ 0 (booleans count as 0/1).
    keys : sequence of str
        Id columns (default ``user_id, track_id, week``): whole numbers that fit
        in int64, exactly (a float column can hold ids up to 2**53 only).
    name : str
        What to call the table in messages.

    Raises
    ------
    ValueError
        Naming the column and how many rows are affected, for: not a
        DataFrame, missing columns (with the closest names it has), an empty
        table, non-numeric values, NaN, infinite or negative counts,
        fractional ids, ids beyond int64 or beyond 2**53 in a float column,
        unknown user or track ids.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1], "track_id": [2], "week": [0], "streams": [-3],
    ...                     "saved": [0], "artist_page_visits": [0]})
    >>> check_listens(log)
    Traceback (most recent call last):
    ...
    ValueError: column 'streams' has 1 negative value(s); counts must be >= 0
    """
    keys, signals = list(keys), list(signals)
    needed = keys + [c for c in signals if c not in keys]
    if not isinstance(listens, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame with columns {needed}, got {type(listens).__name__}")
    missing = [c for c in needed if c not in listens.columns]
    if missing:
        have = [str(c) for c in listens.columns]
        close = {c: difflib.get_close_matches(c, have, n=1, cutoff=0.6) for c in missing}
        hint = "; ".join(f"{m[0]!r} for {c!r}?" for c, m in close.items() if m)
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(listens.columns)}. Expected {needed}"
                         + (f". Rename, e.g. {name}.rename(columns={{{', '.join(f'{m[0]!r}: {c!r}' for c, m in close.items() if m)}}}) ({hint})"
                            if hint else ""))
    if len(listens) == 0:
        raise ValueError(f"{name} is empty: there is no feedback to build a matrix from")
    for col in needed:
        values = listens[col]
        is_key = col in keys
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_complex_dtype(values) \
                or (is_key and pd.api.types.is_bool_dtype(values)):
            expected = "integer ids" if is_key else "numbers (counts)"
            if values.dtype == object:
                numbers_ = pd.to_numeric(values, errors="coerce")
                bad = numbers_.isna() & values.notna()
                detail = (f"{int(bad.sum())} row(s) are not numbers (e.g. {values[bad].head(3).tolist()})"
                          if bad.any() else "the values are Python objects")
            else:
                detail = f"e.g. {values.head(3).tolist()}"
            raise ValueError(f"column {col!r} has dtype {values.dtype}, expected {expected}; {detail}. "
                             f"Convert with pd.to_numeric({name}[{col!r}])")
        n_nan = int(values.isna().sum())
        if n_nan:
            fix = "drop those rows" if is_key else "fill them (e.g. with 0 for a count) or drop those rows"
            raise ValueError(f"column {col!r} has {n_nan} missing (NaN) value(s); {fix} before building feedback")
        if is_key:
            _check_key_column(values, col)
            continue
        arr = values.to_numpy(dtype=float)
        n_inf = int(np.isinf(arr).sum())
        if n_inf:
            raise ValueError(f"column {col!r} has {n_inf} infinite value(s); counts must be finite")
        n_neg = int((arr < 0).sum())
        if n_neg:
            raise ValueError(f"column {col!r} has {n_neg} negative value(s); counts must be >= 0")
    for col, known in (("user_id", users), ("track_id", tracks)):
        if known is not None and col in listens.columns:
            unknown = ~listens[col].isin(_id_array(known, col.split("_")[0] + "s"))
            if unknown.any():
                examples = listens.loc[unknown, col].unique()[:5].tolist()
                raise ValueError(f"column {col!r} has {int(unknown.sum())} row(s) with ids not in the "
                                 f"{col.split('_')[0]}s table (e.g. {examples}); remove them or add those ids")


def _check_key_column(values: pd.Series, col: str) -> None:
    """Whole numbers that int64 holds exactly; uint64 ≥ 2**63 and floats beyond 2**53 are refused."""
    if pd.api.types.is_integer_dtype(values):
        if pd.api.types.is_unsigned_integer_dtype(values):
            big = values.to_numpy() > _INT64_MAX
            if big.any():
                raise ValueError(f"column {col!r} has {int(big.sum())} id(s) >= 2**63 (e.g. "
                                 f"{values[big].head(3).tolist()}), which do not fit in int64 and would wrap to "
                                 f"negative ids; re-number them (e.g. pd.factorize({col}) gives 0..n-1)")
        return
    arr = values.to_numpy(dtype=float)
    if np.isinf(arr).any():
        raise ValueError(f"column {col!r} has {int(np.isinf(arr).sum())} infinite value(s); ids must be whole numbers")
    fractional = arr != np.round(arr)
    if fractional.any():
        raise ValueError(f"column {col!r} must hold whole numbers (ids and weeks); {int(fractional.sum())} row(s) "
                         f"do not (e.g. {arr[fractional][:3].tolist()})")
    big = np.abs(arr) > _MAX_EXACT_FLOAT_ID
    if big.any():
        raise ValueError(f"column {col!r} holds floats and {int(big.sum())} of them are beyond 2**53 (e.g. "
                         f"{arr[big][:3].tolist()}), where a float cannot hold every integer (and beyond 2**63 an "
                         f"int64 cannot hold it at all): ids would merge or wrap. Read the ids as integers "
                         f"(e.g. pd.read_csv(..., dtype={{{col!r}: 'int64'}})) or re-number them with pd.factorize")


def _id_array(ids, name: str) -> np.ndarray:
    """``users`` / ``tracks`` as a 1-D int64 array, or a ValueError naming the argument."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integer ids, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        raise ValueError(f"{name} has ids >= 2**63 (e.g. {arr[arr > _INT64_MAX][:3].tolist()}), which do not fit "
                         f"in int64; re-number them")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        ok = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) <= _MAX_EXACT_FLOAT_ID)
        if ok.all():
            return arr.astype(np.int64)
        raise ValueError(f"{name} must hold whole-number ids below 2**53 when given as floats; "
                         f"{int((~ok).sum())} are not (e.g. {arr[~ok][:3].tolist()})")
    raise ValueError(f"{name} must hold integer ids, got dtype {arr.dtype} (e.g. {arr[:3].tolist()})")


def validate_listens(listens: pd.DataFrame, *, users=None, tracks=None,
                     signals=tuple(DEFAULT_WEIGHTS)) -> tuple[pd.DataFrame, dict]:
    """Check a listens table (:func:`check_listens`) and merge its duplicate rows.

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
        A new frame, one row per (user_id, track_id, week): duplicate rows
        are **summed** (``saved`` stays at most 1), ids are int64.
    report : dict
        ``rows_in``, ``duplicate_rows_merged``, ``rows_out``.

    Raises
    ------
    ValueError
        From :func:`check_listens`.
    """
    check_listens(listens, users=users, tracks=tracks, signals=signals)
    needed = list(_KEYS) + list(signals)
    frame = listens[needed].copy()
    for col in _KEYS:
        frame[col] = frame[col].astype(np.int64)
    merged = frame.groupby(list(_KEYS), as_index=False, sort=True)[list(signals)].sum()
    if "saved" in merged.columns:
        merged["saved"] = merged["saved"].clip(upper=1)  # a save is a flag: saving twice is still one save
    report = {"rows_in": len(frame), "duplicate_rows_merged": len(frame) - len(merged), "rows_out": len(merged)}
    return merged, report


def _check_weights(weights) -> dict:
    if not isinstance(weights, dict):
        raise TypeError(f"weights must be a dict of signal column -> weight, e.g. {DEFAULT_WEIGHTS}, "
                        f"got {type(weights).__name__}")
    not_numbers = {k: v for k, v in weights.items()
                   if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.number))}
    if not_numbers:
        raise TypeError(f"signal weights must be numbers, got {not_numbers}")
    bad = {k: v for k, v in weights.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise ValueError(f"signal weights must be finite and >= 0, got {bad}")
    if not weights or sum(float(v) for v in weights.values()) == 0:
        raise ValueError(f"weights are all 0 (or empty): no signal would count as evidence, got {weights}; "
                         f"give at least one positive weight, e.g. {DEFAULT_WEIGHTS}")
    return {k: float(v) for k, v in weights.items()}


def _check_positive(value, name: str) -> float:
    """A finite real number > 0 (α, ε), or an error naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name} must be a number > 0, got {value!r} ({type(value).__name__})")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}: with {name} <= 0 or not finite the "
                         f"confidence 1 + α·(...) would be < 1, NaN or infinite")
    return float(value)


def _check_scale(scale) -> str:
    if scale not in ("log", "linear"):
        raise ValueError(f"scale must be 'log' or 'linear', got {scale!r}")
    return scale


def interaction_strength(listens: pd.DataFrame, weights: dict | None = None) -> pd.Series:
    """r_ui = Σ_weeks Σ_signals weight · count, indexed by (user_id, track_id).

    Raises
    ------
    ValueError
        If the table fails :func:`check_listens`, a weight is negative or not
        finite, or r_ui overflows to infinity (counts near 1e308).
    """
    weights = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    check_listens(listens, signals=tuple(weights), keys=("user_id", "track_id"))
    return _strength(listens, weights)


def _strength(listens: pd.DataFrame, weights: dict) -> pd.Series:
    """:func:`interaction_strength` of a checked table."""
    with np.errstate(over="ignore"):
        r = sum(w * listens[col].astype(float) for col, w in weights.items())
        r = r.groupby([listens["user_id"], listens["track_id"]]).sum()
    _check_finite(r.to_numpy(), "the interaction strength r_ui", r.index)
    return r


def _sparse_strength(listens: pd.DataFrame, weights: dict, users: IdMap, tracks: IdMap) -> tuple[sp.csr_matrix, dict]:
    """r_ui of a checked table as users × tracks CSR, summed by sparse aggregation; and the merge report.

    The rows go into a users × (tracks · weeks) matrix, ``coo → csr``, which
    sums the duplicate (user, track, week) rows (and keeps a zero sum as an
    explicit zero, so its stored entries count the merged rows); ``saved`` is a
    flag, so the few rows with a save are summed apart, clipped at 1 per
    week, and added. Folding the weeks (column // weeks) and converting again
    sums over the weeks. No table of the listens' size is grouped or sorted:
    the peak is a few arrays of one number per listen. Same values as
    :func:`validate_listens` followed by :func:`interaction_strength`.
    """
    n_users, n_tracks = len(users), len(tracks)
    # the weeks' codes as np.unique's (sorted), by hashing: no sorted copies of a column of few values
    week, week_codes = pd.factorize(listens["week"].to_numpy(), sort=True)
    n_weeks = len(week_codes)
    index = np.int32 if max(n_users, n_tracks * n_weeks) < 2**31 else np.int64
    rows = _positions(users, listens["user_id"].to_numpy(np.int64), index)
    cols = _positions(tracks, listens["track_id"].to_numpy(np.int64), index)
    cols *= n_weeks
    cols += week.astype(index)        # column of (track, week)
    del week
    shape = (n_users, n_tracks * n_weeks)
    with np.errstate(over="ignore", invalid="ignore"):
        linear = np.zeros(len(listens))
        term = np.empty(len(listens))
        for col, w in weights.items():
            if col != "saved" and w:
                np.multiply(listens[col].to_numpy(), w, out=term, dtype=float)   # = w · float(count), one buffer
                linear += term
        del term
        by_week = sp.coo_matrix((linear, (rows, cols)), shape=shape).tocsr()   # sums duplicate rows
        del linear
        rows_out = by_week.nnz
        if weights.get("saved"):
            saved = listens["saved"].to_numpy(dtype=float)
            has = np.flatnonzero(saved)
            saves = sp.coo_matrix((saved[has], (rows[has], cols[has])), shape=shape).tocsr()
            np.minimum(saves.data, 1.0, out=saves.data)   # a save is a flag: saving twice in a week is one save
            saves.data *= weights["saved"]
            del saved, has
        else:
            saves = sp.csr_matrix(shape, dtype=float)
        del rows, cols
        # fold the weeks, (track, week) -> track, and add the saves: the next coo -> csr sums them all
        # (an addition of sparse matrices would drop the explicit zeros that count the pairs without evidence)
        week_rows = np.concatenate([np.repeat(np.arange(n_users, dtype=index), np.diff(m.indptr))
                                    for m in (by_week, saves)])
        week_cols = np.concatenate([by_week.indices, saves.indices]) // index(n_weeks)
        pairs = sp.coo_matrix((np.concatenate([by_week.data, saves.data]), (week_rows, week_cols)),
                              shape=(n_users, n_tracks))
        del by_week, saves, week_rows, week_cols
        pairs = pairs.tocsr()
    observed = pairs.nnz

    def pair(k):
        return users.id(int(np.searchsorted(pairs.indptr, k, side="right") - 1)), tracks.id(pairs.indices[k])

    _check_finite(pairs.data, "the interaction strength r_ui", pair)
    pairs.eliminate_zeros()  # all-zero signals (e.g. weight 0) are not evidence
    pairs.sort_indices()
    report = {"rows_in": len(listens), "duplicate_rows_merged": len(listens) - rows_out, "rows_out": rows_out,
              "pairs_observed": observed}
    return pairs, report


def _positions(id_map: IdMap, ids: np.ndarray, dtype, *, chunk: int = 1 << 22) -> np.ndarray:
    """``id_map.index(ids)`` as ``dtype``, a chunk at a time (no int64 array of every row beside the result)."""
    out = np.empty(len(ids), dtype=dtype)
    for start in range(0, len(ids), chunk):
        out[start:start + chunk] = id_map.index(ids[start:start + chunk])
    return out


def _check_finite(values: np.ndarray, what: str, pairs=None, *,
                  fix: str = "counts that large (near 1e308) are not listening counts; check the signal columns "
                             "or scale them down") -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        pair = None if pairs is None else pairs(first) if callable(pairs) else pairs[first]
        where = f" (e.g. user {pair[0]}, track {pair[1]})" if pair is not None else ""
        raise ValueError(f"{what} overflows to infinity for {int(bad.sum())} pair(s){where}: {fix}")


def confidence_values(r, *, alpha: float = 1.0, epsilon: float = 1.0, scale: str = "log"):
    """c = 1 + α · log(1 + r/ε) (``scale="log"``) or c = 1 + α · r (``"linear"``).

    Works elementwise on numbers, arrays or the ``data`` of a sparse matrix.

    Parameters
    ----------
    r : float or array_like
        Strengths r_ui, finite and >= 0.
    alpha : float
        Slope α, finite and > 0.
    epsilon : float
        Scale ε of the log form, finite and > 0 (not used by the linear form).
    scale : {"log", "linear"}

    Returns
    -------
    numpy.ndarray
        c >= 1, the shape of ``r``.

    Raises
    ------
    ValueError
        If α or ε is not finite and > 0, ``r`` has negative or non-finite
        values, or c overflows to infinity (e.g. α · r beyond 1e308).
    TypeError
        If α or ε is not a number.

    Examples
    --------
    >>> confidence_values([0.0, 4.0], alpha=0.5, scale="linear")
    array([1., 3.])
    """
    scale = _check_scale(scale)
    alpha = _check_positive(alpha, "alpha")
    if scale == "log":
        epsilon = _check_positive(epsilon, "epsilon")
    try:
        r = np.asarray(r, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"r must be numbers (strengths r_ui), got {type(r).__name__}: {err}") from None
    if r.size and not (np.isfinite(r).all() and (r >= 0).all()):
        raise ValueError(f"r must hold finite strengths >= 0; {int((~np.isfinite(r)).sum())} are NaN or "
                         f"infinite and {int((r < 0).sum())} negative")
    with np.errstate(over="ignore"):
        c = 1.0 + alpha * (np.log1p(r / epsilon) if scale == "log" else r)
    _check_finite(np.atleast_1d(c), f"the confidence c = 1 + alpha·{'log(1 + r/ε)' if scale == 'log' else 'r'} "
                                    f"(alpha={alpha:g}{f', epsilon={epsilon:g}' if scale == 'log' else ''})",
                  fix="lower alpha" + (", raise epsilon" if scale == "log" else "") + " or check the counts")
    return c


def build_feedback(listens: pd.DataFrame, *, users=None, tracks=None, weights: dict | None = None,
                   alpha: float = 1.0, epsilon: float = 1.0, scale: str = "log") -> Feedback:
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
        From :func:`check_listens` when the log is malformed; when ``alpha``
        or ``epsilon`` is not finite and > 0, a weight is negative or all are
        0, ``scale`` is unknown, ``users``/``tracks`` are not integer ids, or
        r_ui or c_ui overflows to infinity.
    TypeError
        When ``alpha``, ``epsilon`` or a weight is not a number.

    Notes
    -----
    Duplicate rows (the same user, track and week) are summed, not an
    error; ``report["duplicate_rows_merged"]`` counts them.

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
    weights = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    scale = _check_scale(scale)
    alpha = _check_positive(alpha, "alpha")
    epsilon = _check_positive(epsilon, "epsilon")   # checked for both forms (the linear one ignores it)
    users = None if users is None else _id_array(users, "users")
    tracks = None if tracks is None else _id_array(tracks, "tracks")
    check_listens(listens, users=users, tracks=tracks, signals=tuple(weights))
    user_map = IdMap(np.unique(listens["user_id"].to_numpy(np.int64)) if users is None else users, "user_id")
    track_map = IdMap(np.unique(listens["track_id"].to_numpy(np.int64)) if tracks is None else tracks, "track_id")
    strength, report = _sparse_strength(listens, weights, user_map, track_map)
    # the four matrices share one pattern (indices and indptr arrays): a quarter of the memory each
    def same_pattern(data):
        return sp.csr_matrix((data, strength.indices, strength.indptr), shape=strength.shape, copy=False)

    preference = same_pattern(np.ones_like(strength.data))
    confidence = same_pattern(confidence_values(strength.data, alpha=alpha, epsilon=epsilon, scale=scale))
    scaled = same_pattern(np.log1p(strength.data / epsilon) if scale == "log" else strength.data.copy())
    report.update({
        "pairs": int(strength.nnz),
        "pairs_without_evidence": int(report.pop("pairs_observed") - strength.nnz),
        "users_without_listens": int((strength.getnnz(axis=1) == 0).sum()),
        "tracks_without_listens": int((strength.getnnz(axis=0) == 0).sum()),
    })
    return Feedback(strength, preference, confidence, scaled, user_map, track_map,
                    float(alpha), float(epsilon), scale, weights, report)


def split_by_week(listens: pd.DataFrame, *, test_weeks: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the first weeks, test on the last ``test_weeks``.

    The honest split for a weekly playlist: the model sees the past and is
    judged on the future.

    Raises
    ------
    ValueError
        If ``listens`` fails :func:`check_listens` (its ids and weeks only) or
        ``test_weeks`` is not an integer between 1 and the number of weeks − 1.
    """
    check_listens(listens, signals=())
    if isinstance(test_weeks, (bool, np.bool_)) or not isinstance(test_weeks, (int, np.integer)):
        raise ValueError(f"test_weeks must be an integer number of weeks, got {test_weeks!r}")
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

    Raises
    ------
    ValueError
        If ``listens`` fails :func:`check_listens` (its ``user_id`` and
        ``track_id`` only) or ``test_fraction`` is not a number in (0, 1).
    """
    check_listens(listens, signals=(), keys=("user_id", "track_id"))
    if isinstance(test_fraction, (bool, np.bool_)) or not isinstance(test_fraction, (numbers.Real, np.number)) \
            or not 0 < test_fraction < 1:
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

    Raises
    ------
    ValueError
        If ``test`` fails :func:`check_listens` (``user_id``, ``track_id``).
    TypeError
        If ``feedback`` is not a :class:`Feedback`.
    KeyError
        Naming the ids of ``test`` that ``feedback`` does not know.
    """
    if not (isinstance(test, pd.DataFrame) and len(test) == 0 and {"user_id", "track_id"} <= set(test.columns)):
        check_listens(test, signals=(), keys=("user_id", "track_id"), name="test")   # an empty test is fine
    if not isinstance(feedback, Feedback):
        raise TypeError(f"feedback must be the Feedback that build_feedback returned for the training listens, "
                        f"got {type(feedback).__name__}")
    users = feedback.users.index(test["user_id"].to_numpy())
    tracks = feedback.tracks.index(test["track_id"].to_numpy())
    m = sp.csr_matrix((np.ones(len(test)), (users, tracks)), shape=feedback.shape)
    m.data[:] = 1.0
    if only_new:
        m = m - m.multiply(feedback.preference)
        m.eliminate_zeros()
    m.sort_indices()
    return m.tocsr()
