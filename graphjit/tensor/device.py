"""Devices for eager tensors: ``gj.device``, ``gj.cuda.is_available()``, and moving arrays.

A tensor on the CPU holds a numpy array; a tensor on ``"cuda"`` holds a numba device array, and
its ops run CUDA kernels (see :mod:`graphjit.tensor.backend`). ``gj.cuda.is_available()`` says
whether the GPU (or numba's simulator) can be used here, and ``gj.cuda.device_name()`` names it.
One GPU is used: ``"cuda"`` and ``"cuda:0"`` are the same device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.cuda_compat import (
    cuda_problem,
    import_numba_cuda,
    is_device_array,
    simulator_enabled,
    to_device,
    to_host,
)

__all__ = ["device", "cuda", "check_device", "gpu_problem", "device_of", "move_array", "copy_array"]


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 1)``."""

    __slots__ = ("index", "type")
    type: str
    index: int | None

    def __init__(self, spec: Any, index: int | None = None) -> None:
        self.type, self.index = parse_device(spec, index, "device")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{idx})"


def parse_device(spec: Any, index: int | None, what: str) -> tuple[str, int | None]:
    """The type and index of the device ``spec`` names, or an error that starts with ``what``
    (the call the caller made) and lists the devices there are."""
    if isinstance(spec, device):
        return spec.type, spec.index
    if not isinstance(spec, str):
        raise TypeError(
            f"{what}: expected a device or a string like 'cpu' or 'cuda:0', got {spec!r}"
        )
    kind, _, idx = spec.partition(":")
    if kind not in ("cpu", "cuda") or (idx and not idx.isdigit()):
        raise ValueError(f"{what}: unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:N'")
    return kind, int(idx) if idx else index


CPU = device("cpu")
CUDA = device("cuda", 0)


def is_device(x: Any) -> bool:
    """True for a device or a device string (``"cpu"``, ``"cuda:1"``), as ``Tensor.to`` reads it."""
    return isinstance(x, device) or (isinstance(x, str) and x.partition(":")[0] in ("cpu", "cuda"))


def gpu_problem() -> str | None:
    """Why no CUDA GPU (or the simulator) can be used here, or None when numba finds one."""
    return cuda_problem()


class _Cuda:
    """``gj.cuda``: PyTorch's ``torch.cuda`` questions, answered for graphjit's CUDA backend."""

    @staticmethod
    def is_available() -> bool:
        """Whether tensors and compiled graphs can run on CUDA here (a GPU, or numba's simulator
        under ``NUMBA_ENABLE_CUDASIM=1``)."""
        return cuda_problem() is None

    @staticmethod
    def device_count() -> int:
        if cuda_problem() is not None:
            return 0
        return len(import_numba_cuda().gpus)

    @staticmethod
    def device_name() -> str | None:
        """The current CUDA device's name (``"simulator"`` under the simulator), None without
        one."""
        if cuda_problem() is not None:
            return None
        if simulator_enabled():
            return "simulator"
        name = import_numba_cuda().get_current_device().name
        return name.decode() if isinstance(name, bytes) else str(name)


cuda = _Cuda()


def check_device(dev: Any, what: str) -> device:
    """The device ``dev`` names (None: the CPU); for CUDA where none can be used, a RuntimeError
    that says why and what to do."""
    if dev is None:
        return CPU
    d = device(*parse_device(dev, None, what))
    if d.type == "cpu":
        return CPU
    if d.index not in (None, 0):
        raise RuntimeError(f"{what}: graphjit uses one GPU, cuda:0; got {d}")
    problem = gpu_problem()
    if problem is not None:
        raise RuntimeError(f"{what}: cannot place a tensor on {d}: {problem}")
    return CUDA


def device_of(data: Any) -> device:
    """Where an array lives: CUDA for a device array, else the CPU."""
    return CUDA if is_device_array(data) else CPU


def move_array(data: Any, dev: device) -> Any:
    """``data`` on ``dev``: the array itself when it is there already, else a copy."""
    if dev.type == "cuda":
        return data if is_device_array(data) else to_device(data)
    return to_host(data)


def copy_array(data: Any) -> Any:
    """A copy of a host or device array, on the same device."""
    if isinstance(data, np.ndarray):
        return data.copy()
    out = import_numba_cuda().device_array(tuple(data.shape), dtype=data.dtype)
    if out.size:
        out.copy_to_device(data)
    return out
