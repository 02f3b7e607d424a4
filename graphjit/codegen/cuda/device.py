"""The device side of a CUDA call: buffers, moving arrays in and out, and the executable.

Inputs are numpy arrays (copied into cached device buffers) or device arrays with
``__cuda_array_interface__`` or DLPack (used in place; a non-contiguous one is copied). Outputs
follow the inputs: numpy in, numpy out; a device array in, device arrays out (CuPy arrays when
CuPy is installed, else numba device arrays). Variables living on the device (their storage holds
a device array) are read in place; host variables are copied in on every call. New values of
updated variables come back as device arrays, which the runtime writes into the variables'
storage under their locks: on the device for a device variable (no host copy), copied back for
a host one (see the README's CUDA section). An update the program stores into the variable's
array itself (``codegen.updates``) comes back as the variable's own array, which the runtime
leaves alone; a host variable's comes back as its device copy, written back as before.

Buffers: results get a new array per call (from CuPy's memory pool when CuPy is there); every
other buffer is cached per (name, shape, dtype) and reused by the next call of the same thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphjit.codegen.updates import NO_STORES, Stores
from graphjit.cuda_compat import array_span, import_numba_cuda, simulator_enabled, to_host


def cupy_module() -> Any | None:
    """CuPy when it is installed and a real GPU is in use (never under the simulator)."""
    if simulator_enabled():
        return None
    try:
        import cupy  # noqa: PLC0415 - optional dependency

        return cupy
    except ImportError:
        return None


def is_device_array(a: Any) -> bool:
    if isinstance(a, np.ndarray):
        return False
    return (
        hasattr(a, "__cuda_array_interface__")
        or hasattr(a, "copy_to_host")
        or (hasattr(a, "__dlpack__") and not isinstance(a, np.ndarray) and not hasattr(a, "numpy"))
    )


class Allocator:
    """Device buffers of one thread of one compiled function."""

    def __init__(self) -> None:
        self.cuda = import_numba_cuda()
        self.cupy = cupy_module()
        self._scratch: dict[tuple[str, tuple[int, ...], Any], Any] = {}

    def fresh(self, shape: tuple[int, ...], dtype: Any) -> Any:
        if self.cupy is not None:
            return self.cuda.as_cuda_array(self.cupy.empty(shape, dtype=dtype))
        return self.cuda.device_array(shape, dtype=dtype)

    def scratch(self, key: str, shape: tuple[int, ...], dtype: Any) -> Any:
        k = (key, tuple(int(d) for d in shape), np.dtype(dtype))
        buf = self._scratch.get(k)
        if buf is None:
            buf = self._scratch[k] = self.fresh(k[1], dtype)
        return buf

    def copy(self, a: Any) -> Any:
        from graphjit.kernels.cuda.memory import copy_into  # noqa: PLC0415 - loads numba.cuda

        out = self.fresh(a.shape, a.dtype)
        copy_into(a, out)
        return out

    def upload(self, key: str, a: np.ndarray) -> Any:
        buf = self.scratch(key, a.shape, a.dtype)
        if a.size:
            buf.copy_to_device(np.ascontiguousarray(a))
        return buf

    def device_input(self, a: Any) -> Any:
        """A device array as a C-contiguous numba device array (zero copy when it is one)."""
        cuda = self.cuda
        if hasattr(a, "copy_to_host") and not hasattr(a, "__cuda_array_interface__"):
            return a  # the simulator's device arrays
        if not hasattr(a, "__cuda_array_interface__"):
            if self.cupy is None:
                raise TypeError(
                    "a DLPack array without __cuda_array_interface__ needs CuPy to be read "
                    "(pip install 'graphjit[cuda13]')"
                )
            a = self.cupy.from_dlpack(a)
        d = cuda.as_cuda_array(a)
        if d.is_c_contiguous():
            return d
        if self.cupy is not None:
            return cuda.as_cuda_array(self.cupy.ascontiguousarray(self.cupy.asarray(a)))
        return cuda.to_device(np.ascontiguousarray(d.copy_to_host()))


class Staged(NamedTuple):
    """Inputs prepared for many calls on the same arguments (``CompiledFunction.repeat``)."""

    inputs: list[Any]  # device arrays
    result: Callable[[Any], Any]  # a call's output as the call would return it
    stack: Callable[[list[Any]], Any]  # the outputs of every call along a new leading axis


class CudaExecutable:
    """A compiled CUDA program: ``__call__(inputs, variables)`` launches its kernels."""

    def __init__(
        self,
        source: str,
        program: Any,
        constants: Sequence[np.ndarray],
        n_updates: int,
        stores: Stores = NO_STORES,
    ) -> None:
        self.source = source
        self._program = program
        self._constants = tuple(constants)
        self._n_updates = n_updates
        # the updates the program stores into their variables' device arrays itself (see
        # ``codegen.updates``)
        self.in_place = stores.in_place
        self._written = stores.written
        self._late = stores.late_inputs
        self._local = threading.local()

    def _allocator(self) -> Allocator:
        alloc: Allocator | None = getattr(self._local, "alloc", None)
        if alloc is None:
            alloc = self._local.alloc = Allocator()
            # constants go to the device once per thread
            self._local.constants = [
                alloc.upload(f"c{i}", c) for i, c in enumerate(self._constants)
            ]
        return alloc

    def stage(self, inputs: Sequence[Any]) -> Staged:
        """For ``repeat``: host inputs copied to the device once (not on every call), with their
        outputs copied back once at the end; device inputs as they are, with outputs stacked on
        the device."""
        if any(is_device_array(a) for a in inputs):
            cupy = self._allocator().cupy
            if cupy is not None:
                return Staged(list(inputs), _same, cupy.stack)
            return Staged(list(inputs), _same, _stack_numba)
        alloc = self._allocator()
        staged = []
        for a in inputs:
            host = np.ascontiguousarray(a)
            buf = alloc.fresh(host.shape, host.dtype)
            if host.size:
                buf.copy_to_device(host)
            staged.append(buf)
        return Staged(staged, to_host, lambda outs: np.stack([to_host(o) for o in outs]))

    def __call__(self, inputs: Sequence[Any], variables: Sequence[Any]) -> list[Any]:
        alloc = self._allocator()
        on_device = any(is_device_array(a) for a in inputs)
        args = [
            alloc.device_input(a) if is_device_array(a) else alloc.upload(f"x{i}", a)
            for i, a in enumerate(inputs)
        ]
        n_in = len(args)
        args += [
            alloc.device_input(v) if is_device_array(v) else alloc.upload(f"w{i}", v)
            for i, v in enumerate(variables)
        ]
        for i in self._late:
            if is_device_array(inputs[i]) and any(
                _overlap(args[i], args[n_in + j]) for j in self._written
            ):
                args[i] = alloc.copy(args[i])  # it must read the old values
        results = list(self._program(alloc, *args, *self._local.constants))
        n_out = len(results) - self._n_updates
        stored = {n_out + k: self._written[m] for m, k in enumerate(self.in_place)}
        outs: list[Any] = []
        for k, r in enumerate(results):
            j = stored.get(k)
            if j is not None and is_device_array(variables[j]):
                outs.append(variables[j])  # stored into the variable itself: nothing to write
            elif k >= n_out:
                outs.append(r)  # a new value of a variable: the runtime writes it
            elif not on_device:
                outs.append(r.copy_to_host())
            elif alloc.cupy is not None:
                outs.append(alloc.cupy.asarray(r))
            else:
                outs.append(r)
        return outs


def _overlap(a: Any, b: Any) -> bool:
    """Whether two device arrays may share memory (their byte ranges meet)."""
    lo_a, hi_a = array_span(a)
    lo_b, hi_b = array_span(b)
    return lo_a < hi_b and lo_b < hi_a


def _same(a: Any) -> Any:
    return a


def _stack_numba(outs: list[Any]) -> Any:
    """numba device arrays stacked along a new leading axis (through the host: numba has no
    device stack; used only without CuPy)."""
    cuda = import_numba_cuda()
    return cuda.to_device(np.stack([to_host(o) for o in outs]))
