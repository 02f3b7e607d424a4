"""Max, average and adaptive pooling (``gj.nn.functional``'s pools and the ops under them)
against plain loops written here from PyTorch's rules, finite differences, PyTorch when it is
installed, and across eager tensors, the interpreter and the CPU backend."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling

rng = np.random.default_rng(7)


# --------------------------------------------------------------------------------------------------
# references: one output at a time, straight from the definitions


def _out_len(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    num = n + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def ref_max_pool(x, k, s, p, d, ceil):
    """Values and flat plane indices: padding is -inf, the first maximum wins."""
    spatial = x.shape[2:]
    outs = [_out_len(n, *a, ceil) for n, a in zip(spatial, zip(k, s, p, d))]
    vals = np.empty((*x.shape[:2], *outs))
    idx = np.empty((*x.shape[:2], *outs), np.int64)
    for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*(range(m) for m in outs)):
            best, at = -math.inf, None
            for j in itertools.product(*(range(kk) for kk in k)):
                pos = [o[a] * s[a] - p[a] + j[a] * d[a] for a in range(len(k))]
                if all(0 <= q < n for q, n in zip(pos, spatial)):
                    v = x[(b, c, *pos)]
                    if at is None or v > best:
                        best, at = v, int(np.ravel_multi_index(pos, spatial))
            vals[(b, c, *o)], idx[(b, c, *o)] = best, at
    return vals, idx


def ref_avg_pool(x, k, s, p, ceil, include_pad, divisor=None):
    spatial = x.shape[2:]
    outs = [_out_len(n, kk, ss, pp, 1, ceil) for n, kk, ss, pp in zip(spatial, k, s, p)]
    out = np.empty((*x.shape[:2], *outs))
    for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*(range(m) for m in outs)):
            total, inside, padded = 0.0, 1, 1
            ranges = []
            for a, n in enumerate(spatial):
                start = o[a] * s[a] - p[a]
                end = min(start + k[a], n + p[a])
                padded *= end - start
                lo, hi = max(start, 0), min(end, n)
                inside *= hi - lo
                ranges.append(range(lo, hi))
            for pos in itertools.product(*ranges):
                total += x[(b, c, *pos)]
            div = divisor or (padded if include_pad else inside)
            out[(b, c, *o)] = total / div
    return out


def ref_adaptive(x, sizes, reduce):
    spatial = x.shape[2:]
    out = np.empty((*x.shape[:2], *sizes))
    for o in itertools.product(*(range(m) for m in sizes)):
        win = tuple(
            slice(math.floor(oo * n / m), math.ceil((oo + 1) * n / m))
            for oo, n, m in zip(o, spatial, sizes)
        )
        block = x[(slice(None), slice(None), *win)].reshape(*x.shape[:2], -1)
        out[(slice(None), slice(None), *o)] = reduce(block, axis=-1)
    return out


def _both(fn, x: np.ndarray) -> tuple:
    """``fn`` eagerly on a tensor and compiled on the numpy and cpu backends: all three."""
    eager = fn(gj.tensor(x))
    eager = tuple(eager) if isinstance(eager, tuple) else (eager,)
    ph = gj.placeholder("x", (None, *x.shape[1:]), x.dtype.name)
    out = fn(ph)
    out = list(out) if isinstance(out, tuple) else [out]
    interp = gj.compile([ph], out, backend="numpy")(x)
    cpu = gj.compile([ph], out, backend="cpu")(x)
    return [e.numpy() for e in eager], interp, cpu


def _assert_all(results: tuple, *want: np.ndarray) -> None:
    for got in results:
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# values and indices

MAX_2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=2, stride=2, dilation=(2, 1), ceil_mode=True),
    dict(kernel_size=3, stride=3, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAX_2D)
def test_max_pool2d_values_and_indices_match_the_loops(kw: dict) -> None:
    x = rng.standard_normal((2, 3, 7, 6))
    full = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, **kw}
    k = (kw["kernel_size"],) * 2 if isinstance(kw["kernel_size"], int) else kw["kernel_size"]

    def pair(v, default):
        v = default if v is None else v
        return (v, v) if isinstance(v, int) else v

    want_v, want_i = ref_max_pool(
        x, k, pair(full["stride"], k), pair(full["padding"], 0), pair(full["dilation"], 1),
        full["ceil_mode"],
    )  # fmt: skip
    results = _both(lambda t: F.max_pool2d(t, **kw, return_indices=True), x)
    _assert_all(results, want_v, want_i)
    assert results[0][1].dtype == np.int64


def test_max_pool1d_ceil_mode_keeps_a_window_that_starts_inside() -> None:
    x = np.arange(5.0).reshape(1, 1, 5)
    # windows [-1, 0], [1, 2], [3, 4]: a fourth would start in the right padding
    v, i = F.max_pool1d(gj.tensor(x), 2, 2, padding=1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(v.numpy(), [[[0.0, 2.0, 4.0]]])
    np.testing.assert_array_equal(i.numpy(), [[[0, 2, 4]]])
    # without ceil_mode the last element is dropped
    np.testing.assert_array_equal(F.max_pool1d(gj.tensor(x), 2).numpy(), [[[1.0, 3.0]]])


def test_max_pool_padding_never_wins_over_negative_values() -> None:
    x = -np.ones((1, 1, 2, 2)) - np.arange(4.0).reshape(1, 1, 2, 2)
    out = F.max_pool2d(gj.tensor(x), 3, 1, padding=1)
    np.testing.assert_array_equal(out.numpy(), np.full((1, 1, 2, 2), -1.0))


def test_max_pool_propagates_nan() -> None:
    x = np.array([[[1.0, np.nan, 3.0, 0.0]]])
    for got in _both(lambda t: F.max_pool1d(t, 2), x):
        np.testing.assert_array_equal(got[0], [[[np.nan, 3.0]]])


MAX_ANY = [
    (F.max_pool1d, dict(kernel_size=3, stride=2, dilation=2)),
    (F.max_pool1d, dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)),
    (F.max_pool2d, dict(kernel_size=2)),
    (F.max_pool2d, dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(1, 2))),
    (F.max_pool2d, dict(kernel_size=3, stride=1, padding=1)),
    (F.max_pool3d, dict(kernel_size=2, stride=(1, 2, 1), padding=(0, 1, 1), ceil_mode=True)),
]


@pytest.mark.parametrize(("fn", "kw"), MAX_ANY)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool_ties_nans_and_infinities_agree_with_the_interpreter(fn, kw, dtype) -> None:
    """Values from a few integers (ties in most windows), NaNs, and infinities of both signs:
    the compiled windows (a row of outputs at a time inside, one window at a time at the
    padding) pick the same value and index as the interpreter's: the first maximum, the last
    NaN."""
    rank = {F.max_pool1d: 1, F.max_pool2d: 2, F.max_pool3d: 3}[fn]
    shape = (2, 3, *(7, 9, 11)[3 - rank :])
    x = rng.integers(-2, 3, shape).astype(dtype)
    x.flat[rng.choice(x.size, x.size // 7, replace=False)] = np.nan
    x.flat[rng.choice(x.size, x.size // 9, replace=False)] = np.inf
    x.flat[rng.choice(x.size, x.size // 9, replace=False)] = -np.inf
    ph = gj.placeholder("x", (None, *shape[1:]), dtype)
    outs = list(fn(ph, **kw, return_indices=True))
    want = gj.compile([ph], outs, backend="numpy")(x)
    got = gj.compile([ph], outs, backend="cpu")(x)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
        dict(kernel_size=(3, 2), stride=2, padding=(1, 1), ceil_mode=True),
        dict(kernel_size=(3, 2), stride=2, padding=(1, 0), ceil_mode=True, count_include_pad=False),
        dict(kernel_size=2, stride=1, divisor_override=3),
    ],
)
def test_avg_pool2d_matches_the_loops(kw: dict) -> None:
    x = rng.standard_normal((2, 2, 6, 5))
    k = (kw["kernel_size"],) * 2 if isinstance(kw["kernel_size"], int) else kw["kernel_size"]
    s = kw.get("stride", k)
    s = (s, s) if isinstance(s, int) else s
    p = kw.get("padding", 0)
    p = (p, p) if isinstance(p, int) else p
    want = ref_avg_pool(
        x, k, s, p, kw.get("ceil_mode", False), kw.get("count_include_pad", True),
        kw.get("divisor_override"),
    )  # fmt: skip
    _assert_all(_both(lambda t: F.avg_pool2d(t, **kw), x), want)


def test_avg_pool1d_ceil_window_counts_padding_only_up_to_its_end() -> None:
    x = np.arange(5.0).reshape(1, 1, 5)
    # last window starts at 3 and would end at 6 = 5 + padding: divisor 3 (3 + 4 + pad) / 3
    out = F.avg_pool1d(gj.tensor(x), 3, 2, padding=1, ceil_mode=True)
    np.testing.assert_allclose(out.numpy(), [[[1 / 3, 2.0, 7 / 3]]])


@pytest.mark.parametrize("sizes", [(3, 4), (1, 1), (5, 2), (7, 6)])
def test_adaptive_pools_match_the_loops(sizes: tuple) -> None:
    x = rng.standard_normal((2, 3, 5, 6))
    _assert_all(
        _both(lambda t: F.adaptive_avg_pool2d(t, sizes), x), ref_adaptive(x, sizes, np.mean)
    )
    _assert_all(_both(lambda t: F.adaptive_max_pool2d(t, sizes), x), ref_adaptive(x, sizes, np.max))


def test_adaptive_1d_and_unbatched_inputs() -> None:
    x = rng.standard_normal((3, 7))  # (C, L): unbatched
    want = ref_adaptive(x[None], (3,), np.mean)[0]
    np.testing.assert_allclose(F.adaptive_avg_pool1d(gj.tensor(x), 3).numpy(), want)
    v, i = F.adaptive_max_pool1d(gj.tensor(x), 4, return_indices=True)
    np.testing.assert_allclose(v.numpy(), np.take_along_axis(x, i.numpy(), axis=1))
    got = F.adaptive_avg_pool2d(gj.tensor(rng.standard_normal((2, 4, 6))), (None, 2))
    assert tuple(got.shape) == (2, 4, 2)


def test_a_compiled_pool_serves_every_spatial_size() -> None:
    ph = gj.placeholder("x", (None, 2, None, None))
    f = gj.compile([ph], [F.max_pool2d(ph, 3, 2, padding=1, ceil_mode=True)], backend="cpu")
    for shape in [(1, 2, 5, 6), (3, 2, 8, 3)]:
        x = rng.standard_normal(shape)
        (got,) = f(x)
        np.testing.assert_allclose(got, ref_max_pool(x, (3, 3), (2, 2), (1, 1), (1, 1), True)[0])
    with pytest.raises(ValueError, match="empty spatial axis"):
        f(np.zeros((1, 2, 0, 3)))
    g = gj.compile([ph], [F.avg_pool2d(ph, 3)], backend="cpu")
    with pytest.raises(ValueError, match="smaller than the window"):
        g(np.zeros((1, 2, 2, 5)))
    h = gj.compile([ph], [F.adaptive_max_pool2d(ph, 2)], backend="cpu")
    with pytest.raises(ValueError, match="empty spatial axis"):
        h(np.zeros((1, 2, 0, 5)))


# --------------------------------------------------------------------------------------------------
# gradients


def _untied(shape: tuple) -> np.ndarray:
    """Values far apart, so finite differences never cross a tie of a max."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
        lambda x: F.max_pool2d(x, 2, 1, dilation=2),
        lambda x: F.max_pool1d(x[:, 0], 2, ceil_mode=True),
        lambda x: F.adaptive_max_pool2d(x, (2, 3)),
        lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda x: F.avg_pool2d(x, 2, divisor_override=3),
        lambda x: F.avg_pool1d(x[:, 1], 3, 2, padding=1),
        lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    ],
)
def test_gradients_match_finite_differences(fn) -> None:
    x = _untied((2, 2, 5, 5))
    assert gj.testing.gradcheck(lambda t: gj.sum(fn(t) ** 2), [x], order=2)


