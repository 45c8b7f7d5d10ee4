"""The README's two quickstart commands are the ones CI runs and the CLI understands."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quickstart():
    block = re.search(r"## Quickstart.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_exactly_two_commands():
    assert len(quickstart()) == 2


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == quickstart()[1]


def test_main_command_is_known_to_the_cli():
    from coursekit.cli import main

    args = quickstart()[0].split(".venv/bin/coursekit ")[1].split()
    assert args[0] == "mixtape"
    try:
        main([args[0], "--help"])
    except SystemExit as exc:
        assert exc.code == 0
