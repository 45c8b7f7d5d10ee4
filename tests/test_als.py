"""Tests for coursekit.als: the lecture's objective, solved exactly, and its production twin."""

import numpy as np
import pytest
import scipy.sparse as sp

from coursekit.als import (
    ALS,
    ImplicitALS,
    Recommendations,
    _half_step,
    _half_step_cg,
    _initial_factors,
    _objective,
    _RowBlocks,
    check_user_items,
    fit_implicit,
    implicit_confidence,
)
from coursekit.evaluation import recommend_all
from sklearn.exceptions import NotFittedError

EXACT = 1e-9  # tolerance for quantities computed two exact ways in float64


def random_interactions(n_users=30, n_items=20, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density) * rng.integers(1, 6, (n_users, n_items))
    return sp.csr_matrix(dense.astype(float))


def planted_groups(n_users=40, n_items=24, n_groups=4, share=0.6, seed=1):
    """Users and items in groups; users play a random share of their own group's items only."""
    rng = np.random.default_rng(seed)
    user_group = np.arange(n_users) % n_groups
    item_group = np.arange(n_items) % n_groups
    own = user_group[:, None] == item_group[None, :]
    played = own & (rng.random((n_users, n_items)) < share)
    for u in np.flatnonzero(played.sum(axis=1) < 2):  # at least two plays each
        played[u, np.flatnonzero(own[u])[:2]] = True
    R = sp.csr_matrix(played * rng.integers(1, 5, (n_users, n_items)).astype(float))
    return R, user_group, item_group


def with_stored_zero(R, i, j):
    """R with an explicitly stored 0 at (i, j)."""
    coo = R.tocoo()
    return sp.csr_matrix((np.r_[coo.data, 0.0], (np.r_[coo.row, i], np.r_[coo.col, j])), shape=R.shape)


# ------------------------------------------------------------ the objective, exactly


def dense_objective(R, alpha, lam, X, bu, Y, bi):
    r = R.toarray()
    p = (r > 0).astype(float)
    c = 1 + alpha * r
    s = X @ Y.T + bu[:, None] + bi[None, :]
    return float(np.sum(c * (p - s) ** 2) + lam * (np.sum(X**2) + np.sum(Y**2)))


def dense_user_step(R, alpha, lam, Y, bi, use_biases):
    """Minimise L over every user's [x_u, β_u] by the dense normal equations, one user at a time."""
    r = R.toarray()
    p = (r > 0).astype(float)
    n_items, f = Y.shape
    A = np.column_stack([Y, np.ones(n_items)]) if use_biases else Y
    D = np.diag([1.0] * f + ([0.0] if use_biases else []))
    offset = bi if use_biases else np.zeros(n_items)
    Z = []
    for u in range(r.shape[0]):
        C_u = np.diag(1 + alpha * r[u])
        Z.append(np.linalg.solve(A.T @ C_u @ A + lam * D, A.T @ C_u @ (p[u] - offset)))
    Z = np.array(Z)
    return (Z[:, :f], Z[:, f]) if use_biases else (Z, np.zeros(len(Z)))


@pytest.mark.parametrize("use_biases", [True, False])
def test_half_step_is_the_exact_minimiser(use_biases):
    # rows with 0, 1, 2 (< d: Woodbury path) and 3..6 (>= d: direct path) non-zeros, a stored zero
    R = sp.csr_matrix(
        np.array(
            [
                [0, 0, 0, 0, 0, 0, 0],
                [3, 0, 0, 0, 0, 0, 0],
                [1, 0, 2, 0, 0, 0, 0],
                [1, 1, 1, 0, 0, 0, 0],
                [0, 4, 1, 2, 5, 0, 0],
                [2, 1, 1, 1, 1, 1, 0],
            ],
            dtype=float,
        )
    )
    R = with_stored_zero(R, 3, 6)  # not played: c = 1, p = 0
    assert R.nnz == 17
    rng = np.random.default_rng(0)
    Y, bi = rng.normal(size=(7, 2)), rng.normal(size=7)
    X, bu = _half_step(_RowBlocks(R), Y, bi, 2.0, 0.5, use_biases)
    X_dense, bu_dense = dense_user_step(R, 2.0, 0.5, Y, bi, use_biases)
    np.testing.assert_allclose(X, X_dense, atol=EXACT)
    np.testing.assert_allclose(bu, bu_dense, atol=EXACT)
    # a block made only of users without interactions: z_u = G⁻¹(−Aᵀβ_item)
    R = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 0, 0], [0] * 7, [1, 2, 3, 4, 5, 6, 0]], dtype=float))
    X, bu = _half_step(_RowBlocks(R), Y, bi, 2.0, 0.5, use_biases)
    X_dense, bu_dense = dense_user_step(R, 2.0, 0.5, Y, bi, use_biases)
    np.testing.assert_allclose(X, X_dense, atol=EXACT)
    np.testing.assert_allclose(bu, bu_dense, atol=EXACT)


