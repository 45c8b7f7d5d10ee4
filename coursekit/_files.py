"""Files the library writes: atomically, with the user's permissions, in one cache folder.

Every file ``coursekit`` writes goes through a temporary file in the same folder
that is renamed into place only when complete (:func:`atomic_write`), so an
interrupted run (a crash, Ctrl-C, a full disk) never leaves a file that looks
whole. Folders are written the same way (:func:`atomic_folder`), and a folder is
never emptied: only the files the library itself wrote there are replaced.

The names are public so that every module uses the same few lines; the module
name starts with an underscore because students never need it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

__all__ = ["cache_dir", "sha256_file", "sha256_bytes", "atomic_write", "write_bytes", "atomic_folder",
           "file_mode", "is_plain_relative"]


def cache_dir() -> Path:
    """The persistent cache folder: ``$COURSEKIT_DATA``, or ``~/.cache/coursekit``.

    Returns
    -------
    pathlib.Path
        Not created here; writers create what they need below it.

    Examples
    --------
    >>> cache_dir() == Path(os.environ.get("COURSEKIT_DATA") or Path.home() / ".cache" / "coursekit")
    True
    """
    return Path(os.environ.get("COURSEKIT_DATA") or Path.home() / ".cache" / "coursekit")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide, so not thread-safe to toggle)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(*, folder: bool = False) -> int:
    """The mode a plain ``open()`` (or ``mkdir``) would give: ``0o666`` (``0o777``) less the umask.

    :func:`tempfile.mkstemp` makes files readable by their owner only (0600);
    the library's files should be as readable as any other the user creates.
    """
    return (0o777 if folder else 0o666) & ~_umask()


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Write ``path`` through a temporary file in the same folder, renamed into place when complete.

    The body of the ``with`` block writes to the temporary path it is given
    (it keeps ``path``'s suffix, so ``np.save`` and ``DataFrame.to_csv`` see the
    format they expect). When the block ends normally the file gets the usual
    permissions (``0o666`` less the umask, not mkstemp's 0600), is flushed to
    disk and replaces ``path`` in one step (:func:`os.replace`). When it raises
    — including ``KeyboardInterrupt`` — the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The file to write; its folder must exist.

    Yields
    ------
    pathlib.Path
        The temporary file to write to (hidden: ``.<name>.<random><suffix>``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("a,b\\n1,2\\n")
    >>> target.read_text()
    'a,b\\n1,2\\n'
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; see :func:`atomic_write`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def is_plain_relative(relative: str) -> bool:
    """Whether ``relative`` is a plain ``/``-separated path that stays inside its folder.

    Not absolute, no ``..``, ``.`` or empty parts, no backslash: a name read from
    a file (a manifest) may only ever point into the folder it describes.

    Examples
    --------
    >>> is_plain_relative("truth/tracks.csv.gz"), is_plain_relative("../thesis.txt")
    (True, False)
    """
    parts = relative.split("/")
    return bool(relative) and "\\" not in relative and all(p not in ("", ".", "..") for p in parts)


@contextmanager
def atomic_folder(path: str | os.PathLike, *, owned: Iterable[str] | Callable[[], Iterable[str] | None] | None = None,
                  last: str | None = None) -> Iterator[Path]:
    """Write a folder through a temporary sibling, moved into place when complete.

    Nothing the library did not write is ever deleted:

    * ``path`` absent (or an empty folder): the temporary folder is renamed to it.
    * ``path`` holds files: allowed only when the caller names, in ``owned``,
      the files it wrote there earlier (e.g. from its manifest). Then each new
      file replaces its namesake (``last`` last: the file that marks the folder
      whole), owned files that the new version no longer has are removed, and
      every other file in the folder stays untouched. A new file that would
      overwrite a file not in ``owned`` is an error, before anything is moved.
    * ``path`` holds files and ``owned`` is ``None``: :class:`FileExistsError`
      naming the folder.

    On an exception in the block (or ``KeyboardInterrupt``), the temporary folder
    is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The folder to write.
    owned : iterable of str or callable, optional
        Paths (relative, ``/``-separated) in the existing folder that the library
        wrote; or a callable returning them (or ``None``), asked only when the
        folder is moved into place — so that a folder another process finished
        meanwhile is recognised as the library's.
    last : str, optional
        Relative path of the file to move in last.

    Yields
    ------
    pathlib.Path
        The temporary folder to fill.

    Raises
    ------
    FileExistsError
        ``path`` is a file, or holds files the caller does not own and the new
        version would need to replace or remove them.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file, not a folder; choose another place to write to")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".part", dir=target.parent))
    try:
        tmp.chmod(file_mode(folder=True))
        yield tmp
        for p in sorted(tmp.rglob("*")):
            p.chmod(file_mode(folder=p.is_dir()))
        if not target.exists():
            tmp.rename(target)
            return
        try:
            target.rmdir()  # only succeeds when empty: nothing of anyone's is lost
        except OSError:
            pass
        else:
            tmp.rename(target)
            return
        if callable(owned):
            owned = owned()
        if owned is None:
            raise FileExistsError(f"{target} already holds files that coursekit did not write; it is left as it "
                                  f"is. Choose a new or empty folder, or move its files away first")
        _merge(tmp, target, set(owned), last)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _merge(new: Path, target: Path, owned: set[str], last: str | None) -> None:
    files = sorted(p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file())
    foreign = [f for f in files if (target / f).exists() and f not in owned]
    if foreign:
        raise FileExistsError(f"{target}: writing would overwrite {foreign[:5]}, which coursekit did not write "
                              f"(not listed in its manifest); move them away or choose another folder")
    for f in [f for f in files if f != last] + [f for f in files if f == last]:
        (target / f).parent.mkdir(parents=True, exist_ok=True)
        os.replace(new / f, target / f)
    for f in sorted(owned - set(files)):
        old = target / f
        if is_plain_relative(f) and old.is_file() and not old.is_symlink():
            old.unlink()
            parent = old.parent
            while parent != target:  # an emptied sub-folder of ours goes too
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
