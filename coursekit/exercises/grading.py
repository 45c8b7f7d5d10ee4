"""Autograding a folder of submissions: ``SUBMISSIONS_DIR/<student>/<notebook>.ipynb``.

For each student and each source notebook, :func:`grade`

1. finds the student's notebook: by its file name, or — when it was renamed —
   by its content (the read-only cells it shares with a source notebook);
2. puts back what the student may not change, matched by nbgrader ``grade_id``:
   every check cell with its hidden tests, and every read-only cell. A check
   cell the student deleted is looked for by its visible text; if it is gone,
   the exercise scores 0 and the feedback says so;
3. runs the notebook in a fresh kernel of this Python, cell by cell, errors
   allowed (a cell that raises does not stop the cells after it), with a time
   budget per notebook: a cell still running when the budget is spent is
   interrupted (like the stop button), the cells after it get a short grace
   period each, and after a second time-out the rest is not run;
4. scores each check cell: its points if it ran without an error, else 0 with
   the checker's message; an open question is left to the instructor (or 0 if
   unanswered).

It writes ``grades.csv`` (student, notebook, exercise, points, max_points,
status), ``feedback/<student>.md`` and the executed notebooks under
``graded/<student>/``. One broken submission never stops the run.
"""

from __future__ import annotations

import copy
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .releasing import default_dir, student_version

__all__ = ["grade", "GRADE_COLUMNS"]

#: Columns of grades.csv.
GRADE_COLUMNS = ["student", "notebook", "exercise", "points", "max_points", "status"]

_MAX_OUTPUT_CHARS = 20_000   # per cell: an endless print must not fill the grader's memory
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


def _client_class():
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class CurrentEnvSpecs(KernelSpecManager):
        """Every kernel name means ipykernel in *this* Python (like nbval's --nbval-current-env)."""

        def get_kernel_spec(self, kernel_name):
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict

            return self.kernel_spec_class(resource_dir=RESOURCES, **get_kernel_dict())

    class CurrentEnvKernelManager(AsyncKernelManager):
        def _kernel_spec_manager_default(self):
            return CurrentEnvSpecs(data_dir=self.data_dir)

    class Client(NotebookClient):
        """nbclient with a cap on the text a cell may print."""

        def __init__(self, nb, **kw):
            super().__init__(nb, kernel_manager_class=CurrentEnvKernelManager, **kw)
            self.output_chars, self.truncated = {}, set()

        def output(self, outs, msg, display_id, cell_index):
            size = len(str(msg.get("content", {}).get("text", ""))) + len(str(msg.get("content", {}).get("data", "")))
            used = self.output_chars.get(cell_index, 0) + size
            if used > _MAX_OUTPUT_CHARS and msg["msg_type"] != "error":
                self.truncated.add(cell_index)
                return None
            self.output_chars[cell_index] = used
            return super().output(outs, msg, display_id, cell_index)

    return Client


