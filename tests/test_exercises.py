"""The exercise track: checkers that explain, solutions that pass, stubs that fail, release, grading."""

import argparse
import io
from contextlib import redirect_stdout
from functools import partial
from pathlib import Path

import nbformat  # release and grade need the dev extra: nbformat, nbclient, nbgrader, ipykernel
import numpy as np
import pytest

from coursekit.exercises import (ExerciseFeedback, Passed, add_exercise_commands, ch01, ch02, ch03, ch05, ch06,
                                 grade, release, release_differences)
from coursekit.exercises import ch04  # its checkers import TensorFlow only when they need it

from exercise_files import CH01, CH05, RELEASE, ROOT, SOURCE, meta, submission  # noqa: E402  (shared with grading)

NOTEBOOKS = sorted(p.name for p in SOURCE.glob("*.ipynb"))


# ----------------------------------------------------------------------------- checkers that explain


def strength_ok(listens, weights, users, tracks):
    r = sum(w * listens[s] for s, w in weights.items())
    t = listens.assign(r=r).pivot_table(index="user_id", columns="track_id", values="r", aggfunc="sum")
    return t.reindex(index=users, columns=tracks).fillna(0.0).to_numpy(float)


def not_written(*args):
    raise NotImplementedError()


def unit(V):
    with np.errstate(invalid="ignore"):  # an all-zero row gives NaN, the mistake under test
        return V / np.linalg.norm(V, axis=1, keepdims=True)


def zscore(S, ddof=0):
    return (S - S.mean(axis=1, keepdims=True)) / S.std(axis=1, ddof=ddof, keepdims=True)


def minmax(S):
    low, high = S.min(axis=1, keepdims=True), S.max(axis=1, keepdims=True)
    return (S - low) / (high - low)


def unheard(S, R, k):
    S = np.array(S, dtype=float)
    S[R.toarray() > 0] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def top_cosine(V, q, k, *, self_out=True, normalise=True):
    W = unit(V) if normalise else V
    s = W @ W[q]
    if self_out:
        s[q] = -np.inf
    return np.argsort(-s, kind="stable")[:k]


def pick(scores, artist, n, cap):
    chosen, seen = [], {}
    for t in np.argsort(-scores, kind="stable"):
        if len(chosen) == n or np.isneginf(scores[t]):
            break
        if seen.get(artist[t], 0) < cap:
            chosen.append(t)
            seen[artist[t]] = seen.get(artist[t], 0) + 1
    return np.array(chosen + [-1] * (n - len(chosen)))


def picks(S, artist, n, cap):
    return np.array([pick(s, artist, n, cap) for s in S])


def user_update(Y, r, alpha, lam, *, confidences=True, rhs_confidences=True, target="p", one=1.0):
    p = (r > 0).astype(float)
    c = one + alpha * r if confidences else np.ones_like(r)
    b = Y.T @ ((c if rhs_confidences else 1.0) * (p if target == "p" else r))
    return np.linalg.solve(Y.T @ (c[:, None] * Y) + lam * np.eye(Y.shape[1]), b)


def cost(nnz, users, items, f):
    return np.column_stack([nnz, f**2 * nnz, f**3 * (users + items)])


def in_place_unheard(S, R, k):
    S[R.toarray() > 0] = -np.inf
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def precision_with(rec, rel, k, *, top=0, total="mean"):
    n = rec.shape[1] if top is None else k + top
    hits = np.array([len(set(r[:n].tolist()) & s) for r, s in zip(rec, rel)])
    per_user = hits / (n if top is None else k)
    return {"mean": per_user.mean(), "sum": per_user.sum(), "count": hits.sum()}[total]


