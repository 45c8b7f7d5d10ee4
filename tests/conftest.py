import os

import pytest

# Never write into the user's real cache from the tests.
os.environ.setdefault("COURSEKIT_DATA", os.path.join(os.path.dirname(__file__), "..", ".cache", "test-data"))


@pytest.fixture(scope="session")
def tiny():
    from coursekit.world import generate_world

    return generate_world("tiny")


def pytest_report_header(config):
    """Say whether the grading tests can run their sandbox (they are skipped, with this reason, where not)."""
    from coursekit.exercises._sandbox import sandbox_problem

    problem = sandbox_problem()
    return "grading sandbox: bubblewrap works" if problem is None else (
        f"grading sandbox: UNAVAILABLE, the grading tests are skipped: {problem}")
