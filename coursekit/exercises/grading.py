"""Autograding a folder of submissions: ``SUBMISSIONS_DIR/<student>/<notebook>.ipynb``.

For each student and each source notebook, :func:`grade`

1. finds the student's notebook: by its file name, or — when it was renamed —
   by its content (the read-only cells it shares with a source notebook);
2. puts back what the student may not change, matched by nbgrader ``grade_id``:
   every check cell with its hidden tests, and every read-only cell. A check
   cell the student deleted is looked for by its visible text; if it is gone,
   the exercise scores 0 and the feedback says so;
3. runs the student's cells (not the checks) in a kernel inside the bubblewrap
   sandbox (:mod:`._sandbox`, :mod:`._session`), cell by cell, errors allowed,
   with a time budget per notebook; a cell past it kills the kernel, and a new
   one re-runs the cells before it and carries on;
4. judges each exercise in this process (:mod:`._judge`): the check cell from
   the source runs here, the student's functions are called in the kernel and
   their return values come back as plain data (:mod:`._values`); the hidden
   inputs are made from the instructor's secret. Only a checker that returns
   scores; an open question is left to the instructor (or 0 if unanswered).

It writes ``grades.csv`` (student, notebook, exercise, points, max_points,
status), ``feedback/<student>.md``, the executed notebooks under
``graded/<student>/`` and ``grading-run.json``, each through a temporary file
and a rename. One broken or hostile submission never stops the run.
"""

from __future__ import annotations

import copy
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._files import write_bytes
from ._judge import judge, setup_namespace, student_definitions
from ._sandbox import Limits, sandbox_problem
from ._session import KernelLost, KernelSession
from .releasing import default_dir, student_version

__all__ = ["grade", "GRADE_COLUMNS"]

#: Columns of grades.csv.
GRADE_COLUMNS = ["student", "notebook", "exercise", "points", "max_points", "status"]

_STUB = "YOUR ANSWER HERE"


# ------------------------------------------------------------------------ the source notebooks


@dataclass
class _Item:
    """One graded cell of a source notebook."""

    grade_id: str
    title: str
    points: float
    manual: bool          # an open question, graded by hand
    released_source: str  # what the student got (visible tests only, or the answer stub)


@dataclass
class _Source:
    name: str
    nb: object
    items: list
    restore: dict                                    # grade_id -> source cell (checks, read-only cells)
    locked_text: set = field(default_factory=set)    # (grade_id, source) of read-only cells, to recognise copies
    distinctive: set = field(default_factory=set)    # ... those that no other source notebook has


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _title(heading: str, fallback: str) -> str:
    line = heading.strip().splitlines()[0].lstrip("#").strip() if heading.strip() else fallback
    return re.sub(r"\s*\([^()]*points?[^()]*\)\s*$", "", line) or fallback


def _load_source(path: Path) -> _Source:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    released = {(_nbgrader(c).get("grade_id")): c for c in student_version(nb).cells}
    items, restore, locked = [], {}, set()
    heading = ""
    for cell in nb.cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            heading = cell.source.lstrip()
        if not gid:
            continue
        if meta.get("grade"):
            manual = bool(meta.get("solution"))
            items.append(_Item(gid, _title(heading, gid), float(meta.get("points", 0)), manual,
                               released[gid].source if gid in released else ""))
        if not meta.get("solution") and (meta.get("grade") or meta.get("locked")):
            restore[gid] = cell
            locked.add((gid, released[gid].source if gid in released else cell.source))
    return _Source(path.name, nb, items, restore, locked)


# ------------------------------------------------------------------------ finding the notebooks


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _likeness(nb, source: _Source) -> int:
    """How many of the source's own read-only cells (not shared with another source) the notebook holds."""
    cells = {(_nbgrader(c).get("grade_id"), c.source) for c in nb.cells}
    return len(cells & source.distinctive)


def _match(files: list[Path], sources: dict) -> tuple[dict, list[str]]:
    """{source name: (path, notebook or error text)} and notes on renamed, extra or unknown files."""
    found, notes, rest = {}, [], []
    for path in files:
        if path.name in sources and path.name not in found:
            try:
                found[path.name] = (path, _read(path))
            except Exception as err:  # noqa: BLE001 - a broken file is reported, not fatal
                found[path.name] = (path, f"could not be read as a notebook ({type(err).__name__}: {err})")
        else:
            rest.append(path)
    for path in rest:
        try:
            nb = _read(path)
        except Exception:  # noqa: BLE001
            notes.append(f"`{path.name}` is not a readable notebook; it was ignored.")
            continue
        scores = {name: _likeness(nb, src) for name, src in sources.items() if name not in found}
        best = max(scores, key=scores.get, default=None)
        if best is not None and scores[best] > 0:
            found[best] = (path, nb)
            notes.append(f"`{path.name}` was graded as `{best}` (it looks renamed): please hand in notebooks "
                         f"under their original names.")
        else:
            notes.append(f"`{path.name}` is not one of the exercise notebooks (or a second copy of one); "
                         f"it was ignored.")
    return found, notes


