"""Loading numba's CUDA target, with the one compatibility fix graphjit needs for it.

numba-cuda 0.30.x registers an overload for ``np.row_stack`` when its array functions are first
loaded (at the first kernel compile). numpy 2.5 removed ``row_stack`` (an alias of ``vstack``),
so on numpy 2.5 every compile fails with ``AttributeError: module 'numpy' has no attribute
'row_stack'``. :func:`apply_numpy_shims` defines the alias again, only when it is absent, and
nothing else; every import of ``numba.cuda`` in graphjit goes through :func:`import_numba_cuda`,
which applies it first. Remove the shim once numba-cuda stops referring to ``np.row_stack``.

This module is imported by the eager device queries and the CUDA backend alike, so it sits at
the bottom of the layers and imports nothing from graphjit.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType
from typing import Any

import numpy as np

INSTALL_HINT = (
    "install the CUDA extra matching the machine's CUDA driver: pip install 'graphjit[cuda13]' "
    "(or 'graphjit[cuda12]')"
)


def apply_numpy_shims() -> bool:
    """Give numpy back the names numba-cuda still refers to. Returns whether a name was added
    (False when numpy still has them all: nothing is touched)."""
    if hasattr(np, "row_stack"):
        return False
    setattr(np, "row_stack", np.vstack)  # noqa: B010 - a name numpy 2.5 (and its stubs) lack
    return True


def simulator_enabled() -> bool:
    """Whether numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``): it then
    stands in for a GPU, running kernels in Python."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def import_numba_cuda() -> ModuleType:
    """``numba.cuda``, imported after the numpy shims; ImportError naming the extra to install
    when numba-cuda is not there."""
    apply_numpy_shims()
    if importlib.util.find_spec("numba_cuda") is None:
        raise ImportError(f"numba-cuda is not installed; {INSTALL_HINT}")
    try:
        from numba import cuda  # noqa: PLC0415 - optional dependency, loaded only when asked
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(f"numba-cuda is not installed ({exc}); {INSTALL_HINT}") from exc
    return cuda


def cuda_problem() -> str | None:
    """Why compiled graphs cannot run on a CUDA device here, or None when they can (the
    simulator counts as a device)."""
    try:
        cuda = import_numba_cuda()
    except ImportError as exc:
        return str(exc)
    except Exception as exc:  # a broken install raises something else
        return f"numba's CUDA support could not be loaded ({exc}); {INSTALL_HINT}"
    if simulator_enabled():
        return None
    try:
        if not cuda.is_available():
            return (
                "no CUDA GPU was found (numba.cuda.is_available() is False; set "
                "NUMBA_ENABLE_CUDASIM=1 to run the kernels in numba's simulator instead)"
            )
    except Exception as exc:  # a broken driver raises instead of returning False
        return f"the CUDA driver could not be used ({exc})"
    return None


def is_device_array(a: object) -> bool:
    """A GPU array (numba's device arrays, also the simulator's; CuPy; anything with
    ``__cuda_array_interface__``), not a host array."""
    if isinstance(a, np.ndarray):
        return False
    return hasattr(a, "__cuda_array_interface__") or hasattr(a, "copy_to_host")


def to_device(a: np.ndarray) -> object:
    """A numba device array holding a C-contiguous copy of the host array ``a``; a
    RuntimeError saying why when no GPU (or the simulator) can be used here."""
    problem = cuda_problem()
    if problem is not None:
        raise RuntimeError(f"cannot copy an array to the GPU: {problem}")
    return import_numba_cuda().to_device(np.array(a, order="C", copy=None))  # 0-d stays 0-d


def to_host(a: object) -> np.ndarray:
    """The values of a device array as a new host array (a host array is returned as it is)."""
    if isinstance(a, np.ndarray):
        return a
    copy_to_host = getattr(a, "copy_to_host", None)
    if copy_to_host is None:
        copy_to_host = import_numba_cuda().as_cuda_array(a).copy_to_host
    host: np.ndarray = copy_to_host()
    return host


def as_numba_device_array(a: object) -> Any:
    """A device array as a numba device array: numba's own (the simulator's too) as they are,
    others with ``__cuda_array_interface__`` (CuPy) viewed in place, with no copy."""
    if hasattr(a, "copy_to_device"):
        return a
    return import_numba_cuda().as_cuda_array(a)


def array_address(a: object) -> int:
    """The address of an array's first element, host or device (the id of an array that
    publishes neither interface: the simulator's device arrays)."""
    host = getattr(a, "__array_interface__", None)
    if host is not None and not is_device_array(a):
        return int(host["data"][0])
    device = getattr(a, "__cuda_array_interface__", None)
    if device is not None:
        return int(device["data"][0])
    return id(a)


def array_span(a: object) -> tuple[int, int]:
    """The bytes ``[start, end)`` an array can touch, host or device, from its interface's
    pointer, shape and strides (empty for an empty array). Under numba's simulator a device
    array is a host array underneath, and publishes that one's interface."""
    info = getattr(a, "__cuda_array_interface__", None)
    if info is None:
        info = a.__array_interface__  # type: ignore[attr-defined]
    start = int(info["data"][0])
    shape = tuple(info["shape"])
    if 0 in shape:
        return start, start
    itemsize = np.dtype(info["typestr"]).itemsize
    strides = info.get("strides")
    if strides is None:  # C-contiguous
        return start, start + itemsize * int(np.prod(shape))
    low = sum(st * (n - 1) for st, n in zip(strides, shape) if st < 0)
    high = sum(st * (n - 1) for st, n in zip(strides, shape) if st > 0)
    return start + low, start + high + itemsize
