"""Execute every notebook and print its wall time and peak memory.

Each notebook runs top to bottom in a fresh kernel (``nbclient``), one at a
time, in a process of its own. The peak memory is that of the kernel's whole
process tree — the kernel and everything it starts: worker processes, and for
chapter 06 Spark's Java virtual machine — sampled every 0.25 s as the sum of
the processes' proportional set sizes (PSS: a page shared by two processes
counts half in each), so nothing the notebook starts is left out. The budget
(DESIGN.md) is 60 s and 1.5 GB per notebook on 2 cores. The notebooks on disk
are not modified.

    python benchmarks/notebooks.py                 # every notebook in notebooks/
    python benchmarks/notebooks.py notebooks/01_implicit_feedback.ipynb
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S, BUDGET_MB = 60.0, 1536.0

# Runs in a child process: executes one notebook, then reports wall seconds and
# the peak memory (MB) of its descendants (the kernel's process tree).
_CHILD = r"""
import sys, threading, time, nbformat, psutil
from nbclient import NotebookClient
me, peak, done = psutil.Process(), [0], threading.Event()
def sample():
    while not done.is_set():
        total = 0
        for p in me.children(recursive=True):
            try:
                total += p.memory_full_info().pss
            except psutil.Error:
                pass
        peak[0] = max(peak[0], total)
        done.wait(0.25)
thread = threading.Thread(target=sample, daemon=True)
thread.start()
nb = nbformat.read(sys.argv[1], as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
seconds = time.perf_counter() - start
done.set()
thread.join()
print(seconds, peak[0] / 2**20)
"""


def measure(path: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of a fresh kernel running ``path``."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(path.parent)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{path.name} failed:\n{proc.stderr[-3000:]}")
    seconds, peak_mb = map(float, proc.stdout.split()[-2:])
    return seconds, peak_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'notebook':<36}{'wall s':>8}{'peak MB':>9}  within budget")
    failed = False
    for path in paths:
        try:
            seconds, peak = measure(path)
        except RuntimeError as exc:
            print(f"{path.name:<36}  FAILED\n{exc}")
            failed = True
            continue
        ok = seconds <= BUDGET_S and peak <= BUDGET_MB
        failed |= not ok
        print(f"{path.name:<36}{seconds:>8.1f}{peak:>9.0f}  {'yes' if ok else 'NO'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
