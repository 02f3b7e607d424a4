"""Launch configuration of the generated kernels, from the device's SM count.

Grid-stride kernels get enough blocks of ``BLOCK`` threads to fill the device (``BLOCKS_PER_SM``
per SM) and no more than the work needs. Under numba's simulator, which runs every thread as a
Python thread, blocks are small and few.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from numba import cuda

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
BLOCK = 32 if SIMULATOR else 256  # threads per block (a power of 2: the tree reductions halve it)
BLOCKS_PER_SM = 16
MAX_PARTS = 1024  # chunks of one reduction output (combined in order by a second kernel)
MIN_CHUNK = 4096  # elements a reduction block handles at least before the work is split


@functools.cache
def sm_count() -> int:
    if SIMULATOR:
        return 1
    return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)


def blocks(total: int) -> int:
    """Blocks for a grid-stride kernel over ``total`` items."""
    want = (total + BLOCK - 1) // BLOCK
    return max(1, min(want, sm_count() * BLOCKS_PER_SM, 4 if SIMULATOR else want))


def reduce_blocks(jobs: int) -> int:
    """Blocks for a reduction kernel with ``jobs`` (output, part) pairs, one block per job."""
    return max(1, min(jobs, sm_count() * BLOCKS_PER_SM * 4, 4 if SIMULATOR else jobs))


def parts(nout: int, nred: int) -> int:
    """Chunks each output's ``nred`` elements are split into: enough blocks to fill the device
    when the outputs are few; 1 when there are enough outputs. Depends only on the sizes and the
    device, so the reduction order (and the bits) are the same on every run."""
    if nout == 0 or nred <= MIN_CHUNK:
        return 1
    target = sm_count() * BLOCKS_PER_SM
    if nout >= target:
        return 1
    want = (target + nout - 1) // nout
    return max(1, min(want, (nred + MIN_CHUNK - 1) // MIN_CHUNK, MAX_PARTS))


def flat(a):  # type: ignore[no-untyped-def]
    """A C-contiguous device array as 1-D (a view; a 0-d array becomes one element)."""
    return a.reshape(a.size)


# -------------------------------------------------------------------------------- launching
# The generated programs launch their kernels through :func:`run`. The first launch of a kernel
# for a set of argument kinds goes through numba's dispatcher, which compiles it (or loads it
# from the cache), types the arguments and launches. After that the *lean path* launches the
# same machine code directly through ``cuda.core.launch``, the call numba itself ends in: the
# arguments are flattened into the kernel's parameter list here (numba's layout: each array is
# meminfo, parent, size, itemsize, data pointer, shape..., strides...; scalars are ctypes values),
# skipping the dispatcher's typing, its launch-configuration object and its per-array argument
# wrappers. ``GRAPHJIT_CUDA_LAUNCH=numba`` keeps every launch on numba's dispatcher; the
# simulator always does (its kernels run in Python).
LAUNCH_MODE = os.environ.get("GRAPHJIT_CUDA_LAUNCH", "lean").strip().lower()
if LAUNCH_MODE not in ("lean", "numba"):
    raise ValueError(f"GRAPHJIT_CUDA_LAUNCH must be 'lean' or 'numba', not {LAUNCH_MODE!r}")


class Flat:
    """A C-contiguous device array handed to a kernel as its 1-D view (no reshape on the lean
    path; a numba view on the dispatcher's)."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array

    def view(self) -> Any:
        return flat(self.array)


Entry = Callable[[int, tuple[Any, ...]], None]  # launches one kernel: (grid, args)
Packer = Callable[[Any, list[Any]], None]  # appends one argument's kernel parameters

# (kernel, argument kinds...) -> how to launch it; None when every launch goes through numba
_entries: dict[tuple[Any, ...], Entry] | None = None if SIMULATOR or LAUNCH_MODE == "numba" else {}
_verified = False  # whether the lean path has passed its check on this device (see _verify)


def run(kernel: Any, grid: int, *args: Any) -> None:
    """``kernel[grid, BLOCK](*args)``, with :class:`Flat` arguments passed as 1-D views."""
    entries = _entries
    if entries is not None:
        key = (kernel, *map(_kind, args))
        entry = entries.get(key)
        if entry is not None:
            entry(grid, args)
            return
    kernel[grid, BLOCK](*_views(args))
    if entries is not None:
        entries[key] = _lean_entry(kernel, args)


def _views(args: Sequence[Any]) -> list[Any]:
    """The arguments as numba's dispatcher takes them: each :class:`Flat` as its 1-D view."""
    return [a.view() if type(a) is Flat else a for a in args]


def _kind(a: Any) -> Any:
    """What decides the kernel overload an argument selects (and how it is packed)."""
    t = type(a)
    if t is Flat:
        return a.array.dtype  # a 1-D C-contiguous array of this dtype
    if t is int or t is float or t is bool:
        return t
    return getattr(a, "_numba_type_", t)  # numba's device arrays carry their numba type


def _dispatch(kernel: Any) -> Entry:
    def entry(grid: int, args: tuple[Any, ...]) -> None:
        kernel[grid, BLOCK](*_views(args))

    return entry


def _lean_entry(kernel: Any, args: tuple[Any, ...]) -> Entry:
    """The lean launcher of the overload ``kernel`` just ran for ``args``; the dispatcher when
    that overload or one of its parameters is not one the lean path handles."""
    global _entries, _verified
    lean = lean_launcher(kernel, args)
    if lean is None:
        return _dispatch(kernel)
    if not _verified:
        _verified = True
        problem = _verify()
        if problem is not None:
            _entries = None
            warnings.warn(
                f"graphjit: the lean CUDA launch path failed its check on this device "
                f"({problem}); every kernel launches through numba's dispatcher instead",
                RuntimeWarning,
                stacklevel=3,
            )
            return _dispatch(kernel)
    return lean


def lean_launcher(kernel: Any, args: tuple[Any, ...]) -> Entry | None:
    """A launcher calling ``cuda.core.launch`` with the parameters packed here, for the overload
    of ``kernel`` that ``args`` select; None where the lean path does not apply."""
    from numba import typeof  # noqa: PLC0415

    views = _views(args)
    try:
        overload = kernel.overloads.get(tuple(typeof(v) for v in views))
    except Exception:  # an argument numba cannot type: the dispatcher says why
        return None
    if overload is None or overload.debug or overload.cooperative or overload.extensions:
        return None
    packers = packers_for(overload.argument_types, args)
    if packers is None:
        return None
    handle = overload._codelibrary.get_cufunc().kernel
    return _Launcher(handle, packers)


def packers_for(types_: Sequence[Any], args: Sequence[Any]) -> list[Packer] | None:
    """How each argument becomes kernel parameters, from the overload's parameter types; None
    when one of them is a type the lean path does not pack."""
    import ctypes  # noqa: PLC0415

    from numba.core import types as nt  # noqa: PLC0415

    if len(types_) != len(args):
        return None
    packers: list[Packer] = []
    for ty, a in zip(types_, args):
        if isinstance(ty, nt.Array):
            if type(a) is Flat:
                if ty.ndim != 1:
                    return None
                packers.append(_pack_flat)
            elif getattr(a, "ndim", None) == ty.ndim:
                packers.append(_pack_array)
            else:
                return None
        elif isinstance(ty, nt.Boolean):
            packers.append(_pack_raw)
        elif isinstance(ty, nt.Integer):
            packers.append(_scalar_packer(getattr(ctypes, f"c_{ty}")))
        elif ty == nt.float64:
            packers.append(_scalar_packer(ctypes.c_double))
        elif ty == nt.float32:
            packers.append(_scalar_packer(ctypes.c_float))
        else:
            return None
    return packers


def pack(packers: Sequence[Packer], args: Sequence[Any]) -> list[Any]:
    """The kernel parameter list of ``args`` (what numba's dispatcher would pass)."""
    params: list[Any] = []
    for p, a in zip(packers, args):
        p(a, params)
    return params


def _pack_array(a: Any, out: list[Any]) -> None:
    out += (0, 0, a.size, a.dtype.itemsize, a.device_ctypes_pointer.value or 0)
    out += a.shape
    out += a.strides


def _pack_flat(f: Flat, out: list[Any]) -> None:
    a = f.array
    if not a.is_c_contiguous():
        raise ValueError("a kernel's flat argument must be a C-contiguous device array")
    size, itemsize = a.size, a.dtype.itemsize
    out += (0, 0, size, itemsize, a.device_ctypes_pointer.value or 0, size, itemsize)


def _pack_raw(a: Any, out: list[Any]) -> None:
    out.append(a)


def _scalar_packer(ctype: Any) -> Packer:
    def pack_scalar(a: Any, out: list[Any]) -> None:
        out.append(ctype(a))

    return pack_scalar


_configs: dict[int, Any] = {}  # grid -> cuda.core LaunchConfig (blocks of BLOCK threads)


@functools.cache
def _core() -> tuple[Any, Any, Any]:
    """``cuda.core``'s launch, its LaunchConfig, and the legacy default stream numba launches
    on (cuda.core is a dependency of numba-cuda)."""
    from cuda.core import LaunchConfig, Stream, launch  # noqa: PLC0415

    return launch, LaunchConfig, Stream.from_handle(0)


class _Launcher:
    """Launches one compiled kernel through ``cuda.core`` on numba's default stream."""

    __slots__ = ("handle", "packers")

    def __init__(self, handle: Any, packers: list[Packer]) -> None:
        self.handle, self.packers = handle, packers

    def __call__(self, grid: int, args: tuple[Any, ...]) -> None:
        params: list[Any] = []
        for p, a in zip(self.packers, args):
            p(a, params)
        launch, launch_config, stream = _core()
        config = _configs.get(grid)
        if config is None:
            config = _configs[grid] = launch_config(grid=grid, block=BLOCK)
        launch(stream, config, self.handle, *params)


@cuda.jit
def _probe(n, x, y, on, a, b, out):  # type: ignore[no-untyped-def]
    """Every parameter kind the lean path packs: int, float64, float32, bool, a flat array, a
    2-D array and a flat output."""
    for t in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[t] = a[t] * x + b[t // b.shape[1], t % b.shape[1]] * y + (n if on else -n)


def _verify() -> str | None:
    """Launch :func:`_probe` through the dispatcher, then through the lean path, and compare
    both with numpy: what went wrong, or None."""
    import numpy as np  # noqa: PLC0415

    try:
        a = np.arange(1000, dtype=np.float64)
        b = np.arange(1000, dtype=np.float64).reshape(10, 100) * 0.25
        want = a * 0.5 + b.ravel() * np.float64(np.float32(1.5)) + 3
        da, db = cuda.to_device(a), cuda.to_device(b)
        args = (3, 0.5, np.float32(1.5), True, Flat(da))
        for path in ("numba's dispatcher", "the lean path"):
            out = cuda.device_array((10, 100), np.float64)
            if path == "numba's dispatcher":
                _probe[blocks(1000), BLOCK](*args[:4], da, db, flat(out))
                lean = lean_launcher(_probe, (*args, db, Flat(out)))
                if lean is None:
                    return "the probe kernel's overload was not found"
            else:
                lean(blocks(1000), (*args, db, Flat(out)))
            got = out.copy_to_host().ravel()
            if not np.array_equal(got, want):
                return f"{path} computed wrong values"
    except Exception as exc:  # any failure of the lean path means: use the dispatcher
        return f"{type(exc).__name__}: {exc}"
    return None