@pytest.mark.parametrize("use_biases", [True, False])
def test_objective_matches_the_dense_sum_over_all_pairs(use_biases):
    R = random_interactions(12, 9, seed=3)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3))
    bu, bi = (rng.normal(size=12), rng.normal(size=9)) if use_biases else (np.zeros(12), np.zeros(9))
    got = _objective(R, 3.0, 0.7, X, bu, Y, bi, use_biases)
    assert got == pytest.approx(dense_objective(R, 3.0, 0.7, X, bu, Y, bi), rel=EXACT)


@pytest.mark.parametrize("use_biases", [True, False])
def test_loss_never_increases(use_biases):
    R = random_interactions(40, 30, density=0.15, seed=2)
    model = ALS(factors=6, regularization=0.5, alpha=5.0, iterations=12, use_biases=use_biases, random_state=0)
    loss = np.array(model.fit(R).loss_history_)
    assert len(loss) == 12
    assert np.all(np.diff(loss) <= EXACT * loss[:-1])
    assert loss[-1] < loss[0]
    assert model.objective(R) == pytest.approx(loss[-1], rel=EXACT)
    bu, bi = model.user_biases_, model.item_biases_
    assert loss[-1] == pytest.approx(
        dense_objective(R, 5.0, 0.5, model.user_factors_, bu, model.item_factors_, bi), rel=EXACT
    )


def test_float32_solves_agree_with_float64():
    R = random_interactions(40, 30, density=0.15, seed=2)
    kwargs = dict(factors=6, regularization=0.5, alpha=5.0, iterations=8, random_state=0)
    exact = ALS(**kwargs).fit(R)
    fast = ALS(dtype=np.float32, **kwargs).fit(R)
    assert fast.item_factors_.dtype == np.float64
    np.testing.assert_allclose(fast.loss_history_, exact.loss_history_, rtol=1e-5)
    np.testing.assert_allclose(fast.predict(np.arange(40)), exact.predict(np.arange(40)), atol=1e-3)


def test_biases_are_zero_when_switched_off_and_learned_when_on():
    R = random_interactions(seed=4)
    off = ALS(factors=3, iterations=3, use_biases=False, random_state=0).fit(R)
    on = ALS(factors=3, iterations=3, use_biases=True, random_state=0).fit(R)
    assert not off.user_biases_.any() and not off.item_biases_.any()
    assert np.abs(on.item_biases_).max() > 1e-3
    # with more freedom the optimum can only be as good or better here
    assert on.loss_history_[-1] < off.loss_history_[-1]


def test_same_seed_same_model_and_seed_changes_it():
    R = random_interactions(seed=5)
    a = ALS(factors=4, iterations=3, random_state=7).fit(R)
    b = ALS(factors=4, iterations=3, random_state=7).fit(R)
    c = ALS(factors=4, iterations=3, random_state=8).fit(R)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.allclose(a.item_factors_, c.item_factors_)


@pytest.mark.parametrize("use_biases", [True, False])
def test_planted_groups_are_recovered(use_biases):
    R, user_group, item_group = planted_groups()
    model = ALS(factors=4, regularization=1.0, alpha=10.0, iterations=15, use_biases=use_biases, random_state=0)
    model.fit(R)
    played = R.toarray() > 0
    for u in range(R.shape[0]):
        unplayed_in_group = np.flatnonzero((item_group == user_group[u]) & ~played[u])
        ids, scores = model.recommend(u, R, N=len(unplayed_in_group) + 1)
        # the user's own group's unplayed items come first, then something else
        assert set(ids[:-1]) == set(unplayed_in_group)
        assert item_group[ids[-1]] != user_group[u]
        assert np.all(np.diff(scores) <= 0)
    # neighbours: same-group items are the most similar items
    ids, sims = model.similar_items(0, N=5)
    assert set(item_group[ids]) == {item_group[0]} and sims[0] > 0.9
    ids, _ = model.similar_users(0, N=3)
    assert set(user_group[ids]) == {user_group[0]} and 0 not in ids