WRONG_ANSWERS = [
    # (checker, wrong answer, words the message must contain)
    (ch01.check_strength_matrix, lambda *a: strength_ok(*a).T, "transposed"),
    (ch01.check_strength_matrix, lambda l, w, u, t: strength_ok(l[l.week == 1], w, u, t), "all* weeks"),
    (ch01.check_strength_matrix, lambda l, w, u, t: strength_ok(l, {"streams": 1.0}, u, t), "only the streams"),
    (ch01.check_strength_matrix, lambda *a: None, "forget the `return`"),
    (ch01.check_strength_matrix, not_written, "not written yet"),
    (ch01.check_preference_matrix, lambda R: R >= 0, "R > 0, not R >= 0"),
    (ch01.check_confidence_matrix, lambda R, a, e: np.where(R > 0, 1 + a * np.log1p(R / e), 0.0), "have confidence 0"),
    (ch01.check_confidence_matrix, lambda R, a, e: 1 + a * np.log10(1 + R / e), "log10"),
    (ch01.check_sparse_strength, lambda *a: strength_ok(*a), "scipy.sparse.csr_matrix"),
    (ch01.check_new_pairs, lambda l, w: set(zip(l[l.week == w].user_id, l[l.week == w].track_id)),
     "forgot to exclude heard songs"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: (X @ Y.T + bu[:, None] + bi).T, "items"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: X @ Y.T, "biases"),
    (ch02.check_user_update,
     lambda Y, r, a, lam: np.linalg.solve(Y.T @ ((1 + a * r)[:, None] * Y), Y.T @ ((1 + a * r) * (r > 0))),
     "regularization"),
    (ch02.check_top_k_cosine, lambda V, q, k: top_cosine(V, q, k + 1), "off by one in k"),
    (ch02.check_top_k_cosine, lambda V, q, k: top_cosine(V, q, k, self_out=False), "its own neighbour"),
    (ch02.check_top_k_cosine, lambda V, q, k: top_cosine(V, q, k, normalise=False), "not normalised"),
    (ch02.check_top_k_unheard, lambda S, R, k: np.argsort(-S, axis=1)[:, :k], "forgot to exclude heard songs"),
    (ch02.check_top_k_unheard, lambda S, R, k: unheard(S, R, k - 1), "off by one in k"),
    (ch02.check_precision_at_k, lambda rec, rel, k: np.mean([len(set(r[:k]) & s) / len(s) for r, s in zip(rec, rel)]),
     "recall"),
    # every mistake exercises 01, 02 and 05 name, caught by the visible example with its own hint
    (ch01.check_preference_matrix, lambda R: R, "strengths themselves"),
    (ch01.check_preference_matrix, lambda R: (R == 0) * 1.0, "swapped"),
    (ch01.check_confidence_matrix, lambda R, a, e: a * np.log(1 + R / e), "forgot the `1 +`"),
    (ch01.check_confidence_matrix, lambda R, a, e: 1 + a * np.log2(1 + R / e), "log2"),
    (ch01.check_confidence_matrix, lambda R, a, e: 1 + a * R, "linear form"),
    (ch01.check_confidence_matrix, lambda R, a, e: 1 + a * np.log(1 + R), "divide r_ui by ε"),
    (ch01.check_confidence_matrix, lambda R, a, e: 1 + np.log(1 + a * R / e), "outside the log"),
    (ch01.check_confidence_matrix, lambda R, a, e: a * np.log(1 + R / e) + (R > 0), "have confidence 0"),
    (ch05.check_blend, lambda cf, text, w: (1 - w) * zscore(cf) + w * zscore(text), "weights are swapped"),
    (ch05.check_blend, lambda cf, text, w: w * zscore(cf, ddof=1) + (1 - w) * zscore(text, ddof=1), "ddof"),
    (ch05.check_blend, lambda cf, text, w: w * minmax(cf) + (1 - w) * minmax(text), "min-max"),
    (ch05.check_mask_heard, lambda S, P: np.where(P, np.nan, S), "not NaN"),
    (ch05.check_mask_heard, lambda S, P: np.where(~P, -np.inf, S), "*not* played"),
    (ch05.check_mask_heard, lambda S, P: S.copy(), "nothing was masked"),
    (ch05.check_mask_heard, lambda S, P: np.putmask(S, P, -np.inf) or S, "in place"),
    (ch05.check_pick_with_cap, lambda s, a, n, cap: pick(s, a, n, cap)[::-1], "wrong order"),
    (ch05.check_pick_with_cap, lambda s, a, n, cap: np.argsort(-np.where(np.isneginf(s), 1e9, s))[:n], "-inf"),
    (ch05.check_pick_with_cap, lambda s, a, n, cap: pick(s, a, n, cap - 1), "allowed only"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: X @ Y.T + bi[None, :], "user bias"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: X @ Y.T + bu[:, None], "item bias"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: X @ Y.T + bu[None, :] + bi[None, :], "β_u went along the columns"),
    (ch02.check_predict_all, lambda X, Y, bu, bi: X @ Y.T + bu[:, None] + bi[:, None], "β_i went down the rows"),
    (ch02.check_user_update, partial(user_update, confidences=False), "left out the confidences"),
    (ch02.check_user_update, partial(user_update, rhs_confidences=False), "right-hand side"),
    (ch02.check_user_update, partial(user_update, target="r"), "preference p_u"),
    (ch02.check_user_update, partial(user_update, one=0.0), "you forgot the 1"),
    (ch02.check_top_k_cosine, lambda V, q, k: top_cosine(V, q, k - 1), "off by one in k"),
    (ch02.check_top_k_cosine, lambda V, q, k: top_cosine(V, q, k)[::-1], "wrong order"),
    (ch02.check_top_k_cosine, lambda V, q, k: np.argsort(np.where(np.arange(len(V)) == q, np.inf, unit(V) @ unit(V)[q]),
                                                         kind="stable")[:k], "least"),
    (ch02.check_top_k_unheard, lambda S, R, k: unheard(S, R, k + 1), "off by one in k"),
    (ch02.check_top_k_unheard, lambda S, R, k: np.argsort(np.where(R.toarray() > 0, np.inf, S), axis=1)[:, :k],
     "lowest"),
    (ch02.check_top_k_unheard, lambda S, R, k: unheard(S, R, k)[:, ::-1], "wrong order"),
    (ch02.check_top_k_unheard, in_place_unheard, "in place"),
    (ch02.check_precision_at_k, partial(precision_with, top=-1), "first k − 1 songs"),
    (ch02.check_precision_at_k, partial(precision_with, top=+1), "first k + 1 songs"),
    (ch02.check_precision_at_k, partial(precision_with, top=None), "whole list"),
    (ch02.check_precision_at_k, partial(precision_with, total="sum"), "added the users up"),
    (ch02.check_precision_at_k, partial(precision_with, total="count"), "count of hits"),
    (ch06.check_id_positions, lambda ids: (np.unique(ids), ids.astype(np.int32)), "wrap around"),
    (ch06.check_id_positions, lambda ids: np.unique(ids, return_inverse=True), "dtype is int64"),
    (ch06.check_id_positions, lambda ids: (np.unique(ids)[::-1], np.unique(ids, return_inverse=True)[1]),
     "not sorted"),
    (ch06.check_cost_features, lambda nnz, u, i, f: np.vstack([nnz, f**2 * nnz, f**3 * (u + i)]), "3 × 6"),
    (ch06.check_cost_features, lambda nnz, u, i, f: np.column_stack([nnz, f**3 * nnz, f**3 * (u + i)]),
     "not f³·nnz"),
    (ch06.check_cost_features, lambda nnz, u, i, f: np.column_stack([nnz, f**2 * nnz, f**2 * (u + i)]), "not f²"),
    (ch06.check_cost_features, lambda nnz, u, i, f: np.column_stack([nnz, f**2 * nnz, f**3 * u]),
     "users *and* items"),
    (ch06.check_fit_cost_model, lambda nnz, u, i, f, y: np.linalg.lstsq(cost(nnz, u, i, f), y, rcond=None),
     "first element"),
    (ch06.check_fit_cost_model, lambda nnz, u, i, f, y: np.linalg.lstsq(cost(nnz, u, i, f), y, rcond=None)[0][::-1],
     "reverse order"),
    (ch06.check_fit_cost_model, lambda nnz, u, i, f, y: np.r_[0.0, np.linalg.lstsq(cost(nnz, u, i, f)[:, 1:], y,
                                                                                  rcond=None)[0]],
     "left out the c·nnz term"),
    (ch03.check_document_frequency, lambda terms: {t: sum(d.count(t) for d in terms) for d in terms for t in d},
     "counted occurrences"),
    (ch03.check_term_frequency, lambda d: {t: float(d.count(t)) for t in d}, "not normalised"),
    (ch03.check_cultural_similarity, lambda V: V @ V.T, "not normalised"),
    (ch03.check_cultural_similarity, lambda V: unit(V) @ unit(V).T, "NaN"),
    (ch04.check_tempo_from_beats, lambda b: 60 / np.mean(np.diff(b)), "median"),
    (ch04.check_receptive_field, lambda layers: 1 + sum(k - 1 for _, k in layers), "product of the earlier pooling"),
    (ch04.check_temporal_pooling, lambda H: np.stack([H.mean(1), H.max(1), np.sqrt((H**2).mean(1))], axis=1),
     "np.concatenate"),
    (ch05.check_mask_heard, lambda S, P: np.where(P, 0.0, S), "-np.inf"),
    (ch05.check_blend, lambda cf, text, w: w * cf + (1 - w) * text, "not normalised"),
    (ch05.check_blend, lambda cf, text, w: w * zscore(cf.T).T + (1 - w) * zscore(text.T).T, "axis=1"),
    (ch05.check_pick_with_cap, lambda s, a, n, cap: np.argsort(-s)[:n], "ignored the artist cap"),
    (partial(ch05.check_pick_with_cap, max_per_artist=1), lambda s, a, n, cap: pick(s, a, n, cap + 1), "off by one"),
    (ch05.check_mixtape, lambda cf, text, P, a, w, n, cap: picks(w * zscore(cf) + (1 - w) * zscore(text), a, n, cap),
     "forgot to exclude heard songs"),
    (ch05.check_mixtape, lambda cf, text, P, a, w, n, cap: picks(np.where(P, -np.inf, w * cf + (1 - w) * text),
                                                                 a, n, cap),
     "not normalised"),
]


