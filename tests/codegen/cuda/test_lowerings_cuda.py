"""The edge cases of the CUDA row kernels, scans, sorts and scatter-adds, against the reference
interpreter: NaN, infinities, ties, repeated and negative indices, indices out of range, reversed
scans, non-trailing axes. Tiny shapes: numba's simulator runs them in CI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

NAN, INF = np.nan, np.inf


def _both(build: Callable[..., Any], *feeds: np.ndarray) -> tuple[list, list]:
    xs = [gj.placeholder(f"x{i}", f.shape, str(f.dtype)) for i, f in enumerate(feeds)]
    out = build(*xs)
    outs = out if isinstance(out, list) else [out]
    want = gj.compile(xs, outs, backend="numpy")(*feeds)
    got = gj.compile(xs, outs, backend="cuda")(*feeds)
    return got, want


def _check(build: Callable[..., Any], *feeds: np.ndarray, exact: bool = False) -> None:
    got, want = _both(build, *feeds)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


ROWS = np.array(
    [
        [1.0, 3.0, 3.0, -1.0],  # ties: the first index
        [2.0, NAN, 5.0, NAN],  # the first NaN wins
        [-INF, -INF, -INF, -INF],
        [INF, 1.0, INF, 0.0],
        [0.5, -2.0, 0.5, -2.0],
    ]
)


@pytest.mark.parametrize("fn", [gj.argmax, gj.argmin])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_arg_extrema_take_the_first_index_and_nan(fn: Any, axis: int | None) -> None:
    _check(lambda x: fn(x, axis=axis), ROWS, exact=True)
    ints = np.array([[3, 7, 7, 1], [0, 0, -4, -4]], dtype=np.int64)
    _check(lambda x: fn(x, axis=axis), ints, exact=True)


def test_arg_extrema_of_a_long_row_use_the_whole_block() -> None:
    x = np.zeros((2, 100))
    x[0, [17, 70]] = 5.0  # a tie across threads of the block: the smaller index
    x[1, [93, 40]] = NAN
    _check(lambda a: [gj.argmax(a, axis=1), gj.argmin(a, axis=1)], x, exact=True)


def test_arg_extremum_of_an_empty_row_raises() -> None:
    x = gj.placeholder("x", (None, None))
    f = gj.compile([x], gj.argmax(x, axis=1), backend="cuda")
    with pytest.raises(ValueError, match="empty sequence"):
        f(np.zeros((2, 0)))


@pytest.mark.parametrize("fn", [gj.softmax, gj.log_softmax, gj.logsumexp])
def test_softmax_family_with_nan_and_infinities(fn: Any) -> None:
    x = np.array([[1.0, 2.0, 3.0], [NAN, 0.0, 1.0], [-INF, 0.0, 1.0], [-INF, -INF, -INF]])
    with np.errstate(all="ignore"):
        _check(lambda a: fn(a, axis=1), x)
        _check(lambda a: fn(a, axis=0), x)


def test_softmax_over_a_long_row_and_leading_axes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 70)) * 10
    _check(lambda a: [gj.softmax(a, axis=1), gj.logsumexp(a, axis=1)], x)
    y = rng.normal(size=(2, 3, 4))
    _check(lambda a: [gj.softmax(a, axis=(0, 2)), gj.log_softmax(a, axis=0)], y)


def test_scans_reversed_and_through_zeros() -> None:
    x = np.array([[2.0, 0.0, 3.0, 0.0, 0.0, 4.0], [1.0, -1.0, NAN, 2.0, INF, -INF]])
    with np.errstate(all="ignore"):
        _check(lambda a: [gj.cumprod(a, axis=1), gj.cumsum(a, axis=0)], x)
        _check(lambda a: gj.logcumsumexp(a, 1), x)
    ints = np.array([[3, -2, 0, 5], [1, 1, 1, 1]], dtype=np.int32)
    _check(lambda a: [gj.cumsum(a, axis=1), gj.cumprod(a, axis=1)], ints, exact=True)


def test_running_arg_extrema_and_argsort_with_nan_and_ties() -> None:
    x = np.array([[1.0, 3.0, 3.0, NAN, 2.0, 3.0], [0.0, 0.0, -1.0, -1.0, 5.0, NAN]])
    _check(lambda a: [gj.cummax(a, 1)[1], gj.cummin(a, 1)[1]], x, exact=True)
    _check(lambda a: gj.argsort(a, axis=1), x, exact=True)
    _check(lambda a: gj.argsort(a, axis=0), x, exact=True)
    _check(lambda a: gj.sort(a, axis=1, descending=True), x, exact=True)


def test_searchsorted_both_sides_with_nan() -> None:
    a = np.array([0.0, 1.0, 1.0, 2.0, NAN])
    v = np.array([[-1.0, 1.0, 1.5], [2.0, NAN, 9.0]])
    for side in ("left", "right"):
        _check(lambda s, q, side=side: gj.searchsorted(s, q, side=side), a, v, exact=True)


def test_scatter_adds_with_repeated_and_negative_indices() -> None:
    x = np.arange(12.0).reshape(4, 3)
    idx = np.array([[0, -1], [0, 3], [2, 0]])
    v = np.linspace(0.1, 1.8, 18).reshape(3, 2, 3)
    _check(lambda a, i, u: gj.add_at(a, i, u, axis=0), x, idx, v)
    along = np.array([[0, 0, 1], [2, -1, 0]])
    w = np.arange(6.0).reshape(2, 3) + 0.5
    _check(lambda a, i, u: gj.add_along_axis(a, i, u, axis=0), x, along, w)


@pytest.mark.parametrize("bad", [4, -5])
def test_scatter_add_index_out_of_range_raises(bad: int) -> None:
    x = gj.placeholder("x", (4, 3))
    i = gj.placeholder("i", (2,), "int64")
    f = gj.compile([x, i], gj.add_at(x, i, 1.0, axis=0), backend="cuda")
    with pytest.raises(
        IndexError, match="add_at: an index is out of bounds for axis 0 with size 4"
    ):
        f(np.zeros((4, 3)), np.array([0, bad]))


def test_scatter_add_is_the_same_bits_every_run() -> None:
    rng = np.random.default_rng(1)
    x = gj.placeholder("x", (5, 2))
    i = gj.placeholder("i", (40,), "int64")
    u = gj.placeholder("u", (40, 2))
    f = gj.compile([x, i, u], gj.add_at(x, i, u, axis=0), backend="cuda")
    feeds = (np.zeros((5, 2)), rng.integers(0, 5, 40), rng.normal(size=(40, 2)) * 1e8)
    first = f(*feeds)
    np.testing.assert_array_equal(f(*feeds), first)
    want = np.zeros((5, 2))
    np.add.at(want, feeds[1], feeds[2])  # the CPU order: the indices in turn
    np.testing.assert_array_equal(first, want)


def test_einsum_and_diagonals() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 3))
    _check(lambda p, q: [gj.einsum("bij,jk->bik", p, q), gj.einsum("bij,ji->", p, q)], a, b)
    sq = rng.normal(size=(2, 4, 4))
    _check(lambda p: [gj.diagonal(p, 1, 1, 2), gj.diagonal(p, -2, 1, 2), gj.trace(p[0])], sq)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16"])
def test_small_ints_on_cuda_match_the_interpreter(dtype: str) -> None:
    """The generated program names the small int dtypes (a uint8 result's buffer among them)."""
    a = (np.arange(12) * 7 - 30).astype(dtype).reshape(3, 4)
    x = gj.placeholder("x", (None, 4), dtype)
    flags = gj.placeholder("flags", (None, 4), "bool")
    outs = [x * 3 - 1, gj.max(x, axis=0), gj.where(x > 5, x, 5), flags.astype(dtype)]
    args = (a, a > 0)
    want = gj.compile([x, flags], outs, backend="numpy")(*args)
    got = gj.compile([x, flags], outs, backend="cuda")(*args)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_array_equal(g, w)