# ------------------------------------------------------------------ the production twin


def test_implicit_confidence_is_one_plus_alpha_r_without_stored_zeros():
    R = with_stored_zero(sp.csr_matrix(np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])), 1, 0)
    C = implicit_confidence(R, 10.0)
    assert C.dtype == np.float32 and C.nnz == 3
    np.testing.assert_array_equal(C.toarray(), [[21.0, 0.0, 11.0], [0.0, 31.0, 0.0]])


def test_implicit_solves_the_same_objective_from_the_same_start():
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    R = random_interactions(25, 18, seed=6)
    ours = ALS(factors=5, regularization=0.3, alpha=4.0, iterations=6, use_biases=False, random_state=0).fit(R)
    with threadpool_limits(1, "blas"):
        theirs = AlternatingLeastSquares(
            factors=5, regularization=0.3, alpha=1.0, iterations=6, use_cg=False, dtype=np.float64, num_threads=1
        )
        theirs.item_factors = _initial_factors(np.random.default_rng(0), 18, 5)  # ALS's own start
        theirs.user_factors = np.zeros((25, 5))
        theirs.fit(implicit_confidence(R, 4.0).astype(np.float64), show_progress=False)
    np.testing.assert_allclose(theirs.user_factors, ours.user_factors_, atol=1e-8)
    np.testing.assert_allclose(theirs.item_factors, ours.item_factors_, atol=1e-8)


def test_fit_implicit_exposes_the_als_interface_and_agrees_on_the_planted_problem():
    R, user_group, item_group = planted_groups()
    kwargs = dict(factors=4, regularization=1.0, alpha=10.0, iterations=15, random_state=0)
    theirs = fit_implicit(R, use_cg=False, compute_loss=True, **kwargs)
    ours = ALS(use_biases=False, **kwargs).fit(R)
    assert isinstance(theirs, ImplicitALS)
    assert theirs.user_factors_.shape == (40, 4) and theirs.item_factors_.dtype == np.float64
    assert not theirs.item_biases_.any() and len(theirs.sweep_seconds_) == 15
    assert np.all(np.diff(theirs.loss_history_) <= 1e-5 * theirs.loss_history_[-1])  # float32 inside
    # different starting points, same objective: optima of about the same value
    assert theirs.loss_history_[-1] == pytest.approx(ours.loss_history_[-1], rel=0.03)
    # the same predictions, so the same planted items first (beyond them: near-ties)
    users = np.arange(R.shape[0])
    np.testing.assert_allclose(theirs.predict(users), ours.predict(users), atol=0.02)
    played = R.toarray() > 0
    top_theirs, top_ours = recommend_all(theirs, R, 3), recommend_all(ours, R, 3)
    for u in users:
        m = min(3, int(((item_group == user_group[u]) & ~played[u]).sum()))
        assert set(top_theirs[u, :m]) == set(top_ours[u, :m])
    # recalculate_user is the same closed form implicit uses
    row = R[5]
    np.testing.assert_allclose(
        theirs.recalculate_user(row).factors, theirs.model_.recalculate_user(0, implicit_confidence(row, 10.0)), atol=1e-4
    )


# ----------------------------------------------------------------- using the model


@pytest.fixture(scope="module")
def fitted():
    R = random_interactions(30, 20, density=0.25, seed=7)
    return R, ALS(factors=4, regularization=1.0, alpha=2.0, iterations=5, random_state=0).fit(R)


def test_recommend_ranks_unplayed_items_by_predicted_score(fitted):
    R, model = fitted
    result = model.recommend(3, R, N=5)
    assert isinstance(result, Recommendations) and not result.fallback
    ids, scores = result
    played = set(R[3].indices)
    scores_all = model.predict(3)
    expected = [i for i in np.argsort(-scores_all, kind="stable") if i not in played][:5]
    assert ids.tolist() == expected
    np.testing.assert_allclose(scores, scores_all[ids], atol=EXACT)
    # the user's own row gives the same answer as the full matrix
    assert model.recommend(3, R[3], N=5).ids.tolist() == expected
    unfiltered = model.recommend(3, R, N=20, filter_already_liked_items=False)
    assert unfiltered.ids.tolist() == np.argsort(-scores_all, kind="stable").tolist()


