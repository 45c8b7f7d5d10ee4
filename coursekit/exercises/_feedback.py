"""What every checker shares: the error that teaches, the success note, and the comparisons.

A checker calls the student's function on an example, compares the result with
the library's answer, and when they differ it looks for the *reason*: the
answer matches a typical mistake (transposed, forgot the weights, off by one in
k...) and the message names it. ``__tracebackhide__`` keeps the checker's own
frames out of IPython's traceback, so the student sees the message, not our code.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import hashlib
import inspect
import os
import textwrap
import traceback

import numpy as np
import scipy.sparse as sp

#: Tolerances of every numeric comparison: float rounding, not approximations.
RTOL, ATOL = 1e-6, 1e-9


class ExerciseFeedback(AssertionError):
    """A wrong answer, with a message that says in a student's words what is wrong.

    It is an ``AssertionError``, so nbgrader and pytest count it as a failed test.
    In a notebook, IPython shows it as the message alone (``_render_traceback_``):
    the student's own lines when their code raised, never the checker's.
    """

    def _render_traceback_(self) -> list[str]:
        lines = []
        cause = self.__cause__
        if cause is not None:
            frames = [f for f in traceback.extract_tb(cause.__traceback__)
                      if not f.filename.startswith(os.path.dirname(__file__))]
            if frames:
                lines += ["Traceback of your code (most recent call last):"]
                lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
                lines += [f"{type(cause).__name__}: {cause}", ""]
        return lines + [f"\x1b[0;31mExerciseFeedback\x1b[0m: {self}"]


class Passed(str):
    """The note a checker returns on a right answer; shows without quotes in a notebook."""

    def __repr__(self) -> str:
        return str(self)


_SECRET: contextvars.ContextVar = contextvars.ContextVar("coursekit_grading_secret", default=None)


@contextlib.contextmanager
def grading_secret(secret: str):
    """Within the block, :func:`hidden_seed` derives the hidden tests' inputs from ``secret``."""
    token = _SECRET.set(secret)
    try:
        yield
    finally:
        _SECRET.reset(token)


def hidden_seed(chapter: str, *key) -> int:
    """A seed for a hidden test, derived from the instructor's secret (same secret, same seed).

    The secret comes from the grader (:func:`grading_secret`), else from the
    ``COURSEKIT_GRADING_SECRET`` environment variable, else it is ``"practice"``
    (a student running the source notebook gets the practice inputs).
    """
    secret = _SECRET.get() or os.environ.get("COURSEKIT_GRADING_SECRET") or "practice"
    text = "\0".join([secret, str(chapter)] + [str(k) for k in key])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def passed(message: str) -> Passed:
    return Passed("✔ " + message)


def call(func, *args, name: str, **kwargs):
    """Call the student's function; turn "not written yet" and crashes into feedback."""
    __tracebackhide__ = True
    if not callable(func):
        raise ExerciseFeedback(f"`{name}` should be a function (def {name}(...): ...), "
                               f"but it is a {type(func).__name__}. Run the cell that defines it.")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseFeedback(f"`{name}` is not written yet: replace the line `raise NotImplementedError()` "
                               f"with your code, run that cell, then this one.") from None
    except ExerciseFeedback:
        raise
    except Exception as err:
        raise ExerciseFeedback(f"calling `{name}` on the example raised {type(err).__name__}: {err}. "
                               f"The traceback shows the line of your code that failed.") from err


def as_matrix(got, *, name: str, shape: tuple, rows: str, cols: str, allow_sparse: bool = True) -> np.ndarray:
    """The student's 2-D answer as a float array of the expected shape, or feedback on why not."""
    __tracebackhide__ = True
    if got is None:
        raise ExerciseFeedback(f"`{name}` returned None: did you forget the `return` line?")
    if sp.issparse(got):
        if not allow_sparse:
            raise ExerciseFeedback(f"`{name}` should return a dense numpy array, got a sparse "
                                   f"{type(got).__name__}; convert it with .toarray()")
        got = got.toarray()
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as err:
        raise ExerciseFeedback(f"`{name}` should return a numpy array of numbers, got a "
                               f"{type(got).__name__} that numpy cannot read as numbers ({err})") from None
    check_shape(arr, shape, name=name, rows=rows, cols=cols)
    if np.isnan(arr).any():
        r, c = np.argwhere(np.isnan(arr))[0]
        raise ExerciseFeedback(f"`{name}` has NaN values (the first at row {r}, column {c}); NaN usually comes "
                               f"from 0/0 or from the log of a negative number")
    return arr


