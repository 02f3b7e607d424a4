"""Devices for eager tensors: ``gj.device``, ``gj.cuda.is_available()``, and why ``.to("cuda")``
refuses for now.

Eager tensors live in host memory in this version, and the CUDA backend for compiled graphs
(``backend="cuda"``) is not built yet. ``gj.cuda.is_available()``
answers the question PyTorch code asks it ("can I move my tensors there?"), so the usual
``device = "cuda" if gj.cuda.is_available() else "cpu"`` keeps such code on the CPU.
"""

from __future__ import annotations

from typing import Any

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
    """Why no CUDA GPU can be used here, or None when numba finds one."""
    try:
        from numba import cuda as numba_cuda  # noqa: PLC0415 - optional: loaded only when asked
    except Exception as exc:  # pragma: no cover - numba is a dependency
        return f"numba's CUDA support could not be loaded ({exc})"
    try:
        if not numba_cuda.is_available():
            return "no CUDA GPU was found (numba.cuda.is_available() is False)"
    except Exception as exc:  # a broken driver raises instead of returning False
        return f"the CUDA driver could not be used ({exc})"
    return None


class _Cuda:
    """``gj.cuda``: PyTorch's ``torch.cuda`` questions, answered for eager tensors."""

    @staticmethod
    def is_available() -> bool:
        """Whether eager tensors can move to a CUDA device: not in this version (compiled graphs
        can still use one: backend="cuda")."""
        return False

    @staticmethod
    def device_count() -> int:
        return 0


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
        f"this version (and backend='cuda' for compiled graphs is not built yet).{why} Code "
        "written for PyTorch can test gj.cuda.is_available(), which is False, to stay on the CPU."
    )
