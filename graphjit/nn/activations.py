"""Activation modules, each a thin holder of ``gj.nn.functional``'s function and its settings
(PyTorch's names, arguments and defaults)."""

from __future__ import annotations

from typing import Any

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.module import Module, operand
from graphjit.tensor.creation import full
from graphjit.tensor.parameter import Parameter

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
    "PReLU",
    "RReLU",
    "Softmin",
    "Softmax2d",
    "Threshold",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
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


class Tanhshrink(_Activation):
    fn = staticmethod(F.tanhshrink)


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


class PReLU(Module):
    """``F.prelu`` with a learned slope: one shared (``num_parameters=1``) or one per channel,
    each starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: str = "float64") -> None:
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int):
            raise ValueError(
                f"PReLU: num_parameters must be a positive int, got {num_parameters!r}"
            )
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(full((num_parameters,), init, dtype=dtype))

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        n = self.num_parameters
        if n > 1 and (x.ndim < 2 or tuple(x.shape)[1] not in (None, n)):
            raise ValueError(
                f"PReLU({self.extra_repr()}): expected an input (N, {n}, *) with {n} channels "
                f"(dim 1), got shape {tuple(x.shape)}"
            )
        return F.prelu(x, operand(self.weight, x))

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """``F.rrelu``: random negative slopes in [lower, upper] in training mode, their mean after
    ``model.eval()``. In a compiled step the slopes come from the graph generator: pass
    ``model.buffer_updates(loss)`` (or ``gj.nn.random_updates(loss)``) in the updates."""

    def __init__(
        self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, inplace: bool = False
    ) -> None:
        super().__init__()
        if not 0.0 <= lower <= upper:
            raise ValueError(f"RReLU: expected 0 <= lower <= upper, got {lower} and {upper}")
        refuse_inplace(inplace, type(self).__name__)
        self.lower, self.upper = lower, upper

    def forward(self, x: Any) -> Any:
        return F.rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class Softmin(Softmax):
    def forward(self, x: Any) -> Any:
        return F.softmin(x, self.dim)


class Softmax2d(Module):
    """Softmax over the channels of a (C, H, W) or (N, C, H, W) input (dim -3)."""

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected a (C, H, W) or (N, C, H, W) input, got shape {tuple(x.shape)}"
            )
        return F.softmax(x, -3)


class Threshold(Module):
    """``F.threshold``: ``x`` above ``threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        refuse_inplace(inplace, type(self).__name__)
        self.threshold, self.value = threshold, value

    def forward(self, x: Any) -> Any:
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class Hardshrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Any) -> Any:
        return F.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    def __init__(self, lambd: float = 0.5) -> None:
        if lambd < 0:
            raise ValueError(f"Softshrink: lambd must be >= 0, got {lambd}")
        super().__init__(lambd)

    def forward(self, x: Any) -> Any:
        return F.softshrink(x, self.lambd)
