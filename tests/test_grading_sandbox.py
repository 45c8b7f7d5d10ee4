"""Hostile submissions: each attack on the grader fails, and the rest of the class is graded.

One class of chapter 01 submissions, graded once (module fixture) in the bubblewrap sandbox:

- honest     every answer right                                        → 9 / 9
- forger     stub answers; set_custom_exc swallows every error          → 0
- patcher    stub answers; every ch01.check_* replaced by lambda: "✔"   → 0
- snoop      right answers; reads exercises/source, another submission,
             /proc, writes outside its copy (each attempt printed)      → 9, every attempt denied
- daemon     right answers; a detached process that sleeps, then tries
             to rewrite grades.csv                                      → 9, the process is gone at the end
- bomb       right answers; a fork bomb in a cell                       → 9, stopped by the process limit
- hog        a 10 GB allocation in exercise 2                           → 8 (ex2: MemoryError)
- deaf       ignores SIGINT and loops in exercise 2                     → 8 (ex2: timeout, the rest graded)
- stuck      ignores SIGINT and loops in a cell of its own, before
             exercises 3–5                                              → 9, the cells after it still run

Skipped, with the reason, where bubblewrap cannot run.
"""

import os
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.exercises import grade
from coursekit.exercises._sandbox import SANDBOX_UID, sandbox_problem
from exercise_files import CH01, SOURCE, meta, submission

PROBLEM = sandbox_problem()
pytestmark = pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox here: {PROBLEM}")

STUBS = {f"ex{i}-solution": src for i, src in enumerate([
    "def strength_matrix(listens, weights, users, tracks):\n    raise NotImplementedError()",
    "def preference_matrix(R):\n    return None",
    "def confidence_matrix(R, alpha, epsilon):\n    return R",
    "def sparse_strength(listens, weights, users, tracks):\n    return 0",
    "def new_pairs(listens, test_week):\n    return set()",
], start=1)}

FORGE_EXC = """
def swallow(shell, etype, evalue, tb, tb_offset=None):
    print("✔ looks right")          # what a passing check prints
get_ipython().set_custom_exc((BaseException,), swallow)
"""

PATCH_CHECKERS = """
import coursekit.exercises.ch01 as checkers
import coursekit.exercises._feedback as feedback
for name in dir(checkers):
    if name.startswith("check_"):
        setattr(checkers, name, lambda *a, **k: "✔")
feedback.ExerciseFeedback = type("ExerciseFeedback", (Exception,), {})
"""

SNOOP = """
import os
def attempt(what, action):
    try:
        action()
        print(what, "ALLOWED")
    except Exception as err:
        print(what, "denied", type(err).__name__)
attempt("read-source", lambda: open({source!r}).read())
attempt("list-source", lambda: os.listdir({source_dir!r}))
attempt("read-other", lambda: open({other!r}).read())
attempt("write-other", lambda: open({other!r}, "a").write("x"))
attempt("write-outside", lambda: open({outside!r}, "w").write("x"))
attempt("write-system", lambda: open("/usr/coursekit-was-here", "w").write("x"))
attempt("network", lambda: __import__("socket").create_connection(("1.1.1.1", 53), timeout=2))
print("processes-seen", len([p for p in os.listdir("/proc") if p.isdigit()]))
print("secret-in-env", "COURSEKIT_GRADING_SECRET" in os.environ)
"""

DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(3):
            os.close(fd)
        os.execv("/bin/sh", ["sh", "-c", "sleep 5; echo hacked > {grades}; exec sleep 987654"])
    os._exit(0)
time.sleep(0.5)
print("daemon started")
"""

BOMB = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:          # every child forks too: a real fork bomb
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.05)
        children += 1
except OSError as err:
    print("fork refused after", children, "children:", type(err).__name__)
"""

HOG = "def preference_matrix(R):\n    big = np.ones(10 * 2**30 // 8)   # 10 GB\n    return (R > 0).astype(float)"

DEAF = """def preference_matrix(R):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass"""


STUCK = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""


def with_cell(nb, code, *, after="ex5-check"):
    index = next(i for i, c in enumerate(nb.cells) if meta(c).get("grade_id") == after)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


