"""Shape ops: reshape (and reshape_like), transpose (with swapaxes and moveaxis), expand_dims and
squeeze. Broadcasting and the ``*_like`` fills are in :mod:`graphjit.ops.broadcast`; strided
slices, concatenation and padding in :mod:`graphjit.ops.joining`.

Conventions (those of the broadcasting and joining ops too):

* Dims may be ``None`` (known at call time) or named; each op's rule works on both. A dim that only
  the running graph knows is checked there (the interpreter re-runs the rule on concrete shapes).
* Like numpy, ``reshape`` allows one ``-1``; when ``x`` has a ``None`` dim, the ``-1`` becomes a
  ``None`` dim.
* The numpy references return fresh arrays, never views of their inputs (a compiled function's
  outputs must not alias a variable that its updates then overwrite).
* Functions return their input unchanged when the op would be the identity (``reshape`` to the
  same shape, ``transpose`` by the identity permutation, ...).
* PyTorch spellings accepted: ``dim=`` for the axis of ``expand_dims``/``squeeze``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    eager_result,
    is_tensor,
    lift,
    untracked_array,
)
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop
from graphjit.ops.shape_rules import (
    axis_or_dim,
    fresh_copy,
    int_tuple,
    is_static_dim,
    normalize_axes,
    normalize_axis,
)

__all__ = [
    "reshape",
    "reshape_like",
    "transpose",
    "swapaxes",
    "moveaxis",
    "expand_dims",
    "squeeze",
]


def _check_perm(name: str, axes: Any, ndim: int) -> tuple[int, ...]:
    if not isinstance(axes, tuple) or sorted(axes) != list(range(ndim)):
        raise ValueError(f"{name}: axes {axes!r} are not a permutation of the {ndim} axes")
    return axes


def _check_sorted_axes(name: str, axes: Any, ndim: int) -> tuple[int, ...]:
    if (
        not isinstance(axes, tuple)
        or list(axes) != sorted(set(axes))
        or not all(isinstance(a, int) and 0 <= a < ndim for a in axes)
    ):
        raise ValueError(
            f"{name}: axes must be a sorted tuple of distinct axes in range({ndim}), got {axes!r}"
        )
    return axes


# --------------------------------------------------------------------------------------------------
# reshape, reshape_like


def _reshape_dims(src: tuple[Dim, ...], shape: tuple[int, ...]) -> tuple[Dim, ...]:
    """The output dims of reshaping ``src`` to ``shape`` (ints >= 0 and at most one -1)."""

    def fail(why: str) -> ValueError:
        return ValueError(
            f"reshape: cannot reshape an array of shape {format_shape(src)} into shape "
            f"{format_shape(shape)}: {why}"
        )

    if not isinstance(shape, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape
    ):
        raise fail("the new shape must be ints >= 0, with at most one -1")
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise fail("only one dim can be -1")
    known = math.prod(d for d in shape if d != -1)
    out: list[Dim] = list(shape)
    if all(is_static_dim(d) for d in src):
        size = math.prod(src)  # type: ignore[arg-type]
        if unknown:
            if known == 0 or size % known:
                raise fail(f"its size {size} is not a multiple of {known}")
            out[unknown[0]] = size // known
        elif known != size:
            raise fail(f"its size {size} differs from {known}")
        return tuple(out)
    if unknown:
        if known == 0:
            raise fail("-1 is ambiguous next to a zero-size dim")
        out[unknown[0]] = None
        return tuple(out)
    fixed = math.prod(d for d in src if is_static_dim(d))  # type: ignore[misc]
    if fixed and known % fixed:
        raise fail(f"its size is a multiple of {fixed}, {known} is not")
    return tuple(out)


def _reshape_infer(x: TensorType, *, shape: tuple[int, ...]) -> TensorType:
    return TensorType(_reshape_dims(x.shape, shape), x.dtype)


def _reshape_impl(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    return fresh_copy(x.reshape(shape))  # the method: np.reshape's wrapper costs 5x on small arrays


def _reshape_jvp(tangents: Any, out: Any, x: Any, *, shape: tuple[int, ...]) -> Any:
    (t,) = tangents
    return None if t is None else apply(RESHAPE, t, shape=shape)


def _reshape_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    total = table.let(table.product(ins[0]))
    shape = node.attrs["shape"]
    known = table.product([str(d) for d in shape if d != -1])
    msg = f"reshape: the input's size at run time does not fit the shape {tuple(shape)}"
    out = []
    for sd in node.shape:
        if isinstance(sd, int):
            out.append(str(sd))
        else:
            out.append(table.let(f"{total} // {known}"))
    table.require_equal(total, table.let(table.product(out)), msg)
    return out


RESHAPE: OpDef = defop(
    "reshape",
    infer=_reshape_infer,
    impl=_reshape_impl,
    vjps=(lambda g, out, x, shape: reshape_like(g, x),),
    jvp=_reshape_jvp,
    kind="shape",
    call_dims=_reshape_call_dims,
    fusion="view",
    promote=None,
    doc="row-major reshape; one -1 is inferred (a None dim when the size is not fixed)",
)


def _reshape_like_infer(x: TensorType, ref: TensorType) -> TensorType:
    if x.size is not None and ref.size is not None and x.size != ref.size:
        raise ValueError(
            f"reshape_like: cannot reshape an array of shape {format_shape(x.shape)} (size "
            f"{x.size}) to the shape {format_shape(ref.shape)} of the reference (size {ref.size})"
        )
    return TensorType(ref.shape, x.dtype)


def _reshape_like_impl(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return fresh_copy(np.reshape(x, ref.shape))


def _reshape_like_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    a, b = table.let(table.product(ins[0])), table.let(table.product(ins[1]))
    table.require_equal(
        a, b, "reshape_like: the input's size differs from the reference's at run time"
    )
    return list(ins[1])


RESHAPE_LIKE: OpDef = defop(
    "reshape_like",
    infer=_reshape_like_infer,
    impl=_reshape_like_impl,
    vjps=(lambda g, out, x, ref: reshape_like(g, x), None),
    jvp=lambda tangents, out, x, ref: (
        None if tangents[0] is None else reshape_like(tangents[0], ref)
    ),
    kind="shape",
    call_dims=_reshape_like_call_dims,
    fusion="view",
    shape_only_from=1,
    promote=None,
    doc="x reshaped (row-major) to the call-time shape of ref; ref's values are not read",
)


# --------------------------------------------------------------------------------------------------
# transpose, expand_dims, squeeze


def _transpose_infer(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
    _check_perm("transpose", axes, x.ndim)
    return TensorType(tuple(x.shape[a] for a in axes), x.dtype)


def _transpose_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return [ins[0][a] for a in node.attrs["axes"]]


TRANSPOSE: OpDef = defop(
    "transpose",
    infer=_transpose_infer,
    impl=lambda x, axes: fresh_copy(x.transpose(axes)),  # np.transpose's wrapper: 4x
    vjps=(lambda g, out, x, axes: apply(TRANSPOSE, g, axes=tuple(np.argsort(axes).tolist())),),
    jvp=lambda tangents, out, x, axes: (
        None if tangents[0] is None else apply(TRANSPOSE, tangents[0], axes=axes)
    ),
    kind="shape",
    call_dims=_transpose_call_dims,
    fusion="view",
    promote=None,
    doc="permute the axes: output axis i is input axis axes[i]",
)


def _expand_dims_infer(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
    ndim = x.ndim + len(axes)
    _check_sorted_axes("expand_dims", axes, ndim)
    dims = iter(x.shape)
    return TensorType(tuple(1 if i in axes else next(dims) for i in range(ndim)), x.dtype)


def _expand_dims_impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    # np.expand_dims's own reshape, without its axis normalisation (10x the reshape on small
    # arrays; the rule has checked the axes: sorted, distinct, in range)
    dims = iter(x.shape)
    return fresh_copy(
        x.reshape([1 if i in axes else next(dims) for i in range(x.ndim + len(axes))])
    )


def _expand_dims_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axes = node.attrs["axes"]
    it = iter(ins[0])
    return ["1" if i in axes else next(it) for i in range(node.ndim)]


EXPAND_DIMS: OpDef = defop(
    "expand_dims",
    infer=_expand_dims_infer,
    impl=_expand_dims_impl,
    vjps=(lambda g, out, x, axes: apply(SQUEEZE, g, axes=axes),),
    jvp=lambda tangents, out, x, axes: (
        None if tangents[0] is None else apply(EXPAND_DIMS, tangents[0], axes=axes)
    ),
    kind="shape",
    call_dims=_expand_dims_call_dims,
    fusion="view",
    promote=None,
    doc="insert size-1 dims at the given (output) axes",
)


def _squeeze_infer(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
    _check_sorted_axes("squeeze", axes, x.ndim)
    for a in axes:
        d = x.shape[a]
        if is_static_dim(d) and d != 1:
            raise ValueError(
                f"squeeze: cannot squeeze axis {a} of shape {format_shape(x.shape)}: its size is "
                f"{d}, not 1"
            )
    return TensorType(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)


def _squeeze_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    if all(x.shape[a] == 1 for a in axes):
        return apply(EXPAND_DIMS, g, axes=axes)
    return reshape_like(g, x)  # a None dim squeezed (1 at call time): keep x's exact type


def _squeeze_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axes = node.attrs["axes"]
    for a in axes:
        table.require_equal(ins[0][a], "1", f"squeeze: axis {a} does not have size 1 at run time")
    return [d for i, d in enumerate(ins[0]) if i not in axes]


SQUEEZE: OpDef = defop(
    "squeeze",
    infer=_squeeze_infer,
    impl=lambda x, axes: fresh_copy(x.squeeze(axis=axes)),  # np.squeeze's wrapper: 2x
    vjps=(_squeeze_vjp,),
    jvp=lambda tangents, out, x, axes: (
        None if tangents[0] is None else apply(SQUEEZE, tangents[0], axes=axes)
    ),
    kind="shape",
    call_dims=_squeeze_call_dims,
    fusion="view",
    promote=None,
    doc="remove size-1 dims (a None dim may be squeezed by naming it: it must be 1 at call time)",
)


# --------------------------------------------------------------------------------------------------
# public functions


_EAGER_RESHAPES: dict[tuple[Any, Any], tuple[int, ...] | None] = {}  # None: x unchanged


@binds(RESHAPE)
def reshape(x: ArrayLike, shape: Any) -> Value:
    """``x`` with a new shape (row-major), as numpy.reshape. One dim may be -1; when ``x`` has a
    ``None`` dim the -1 becomes a ``None`` dim, and the sizes are checked at call time."""
    if is_tensor(x) and type(shape) is tuple:  # eager loops reshape alike again and again
        key = (x.shape, shape)
        try:
            hit = _EAGER_RESHAPES.get(key, False)
        except TypeError:  # an unhashable size: the checks below explain
            hit = False
        if hit is not False:
            if hit is None:
                return x
            array = untracked_array(x)
            if array is not None and isinstance(hit, tuple):  # nothing to record: no dispatch
                return eager_result(_reshape_impl(array, shape=hit), view=True)
            return apply(RESHAPE, x, shape=hit)
        out = _reshape_checked(x, shape)
        if len(_EAGER_RESHAPES) > 4096:
            _EAGER_RESHAPES.clear()
        _EAGER_RESHAPES[key] = None if out is x else out.shape
        return out
    return _reshape_checked(x, shape)


def _reshape_checked(x: Any, shape: Any) -> Any:
    x = lift(x)
    if any(d is None for d in (shape if isinstance(shape, (tuple, list)) else ())):
        raise ValueError(
            f"reshape: None in the new shape {tuple(shape)!r}; use -1 for the one unknown dim, or "
            "reshape_like"
        )
    shape = int_tuple("reshape", "shape", shape)
    out = _reshape_dims(tuple(x.shape), shape)
    if out == tuple(x.shape) and sum(not is_static_dim(d) for d in out) <= 1:
        return x
    return apply(RESHAPE, x, shape=shape)


@binds(RESHAPE_LIKE)
def reshape_like(x: ArrayLike, ref: ArrayLike) -> Value:
    """``x`` reshaped to the call-time shape of ``ref`` (only ``ref``'s shape is read)."""
    x, ref = lift(x), lift(ref)
    if tuple(x.shape) == tuple(ref.shape) and sum(d is None for d in x.shape) <= 1:
        return x
    return apply(RESHAPE_LIKE, x, ref)


@binds(TRANSPOSE)
def transpose(x: ArrayLike, axes: Any = None, dim1: Any = None) -> Value:
    """Permute the axes (reverse them when ``axes`` is None), as numpy.transpose.

    PyTorch's ``transpose(x, dim0, dim1)`` (two ints) swaps those two axes."""
    x = lift(x)
    if dim1 is not None:
        return swapaxes(x, axes, dim1)
    if axes is None:
        perm = tuple(range(x.ndim))[::-1]
    else:
        perm = tuple(
            normalize_axis(a, x.ndim, "transpose") for a in int_tuple("transpose", "axes", axes)
        )
        _check_perm("transpose", perm, x.ndim)
    if perm == tuple(range(x.ndim)):
        return x
    return apply(TRANSPOSE, x, axes=perm)


def swapaxes(x: ArrayLike, axis1: int, axis2: int) -> Value:
    """Exchange two axes, as numpy.swapaxes."""
    x = lift(x)
    a = normalize_axis(axis1, x.ndim, "swapaxes")
    b = normalize_axis(axis2, x.ndim, "swapaxes")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x: ArrayLike, source: Any, destination: Any) -> Value:
    """Move axes to new positions, the others keeping their order, as numpy.moveaxis."""
    x = lift(x)
    src = [normalize_axis(a, x.ndim, "moveaxis") for a in int_tuple("moveaxis", "source", source)]
    dst = [
        normalize_axis(a, x.ndim, "moveaxis")
        for a in int_tuple("moveaxis", "destination", destination)
    ]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(
            f"moveaxis: repeated axis in source {source!r} or destination {destination!r}"
        )
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


