"""Exercises with feedback that teaches, and the instructor's release and grade.

Students import a chapter's checkers in the exercise notebooks
(``exercises/release/``)::

    from coursekit.exercises import ch01
    ch01.check_strength_matrix(strength_matrix)

A checker runs the student's function on the notebook's example, and on a
wrong answer raises :class:`ExerciseFeedback` (an ``AssertionError``) whose
message names the likely mistake — a transposed matrix, k off by one, heard
songs not excluded, scores not normalised — rather than a bare assertion.

Instructors use :func:`release` (student copies via nbgrader's preprocessors)
and :func:`grade` (run each submission in a bubblewrap sandbox, judge the values
its functions return in the grader's own process, on hidden inputs made from the
instructor's secret), or the commands ``coursekit exercises release`` and
``coursekit exercises grade SUBMISSIONS_DIR`` (:func:`add_exercise_commands`).
Those need the ``dev`` extra (nbgrader, nbclient) and, for grading, bubblewrap;
the checkers need only the course's own dependencies.
"""

from __future__ import annotations

from ._feedback import ExerciseFeedback, Passed
from .commands import add_exercise_commands
from ._sandbox import Limits
from .grading import GRADE_COLUMNS, grade
from .releasing import release, release_differences, student_version

__all__ = ["ExerciseFeedback", "Passed", "GRADE_COLUMNS", "Limits", "add_exercise_commands", "grade", "release",
           "release_differences", "student_version"]