def leftover_processes():
    """Processes of the sandbox's user id, or with the daemon's marker, still alive on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "987654" in cmdline or (os.geteuid() == 0 and entry.stat().st_uid == SANDBOX_UID):
                found.append(f"{entry.name}: {cmdline}")
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    source, subs, out = base / "source", base / "submissions", base / "out"
    source.mkdir()
    (source / CH01).write_bytes((SOURCE / CH01).read_bytes())
    honest_path = subs / "honest" / CH01
    class_ = {
        "honest": submission(),
        "forger": with_cell(submission(STUBS), FORGE_EXC, after="setup"),
        "patcher": with_cell(submission(STUBS), PATCH_CHECKERS, after="setup"),
        "snoop": with_cell(submission(), SNOOP.format(source=str(SOURCE / CH01), source_dir=str(SOURCE),
                                                      other=str(honest_path), outside=str(base / "escaped.txt"))),
        "daemon": with_cell(submission(), DAEMON.format(grades=out / "grades.csv")),
        "bomb": with_cell(submission(), BOMB),
        "hog": submission({"ex2-solution": HOG}),
        "deaf": submission({"ex2-solution": DEAF}),
        "stuck": with_cell(submission(), STUCK, after="ex2-check"),
    }
    for student, nb in class_.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / CH01)
    honest_before = honest_path.read_bytes()
    start = time.monotonic()
    table = grade(subs, out, source_dir=source, timeout=12, exercise_timeout=5, secret="hostile suite")
    seconds = time.monotonic() - start
    left = leftover_processes()
    csv_after = (out / "grades.csv").read_bytes()
    time.sleep(6)     # the daemon would have written after 5 s
    print(f"\nhostile suite: {len(class_)} students graded in {seconds:.0f} s ({seconds / len(class_):.1f} s each)")
    totals = table.groupby("student")["points"].sum()
    print(totals.to_string())
    return {"table": table, "out": out, "base": base, "left": left, "csv_after": csv_after,
            "honest_before": honest_before, "honest_path": honest_path, "totals": totals}


def student(hostile, name):
    table = hostile["table"]
    return table[table["student"] == name].set_index("exercise")


def cell_text(hostile, name):
    nb = nbformat.read(hostile["out"] / "graded" / name / CH01, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_an_honest_submission_gets_every_point(hostile):
    assert hostile["totals"]["honest"] == 9
    feedback = (hostile["out"] / "feedback" / "honest.md").read_text()
    assert feedback.count("passed the visible and the hidden checks") == 5   # no hidden input quoted


@pytest.mark.parametrize("name", ["forger", "patcher"])
def test_forged_checks_score_nothing(hostile, name):
    rows = student(hostile, name).drop("open-answer")
    assert (rows["status"] == "failed").all() and rows["points"].sum() == 0, rows


def test_the_sandbox_hides_the_solutions_the_others_and_the_machine(hostile):
    text = cell_text(hostile, "snoop")
    for attempt in ("read-source", "list-source", "read-other", "write-other", "write-outside", "write-system",
                    "network"):
        assert f"{attempt} denied" in text, text
    assert "ALLOWED" not in text
    seen = int(text.split("processes-seen ")[1].split()[0])
    assert seen < 10, text                                  # its own processes only, not the grader's
    assert "secret-in-env False" in text
    assert not (hostile["base"] / "escaped.txt").exists()
    assert hostile["honest_path"].read_bytes() == hostile["honest_before"]
    assert hostile["totals"]["snoop"] == 9


def test_a_detached_process_dies_with_the_grading(hostile):
    assert "daemon started" in cell_text(hostile, "daemon")
    assert hostile["left"] == []
    assert (hostile["out"] / "grades.csv").read_bytes() == hostile["csv_after"]   # unchanged 6 s later
    assert b"hacked" not in hostile["csv_after"]
    assert hostile["totals"]["daemon"] == 9


def test_a_fork_bomb_is_stopped_by_the_process_limit(hostile):
    assert "fork refused after" in cell_text(hostile, "bomb")
    assert hostile["totals"]["bomb"] == 9


def test_a_10_gb_allocation_fails_alone(hostile):
    rows = student(hostile, "hog")
    assert rows.loc["ex2-check", "status"] == "failed"
    assert "MemoryError" in (hostile["out"] / "feedback" / "hog.md").read_text()
    assert (rows.drop(["ex2-check", "open-answer"])["status"] == "passed").all()


def test_a_kernel_that_ignores_sigint_loses_only_the_looping_exercise(hostile):
    rows = student(hostile, "deaf")
    assert rows.loc["ex2-check", "status"] == "timeout"
    assert (rows.drop(["ex2-check", "open-answer"])["status"] == "passed").all(), rows


def test_a_cell_that_ignores_sigint_costs_only_itself(hostile):
    rows = student(hostile, "stuck")
    assert (rows.drop("open-answer")["status"] == "passed").all(), rows
    assert "[grader] stopped after" in cell_text(hostile, "stuck")