def check_shape(arr, shape: tuple, *, name: str, rows: str, cols: str | None = None) -> None:
    """Feedback on a wrong shape, spotting the transposed (items × users) one."""
    __tracebackhide__ = True
    got = tuple(np.shape(arr))
    shape = tuple(shape)
    if got == shape:
        return
    if cols is None:
        raise ExerciseFeedback(f"`{name}` has the wrong shape: expected {shape} (one entry per {rows}), "
                               f"got {got}")
    if len(got) == 2 and got == shape[::-1] and shape[0] != shape[1]:
        raise ExerciseFeedback(f"`{name}` is {got[0]} × {got[1]} but should be {shape[0]} × {shape[1]} "
                               f"({rows} × {cols}): it looks transposed. Rows must be {rows} and columns "
                               f"{cols}, as in the `implicit` library (use .T if you built it the other way round).")
    raise ExerciseFeedback(f"`{name}` has the wrong shape: expected {shape} ({shape[0]} {rows} × "
                           f"{shape[1] if len(shape) > 1 else ''} {cols}), got {got}")


def close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


def match_mistakes(got, mistakes) -> None:
    """Raise the message of the first typical mistake that ``got`` reproduces.

    ``mistakes`` is a sequence of (value, message); values that could not be
    computed are None. Comparison is numeric (``close``) for arrays.
    """
    __tracebackhide__ = True
    for value, message in mistakes:
        if value is not None and close(got, value):
            raise ExerciseFeedback(message)


def first_difference(got, expected, *, row_labels=None, col_labels=None, rows="row", cols="column") -> str:
    """'at (user 101, track 7): expected 7, got 5 (3 of 8 entries differ)'."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    wrong = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    index = tuple(np.argwhere(wrong)[0])
    if len(index) == 2:
        r, c = index
        rl = row_labels[r] if row_labels is not None else r
        cl = col_labels[c] if col_labels is not None else c
        where = f"{rows} {rl}, {cols} {cl}"
    else:
        where = f"{rows} {row_labels[index[0]] if row_labels is not None else index[0]}"
    return (f"at ({where}) expected {expected[index]:.6g}, got {got[index]:.6g} "
            f"({int(wrong.sum())} of {wrong.size} entries differ)")


def uses_loop(func, *, over: tuple = ()) -> bool:
    """True when the function's source loops (for, while or a comprehension).

    With ``over`` (positions of parameters, e.g. ``(0,)``), only loops whose
    iterable mentions one of those parameters count: looping over the three
    signal weights is fine, looping over the rows of the log is not.
    """
    try:
        source = getattr(func, "_coursekit_source", None)  # the grader reads it from the notebook's text
        if source is None and hasattr(func, "_coursekit_source"):
            return False
        tree = ast.parse(textwrap.dedent(source if source is not None else inspect.getsource(func)))
        functions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        params = ([a.arg for a in functions[0].args.args] if functions else
                  list(inspect.signature(func).parameters))
    except (OSError, TypeError, SyntaxError, ValueError):
        return False  # no source to read (e.g. defined by exec): give the benefit of the doubt
    names = {params[i] for i in over if i < len(params)}

    def counts(iterable) -> bool:
        return not names or any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(iterable))

    for node in ast.walk(tree):
        if isinstance(node, ast.While):
            return True
        if isinstance(node, (ast.For, ast.AsyncFor)) and counts(node.iter):
            return True
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and any(
                counts(g.iter) for g in node.generators):
            return True
    return False


def as_index_list(got, *, name: str, length: int, what: str = "indices") -> np.ndarray:
    """A 1-D integer array of ``length`` entries, or feedback (None, floats, wrong k)."""
    __tracebackhide__ = True
    if got is None:
        raise ExerciseFeedback(f"`{name}` returned None: did you forget the `return` line?")
    arr = np.asarray(got)
    if arr.ndim != 1:
        raise ExerciseFeedback(f"`{name}` should return a 1-D array of {length} {what}, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ExerciseFeedback(f"`{name}` should return integer {what} (positions), got dtype {arr.dtype}: "
                                   f"did you return the scores instead of their positions (np.argsort gives "
                                   f"positions)?")
    off = len(arr) - length
    if off:
        raise ExerciseFeedback(f"`{name}` returned {len(arr)} {what} but k = {length}: "
                               + ("off by one in k — check the end of your slice ([:k], not [:k + 1] or [:k - 1])"
                                  if abs(off) == 1 else f"return exactly k = {length} of them"))
    return arr
