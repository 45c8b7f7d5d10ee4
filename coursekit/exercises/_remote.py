"""The kernel's side of grading: call the student's function on the grader's inputs, write what came back.

The grader runs in its own process; the student's notebook runs in a sandboxed
kernel. For each call a checker makes, the grader writes a request
(``CTL/req-N.json`` + ``.npz``, read-only to the kernel) and runs one line in
the kernel, ``answer(N, globals())``, which writes the response to
``RUN/resp-N``. Everything here runs with the student's code and could be
replaced by it: that changes only the values the student hands in, which the
grader judges in its own process, never the verdict.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from . import _values

__all__ = ["answer"]


def _error(err: BaseException) -> dict:
    return {"status": "raised", "type": type(err).__name__, "message": str(err)[:2000]}


def _describe(obj) -> dict:
    return {"status": "ok", "defined": True, "callable": callable(obj), "is_class": isinstance(obj, type),
            "type": type(obj).__name__}


def answer(number: int, namespace: dict) -> None:
    """Serve request ``number`` from the control folder; write the response to the run folder."""
    ctl, run = os.environ["COURSEKIT_GRADING_CTL"], os.environ["COURSEKIT_GRADING_RUN"]
    request = _values.read(os.path.join(ctl, f"req-{number}"))
    name = request["name"]
    if name not in namespace:
        response = {"status": "ok", "defined": False}
    elif request["op"] == "describe":
        response = _describe(namespace[name])
    else:
        target = namespace[name]
        args, kwargs = list(request.get("args", [])), dict(request.get("kwargs", {}))
        try:
            if request["op"] == "probe":
                module, func = request["probe"].split(":")
                result = getattr(importlib.import_module(module), func)(target, **kwargs)
            else:
                result = target(*args, **kwargs)
            response = {"status": "ok", "result": result,
                        "args_after": [a if isinstance(a, np.ndarray) else None for a in args]}
            same = [i for i, a in enumerate(args) if result is a]
            if same:
                response = {"status": "ok", "result": None, "result_is_arg": same[0],
                            "args_after": response["args_after"]}
        except BaseException as err:  # noqa: BLE001 - reported to the grader as what the function raised
            response = _error(err)
    _values.write(os.path.join(run, f"resp-{number}"), response)
