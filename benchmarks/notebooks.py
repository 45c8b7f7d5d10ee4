"""Execute every notebook and print its wall time and peak memory.

Each notebook runs top to bottom in a fresh kernel (``nbclient``), one at a
time, in a process of its own. The peak memory is that of the kernel's whole
process tree — the kernel and everything it starts: worker processes, and for
chapter 06 Spark's Java virtual machine — sampled every 0.25 s as the sum of
the processes' proportional set sizes (PSS: a page shared by two processes
counts half in each), so nothing the notebook starts is left out; the cell
that was running at the peak is named. The budget (DESIGN.md) is 60 s and
1.5 GB per notebook on 2 cores; Binder's target is 1.2 GB (of its 2 GB, the
rest is for the Jupyter server). The notebooks on disk are not modified.

    python benchmarks/notebooks.py                 # every notebook in notebooks/
    python benchmarks/notebooks.py notebooks/01_implicit_feedback.ipynb
    python benchmarks/notebooks.py --cold          # each with empty caches (a fresh $COURSEKIT_DATA)
    python benchmarks/notebooks.py --cold --set RETRAIN=True notebooks/05_discover_weekly.ipynb

``--set NAME=VALUE`` (repeatable) runs the notebook with a parameter changed, as a
student would edit it: the line ``NAME = VALUE`` is added to the cell that first assigns
``NAME`` (a notebook that has no such parameter is an error).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S, BUDGET_MB = 60.0, 1536.0
BINDER_MB = 1.2 * 1024  # Binder's 2 GB must also hold the Jupyter server

# Runs in a child process: executes one notebook, then reports wall seconds, the
# peak memory (MB) of its descendants (the kernel's process tree) and the index of
# the cell that was running at the peak.
_CHILD = r"""
import json, sys, threading, time, nbformat, psutil
from nbclient import NotebookClient
me, peak, done, cell = psutil.Process(), [0, -1], threading.Event(), [-1]
def sample():
    while not done.is_set():
        total = 0
        for p in me.children(recursive=True):
            try:
                total += p.memory_full_info().pss
            except psutil.Error:
                pass
        if total > peak[0]:
            peak[:] = [total, cell[0]]
        done.wait(0.25)
def started(cell_index, **_):
    cell[0] = cell_index
thread = threading.Thread(target=sample, daemon=True)
thread.start()
nb = nbformat.read(sys.argv[1], as_version=4)
for name, value in json.loads(sys.argv[3]).items():  # --set: a parameter changed where it is first assigned
    cells = [c for c in nb.cells if c.cell_type == "code" and any(line.startswith(f"{name} =") for line in c.source.splitlines())]
    if not cells:
        sys.exit(f"{sys.argv[1]} has no parameter {name} (no line '{name} = ...')")
    cells[0].source += f"\n{name} = {value}"
start = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}},
               on_cell_start=started).execute()
seconds = time.perf_counter() - start
done.set()
thread.join()
print(seconds, peak[0] / 2**20, peak[1])
"""


def measure(path: Path, *, cold: bool = False, params: dict | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak MB and the index of the cell running at the peak, for a fresh kernel running ``path``.

    With ``cold``, the notebook runs with empty caches: ``COURSEKIT_DATA`` is a new temporary folder.
    ``params`` maps parameter names to the Python source of their new values (``--set``).
    """
    import json

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="coursekit-cold-") as empty:
        if cold:
            env["COURSEKIT_DATA"] = empty
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(path.parent), json.dumps(params or {})],
                              capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{path.name} failed:\n{proc.stderr[-3000:]}")
    seconds, peak_mb, cell = proc.stdout.split()[-3:]
    return float(seconds), float(peak_mb), int(cell)


def _cell_line(path: Path, index: int) -> str:
    """``cell N: its first line of code`` (the first line that is not a comment)."""
    import nbformat

    if index < 0:
        return "before the first cell"
    lines = [line for line in nbformat.read(path, as_version=4).cells[index].source.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return f"cell {index}: {lines[0].strip()[:60] if lines else ''}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--cold", action="store_true",
                        help="run each notebook with empty caches (a fresh temporary $COURSEKIT_DATA)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a notebook parameter, e.g. --set RETRAIN=True (repeatable)")
    args = parser.parse_args()
    params = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            parser.error(f"--set takes NAME=VALUE, e.g. --set RETRAIN=True; got {item!r}")
        params[name.strip()] = value.strip()
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"caches: {'empty (--cold)' if args.cold else os.environ.get('COURSEKIT_DATA', 'the default')}"
          + "".join(f"; {name} = {value}" for name, value in params.items()))
    print(f"{'notebook':<36}{'wall s':>8}{'peak MB':>9}  budget  Binder  load   peak while")
    failed = False
    for path in paths:
        load = os.getloadavg()[0]
        try:
            seconds, peak, cell = measure(path, cold=args.cold, params=params)
        except RuntimeError as exc:
            print(f"{path.name:<36}  FAILED\n{exc}")
            failed = True
            continue
        ok = seconds <= BUDGET_S and peak <= BUDGET_MB
        failed |= not ok
        print(f"{path.name:<36}{seconds:>8.1f}{peak:>9.0f}  {'yes' if ok else 'NO':>6}  "
              f"{'yes' if peak <= BINDER_MB else 'NO':>6}  {load:>4.1f}   {_cell_line(path, cell)}", flush=True)
    print(f"(budget: {BUDGET_S:.0f} s and {BUDGET_MB:.0f} MB; Binder: {BINDER_MB:.0f} MB; "
          "load: the 1-minute load average when the notebook started)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
