"""One submission's kernel: started in the sandbox, run cell by cell, asked for values, killed.

:class:`KernelSession` owns a private temporary folder with three parts —
``work`` (the submission's copy, the kernel's working folder), ``run`` (its
sockets and answers) and ``ctl`` (the grader's requests, read-only to the
kernel) — and the kernel started by :func:`._sandbox.kernel_argv`. A cell or a
request that runs out of time kills the kernel (with everything it started) and
starts a new one, which re-runs the cells that ran before: a kernel that ignores
the interrupt loses only the cell that looped. :meth:`close` kills it and
deletes the folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import _values
from ._sandbox import SANDBOX_UID, Limits, kernel_argv

__all__ = ["KernelSession", "KernelLost"]

MAX_OUTPUT_CHARS = 20_000   # per cell: an endless print must not fill the grader's memory
_START_TIMEOUT = 90


class KernelLost(BaseException):
    """The kernel ran out of time ("timeout") or died ("dead") during a cell or a request.

    Not an ``Exception``, so that a checker's ``except Exception`` lets it through.
    """

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _spec_manager(argv):
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class SandboxSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=argv, display_name="coursekit grading", language="python", env={},
                              resource_dir="")

    return SandboxSpecs()


def _wait_until_gone(uid: int, *, seconds: float = 10.0) -> None:
    """Wait (a little) until the sandbox's processes have died, so that the next kernel has its process quota."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = False
        for entry in os.scandir("/proc"):
            try:
                if entry.name.isdigit() and entry.stat().st_uid == uid:
                    alive = True
                    break
            except OSError:
                continue
        if not alive:
            return
        time.sleep(0.05)


class KernelSession:
    """A sandboxed kernel for one submission (use as a context manager).

    Parameters
    ----------
    notebook_bytes : bytes
        The submission, copied into the private ``work`` folder.
    limits : Limits
        Resource limits of the kernel.
    sandbox : bool
        False only for ``--unsafe-no-sandbox``.
    """

    def __init__(self, notebook_bytes: bytes, *, limits: Limits, sandbox: bool = True):
        self.limits, self.sandbox = limits, sandbox
        self.base = Path(tempfile.mkdtemp(prefix="coursekit-grade-"))
        self.ctl, self.run, self.work = self.base / "ctl", self.base / "run", self.base / "work"
        for folder in (self.ctl, self.run, self.work):
            folder.mkdir(mode=0o755)
        (self.work / "submission.ipynb").write_bytes(notebook_bytes)
        if os.geteuid() == 0 and sandbox:
            for path in (self.run, self.work, self.work / "submission.ipynb"):
                os.chown(path, SANDBOX_UID, SANDBOX_UID)
        self.km = self.kc = None
        self.starts = 0
        self.requests = 0
        self.history: list[str] = []   # cells that ran (to re-run after a restart)

    # ------------------------------------------------------------------ life cycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> None:
        from jupyter_client import KernelManager

        self.starts += 1
        argv = kernel_argv(ctl=str(self.ctl), run=str(self.run), work=str(self.work), limits=self.limits,
                           sandbox=self.sandbox)
        self.km = KernelManager(kernel_name="coursekit-grading", kernel_spec_manager=_spec_manager(argv),
                                transport="ipc", ip=str(self.run / f"kernel{self.starts}"),
                                connection_file=str(self.ctl / f"kernel{self.starts}.json"))
        self.km.write_connection_file()   # readable by the kernel's user only (it holds the channels' key)
        if os.geteuid() == 0 and self.sandbox:
            os.chown(self.km.connection_file, SANDBOX_UID, SANDBOX_UID)
        log = self.base / f"kernel{self.starts}.log"   # outside the sandbox: only the grader reads it
        with open(log, "wb") as stderr:
            self.km.start_kernel(cwd=str(self.base), stdout=subprocess.DEVNULL, stderr=stderr)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=_START_TIMEOUT)
        except RuntimeError as err:
            self.kill()
            tail = log.read_bytes()[-3000:].decode(errors="replace").strip()
            raise RuntimeError(f"the sandboxed kernel did not start: {err} {tail}") from None

    def kill(self) -> None:
        """Kill the kernel and everything in its sandbox (bubblewrap takes its process namespace down with it)."""
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
            self.km.cleanup_resources()
        self.km = self.kc = None
        if os.geteuid() == 0 and self.sandbox:
            _wait_until_gone(SANDBOX_UID)

    def restart(self, *, grace: float) -> None:
        """A fresh kernel that has re-run the cells that ran before (each with ``grace`` seconds)."""
        self.kill()
        self.start()
        for code in list(self.history):
            try:
                self._execute(code, timeout=grace, outputs=None)
            except KernelLost:
                self.kill()
                self.start()
                return

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ running code

    def _execute(self, code: str, *, timeout: float, outputs: list | None) -> dict:
        from nbformat.v4 import output_from_msg

        used = [0]

        def hook(msg):
            if outputs is None or msg["msg_type"] not in ("stream", "display_data", "execute_result", "error"):
                return
            size = len(str(msg["content"].get("text", ""))) + len(str(msg["content"].get("data", "")))
            used[0] += size
            if used[0] > MAX_OUTPUT_CHARS and msg["msg_type"] != "error":
                return
            try:
                outputs.append(output_from_msg(msg))
            except Exception:  # noqa: BLE001 - a malformed message is dropped
                pass

        try:
            reply = self.kc.execute_interactive(code, timeout=max(timeout, 0.5), output_hook=hook,
                                                store_history=False, allow_stdin=False)
        except TimeoutError:
            raise KernelLost("timeout") from None
        except Exception as err:  # noqa: BLE001 - channels closed: the kernel died
            raise KernelLost("dead") from err
        if not self.km.is_alive():
            raise KernelLost("dead")
        if used[0] > MAX_OUTPUT_CHARS and outputs is not None:
            from nbformat.v4 import new_output
            outputs.append(new_output("stream", name="stderr",
                                      text=f"[grader] output cut at {MAX_OUTPUT_CHARS:,} characters\n"))
        return reply.get("content", {})

    def run_cell(self, code: str, *, timeout: float, outputs: list) -> str:
        """Run one cell: "ok", "error", or raise :class:`KernelLost`; the outputs go into ``outputs``."""
        if not self.km.is_alive():
            raise KernelLost("dead")
        start = time.monotonic()
        content = self._execute(code, timeout=timeout, outputs=outputs)
        if time.monotonic() - start > timeout + 5:
            raise KernelLost("timeout")
        self.history.append(code)
        return "error" if content.get("status") != "ok" else "ok"

    def request(self, message: dict, *, timeout: float):
        """Send a request to the kernel's :func:`._remote.answer`; the decoded response."""
        if self.km is None or not self.km.is_alive():
            raise KernelLost("dead")
        self.requests += 1
        number = self.requests
        _values.write(self.ctl / f"req-{number}", message)
        for suffix in (".json", ".npz"):
            (self.run / f"resp-{number}{suffix}").unlink(missing_ok=True)
        self._execute(f"__import__('coursekit.exercises._remote', fromlist=['answer']).answer({number}, "
                      f"globals())", timeout=timeout, outputs=None)
        response = _values.read(self.run / f"resp-{number}")
        if not isinstance(response, dict) or "status" not in response:
            raise ValueError("the answer file has no status")
        return response
