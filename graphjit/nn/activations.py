"""Activation modules, each a thin holder of ``gj.nn.functional``'s function and its settings
(PyTorch's names, arguments and defaults)."""

from __future__ import annotations

from typing import Any

from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.module import Module

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Tanh",
]


def refuse_inplace(inplace: bool, layer: str) -> None:
    if inplace:
        raise NotImplementedError(f"{layer}: inplace=True is not supported")


class _Activation(Module):
    """An activation without settings: ``forward`` applies ``fn``."""

    fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        refuse_inplace(inplace, type(self).__name__)

    def forward(self, x: Any) -> Any:
        return type(self).fn(x)


class ReLU(_Activation):
    fn = staticmethod(F.relu)


class ReLU6(_Activation):
    fn = staticmethod(F.relu6)


class SELU(_Activation):
    fn = staticmethod(F.selu)


class SiLU(_Activation):
    fn = staticmethod(F.silu)


class Mish(_Activation):
    fn = staticmethod(F.mish)


class Hardsigmoid(_Activation):
    fn = staticmethod(F.hardsigmoid)


class Hardswish(_Activation):
    fn = staticmethod(F.hardswish)


class Sigmoid(_Activation):
    fn = staticmethod(F.sigmoid)


class Tanh(_Activation):
    fn = staticmethod(F.tanh)


class LogSigmoid(_Activation):
    fn = staticmethod(F.logsigmoid)


class Softsign(_Activation):
    fn = staticmethod(F.softsign)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        refuse_inplace(inplace, type(self).__name__)

    def forward(self, x: Any) -> Any:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        refuse_inplace(inplace, type(self).__name__)

    def forward(self, x: Any) -> Any:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(ELU):
    def forward(self, x: Any) -> Any:
        return F.celu(x, self.alpha)


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Any:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Any) -> Any:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is greater than max_val {max_val}")
        self.min_val, self.max_val = min_val, max_val
        refuse_inplace(inplace, type(self).__name__)

    def forward(self, x: Any) -> Any:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softmax(Module):
    """Softmax along ``dim``: the last dim by default (``dim=None`` is PyTorch's implicit
    choice, see ``F.softmax``)."""

    def __init__(self, dim: int | None = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Any) -> Any:
        return F.log_softmax(x, self.dim)


class GLU(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