# ------------------------------------------------------------------------ running a notebook


def _verdict_output(status: str, message: str):
    from nbformat.v4 import new_output

    text = ("✔ passed (visible and hidden checks, judged by the grader)" if status == "passed" else
            f"✘ {status}: {message}")
    return new_output("stream", name="stdout", text=f"[grader] {text}\n")


def _run_and_judge(nb, where: dict, source: _Source, submitted: bytes, *, timeout: float, exercise_timeout: float,
                   limits: Limits, sandbox: bool, secret: str) -> tuple[dict, dict]:
    """Run the student's cells in a sandboxed kernel, then judge each check here; (verdicts, cell statuses).

    The check cells are not run in the kernel: each is run by :func:`._judge.judge` in
    this process, calling the student's functions in the kernel. Verdicts are
    {grade_id: (status, message)}.
    """
    from nbformat.v4 import new_output

    checks = {item.grade_id for item in source.items if not item.manual}
    check_cells = {where[gid] for gid in checks if gid in where}
    grace = max(5.0, timeout / 5)
    status: dict = {}
    verdicts: dict = {}
    losses, stop, first_not_run = 0, None, None
    with KernelSession(submitted, limits=limits, sandbox=sandbox) as session:
        deadline = time.monotonic() + timeout   # the kernel's start-up is not the student's time
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index in check_cells:
                continue
            if stop:
                status[index] = "not run"
                first_not_run = index if first_not_run is None else first_not_run
                cell.outputs = [new_output("stream", name="stderr", text=f"[grader] not run: {stop}\n")]
                continue
            limit = grace if losses else max(deadline - time.monotonic(), 1.0)
            outputs: list = []
            try:
                status[index] = session.run_cell(cell.source, timeout=limit, outputs=outputs)
            except KernelLost as lost:
                status[index] = lost.why
                losses += 1
                outputs.append(new_output("stream", name="stderr", text=(
                    f"[grader] stopped after {limit:.0f} s\n" if lost.why == "timeout" else
                    "[grader] the kernel died in this cell\n")))
                if losses > 1:
                    stop = "a second cell ran out of time or killed the kernel"
                session.restart(grace=grace)   # the looping kernel is killed, whatever it does with SIGINT
            cell.outputs = outputs
        namespace = setup_namespace(source.nb)
        definitions = student_definitions(nb, checks)
        for item in source.items:
            if item.manual or item.grade_id not in where:
                continue
            index = where[item.grade_id]
            if first_not_run is not None and index > first_not_run:
                verdicts[item.grade_id] = ("not run", stop)
            else:
                if session.km is None or not session.km.is_alive():
                    session.restart(grace=grace)
                verdicts[item.grade_id] = judge(source.restore[item.grade_id].source, namespace, session,
                                                definitions=definitions, seconds=exercise_timeout, secret=secret)
                if verdicts[item.grade_id][0] in ("timeout", "dead"):
                    session.restart(grace=grace)
            nb.cells[index].outputs = [_verdict_output(*verdicts[item.grade_id])]
    return verdicts, status


# ------------------------------------------------------------------------ scoring


def _prepare(nb, source: _Source):
    """The student's cells with checks and read-only cells put back; {grade_id: cell index} of the graded ones."""
    nb = copy.deepcopy(nb)
    where = {}
    by_text = {item.released_source.strip(): item.grade_id for item in source.items
               if not item.manual and item.released_source.strip()}
    for index, cell in enumerate(nb.cells):
        gid = _nbgrader(cell).get("grade_id")
        if gid is None and cell.cell_type == "code" and cell.source.strip() in by_text:
            gid = by_text[cell.source.strip()]  # a check cell that lost its metadata (copied into a new notebook)
        if gid in source.restore:
            nb.cells[index] = copy.deepcopy(source.restore[gid])
        if gid is not None:
            where[gid] = index  # the last copy counts
        if nb.cells[index].cell_type == "code":
            nb.cells[index].outputs = []
            nb.cells[index].execution_count = None
    return nb, where


