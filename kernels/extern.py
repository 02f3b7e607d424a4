"""Calls from a generated program into a hand-written kernel, without numba linking the kernel in.

numba compiles a call from one ``@njit`` function to another by linking the callee's LLVM module,
with everything it calls, into the caller's, and LLVM then optimises and generates machine code
for all of it again. A convolution kernel (its im2col loops, their parallel variants, BLAS) costs
about 1.2 s of LLVM in every program that calls it, a max pool 0.7 s: most of a LeNet training
step's 15 s compile. Here such a kernel is compiled once per argument types (numba loads it from
its own disk cache), its machine code is given a process-wide symbol name (``llvmlite``'s
``add_symbol``), and the program calls that symbol through numba's calling convention: exceptions
raised in the kernel propagate as from a linked call.

A program compiled this way refers to the symbols by name, so before its machine code is loaded
from numba's disk cache in another process they must be bound again: :func:`bind_symbols` finds
their names in the cached data and binds each from a small registry file (the kernel's module,
name and argument types), written when the symbol was first made. The loader
:func:`install_loader` puts on a function's cache does this before every load; when a kernel
cannot be bound, the load is a cache miss and the function is compiled again. :func:`unlinked`
gives the generated module a kernel module whose functions are called this way (the per-element
scalar functions stay linked: numba inlines them into loops).

Kernels call their own heavy parts this way too (a convolution's column loops, a pooling
plane): a parallel loop calling a linked function had its code optimised again for each of the
three functions numba makes of the loop (about 1.5 s a kernel). A module doing so ends with
:func:`load_bound`, so that its functions load from the disk cache with their symbols bound
whoever calls them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import os
import pickle
import re
import tempfile
import types as pytypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import llvmlite.binding as ll
from numba.core import cgutils, types
from numba.core.caching import FunctionCache
from numba.core.compiler_lock import global_compiler_lock
from numba.core.cpu import CPUTargetOptions
from numba.core.dispatcher import Dispatcher
from numba.core.runtime.nrt import rtsys
from numba.extending import intrinsic

PREFIX = "graphjit_extern_"
_SYMBOL = re.compile(rb"graphjit_extern_([0-9a-f]{24})")

# where registry files go: graphjit.cache sets a folder of its cache dir; without it (kernels
# called on their own, or a copy of this package in an exported model) a folder beside numba's
# cache of this package (None: nowhere, every load of a function calling by symbol compiles)
registry_dir: Path | None = Path(__file__).resolve().parent / "__pycache__" / "extern"

_bound: dict[str, Any] = {}  # symbol -> the kernel's compile result (kept alive: its code)
_externals: dict[int, Any] = {}  # id(kernel) -> its intrinsic (kernels live as long as Python)
_stand_ins: dict[str, pytypes.ModuleType] = {}  # module name -> its stand-in

# numba's option compiling a function with LLVM's ``optnone`` attribute, for a function that only
# calls others by symbol: the entry of a program cut into stages (codegen/numba_cpu/stages.py)
# checks shapes and calls its stages, so optimising it gains nothing, and LLVM's passes over a
# function passing a hundred arrays between calls took seconds. Empty where numba lacks it.
CALLER_ONLY: dict[str, bool] = (
    {"_dbg_optnone": True} if hasattr(CPUTargetOptions, "_dbg_optnone") else {}
)


def _key(kernel: Dispatcher, argtypes: tuple[types.Type, ...]) -> tuple[str, bytes]:
    """The symbol's key (from the kernel's name and the types' reprs, which spell out dtype,
    rank, layout and flags: their pickles differ between processes) and its registry entry."""
    entry = (kernel.py_func.__module__, kernel.py_func.__qualname__, argtypes)
    return _digest(entry), pickle.dumps(entry)


def _digest(entry: tuple[str, str, tuple[types.Type, ...]]) -> str:
    return hashlib.sha256(repr(entry).encode()).hexdigest()[:24]


def bind(kernel: Dispatcher, argtypes: tuple[types.Type, ...]) -> tuple[str, Any]:
    """The symbol of ``kernel``'s machine code for ``argtypes`` (compiled or loaded now if need
    be), and its compile result."""
    key, entry = _key(kernel, argtypes)
    symbol = PREFIX + key
    with global_compiler_lock:  # numba's own: typing and cache loads already hold it
        cres: Any = _bound.get(symbol)
        if cres is None:
            load_bound_code(kernel)
            kernel.compile(argtypes)
            cres = kernel.overloads[argtypes]
            ll.add_symbol(symbol, cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name))
            _bound[symbol] = cres
            _record(key, entry)
    return symbol, cres


def _record(key: str, entry: bytes) -> None:
    """Write the registry file for ``key`` (atomically; a failure only costs a recompile of a
    cached program in another process). A file there that holds something else (corrupted) is
    replaced: kept, it would make every later process compile the programs calling ``key``."""
    if registry_dir is None:
        return
    path = registry_dir / f"{key}.pkl"
    # kept if it names ``key``'s kernel (not its bytes: pickles of one entry differ by process)
    with contextlib.suppress(Exception):
        if _digest(pickle.loads(path.read_bytes())) == key:
            return
    with contextlib.suppress(OSError):
        registry_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=registry_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(entry)
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise


def _bind_key(key: str) -> bool:
    """Bind the symbol ``key`` names, from its registry file: False when it cannot be."""
    if PREFIX + key in _bound:
        return True
    if registry_dir is None:
        return False
    try:
        module, qualname, argtypes = pickle.loads((registry_dir / f"{key}.pkl").read_bytes())
        kernel: Any = importlib.import_module(module)
        for part in qualname.split("."):
            kernel = getattr(kernel, part)
        if not isinstance(kernel, Dispatcher) or _key(kernel, argtypes)[0] != key:
            return False  # the kernel changed since (its cache fingerprint normally says so)
        bind(kernel, argtypes)
    except Exception:  # a missing or unreadable file, a kernel that no longer compiles: recompile
        return False
    return True


def bind_symbols(data: Any) -> bool:
    """Bind every symbol that numba's cached ``data`` (a compile result, reduced) calls: True
    when all are bound, so its machine code can be loaded."""
    keys = {m.group(1).decode() for blob in _bytes_in(data) for m in _SYMBOL.finditer(blob)}
    return all(_bind_key(k) for k in sorted(keys))


def _bytes_in(data: Any) -> Iterable[bytes]:
    if isinstance(data, (bytes, bytearray)):
        yield bytes(data)
    elif isinstance(data, (tuple, list)):
        for item in data:
            yield from _bytes_in(item)
    elif isinstance(data, dict):
        for item in data.values():
            yield from _bytes_in(item)


def install_loader(numba_cache: Any) -> None:
    """Make ``numba_cache`` load a function's machine code graphjit's way: without first
    importing all of numba's compiler, and binding the kernels it calls by symbol first.

    numba's ``load_overload`` refreshes the target context before it looks in the cache: that
    imports every typing and lowering registry numba has (its numpy, typed containers, datetime,
    random, and scipy.linalg with them), the largest part of a warm process's first call. Loading
    machine code needs none of them, only numba's runtime (NRT), which the refresh also starts.
    A cache miss still compiles as before: numba's compiler refreshes the contexts itself. Code
    calling a kernel that cannot be bound is a cache miss too (loading it would leave a call to
    an unknown symbol). Without numba's private loader (another numba version) nothing is loaded
    from the disk: every process compiles. Other targets (CUDA kernels) are left as numba's."""
    if not isinstance(numba_cache, FunctionCache):
        return
    if getattr(numba_cache.load_overload, "_graphjit", False):
        return
    names = ("_guard_against_spurious_io_errors", "_index_key", "_cache_file", "_impl")
    parts: list[Any] = [getattr(numba_cache, n, None) for n in names]

    def load_overload(sig: object, target_context: Any) -> Any:
        if None in parts or not getattr(numba_cache, "_enabled", False):
            return None
        guard, index_key, cache_file, impl = parts
        rtsys.initialize(target_context)  # idempotent; the refresh would have done it
        with guard():
            data = _load_checked(cache_file, index_key(sig, target_context.codegen()))
            if data is None or not bind_symbols(data):
                return None
            return impl.rebuild(target_context, data)
        return None  # the guard swallowed an I/O error: compile instead

    load_overload._graphjit = True  # type: ignore[attr-defined]
    numba_cache.load_overload = load_overload  # type: ignore[method-assign]
    cache_file = parts[2]
    if cache_file is not None and hasattr(cache_file, "_save_data"):
        cache_file._save_data = lambda name, data: _save_checked(cache_file, name, data)


