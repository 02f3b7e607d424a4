"""Pooling over the trailing spatial axes: max, average and their adaptive forms, with the ops
their gradients are made of.

An op pools the last ``len(kernel)`` (or ``len(output_size)``) axes; every axis before them is a
plane index (batch, channels). The windows follow PyTorch:

* ``max_pool`` / ``avg_pool``: output ``o`` of an axis reads input positions ``o * stride -
  padding + j * dilation`` (``j < kernel``) that lie inside the input; padding never wins a max
  (it is -inf) and adds zeros to an average. The output length is ``floor((n + 2 * padding -
  dilation * (kernel - 1) - 1) / stride) + 1`` (ceil with ``ceil_mode``, dropping a last window
  that would start in the right padding). The average divides by the window size counting the
  padding but not the part past it (``count_include_pad``), by the positions inside the input
  (without it), or by ``divisor`` when that is not 0.
* ``adaptive_*``: output ``o`` of ``m`` reads ``[floor(o * n / m), ceil((o + 1) * n / m))``.

The derivatives: max pooling's gradient is ``pool_scatter`` of the cotangent through the argmax
indices (``max_pool_indices``: flat indices into each input plane, PyTorch's ``return_indices``),
whose transpose is ``pool_gather``; average pooling's is ``avg_pool_grad``, the window sums
spread back (its own transpose is ``avg_pool``). The public functions are
``gj.nn.functional``'s; this module holds the ops.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import apply
from graphjit.ops.registry import DimBuilder, OpDef, defop, zero_jvp, zero_vjp

__all__: list[str] = []

Ints = tuple[int, ...]


# --------------------------------------------------------------------------------------------------
# windows: the one rule for output lengths and window bounds (kernels/pool.py runs it compiled)


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of a window ``k`` (stride ``s``, padding ``p``, dilation ``d``) over ``n``."""
    span = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def window_bounds(
    o: int, n: int, m: int, k: int, s: int, p: int, d: int, adaptive: bool
) -> tuple[int, int, int]:
    """``(first, stop, padded)``: output ``o``'s window reads ``first, first + d, ...`` below
    ``stop`` (all inside the ``n`` inputs); ``padded`` is its length counting padding."""
    if adaptive:
        lo, hi = (o * n) // m, -((-(o + 1) * n) // m)
        return lo, hi, hi - lo
    start = o * s - p
    stop = start + (k - 1) * d + 1
    lo = start + ((-start + d - 1) // d) * d if start < 0 else start
    return lo, min(stop, n), min(stop, n + p) - start


def window_attrs(attrs: Mapping[str, Any]) -> tuple[Ints, Ints, Ints, Ints, bool]:
    """``(kernel, stride, padding, dilation, adaptive)`` of a pooling op's attributes (an
    adaptive op's kernel is its output size, the rest unused)."""
    if "output_size" in attrs:
        m = attrs["output_size"]
        ones, zeros = (1,) * len(m), (0,) * len(m)
        return m, ones, zeros, ones, True
    k = attrs["kernel"]
    return k, attrs["stride"], attrs["padding"], attrs.get("dilation", (1,) * len(k)), False


def _out_dims(x: TensorType | Node, attrs: Mapping[str, Any]) -> tuple[Dim, ...]:
    """The pooled shape of ``x`` (None for a spatial length known only at call time)."""
    k, s, p, d, adaptive = window_attrs(attrs)
    nsp = len(k)
    lead, spatial = tuple(x.shape[: x.ndim - nsp]), x.shape[x.ndim - nsp :]
    if any(isinstance(n, int) and n < 1 for n in spatial):
        raise ValueError(
            f"pooling: input of shape {format_shape(x.shape)} has an empty window axis"
        )
    if adaptive:
        return (*lead, *k)
    out: list[Dim] = []
    for i, n in enumerate(spatial):
        if not isinstance(n, int):
            out.append(None)
            continue
        m = pool_output_size(n, k[i], s[i], p[i], d[i], bool(attrs["ceil_mode"]))
        if m < 1:
            raise ValueError(
                f"pooling: input of shape {format_shape(x.shape)} is too small for kernel {k} "
                f"(stride {s}, padding {p}, dilation {d}): output length {m} on spatial axis {i}"
            )
        if any(lo >= hi for lo, hi, _ in _windows(attrs, (n,), (m,), axis=i)[0]):
            raise ValueError(
                f"pooling: a window of kernel {k} with dilation {d} and padding {p} reads only "
                f"padding on spatial axis {i} of an input of shape {format_shape(x.shape)}"
            )
        out.append(m)
    return (*lead, *out)


def _out_call_dims(table: DimBuilder, attrs: Mapping[str, Any], xd: list[str]) -> list[str]:
    k, s, p, d, adaptive = window_attrs(attrs)
    nsp = len(k)
    lead, spatial = xd[: len(xd) - nsp], xd[len(xd) - nsp :]
    if adaptive:
        return [*lead, *(str(m) for m in k)]
    ceil = bool(attrs["ceil_mode"])
    out = [
        table.let(f"kpool.pool_output_size({n}, {k[i]}, {s[i]}, {p[i]}, {d[i]}, {ceil})")
        for i, n in enumerate(spatial)
    ]
    return [*lead, *out]


def _windows(
    attrs: Mapping[str, Any], spatial: Ints, out: Ints, axis: int = 0
) -> list[list[tuple[int, int, int]]]:
    """The window bounds of every output, per spatial axis (the first being ``axis``)."""
    k, s, p, d, adaptive = window_attrs(attrs)
    return [
        [window_bounds(o, n, m, k[i], s[i], p[i], d[i], adaptive) for o in range(m)]
        for i, (n, m) in enumerate(zip(spatial, out), start=axis)
    ]


def _positions(attrs: Mapping[str, Any], x_shape: Ints, out_shape: Ints) -> Any:
    """Each output position with its window: ``(o, slices, padded)`` over the spatial axes."""
    k, _, _, d, adaptive = window_attrs(attrs)
    nsp = len(k)
    spatial, out = x_shape[len(x_shape) - nsp :], out_shape[len(out_shape) - nsp :]
    bounds = _windows(attrs, spatial, out)
    steps = (1,) * nsp if adaptive else d
    for o in itertools.product(*(range(m) for m in out)):
        wins = [bounds[i][o[i]] for i in range(nsp)]
        slices = tuple(slice(lo, hi, steps[i]) for i, (lo, hi, _) in enumerate(wins))
        yield o, slices, [w[2] for w in wins]


def _every_plane(index: Any) -> tuple[Any, ...]:
    """``index`` (spatial) applied to every plane of a ``(planes, *spatial)`` array."""
    return (slice(None), *index)


def _trailing(index: Any) -> tuple[Any, ...]:
    """``index`` applied to the trailing (spatial) axes of an array."""
    return (Ellipsis, *index)


def _planes(a: np.ndarray, nsp: int) -> np.ndarray:
    return a.reshape(-1, *a.shape[a.ndim - nsp :])


class Offsets:
    """A fixed window (not adaptive) walked one offset at a time, in PyTorch's row-major order:
    ``slices`` of the input padded by ``widths`` give every output's element at that offset,
    ``valid`` (broadcasting to the output's spatial shape) marks those inside the input and
    ``flat`` is their flat index in the input plane. Numpy work per offset, not per output."""

    def __init__(self, attrs: Mapping[str, Any], spatial: Ints, out: Ints) -> None:
        self.k, self.s, self.p, self.d, _ = window_attrs(attrs)
        self.spatial, self.out = spatial, out
        nsp = len(spatial)
        extent = [(m - 1) * s + (k - 1) * d + 1 for m, k, s, d in zip(out, self.k, self.s, self.d)]
        self.widths = [(p, max(e - p - n, 0)) for e, p, n in zip(extent, self.p, spatial)]
        self.axes = [np.arange(m).reshape([-1 if a == i else 1 for a in range(nsp)])
                     for i, m in enumerate(out)]  # fmt: skip

    def __iter__(self) -> Any:
        for j in itertools.product(*(range(k) for k in self.k)):
            slices, valid, flat = [], np.ones((1,) * len(j), bool), np.int64(0)
            for i, (ji, n) in enumerate(zip(j, self.spatial)):
                first = ji * self.d[i]
                slices.append(slice(first, first + (self.out[i] - 1) * self.s[i] + 1, self.s[i]))
                pos = self.axes[i] * self.s[i] - self.p[i] + first
                valid = valid & (pos >= 0) & (pos < n)
                flat = flat * n + pos
            yield tuple(slices), valid, flat

    def pad(self, a: np.ndarray, fill: Any) -> np.ndarray:
        lead = [(0, 0)] * (a.ndim - len(self.widths))
        return np.pad(a, [*lead, *self.widths], constant_values=fill)

    def divisors(self, include_pad: bool) -> np.ndarray:
        """Each output's divisor: its window's size with padding (not past it), or inside."""
        total = np.ones((1,) * len(self.k), np.int64)
        for axis, n, k, s, p in zip(self.axes, self.spatial, self.k, self.s, self.p):
            start = axis * s - p
            stop = start + k
            size = (np.minimum(stop, n + p) - start) if include_pad else (
                np.minimum(stop, n) - np.maximum(start, 0))  # fmt: skip
            total = total * size
        return total


def _flatten_last(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with its last ``n`` dims as one (sizes spelled out: with an empty leading dim,
    numpy cannot infer a -1)."""
    lead = a.shape[: a.ndim - n]
    return a.reshape(*lead, int(np.prod(a.shape[a.ndim - n :], dtype=np.int64)))


# --------------------------------------------------------------------------------------------------
# max pooling: values and argmax indices


def _max_indices_impl(x: np.ndarray, **attrs: Any) -> np.ndarray:
    nsp = len(window_attrs(attrs)[0])
    shape = _out_dims(TensorType(x.shape, x.dtype.name), attrs)
    if "output_size" not in attrs:
        return _max_indices_fixed(x, attrs, shape)  # type: ignore[arg-type]
    xp = _planes(x, nsp)
    plane = x.shape[x.ndim - nsp :]
    out = np.empty((xp.shape[0], *shape[len(shape) - nsp :]), np.int64)
    flat = np.arange(int(np.prod(plane)), dtype=np.int64).reshape(plane)
    for o, slices, _ in _positions(attrs, x.shape, shape):  # type: ignore[arg-type]
        win = _flatten_last(xp[_every_plane(slices)], nsp)
        where = flat[slices].reshape(-1)
        at = np.argmax(win, axis=1)
        nan = np.isnan(win) if win.dtype.kind == "f" else np.zeros(win.shape, bool)
        last_nan = win.shape[1] - 1 - np.argmax(nan[:, ::-1], axis=1)  # PyTorch keeps the last
        at = np.where(nan.any(axis=1), last_nan, at)
        out[_every_plane(o)] = where[at]
    return out.reshape(shape)


def _max_indices_fixed(x: np.ndarray, attrs: Mapping[str, Any], shape: Ints) -> np.ndarray:
    nsp = len(attrs["kernel"])
    offsets = Offsets(attrs, x.shape[x.ndim - nsp :], shape[len(shape) - nsp :])
    xp = offsets.pad(x, 0)
    best, at = np.zeros(shape, x.dtype), np.zeros(shape, np.int64)
    unset = np.ones(shape, bool)
    for slices, valid, flat in offsets:
        v = xp[_trailing(slices)]
        # the first position inside the window, then a larger value or a NaN (PyTorch's rule)
        take = valid & (unset | (v > best) | (v != v))
        best = np.where(take, v, best)
        at = np.where(take, flat, at)
        unset &= ~valid
    return at


def _max_impl(x: np.ndarray, **attrs: Any) -> np.ndarray:
    nsp = len(window_attrs(attrs)[0])
    idx = _max_indices_impl(x, **attrs)
    got = np.take_along_axis(_flatten_last(x, nsp), _flatten_last(idx, nsp), axis=-1)
    return got.reshape(idx.shape)


def _check_input(name: str, x: TensorType, attrs: Mapping[str, Any], floats: bool) -> None:
    nsp = len(window_attrs(attrs)[0])
    if x.ndim < nsp:
        raise ValueError(f"{name}: expected at least {nsp} dims, got shape {format_shape(x.shape)}")
    if x.dtype == "bool" or (floats and not is_float(x.dtype)):
        kinds = "floating" if floats else "numeric"
        raise TypeError(f"{name}: expected a {kinds} input, got {x.dtype}")


def _max_infer(name: str, indices: bool) -> Callable[..., TensorType]:
    def infer(x: TensorType, **attrs: Any) -> TensorType:
        _check_input(name, x, attrs, floats=False)
        return TensorType(_out_dims(x, attrs), "int64" if indices else x.dtype)

    return infer


def _pooled_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return _out_call_dims(table, node.attrs, ins[0])


def _max_ops(prefix: str) -> tuple[OpDef, OpDef]:
    """The values op and the indices op of a max pooling (``prefix`` "" or "adaptive_")."""
    indices = defop(
        f"{prefix}max_pool_indices",
        infer=_max_infer(f"{prefix}max_pool_indices", True),
        impl=_max_indices_impl,
        vjp=zero_vjp,
        jvp=zero_jvp,
        call_dims=_pooled_call_dims,
        promote=None,
        doc="flat index into each input plane of the (first) maximum of each window (int64)",
    )

    def vjp(g: Any, out: Any, x: Any, **attrs: Any) -> Any:
        return apply(
            POOL_SCATTER, g, apply(indices, x, **attrs), x, ndim=len(window_attrs(attrs)[0])
        )

    def jvp(tangents: Any, out: Any, x: Any, **attrs: Any) -> Any:
        (t,) = tangents
        if t is None:
            return None
        return apply(POOL_GATHER, t, apply(indices, x, **attrs), ndim=len(window_attrs(attrs)[0]))

    values = defop(
        f"{prefix}max_pool",
        infer=_max_infer(f"{prefix}max_pool", False),
        impl=_max_impl,
        vjps=(vjp,),
        jvp=jvp,
        call_dims=_pooled_call_dims,
        promote=None,
        doc="maximum of each window over the trailing spatial axes (padding never wins)",
    )
    return values, indices


# --------------------------------------------------------------------------------------------------
# pool_scatter and pool_gather: the gradient of max pooling and its transpose


def _plane_size(shape: tuple[Dim, ...], nsp: int) -> Dim:
    size = 1
    for n in shape[len(shape) - nsp :]:
        if not isinstance(n, int):
            return None
        size *= n
    return size


def _check_planes(name: str, a: TensorType, b: TensorType, nsp: int) -> None:
    la, lb = a.shape[: a.ndim - nsp], b.shape[: b.ndim - nsp]
    if a.ndim != b.ndim or any(
        isinstance(u, int) and isinstance(v, int) and u != v for u, v in zip(la, lb)
    ):
        raise ValueError(
            f"{name}: the planes of shapes {format_shape(a.shape)} and {format_shape(b.shape)} "
            f"(last {nsp} axes spatial) do not match"
        )


def _scatter_infer(g: TensorType, idx: TensorType, x: TensorType, *, ndim: int) -> TensorType:
    if idx.dtype != "int64" or tuple(g.shape) != tuple(idx.shape):
        raise ValueError(
            f"pool_scatter: indices must be int64 of the cotangent's shape {format_shape(g.shape)}"
            f", got {idx.dtype} {format_shape(idx.shape)}"
        )
    _check_planes("pool_scatter", g, x, ndim)
    return TensorType(x.shape, g.dtype)


def _scatter_impl(g: np.ndarray, idx: np.ndarray, x: np.ndarray, *, ndim: int) -> np.ndarray:
    per_plane = int(np.prod(g.shape[g.ndim - ndim :]))
    gp, ip = g.reshape(-1, per_plane), idx.reshape(-1, per_plane)
    size = int(np.prod(x.shape[x.ndim - ndim :]))
    if ip.size and (ip.min() < 0 or ip.max() >= size):
        raise IndexError(f"pool_scatter: an index is out of range for input planes of {size}")
    out = np.zeros((gp.shape[0], size), g.dtype)
    rows = np.repeat(np.arange(gp.shape[0]), gp.shape[1])
    np.add.at(out, (rows, ip.reshape(-1)), gp.reshape(-1))
    return out.reshape(x.shape)


def _scatter_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    nsp = node.attrs["ndim"]
    for i, (a, b) in enumerate(zip(ins[0][: len(ins[0]) - nsp], ins[2])):
        table.require_equal(a, b, f"pool_scatter: axis {i} of the cotangent and the input differ")
    return list(ins[2])


def _gather_infer(t: TensorType, idx: TensorType, *, ndim: int) -> TensorType:
    if idx.dtype != "int64":
        raise ValueError(f"pool_gather: indices must be int64, got {idx.dtype}")
    _check_planes("pool_gather", idx, t, ndim)
    return TensorType(idx.shape, t.dtype)


def _gather_impl(t: np.ndarray, idx: np.ndarray, *, ndim: int) -> np.ndarray:
    tp, ip = _flatten_last(t, ndim), _flatten_last(idx, ndim)
    if ip.size and (ip.min() < 0 or ip.max() >= tp.shape[-1]):
        raise IndexError(f"pool_gather: an index is out of range for planes of {tp.shape[-1]}")
    return np.take_along_axis(tp, ip, axis=-1).reshape(idx.shape)


def _gather_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    nsp = node.attrs["ndim"]
    for i, (a, b) in enumerate(zip(ins[1][: len(ins[1]) - nsp], ins[0])):
        table.require_equal(a, b, f"pool_gather: axis {i} of the indices and the input differ")
    return list(ins[1])


POOL_SCATTER: OpDef = defop(
    "pool_scatter",
    infer=_scatter_infer,
    impl=_scatter_impl,
    vjps=(lambda ct, out, g, idx, x, *, ndim: apply(POOL_GATHER, ct, idx, ndim=ndim), None, None),
    jvp=lambda tangents, out, g, idx, x, *, ndim: (
        None if tangents[0] is None else apply(POOL_SCATTER, tangents[0], idx, x, ndim=ndim)
    ),
    call_dims=_scatter_call_dims,
    shape_only_from=2,
    promote=None,
    doc="zeros of x's shape, g added at the flat plane indices idx (max pooling's gradient)",
)

POOL_GATHER: OpDef = defop(
    "pool_gather",
    infer=_gather_infer,
    impl=_gather_impl,
    vjps=(lambda ct, out, t, idx, *, ndim: apply(POOL_SCATTER, ct, idx, t, ndim=ndim), None),
    jvp=lambda tangents, out, t, idx, *, ndim: (
        None if tangents[0] is None else apply(POOL_GATHER, tangents[0], idx, ndim=ndim)
    ),
    call_dims=_gather_call_dims,
    promote=None,
    doc="t's values at the flat plane indices idx (the transpose of pool_scatter)",
)

MAX_POOL, MAX_POOL_INDICES = _max_ops("")
ADAPTIVE_MAX_POOL, ADAPTIVE_MAX_POOL_INDICES = _max_ops("adaptive_")


# --------------------------------------------------------------------------------------------------
# average pooling and its transpose


def _divisor(
    attrs: Mapping[str, Any], padded: list[int], slices: tuple[slice, ...], shape: Ints
) -> int:
    if attrs.get("divisor", 0):
        return int(attrs["divisor"])
    if attrs.get("count_include_pad", True):
        return int(np.prod(padded))
    return int(np.prod([len(range(*s.indices(n))) for s, n in zip(slices, shape)]))


def _avg_divisors(attrs: Mapping[str, Any], offsets: Offsets) -> Any:
    return attrs["divisor"] or offsets.divisors(attrs["count_include_pad"])


def _avg_impl(x: np.ndarray, **attrs: Any) -> np.ndarray:
    nsp = len(window_attrs(attrs)[0])
    shape = _out_dims(TensorType(x.shape, x.dtype.name), attrs)
    if "output_size" not in attrs:
        pooled = tuple(int(n) for n in shape[len(shape) - nsp :])  # type: ignore[arg-type]
        offsets = Offsets(attrs, x.shape[x.ndim - nsp :], pooled)
        xp = offsets.pad(x, 0)
        total = np.zeros(x.shape[: x.ndim - nsp] + pooled, np.float64)
        for slices, _, _ in offsets:  # padding adds zeros, in the kernel's order
            total += xp[_trailing(slices)]
        return (total / _avg_divisors(attrs, offsets)).astype(x.dtype, copy=False)
    xp = _planes(x, nsp)
    spatial = x.shape[x.ndim - nsp :]
    out = np.empty((xp.shape[0], *shape[len(shape) - nsp :]), x.dtype)
    for o, slices, padded in _positions(attrs, x.shape, shape):  # type: ignore[arg-type]
        total = _flatten_last(xp[_every_plane(slices)], nsp).sum(axis=1, dtype=np.float64)
        out[_every_plane(o)] = total / _divisor(attrs, padded, slices, spatial)
    return out.reshape(shape)


def _avg_grad_impl(g: np.ndarray, x: np.ndarray, **attrs: Any) -> np.ndarray:
    nsp = len(window_attrs(attrs)[0])
    if "output_size" not in attrs:
        offsets = Offsets(attrs, x.shape[x.ndim - nsp :], g.shape[g.ndim - nsp :])
        share = g / _avg_divisors(attrs, offsets)
        out = offsets.pad(np.zeros(x.shape, g.dtype), 0)
        for slices, valid, _ in offsets:
            out[_trailing(slices)] += np.where(valid, share, 0)
        inside = tuple(slice(p, p + n) for (p, _), n in zip(offsets.widths, offsets.spatial))
        return np.ascontiguousarray(out[_trailing(inside)])
    gp = _planes(g, nsp)
    spatial = x.shape[x.ndim - nsp :]
    out = np.zeros((gp.shape[0], *spatial), g.dtype)
    for o, slices, padded in _positions(attrs, x.shape, g.shape):
        share = gp[_every_plane(o)] / _divisor(attrs, padded, slices, spatial)
        out[_every_plane(slices)] += share.reshape(-1, *(1,) * nsp)
    return out.reshape(x.shape)


def _avg_ops(prefix: str) -> tuple[OpDef, OpDef]:
    """The average pooling op and its transpose (``prefix`` "" or "adaptive_")."""
    name = f"{prefix}avg_pool"

    def infer(x: TensorType, **attrs: Any) -> TensorType:
        _check_input(name, x, attrs, floats=True)
        return TensorType(_out_dims(x, attrs), x.dtype)

    def grad_infer(g: TensorType, x: TensorType, **attrs: Any) -> TensorType:
        want = _out_dims(x, attrs)
        if g.ndim != len(want) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(g.shape, want)
        ):
            raise ValueError(
                f"{name}_grad: cotangent of shape {format_shape(g.shape)} does not match the "
                f"pooled shape {format_shape(want)} of an input of shape {format_shape(x.shape)}"
            )
        return TensorType(x.shape, g.dtype)

    def grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
        for i, (a, b) in enumerate(zip(ins[0], _out_call_dims(table, node.attrs, ins[1]))):
            table.require_equal(a, b, f"{name}_grad: axis {i} of the cotangent has the wrong size")
        return list(ins[1])

    forward: OpDef
    grad = defop(
        f"{name}_grad",
        infer=grad_infer,
        impl=_avg_grad_impl,
        vjps=(lambda ct, out, g, x, **attrs: apply(forward, ct, **attrs), None),
        jvp=lambda tangents, out, g, x, **attrs: (
            None if tangents[0] is None else apply(grad, tangents[0], x, **attrs)
        ),
        call_dims=grad_call_dims,
        shape_only_from=1,
        promote=None,
        doc=f"the transpose of {name}: each cotangent divided over its window, summed back",
    )
    forward = defop(
        name,
        infer=infer,
        impl=_avg_impl,
        vjps=(lambda g, out, x, **attrs: apply(grad, g, x, **attrs),),
        jvp=lambda tangents, out, x, **attrs: (
            None if tangents[0] is None else apply(forward, tangents[0], **attrs)
        ),
        call_dims=_pooled_call_dims,
        promote=None,
        doc="mean of each window over the trailing spatial axes (PyTorch's divisor rules)",
    )
    return forward, grad


AVG_POOL, AVG_POOL_GRAD = _avg_ops("")
ADAPTIVE_AVG_POOL, ADAPTIVE_AVG_POOL_GRAD = _avg_ops("adaptive_")
