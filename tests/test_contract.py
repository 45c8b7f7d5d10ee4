"""The one recommender contract (coursekit._base), checked on every recommender of the course.

:class:`RecommenderContract` holds the checks; each ``Test...`` class below says
how to build its recommender, as implicit's ``RecommenderBaseTestMixin`` does.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from coursekit._base import Neighbours, Recommendations
from coursekit.als import ALS, ImplicitALS
from coursekit.baselines import Popularity, Random


def interactions(n_users=30, n_items=20, seed=0):
    """Users x items counts; every user and every item has at least two plays."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.25) * rng.integers(1, 6, (n_users, n_items))
    for u in range(n_users):
        dense[u, [u % n_items, (u + 7) % n_items]] += 1
    return sp.csr_matrix(dense.astype(float))


R = interactions()
N_USERS, N_ITEMS = R.shape


class RecommenderContract:
    """Checks every recommender must pass. A subclass defines the ``estimator`` fixture."""

    #: the model's scores for a user are the same on every call (not so for Random)
    deterministic = True
    #: the model has user and item vectors (similar_items / similar_users)
    has_factors = True

    @pytest.fixture(scope="class")
    def fitted(self, estimator):
        model = clone(estimator)
        assert model.fit(R) is model  # fit returns self
        return model

    # -- the estimator

    def test_clone_get_params_and_repr(self, estimator):
        params = estimator.get_params()
        copy = clone(estimator)
        assert type(copy) is type(estimator) and copy is not estimator
        assert copy.get_params().keys() == params.keys()
        assert repr(estimator).startswith(type(estimator).__name__ + "(")
        assert copy.set_params(**params) is copy

    def test_not_fitted_error_before_fit(self, estimator):
        model = clone(estimator)
        with pytest.raises(NotFittedError, match="not fitted"):
            model.recommend(0, R)
        with pytest.raises(NotFittedError):
            model.predict(np.array([0]))

    def test_clone_of_a_fitted_model_is_unfitted(self, fitted):
        with pytest.raises(NotFittedError):
            clone(fitted).recommend(0, R)

    # -- scores and recommendations

    def test_predict_shape(self, fitted):
        assert fitted.predict(np.array([0, 3, 5])).shape == (3, N_ITEMS)

    def test_recommend_excludes_liked_items_and_respects_N(self, fitted):
        for userid in (0, 7):
            result = fitted.recommend(userid, R, N=5)
            assert isinstance(result, Recommendations)
            ids, scores = result
            assert len(ids) == 5 and len(set(ids.tolist())) == 5
            assert not set(ids.tolist()) & set(R[userid].indices.tolist())
            assert np.all(np.diff(scores) <= 0)  # best first
        liked = R[0].nnz
        assert len(fitted.recommend(0, R, N=100).ids) == N_ITEMS - liked
        assert len(fitted.recommend(0, R, N=100, filter_already_liked_items=False).ids) == N_ITEMS

    def test_own_row_is_the_same_as_the_full_matrix(self, fitted):
        if self.deterministic:
            np.testing.assert_array_equal(fitted.recommend(4, R[4], N=6).ids, fitted.recommend(4, R, N=6).ids)

    def test_recommend_for_many_users(self, fitted):
        users = np.array([2, 0, 9])
        result = fitted.recommend(users, R, N=4)
        assert result.ids.shape == (3, 4) and result.scores.shape == (3, 4)
        for row, u in enumerate(users):
            assert not set(result.ids[row].tolist()) & set(R[u].indices.tolist())
            if self.deterministic:
                np.testing.assert_array_equal(result.ids[row], fitted.recommend(int(u), R, N=4).ids)
        # implicit's way: the rows of just these users
        np.testing.assert_array_equal(fitted.recommend(users, R[users], N=4).ids.shape, (3, 4))

    def test_similar_items_and_users(self, fitted):
        if not self.has_factors:
            assert not hasattr(fitted, "similar_items")
            return
        items = fitted.similar_items(3, N=4)
        assert isinstance(items, Neighbours) and items.ids.shape == (4,) and 3 not in items.ids
        users = fitted.similar_users(1, N=4)
        assert isinstance(users, Neighbours) and 1 not in users.ids
        assert fitted.similar_items(3, N=4, exclude_self=False).ids[0] == 3

    # -- bad input

    @pytest.mark.parametrize("bad, error, words", [
        (R.toarray(), TypeError, r"CSR matrix.*scipy\.sparse\.csr_matrix\("),
        (R.tocoo(), TypeError, r"COO.*tocsr\(\)"),
        (sp.csr_matrix((0, 0)), ValueError, r"shape \(0, 0\).*at least one user"),
        (sp.csr_matrix(np.array([[1.0, -1.0]])), ValueError, "1 negative value"),
        (sp.csr_matrix(np.array([[1.0, np.nan]])), ValueError, "1 NaN value"),
        (sp.csr_matrix(np.array([[1.0, 1e300]])), ValueError, "1 value above 1e12"),
    ], ids=["dense", "coo", "0x0", "negative", "nan", "huge"])
    def test_bad_matrices_get_clear_errors(self, estimator, bad, error, words):
        with pytest.raises(error, match=words):
            clone(estimator).fit(bad)

    def test_bad_recommend_arguments(self, fitted):
        with pytest.raises(ValueError, match=r"items x users.*\.T\.tocsr\(\)"):
            fitted.recommend(0, R.T.tocsr())
        with pytest.raises(ValueError, match="N must be an integer >= 1, got 0"):
            fitted.recommend(0, R, N=0)
        with pytest.raises(IndexError, match=f"valid rows 0..{N_USERS - 1}"):
            fitted.recommend(N_USERS, R)
        with pytest.raises(TypeError, match="userid must be an integer"):
            fitted.recommend(1.5, R)


class TestALS(RecommenderContract):
    @pytest.fixture(scope="class")
    def estimator(self):
        return ALS(factors=4, iterations=3, random_state=0)


class TestImplicitALS(RecommenderContract):
    @pytest.fixture(scope="class")
    def estimator(self):
        return ImplicitALS(factors=4, iterations=3, random_state=0)


class TestPopularity(RecommenderContract):
    has_factors = False

    @pytest.fixture(scope="class")
    def estimator(self):
        return Popularity()


class TestRandom(RecommenderContract):
    has_factors = False
    deterministic = False

    @pytest.fixture(scope="class")
    def estimator(self):
        return Random(random_state=0)


@pytest.mark.slow
class TestSparkALS(RecommenderContract):
    @pytest.fixture(scope="class")
    def estimator(self, spark):
        from coursekit.scale import SparkALS

        return SparkALS(factors=4, iterations=3, num_blocks=1, spark=spark)

    def test_clone_keeps_the_session(self, estimator):
        assert clone(estimator).spark is estimator.spark