def test_max_pool_gradient_goes_to_the_argmax_eagerly() -> None:
    x = gj.tensor(np.array([[[1.0, 5.0, 2.0, 2.0, 0.0]]]), requires_grad=True)
    F.max_pool1d(x, 2, ceil_mode=True).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[0.0, 1.0, 1.0, 0.0, 1.0]]])  # first tie


def test_gradients_agree_across_eager_interpreter_and_cpu() -> None:
    x = rng.standard_normal((2, 3, 6, 5))

    def loss(t):
        y = F.max_pool2d(t, 2, 1, padding=1) + 1.0
        z = F.avg_pool2d(y, 2, ceil_mode=True, count_include_pad=False)
        return gj.sum(F.adaptive_avg_pool2d(z * z, 2) * F.adaptive_max_pool2d(z, 2))

    t = gj.tensor(x, requires_grad=True)
    loss(t).backward()
    ph = gj.placeholder("x", (None, 3, 6, 5))
    (g,) = gj.grad(loss(ph), [ph])
    for backend in ("numpy", "cpu"):
        (got,) = gj.compile([ph], [g], backend=backend)(x)
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_large_pools_run_their_parallel_loops_and_agree_with_the_interpreter() -> None:
    """Planes x outputs x window above the kernels' parallel threshold: the prange variants of
    max pooling (values and indices), its scatter, and the average and its transpose."""
    from graphjit.kernels.pool import PARALLEL_MIN_WORK

    x = rng.standard_normal((8, 16, 256, 256)).astype(np.float32)
    assert PARALLEL_MIN_WORK <= 128 * 128 * 128  # planes x outputs of the max pool's scatter
    ph = gj.placeholder("x", (None, 16, 256, 256), "float32")
    y = F.max_pool2d(ph, 2)
    z = F.avg_pool2d(ph, 3, stride=2, padding=1)
    outs = [y, z, *gj.grad(gj.sum(y * y) + gj.sum(z * y), [ph])]
    want = gj.compile([ph], outs, backend="numpy")(x)
    got = gj.compile([ph], outs, backend="cpu")(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=2e-6)