def _score(source: _Source, nb, where: dict, verdicts: dict, exercise_timeout: float) -> list[dict]:
    rows = []
    for item in source.items:
        index = where.get(item.grade_id)
        row = {"exercise": item.grade_id, "title": item.title, "max_points": item.points}
        if index is None:
            rows.append(row | {"points": 0.0, "status": "deleted",
                               "message": f"the cell `{item.grade_id}` was deleted from your notebook, so this "
                                          "could not be graded (Edit → Undo Delete Cells, or start from a fresh "
                                          "copy)."})
            continue
        cell = nb.cells[index]
        if item.manual:
            text = cell.source.strip()
            if not text or text == _STUB or text == item.released_source.strip():
                rows.append(row | {"points": 0.0, "status": "unanswered", "message": "no answer was written."})
            else:
                rows.append(row | {"points": None, "status": "manual",
                                   "message": "your answer will be graded by your instructor."})
            continue
        state, message = verdicts.get(item.grade_id, ("not run", "the grader did not reach it"))
        if state == "passed":
            rows.append(row | {"points": item.points, "status": "passed",
                               "message": "passed the visible and the hidden checks."})
        elif state == "timeout":
            rows.append(row | {"points": 0.0, "status": "timeout",
                               "message": f"this check was stopped after {exercise_timeout:g} s — is there an "
                                          "endless loop in your function?"})
        elif state in ("not run", "dead"):
            why = "the kernel (Python) died while running it" if state == "dead" else message
            rows.append(row | {"points": 0.0, "status": "not run", "message": f"not run: {why}."})
        else:
            rows.append(row | {"points": 0.0, "status": "failed", "message": message})
    return rows


def _missing_rows(source: _Source, status: str) -> list[dict]:
    why = {"missing": "not handed in.", "unreadable": "the notebook could not be read.",
           "error": "the notebook could not be run."}[status]
    return [{"exercise": item.grade_id, "title": item.title, "max_points": item.points, "points": 0.0,
             "status": status, "message": why} for item in source.items]


# ------------------------------------------------------------------------ feedback


def _fmt(x) -> str:
    return "–" if x is None or x != x else f"{x:g}"


def _feedback(student: str, per_notebook: list, notes: list[str]) -> str:
    lines = [f"# Feedback for {student}", ""]
    for note in notes:
        lines.append(f"> {note}")
    if notes:
        lines.append("")
    for name, rows, nb_note in per_notebook:
        auto = [r for r in rows if r["status"] not in ("manual",)]
        got = sum(r["points"] or 0 for r in auto)
        total = sum(r["max_points"] for r in rows)
        pending = sum(r["max_points"] for r in rows if r["status"] == "manual")
        lines.append(f"## {name}: {got:g} / {total:g} points"
                     + (f" ({pending:g} still to be graded by hand)" if pending else ""))
        lines.append("")
        if nb_note:
            lines += [f"> {nb_note}", ""]
        for r in rows:
            mark = {"passed": "✔", "manual": "✎"}.get(r["status"], "✘")
            lines.append(f"- {mark} **{r['title']}** — {_fmt(r['points'])} / {r['max_points']:g}: "
                         f"{r['message'].replace(chr(10), ' ')}")
        lines.append("")
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, text)


def _write_graded(nb, path: Path) -> None:
    """Keep the executed notebook for the instructor; a notebook nbformat will not write is skipped."""
    import nbformat

    try:
        _write_atomic(path, nbformat.writes(nb))
    except Exception:  # noqa: BLE001 - e.g. duplicate cell ids pasted by hand; the grades stand without it
        pass


# ------------------------------------------------------------------------ the entry point


