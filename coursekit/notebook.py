"""Helpers for the course notebooks.

:func:`skip_remaining_cells` lets a notebook stop cleanly when a parameter asks
for something it cannot do (for example chapter 05 on a real data set without
web text, audio or weekly listening): every later code cell prints one line
saying it was skipped and why, instead of failing with a traceback.
"""

from __future__ import annotations

__all__ = ["skip_remaining_cells"]


def skip_remaining_cells(reason: str) -> None:
    """From the next cell on, replace every code cell of this IPython session by a one-line note.

    Parameters
    ----------
    reason : str
        Printed by each skipped cell, e.g. ``"chapter 05 needs the generated world"``.

    Raises
    ------
    RuntimeError
        Outside IPython/Jupyter (a plain script should just stop).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = lambda: None  # noqa: E731
    shell = get_ipython()
    if shell is None:
        raise RuntimeError(f"skip_remaining_cells works inside a notebook; here, stop instead: {reason}")
    message = f"skipped: {reason}"

    def transform(lines):
        return [f"print({message!r})\n"]

    transform.coursekit_skip = True
    shell.input_transformers_post[:] = [t for t in shell.input_transformers_post
                                        if not getattr(t, "coursekit_skip", False)]
    shell.input_transformers_post.append(transform)
    print(f"The rest of this notebook is skipped: {reason}")