@pytest.mark.parametrize("checker, answer, words", WRONG_ANSWERS,
                         ids=[f"{getattr(c, 'func', c).__name__}-{i}" for i, (c, _, _) in enumerate(WRONG_ANSWERS)])
def test_checker_explains_the_mistake(checker, answer, words):
    with pytest.raises(ExerciseFeedback, match=None) as caught:
        checker(answer)
    assert words in str(caught.value), str(caught.value)
    assert isinstance(caught.value, AssertionError)  # nbgrader and pytest count it as a failed test


def test_students_see_the_message_and_their_own_lines_not_the_checkers():
    def precision(recommended, relevant, k):
        return 1 / 0

    with pytest.raises(ExerciseFeedback) as caught:
        ch02.check_precision_at_k(precision)
    lines = caught.value._render_traceback_()    # what IPython shows in the notebook
    text = "\n".join(lines)
    assert lines[-1].endswith(str(caught.value)) and "return 1 / 0" in text and "ZeroDivisionError" in text
    assert "_feedback.py" not in text and "ch02.py" not in text and "match_mistakes" not in text


def test_right_answers_pass():
    assert isinstance(ch01.check_strength_matrix(strength_ok), Passed)
    assert ch02.check_top_k_unheard(unheard).startswith("✔")
    assert ch05.check_pick_with_cap(pick).startswith("✔")
    assert repr(Passed("✔ fine")) == "✔ fine"  # shows without quotes in a notebook


