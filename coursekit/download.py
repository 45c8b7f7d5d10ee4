"""Downloading a file over HTTP: retried, from mirrors, verified, never half-written.

:func:`download_file` is the one downloader of the course (the Last.fm data sets
use it, see :mod:`coursekit.lastfm`): the bytes go to a hidden temporary file
with a unique name next to the destination (so two processes downloading at
once never write to the same file), which is renamed into place only when the
transfer is complete and its size and SHA-256 match. Transient failures are
retried with exponential back-off, a permanent one moves on to the next mirror,
and a tqdm bar shows progress.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.error
import urllib.request
from pathlib import Path

from ._files import atomic_write

__all__ = ["download_file", "DatasetUnavailableError", "DatasetVerificationError"]

#: HTTP statuses worth asking again for (the server is busy or briefly broken).
_RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}


class DatasetUnavailableError(OSError):
    """The data is not on this machine and could not be downloaded."""


class DatasetVerificationError(ValueError):
    """A downloaded, hand-placed or generated file is not the expected one (damaged, cut short, edited)."""


def download_file(urls, dest, *, sha256: str | None = None, size: int | None = None, urlopen=None,
                  sleep=time.sleep, retries: int = 3, backoff_s: float = 1.0, timeout_s: float = 60.0,
                  progress: bool = True, hint: str = "") -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers a verified copy.

    The bytes go to a hidden temporary file next to ``dest`` with a name of its
    own (:func:`coursekit._files.atomic_write`: two processes never write the
    same one), which is renamed to ``dest`` only when the transfer is complete
    (all of ``Content-Length``) and the size and checksum match: an interrupted
    or corrupted download never leaves a file that looks whole.

    Parameters
    ----------
    urls : sequence of str
        Addresses to try in order (a primary, then mirrors).
    dest : path-like
        Where the verified file ends up.
    sha256 : str, optional
        Expected SHA-256 (hex) of the file.
    size : int, optional
        Expected size, bytes.
    urlopen : callable, optional
        ``urlopen(url, timeout=...)`` returning a response with ``read(n)`` and
        ``headers`` (a context manager); default :func:`urllib.request.urlopen`.
        Tests pass their own to simulate failures.
    sleep : callable
        ``sleep(seconds)`` between attempts; tests pass a recorder.
    retries : int
        Further attempts per address after a transient failure (timeout,
        dropped connection, HTTP 5xx/429, a checksum mismatch). A permanent one
        (HTTP 404) moves on to the next address at once.
    backoff_s : float
        Seconds before the first retry, doubling for each next one
        (``backoff_s · 2^k``).
    timeout_s : float
        Socket timeout of one attempt, seconds.
    progress : bool
        Show a tqdm progress bar (on stderr).
    hint : str
        Appended to the error message (where to put a hand-downloaded copy).

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DatasetUnavailableError
        When no address delivered a verified copy; the message says whether the
        network failed or the files did not verify, lists the attempts and
        ends with ``hint``.
    """
    if isinstance(urls, str):
        urls = (urls,)
    if not urls:
        raise ValueError("no URL to download from")
    if retries < 0 or backoff_s < 0:
        raise ValueError(f"retries and backoff_s must be >= 0, got {retries} and {backoff_s}")
    urlopen = urllib.request.urlopen if urlopen is None else urlopen
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []  # (kind, text): kind is "network", "http" or "verify"
    for url in urls:
        for attempt in range(retries + 1):
            if attempt:
                sleep(backoff_s * 2 ** (attempt - 1))
            try:
                _download_once(url, dest, sha256, size, urlopen, timeout_s, progress)
                return dest
            except urllib.error.HTTPError as err:
                failures.append(("http", f"{url}: HTTP {err.code} {err.reason}"))
                if err.code not in _RETRY_HTTP:
                    break
            except _Incomplete as err:
                failures.append(("verify", f"{url}: {err}"))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                failures.append(("network", f"{url}: {getattr(err, 'reason', None) or err!r}"))
    kinds = {k for k, _ in failures}
    if kinds == {"network"}:
        what = "the network is unreachable (no connection, or the server did not answer)"
    elif kinds == {"verify"}:
        what = "every copy downloaded failed verification (cut short or a different file)"
    else:
        what = "no address delivered a verified copy"
    seen = {}
    for _, text in failures:
        seen[text] = seen.get(text, 0) + 1
    tried = "; ".join(text + (f" (×{n})" if n > 1 else "") for text, n in seen.items())
    raise DatasetUnavailableError(
        f"could not download {dest.name}: {what}. {len(failures)} attempt(s): {tried}. {hint}".strip())


class _Incomplete(Exception):
    """A transfer that ended early or whose bytes do not verify (worth retrying)."""


def _download_once(url, dest: Path, sha256, size, urlopen, timeout_s, progress) -> None:
    from tqdm.auto import tqdm

    with atomic_write(dest) as tmp:  # a unique hidden .part name: two processes never share one
        digest, received = hashlib.sha256(), 0
        with urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out, \
                tqdm(total=None, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                     disable=not progress) as bar:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            length = int(length) if length else None
            bar.total = length
            while block := response.read(1 << 16):
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
        if length is not None and received != length:
            raise _Incomplete(f"got {received} of {length} bytes")
        if size is not None and received != size:
            raise _Incomplete(f"got {received} bytes, expected {size}")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise _Incomplete(f"sha256 {digest.hexdigest()} differs from the expected {sha256}")
