"""Strided slices and joining: ``slice_axes`` (with ``flip`` and ``split`` built on it),
``concatenate``/``stack`` and constant ``pad``.

Conventions (those of :mod:`graphjit.ops.shape`):

* ``slice_axes`` holds one ``(start, stop, step)`` triple per axis with python slice semantics,
  resolved against the call-time size. Triples on static dims are stored resolved, so equal slices
  are one node.
* Dims may be ``None`` (known at call time): concatenating along such an axis gives a ``None``
  dim, and its gradient (``concatenate_part``) reads the parts' sizes when the graph runs.
* The numpy references return fresh arrays, never views of their inputs.
* Functions return their input unchanged when the op would be the identity (full slices, zero
  padding, a single array to concatenate).
* PyTorch spellings accepted: ``dim=`` for the axis of ``concatenate``/``stack``, ``dims=`` for
  ``flip``; ``split`` given ``dim=`` is torch.split (part sizes, not numpy's sections).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import ArrayLike, Value, apply, is_tensor, lift
from graphjit.ops.prims import exactly_shaped, expand_dims, reshape, take, zeros_like
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop
from graphjit.ops.shape_rules import (
    FULL_SLICE,
    Triple,
    axis_or_dim,
    canonical_slice,
    fresh_copy,
    int_tuple,
    is_static_dim,
    normalize_axes,
    normalize_axis,
    same_dim,
    scalar_fill,
    slice_triple,
)

__all__ = ["concatenate", "stack", "split", "flip", "pad", "slice_axes"]


def _merge(a: Dim, b: Dim) -> Dim:
    """Two dims that must agree: the more specific of them."""
    if is_static_dim(a):
        return a
    if is_static_dim(b):
        return b
    return a if a is not None else b


# --------------------------------------------------------------------------------------------------
# strided slices


def _sliced_dim(d: Dim, t: Triple) -> Dim:
    if t == FULL_SLICE:
        return d
    if is_static_dim(d):
        return len(range(*slice(*t).indices(d)))  # type: ignore[arg-type]
    start, stop, step = t
    if step > 0 and stop is not None and stop >= 0 and (start or 0) >= 0 and stop <= (start or 0):
        return 0
    return None


def _check_slices(x: TensorType, slices: Any) -> tuple[Triple, ...]:
    if not isinstance(slices, tuple) or len(slices) != x.ndim:
        raise ValueError(
            f"slice_axes: expected one (start, stop, step) triple per axis of shape "
            f"{format_shape(x.shape)}, got {slices!r}"
        )
    for s in slices:
        if slice_triple(s, "slice_axes") != s:
            raise ValueError(f"slice_axes: {s!r} is not a normalised (start, stop, step) triple")
    return slices


def _sliced_shape(x: TensorType, slices: tuple[Triple, ...]) -> tuple[Dim, ...]:
    return tuple(_sliced_dim(d, s) for d, s in zip(x.shape, _check_slices(x, slices)))


def _index(slices: tuple[Triple, ...]) -> tuple[slice, ...]:
    return tuple(slice(*s) for s in slices)


def _slice_axes_infer(x: TensorType, *, slices: tuple[Triple, ...]) -> TensorType:
    return TensorType(_sliced_shape(x, slices), x.dtype)


def _slice_grad_infer(g: TensorType, x: TensorType, *, slices: tuple[Triple, ...]) -> TensorType:
    want = _sliced_shape(x, slices)
    if g.ndim != len(want) or not all(same_dim(a, b) for a, b in zip(g.shape, want)):
        raise ValueError(
            f"slice_axes_grad: cotangent of shape {format_shape(g.shape)} does not match the "
            f"slice {format_shape(want)} of shape {format_shape(x.shape)}"
        )
    return TensorType(x.shape, g.dtype)


def _slice_grad_impl(g: np.ndarray, x: np.ndarray, *, slices: tuple[Triple, ...]) -> np.ndarray:
    out = np.zeros(x.shape, g.dtype)
    out[_index(slices)] = g
    return out


def _slice_call_dims(table: DimBuilder, xd: list[str], slices: Sequence[Triple]) -> list[str]:
    out = []
    for d, s in zip(xd, slices):
        if tuple(s) == (None, None, 1):
            out.append(d)
        elif d.isdigit():
            out.append(str(len(range(*slice(*s).indices(int(d))))))
        else:
            start, stop, step = (("NONE" if v is None else str(v)) for v in s)
            out.append(table.let(f"slice_length({d}, {start}, {stop}, {step})"))
    return out


def _slice_axes_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return _slice_call_dims(table, ins[0], node.attrs["slices"])


SLICE_AXES: OpDef = defop(
    "slice_axes",
    infer=_slice_axes_infer,
    impl=lambda x, slices: fresh_copy(x[_index(slices)]),
    vjps=(lambda g, out, x, slices: apply(SLICE_AXES_GRAD, g, x, slices=slices),),
    jvp=lambda tangents, out, x, slices: (
        None if tangents[0] is None else apply(SLICE_AXES, tangents[0], slices=slices)
    ),
    kind="shape",
    call_dims=_slice_axes_call_dims,
    fusion="view",
    promote=None,
    doc="x[start:stop:step, ...] with one triple per axis (python slice semantics)",
)


def _slice_grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    want = _slice_call_dims(table, ins[1], node.attrs["slices"])
    for i, (g, w) in enumerate(zip(ins[0], want)):
        table.require_equal(g, w, f"slice_axes_grad: the cotangent's axis {i} has the wrong size")
    return list(ins[1])


SLICE_AXES_GRAD: OpDef = defop(
    "slice_axes_grad",
    infer=_slice_grad_infer,
    impl=_slice_grad_impl,
    vjps=(
        lambda ct, out, g, x, slices: exactly_shaped(apply(SLICE_AXES, ct, slices=slices), g),
        None,
    ),
    jvp=lambda tangents, out, g, x, slices: (
        None if tangents[0] is None else apply(SLICE_AXES_GRAD, tangents[0], x, slices=slices)
    ),
    kind="other",
    call_dims=_slice_grad_call_dims,
    shape_only_from=1,
    promote=None,
    doc="zeros of x's shape with g written into x[slices] (the transpose of slice_axes)",
)


# --------------------------------------------------------------------------------------------------
# concatenate, pad


def _concatenate_infer(*xs: TensorType, axis: int) -> TensorType:
    if not xs:
        raise ValueError("concatenate: need at least one array")
    first = xs[0]
    if first.ndim == 0:
        raise ValueError("concatenate: 0-d arrays cannot be concatenated")
    normalize_axis(axis, first.ndim, "concatenate")
    dims = list(first.shape)
    for i, x in enumerate(xs[1:], start=1):
        ok = x.ndim == first.ndim and all(
            k == axis or same_dim(a, b) for k, (a, b) in enumerate(zip(dims, x.shape))
        )
        if not ok:
            raise ValueError(
                f"concatenate: input {i} has shape {format_shape(x.shape)}, which does not match "
                f"input 0's {format_shape(first.shape)} except on axis {axis}"
            )
        dims = [d if k == axis else _merge(d, e) for k, (d, e) in enumerate(zip(dims, x.shape))]
    along = [x.shape[axis] for x in xs]
    dims[axis] = sum(along) if all(is_static_dim(d) for d in along) else None  # type: ignore[arg-type]
    return TensorType(tuple(dims), first.dtype)


def _concatenate_vjp(g: Any, out: Any, *xs: Any, axis: int) -> tuple:
    along = [x.shape[axis] for x in xs]
    if not all(is_static_dim(d) for d in along):
        return tuple(apply(CONCATENATE_PART, g, *xs, axis=axis, index=k) for k in range(len(xs)))
    grads = []
    start = 0
    for x, n in zip(xs, along):
        slices = [FULL_SLICE] * g.ndim
        slices[axis] = canonical_slice((start, start + n, 1), g.shape[axis])
        grads.append(exactly_shaped(apply(SLICE_AXES, g, slices=tuple(slices)), x))
        start += n
    return tuple(grads)


def _concatenate_jvp(tangents: Any, out: Any, *xs: Any, axis: int) -> Any:
    if all(t is None for t in tangents):
        return None
    parts = [zeros_like(x) if t is None else t for t, x in zip(tangents, xs)]
    return apply(CONCATENATE, *parts, axis=axis)


def _concatenate_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    out = list(ins[0])
    for k, d in enumerate(ins[1:], start=1):
        for i, (a, b) in enumerate(zip(out, d)):
            if i != axis:
                table.require_equal(b, a, f"concatenate: input {k} has the wrong size on axis {i}")
    out[axis] = (
        table.let(" + ".join(d[axis] for d in ins))
        if not isinstance(node.shape[axis], int)
        else str(node.shape[axis])
    )
    return out


CONCATENATE: OpDef = defop(
    "concatenate",
    infer=_concatenate_infer,
    impl=lambda *xs, axis: np.concatenate(xs, axis=axis),
    vjp=_concatenate_vjp,
    jvp=_concatenate_jvp,
    kind="other",
    call_dims=_concatenate_call_dims,
    doc="join arrays along an existing axis (inputs promoted to one dtype)",
)


def _part_infer(g: TensorType, *xs: TensorType, axis: int, index: int) -> TensorType:
    if not 0 <= index < len(xs) or g.ndim != xs[index].ndim:
        raise ValueError(f"concatenate_part: bad part {index} of {len(xs)} for {g}")
    return TensorType(xs[index].shape, g.dtype)


def _part_impl(g: np.ndarray, *xs: np.ndarray, axis: int, index: int) -> np.ndarray:
    start = sum(x.shape[axis] for x in xs[:index])
    idx = [slice(None)] * g.ndim
    idx[axis] = slice(start, start + xs[index].shape[axis])
    return fresh_copy(g[tuple(idx)])


def _part_vjp(ct: Any, out: Any, g: Any, *xs: Any, axis: int, index: int) -> tuple:
    parts = [ct if k == index else zeros_like(x, dtype=ct.dtype) for k, x in enumerate(xs)]
    return (exactly_shaped(apply(CONCATENATE, *parts, axis=axis), g), *([None] * len(xs)))


def _part_jvp(tangents: Any, out: Any, g: Any, *xs: Any, axis: int, index: int) -> Any:
    t = tangents[0]
    return None if t is None else apply(CONCATENATE_PART, t, *xs, axis=axis, index=index)


def _part_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis, index = node.attrs["axis"], node.attrs["index"]
    total = table.let(" + ".join(d[axis] for d in ins[1:]))
    table.require_equal(
        ins[0][axis],
        total,
        "concatenate_part: the sizes of the parts do not add up to the concatenation's",
    )
    out = list(ins[0])
    out[axis] = ins[1 + index][axis]
    return out


CONCATENATE_PART: OpDef = defop(
    "concatenate_part",
    infer=_part_infer,
    impl=_part_impl,
    vjp=_part_vjp,
    jvp=_part_jvp,
    kind="other",
    call_dims=_part_call_dims,
    fusion="view",
    shape_only_from=1,
    promote=None,
    doc="the part of g (a concatenation of xs along axis) that came from xs[index]; the xs are "
    "read only for their call-time sizes (the gradient of concatenate along a None axis)",
)


def _pad_infer(
    x: TensorType, *, pad_width: tuple[tuple[int, int], ...], constant_value: Any
) -> TensorType:
    ok = (
        isinstance(pad_width, tuple)
        and len(pad_width) == x.ndim
        and all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p)
            for p in pad_width
        )
    )
    if not ok:
        raise ValueError(
            f"pad: pad_width must hold one (before, after) pair of ints >= 0 per axis of shape "
            f"{format_shape(x.shape)}, got {pad_width!r}"
        )
    dims = tuple(d + b + a if is_static_dim(d) else None for d, (b, a) in zip(x.shape, pad_width))  # type: ignore[operator]
    return TensorType(dims, x.dtype)


def _pad_vjp(g: Any, out: Any, x: Any, *, pad_width: Any, constant_value: Any) -> Any:
    slices = tuple(
        canonical_slice((b, -a if a else None, 1), d) for (b, a), d in zip(pad_width, g.shape)
    )
    return exactly_shaped(apply(SLICE_AXES, g, slices=slices), x)


def _pad_jvp(tangents: Any, out: Any, x: Any, *, pad_width: Any, constant_value: Any) -> Any:
    (t,) = tangents
    return None if t is None else apply(PAD, t, pad_width=pad_width, constant_value=0)


def _pad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    out = []
    for d, (b, a), sd in zip(ins[0], node.attrs["pad_width"], node.shape):
        out.append(str(sd) if isinstance(sd, int) else table.let(f"{d} + {b + a}"))
    return out


PAD: OpDef = defop(
    "pad",
    infer=_pad_infer,
    impl=lambda x, pad_width, constant_value: np.pad(
        x, pad_width, mode="constant", constant_values=constant_value
    ),
    vjps=(_pad_vjp,),
    jvp=_pad_jvp,
    kind="other",
    call_dims=_pad_call_dims,
    promote=None,
    doc="constant padding: pad_width is one (before, after) pair per axis",
)


# --------------------------------------------------------------------------------------------------
# public functions


def _array_list(name: str, xs: Any) -> list[Any]:
    if isinstance(xs, Node) or is_tensor(xs) or isinstance(xs, np.ndarray):
        raise TypeError(f"{name}: expected a sequence of arrays, got a single array")
    items = [lift(x) for x in xs]
    if not items:
        raise ValueError(f"{name}: need at least one array")
    return items


@binds(CONCATENATE)
def concatenate(xs: Sequence[Any], axis: int = 0, *, dim: Any = None) -> Value:
    """Join arrays along an existing axis, as numpy.concatenate (``dim=`` as torch.cat;
    ``axis=None`` joins them flattened). Inputs are promoted to one dtype."""
    items = _array_list("concatenate", xs)
    if axis is None and dim is None:
        items = [x if x.ndim == 1 else reshape(x, (-1,)) for x in items]
        axis = 0
    axis = axis_or_dim("concatenate", axis, dim, default=0)
    if items[0].ndim == 0:
        raise ValueError("concatenate: 0-d arrays cannot be concatenated")
    ax = normalize_axis(axis, items[0].ndim, "concatenate")
    if len(items) == 1:
        return items[0]
    return apply(CONCATENATE, *items, axis=ax)


def stack(xs: Sequence[Any], axis: int = 0, *, dim: Any = None) -> Value:
    """Join arrays of one shape along a new axis, as numpy.stack."""
    items = _array_list("stack", xs)
    axis = axis_or_dim("stack", axis, dim, default=0)
    first = items[0]
    for i, x in enumerate(items[1:], start=1):
        if x.ndim != first.ndim or not all(same_dim(a, b) for a, b in zip(x.shape, first.shape)):
            raise ValueError(
                f"stack: input {i} has shape {format_shape(x.shape)}, input 0 has "
                f"{format_shape(first.shape)}; all must be equal"
            )
    ax = normalize_axis(axis, first.ndim + 1, "stack")
    return concatenate([expand_dims(x, ax) for x in items], ax)


def split(x: ArrayLike, indices_or_sections: Any, axis: int = 0, *, dim: Any = None) -> list[Any]:
    """Split into a list of arrays along ``axis``, as numpy.split: an int ``n`` gives ``n`` equal
    parts (the axis must have a fixed size divisible by ``n``); a sequence of indices gives the
    parts between them (python slice semantics; they work on ``None`` dims too).

    Given PyTorch's keyword ``dim=``, it is torch.split: an int is the size of each part (the
    last may be smaller), a sequence the sizes of the parts (summing to the axis' size). The two
    libraries read ``split(x, 2)`` differently; ``dim=`` (or a tensor's ``.split``) says which."""
    x = lift(x)
    if dim is not None:
        if axis != 0:
            raise TypeError("split: give axis (numpy's meaning) or dim (PyTorch's), not both")
        return _split_by_sizes(x, indices_or_sections, normalize_axis(dim, x.ndim, "split"))
    ax = normalize_axis(axis, x.ndim, "split")
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(
        indices_or_sections, bool
    ):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"split: the number of sections must be > 0, got {k}")
        if not is_static_dim(n):
            raise ValueError(
                f"split: axis {ax} of shape {format_shape(x.shape)} has no fixed size, so it "
                f"cannot be split into {k} equal sections; give split indices instead"
            )
        if n % k:
            raise ValueError(
                f"split: axis {ax} of size {n} does not divide into {k} equal sections"
            )
        step = n // k
        bounds: list[tuple[Any, Any]] = [(i * step, (i + 1) * step) for i in range(k)]
    else:
        idx = list(int_tuple("split", "indices", indices_or_sections))
        bounds = list(zip([0, *idx], [*idx, None]))
    parts = []
    for start, stop in bounds:
        slices: list[Any] = [None] * x.ndim
        slices[ax] = (start, stop, 1)
        parts.append(slice_axes(x, slices))
    return parts


def _split_by_sizes(x: Any, sizes: Any, ax: int) -> list[Any]:
    """torch.split's reading: an int is each part's size, a sequence the parts' sizes."""
    n = x.shape[ax]
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        size = int(sizes)
        if size <= 0:
            raise ValueError(f"split: the size of each part must be > 0, got {size}")
        if not is_static_dim(n):
            raise ValueError(
                f"split: axis {ax} of shape {format_shape(x.shape)} has no fixed size, so it "
                f"cannot be cut into parts of {size}; give the sizes of the parts instead"
            )
        edges = [*range(0, int(n), size), int(n)] if n else [0, 0]
    else:
        parts = int_tuple("split", "split sizes", sizes)
        if any(p < 0 for p in parts):
            raise ValueError(f"split: part sizes must be >= 0, got {tuple(parts)}")
        if is_static_dim(n) and sum(parts) != n:
            raise ValueError(
                f"split: part sizes {tuple(parts)} sum to {sum(parts)}, but axis {ax} has size {n}"
            )
        edges = [int(e) for e in np.cumsum([0, *parts])]
    out = []
    for start, stop in itertools.pairwise(edges):
        slices: list[Any] = [None] * x.ndim
        slices[ax] = (start, stop, 1)
        out.append(slice_axes(x, slices))
    return out


def flip(x: ArrayLike, axis: Any = None, *, dims: Any = None) -> Value:
    """Reverse the order of elements along ``axis`` (all axes when None), as numpy.flip."""
    x = lift(x)
    axes = normalize_axes(axis_or_dim("flip", axis, dims), x.ndim, "flip")
    slices: list[Any] = [None] * x.ndim
    for a in axes:
        slices[a] = (None, None, -1)
    return slice_axes(x, slices)


def pad(x: ArrayLike, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Value:
    """Pad, as numpy.pad: ``pad_width`` is an int, a ``(before, after)`` pair, or one pair per
    axis. Modes: ``"constant"`` (a scalar ``constant_values``), and ``"edge"``, ``"reflect"``,
    ``"symmetric"`` and ``"wrap"``, which gather the padding from ``x`` along each padded axis
    (its size known when the graph is built) at the indices numpy's own pad gives."""
    x = lift(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_PAD_MODES)}; got {mode!r}")
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be ints, got {pad_width!r}")
    try:
        widths = np.broadcast_to(widths, (x.ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width {pad_width!r} does not fit an array of shape {format_shape(x.shape)}"
        ) from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0, got {pad_width!r}")
    pw = tuple((int(b), int(a)) for b, a in widths)
    if all(b == 0 and a == 0 for b, a in pw):
        return x
    if mode != "constant":
        return _pad_by_gathering(x, pw, mode)
    value = scalar_fill("pad", constant_values, as_dtype(x.dtype))
    return apply(PAD, x, pad_width=pw, constant_value=value)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_by_gathering(x: Any, widths: tuple[tuple[int, int], ...], mode: str) -> Value:
    for axis, (before, after) in enumerate(widths):
        if before == after == 0:
            continue
        size = x.shape[axis]
        if not isinstance(size, int):
            raise ValueError(f"pad: mode {mode!r} needs the size of axis {axis} fixed")
        if size == 0:
            raise ValueError(f"pad: mode {mode!r} cannot extend the empty axis {axis}")
        index = np.pad(np.arange(size, dtype=np.int64), (before, after), mode=mode)  # type: ignore[call-overload]
        x = take(x, index, axis)
    return x


@binds(SLICE_AXES)
def slice_axes(x: ArrayLike, slices: Sequence[Any]) -> Value:
    """``x[s0, s1, ...]`` for basic slices: ``slices`` holds, per leading axis, a ``slice``, a
    ``(start, stop, step)`` triple or None (the whole axis); missing trailing axes are whole.
    Python slice semantics (negative bounds and steps), resolved against the call-time size."""
    x = lift(x)
    items = list(slices)
    if len(items) > x.ndim:
        raise ValueError(
            f"slice_axes: {len(items)} slices for an array of shape {format_shape(x.shape)}"
        )
    items += [None] * (x.ndim - len(items))
    canon = tuple(canonical_slice(slice_triple(s, "slice_axes"), d) for s, d in zip(items, x.shape))
    if all(t == FULL_SLICE for t in canon):
        return x
    return apply(SLICE_AXES, x, slices=canon)