# --------------------------------------------------------------------------------------------------
# arguments PyTorch refuses


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.max_pool2d(x, 2, padding=2), "at most half the kernel size"),
        (lambda x: F.avg_pool2d(x, 3, padding=-1), "non-negative"),
        (lambda x: F.max_pool2d(x, 0), "kernel_size must be greater than zero"),
        (lambda x: F.max_pool2d(x, 2, stride=0), "stride must be greater than zero"),
        (lambda x: F.max_pool2d(x, 6), "too small for kernel"),
        (lambda x: F.max_pool1d(x, 2), r"3-d \(batched\) input"),
        (lambda x: F.max_pool2d(x[0, 0], 2), r"4-d \(batched\) input"),
        (lambda x: F.max_pool2d(x, (2, 2, 2)), "kernel_size must be an int or 2 ints"),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=0), "divisor_override"),
        (lambda x: F.adaptive_avg_pool2d(x, (0, 2)), "output_size must be positive"),
    ],
)
def test_bad_arguments_raise_value_error(call, match: str) -> None:
    x = gj.placeholder("x", (None, 2, 5, 5))
    with pytest.raises(ValueError, match=match):
        call(x)


# --------------------------------------------------------------------------------------------------
# PyTorch as the oracle, when it is installed


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((2, 3, 9, 8))
    tx = torch.tensor(x, requires_grad=True)
    cases = [
        ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True)),
        ("avg_pool2d", dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True)),
        ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
        ("adaptive_avg_pool2d", dict(output_size=(4, 3))),
        ("adaptive_max_pool2d", dict(output_size=(4, 5))),
    ]
    for name, kw in cases:
        want = getattr(tf, name)(tx, **kw)
        (want_grad,) = torch.autograd.grad((want**2).sum(), [tx])
        t = gj.tensor(x, requires_grad=True)
        got = getattr(F, name)(t, **kw)
        (got**2).sum().backward()
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(
            t.grad.numpy(), want_grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name
        )
    _, want_i = tf.max_pool2d(tx, 3, 2, 1, ceil_mode=True, return_indices=True)
    _, got_i = F.max_pool2d(gj.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(got_i.numpy(), want_i.numpy())


def test_a_dilated_window_of_only_padding_is_refused() -> None:
    # rows -1 and 1 of a 1-row input: PyTorch returns -inf with an index outside the plane
    kw = dict(kernel_size=(2, 1), stride=(3, 1), padding=(1, 0), dilation=(2, 1))
    with pytest.raises(ValueError, match="reads only padding"):
        F.max_pool2d(gj.placeholder("x", (1, 1, 1, 4)), **kw)
    ph = gj.placeholder("x", (1, 1, None, 4))
    f = gj.compile([ph], [F.max_pool2d(ph, **kw)], backend="cpu")
    with pytest.raises(ValueError, match="reads only padding"):
        f(np.zeros((1, 1, 1, 4)))
    (got,) = f(np.arange(12.0).reshape(1, 1, 3, 4))  # rows -1 and 1: row 1
    np.testing.assert_array_equal(got, [[[[4.0, 5.0, 6.0, 7.0]]]])
