"""Saving and loading arrays, tensors and (nested) state dicts as ``.npz`` files.

Files are plain numpy archives read with ``allow_pickle=False``: loading a file never runs code
from it. Nested dicts are stored with ``/``-joined keys.

Each file records its format version in a member ``__graphjit_format__`` (a 0-d int64 array).
Files without it (written before the version was recorded) are read as format 1, whose layout is
the same. A file of another version raises :class:`graphjit.errors.FileFormatError` naming both
versions, rather than being misread.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from graphjit.errors import FileFormatError
from graphjit.files import write_file
from graphjit.ops.dispatch import is_tensor
from graphjit.tensor.creation import from_numpy

__all__ = ["save", "load"]

_SINGLE = "__array__"
_FORMAT = "__graphjit_format__"
FORMAT_VERSION = 1  # bump when the layout changes; files without a version are format 1


def _to_array(value: Any, key: str) -> np.ndarray:
    if is_tensor(value):
        return np.asarray(value.detach().cpu().numpy())  # a tensor on the GPU: a host copy
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"save: {key!r} holds python objects, which are not saved")
        return arr
    raise TypeError(f"save: {key!r} is a {type(value).__name__}; save arrays, tensors or dicts")


def _flatten(obj: dict[str, Any], prefix: str, out: dict[str, np.ndarray]) -> None:
    for k, v in obj.items():
        if not isinstance(k, str) or not k or "/" in k:
            raise ValueError(f"save: dict keys must be non-empty strings without '/', got {k!r}")
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, key + "/", out)
        else:
            out[key] = _to_array(v, key)


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Save an array, a tensor, or a (nested) dict of them to ``path`` (a ``.npz`` file)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"save: path must be a str or path, got {type(path).__name__}")
    arrays: dict[str, np.ndarray] = {}
    if isinstance(obj, dict):
        for reserved, why in ((_SINGLE, "a file of one array"), (_FORMAT, "the format version")):
            if reserved in obj:
                raise ValueError(f"save: {reserved!r} is reserved (it marks {why})")
        _flatten(obj, "", arrays)
    else:
        arrays[_SINGLE] = _to_array(obj, "value")
    arrays[_FORMAT] = np.array(FORMAT_VERSION, dtype=np.int64)
    # the target is the old file or the new one, never partial (graphjit.files)
    write_file(os.fspath(path), lambda fh: np.savez(fh, **arrays), "save")  # type: ignore[arg-type]


def load(path: str | os.PathLike[str], as_tensors: bool = True) -> Any:
    """Load what :func:`save` wrote: tensors (or numpy arrays with ``as_tensors=False``), in the
    same (nested) dict structure. Never unpickles."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load: path must be a str or path, got {type(path).__name__}")
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no file {os.fspath(path)!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"load: {os.fspath(path)!r} is a directory, not a file") from None
    except PermissionError:
        raise  # about the path, not the content
    except (ValueError, OSError, EOFError, NotImplementedError, zipfile.BadZipFile) as exc:
        # numpy calls any unrecognised file "pickled" and suggests allow_pickle: never do that
        why = "not a .npz archive" if "pickle" in str(exc) else str(exc)
        raise ValueError(
            f"load: {os.fspath(path)!r} is not a graphjit/numpy .npz file ({why})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {os.fspath(path)!r} holds a bare array, not a saved state")

    def wrap(key: str, a: Any) -> Any:
        if not isinstance(a, np.ndarray):  # NpzFile hands back members that are not .npy as bytes
            raise ValueError(f"load: {os.fspath(path)!r} has a member {key!r} that is not an array")
        if not as_tensors:
            return a

        try:
            return from_numpy(a)
        except TypeError as exc:
            raise TypeError(
                f"load: {key!r} in {os.fspath(path)!r}: {exc}; or pass as_tensors=False to get "
                "numpy arrays"
            ) from None

    # MemoryError: a member whose header claims a shape far larger than its data;
    # NotImplementedError: zipfile's answer to a damaged member header (an unknown compression
    # method, flag or zip version)
    unreadable = (
        ValueError,
        OSError,
        EOFError,
        MemoryError,
        NotImplementedError,
        zipfile.BadZipFile,
        zlib.error,
    )
    with archive:
        listed = _listed_members(os.fspath(path))
        if listed is not None and listed != len(archive.files):
            # a damaged directory entry (a huge comment length) makes zipfile skip the members
            # after it without a word: refuse rather than hand back a state with keys missing
            raise ValueError(
                f"load: {os.fspath(path)!r} cannot be read: its zip directory lists {listed} "
                f"members but {len(archive.files)} can be read"
            )
        # the version first: a newer format may hold members this graphjit cannot read
        try:
            marker = archive[_FORMAT] if _FORMAT in archive.files else None
        except unreadable as exc:
            raise ValueError(f"load: {os.fspath(path)!r} cannot be read: {exc}") from None
        if marker is not None:
            _check_format(marker, os.fspath(path))
        try:
            items = {k: archive[k] for k in archive.files if k != _FORMAT}
        except unreadable as exc:
            # object arrays (allow_pickle=False refuses them), bad CRCs, truncated members
            raise ValueError(f"load: {os.fspath(path)!r} cannot be read: {exc}") from None
    if list(items) == [_SINGLE]:
        return wrap("value", items[_SINGLE])
    result: dict[str, Any] = {}
    for key, arr in items.items():
        parts = key.split("/")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        if "" in parts or not isinstance(node, dict) or parts[-1] in node:
            raise ValueError(
                f"load: {os.fspath(path)!r} has an entry {key!r} that does not fit a nested dict "
                "(an empty name, or a name that is both an array and a dict)"
            )
        node[parts[-1]] = wrap(key, arr)
    return result


def _listed_members(path: str) -> int | None:
    """The member count the zip's end-of-central-directory record states (None for a zip64
    archive, whose count lives elsewhere)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 16) - 22))  # the record and a zip comment of at most 64 KiB
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None  # zipfile opened it, so it found the record; let it speak
    count = struct.unpack_from("<H", tail, at + 10)[0]
    return None if count == 0xFFFF else int(count)


def _check_format(marker: Any, path: str) -> None:
    """Raise unless ``marker`` (the file's format member, or None for a file without one) names
    the format this graphjit reads."""
    if marker is None:
        return  # written before versions were recorded: format 1
    if not isinstance(marker, np.ndarray) or marker.shape != () or marker.dtype.kind not in "iu":
        raise ValueError(
            f"load: {path!r} has a {_FORMAT!r} member that is not an integer version number"
        )
    found = int(marker)
    if found != FORMAT_VERSION:
        age = "a newer" if found > FORMAT_VERSION else "an older"
        advice = (
            "upgrade graphjit to read it"
            if found > FORMAT_VERSION
            else "load it with the graphjit that wrote it"
        )
        raise FileFormatError(
            f"load: {path!r} is in graphjit file format {found}, written by {age} graphjit; this "
            f"graphjit reads format {FORMAT_VERSION} ({advice})",
            found=found,
            supported=FORMAT_VERSION,
        )