def test_predict_is_dot_product_plus_biases(fitted):
    R, model = fitted
    x, y = model.user_factors_, model.item_factors_
    expected = x[[1, 2]] @ y.T + model.user_biases_[[1, 2], None] + model.item_biases_
    np.testing.assert_allclose(model.predict([1, 2]), expected, atol=EXACT)
    np.testing.assert_allclose(model.predict([1, 2], [4, 7]), expected[[0, 1], [4, 7]], atol=EXACT)
    with pytest.raises(IndexError, match="0..29"):
        model.predict([30])


def test_user_without_history_gets_popularity_and_is_told_so(fitted):
    R, model = fitted
    empty_row = sp.csr_matrix((1, 20))
    result = model.recommend(0, empty_row, N=4)
    assert result.fallback
    popularity = np.bincount(R.indices, minlength=20)
    assert result.ids.tolist() == np.argsort(-popularity, kind="stable")[:4].tolist()
    np.testing.assert_array_equal(result.scores, popularity[result.ids])


def test_user_without_training_history_is_recalculated_from_the_new_row():
    R = random_interactions(30, 20, density=0.25, seed=8).tolil()
    R[2, :] = 0
    R = R.tocsr()
    R.eliminate_zeros()
    model = ALS(factors=4, regularization=1.0, iterations=4, random_state=0).fit(R)
    new_row = sp.csr_matrix(np.eye(20)[[1]] * 3 + np.eye(20)[[5]])
    result = model.recommend(2, new_row, N=3)
    x_u, beta_u = model.recalculate_user(new_row)
    scores = model.item_factors_ @ x_u + beta_u + model.item_biases_
    assert not result.fallback
    np.testing.assert_allclose(result.scores, np.sort(np.delete(scores, [1, 5]))[::-1][:3], atol=EXACT)


@pytest.mark.parametrize("use_biases", [True, False])
def test_recalculate_user_is_the_next_user_step(use_biases):
    R = random_interactions(seed=9)
    kwargs = dict(factors=4, regularization=1.0, alpha=3.0, use_biases=use_biases, random_state=0)
    model = ALS(iterations=3, **kwargs).fit(R)
    next_sweep = ALS(iterations=4, **kwargs).fit(R)  # its last user step starts from model's items
    for u in (0, 11):
        x_u, beta_u = model.recalculate_user(R[u])
        np.testing.assert_allclose(x_u, next_sweep.user_factors_[u], atol=EXACT)
        assert beta_u == pytest.approx(next_sweep.user_biases_[u], abs=EXACT)
    assert model.recalculate_user(R[0]).factors.shape == (4,)


# -------------------------------------------------------------------- bad input


def test_dense_input_is_refused_with_the_conversion():
    with pytest.raises(TypeError, match=r"dense ndarray of shape \(2, 2\).*scipy.sparse.csr_matrix\(user_items\)"):
        ALS().fit(np.eye(2))


def test_other_sparse_formats_are_refused_with_the_conversion():
    with pytest.raises(TypeError, match=r"COO.*user_items.tocsr\(\)"):
        check_user_items(sp.coo_matrix(np.eye(2)))


def test_negative_and_nan_values_are_counted():
    R = sp.csr_matrix(np.array([[1.0, -2.0, np.nan], [-1.0, 0.0, 3.0]]))
    with pytest.raises(ValueError, match="1 NaN value, 2 negative values"):
        ALS().fit(R)


def test_input_matrix_is_not_modified():
    R = sp.csr_matrix(np.array([[1, 0], [1, 1]]))
    check_user_items(R).data[:] = 5
    assert R.dtype.kind == "i" and R.data.tolist() == [1, 1, 1]


def test_unknown_user_id_names_the_valid_range(fitted):
    R, model = fitted
    with pytest.raises(IndexError, match=r"userid 30 is out of range.*valid rows 0..29"):
        model.recommend(30, R)
    with pytest.raises(IndexError, match=r"userid -1"):
        model.similar_users(-1)
    with pytest.raises(IndexError, match=r"valid columns 0..19"):
        model.similar_items(20)


