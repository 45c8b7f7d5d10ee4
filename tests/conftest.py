import os

import pytest

# Never write into the user's real cache from the tests.
os.environ.setdefault("COURSEKIT_DATA", os.path.join(os.path.dirname(__file__), "..", ".cache", "test-data"))


@pytest.fixture(scope="session")
def tiny():
    from coursekit.world import generate_world

    return generate_world("tiny")