def test_the_loop_rule_reads_the_source():
    def loop(V, q, k):
        s = np.array([v @ V[q] / np.linalg.norm(v) / np.linalg.norm(V[q]) for v in V])
        s[q] = -np.inf
        return np.argsort(-s)[:k]

    with pytest.raises(ExerciseFeedback, match="loop"):
        ch02.check_top_k_cosine(loop)


def test_example_terms_are_what_the_library_extracts():
    from coursekit.terms import adjectives

    assert [adjectives(doc) for doc in ch03.EXAMPLE_DOCUMENTS] == ch03.example_terms()


# ----------------------------------------------------------------------------- the notebooks


def run_in_process(nb):
    """Run the code cells in a fresh IPython shell (no kernel: fast); {grade_id: what the cell raised, or None}."""
    import builtins
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    hooks, names = (sys.displayhook, sys.excepthook), set(vars(builtins))
    shell = InteractiveShell.instance()
    errors = {}
    try:
        with redirect_stdout(io.StringIO()):
            for cell in nb.cells:
                if cell.cell_type == "code":
                    result = shell.run_cell(cell.source, store_history=False)
                    errors[meta(cell).get("grade_id")] = result.error_in_exec or result.error_before_exec
    finally:  # leave the test session as it was: no IPython hooks or builtins for the tests that follow
        InteractiveShell.clear_instance()
        sys.displayhook, sys.excepthook = hooks
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)
    return errors


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_pass_every_check_and_stubs_fail_them(name):
    solved = run_in_process(nbformat.read(SOURCE / name, as_version=4))
    assert {gid: e for gid, e in solved.items() if e is not None} == {}
    released = nbformat.read(RELEASE / name, as_version=4)
    stubs = run_in_process(released)
    checks = [meta(c)["grade_id"] for c in released.cells if meta(c).get("grade") and c.cell_type == "code"]
    assert len(checks) >= 3
    for gid in checks:
        assert isinstance(stubs[gid], ExerciseFeedback) and "not written yet" in str(stubs[gid]), (gid, stubs[gid])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_notebooks_follow_the_nbgrader_layout(name):
    nb = nbformat.read(SOURCE / name, as_version=4)
    ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(ids) == len(set(ids)) == len(nb.cells)  # every cell has its own grade_id
    assert all(meta(c)["schema_version"] == 3 for c in nb.cells)
    checks = [c for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")]
    solutions = [c for c in nb.cells if meta(c).get("solution") and not meta(c).get("grade")]
    manual = [c for c in nb.cells if meta(c).get("grade") and meta(c).get("solution")]
    assert 3 <= len(checks) == len(solutions) <= 5
    assert all(c.cell_type == "code" and meta(c)["locked"] and meta(c)["points"] > 0 for c in checks)
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in checks)
    assert all("### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source for c in solutions)
    assert len(manual) == 1 and manual[0].cell_type == "markdown" and meta(manual[0])["points"] > 0
    assert all(not c.get("outputs") for c in nb.cells)


def test_release_is_up_to_date_with_the_sources(tmp_path):
    written = release(SOURCE, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in RELEASE.glob("*.ipynb")) == NOTEBOOKS
    for path in written:
        fresh = nbformat.read(path, as_version=4)
        committed = nbformat.read(RELEASE / path.name, as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], (
            f"exercises/release/{path.name} is out of date: run `coursekit exercises release`")
        text = (RELEASE / path.name).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "Model answer" not in text
    assert release_differences(SOURCE, RELEASE) == []


def test_release_differences_notices_an_edited_source(tmp_path):
    source, target = tmp_path / "source", tmp_path / "release"
    source.mkdir()
    nb = nbformat.read(SOURCE / NOTEBOOKS[0], as_version=4)
    nbformat.write(nb, source / NOTEBOOKS[0])
    release(source, target)
    assert release_differences(source, target) == []
    nb.cells[-1].source += "\nOne more sentence."
    nbformat.write(nb, source / NOTEBOOKS[0])
    last = len(nb.cells) - 1
    assert release_differences(source, target) == [f"{NOTEBOOKS[0]}: cell {last} (end) differs from its source"]


# ----------------------------------------------------------------------------- grading


def _sandbox_problem():
    from coursekit.exercises._sandbox import sandbox_problem

    return sandbox_problem()


SANDBOX_PROBLEM = _sandbox_problem()
needs_sandbox = pytest.mark.skipif(SANDBOX_PROBLEM is not None, reason=f"no sandbox: {SANDBOX_PROBLEM}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if SANDBOX_PROBLEM:
        pytest.skip(f"grading needs the sandbox: {SANDBOX_PROBLEM}")
    base = tmp_path_factory.mktemp("grading")
    source, subs = base / "source", base / "submissions"
    source.mkdir()
    for name in (CH01, CH05):   # nobody hands in 05: its rows are "missing", and it costs no kernel
        (source / name).write_bytes((SOURCE / name).read_bytes())

    def hand_in(student, nb, name=CH01):
        (subs / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, subs / student / name)

    hand_in("alice", submission())                                       # all correct
    hand_in("alice", submission(), name="Untitled.ipynb")                # ... and a stray second copy
    hand_in("bob", submission({                                          # raises, and a wrong answer
        "ex1-solution": "def strength_matrix(listens, weights, users, tracks):\n    return 1 / 0",
        "ex3-solution": "def confidence_matrix(R, alpha, epsilon):\n    return 1 + alpha * np.log10(1 + R / epsilon)",
        "ex3-check": "pass  # the student emptied the check cell",
    }, extra_after="setup"))
    hand_in("carol", submission({"ex2-solution": "def preference_matrix(R):\n    while True:\n        pass"}))
    hand_in("dave", submission({                                        # deleted a check; hard-coded an answer
        "ex2-solution": "def preference_matrix(R):\n    return np.array([[1., 1., 0., 1.], [0., 1., 1., 1.]])",
    }, drop=("ex3-check",), answer_text="YOUR ANSWER HERE"))
    hand_in("erin", submission(), name="Copy of my homework.ipynb")     # renamed
    (subs / "frank").mkdir()
    (subs / "frank" / CH01).write_text("{ this is not a notebook")     # broken file
    table = grade(subs, base / "out", source_dir=source, timeout=10, exercise_timeout=4, secret="test secret")
    return table, base / "out"


def rows(table, student, notebook=CH01):
    return table[(table["student"] == student) & (table["notebook"] == notebook)].set_index("exercise")


def test_grade_writes_one_row_per_exercise_and_student(graded):
    table, out = graded
    on_disk = __import__("pandas").read_csv(out / "grades.csv")
    assert list(on_disk.columns) == ["student", "notebook", "exercise", "points", "max_points", "status"]
    assert len(on_disk) == 6 * (6 + 5) and set(on_disk["student"]) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert (on_disk[on_disk["notebook"] == CH05]["status"] == "missing").all()
    assert sorted((out / "feedback").iterdir()) == sorted(out / "feedback" / f"{s}.md" for s in
                                                         ["alice", "bob", "carol", "dave", "erin", "frank"])
    assert (out / "graded" / "alice" / CH01).exists()


def test_a_correct_submission_gets_every_point(graded):
    alice = rows(graded[0], "alice")
    assert (alice.drop("open-answer")["status"] == "passed").all()
    assert alice["points"].sum() == alice.drop("open-answer")["max_points"].sum() == 9
    assert alice.loc["open-answer", "status"] == "manual" and np.isnan(alice.loc["open-answer", "points"])
    # the stray copy is not mistaken for the chapter 05 notebook she did not hand in
    assert "`Untitled.ipynb` is not one of the exercise notebooks" in (graded[1] / "feedback" / "alice.md").read_text()


def test_errors_cost_only_their_exercise_and_checks_are_restored(graded):
    table, out = graded
    bob = rows(table, "bob")
    assert bob["status"].to_dict() == {"ex1-check": "failed", "ex2-check": "passed", "ex3-check": "failed",
                                       "ex4-check": "passed", "ex5-check": "passed", "open-answer": "manual"}
    feedback = (out / "feedback" / "bob.md").read_text()
    assert "ZeroDivisionError" in feedback and "log10" in feedback


def test_an_endless_loop_times_out_and_the_rest_is_graded(graded):
    carol = rows(graded[0], "carol")
    assert carol.loc["ex2-check", "status"] == "timeout" and carol.loc["ex2-check", "points"] == 0
    assert (carol.loc[["ex1-check", "ex3-check", "ex4-check", "ex5-check"], "status"] == "passed").all()
    assert "stopped after 4 s" in (graded[1] / "feedback" / "carol.md").read_text()


def test_deleted_checks_score_zero_and_hidden_tests_catch_hard_coding(graded):
    dave = rows(graded[0], "dave")
    assert dave.loc["ex3-check", "status"] == "deleted" and dave.loc["ex3-check", "points"] == 0
    assert dave.loc["ex2-check", "status"] == "failed"   # right on the example, wrong on the hidden test
    assert dave.loc["open-answer", "status"] == "unanswered" and dave.loc["open-answer", "points"] == 0
    assert "was deleted" in (graded[1] / "feedback" / "dave.md").read_text()


def test_renamed_and_broken_notebooks(graded):
    table, out = graded
    assert (rows(table, "erin").drop("open-answer")["status"] == "passed").all()
    assert "looks renamed" in (out / "feedback" / "erin.md").read_text()
    assert (rows(table, "frank")["status"] == "unreadable").all() and rows(table, "frank")["points"].sum() == 0


# ----------------------------------------------------------------------------- the commands


def parser():
    p = argparse.ArgumentParser(prog="coursekit")
    add_exercise_commands(p.add_subparsers(dest="command", required=True))
    return p


def test_release_check_command(capsys):
    args = parser().parse_args(["exercises", "release", "--check"])
    assert args.func(args) == 0
    assert "up to date" in capsys.readouterr().out


def test_grade_command(tmp_path, capsys):
    (tmp_path / "subs" / "zoe").mkdir(parents=True)      # a student who handed in nothing
    args = parser().parse_args(["exercises", "grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                "--secret", "s", "--unsafe-no-sandbox"])    # nothing to run: no sandbox needed
    assert args.func(args) == 0
    table = __import__("pandas").read_csv(tmp_path / "out" / "grades.csv")
    assert set(table["status"]) == {"missing"} and set(table["notebook"]) == set(NOTEBOOKS)
    printed = capsys.readouterr()
    assert "zoe" in printed.out and "WITHOUT A SANDBOX" in printed.out and "--unsafe-no-sandbox" in printed.err
    args = parser().parse_args(["exercises", "grade", str(tmp_path / "nowhere")])
    assert args.func(args) == 2


def test_the_same_secret_gives_the_same_hidden_inputs():
    from coursekit.exercises._feedback import grading_secret

    with grading_secret("term 1"):
        a, b = ch02.hidden_seed("ex1"), ch02.hidden_seed("ex1", 2)
        again = ch02.hidden_seed("ex1")
    with grading_secret("term 2"):
        other = ch02.hidden_seed("ex1")
    assert a == again and a != b and a != other


def test_without_a_sandbox_the_grader_refuses(tmp_path, monkeypatch):
    import coursekit.exercises.grading as grading

    monkeypatch.setattr(grading, "sandbox_problem", lambda: "bwrap not found: install bubblewrap (apt-get ...)")
    (tmp_path / "subs" / "zoe").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="install bubblewrap.*--unsafe-no-sandbox"):
        grade(tmp_path / "subs", tmp_path / "out", secret="s")
    monkeypatch.delenv("COURSEKIT_GRADING_SECRET", raising=False)
    with pytest.raises(ValueError, match="secret"):
        grade(tmp_path / "subs", tmp_path / "out", sandbox=False)


def test_grade_command_one_chapter_and_the_secret_file(tmp_path, capsys):
    (tmp_path / "subs" / "zoe").mkdir(parents=True)
    inside = ROOT / "pyproject.toml"        # a file in the repository: students can read it
    args = parser().parse_args(["exercises", "grade", str(tmp_path / "subs"), "--secret-file", str(inside)])
    assert args.func(args) == 2 and "outside" in capsys.readouterr().err
    secret = tmp_path / "secret.txt"
    secret.write_text("a phrase\n")
    args = parser().parse_args(["exercises", "grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                "--secret-file", str(secret), "--chapter", "02", "--unsafe-no-sandbox"])
    assert args.func(args) == 0
    table = __import__("pandas").read_csv(tmp_path / "out" / "grades.csv")
    assert set(table["notebook"]) == {"02_matrix_factorization.ipynb"} and table["max_points"].sum() == 12
    args = parser().parse_args(["exercises", "grade", str(tmp_path / "subs"), "--secret", "s", "--chapter", "09",
                                "--unsafe-no-sandbox"])
    assert args.func(args) == 2 and "09_*.ipynb" in capsys.readouterr().err