@binds(EXPAND_DIMS)
def expand_dims(x: ArrayLike, axis: Any = None, *, dim: Any = None) -> Value:
    """Insert size-1 dims at ``axis`` (int or tuple, positions in the result), as
    numpy.expand_dims. ``dim=`` (PyTorch's unsqueeze) is accepted."""
    x = lift(x)
    axis = axis_or_dim("expand_dims", axis, dim)
    if axis is None:
        raise TypeError("expand_dims: missing axis")
    requested = int_tuple("expand_dims", "axis", axis)
    axes = normalize_axes(list(requested), x.ndim + len(requested), "expand_dims")
    if not axes:
        return x
    return apply(EXPAND_DIMS, x, axes=axes)


@binds(SQUEEZE)
def squeeze(x: ArrayLike, axis: Any = None, *, dim: Any = None) -> Value:
    """Remove size-1 dims, as numpy.squeeze. With ``axis=None`` only dims that are statically 1
    are removed; naming a ``None`` dim squeezes it (it must be 1 at call time). Squeezing a dim of
    another fixed size raises ValueError."""
    x = lift(x)
    axis = axis_or_dim("squeeze", axis, dim)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = normalize_axes(list(int_tuple("squeeze", "axis", axis)), x.ndim, "squeeze")
    if not axes:
        return x
    return apply(SQUEEZE, x, axes=axes)
