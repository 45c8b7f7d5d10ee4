"""The command that starts a student's kernel inside bubblewrap, with resource limits.

The kernel sees a read-only system (``/usr``, ``/etc``, the Python it runs on
and its packages, coursekit's own package folder), a fresh ``/tmp``, and three
folders of the one submission being graded: ``WORK`` (its private copy,
writable), ``RUN`` (the kernel's sockets and its answers, writable) and ``CTL``
(the grader's requests, read-only). Nothing else of the machine: not the
repository, not ``exercises/source``, not the grader's output, not the other
submissions. It has no network (its own empty network namespace), its own
process namespace (``/proc`` shows only its own processes; when the grader
kills bubblewrap, every process in it dies, detached or not), an empty
environment (so no secret in a variable reaches it), and the limits of
:class:`Limits` set with ``prlimit``. Run as root, the kernel runs as an
unprivileged user id (:data:`SANDBOX_UID`) so that the process limit holds.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "SANDBOX_UID", "sandbox_problem", "kernel_argv"]

#: The user id a root grader runs kernels as (unused by the system; process limits count per user id).
SANDBOX_UID = 64999

_INSTALL = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`) "
            "on a Linux machine that allows user namespaces, or grade in such a container")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel and everything it starts (``prlimit``; per process unless said).

    Parameters
    ----------
    cpu_seconds : int
        CPU time of each process (the kernel is killed beyond it).
    memory_bytes : int
        Data segment of each process (``RLIMIT_DATA``: heap and private mappings); a larger
        allocation fails with ``MemoryError``.
    processes : int
        Processes and threads of the sandbox's user id, all together (stops a fork bomb).
    file_bytes : int
        Largest file a process may write.
    open_files : int
        File descriptors of each process.
    """

    cpu_seconds: int = 300
    memory_bytes: int = 3 * 2**30
    processes: int = 256
    file_bytes: int = 256 * 2**20
    open_files: int = 1024

    def prlimit_args(self) -> list[str]:
        nproc = self.processes if os.geteuid() == 0 else self.processes + _own_threads()
        return ["prlimit", f"--cpu={self.cpu_seconds}", f"--data={self.memory_bytes}", f"--nproc={nproc}",
                f"--fsize={self.file_bytes}", f"--nofile={self.open_files}", "--core=0", "--"]


def _own_threads() -> int:
    """Threads this user id already runs (RLIMIT_NPROC counts them all, the grader's included)."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
            except OSError:
                continue
    return count


def _drop_privileges() -> list[str]:
    """Inside the sandbox, after bubblewrap (run as root) has made its mounts: become SANDBOX_UID, no capabilities."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _namespaces() -> list[str]:
    """Every namespace; unprivileged, bubblewrap needs a user namespace too (and then forbids nested ones).

    As root it makes none, so that SANDBOX_UID stays a real user id, which the process limit counts.
    """
    common = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() == 0:
        return common
    return common + ["--unshare-user"] + (["--disable-userns"] if _bwrap_knows("--disable-userns") else [])


@functools.lru_cache(maxsize=None)
def _bwrap_knows(option: str) -> bool:
    """Whether this bubblewrap has ``option`` (``--disable-userns`` came with 0.8)."""
    try:
        return option in subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


def _python_roots() -> list[str]:
    roots = []
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        for p in (path, os.path.realpath(path)):
            if p and p not in roots and not any(p.startswith(r.rstrip("/") + "/") for r in roots):
                roots.append(p)
    return roots


def package_dir() -> str:
    """coursekit's package folder (bound read-only as /opt/coursekit/coursekit)."""
    return str(Path(__file__).resolve().parents[1])


def sandbox_problem() -> str | None:
    """None when bubblewrap works here; else why not and what to install."""
    missing = [tool for tool in ("bwrap", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ())
               if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found: {_INSTALL}"
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform}): {_INSTALL}"
    probe = ["bwrap", "--ro-bind", "/", "/"] + _namespaces() + [
        "--die-with-parent", "--proc", "/proc", "--dev", "/dev"] + _drop_privileges() + ["true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap did not start ({err}): {_INSTALL}"
    if done.returncode != 0:
        return f"bubblewrap cannot create a sandbox here ({done.stderr.strip()[:300]}): {_INSTALL}"
    return None


def _environment(*, ctl: str, run: str, home: str) -> dict:
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home, "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.matplotlib",
        "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "COURSEKIT_DATA": f"{home}/coursekit-data", "COURSEKIT_GRADING_CTL": ctl, "COURSEKIT_GRADING_RUN": run,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
        "LANG": "C.UTF-8",
    }


def kernel_argv(*, ctl: str, run: str, work: str, limits: Limits, sandbox: bool) -> list[str]:
    """The kernel's command line (``{connection_file}`` is filled in by jupyter_client)."""
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
              "--HistoryManager.enabled=False"]
    if not sandbox:  # --unsafe-no-sandbox: limits and an empty environment, nothing more
        env = _environment(ctl=ctl, run=run, home=work) | {"PYTHONPATH": str(Path(package_dir()).parent)}
        return limits.prlimit_args() + ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + kernel
    args = limits.prlimit_args() + ["bwrap"] + _namespaces() + [
        "--die-with-parent", "--new-session", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
        "--perms", "1777", "--tmpfs", "/tmp"]
    binds = [("--ro-bind-try", path, path) for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32",
                                                         "/sbin", "/etc")]
    binds += [("--ro-bind", path, path) for path in _python_roots()]
    binds += [("--ro-bind", package_dir(), "/opt/coursekit/coursekit"), ("--ro-bind", ctl, ctl),
              ("--bind", run, run), ("--bind", work, work)]
    made = {"/", "/tmp"}
    for _, _, target in binds:   # the folders above each mount point, readable by the kernel's user
        for parent in reversed(Path(target).parents):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
    for bind in binds:
        args += list(bind)
    args += ["--chdir", work, "--clearenv"]
    env = _environment(ctl=ctl, run=run, home="/tmp") | {"PYTHONPATH": "/opt/coursekit"}
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--"] + _drop_privileges() + kernel