# Machine code loaded from a damaged cache file (bit rot, a bad copy) can abort the process in
# LLVM, or crash it, and would on every run: each data file numba writes gets a digest beside it
# (``.sum``), and a file without a matching one is a cache miss (compiled and written again).


def _file_digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).hexdigest().encode()


def _save_checked(cache_file: Any, name: str, data: Any) -> None:
    """numba's ``_save_data`` (its class's, looked up now), then the digest of what it wrote."""
    type(cache_file)._save_data(cache_file, name, data)
    path = cache_file._data_path(name)
    with open(path, "rb") as f:
        blob = f.read()
    with cache_file._open_for_write(path + ".sum") as f:
        f.write(_file_digest(blob))


def _load_checked(cache_file: Any, key: Any) -> Any:
    """numba's ``load``, for data whose digest matches (a damaged file is removed)."""
    name = cache_file._load_index().get(key)
    if name is None:
        return None
    path = cache_file._data_path(name)
    try:
        with open(path, "rb") as f:
            blob = f.read()
        with open(path + ".sum", "rb") as f:
            digest = f.read()
    except OSError:
        return None
    if digest != _file_digest(blob):
        for stale in (path, path + ".sum"):
            with contextlib.suppress(OSError):
                os.unlink(stale)
        return None
    return pickle.loads(blob)