def _chapter_sources(source_dir: Path, chapter) -> list[Path]:
    paths = sorted(source_dir.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no source notebooks (*.ipynb) in {source_dir}")
    if chapter is None:
        return paths
    prefix = f"{int(chapter):02d}_" if str(chapter).isdigit() else str(chapter)
    chosen = [p for p in paths if p.name.startswith(prefix)]
    if not chosen:
        raise ValueError(f"chapter={chapter!r}: no source notebook named {prefix}*.ipynb in {source_dir} "
                         f"(there are {', '.join(p.name for p in paths)})")
    return chosen


def grade(submissions_dir, out_dir, *, secret: str | None = None, source_dir=None, chapter=None,
          timeout: float = 60, exercise_timeout: float | None = None, limits: Limits | None = None,
          sandbox: bool = True, progress: bool = False):
    """Run and grade every student's notebooks in a sandbox; write grades.csv and a feedback file per student.

    Parameters
    ----------
    submissions_dir : path
        One folder per student (the folder's name is the student's name) holding
        their ``.ipynb`` files, at any depth.
    out_dir : path
        Created if missing; receives ``grades.csv``, ``feedback/<student>.md``
        and ``graded/<student>/<notebook>.ipynb`` (executed, checks restored).
        Only the grader writes there; the students' kernels cannot see it.
    secret : str, optional
        The instructor's secret, from which the hidden tests' inputs are made
        (same secret, same inputs, same grades). Default: the
        ``COURSEKIT_GRADING_SECRET`` environment variable; one of the two is required.
    source_dir : path, optional
        The source notebooks, with solutions and hidden tests (default
        ``exercises/source``).
    chapter : str or int, optional
        Grade only this chapter's notebook (``"02"`` or ``2``).
    timeout : float, optional
        Seconds the student's own cells of a notebook may run, in all.
    exercise_timeout : float, optional
        Seconds the grader's calls of one exercise may take (default ``max(10, timeout / 4)``).
        A call past it kills the kernel; a fresh one carries on with the next exercise.
    limits : Limits, optional
        CPU, memory, process and file-size limits of each kernel.
    sandbox : bool, optional
        Run each kernel in bubblewrap (default). ``False`` runs the students' code
        with your own permissions (``--unsafe-no-sandbox``); ``grading-run.json`` says so.
    progress : bool, optional
        Show a progress bar over the students (on stderr).

    Returns
    -------
    pandas.DataFrame
        The rows of grades.csv (:data:`GRADE_COLUMNS`); ``points`` is NaN for an
        open question waiting for the instructor.

    Raises
    ------
    RuntimeError
        When the sandbox cannot run here (the message says what to install) and
        ``sandbox`` is True.
    ValueError
        When no secret is given.
    """
    import json

    import pandas as pd
    from tqdm.auto import tqdm

    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"the submissions folder {submissions_dir} does not exist")
    secret = secret if secret is not None else os.environ.get("COURSEKIT_GRADING_SECRET")
    if not secret:
        raise ValueError("grade() needs the instructor's secret (secret=... or the COURSEKIT_GRADING_SECRET "
                         "environment variable): the hidden tests' inputs are made from it")
    if sandbox:
        problem = sandbox_problem()
        if problem:
            raise RuntimeError(f"cannot sandbox the submissions: {problem}. To run them anyway with your own "
                               "permissions (only for code you trust), pass sandbox=False "
                               "(--unsafe-no-sandbox).")
    limits = Limits() if limits is None else limits
    exercise_timeout = max(10.0, timeout / 4) if exercise_timeout is None else float(exercise_timeout)
    source_dir = default_dir("source") if source_dir is None else Path(source_dir)
    sources = {p.name: _load_source(p) for p in _chapter_sources(source_dir, chapter)}
    for name, source in sources.items():
        others = set().union(*(s.locked_text for n, s in sources.items() if n != name))
        source.distinctive = source.locked_text - others
    students = sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    records = []
    for student_dir in tqdm(students, desc="grading", unit="student", disable=not progress):
        student = student_dir.name
        files = sorted(p for p in student_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        found, notes = _match(files, sources)
        per_notebook = []
        for name, source in sources.items():
            nb_note = None
            if name not in found:
                rows = _missing_rows(source, "missing")
                nb_note = f"No `{name}` was found in your folder."
            elif isinstance(found[name][1], str):
                rows = _missing_rows(source, "unreadable")
                nb_note = f"`{found[name][0].name}` {found[name][1]}."
            else:
                try:
                    nb, where = _prepare(found[name][1], source)
                    verdicts, status = _run_and_judge(nb, where, source, found[name][0].read_bytes(),
                                                      timeout=timeout, exercise_timeout=exercise_timeout,
                                                      limits=limits, sandbox=sandbox, secret=secret)
                    rows = _score(source, nb, where, verdicts, exercise_timeout)
                    if any(s in ("timeout", "dead") for s in status.values()):
                        nb_note = f"Part of this notebook ran out of its {timeout:g} s time limit or stopped Python."
                except Exception as err:  # noqa: BLE001 - one bad submission must not stop the run
                    rows = _missing_rows(source, "error")
                    nb_note = f"The grader could not run this notebook ({type(err).__name__}: {err})."
                else:
                    _write_graded(nb, out_dir / "graded" / student / name)
            if not sandbox:
                nb_note = ((nb_note + " ") if nb_note else "") + "Graded WITHOUT a sandbox (--unsafe-no-sandbox)."
            per_notebook.append((name, rows, nb_note))
            records += [{"student": student, "notebook": name} | r for r in rows]
        _write_atomic(out_dir / "feedback" / f"{student}.md", _feedback(student, per_notebook, notes))
    table = pd.DataFrame(records, columns=GRADE_COLUMNS + ["title", "message"])
    table = table[GRADE_COLUMNS].astype({"points": float, "max_points": float})
    _write_atomic(out_dir / "grades.csv", table.to_csv(index=False))
    _write_atomic(out_dir / "grading-run.json", json.dumps({
        "sandbox": "bubblewrap" if sandbox else "NONE (--unsafe-no-sandbox)", "notebooks": list(sources),
        "timeout_s": timeout, "exercise_timeout_s": exercise_timeout, "limits": vars(limits)}, indent=1) + "\n")
    return table
