"""Making eager tensors: ``gj.tensor``, ``from_numpy``, ``rand``/``randn``, ``zeros`` and the rest.

These are the PyTorch-style constructors of :class:`graphjit.tensor.Tensor`. ``tensor`` copies its
data and ``from_numpy``/``as_tensor`` share it; the random functions draw from one module-level
generator that :func:`manual_seed` resets. ``zeros``, ``ones``, ``full``, ``arange``, ``linspace``,
``eye`` and the ``*_like`` functions are the numpy-style ones of :mod:`graphjit.ops.creation`, also
accepting PyTorch's ``device=`` argument (only the cpu is accepted).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.device import check_device
from graphjit.ir import as_dtype, is_float
from graphjit.ops import creation
from graphjit.ops.creation import _shape
from graphjit.tensor import Tensor, _array_from, _new

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "manual_seed",
    "cat",
]


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor).

    Without ``dtype`` numpy's rules apply: python floats give float64, ints int64, and an
    array keeps its dtype (float32 stays float32)."""
    check_device(device, "tensor()")
    arr = _array_from(data, as_dtype(dtype) if dtype is not None else None, copy=True)
    t = _new(arr)
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares ``data``'s memory when it is already a suitable array."""
    check_device(device, "as_tensor()")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype.name):
        try:
            return from_numpy(data)
        except TypeError:
            pass
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory: changes to either show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    if array.dtype.name not in ir.DTYPES:
        raise TypeError(
            f"from_numpy: graphjit tensors hold {', '.join(ir.DTYPES)}; this array is "
            f"{array.dtype.name} (convert it with .astype(...) first, which copies)"
        )
    return _new(array)


_rng = np.random.default_rng()


def manual_seed(seed: builtins.int) -> np.random.Generator:
    """Seed graphjit's random number generator (gj.rand, gj.randn, nn initialisers)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def _random(
    draw: Callable[[np.random.Generator, tuple[builtins.int, ...]], np.ndarray],
    size: tuple[Any, ...],
    dtype: Any,
    requires_grad: builtins.bool,
    device: Any,
    fn: str,
    generator: np.random.Generator | None = None,
) -> Tensor:
    check_device(device, f"{fn}()")
    shape = _shape(size, fn)
    dt = as_dtype(dtype) if dtype is not None else "float64"
    t = _new(draw(generator or _rng, shape).astype(dt, copy=False))
    return t.requires_grad_(True) if requires_grad else t


def rand(
    *size: Any,
    dtype: Any = None,
    requires_grad: builtins.bool = False,
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples in [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``; float64 by default."""
    return _random(lambda g, s: g.random(s), size, dtype, requires_grad, device, "rand", generator)


def randn(
    *size: Any,
    dtype: Any = None,
    requires_grad: builtins.bool = False,
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples: ``randn(2, 3)``, ``randn(())`` for a 0-d tensor."""
    return _random(
        lambda g, s: g.standard_normal(s), size, dtype, requires_grad, device, "randn", generator
    )


def randint(
    low: builtins.int,
    high: builtins.int | None = None,
    size: Any = (),
    *,
    dtype: Any = "int64",
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Random integers in [low, high) (``randint(high, size)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    return _random(
        lambda g, s: g.integers(low, high, s), (size,) if not isinstance(size, tuple) else size,
        dtype, False, device, "randint", generator,
    )  # fmt: skip


def rand_like(t: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return rand(tuple(t.shape), dtype=dtype or _float_dtype(t), requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return randn(tuple(t.shape), dtype=dtype or _float_dtype(t), requires_grad=requires_grad)


def _float_dtype(t: Any) -> str:
    return t.dtype if is_float(t.dtype) else "float64"


def empty(
    *size: Any, dtype: Any = None, requires_grad: builtins.bool = False, device: Any = None
) -> Tensor:
    """A tensor of the given size (filled with zeros: graphjit never hands out garbage)."""
    return _random(lambda g, s: np.zeros(s), size, dtype, requires_grad, device, "empty")


def cat(tensors: Sequence[Any], dim: builtins.int = 0, *, axis: Any = None) -> Any:
    """Join tensors along an existing dim (``gj.concatenate`` in numpy's spelling)."""
    return F.concatenate(list(tensors), dim if axis is None else axis)


concat = cat


def _with_device(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a numpy-style creation function) accepting PyTorch's ``device=`` too."""

    @functools.wraps(fn)
    def create(*args: Any, device: Any = None, **kwargs: Any) -> Any:
        check_device(device, f"{fn.__name__}()")
        return fn(*args, **kwargs)

    return create


zeros_like = _with_device(F.zeros_like)
ones_like = _with_device(F.ones_like)
full_like = _with_device(F.full_like)
zeros = _with_device(creation.zeros)
ones = _with_device(creation.ones)
full = _with_device(creation.full)
arange = _with_device(creation.arange)
linspace = _with_device(creation.linspace)
eye = _with_device(creation.eye)
