"""Judging in the grader's own process: the check cells run here, the student's functions over there.

A check cell (restored from the *source* notebook, so it is the instructor's
code, never the student's) runs in the grader's process, in a namespace made by
the source notebook's read-only setup cells. Each name it uses that the setup
does not define is the student's: it is bound to a :class:`Remote`, whose calls
are carried out in the student's sandboxed kernel (:mod:`._remote`) and whose
return values come back as plain data (:mod:`._values`). The checker then
compares and explains as in the student's notebook — but here, where nothing
the student's code prints, patches or raises can reach it. Only a checker that
returns without an error scores.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
import time

import numpy as np

from . import _feedback
from ._session import KernelLost

__all__ = ["Remote", "BadAnswer", "setup_namespace", "student_definitions", "judge"]


class BadAnswer(BaseException):
    """The kernel's answer could not be read as plain data (not an ``Exception``: checkers must not catch it)."""


def _python(code: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(code)


def setup_namespace(source_nb) -> dict:
    """What the source notebook's read-only code cells (imports, examples) define, run here."""
    namespace: dict = {"__name__": "__coursekit_grading__"}
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or meta.get("solution"):
            continue
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                code = compile(_python(cell.source), f"<setup {meta.get('grade_id')}>", "exec")
                exec(code, namespace)  # noqa: S102 - the instructor's source cell, never the student's
            except Exception:  # noqa: BLE001 - e.g. the Colab install cell
                pass
    return namespace


def student_definitions(nb, check_ids: set) -> dict:
    """{name: source} of the top-level functions and classes in the student's cells (the last one wins).

    Read from the notebook text the grader holds, not from the kernel, so that
    a check on the code itself (no loop) sees what the student wrote.
    """
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade_id") in check_ids:
            continue
        try:
            code = _python(cell.source)
            tree = ast.parse(code)
        except Exception:  # noqa: BLE001 - a cell that is not Python defines nothing we can read
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[node.name] = ast.get_source_segment(code, node) or ""
    return found


class _Clock:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise KernelLost("timeout")
        return left


def _raised(response: dict) -> BaseException:
    kind = re.sub(r"\W", "", str(response.get("type", "Exception")))[:60] or "Exception"
    message = str(response.get("message", ""))[:2000]
    if kind == "NotImplementedError":
        return NotImplementedError(message)
    return type(kind, (Exception,), {"__module__": "student"})(message)


class Remote:
    """A student's function (or class) in the grader: calls go to the sandboxed kernel.

    Parameters
    ----------
    session : KernelSession
        The student's kernel.
    name : str
        The name in the student's notebook.
    source : str or None
        The definition's text, from the notebook (for checks on the code).
    clock : _Clock
        The time this exercise has left.
    """

    def __init__(self, session, name: str, *, source, clock):
        self._session, self.__name__, self._clock = session, name, clock
        self._coursekit_source = source

    def _ask(self, message: dict):
        try:
            response = self._session.request(message, timeout=self._clock.left())
        except KernelLost:
            raise
        except Exception as err:  # noqa: BLE001 - unreadable, missing, too large
            raise BadAnswer(f"what `{self.__name__}` returned could not be read back as plain data "
                            f"({type(err).__name__}: {str(err)[:200]})") from None
        if response.get("status") == "raised":
            raise _raised(response)
        if response.get("defined") is False:
            raise NameError(f"name '{self.__name__}' is not defined")
        return response

    def __call__(self, *args, **kwargs):
        response = self._ask({"op": "call", "name": self.__name__, "args": list(args), "kwargs": kwargs})
        for arg, after in zip(args, response.get("args_after") or []):
            if isinstance(arg, np.ndarray) and isinstance(after, np.ndarray) and after.shape == arg.shape:
                try:
                    arg[...] = after      # the student changed its input in place: so does the grader's copy
                except (ValueError, TypeError):
                    pass
        index = response.get("result_is_arg")
        if isinstance(index, int) and 0 <= index < len(args):
            return args[index]
        return response.get("result")

    def _coursekit_probe(self, probe: str, **kwargs):
        """Run ``module:function(student_object, **kwargs)`` in the kernel; its plain-data result."""
        return self._ask({"op": "probe", "name": self.__name__, "probe": probe, "kwargs": kwargs}).get("result")


def _free_names(code: str, namespace: dict) -> list[str]:
    tree = ast.parse(code)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    loaded = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    seen = []
    for name in loaded:
        if name not in namespace and name not in stored and not hasattr(builtins, name) and name not in seen:
            seen.append(name)
    return seen


def _opaque(type_name: str):
    kind = re.sub(r"\W", "", type_name)[:60] or "object"
    return type(kind, (), {"__module__": "student"})()


def judge(check_code: str, namespace: dict, session, *, definitions: dict, seconds: float,
          secret: str) -> tuple[str, str]:
    """Run one check cell here against the student's kernel: ("passed"|"failed"|"timeout"|"dead", message)."""
    code = _python(check_code)
    clock = _Clock(seconds)
    scope = dict(namespace)
    try:
        for name in _free_names(code, namespace):
            described = session.request({"op": "describe", "name": name}, timeout=clock.left())
            if not described.get("defined"):
                continue        # the check cell's NameError says that it was never defined
            if described.get("callable"):
                scope[name] = Remote(session, name, source=definitions.get(name), clock=clock)
            else:
                scope[name] = _opaque(str(described.get("type", "object")))
        with _feedback.grading_secret(secret), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "<check>", "exec"), scope)  # noqa: S102 - the instructor's check cell
    except KernelLost as lost:
        return lost.why, ""
    except BadAnswer as err:
        return "failed", str(err)
    except _feedback.ExerciseFeedback as err:
        return "failed", str(err)
    except NameError as err:
        return "failed", f"NameError: {err} — did the cell that defines it run without an error?"
    except NotImplementedError:
        return "failed", "NotImplementedError — this exercise is not written yet."
    except Exception as err:  # noqa: BLE001 - a value the checker could not make sense of
        return "failed", f"the checker could not use what your function returned ({type(err).__name__}: " \
                         f"{str(err)[:300]})"
    return "passed", ""