def test_transposed_matrix_at_recommend_time_is_recognised(fitted):
    R, model = fitted
    with pytest.raises(ValueError, match=r"has 30 columns.*20 items.*items x users.*\.T\.tocsr\(\)"):
        model.recommend(0, R.T.tocsr())
    with pytest.raises(ValueError, match=r"own row \(1 x 20\) or the full matrix \(30 x 20\)"):
        model.recommend(0, R[:5])


def test_bad_hyperparameters_and_unfitted_model():
    R = random_interactions()
    with pytest.raises(ValueError, match="factors must be an integer >= 1, got 0"):
        ALS(factors=0).fit(R)
    with pytest.raises(ValueError, match="regularization must be a finite number > 0, got 0"):
        ALS(regularization=0).fit(R)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        ALS(dtype=np.int64).fit(R)
    with pytest.raises(NotFittedError, match="not fitted"):
        ALS().recommend(0, R)


def test_fold_in_reproduces_an_items_fitted_vector():
    R = sp.random(40, 25, density=0.2, format="csr", random_state=0)
    model = ALS(factors=4, iterations=3, random_state=0).fit(R)  # the last half-step solves the items
    Y = model.fold_in_items(R[:, [3, 7]])
    assert Y == pytest.approx(model.item_factors_[[3, 7]], abs=1e-8)
    with pytest.raises(ValueError, match=r"item_columns has shape \(10, 1\) but \(40, 1\)"):
        model.fold_in_items(R[:10, [3]])


# ------------------------------------------------------------- conjugate gradient


@pytest.mark.parametrize("use_biases", [True, False])
def test_cg_with_as_many_steps_as_unknowns_is_the_exact_step(use_biases):
    R = random_interactions(seed=3)
    rng = np.random.default_rng(0)
    Y, bi = rng.normal(size=(20, 4)), rng.normal(size=20) * use_biases
    Z0, b0 = rng.normal(size=(30, 4)), rng.normal(size=30)  # any start
    exact = _half_step(_RowBlocks(R), Y, bi, 2.0, 0.5, use_biases)
    d = 4 + use_biases  # CG solves a d x d system in d steps (in exact arithmetic)
    cg = _half_step_cg(_RowBlocks(R), Y, bi, 2.0, 0.5, use_biases, Z0, b0, d)
    np.testing.assert_allclose(cg[0], exact[0], atol=1e-8)
    np.testing.assert_allclose(cg[1], exact[1], atol=1e-8)
    few = _half_step_cg(_RowBlocks(R), Y, bi, 2.0, 0.5, use_biases, Z0, b0, 1)
    assert np.abs(few[0] - exact[0]).max() > 1e-3  # one step is not the solution: the test can fail


def test_cg_solver_reaches_about_the_exact_objective():
    R = random_interactions(60, 40, seed=4)
    kwargs = dict(factors=6, regularization=1.0, alpha=2.0, iterations=12, random_state=0)
    exact = ALS(**kwargs).fit(R)
    cg = ALS(solver="cg", **kwargs).fit(R)
    assert cg.loss_history_[-1] == pytest.approx(exact.loss_history_[-1], rel=0.01)
    with pytest.raises(ValueError, match="solver must be 'exact' or 'cg'"):
        ALS(solver="lu").fit(R)


def test_cg_in_float32_is_the_float64_step_to_float32_rounding():
    R = random_interactions(seed=5)
    rng = np.random.default_rng(1)
    Y, bi = rng.normal(size=(20, 4)), rng.normal(size=20)
    Z0, b0 = rng.normal(size=(30, 4)), rng.normal(size=30)
    wide = _half_step_cg(_RowBlocks(R), Y, bi, 2.0, 0.5, True, Z0, b0, 3)
    narrow = _half_step_cg(_RowBlocks(R), Y, bi, 2.0, 0.5, True, Z0, b0, 3, np.float32)
    assert narrow[0].dtype == np.float64  # the learned arrays are float64 either way
    np.testing.assert_allclose(narrow[0], wide[0], atol=1e-4)
    np.testing.assert_allclose(narrow[1], wide[1], atol=1e-4)


def test_sweep_times_are_recorded_per_sweep():
    R = random_interactions(seed=6)
    model = ALS(factors=3, iterations=4, solver="cg", random_state=0).fit(R)
    assert len(model.sweep_seconds_) == len(model.sweep_cpu_seconds_) == len(model.loss_history_) == 4
    assert all(t >= 0 for t in model.sweep_cpu_seconds_)
