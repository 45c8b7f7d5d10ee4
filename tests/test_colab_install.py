"""The notebooks' Colab install cells respect the host.

Each cell pins the course release it was written for (``COURSEKIT_VERSION``, the
package's version), installs from that tag without cloning the repository, and
adds no second TensorFlow beside Colab's. The last point is checked by asking pip
what it would do (``pip install --dry-run --report``) in an environment that
already has TensorFlow, offline:

- the environment is a fresh venv in ``tmp_path`` holding a stand-in ``tensorflow``
  wheel (built in ``tmp_path``: a name and a version, no code);
- coursekit is a stand-in wheel whose metadata carries pyproject.toml's
  requirements exactly as setuptools writes them (``Requires-Dist``, extras as
  ``extra == "…"`` markers), because building the real wheel here would need
  setuptools from the network;
- every requirement is answered by a stand-in wheel at its lower bound, from a
  local folder (``--no-index --find-links``).

pip's resolver then decides from the requirements and their markers alone, which
is what decides on Colab too (Linux; the check runs on this interpreter's Python).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TENSORFLOWS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tf-nightly", "tf-nightly-cpu"}
REPO = "https://github.com/coursekit/coursekit"


def colab_cell(path: Path) -> str:
    """The source of a notebook's install cell: the one code cell that tests for Colab."""
    cells = [cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if cell["cell_type"] == "code" and "google.colab" in "".join(cell["source"])]
    assert len(cells) == 1, f"{path.name}: {len(cells)} Colab install cells, expected 1"
    return "".join(cells[0]["source"])


def pip_requirement(cell: str) -> str:
    """The requirement a Colab cell's ``%pip install`` asks for, with ``{COURSEKIT_VERSION}`` filled in."""
    lines = [line.strip() for line in cell.splitlines() if line.strip().startswith("%pip install")]
    assert len(lines) == 1, f"one %pip install line expected, got {lines}"
    quoted = re.findall(r'"([^"]+)"', lines[0])
    assert len(quoted) == 1, f"one quoted requirement expected: {lines[0]}"
    version = re.search(r'^\s*COURSEKIT_VERSION = "([^"]+)"', cell, re.M)
    assert version, "the cell sets COURSEKIT_VERSION"
    return quoted[0].replace("{COURSEKIT_VERSION}", version.group(1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_cell_pins_this_release_and_clones_nothing(path):
    cell = colab_cell(path)
    assert 'if "google.colab" in sys.modules:' in cell, "the install runs only on Colab"
    assert cell.count("COURSEKIT_VERSION = ") == 1
    assert f'COURSEKIT_VERSION = "{VERSION}"' in cell, f"{path.name} pins another release than {VERSION}"
    req = Requirement(pip_requirement(cell))
    assert req.name == "coursekit" and req.url == f"git+{REPO}@v{VERSION}", req
    assert not TENSORFLOWS & {canonicalize_name(e) for e in req.extras} and "tensorflow" not in req.extras, \
        "Colab ships TensorFlow: the cell must not install the 'tensorflow' extra"
    assert "git clone" not in cell and "%cd" not in cell, "the cell must not clone the repository"
    if path.name.startswith("06_"):
        assert req.extras == {"spark"}, req
        assert "apt-get install -qq -y openjdk-17-jre-headless" in cell and "JAVA_HOME" in cell
    else:
        assert not req.extras, req


def test_saved_benchmark_results_ship_with_the_package():
    from coursekit.notebook import saved_results

    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["coursekit"]
    assert any(fnmatch("data/scaling.json", p) for p in patterns), "coursekit/data/*.json must be package data"
    bench = saved_results("scaling")
    assert bench["runs"] and {"machine", "load_before", "load_after"} <= bench.keys()
    with pytest.raises(ValueError, match="'scaling'"):
        saved_results("scalling")


# ------------------------------------------------------------------ pip's dry run

def _wheel(folder: Path, name: str, version: str, requires: list[str] = (), extras: list[str] = ()) -> Path:
    """A stand-in wheel: metadata only."""
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    meta = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
            *(f"Provides-Extra: {e}" for e in extras), *(f"Requires-Dist: {r}" for r in requires)]
    files = {f"{stem}.dist-info/METADATA": "\n".join(meta) + "\n",
             f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{stem}.dist-info/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{stem}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in files.items():
            whl.writestr(member, text)
    return path


def _requires_dist() -> tuple[list[str], list[str]]:
    """pyproject.toml's requirements as ``Requires-Dist`` lines, and the extras' names."""
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra, specs in project["optional-dependencies"].items():
        for spec in specs:
            req = Requirement(spec)
            marker = f"({req.marker}) and " if req.marker else ""
            req.marker = None
            lines.append(f'{req}; {marker}extra == "{extra}"')
    return lines, list(project["optional-dependencies"])


def _lower_bound(req: Requirement) -> str:
    bounds = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
    return bounds[0] if bounds else "1.0"


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    if sys.platform != "linux":
        pytest.skip("Colab is Linux; the stand-in venv and the markers are checked on Linux")
    """(python, wheels): a venv with a stand-in Colab TensorFlow, and a folder of stand-in wheels."""
    tmp = tmp_path_factory.mktemp("colab")
    wheels = tmp / "wheels"
    wheels.mkdir()
    requires, extras = _requires_dist()
    _wheel(wheels, "coursekit", VERSION, requires, extras)
    for line in requires:
        req = Requirement(line)
        if canonicalize_name(req.name) != "coursekit":
            _wheel(wheels, req.name, _lower_bound(req))
    colab_tf = _wheel(tmp, "tensorflow", "2.19.0")  # Colab's own, at a version that satisfies >=2.16
    env = tmp / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    _pip(python, "install", "--no-index", "--no-deps", "--quiet", str(colab_tf))
    return python, wheels


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
                           *args], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # only the stand-in venv
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _would_install(colab_like, requirement: str) -> dict[str, str]:
    python, wheels = colab_like
    report = wheels.parent / "report.json"
    _pip(python, "install", "--dry-run", "--quiet", "--no-index", "--find-links", str(wheels),
         "--report", str(report), requirement)
    return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
            for item in json.loads(report.read_text())["install"]}


@pytest.mark.parametrize("path", [NOTEBOOKS[0], NOTEBOOKS[-1]], ids=[NOTEBOOKS[0].stem, NOTEBOOKS[-1].stem])
def test_colab_cell_adds_no_second_tensorflow(colab_like, path):
    req = Requirement(pip_requirement(colab_cell(path)))
    local = f"coursekit{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}=={VERSION}"  # no git here
    plan = _would_install(colab_like, local)
    assert plan.get("coursekit") == VERSION, plan
    assert not TENSORFLOWS & plan.keys(), f"{path.name}'s Colab cell would add {TENSORFLOWS & plan.keys()}: {plan}"
    assert {"numpy", "librosa", "implicit"} <= plan.keys(), plan  # the rest of coursekit comes along
    if req.extras:
        assert "pyspark" in plan, plan


def test_the_tensorflow_extra_would_add_one(colab_like):
    """The contrast that makes the test above mean something: the README's install asks for tensorflow-cpu."""
    plan = _would_install(colab_like, f"coursekit[tensorflow]=={VERSION}")
    assert "tensorflow-cpu" in plan, plan
