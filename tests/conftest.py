"""Fixtures shared by the test modules (test modules never import each other)."""

import pytest

# COURSEKIT_DATA (never the user's real cache) is set by the repository's conftest.py.


@pytest.fixture(scope="session")
def tiny():
    from coursekit.world import generate_world

    return generate_world("tiny")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every test that needs one (skipped without pyspark or Java)."""
    pytest.importorskip("pyspark")
    from coursekit.scale import check_java, spark_session

    try:
        check_java()
    except RuntimeError as err:
        pytest.skip(f"no Java for Spark: {err}")
    # the quick JIT only: small fits start sooner
    session = spark_session("local[2]", memory="512m", app_name="coursekit-tests",
                            java_options="-XX:TieredStopAtLevel=1")
    yield session
    session.stop()


# Tests that take more than a few seconds: Spark, TensorFlow, whole mixtapes and notebooks.
# They run by default; `pytest -m "not slow"` leaves them out for a quick check.
_SLOW_MODULES = {"test_cnn.py", "test_mixtape.py", "test_real_data_notebooks.py", "test_exercises.py",
                 "test_grading_sandbox.py", "test_browser.py", "test_modelcache.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()) or item.path.name in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config):
    """Say whether the grading tests can run their sandbox (they are skipped, with this reason, where not)."""
    from coursekit.exercises._sandbox import sandbox_problem

    problem = sandbox_problem()
    return "grading sandbox: bubblewrap works" if problem is None else (
        f"grading sandbox: UNAVAILABLE, the grading tests are skipped: {problem}")
