"""Binder's environment.yml is kept in step with pyproject.toml.

No conda channel is reachable here, so the environment is never solved in CI; these
tests check it as text instead: every requirement of the package (its dependencies
and every extra, as they apply on Binder's Linux) is in environment.yml with the same
bounds, every package of the environment is one the package declares (or one of a
few conda-only packages, each with its reason), and the environment has what the
notebooks import, what the exercises need (nbgrader) and what chapter 06 needs
(pyspark and Java 17).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ENVIRONMENT = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))

# Binder builds the environment on Linux, x86-64, with environment.yml's Python.
BINDER_PYTHON = "3.11"
BINDER = {"platform_system": "Linux", "sys_platform": "linux", "os_name": "posix",
          "platform_machine": "x86_64", "python_version": BINDER_PYTHON, "python_full_version": BINDER_PYTHON + ".0",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}
# In environment.yml, not in pyproject.toml: conda gives what pip cannot.
CONDA_ONLY = {"python": "the interpreter", "pip": "installs the pip: section",
              "openjdk": "Java, which Spark runs on (chapter 06)"}
# In pyproject.toml, not on Binder: each with why Binder does without it.
NOT_ON_BINDER = {"selenium": "drives Chromium in tests/test_browser.py; Binder runs no browser tests"}
# Imported by the notebooks, installed with something environment.yml names.
COMES_WITH = {"IPython": "ipykernel", "keras": "tensorflow-cpu"}


def _conda_requirement(spec: str) -> Requirement:
    """A conda match spec (``numpy>=1.26``, ``python=3.11``) as a requirement; conda's ``=3.11`` is ``==3.11.*``."""
    name, rest = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec).groups()
    if re.fullmatch(r"=[^=].*", rest):
        rest = f"=={rest[1:]}.*"
    return Requirement(f"{name}{rest}")


def environment() -> dict[str, tuple[Requirement, str]]:
    """Every package of environment.yml: canonical name → (requirement, "conda" or "pip")."""
    packages: dict[str, tuple[Requirement, str]] = {}
    for entry in ENVIRONMENT["dependencies"]:
        specs = [(s, "pip") for s in entry["pip"]] if isinstance(entry, dict) else [(entry, "conda")]
        for spec, where in specs:
            if spec.startswith("-e "):
                continue
            req = _conda_requirement(spec) if where == "conda" else Requirement(spec)
            name = canonicalize_name(req.name)
            assert name not in packages, f"environment.yml lists {name} twice"
            packages[name] = (req, where)
    return packages


def package_requirements() -> dict[str, tuple[Requirement, str]]:
    """What pyproject.toml asks for on Binder: canonical name → (requirement, "dependencies" or the extra's name)."""
    project = PYPROJECT["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    wanted: dict[str, tuple[Requirement, str]] = {}
    for group, specs in groups.items():
        for spec in specs:
            req = Requirement(spec)
            name = canonicalize_name(req.name)
            if name == canonicalize_name(project["name"]) or (req.marker and not req.marker.evaluate(BINDER)):
                continue
            if name in wanted:
                assert wanted[name][0].specifier == req.specifier, \
                    f"pyproject.toml asks for {name} as {wanted[name][0]} ({wanted[name][1]}) and as {req} ({group})"
                continue
            wanted[name] = (req, group)
    return wanted


def test_every_requirement_of_the_package_is_in_the_environment_with_the_same_bounds():
    env, problems = environment(), []
    for name, (req, group) in sorted(package_requirements().items()):
        if name in NOT_ON_BINDER:
            if name in env:
                problems.append(f"{name} is on Binder after all: remove it from NOT_ON_BINDER")
        elif name not in env:
            problems.append(f"pyproject.toml's {group} asks for {req}; environment.yml has no {name}: add "
                            f"'{req.name}{req.specifier}' (to its pip: section if conda-forge lacks it)")
        elif env[name][0].specifier != req.specifier:
            problems.append(f"{name}: pyproject.toml ({group}) says '{req.specifier}', environment.yml says "
                            f"'{env[name][0].specifier}': make them the same")
    assert not problems, "\n".join(problems)


def test_every_package_of_the_environment_is_declared_by_the_package():
    wanted = package_requirements()
    extra = [f"environment.yml installs {req} ({where}) but pyproject.toml does not ask for it: "
             "add it to the dependencies or an extra, or remove it from environment.yml"
             for name, (req, where) in sorted(environment().items()) if name not in CONDA_ONLY and name not in wanted]
    assert not extra, "\n".join(extra)


def test_the_environment_installs_the_package_itself_and_its_python_is_supported():
    pip = next(entry["pip"] for entry in ENVIRONMENT["dependencies"] if isinstance(entry, dict))
    assert "-e ." in pip, "environment.yml's pip: section must install coursekit itself ('-e .')"
    python = environment()["python"][0]
    assert python.specifier.contains(BINDER_PYTHON + ".0"), f"BINDER_PYTHON is {BINDER_PYTHON}, environment.yml: {python}"
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(BINDER_PYTHON + ".0"), \
        f"Python {BINDER_PYTHON} (environment.yml) is outside requires-python"


def test_the_environment_has_what_the_exercises_and_chapter_06_need():
    env = environment()
    assert "nbgrader" in env, "the exercises are released and graded with nbgrader"
    assert "pyspark" in env, "chapter 06 runs Spark"
    assert "openjdk" in env, "Spark runs on Java"
    java = env["openjdk"][0]
    assert java.specifier.contains("17.0.0") and not java.specifier.contains("11.0.0"), \
        f"Spark 3.5/4 runs on Java 17; environment.yml has {java}"
    assert env["tensorflow-cpu"][1] == "pip", "chapters 04-05's TensorFlow comes from pip (the 'tensorflow' extra)"


def _notebook_imports() -> dict[str, str]:
    """Top-level modules imported by the chapter and exercise notebooks: module → a notebook importing it."""
    found: dict[str, str] = {}
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises" / "source").glob("*.ipynb"))
    for path in paths:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            for line in "".join(cell["source"]).splitlines():
                match = re.match(r"\s*(?:from\s+([\w.]+)\s+import\s|import\s+([\w., ]+))", line)
                if match:
                    for module in (match.group(1) or match.group(2)).split(","):
                        found.setdefault(module.strip().split()[0].split(".")[0], path.name)
    return found


def test_the_environment_has_what_the_notebooks_import():
    env = environment()
    distributions = packages_distributions()
    imports = _notebook_imports()
    assert {"numpy", "IPython", "coursekit"} <= imports.keys()  # the parser sees the imports
    for module, notebook in sorted(imports.items()):
        if module in sys.stdlib_module_names or module == "coursekit":
            continue
        if module in COMES_WITH:
            assert canonicalize_name(COMES_WITH[module]) in env, f"{module} comes with {COMES_WITH[module]}"
            continue
        dists = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert dists, f"{notebook} imports {module}, which is not installed here: add it to pyproject.toml"
        assert dists & env.keys(), f"{notebook} imports {module} ({', '.join(sorted(dists))}): not in environment.yml"


@pytest.mark.parametrize("spec, expected", [("python=3.11", "==3.11.*"), ("numpy>=1.26", ">=1.26"),
                                            ("openjdk=17", "==17.*"), ("pip", "")])
def test_conda_match_specs_read_as_requirements(spec, expected):
    assert _conda_requirement(spec).specifier == SpecifierSet(expected)
