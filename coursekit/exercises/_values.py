"""Plain values across the sandbox wall: a JSON tree plus an ``.npz`` of arrays, never a pickle.

The grader sends a student's function its inputs, and gets back what it
returned, as two files: ``NAME.json`` (the structure: numbers, strings, lists,
tuples, sets, dicts, and references to arrays) and ``NAME.npz`` (the arrays,
read with ``allow_pickle=False``). Anything else (an object of the student's
own class, a function, a generator) crosses as an :class:`Opaque` that keeps
only its type's name, so a checker can say "expected an array, got a Foo".
Reading checks sizes first: a crafted zip or an endless nesting is refused,
never expanded.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np

__all__ = ["Opaque", "encode", "decode", "write", "read", "ValueTooLarge"]

MAX_BYTES = 64 * 2**20       # what one answer may weigh, arrays included (the exercises' are kilobytes)
_MAX_DEPTH = 40


class ValueTooLarge(ValueError):
    """An answer file over :data:`MAX_BYTES`, nested too deep, or not a plain file."""


class Opaque:
    """A value that could not cross as data; only its type's name came through."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:200]

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def encode(value, arrays: dict, depth: int = 0):
    """The JSON tree of ``value``; its arrays go into ``arrays`` (name -> ndarray)."""
    if depth > _MAX_DEPTH:
        return {"opaque": "deeply nested value"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"int": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"float": repr(float(value))}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcUS":
            return {"list": [encode(v, arrays, depth + 1) for v in value.tolist()], "array_of_objects": True}
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    try:
        import scipy.sparse as sp
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            return {"sparse": type(value).__name__, "shape": list(csr.shape),
                    "data": encode(csr.data, arrays), "indices": encode(csr.indices, arrays),
                    "indptr": encode(csr.indptr, arrays)}
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    try:
        import pandas as pd
        if isinstance(value, pd.DataFrame):
            return {"dataframe": [encode(c, arrays, depth + 1) for c in value.columns],
                    "columns": [encode(value[c].to_numpy(), arrays, depth + 1) for c in value.columns],
                    "index": encode(value.index.to_numpy(), arrays, depth + 1)}
        if isinstance(value, pd.Series):
            return encode(value.to_numpy(), arrays, depth)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}.get(type(value), "list")
        return {kind: [encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, arrays, depth + 1), encode(v, arrays, depth + 1)] for k, v in value.items()]}
    return {"opaque": type(value).__name__}


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    return value


def decode(tree, arrays, depth: int = 0):
    """The value that :func:`encode` described (sets, tuples and dicts rebuilt; arrays looked up)."""
    if depth > _MAX_DEPTH + 5:
        raise ValueTooLarge("the answer is nested too deep")
    if tree is None or isinstance(tree, (bool, str)):
        return tree
    if not isinstance(tree, dict) or len(tree) == 0:
        raise ValueError("not an answer file written by coursekit")
    if "int" in tree:
        return int(tree["int"][:5000])
    if "float" in tree:
        return float(tree["float"])
    if "array" in tree:
        return arrays[str(tree["array"])]
    if "sparse" in tree:
        import scipy.sparse as sp
        shape = tuple(int(n) for n in tree["shape"])
        matrix = sp.csr_matrix((decode(tree["data"], arrays), decode(tree["indices"], arrays),
                                decode(tree["indptr"], arrays)), shape=shape)
        kind = str(tree["sparse"])
        return matrix if kind == "csr_matrix" else matrix.asformat(kind[:3]) if kind[:3] in (
            "csc", "coo", "lil", "dok", "bsr", "dia") else matrix
    if "dataframe" in tree:
        import pandas as pd
        names = [decode(c, arrays, depth + 1) for c in tree["dataframe"]]
        columns = [decode(c, arrays, depth + 1) for c in tree["columns"]]
        return pd.DataFrame(dict(zip(names, columns)), index=decode(tree["index"], arrays, depth + 1))
    if "list" in tree:
        items = [decode(v, arrays, depth + 1) for v in tree["list"]]
        return np.array(items, dtype=object) if tree.get("array_of_objects") else items
    if "tuple" in tree:
        return tuple(decode(v, arrays, depth + 1) for v in tree["tuple"])
    if "set" in tree:
        return {_hashable(decode(v, arrays, depth + 1)) for v in tree["set"]}
    if "dict" in tree:
        return {_hashable(decode(k, arrays, depth + 1)): decode(v, arrays, depth + 1) for k, v in tree["dict"]}
    if "opaque" in tree:
        return Opaque(tree["opaque"])
    raise ValueError("not an answer file written by coursekit")


def write(path, value) -> None:
    """``path + '.npz'`` then ``path + '.json'`` (the JSON last: its presence means the answer is complete)."""
    arrays: dict = {}
    tree = encode(value, arrays)
    for suffix, payload in ((".npz", arrays), (".json", tree)):
        tmp = f"{path}{suffix}.tmp"
        with open(tmp, "wb") as handle:
            if suffix == ".npz":
                np.savez(handle, **payload)
            else:
                handle.write(json.dumps(payload, allow_nan=True).encode())
        os.replace(tmp, f"{path}{suffix}")


def _read_plain_file(path: str) -> bytes:
    """The bytes of a regular file, refusing links, FIFOs, devices and anything over MAX_BYTES."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueTooLarge(f"{os.path.basename(path)} is not a plain file")
        if info.st_size > MAX_BYTES:
            raise ValueTooLarge(f"the answer is {info.st_size / 2**20:.0f} MB (at most {MAX_BYTES // 2**20} MB)")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def read(path):
    """The value written by :func:`write` at ``path`` (arrays loaded with ``allow_pickle=False``)."""
    blob = _read_plain_file(f"{path}.npz")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_BYTES:
            raise ValueTooLarge(f"the answer's arrays unpack to more than {MAX_BYTES // 2**20} MB")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    tree = json.loads(_read_plain_file(f"{path}.json"))
    return decode(tree, arrays)
