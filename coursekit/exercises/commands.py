"""``coursekit exercises release`` and ``coursekit exercises grade SUBMISSIONS_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_exercise_commands"]


def add_exercise_commands(subparsers) -> None:
    """Add the ``exercises`` command (``release``, ``grade``) to the ``coursekit`` parser's subparsers."""
    ex = subparsers.add_parser("exercises", help="release the student notebooks or grade a folder of submissions",
                               description="Release the exercise notebooks to students, or grade their submissions.")
    sub = ex.add_subparsers(dest="exercises_command", required=True, metavar="{release,grade}")
    rel = sub.add_parser("release", help="write exercises/release/ (student versions) from exercises/source/")
    rel.add_argument("--source", metavar="DIR", help="source notebooks (default: exercises/source)")
    rel.add_argument("--release", metavar="DIR", help="where to write them (default: exercises/release)")
    rel.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if the release folder is out of date with the sources")
    rel.set_defaults(func=_release)
    gr = sub.add_parser("grade", help="run and grade SUBMISSIONS_DIR/<student>/<notebook>.ipynb")
    gr.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="one folder per student")
    gr.add_argument("--out", metavar="DIR",
                    help="where grades.csv, feedback/ and graded/ go (default: SUBMISSIONS_DIR-graded)")
    gr.add_argument("--source", metavar="DIR", help="source notebooks with hidden tests (default: exercises/source)")
    gr.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                    help="execution time each notebook may use (default: 60)")
    gr.set_defaults(func=_grade)


def _release(args) -> int:
    from .releasing import default_dir, release, release_differences

    try:
        source = Path(args.source) if args.source else default_dir("source")
    except FileNotFoundError as err:
        print(f"coursekit exercises release: {err}", file=sys.stderr)
        return 2
    target = Path(args.release) if args.release else source.parent / "release"
    if args.check:
        problems = release_differences(source, target)
        for problem in problems:
            print(f"out of date: {problem}", file=sys.stderr)
        if problems:
            print("run `coursekit exercises release` and commit exercises/release/", file=sys.stderr)
            return 1
        print(f"{target} is up to date with {source}")
        return 0
    for path in release(source, target):
        print(f"wrote {path}")
    return 0


def _grade(args) -> int:
    from .grading import grade

    submissions = Path(args.submissions)
    if not submissions.is_dir():
        print(f"coursekit exercises grade: {submissions} is not a folder (expected SUBMISSIONS_DIR/<student>/"
              f"<notebook>.ipynb)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else submissions.resolve().parent / (submissions.resolve().name + "-graded")
    table = grade(submissions, out, source_dir=args.source, timeout=args.timeout,
                  progress=lambda message: print(f"  grading {message} ...", file=sys.stderr, flush=True))
    if table.empty:
        print(f"no student folders in {submissions}")
        return 0
    totals = table.groupby("student").agg(points=("points", "sum"), max_points=("max_points", "sum"),
                                          to_grade_by_hand=("status", lambda s: int((s == "manual").sum())))
    print(totals.to_string())
    problems = table[~table["status"].isin(["passed", "manual"])]
    if len(problems):
        print("\nnot passed:", problems.groupby("status").size().to_dict())
    print(f"\nwrote {out / 'grades.csv'}, {out / 'feedback'}/<student>.md and {out / 'graded'}/")
    return 0
