"""The PyTorch-named public functions: ``gj.mul``, ``gj.clamp``, ``gj.t``, ``gj.cat``, ...

Tutorials written for PyTorch call ``torch.mul``, ``torch.clamp`` or ``torch.unsqueeze``; with these
the same lines work with ``gj.`` in front, on graph nodes and eager tensors alike. Where the name is
only an alias, it is the numpy-named function itself. Each name is defined once, here; the
methods of the same names (:mod:`graphjit.methods`) call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphjit.ops import comparison, joining, linalg, rounding, shape, trig
from graphjit.ops import elementwise as ew
from graphjit.ops.dispatch import ArrayLike, Value, lift, write_out

__all__ = ["mul", "sub", "div", "pow", "neg", "clamp", "mm", "t", "unsqueeze", "permute", "flatten",
           "numel", "cat", "concat"]  # fmt: skip
__all__ += ["asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "arctan2", "rsqrt",
            "frac", "lerp", "fix"]  # fmt: skip

mul = ew.multiply
sub = ew.subtract
div = ew.divide
pow = ew.power
neg = ew.negative
unsqueeze = shape.expand_dims
clamp = ew.clamp  # PyTorch's gradient at the bounds (gj.clip splits it there)


def mm(a: ArrayLike, b: ArrayLike, *, out: Any = None) -> Value:
    """Matrix product of two 2-D arrays, as torch.mm."""
    a, b = lift(a), lift(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects two 2-D arrays, got {a.ndim}-D and {b.ndim}-D; use matmul")
    return linalg.matmul(a, b, out=out)


def t(x: ArrayLike) -> Value:
    """Transpose of an array of at most 2 dims, as torch.t."""
    x = lift(x)
    if x.ndim > 2:
        raise ValueError(f"t: expects at most 2 dims, got {x.ndim}; use transpose or swapaxes")
    return shape.transpose(x)


def permute(x: ArrayLike, *dims: Any) -> Value:
    """Axes in the given order, as torch.permute (numpy: ``transpose(x, axes)``)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return shape.transpose(x, dims)


def flatten(x: ArrayLike, start_dim: int = 0, end_dim: int = -1) -> Value:
    """Dims ``start_dim..end_dim`` merged into one, as torch.flatten."""
    x = lift(x)
    if x.ndim == 0:
        return shape.reshape(x, (1,))
    start = start_dim % x.ndim
    end = end_dim % x.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    dims = list(x.shape)
    if any(not isinstance(d, int) for d in dims[:start] + dims[end + 1 :]):
        raise ValueError(
            "flatten: dims outside the flattened range must have fixed sizes in a graph"
        )
    return shape.reshape(x, (*dims[:start], -1, *dims[end + 1 :]))


def numel(x: ArrayLike) -> int:
    """Number of elements (fixed sizes only), as torch.numel."""
    x = lift(x)
    size = 1
    for d in x.shape:
        if not isinstance(d, int):
            raise ValueError("numel: the array has a dim whose size is only known at call time")
        size *= d
    return size


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: Any = None) -> Value:
    """Join tensors along an existing dim, as torch.cat (numpy: ``gj.concatenate``)."""
    return joining.concatenate(list(tensors), dim if axis is None else axis)


concat = cat


# --------------------------------------------------------------------------------------------------
# elementwise math under PyTorch's names

asin = trig.arcsin
acos = trig.arccos
atan = ew.arctan
atan2 = arctan2 = trig.arctan2
asinh = trig.arcsinh
acosh = trig.arccosh
atanh = trig.arctanh
fix = rounding.trunc


def rsqrt(x: ArrayLike, *, out: Any = None) -> Value:
    """``1 / sqrt(x)``, as torch.rsqrt (inf at 0, nan below)."""
    return write_out(ew.reciprocal(ew.sqrt(x)), out, "rsqrt")


def frac(x: ArrayLike, *, out: Any = None) -> Value:
    """The fractional part ``x - trunc(x)`` (sign of x; exact in floating point), as torch.frac."""
    x = lift(x)
    return write_out(x - rounding.trunc(x), out, "frac")


def lerp(start: ArrayLike, end: ArrayLike, weight: Any, *, out: Any = None) -> Value:
    """``start + weight * (end - start)``, as torch.lerp: for ``|weight| >= 0.5`` computed from
    ``end`` (``end - (end - start) * (1 - weight)``), so that weight 1 gives ``end`` exactly."""
    start, end = lift(start), lift(end)
    diff = end - start
    near_start = ew.abs(weight) < 0.5
    return write_out(
        comparison.where(near_start, start + weight * diff, end - diff * (1 - weight)), out, "lerp"
    )
