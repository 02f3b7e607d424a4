"""One or more small graphs per registered op, for the backend-vs-interpreter registry tests.

A case is ``(inputs, output, feeds)`` built by a function of the dtype; every op in the registry
must appear in at least one case (the registry test checks that the graphs really contain it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import graphjit as gj

Case = tuple[list[Any], Any, list[np.ndarray]]
CASES: dict[str, list[Callable[[str, np.random.Generator], Case]]] = {}


def case(*ops: str) -> Callable[[Callable[..., Case]], Callable[..., Case]]:
    def register(fn: Callable[..., Case]) -> Callable[..., Case]:
        for op in ops:
            CASES.setdefault(op, []).append(fn)
        return fn

    return register


def _ph(name: str, shape: tuple, dtype: str) -> Any:
    return gj.placeholder(name, shape, dtype)


def _arr(
    rng: np.random.Generator, shape: tuple, dtype: str, lo: float = -2, hi: float = 2
) -> np.ndarray:
    return rng.uniform(lo, hi, shape).astype(dtype)


UNARY = {
    "negative": (-2, 2), "abs": (-2, 2), "exp": (-3, 3), "exp2": (-3, 3), "log": (0.1, 3),
    "log2": (0.1, 3), "log1p": (-0.9, 3), "expm1": (-2, 2), "sqrt": (0.1, 3), "square": (-2, 2),
    "reciprocal": (0.5, 3), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "tanh": (-3, 3),
    "arctan": (-3, 3), "sigmoid": (-5, 5), "relu": (-2, 2), "softplus": (-5, 5), "erf": (-2, 2),
}  # fmt: skip


def _unary(name: str, lo: float, hi: float) -> Callable[..., Case]:
    def build(dtype: str, rng: np.random.Generator) -> Case:
        x = _ph("x", (None, 3), dtype)
        return [x], getattr(gj, name)(x), [_arr(rng, (4, 3), dtype, lo, hi)]

    return build


for _name, (_lo, _hi) in UNARY.items():
    case(_name)(_unary(_name, _lo, _hi))


@case("sign", "floor", "ceil", "round")
def _piecewise(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    out = gj.sign(x) + gj.floor(x) * 2 + gj.ceil(x) * 3 + gj.round(x) * 5 + x
    return [x], out, [_arr(rng, (4, 3), dtype, -3, 3)]


@case("add", "subtract", "multiply", "divide", "power", "maximum", "minimum")
def _binary(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (3,), dtype)
    out = (x + y) * (x - y) / (gj.abs(y) + 1) + gj.power(gj.abs(x) + 0.5, y)
    out = out + gj.maximum(x, y) - gj.minimum(x, 2 * y)
    return [x, y], out, [_arr(rng, (4, 3), dtype), _arr(rng, (3,), dtype)]


@case(
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "where",
    "logical_and",
    "logical_or",
    "logical_not",
    "astype",
)
def _logic(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (None, 1), dtype)
    c = gj.logical_or(gj.logical_and(x < y, x <= 1.0), gj.logical_not(x > y))
    c = gj.logical_or(c, gj.logical_and(x >= 0.5, gj.not_equal(x, y)))
    out = gj.where(c, x * y, -x) + gj.equal(x, x).astype(dtype) + (x * 3).astype("int32")
    return [x, y], out, [_arr(rng, (4, 3), dtype), _arr(rng, (4, 1), dtype)]


@case("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "left_shift", "right_shift")
def _bitwise(dtype: str, rng: np.random.Generator) -> Case:
    # integers of several dtypes, negative ones, and shift counts that are negative or not below
    # the width (numpy shifts every bit out there; C leaves it undefined)
    x = _ph("x", (None, 4), dtype)
    i = _ph("i", (None, 4), "int64")
    b = _ph("b", (None, 4), "int8")
    u = _ph("u", (4,), "uint8")
    n = _ph("n", (None, 1), "int64")
    even = gj.equal(i & 1, 0).astype(dtype)
    mixed = ((i | b) ^ ~b) & 1023
    shifted = (b << n.astype("int8")) + ((i << n) & 4095) + (i >> n) + (b >> n.astype("int8"))
    small = (~u) ^ (u >> 3) | (u << u) & 240
    ints = mixed + shifted + small.astype("int64")
    out = x * (1 + even) + ints.astype(dtype) * 0.01
    feeds = [
        _arr(rng, (7, 4), dtype),
        rng.integers(-300, 300, (7, 4)),
        rng.integers(-128, 128, (7, 4)).astype(np.int8),
        np.array([0, 7, 200, 255], np.uint8),
        np.array([[-1], [0], [3], [7], [8], [63], [100]]),
    ]
    return [x, i, b, u, n], out, feeds


@case("sum", "prod", "max", "min")
def _reductions(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3, 4), dtype)
    e = gj.sin(x) * 2 + 0.1
    out = (
        gj.sum(e * e, axis=(0, 2))
        + gj.max(e, axis=2)[0]
        + gj.min(x, axis=0).sum(axis=-1)
        + gj.prod(e, axis=2, keepdims=True)[0, :, 0]
        + gj.sum(x)
    )
    return [x], out, [_arr(rng, (2, 3, 4), dtype)]


@case("argmax", "argmin")
def _arg(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 5), dtype)
    out = gj.argmax(x, axis=1) * 10 + gj.argmin(x, axis=0).sum() + gj.argmax(x)
    return [x], out.astype(dtype) * x[:, 0], [_arr(rng, (4, 5), dtype)]


@case("logsumexp", "softmax", "log_softmax")
def _softmax(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3, 4), dtype)
    out = (
        gj.softmax(x, axis=-1) * 2
        + gj.log_softmax(x, axis=1)
        + gj.expand_dims(gj.logsumexp(x, axis=(0, 2)), (0, 2))
        + gj.softmax(x, axis=(0, 1))
    )
    return [x], out, [_arr(rng, (2, 3, 4), dtype, -3, 3)]


@case("size_of")
def _mean(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    out = gj.mean(x, axis=0) + gj.var(x) + gj.std(x, axis=1).sum()
    return [x], out, [_arr(rng, (5, 3), dtype)]


@case("reshape", "transpose", "expand_dims", "squeeze", "reshape_like")
def _views(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 2, 3), dtype)
    t = gj.transpose(x, (2, 0, 1))  # (3, n, 2)
    r = gj.reshape(t * 2, (3, -1))  # (3, 2n)
    s = gj.squeeze(gj.expand_dims(r, 1), 1)
    out = gj.reshape_like(s, t) + t
    return [x], out, [_arr(rng, (4, 2, 3), dtype)]


@case("broadcast_to", "broadcast_like", "full_like")
def _broadcasts(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 1), dtype)
    y = _ph("y", (None, 3), dtype)
    out = gj.broadcast_to(x, (None, 3)) * gj.broadcast_like(gj.sin(x), y) + gj.ones_like(y)
    out = out + gj.full_like(y, 2.5) * y
    return [x, y], out, [_arr(rng, (4, 1), dtype), _arr(rng, (4, 3), dtype)]


@case("slice_axes", "slice_axes_grad")
def _slices(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 6), dtype)
    out = x[1:, ::2] * 2 + gj.flip(x, 1)[:-1, 1:4] + x[::-1, 1:6:2][:-1]
    return [x], out, [_arr(rng, (5, 6), dtype)]


@case("concatenate", "concatenate_part")
def _concat(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (None, 3), dtype)
    out = gj.concatenate([x, y * 2], axis=0) * 1.5 + gj.concatenate([x, y], axis=0)
    out = gj.sum(gj.stack([x[:2], gj.exp(y)], axis=1), axis=1) + out[:2]
    return [x, y], out, [_arr(rng, (3, 3), dtype), _arr(rng, (2, 3), dtype)]


@case("pad")
def _pad(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    out = gj.pad(x * 2, ((1, 2), (0, 1)), constant_values=1.5)
    return [x], out, [_arr(rng, (2, 3), dtype)]


@case("take", "add_at")
def _take(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 4), dtype)
    i = _ph("i", (None,), "int64")
    out = gj.take(x * 2, i, axis=1) + gj.take(x, np.array([[0, -1], [1, 1]]), axis=0).sum()
    return [x, i], out, [_arr(rng, (3, 4), dtype), np.array([0, 3, -1, 1, 1])]


@case("take_along_axis", "add_along_axis")
def _take_along(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 4), dtype)
    i = _ph("i", (None, 2), "int64")
    out = gj.take_along_axis(gj.exp(x), i, axis=1)
    return [x, i], out, [_arr(rng, (3, 4), dtype), np.array([[0, 3], [1, 1], [-1, 2]])]


@case("matmul")
def _matmul(dtype: str, rng: np.random.Generator) -> Case:
    a = _ph("a", (None, 3), dtype)
    b = _ph("b", (3, 4), dtype)
    v = _ph("v", (4,), dtype)
    c = _ph("c", (2, None, 3), dtype)
    out = gj.relu(a @ b + 1.0) @ v + gj.sum((c @ b) @ v) + (b @ v) @ (b @ v)
    return (
        [a, b, v, c],
        out,
        [
            _arr(rng, (5, 3), dtype),
            _arr(rng, (3, 4), dtype),
            _arr(rng, (4,), dtype),
            _arr(rng, (2, 5, 3), dtype),
        ],
    )


@case("einsum")
def _einsum(dtype: str, rng: np.random.Generator) -> Case:
    a = _ph("a", (None, 3), dtype)
    b = _ph("b", (3, 4), dtype)
    out = (
        gj.einsum("ij,jk->ik", a, b)
        + gj.einsum("ij->j", a).sum()
        + gj.einsum("ij,ij->i", a, a)[:, None]
    )
    return [a, b], out, [_arr(rng, (2, 3), dtype), _arr(rng, (3, 4), dtype)]


# --------------------------------------------------------------------------------------------------
# more elementwise math: trig, special functions, rounding and division, float classification

MATH_UNARY = {
    "sinh": (-3, 3), "cosh": (-3, 3), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9),
    "arcsinh": (-3, 3), "arccosh": (1.2, 3), "arctanh": (-0.9, 0.9), "log10": (0.1, 3),
    "erfc": (-2, 2), "erfinv": (-0.9, 0.9),
}  # fmt: skip

for _name, (_lo, _hi) in MATH_UNARY.items():
    case(_name)(_unary(_name, _lo, _hi))


@case("arctan2", "hypot", "logaddexp", "logaddexp2")
def _math_binary(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (3,), dtype)
    out = gj.arctan2(x, y) + gj.hypot(x, y) * 0.5 + gj.logaddexp(x, y) - gj.logaddexp2(y, x)
    return [x, y], out, [_arr(rng, (4, 3), dtype), _arr(rng, (3,), dtype, 0.5, 2)]


@case("fmax", "fmin", "clamp", "copysign", "heaviside")
def _limits(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (3,), dtype)
    out = gj.fmax(x, y) * 2 + gj.fmin(x, 2 * y) + gj.clamp(x, -y, gj.abs(y) + 0.5) * x
    out = out + gj.copysign(x, y) * 3 + gj.heaviside(x, y) * x
    return [x, y], out, [_arr(rng, (4, 3), dtype), _arr(rng, (3,), dtype)]


@case("trunc", "floor_divide", "remainder")
def _division(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    y = _ph("y", (3,), dtype)
    out = gj.trunc(x * 3) + (x // y) * 2 + (x % y) * x + gj.remainder(3 * x, -y)
    return [x, y], out, [_arr(rng, (4, 3), dtype, -5, 5), _arr(rng, (3,), dtype, 0.5, 2)]


@case("isnan", "isinf", "isfinite", "signbit")
def _classes(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3), dtype)
    # the non-finite values only decide conditions, so the gradients stay finite
    out = gj.where(gj.isnan(gj.log(x)), x * x, gj.where(gj.isinf(gj.exp(x * 400.0)), -x, 2 * x))
    out = out + gj.where(gj.isfinite(1.0 / x), x, 0.0) + gj.signbit(x).astype(dtype) * x
    return [x], out, [_arr(rng, (4, 3), dtype)]


# scans and sorting


@case("cumsum", "cumprod", "logcumsumexp")
def _scans(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 6), dtype)
    zeros = np.array([1, 0, 1, 1, 0, 0], dtype=dtype)  # cumprod through one, two and three zeros
    out = gj.cumsum(x, axis=1) + gj.cumprod(x * zeros, axis=1) * 2 + gj.cumprod(x, axis=0)
    out = out + gj.logcumsumexp(x, 1) + gj.cumsum(x, axis=0)[::-1] + gj.logcumsumexp(x * 3, 0)
    return [x], out, [_arr(rng, (3, 6), dtype)]


@case("cumargmax", "cumargmin", "argsort", "searchsorted")
def _order(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 5), dtype)
    running_max, where_max = gj.cummax(x, 1)
    running_min, where_min = gj.cummin(x * 2, 0)
    s = gj.sort(x, axis=1) + gj.sort(x, axis=0, descending=True)
    pos = gj.searchsorted(gj.sort(x[0]), x, side="right").astype(dtype)
    out = running_max * 2 + running_min + s * x + pos * x
    out = out + (where_max + where_min).astype(dtype) + gj.argsort(x, axis=1).astype(dtype)
    return [x], out, [_arr(rng, (4, 5), dtype)]


# diagonals (the ops under diagonal, trace, diag and einsum's repeated indices)


@case("diagonal", "diagonal_grad")
def _diagonals(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 3, 4), dtype)
    v = _ph("v", (3,), dtype)
    out = (
        gj.diagonal(x, 1, 1, 2) * 2
        + gj.diagonal(x, -1, 2, 1)[:, :2].sum()
        + gj.einsum("...ii->...i", x[:, :, :3])
        + gj.diag(v * v, -1)[1:, :3].sum(axis=0)
        + gj.trace(x[0])
    )
    return [x, v], out, [_arr(rng, (2, 3, 4), dtype), _arr(rng, (3,), dtype)]


@case("take", "take_along_axis", "add_along_axis")
def _advanced_indexing(dtype: str, rng: np.random.Generator) -> Case:
    x = _ph("x", (None, 4, 3), dtype)
    i = _ph("i", (None,), "int64")
    picked = x[i, 1:, np.array([[0], [2]])]  # (2, n, 3): the broadcast dims first
    put = gj.put_along_axis(x, np.array([[[1]]]), 0.5, 1)[:, 1:, 0]  # (n, 3)
    return [x, i], picked * 2 + put, [_arr(rng, (3, 4, 3), dtype), np.array([0, -1, 2])]


@case("counter_uniform")
def _counter_uniform(dtype: str, rng: np.random.Generator) -> Case:
    # a dropout-like mask: the uniforms are a hash of (seed, counter, index, stream)
    x = _ph("x", (None, 3), dtype)
    seed, counter = _ph("seed", (), "int64"), _ph("counter", (), "int64")
    index = _ph("index", (None, 3), "int64")
    u = gj.counter_uniform(seed, counter, index, stream=2)
    out = x * gj.astype(u > 0.3, dtype) + u.astype(dtype)
    feeds = [
        _arr(rng, (4, 3), dtype),
        np.array(-123456789, np.int64),
        np.array(2**40 + 5, np.int64),
        np.arange(12, dtype=np.int64).reshape(4, 3) * 2**29,
    ]
    return [x, seed, counter, index], out, feeds


@case("conv", "conv_input_grad", "conv_weight_grad")
def _convolutions(dtype: str, rng: np.random.Generator) -> Case:
    F = gj.nn.functional  # noqa: N806 - PyTorch's spelling
    x = _ph("x", (None, 4, 5, 4), dtype)
    w = _ph("w", (2, 2, 3, 2), dtype)
    s = _ph("s", (None, 2, 5), dtype)
    v = _ph("v", (2, 3, 2), dtype)
    y = F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    t = F.conv_transpose1d(s, v, stride=2, padding=1, output_padding=1)
    out = gj.tanh(y).sum(axis=(1, 2, 3))[:, None] + t.sum(axis=1)[:, :3]
    feeds = [
        _arr(rng, (2, 4, 5, 4), dtype),
        _arr(rng, (2, 2, 3, 2), dtype),
        _arr(rng, (2, 2, 5), dtype),
        _arr(rng, (2, 3, 2), dtype),
    ]
    return [x, w, s, v], out, feeds


# pooling and resampling (gj.nn.functional's pools and interpolate)


@case("max_pool", "max_pool_indices", "pool_scatter", "pool_gather")
@case("adaptive_max_pool", "adaptive_max_pool_indices")
def _max_pools(dtype: str, rng: np.random.Generator) -> Case:
    nnf = gj.nn.functional
    x = _ph("x", (None, 2, 5, 6), dtype)
    y, idx = nnf.max_pool2d(
        x, 3, 2, padding=1, dilation=(1, 2), ceil_mode=True, return_indices=True
    )
    a, where = nnf.adaptive_max_pool2d(x, (2, 4), return_indices=True)
    m = nnf.max_pool1d(x[:, 0], 2, ceil_mode=True)  # (n, 5, 3)
    out = gj.sum(y * y, axis=(2, 3)) + gj.sum(a, axis=(2, 3)) + gj.sum(m, axis=(1, 2))[:, None]
    out = out + gj.sum((idx + where[:, :, :1, :1]).astype(dtype), axis=(2, 3))
    return [x], out, [_arr(rng, (3, 2, 5, 6), dtype)]


@case("avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_avg_pool_grad")
def _avg_pools(dtype: str, rng: np.random.Generator) -> Case:
    nnf = gj.nn.functional
    x = _ph("x", (None, 2, 5, 6), dtype)
    y = nnf.avg_pool2d(x, (3, 2), padding=1, ceil_mode=True, count_include_pad=False)
    z = nnf.avg_pool2d(x, 2, 1, divisor_override=3)
    a = nnf.adaptive_avg_pool2d(x * x, (3, 4))
    w = nnf.avg_pool1d(x[:, 1], 3, 2, padding=1)
    out = gj.sum(y * y, axis=(2, 3)) + gj.sum(z, axis=(2, 3)) + gj.sum(a * x[:, :, :3, :4], (2, 3))
    return [x], out + gj.sum(w, axis=(1, 2))[:, None], [_arr(rng, (3, 2, 5, 6), dtype)]


@case("resample", "resample_grad")
def _resamples(dtype: str, rng: np.random.Generator) -> Case:
    nnf = gj.nn.functional
    x = _ph("x", (None, 2, 3, 4), dtype)
    up = nnf.interpolate(x, scale_factor=2.5, mode="bilinear")  # (n, 2, 7, 10)
    corners = nnf.interpolate(x, size=(5, 3), mode="bilinear", align_corners=True)
    near = nnf.interpolate(x * x, size=(7, 10))
    out = gj.sum(up * near, axis=(2, 3)) + gj.sum(corners * corners, axis=(2, 3))
    return [x], out, [_arr(rng, (2, 2, 3, 4), dtype)]
