"""Time world generation per size and print wall seconds and peak memory.

Each size is generated in a process of its own (so the peak memory is that
size's), through ``write_world`` into a temporary folder — the same path as
``coursekit world --size SIZE --write DIR``.

    python benchmarks/world.py                # tiny and small
    python benchmarks/world.py tiny small large
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile

_CHILD = r"""
import resource, sys, time
from coursekit.datasets import write_world
start = time.perf_counter()
folder = write_world(sys.argv[1], sys.argv[2])
import json
rows = json.loads((folder / "manifest.json").read_text())["rows"]
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rows["listens"])
"""


def main(sizes: list[str]) -> int:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'size':<8}{'wall s':>9}{'peak MB':>10}{'listens rows':>15}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run([sys.executable, "-c", _CHILD, size, os.path.join(tmp, size)],
                                  capture_output=True, text=True)
        if proc.returncode:
            print(f"{size:<8} FAILED\n{proc.stderr[-2000:]}")
            return 1
        seconds, peak, rows = proc.stdout.split()[-3:]
        print(f"{size:<8}{float(seconds):>9.1f}{float(peak):>10.0f}{int(rows):>15,}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["tiny", "small"]))
