"""``coursekit exercises release`` and ``coursekit exercises grade SUBMISSIONS_DIR``."""

from __future__ import annotations

import os
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
    gr.add_argument("--chapter", metavar="NN", help="grade only this chapter's notebook (e.g. 02)")
    gr.add_argument("--secret", metavar="TEXT",
                    help="the instructor's secret the hidden tests' inputs are made from (default: the "
                         "COURSEKIT_GRADING_SECRET environment variable); same secret, same grades")
    gr.add_argument("--secret-file", metavar="FILE",
                    help="read the secret from FILE (keep it outside the repository)")
    gr.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                    help="time the student's own cells of one notebook may run, in all (default: 60)")
    gr.add_argument("--exercise-timeout", type=float, metavar="SECONDS",
                    help="time the grader's calls of one exercise may take (default: max(10, timeout / 4))")
    gr.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run the submissions WITHOUT bubblewrap, with your own permissions (only for code you "
                         "trust; the report and grading-run.json say so)")
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


def _secret(args) -> str | None:
    if args.secret_file:
        path = Path(args.secret_file).resolve()
        repository = Path(__file__).resolve().parents[2]
        if (repository / ".git").exists() and path.is_relative_to(repository):
            raise ValueError(f"--secret-file {args.secret_file} is inside the repository {repository}: keep the "
                             "secret outside it (students can read the repository)")
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ValueError(f"--secret-file {args.secret_file} could not be read ({err.strerror})") from None
        if not text:
            raise ValueError(f"--secret-file {args.secret_file} is empty")
        return text
    return args.secret or os.environ.get("COURSEKIT_GRADING_SECRET")


def _grade(args) -> int:
    from .grading import grade

    submissions = Path(args.submissions)
    if not submissions.is_dir():
        print(f"coursekit exercises grade: {submissions} is not a folder (expected SUBMISSIONS_DIR/<student>/"
              f"<notebook>.ipynb)", file=sys.stderr)
        return 2
    try:
        secret = _secret(args)
    except ValueError as err:
        print(f"coursekit exercises grade: {err}", file=sys.stderr)
        return 2
    if not secret:
        print("coursekit exercises grade: give the instructor's secret with --secret, --secret-file FILE or the "
              "COURSEKIT_GRADING_SECRET environment variable (the hidden tests' inputs are made from it; keep "
              "the same one to get the same grades again)", file=sys.stderr)
        return 2
    if args.unsafe_no_sandbox:
        print("WARNING: --unsafe-no-sandbox: the submissions run with your own permissions, without a sandbox",
              file=sys.stderr)
    out = Path(args.out) if args.out else submissions.resolve().parent / (submissions.resolve().name + "-graded")
    try:
        table = grade(submissions, out, secret=secret, source_dir=args.source, chapter=args.chapter,
                      timeout=args.timeout, exercise_timeout=args.exercise_timeout,
                      sandbox=not args.unsafe_no_sandbox, progress=True)
    except (RuntimeError, ValueError, FileNotFoundError) as err:
        print(f"coursekit exercises grade: {err}", file=sys.stderr)
        return 2
    if table.empty:
        print(f"no student folders in {submissions}")
        return 0
    totals = table.groupby("student").agg(points=("points", "sum"), max_points=("max_points", "sum"),
                                          to_grade_by_hand=("status", lambda s: int((s == "manual").sum())))
    print(totals.to_string())
    problems = table[~table["status"].isin(["passed", "manual"])]
    if len(problems):
        print("\nnot passed:", problems.groupby("status").size().to_dict())
    if args.unsafe_no_sandbox:
        print("\nGRADED WITHOUT A SANDBOX (--unsafe-no-sandbox)")
    print(f"\nwrote {out / 'grades.csv'}, {out / 'feedback'}/<student>.md and {out / 'graded'}/")
    return 0
