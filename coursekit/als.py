"""Alternating least squares on the lecture's objective, from scratch and with ``implicit``.

The lecture (collaborative filtering, part 1) fits user vectors ``x_u`` and song
vectors ``y_i`` to the implicit-feedback matrix by minimising

    L = Σ_{u,i} c_ui (p_ui − x_uᵀy_i − β_u − β_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

over *all* user–song pairs, where ``r_ui ≥ 0`` is the interaction strength,
``p_ui = 1`` if ``r_ui > 0`` else ``0`` (preference) and ``c_ui = 1 + α r_ui``
(confidence; ``c_ui = 1`` for the zeros). The biases ``β_u``, ``β_i`` are not
regularised, exactly as in the formula.

With the song side fixed, each user is an independent weighted least-squares
problem with a closed-form solution, and vice versa — hence *alternating*. With
the bias trick x̃_u = [x_u, β_u, 1], ỹ_i = [y_i, 1, β_i] we have
x̃_uᵀỹ_i = x_uᵀy_i + β_u + β_i, so the user step solves for z_u = [x_u, β_u]
against A = [Y, 1] with targets p_ui − β_i:

    (AᵀC_uA + λD) z_u = AᵀC_u(p_u − β_item),      D = diag(1, …, 1, 0).

Hu, Koren and Volinsky's trick makes it cheap: AᵀC_uA = AᵀA + Aᵀ(C_u − I)A, and
C_u − I is zero outside the songs the user played, so one sweep costs
O(nnz·f² + (users + items)·f³) instead of O(users·items·f²). The code solves
all users (then all songs) a block at a time with batched NumPy products; see
``_half_step`` for the two further tricks that make it fast (whitening by the
Cholesky factor of AᵀA + λD, and the Woodbury identity for short rows).

:class:`ALS` is the from-scratch estimator; :class:`ImplicitALS` (or
:func:`fit_implicit`) fits the same objective (without biases) with the
production library `implicit <https://github.com/benfred/implicit>`_ and exposes
the same attributes and methods.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._base import FactorRecommender, Recommendations, check_int, check_user_items, progress_bar

__all__ = [
    "ALS",
    "ImplicitALS",
    "Recommendations",
    "UserVector",
    "check_user_items",
    "fit_implicit",
    "implicit_confidence",
]

# Padded non-zeros per block of rows: the gathered factors of a block take
# _BLOCK_NNZ * (factors + 1) * 8 bytes (about 17 MB at 64 factors).
_BLOCK_NNZ = 1 << 15
_BLOCK_ROWS = 2048


# --------------------------------------------------------------------------- input


def _check_number(value, name: str, *, positive: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.number)) and np.isfinite(value)
    if not ok or not (value > 0 if positive else value >= 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {value!r}")
    return float(value)


def _check_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


# ------------------------------------------------------------------ the solver core


class _RowBlocks:
    """The non-zeros of a CSR matrix cut into blocks of rows of similar length.

    Rows are sorted by their number of non-zeros and grouped so that each block
    can be padded to a rectangle (rows x longest row) without much waste; the
    padded positions point at an extra all-zero factor row and carry weight 0.
    Each half-step then gathers the fixed side's vectors of a whole block at once
    and forms the block's Σ_i (c_ui − 1) a_i a_iᵀ with one batched matmul. Built
    once per fit: ``blocks`` holds (row ids, padded column ids, padded r_ui).
    """

    def __init__(self, R: sp.csr_matrix):
        n_rows, n_cols = R.shape
        degree = np.diff(R.indptr)
        order = np.argsort(degree, kind="stable")
        index_dtype = np.int32 if n_cols < 2**31 - 1 else np.int64
        self.n_rows = n_rows
        self.blocks = []
        start = 0
        while start < n_rows:
            # grow the block (degrees sorted ascending) while the padded size stays within
            # budget and the rows stay of similar length, so that little padding is wasted
            shortest = degree[order[start]]
            stop = start + 1
            limit = min(n_rows, start + _BLOCK_ROWS)
            while (
                stop < limit
                and degree[order[stop]] <= max(1.25 * shortest, shortest + 4)
                and (stop + 1 - start) * degree[order[stop]] <= _BLOCK_NNZ
            ):
                stop += 1
            rows = order[start:stop]
            longest = int(degree[rows].max())
            position = np.arange(longest)[None, :]
            valid = position < degree[rows][:, None]
            flat = np.where(valid, R.indptr[rows][:, None] + position, 0)
            r = np.where(valid, R.data[flat] if R.nnz else 0.0, 0.0)
            cols = np.where(valid, R.indices[flat] if R.nnz else 0, n_cols).astype(index_dtype)
            self.blocks.append((rows, cols, r))
            start = stop


def _initial_factors(rng: np.random.Generator, n: int, f: int) -> np.ndarray:
    """Starting item vectors: small normal noise (standard deviation 0.01).

    Small enough that the first user step is driven by the data, as in implicit
    (which starts from uniform noise in [0, 0.01)).
    """
    return 0.01 * rng.standard_normal((n, f))


def _augment(F: np.ndarray, use_biases: bool) -> np.ndarray:
    """A = [F, 1] with an extra all-zero row at the end for the padding."""
    n, f = F.shape
    A = np.zeros((n + 1, f + 1 if use_biases else f))
    A[:n, :f] = F
    if use_biases:
        A[:n, f] = 1.0
    return A


def _shared_system(F: np.ndarray, o: np.ndarray, lam: float, use_biases: bool):
    """What every row of a half-step shares: A = [F, 1] (+ a zero padding row), o (+ 0), G = AᵀA + λD."""
    f = F.shape[1]
    A = _augment(F, use_biases)
    o_ext = np.zeros(A.shape[0])
    if use_biases:
        o_ext[:-1] = o
    G = A.T @ A  # once per half-step; the bias coordinate is not regularised (D = diag(1, …, 1, 0))
    G[np.arange(f), np.arange(f)] += lam
    return A, o_ext, G


def _half_step(
    plan: _RowBlocks, F: np.ndarray, o: np.ndarray, alpha: float, lam: float, use_biases: bool, dtype=np.float64
):
    """Solve every row of ``plan`` exactly given the fixed side ``F`` and its biases ``o``.

    For row u (a user when ``F`` holds the item vectors, an item when it holds
    the user vectors) with A = [F, 1] (or F without biases) this solves

        (G + Aᵀ(C_u − I)A) z_u = AᵀC_u(p_u − o),      G = AᵀA + λD,

    for z_u = [x_u, β_u]. G is shared by all rows; with its Cholesky factor
    G = LLᵀ and the rows' vectors whitened once, ã_i = L⁻¹a_i, every system becomes

        (I + T_uᵀT_u) v_u = h_u,    T_u = (C_u − I)^½ Ã_u,  h_u = L⁻¹AᵀC_u(p_u − o),  z_u = L⁻ᵀv_u,

    where T_u has one row per non-zero of row u (Hu, Koren & Volinsky's trick:
    only the played items enter). When row u has fewer non-zeros than unknowns,
    the Woodbury identity (I + TᵀT)⁻¹ = I − Tᵀ(I + TTᵀ)⁻¹T swaps the d x d
    system for a smaller one. Both matrices have eigenvalues ≥ 1, so the solves
    are accurate. The per-row work runs in ``dtype`` (G, L and the result are
    always float64). Returns ``(Z, b)``: factors (n_rows x f) and biases (zeros
    without biases).
    """
    f = F.shape[1]
    A, o_ext, G = _shared_system(F, o, lam, use_biases)
    d = A.shape[1]
    L_inv = np.linalg.inv(np.linalg.cholesky(G))  # G = LLᵀ
    A_tilde = (A @ L_inv.T).astype(dtype, copy=False)  # rows ã_i = L⁻¹a_i; the padding row stays 0
    # Σ over all items of c_ui (p_ui − o_i) a_i with c = 1, p = 0 is −Aᵀo
    h_base = (L_inv @ -(A.T @ o_ext)).astype(dtype)
    o_ext = o_ext.astype(dtype)
    V = np.empty((plan.n_rows, d))
    buffer = np.empty(_BLOCK_NNZ * d + d, dtype=dtype)
    for rows, cols, r in plan.blocks:
        n_block, longest = cols.shape
        if longest == 0:  # no interactions: v_u = L⁻¹(−Aᵀo)
            V[rows] = h_base
            continue
        if n_block * longest * d <= buffer.size:
            T = buffer[: n_block * longest * d].reshape(n_block, longest, d)
            np.take(A_tilde, cols, axis=0, out=T, mode="clip")  # ã_i of the row's non-zeros, padded
        else:  # a single very long row
            T = A_tilde[cols]
        w = (alpha * r).astype(dtype, copy=False)  # c_ui − 1 (0 on the padding)
        p = (r > 0).astype(dtype)  # p_ui
        # h_u = L⁻¹AᵀC_u(p_u − o) = L⁻¹(−Aᵀo) + Σ_{i played} (c_ui p_ui − (c_ui − 1) o_i) ã_i
        coef = p + w * (p - o_ext[cols])
        h = np.matmul(coef[:, None, :], T)[:, 0, :] + h_base
        T *= np.sqrt(w)[:, :, None]  # T_u = (C_u − I)^½ Ã_u
        if longest >= d:  # v_u = (I + T_uᵀT_u)⁻¹ h_u, a d x d system
            M = np.matmul(T.transpose(0, 2, 1), T)
            M[:, np.arange(d), np.arange(d)] += 1.0
            V[rows] = np.linalg.solve(M, h[:, :, None])[:, :, 0]
        else:  # v_u = h_u − T_uᵀ(I + T_uT_uᵀ)⁻¹T_u h_u, a longest x longest system
            K = np.matmul(T, T.transpose(0, 2, 1))
            K[:, np.arange(longest), np.arange(longest)] += 1.0
            t = np.linalg.solve(K, np.matmul(T, h[:, :, None]))
            V[rows] = h - np.matmul(t.transpose(0, 2, 1), T)[:, 0, :]
    Z = V @ L_inv  # z_u = L⁻ᵀv_u, all rows at once
    if use_biases:
        return Z[:, :f].copy(), Z[:, f].copy()
    return Z, np.zeros(plan.n_rows)


def _half_step_cg(plan: _RowBlocks, F: np.ndarray, o: np.ndarray, alpha: float, lam: float, use_biases: bool,
                  Z0: np.ndarray, b0: np.ndarray, steps: int, dtype=np.float64):
    """A few conjugate-gradient steps on the systems of :func:`_half_step`, from the previous solution.

    The same systems M_u z_u = AᵀC_u(p_u − o), M_u = G + Aᵀ(C_u − I)A, as the
    exact step, but instead of forming and factorising each d x d matrix
    (O(n_u·d²) per row), CG needs only products M_u v = Gv + Σ_{i played}
    (c_ui − 1) a_i (a_iᵀv) (O(n_u·d) per row). Started from last sweep's z_u, a
    few steps are nearly as good as the exact solve (Takács, Pilászy & Tikk
    2011; implicit's default does 3). Everything runs in ``dtype``, a block of
    rows at a time: the played items' vectors of a block are gathered once
    (T_u = A_u, small enough to stay in the CPU cache) and every step is two
    batched products with them. The first residual needs only one pass, since

        b_u − M_u z_u = −Aᵀo − Gz_u + T_uᵀ(coef_u − w_u ∘ T_u z_u),

    with w_ui = c_ui − 1 and coef_ui = c_ui p_ui − w_ui o_i on the played items.
    Returns ``(Z, b)`` as :func:`_half_step`.
    """
    n, f = F.shape
    d = f + 1 if use_biases else f
    A = np.zeros((n + 1, d), dtype=dtype)  # A = [F, 1] and a zero row for the padding
    A[:n, :f] = F
    o_ext = np.zeros(n + 1, dtype=dtype)
    if use_biases:
        A[:n, f] = 1.0
        o_ext[:n] = o
    G = A.T @ A  # G = AᵀA + λD, the bias not regularised
    G[np.arange(f), np.arange(f)] += lam
    b_base = -(A.T @ o_ext)  # AᵀC(p − o) over the unplayed items
    Z = np.empty((plan.n_rows, d), dtype=dtype)  # starts from the previous solution
    Z[:, :f] = Z0
    if use_biases:
        Z[:, f] = b0
    buffer = np.empty(max([cols.size for _, cols, _ in plan.blocks] + [1]) * d, dtype=dtype)
    for rows, cols, r in plan.blocks:
        n_block, longest = cols.shape
        if longest == 0:  # no interactions: G z = −Aᵀo, solved exactly
            Z[rows] = np.linalg.solve(G.astype(np.float64), b_base.astype(np.float64))
            continue
        T = buffer[: n_block * longest * d].reshape(n_block, longest, d)
        np.take(A, cols, axis=0, out=T, mode="clip")  # a_i of the row's played items (padding: the zero row)
        w = (alpha * r).astype(dtype, copy=False)  # c_ui − 1 (0 on the padding)
        p = (r > 0).astype(dtype)  # p_ui
        z = Z[rows]
        coef = p + w * (p - o_ext[cols])
        coef -= w * np.matmul(T, z[:, :, None])[:, :, 0]
        res = np.matmul(coef[:, None, :], T)[:, 0, :]  # the residual b_u − M_u z_u
        res += b_base
        res -= z @ G
        direction = res.copy()
        rs = np.einsum("nd,nd->n", res, res)
        for k in range(steps):
            t = np.matmul(T, direction[:, :, None])[:, :, 0]
            t *= w
            Md = np.matmul(t[:, None, :], T)[:, 0, :]  # M_u d_u = G d_u + T_uᵀ(w_u ∘ T_u d_u)
            Md += direction @ G
            dMd = np.einsum("nd,nd->n", direction, Md)
            step = np.divide(rs, dMd, out=np.zeros_like(rs), where=dMd > 0)
            z += step[:, None] * direction
            if k == steps - 1:  # the next residual and direction are not needed
                break
            res -= step[:, None] * Md
            rs_new = np.einsum("nd,nd->n", res, res)
            beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
            direction *= beta[:, None]
            direction += res
            rs = rs_new
        Z[rows] = z
    Z = Z.astype(np.float64, copy=False)
    if use_biases:
        return Z[:, :f].copy(), Z[:, f].copy()
    return Z, np.zeros(plan.n_rows)


def _objective(R: sp.csr_matrix, alpha, lam, X, beta_u, Y, beta_i, use_biases) -> float:
    """The full objective L over all users x items, without forming a dense matrix.

    With s_ui = x_uᵀy_i + β_u + β_i and w_ui = c_ui − 1 (zero off the non-zeros):
    L = Σ_all (p − s)² + Σ_nz w (p − s)² + λ(‖X‖² + ‖Y‖²), and
    Σ_all (p − s)² = Σ_all s² − 2 Σ_nz p s + Σ_nz p, Σ_all s² = ⟨X̃ᵀX̃, ỸᵀỸ⟩.
    """
    if use_biases:
        Xt = np.column_stack([X, beta_u, np.ones(len(X))])  # x̃_u = [x_u, β_u, 1]
        Yt = np.column_stack([Y, np.ones(len(Y)), beta_i])  # ỹ_i = [y_i, 1, β_i]
    else:
        Xt, Yt = X, Y
    sum_s2 = float(np.sum((Xt.T @ Xt) * (Yt.T @ Yt)))
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
    cols = R.indices
    r = R.data
    p = (r > 0).astype(np.float64)
    w = alpha * r
    s = np.empty(R.nnz)
    step = 1 << 16
    for start in range(0, R.nnz, step):
        sl = slice(start, start + step)
        s[sl] = np.einsum("nd,nd->n", Xt[rows[sl]], Yt[cols[sl]])
    fit = sum_s2 - 2.0 * float(p @ s) + float(p.sum()) + float(w @ (p - s) ** 2)
    penalty = lam * (float(np.sum(X * X)) + float(np.sum(Y * Y)))
    return fit + penalty


# --------------------------------------------------------------- shared behaviour


class UserVector(NamedTuple):
    """A user's vector and bias, from :meth:`ALS.recalculate_user`.

    Attributes
    ----------
    factors : numpy.ndarray, shape (factors,)
        x_u.
    bias : float
        β_u (0.0 for a model without biases).
    """

    factors: np.ndarray
    bias: float


class _LeastSquaresModel(FactorRecommender):
    """What :class:`ALS` and :class:`ImplicitALS` share beyond the contract: the exact half-step.

    Needs the fitted factors and biases and the hyperparameters ``alpha``,
    ``regularization`` and ``use_biases``.
    """

    def _hyperparameters(self):
        """The checked (factors, regularization, alpha, iterations, dtype)."""
        return (
            check_int(self.factors, "factors", minimum=1),
            _check_number(self.regularization, "regularization", positive=True),
            _check_number(self.alpha, "alpha"),
            check_int(self.iterations, "iterations", minimum=1),
            _check_dtype(self.dtype),
        )

    def recalculate_user(self, user_row) -> UserVector:
        """The vector of a new user from their row, without refitting.

        Solves the user step of the objective for this one user with the item
        factors held fixed — the same closed form a sweep uses.

        Parameters
        ----------
        user_row : scipy.sparse.csr_matrix, shape (1, n_items)
            The user's interaction strengths r_ui.

        Returns
        -------
        UserVector
            ``factors`` x_u and ``bias`` β_u (unpack as ``x_u, beta_u = ...``).
        """
        self._check_fitted()
        R = check_user_items(user_row, name="user_row", n_users=1, n_items=self.n_items_)
        X, b = _half_step(
            _RowBlocks(R), self.item_factors_, self.item_biases_, self.alpha, self.regularization, self.use_biases,
            getattr(self, "dtype", np.float64),
        )
        return UserVector(X[0], float(b[0]))

    def fold_in_items(self, item_columns) -> np.ndarray:
        """ALS vectors of items from their columns, with the user vectors held fixed.

        The item half-step of the objective for just these items — what CF
        would give a new release once it has listens, in the same space as the
        fitted model (the item-side twin of :meth:`recalculate_user`).

        Parameters
        ----------
        item_columns : scipy.sparse.csr_matrix, shape (n_users, n_new_items)
            Interaction strengths (the same transform as the model was fit on,
            e.g. ``Feedback.scaled``) of the items to fold in.

        Returns
        -------
        numpy.ndarray, shape (n_new_items, factors)
        """
        self._check_fitted()
        if sp.issparse(item_columns) and item_columns.format != "csr":
            item_columns = item_columns.tocsr()
        R = check_user_items(item_columns, name="item_columns", n_users=self.n_users_,
                             n_items=item_columns.shape[1] if sp.issparse(item_columns) else None)
        Y, _ = _half_step(_RowBlocks(R.T.tocsr()), self.user_factors_, self.user_biases_, self.alpha,
                          self.regularization, self.use_biases)
        return Y

    def objective(self, user_items) -> float:
        """The lecture's objective L for the fitted parameters on ``user_items``."""
        self._check_fitted()
        R = check_user_items(user_items, n_users=self.n_users_, n_items=self.n_items_)
        return _objective(
            R, self.alpha, self.regularization, self.user_factors_, self.user_biases_,
            self.item_factors_, self.item_biases_, self.use_biases,
        )


# ------------------------------------------------------------------- from scratch


class ALS(_LeastSquaresModel):
    """Implicit-feedback matrix factorization by alternating least squares.

    Minimises the lecture's objective

        L = Σ_{u,i} c_ui (p_ui − x_uᵀy_i − β_u − β_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

    with p_ui = [r_ui > 0] and c_ui = 1 + α r_ui, by exact alternating
    closed-form steps, so the objective never increases from sweep to sweep.

    Parameters
    ----------
    factors : int, optional
        Length f of the user and item vectors. 64 is a common size for a few
        thousand items.
    regularization : float, optional
        λ, the weight of the penalty on ‖x_u‖² and ‖y_i‖² (not on the biases).
        The sum in L runs over all users x items, so λ is small next to the data
        term; 10 did best among 0.1, 1, 10 and 100 on the small world.
    alpha : float, optional
        α in c_ui = 1 + α r_ui: how much more a played item counts than an
        unplayed one, per unit of interaction strength. With r = stream counts
        (or their log) α = 1 did best among 1, 10 and 40 on the small world;
        Hu et al. used 40 with log-scaled counts.
    iterations : int, optional
        Number of sweeps (a user step followed by an item step).
    use_biases : bool, optional
        Fit the user and item biases β_u, β_i; if False they are fixed at 0.
    random_state : int, numpy.random.Generator or None, optional
        Seed for the initial item vectors (normal, standard deviation 0.01).
    dtype : numpy.float64 or numpy.float32, optional
        Precision of the per-row solves. float64 makes every step exact, so the
        objective provably never increases; float32 is about 1.5x faster (as
        implicit, which works in float32) and exact to float32 rounding. The
        learned arrays are float64 either way.
    solver : {"exact", "cg"}, optional
        "exact" solves every row's system exactly (the objective never
        increases); "cg" takes ``cg_steps`` conjugate-gradient steps from the
        previous sweep's vectors instead, as implicit does by default: cheaper
        per sweep at large f, and close to the exact solution after a few sweeps.
        With ``dtype=numpy.float32`` (as implicit) it runs at implicit's speed
        on one thread (``benchmarks/als.py --data targets``).
    cg_steps : int, optional
        Conjugate-gradient steps per row and half-step with ``solver="cg"``.

    Attributes
    ----------
    user_factors_ : numpy.ndarray, shape (n_users, factors)
        x_u for every user.
    item_factors_ : numpy.ndarray, shape (n_items, factors)
        y_i for every item.
    user_biases_, item_biases_ : numpy.ndarray, shape (n_users,) and (n_items,)
        β_u and β_i (zeros when ``use_biases=False``).
    item_popularity_ : numpy.ndarray, shape (n_items,)
        Number of training users who played each item (the fallback ranking).
    loss_history_ : list of float
        The objective L after each sweep.
    sweep_seconds_ : list of float
        Wall-clock seconds of each sweep, not counting the loss evaluation.
    sweep_cpu_seconds_ : list of float
        CPU seconds of this process (all its threads) in each sweep, likewise:
        the figure to compare on a busy machine.

    See Also
    --------
    ImplicitALS : the same objective (without biases) fitted by ``implicit``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.random(30, 20, density=0.2, format="csr", random_state=0)
    >>> model = ALS(factors=4, iterations=3, random_state=0).fit(R)
    >>> model.user_factors_.shape, model.item_factors_.shape
    ((30, 4), (20, 4))
    >>> ids, scores = model.recommend(0, R, N=5)
    >>> ALS(factors=4, iterations=3)
    ALS(factors=4, iterations=3)
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 10.0,
        alpha: float = 1.0,
        iterations: int = 15,
        use_biases: bool = True,
        random_state=None,
        dtype=np.float64,
        solver: str = "exact",
        cg_steps: int = 3,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_biases = use_biases
        self.random_state = random_state
        self.dtype = dtype
        self.solver = solver
        self.cg_steps = cg_steps

    def fit(self, user_items, *, progress=False) -> "ALS":
        """Fit the factors to a users x items matrix of interaction strengths.

        Parameters
        ----------
        user_items : scipy.sparse.csr_matrix, shape (n_users, n_items)
            r_ui ≥ 0; zeros (stored or not) mean "not played".
        progress : bool or callable, optional
            A progress bar over the sweeps (see :func:`coursekit._base.progress_bar`).

        Returns
        -------
        ALS
            The fitted estimator.
        """
        f, lam, alpha, iterations, dtype = self._hyperparameters()
        use_biases = bool(self.use_biases)
        R = check_user_items(user_items)
        n_users, n_items = R.shape
        rng = np.random.default_rng(self.random_state)

        user_plan = _RowBlocks(R)
        item_plan = _RowBlocks(R.T.tocsr())
        Y = _initial_factors(rng, n_items, f)
        beta_i = np.zeros(n_items)
        if self.solver == "cg":
            steps = check_int(self.cg_steps, "cg_steps")
            X, beta_u = _initial_factors(rng, n_users, f), np.zeros(n_users)  # CG starts from these

            def half_step(plan, F, o, Z0, b0):
                return _half_step_cg(plan, F, o, alpha, lam, use_biases, Z0, b0, steps, dtype)
        elif self.solver == "exact":
            X, beta_u = None, None

            def half_step(plan, F, o, Z0, b0):
                return _half_step(plan, F, o, alpha, lam, use_biases, dtype)
        else:
            raise ValueError(f"solver must be 'exact' or 'cg', got {self.solver!r}")
        self.loss_history_ = []
        self.sweep_seconds_ = []
        self.sweep_cpu_seconds_ = []
        bar = progress_bar(progress, total=iterations, desc="ALS", unit="sweep")
        try:
            for _ in range(iterations):
                start, start_cpu = time.perf_counter(), time.process_time()
                X, beta_u = half_step(user_plan, Y, beta_i, X, beta_u)  # users given items
                Y, beta_i = half_step(item_plan, X, beta_u, Y, beta_i)  # items given users
                self.sweep_seconds_.append(time.perf_counter() - start)
                self.sweep_cpu_seconds_.append(time.process_time() - start_cpu)
                self.loss_history_.append(_objective(R, alpha, lam, X, beta_u, Y, beta_i, use_biases))
                bar.update(1)
        finally:
            bar.close()
        self.user_factors_, self.item_factors_ = X, Y
        self.user_biases_, self.item_biases_ = beta_u, beta_i
        self._remember_training(R)
        return self


# --------------------------------------------------------------- the production path


def implicit_confidence(user_items, alpha: float) -> sp.csr_matrix:
    """The matrix to give ``implicit`` so that it optimises the lecture's objective.

    implicit ≥ 0.5 reads a stored value v as the confidence itself,
    C_ui = alpha_implicit · v, with preference p_ui = 1 where v > 0, and treats
    missing entries as C_ui = 1, p_ui = 0; its normal equations are
    (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = YᵀC_u p_u — the objective above without biases.
    So we store v = c_ui = 1 + α r_ui on the played items and fit implicit with
    ``alpha=1``. Stored zeros (r_ui = 0) are dropped, since implicit would read
    them as played with confidence 1.

    Parameters
    ----------
    user_items : scipy.sparse.csr_matrix
        Interaction strengths r_ui ≥ 0.
    alpha : float
        α in c_ui = 1 + α r_ui.

    Returns
    -------
    scipy.sparse.csr_matrix
        float32, values 1 + α r_ui on the non-zeros.
    """
    R = check_user_items(user_items)
    R.eliminate_zeros()
    R.data = 1.0 + alpha * R.data
    return R.astype(np.float32)


class ImplicitALS(_LeastSquaresModel):
    """The same objective (without biases) fitted by ``implicit``'s CPU ALS.

    Wraps ``implicit.cpu.als.AlternatingLeastSquares`` (the CPU class directly, so
    no GPU is ever picked up), feeds it :func:`implicit_confidence` and limits
    BLAS to ``blas_threads`` threads while it runs, as implicit recommends.
    Exposes the same attributes and methods as :class:`ALS`, as float64 arrays.

    Parameters
    ----------
    factors, regularization, alpha, iterations, random_state
        As in :class:`ALS`.
    use_cg : bool, optional
        Use implicit's conjugate-gradient solver (3 steps from the previous
        vector, its default and fastest); False solves each system exactly
        (Cholesky), like :class:`ALS`.
    num_threads : int, optional
        implicit's own threads (0 = all cores).
    blas_threads : int, optional
        BLAS threads while fitting.
    compute_loss : bool, optional
        Evaluate the lecture's objective after every sweep into ``loss_history_``
        (costs about a quarter of a sweep).
    dtype : numpy.float32 or numpy.float64, optional
        implicit's factor precision (its confidences are always float32).

    Attributes
    ----------
    user_factors_, item_factors_, user_biases_, item_biases_, item_popularity_
        As in :class:`ALS`; the biases are zeros.
    loss_history_ : list of float
        The objective after each sweep (empty unless ``compute_loss``).
    sweep_seconds_ : list of float
        Seconds per sweep as reported by implicit.
    sweep_cpu_seconds_ : list of float
        CPU seconds of this process from the end of one sweep to the end of
        the next, not counting the loss evaluation (the first one includes
        implicit's set-up).
    model_ : implicit.cpu.als.AlternatingLeastSquares
        The fitted implicit model.
    """

    use_biases = False

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 10.0,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state=None,
        use_cg: bool = True,
        num_threads: int = 1,
        blas_threads: int = 1,
        compute_loss: bool = False,
        dtype=np.float32,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.use_cg = use_cg
        self.num_threads = num_threads
        self.blas_threads = blas_threads
        self.compute_loss = compute_loss
        self.dtype = dtype

    def fit(self, user_items, *, progress=False) -> "ImplicitALS":
        """Fit with implicit; see :meth:`ALS.fit`."""
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        f, lam, alpha, iterations, dtype = self._hyperparameters()
        R = check_user_items(user_items)
        C = implicit_confidence(R, alpha)
        self.loss_history_ = []
        self.sweep_seconds_ = []
        self.sweep_cpu_seconds_ = []
        zeros_u, zeros_i = np.zeros(R.shape[0]), np.zeros(R.shape[1])

        bar = progress_bar(progress, total=iterations, desc="implicit ALS", unit="sweep")
        cpu_mark = [time.process_time()]

        def after_sweep(iteration, elapsed, loss):
            self.sweep_cpu_seconds_.append(time.process_time() - cpu_mark[0])
            self.sweep_seconds_.append(elapsed)
            bar.update(1)
            if self.compute_loss:
                X = model.user_factors.astype(np.float64)
                Y = model.item_factors.astype(np.float64)
                self.loss_history_.append(_objective(R, alpha, lam, X, zeros_u, Y, zeros_i, False))
            cpu_mark[0] = time.process_time()

        with threadpool_limits(self.blas_threads, "blas"):
            model = AlternatingLeastSquares(
                factors=f,
                regularization=lam,
                alpha=1.0,
                iterations=iterations,
                use_cg=self.use_cg,
                dtype=dtype,
                num_threads=self.num_threads,
                random_state=self.random_state,
            )
            try:
                model.fit(C, show_progress=False, callback=after_sweep)
            finally:
                bar.close()
        self.model_ = model
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float64)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float64)
        self.user_biases_, self.item_biases_ = zeros_u, zeros_i
        self._remember_training(R)
        return self


def fit_implicit(user_items, **params) -> ImplicitALS:
    """Fit ``implicit``'s ALS on the lecture's objective (without biases).

    Shorthand for ``ImplicitALS(**params).fit(user_items)``; the parameters are
    :class:`ImplicitALS`'s.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.random(30, 20, density=0.2, format="csr", random_state=0)
    >>> fit_implicit(R, factors=4, iterations=2, random_state=0).item_factors_.shape
    (20, 4)
    """
    return ImplicitALS(**params).fit(user_items)
