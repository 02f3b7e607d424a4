"""Devices for eager tensors: ``gj.device``, ``gj.cuda.is_available()``, and why ``.to("cuda")``
refuses for now.

Eager tensors live in host memory in this version; compiled graphs can run on a CUDA GPU
(``backend="cuda"``). ``gj.cuda.is_available()`` says whether that backend can run here (a GPU,
or numba's simulator), and ``gj.cuda.device_name()`` names the device.
"""

from __future__ import annotations

from typing import Any

from graphjit.cuda_compat import cuda_problem, import_numba_cuda, simulator_enabled

__all__ = ["device", "cuda", "check_device", "gpu_problem"]


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 1)``."""

    __slots__ = ("index", "type")
    type: str
    index: int | None

    def __init__(self, spec: Any, index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda") or (idx and not idx.isdigit()):
            raise ValueError(f"device: unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        self.type = kind
        self.index = int(idx) if idx else index

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


CPU = device("cpu")


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
        """Whether compiled graphs can run here with backend="cuda" (a GPU, or numba's
        simulator under ``NUMBA_ENABLE_CUDASIM=1``). Eager tensors stay in host memory in this
        version either way."""
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


def check_device(dev: Any, what: str) -> None:
    """Accept the CPU; for anything else raise a RuntimeError that says why and what to do."""
    if dev is None:
        return
    d = device(dev)
    if d.type == "cpu":
        return
    problem = gpu_problem()
    why = f" Besides, {problem}." if problem else ""
    raise RuntimeError(
        f"{what}: cannot place a tensor on {d}: graphjit's eager tensors live in host memory in "
        "this version (compiled graphs run on a GPU with gj.compile(..., backend='cuda'))."
        f"{why}"
    )
