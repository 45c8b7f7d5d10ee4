"""Tests for coursekit._base: the input check, top_n, unit_rows and the progress convention."""

import numpy as np
import pytest
import scipy.sparse as sp

from coursekit._base import check_user_items, progress_bar, recommend_all, top_n, unit_rows


def test_top_n_by_hand_with_ties_to_the_lower_position():
    ids, values = top_n([0.1, 0.9, 0.5, 0.9, 0.5], 3)
    assert ids.tolist() == [1, 3, 2] and values.tolist() == [0.9, 0.9, 0.5]  # 2 before 4 at the cut-off
    ids, _ = top_n(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 5.0]]), 2)
    assert ids.tolist() == [[0, 2], [1, 2]]
    assert top_n([1.0, np.nan, 2.0], 3)[0].tolist() == [2, 0, 1]  # NaN last
    assert top_n([1.0, 2.0], 10)[0].tolist() == [1, 0]  # all of them when N is larger
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="N must be an integer >= 1"):
            top_n([1.0, 2.0], bad)


def test_unit_rows_by_hand():
    np.testing.assert_allclose(unit_rows([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]), [[0.6, 0.8], [0, 0], [0, -1]])
    np.testing.assert_allclose(unit_rows([1.0, 1.0]), [2**-0.5, 2**-0.5])
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        unit_rows([[np.inf, 1.0]])


def test_check_user_items_knows_the_orientation_and_refuses_huge_values():
    R = sp.csr_matrix(np.ones((3, 2)))
    assert check_user_items(R, n_users=3, n_items=2).shape == (3, 2)
    with pytest.raises(ValueError, match=r"shape \(3, 2\) but \(2, 3\).*items x users.*R.T.tocsr\(\)"):
        check_user_items(R, name="R", n_users=2, n_items=3)
    with pytest.raises(ValueError, match=r"shape \(3, 2\) but \(3, 5\)"):
        check_user_items(R, n_items=5)
    with pytest.raises(ValueError, match="2 values above 1e12"):
        check_user_items(sp.csr_matrix(np.array([[1e300, 1e13, 1e12]])))
    for empty in ((0, 0), (0, 3), (3, 0)):
        with pytest.raises(ValueError, match="at least one user"):
            check_user_items(sp.csr_matrix(empty))
    with pytest.raises(TypeError, match="real numbers"):
        check_user_items(sp.csr_matrix(np.array([[1 + 1j]])))


def test_progress_is_a_bool_or_a_tqdm_like_callable():
    calls = []

    class Bar:
        def __init__(self, **kw):
            calls.append(kw)

        def update(self, n=1):
            calls.append(n)

        def close(self):
            calls.append("closed")

    scores = np.arange(12.0).reshape(4, 3)
    played = sp.csr_matrix((4, 3))
    recommend_all(scores, played, 2, batch_size=3, progress=Bar)
    assert calls == [{"total": 2, "desc": "recommend", "unit": "batch"}, 1, 1, "closed"]
    progress_bar(False, total=3).update(1)  # no bar, no output
    with pytest.raises(TypeError, match="progress must be a bool"):
        progress_bar("yes", total=3)
