"""pytest set-up for the whole repository: tests/, the doctests of coursekit/ and the notebooks."""

import importlib.util
import os

# Never write into the user's real cache from the tests (nor from the doctests).
os.environ.setdefault("COURSEKIT_DATA", os.path.join(os.path.dirname(__file__), ".cache", "test-data"))

# Not doctest material: running `python -m coursekit` on import, and the CNN where TensorFlow (an extra) is missing.
collect_ignore = ["coursekit/__main__.py"]
if importlib.util.find_spec("tensorflow") is None:
    collect_ignore += ["coursekit/cnn.py", "coursekit/place.py"]
