"""Student versions of the exercise notebooks, made with nbgrader's own preprocessors.

:func:`release` runs each source notebook through the same steps as nbgrader's
``generate_assignment`` (without its course database): cells are locked,
solutions replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``
stubs, outputs cleared, hidden tests removed, checksums recorded. The released
notebooks are committed; :func:`release_differences` says when they no longer
match their sources.
"""

from __future__ import annotations

import copy
from pathlib import Path

__all__ = ["default_dir", "student_version", "release", "release_differences"]

_REPO = Path(__file__).resolve().parents[2]


def default_dir(name: str) -> Path:
    """``exercises/<name>`` of the working directory if it has one, else of the repository."""
    for base in (Path.cwd(), _REPO):
        if (base / "exercises" / name).is_dir():
            return base / "exercises" / name
    raise FileNotFoundError(f"no exercises/{name} folder in {Path.cwd()} or {_REPO}; run from the course's "
                            f"repository or pass the folder explicitly")


def _preprocessors():
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)

    # nbgrader's generate_assignment pipeline, minus IncludeHeaderFooter, InstantiateTests and
    # SaveCells (which needs a course database); the checksums come again after the hidden tests go
    return [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
            ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]


def student_version(nb):
    """The student's copy of a source notebook (a new ``NotebookNode``; ``nb`` is unchanged)."""
    student = copy.deepcopy(nb)
    resources: dict = {}
    for preprocessor in _preprocessors():
        student, resources = preprocessor.preprocess(student, resources)
    return student


def release(source_dir=None, release_dir=None) -> list[Path]:
    """Write the student version of every ``*.ipynb`` in ``source_dir`` to ``release_dir``.

    Parameters
    ----------
    source_dir : path, optional
        Notebooks with solutions and hidden tests (default ``exercises/source``).
    release_dir : path, optional
        Where the student versions go (default: ``release`` beside ``source_dir``);
        created if missing. Files of the same name are overwritten, others are left alone.

    Returns
    -------
    list of pathlib.Path
        The notebooks written.
    """
    import nbformat

    source_dir = default_dir("source") if source_dir is None else Path(source_dir)
    release_dir = source_dir.parent / "release" if release_dir is None else Path(release_dir)
    sources = sorted(source_dir.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source_dir}")
    release_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources:
        student = student_version(nbformat.read(path, as_version=4))
        target = release_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def _cells(nb) -> list:
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def release_differences(source_dir=None, release_dir=None) -> list[str]:
    """What differs between the committed student versions and fresh ones; empty when up to date."""
    import nbformat

    source_dir = default_dir("source") if source_dir is None else Path(source_dir)
    release_dir = source_dir.parent / "release" if release_dir is None else Path(release_dir)
    problems = []
    sources = {p.name: p for p in sorted(source_dir.glob("*.ipynb"))}
    released = {p.name: p for p in sorted(release_dir.glob("*.ipynb"))}
    for name in sorted(set(released) - set(sources)):
        problems.append(f"{name}: in {release_dir} but has no source notebook")
    for name, path in sources.items():
        if name not in released:
            problems.append(f"{name}: not released yet")
            continue
        fresh = _cells(student_version(nbformat.read(path, as_version=4)))
        committed = _cells(nbformat.read(released[name], as_version=4))
        if len(fresh) != len(committed):
            problems.append(f"{name}: {len(committed)} cells released, the source gives {len(fresh)}")
            continue
        for index, (a, b) in enumerate(zip(committed, fresh)):
            if a != b:
                gid = b[2].get("nbgrader", {}).get("grade_id", "")
                problems.append(f"{name}: cell {index} ({gid}) differs from its source")
                break
    return problems
