"""Matrix and vector products under PyTorch's names: ``gj.bmm``, ``gj.mv``, ``gj.addmm``,
``gj.baddbmm``, ``gj.addr``, ``gj.chain_matmul``, ...

Each is a composition of ``matmul`` (or ``outer``), with PyTorch's checks on the operands' dims:
``mm`` takes matrices, ``mv`` a matrix and a vector, ``bmm`` two batches of matrices of the same
batch size. The ``add*`` forms compute ``beta * input + alpha * product``; as in PyTorch,
``beta=0`` ignores ``input`` (a NaN there does not reach the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ops import elementwise as ew
from graphjit.ops import linalg, reductions
from graphjit.ops.dispatch import ArrayLike, Value, lift, write_out
from graphjit.ops.shape_rules import same_dim

__all__ = ["bmm", "mv", "ger", "addmm", "addmv", "addr", "addbmm", "baddbmm", "chain_matmul"]

_WHAT = {1: "a vector (1-D)", 2: "a matrix (2-D)", 3: "a batch of matrices (3-D)"}


def _operand(fn: str, name: str, x: ArrayLike, ndim: int) -> Any:
    x = lift(x)
    if x.ndim != ndim:
        raise ValueError(f"{fn}: {name} must be {_WHAT[ndim]}, got a {x.ndim}-D array")
    return x


def _scaled(alpha: Any, x: Any) -> Any:
    return x if isinstance(alpha, (int, float)) and alpha == 1 else ew.multiply(alpha, x)


def _check_scales(fn: str, dtypes: Sequence[str], **scales: Any) -> None:
    """PyTorch's rule for ``alpha``/``beta``: integers (not floats) when every operand is an
    integer or bool tensor (PyTorch truncates or refuses a float there; numpy would promote)."""
    if any(is_float(dt) for dt in dtypes):
        return
    for name, scale in scales.items():
        if isinstance(scale, (float, np.floating)):
            raise TypeError(
                f"{fn}: for integer inputs, {name} must be an integer, got the float {scale!r}"
            )


def _plus_input(fn: str, input: ArrayLike, product: Any, beta: Any, alpha: Any) -> Any:  # noqa: A002
    """``beta * input + alpha * product``; ``input`` must broadcast to the product's shape."""
    x = lift(input)
    _check_scales(fn, (x.dtype, product.dtype), beta=beta, alpha=alpha)
    product = _scaled(alpha, product)
    if x.ndim > product.ndim or not all(
        same_dim(a, 1) or same_dim(a, b) for a, b in zip(reversed(x.shape), reversed(product.shape))
    ):
        raise ValueError(
            f"{fn}: input of shape {tuple(x.shape)} does not broadcast to the product's shape "
            f"{tuple(product.shape)}"
        )
    if isinstance(beta, (int, float)) and beta == 0:  # PyTorch: input is not read at all
        return product
    return ew.add(_scaled(beta, x), product)


def bmm(input: ArrayLike, mat2: ArrayLike, *, out: Any = None) -> Value:  # noqa: A002
    """Batched matrix product of two 3-D arrays ``(b, n, m) @ (b, m, p)``, as torch.bmm (no
    broadcasting of the batch dim)."""
    a = _operand("bmm", "input", input, 3)
    b = _operand("bmm", "mat2", mat2, 3)
    if not same_dim(a.shape[0], b.shape[0]):
        raise ValueError(
            f"bmm: the batch sizes differ: {a.shape[0]} and {b.shape[0]} (bmm does not broadcast; "
            "use matmul)"
        )
    return linalg.matmul(a, b, out=out)


def mv(input: ArrayLike, vec: ArrayLike, *, out: Any = None) -> Value:  # noqa: A002
    """Matrix-vector product ``(n, m) @ (m,)``, as torch.mv."""
    a = _operand("mv", "input", input, 2)
    v = _operand("mv", "vec", vec, 1)
    return linalg.matmul(a, v, out=out)


def ger(input: ArrayLike, vec2: ArrayLike) -> Value:  # noqa: A002
    """Outer product of two vectors, as torch.ger (torch.outer's old name)."""
    a = _operand("ger", "input", input, 1)
    b = _operand("ger", "vec2", vec2, 1)
    return linalg.outer(a, b)


def addmm(
    input: ArrayLike,  # noqa: A002
    mat1: ArrayLike,
    mat2: ArrayLike,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Value:
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices, as torch.addmm."""
    product = linalg.matmul(_operand("addmm", "mat1", mat1, 2), _operand("addmm", "mat2", mat2, 2))
    return write_out(_plus_input("addmm", input, product, beta, alpha), out, "addmm")


def addmv(
    input: ArrayLike,  # noqa: A002
    mat: ArrayLike,
    vec: ArrayLike,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Value:
    """``beta * input + alpha * (mat @ vec)``, as torch.addmv."""
    product = linalg.matmul(_operand("addmv", "mat", mat, 2), _operand("addmv", "vec", vec, 1))
    return write_out(_plus_input("addmv", input, product, beta, alpha), out, "addmv")


def addr(
    input: ArrayLike,  # noqa: A002
    vec1: ArrayLike,
    vec2: ArrayLike,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Value:
    """``beta * input + alpha * outer(vec1, vec2)``, as torch.addr."""
    product = linalg.outer(_operand("addr", "vec1", vec1, 1), _operand("addr", "vec2", vec2, 1))
    return write_out(_plus_input("addr", input, product, beta, alpha), out, "addr")


def baddbmm(
    input: ArrayLike,  # noqa: A002
    batch1: ArrayLike,
    batch2: ArrayLike,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Value:
    """``beta * input + alpha * bmm(batch1, batch2)``, as torch.baddbmm."""
    product = bmm(batch1, batch2)
    return write_out(_plus_input("baddbmm", input, product, beta, alpha), out, "baddbmm")


def addbmm(
    input: ArrayLike,  # noqa: A002
    batch1: ArrayLike,
    batch2: ArrayLike,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Any = None,
) -> Value:
    """``beta * input + alpha * sum_i batch1[i] @ batch2[i]`` (a matrix), as torch.addbmm."""
    product = reductions.sum(bmm(batch1, batch2), 0)
    return write_out(_plus_input("addbmm", input, product, beta, alpha), out, "addbmm")


def chain_matmul(*matrices: ArrayLike, out: Any = None) -> Value:
    """The product of two or more matrices, left to right, as torch.chain_matmul (one matrix is
    returned as it is)."""
    if len(matrices) == 1 and isinstance(matrices[0], Sequence):
        matrices = tuple(matrices[0])
    if not matrices:
        raise ValueError("chain_matmul: expects at least one matrix")
    ms = [_operand("chain_matmul", f"matrix {i}", m, 2) for i, m in enumerate(matrices)]
    result = ms[0]
    for m in ms[1:]:
        result = linalg.matmul(result, m)
    return write_out(result, out, "chain_matmul")