def load_bound_code(kernel: Any) -> None:
    """Make a ``@njit`` function with a disk cache load through :func:`install_loader`."""
    numba_cache = getattr(kernel, "_cache", None)
    if numba_cache is not None:
        install_loader(numba_cache)


def load_bound(namespace: dict[str, Any]) -> None:
    """:func:`load_bound_code` for every ``@njit`` function of a kernel module (its
    ``globals()``): cached code calling kernels by symbol, or linking a function that does, must
    not load before they are bound (a call to an unknown symbol aborts the process), and no
    cached code loads unless its digest matches (see :func:`_load_checked`). Every kernel module
    with cached functions ends with it."""
    for value in namespace.values():
        if isinstance(value, Dispatcher):
            load_bound_code(value)


def _normalise(ty: types.Type) -> types.Type:
    """The argument type a kernel is compiled for: literals and tuples of them made plain."""
    if isinstance(ty, types.BaseTuple):
        return types.BaseTuple.from_types([_normalise(t) for t in ty])  # type: ignore[attr-defined]
    return types.unliteral(ty)


def external(kernel: Dispatcher) -> Any:
    """An intrinsic with ``kernel``'s parameters that calls its machine code by symbol."""
    made = _externals.get(id(kernel))
    if made is None:
        made = _externals[id(kernel)] = _make_external(kernel)
    return made


def _make_external(kernel: Dispatcher) -> Any:

    def typer(argtys: tuple[types.Type, ...]) -> Any:
        argtypes = tuple(_normalise(t) for t in argtys)
        symbol, cres = bind(kernel, argtypes)
        restype = cres.signature.return_type

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            values = [context.cast(builder, v, f, t) for v, f, t in zip(args, argtys, argtypes)]
            fnty = context.call_conv.get_function_type(restype, argtypes)
            fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
            status, res = context.call_conv.call_function(builder, fn, restype, argtypes, values)
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return res

        return restype(*argtys), codegen

    name, params = kernel.py_func.__name__, ", ".join(inspect.signature(kernel.py_func).parameters)
    namespace: dict[str, Any] = {"typer": typer}
    exec(f"def {name}(typingctx, {params}):\n    return typer(({params},))", namespace)
    return intrinsic(namespace[name])


def _inlined(kernel: Dispatcher) -> bool:
    """numba inlines the function into its callers' IR (a view, such as a reshape): called by
    symbol, it would be compiled on its own for each signature and its result's shape hidden."""
    return kernel.targetoptions.get("inline") == "always"


def unlinked(module: pytypes.ModuleType) -> pytypes.ModuleType:
    """A stand-in for a kernel module whose ``@njit`` functions are called by symbol (see the
    module docstring); the rest of it (intrinsics, constants) as it is. Made once per module."""
    out = _stand_ins.get(module.__name__)
    if out is None:
        out = pytypes.ModuleType(module.__name__ + "[unlinked]")
        for name, value in vars(module).items():
            if not name.startswith("__"):
                by_symbol = isinstance(value, Dispatcher) and not _inlined(value)
                setattr(out, name, external(value) if by_symbol else value)
        _stand_ins[module.__name__] = out
    return out