def _run(nb, *, timeout: float, cwd: str) -> dict:
    """Execute the code cells of ``nb`` in place; return {cell index: status}.

    Statuses: "ok", "error", "timeout", "not run" (after the budget, a second
    time-out or a dead kernel), "dead" (the kernel died in this cell).
    """
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_output

    client = _client_class()(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                             error_on_timeout={"ename": "Timeout", "evalue": "time limit reached", "traceback": []},
                             iopub_timeout=4, record_timing=False)
    grace = max(5.0, timeout / 5)
    status: dict = {}
    stop_reason = None
    timeouts = 0
    client.reset_execution_trackers()
    with client.setup_kernel(cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + timeout  # the kernel's start-up is not the student's time
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if stop_reason:
                status[index] = "not run"
                cell.outputs = [new_output("stream", name="stderr", text=f"[grader] not run: {stop_reason}\n")]
                continue
            limit = grace if timeouts else max(deadline - time.monotonic(), 1.0)
            client.timeout = max(1, int(round(limit)))
            start = time.monotonic()
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except DeadKernelError:
                status[index] = "dead"
                stop_reason = "the kernel (Python) died in an earlier cell"
                continue
            except Exception as err:  # noqa: BLE001 - anything nbclient raises ends this notebook's run
                status[index] = "error"
                stop_reason = f"the grader could not run an earlier cell ({type(err).__name__}: {err})"
                continue
            if index in client.truncated:
                cell.outputs.append(new_output("stream", name="stderr",
                                               text=f"[grader] output cut at {_MAX_OUTPUT_CHARS:,} characters\n"))
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if time.monotonic() - start >= client.timeout and (errors or not cell.get("outputs")):
                status[index] = "timeout"
                timeouts += 1
                cell.outputs.append(new_output("stream", name="stderr",
                                               text=f"[grader] stopped after {client.timeout} s\n"))
                if timeouts > 1:
                    stop_reason = "a second cell ran out of time"
            else:
                status[index] = "error" if errors else "ok"
    return status


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


def _message(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), out.get("evalue", "")
            if name == "ExerciseFeedback":
                return value
            hint = {"NameError": " — did the cell that defines it run without an error?",
                    "NotImplementedError": " — this exercise is not written yet.",
                    "KeyboardInterrupt": " — the cell was stopped."}.get(name, "")
            return f"{name}: {value}{hint}"
    for out in cell.get("outputs", []):
        text = out.get("data", {}).get("text/plain", "") if out.get("output_type") == "execute_result" else ""
        if text:
            return text.removeprefix("✔ ")
    return "passed"


def _score(source: _Source, nb, where: dict, status: dict, timeout: float) -> list[dict]:
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
        state = status.get(index, "not run")
        if state == "ok":
            rows.append(row | {"points": item.points, "status": "passed", "message": _message(cell)})
        elif state == "timeout":
            rows.append(row | {"points": 0.0, "status": "timeout",
                               "message": "this check was stopped when the time limit ran out — is there an "
                                          "endless loop in your function, or in a cell above?"})
        elif state in ("not run", "dead"):
            why = {"dead": "the kernel (Python) died while running it"}.get(state, _not_run_reason(cell, timeout))
            rows.append(row | {"points": 0.0, "status": "not run", "message": f"not run: {why}."})
        else:
            rows.append(row | {"points": 0.0, "status": "failed", "message": _message(cell)})
    return rows


def _not_run_reason(cell, timeout) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and "[grader] not run:" in out.get("text", ""):
            return out["text"].split("not run:", 1)[1].strip()
    return f"the notebook ran out of its {timeout:g} s before reaching it"


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


def _write_graded(nb, path: Path) -> None:
    """Keep the executed notebook for the instructor; a notebook nbformat will not write is skipped."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        nbformat.write(nb, path)
    except Exception:  # noqa: BLE001 - e.g. duplicate cell ids pasted by hand; the grades stand without it
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------ the entry point


def grade(submissions_dir, out_dir, *, source_dir=None, timeout: float = 60, progress=None):
    """Run and grade every student's notebooks; write grades.csv and a feedback file per student.

    Parameters
    ----------
    submissions_dir : path
        One folder per student (the folder's name is the student's name) holding
        their ``.ipynb`` files, at any depth.
    out_dir : path
        Created if missing; receives ``grades.csv``, ``feedback/<student>.md``
        and ``graded/<student>/<notebook>.ipynb`` (executed, checks restored).
    source_dir : path, optional
        The source notebooks, with solutions and hidden tests (default
        ``exercises/source``).
    timeout : float, optional
        Seconds of execution each notebook may use, in total (see the module
        docstring for what happens at the limit).
    progress : callable, optional
        Called with a short message before each notebook (the CLI prints them).

    Returns
    -------
    pandas.DataFrame
        The rows of grades.csv (:data:`GRADE_COLUMNS`); ``points`` is NaN for an
        open question waiting for the instructor.
    """
    import pandas as pd

    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"the submissions folder {submissions_dir} does not exist")
    source_dir = default_dir("source") if source_dir is None else Path(source_dir)
    sources = {p.name: _load_source(p) for p in sorted(source_dir.glob("*.ipynb"))}
    if not sources:
        raise FileNotFoundError(f"no source notebooks (*.ipynb) in {source_dir}")
    for name, source in sources.items():
        others = set().union(*(s.locked_text for n, s in sources.items() if n != name))
        source.distinctive = source.locked_text - others
    students = sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    records = []
    for student_dir in students:
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
                if progress:
                    progress(f"{student}: {name}")
                try:
                    nb, where = _prepare(found[name][1], source)
                    with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as cwd:
                        status = _run(nb, timeout=timeout, cwd=cwd)
                    rows = _score(source, nb, where, status, timeout)
                    if any(s == "timeout" for s in status.values()):
                        nb_note = f"Part of this notebook ran out of its {timeout:g} s time limit."
                except Exception as err:  # noqa: BLE001 - one bad submission must not stop the run
                    rows = _missing_rows(source, "error")
                    nb_note = f"The grader could not run this notebook ({type(err).__name__}: {err})."
                else:
                    _write_graded(nb, out_dir / "graded" / student / name)

            per_notebook.append((name, rows, nb_note))
            records += [{"student": student, "notebook": name} | r for r in rows]
        (out_dir / "feedback" / f"{student}.md").write_text(_feedback(student, per_notebook, notes), encoding="utf-8")
    table = pd.DataFrame(records, columns=GRADE_COLUMNS + ["title", "message"])
    table = table[GRADE_COLUMNS].astype({"points": float, "max_points": float})
    table.to_csv(out_dir / "grades.csv", index=False)
    return table
