"""On-disk cache of generated modules, so numba can cache their machine code.

Source that is ``exec``'d cannot use numba's ``cache=True``. Instead each generated module is
written to ``$GRAPHJIT_CACHE_DIR`` (default ``~/.cache/graphjit``) under a name made from a hash of
its source, the graphjit, numba and Python versions and the source of ``graphjit.kernels`` (which
numba links into the cached code), with an atomic write (temp file + ``os.replace``), and imported
from there; numba then keeps the compiled code in ``__pycache__``
beside it. A later process compiling the same graph imports the same file and loads machine code
instead of compiling. The array kernels a program calls by symbol (``graphjit.kernels.extern``)
are bound before its code is loaded, from registry files in ``extern/``; one that cannot be bound
makes the load a cache miss.

Robustness: a module file whose content differs from the source (truncated, corrupted) is
rewritten; numba cache files that do not unpickle are deleted before import (numba recompiles);
several processes writing the same module all succeed (the replace is atomic and the content is
the same); a process killed while writing leaves at most a stray temporary file, never a partial
module (``cache_clear`` removes the strays); an unwritable cache directory or a failed write (a
full disk) falls back to compiling in memory, and a failed write of numba's machine code (numba
writes it at the first call) leaves the program working uncached, each with one warning.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
import threading
import types
import warnings
from pathlib import Path
from typing import Any

import numba

from graphjit.kernels import extern
from graphjit.version import __version__

PREFIX = "graphjit_gen_"
_lock = threading.Lock()
_loaded: dict[str, types.ModuleType] = {}
_warned = False


def cache_dir() -> Path:
    env = os.environ.get("GRAPHJIT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "graphjit"


# the registry of kernels called by symbol lives in the cache dir: set on import, for a process
# whose first call is a kernel calling another, and again by each load (the variable may change)
extern.registry_dir = cache_dir() / "extern"


@functools.cache
def kernels_fingerprint() -> str:
    """A hash of the source of ``graphjit.kernels``: numba links those functions into every
    cached program, and its cache does not notice when they change, so a change must change the
    programs' cache keys (a development install keeps its version number across edits)."""
    spec = importlib.util.find_spec("graphjit.kernels")  # its files, not the module itself
    assert spec is not None and spec.origin is not None, "graphjit.kernels is not installed"
    h = hashlib.sha256()
    root = Path(spec.origin).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def source_hash(source: str) -> str:
    h = hashlib.sha256()
    parts = (source, __version__, numba.__version__, sys.version.split()[0], kernels_fingerprint())
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def load_module(source: str) -> types.ModuleType:
    """The generated module for ``source``, imported from the cache dir (or built in memory)."""
    key = source_hash(source)
    name = PREFIX + key
    with _lock:
        mod = _loaded.get(name)
        if mod is not None:
            return mod
        extern.registry_dir = cache_dir() / "extern"
        try:
            path = _write(cache_dir(), name, source)
        except OSError as exc:
            _warn_unwritable(exc)
            mod = _in_memory(name, source)
        else:
            mod = _import(name, path)
            # after the import: numba's data files refer to the module by name
            _drop_bad_numba_cache(path)
            for numba_cache in _numba_caches(mod):
                _tolerate_failed_saves(numba_cache)
                extern.install_loader(numba_cache)
        _loaded[name] = mod
        return mod


def _write(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    data = source.encode()
    try:
        if path.read_bytes() == data:
            return path  # keep the file (and its mtime, which numba's cache index checks)
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _import(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    mod.CACHE = True  # type: ignore[attr-defined]
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return mod


def _in_memory(name: str, source: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.CACHE = False  # type: ignore[attr-defined]
    sys.modules[name] = mod
    exec(compile(source, f"<graphjit {name}>", "exec"), mod.__dict__)
    return mod


def _numba_caches(mod: types.ModuleType) -> list[Any]:
    """numba's disk caches of the module's ``@njit`` functions."""
    caches = []
    for obj in list(vars(mod).values()):
        numba_cache = getattr(obj, "_cache", None)
        if hasattr(numba_cache, "save_overload"):
            caches.append(numba_cache)
    return caches


def _tolerate_failed_saves(numba_cache: Any) -> None:
    """Make numba's cache writes for a function warn instead of raising: numba saves machine
    code at the first call, and a full disk must not fail that call (its own writes are
    atomic: a temporary file and a replace, removed on error)."""
    save = numba_cache.save_overload
    if getattr(save, "_graphjit_guarded", False):
        return

    def guarded(sig: object, data: object) -> None:
        try:
            save(sig, data)
        except OSError as exc:
            _warn_unwritable(exc)

    guarded._graphjit_guarded = True  # type: ignore[attr-defined]
    numba_cache.save_overload = guarded


def _warn_unwritable(exc: OSError) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"graphjit: the kernel cache directory {cache_dir()} is not writable ({exc}); "
            "compiling without the disk cache (set GRAPHJIT_CACHE_DIR to a writable directory "
            "with free space to cache kernels across runs)",
            RuntimeWarning,
            stacklevel=4,
        )


def _numba_files(path: Path) -> list[Path]:
    pycache = path.parent / "__pycache__"
    if not pycache.is_dir():
        return []
    stem = path.stem + "."
    return [
        p for p in pycache.iterdir() if p.name.startswith(stem) and p.suffix in (".nbi", ".nbc")
    ]


def _drop_bad_numba_cache(path: Path) -> None:
    """Delete numba's cache files for ``path`` when any of them does not unpickle: numba would
    raise on them at the first call instead of recompiling."""
    files = _numba_files(path)
    bad = False
    for f in files:
        try:
            with open(f, "rb") as fh:
                if f.suffix == ".nbi":
                    pickle.load(fh)  # numba's format version
                    stamp_overloads = pickle.loads(fh.read())
                    if not isinstance(stamp_overloads, tuple):
                        bad = True
                else:
                    pickle.loads(fh.read())
        except Exception:
            bad = True
        if bad:
            break
    if bad:
        for f in files:
            with contextlib.suppress(OSError):
                f.unlink()


def cache_info() -> str:
    """A short report: where the cache is, how many modules, how much disk."""
    d = cache_dir()
    if not d.is_dir():
        return f"graphjit kernel cache: {d} (empty: not created yet)"
    modules = list(d.glob(PREFIX + "*.py"))
    total = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
    return (
        f"graphjit kernel cache: {d}\n"
        f"  generated modules: {len(modules)}\n"
        f"  size on disk: {total / 1e6:.2f} MB (sources and numba machine code)"
    )


def cache_clear() -> int:
    """Delete the cached modules and numba's files for them; returns the number of files removed."""
    d = cache_dir()
    if not d.is_dir():
        return 0
    removed = 0
    candidates = list(d.glob(PREFIX + "*.py")) + list(d.glob(f".{PREFIX}*.tmp"))
    pycache = d / "__pycache__"
    if pycache.is_dir():
        candidates += [p for p in pycache.iterdir() if p.name.startswith(PREFIX)]
    registry = d / "extern"  # the symbols cached programs call (written again when needed)
    if registry.is_dir():
        candidates += [p for p in registry.iterdir() if p.suffix in (".pkl", ".tmp")]
    for p in candidates:
        try:
            p.unlink()
            removed += 1
        except OSError:
            pass
    return removed
