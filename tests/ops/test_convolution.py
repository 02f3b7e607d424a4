"""The convolution ops (conv, conv_input_grad, conv_weight_grad) through gj.nn.functional: values
against naive loops, derivatives against finite differences (float64, both modes, order 2), eager
against graph against the cpu backend, PyTorch when installed, and the errors."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.ops.convolution import CONV, CONV_INPUT_GRAD, CONV_WEIGHT_GRAD

F = gj.nn.functional
rng = np.random.default_rng(7)


def naive_conv(x, w, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    """Cross-correlation by loops over every output element (pad: (before, after) pairs)."""
    n, c = x.shape[:2]
    co, ks = w.shape[0], w.shape[2:]
    nd = len(ks)
    xp = np.pad(x, [(0, 0), (0, 0), *pad])
    out_sp = [
        (x.shape[2 + i] + pad[i][0] + pad[i][1] - dil[i] * (ks[i] - 1) - 1) // stride[i] + 1
        for i in range(nd)
    ]
    out = np.zeros((n, co, *out_sp))
    cg, og = c // groups, co // groups
    for b, o in itertools.product(range(n), range(co)):
        g = o // og
        for pos in itertools.product(*map(range, out_sp)):
            acc = 0.0
            for ci in range(cg):
                for k in itertools.product(*map(range, ks)):
                    idx = tuple(pos[i] * stride[i] + k[i] * dil[i] for i in range(nd))
                    acc += xp[(b, g * cg + ci, *idx)] * w[(o, ci, *k)]
            out[(b, o, *pos)] = acc
    return out


def naive_conv_transpose(x, w, stride, pad, out_pad, dil, groups):  # type: ignore[no-untyped-def]
    """Transposed convolution by scattering every input element (weight (C_in, C_out/g, *k))."""
    n, c = x.shape[:2]
    og, ks = w.shape[1], w.shape[2:]
    nd = len(ks)
    full = [
        (x.shape[2 + i] - 1) * stride[i] + dil[i] * (ks[i] - 1) + 1 + out_pad[i] for i in range(nd)
    ]
    out = np.zeros((n, og * groups, *full))
    cg = c // groups
    for b, ci in itertools.product(range(n), range(c)):
        g = ci // cg
        for pos in itertools.product(*map(range, x.shape[2:])):
            for o in range(og):
                for k in itertools.product(*map(range, ks)):
                    idx = tuple(pos[i] * stride[i] + k[i] * dil[i] for i in range(nd))
                    out[(b, g * og + o, *idx)] += x[(b, ci, *pos)] * w[(ci, o, *k)]
    crop = tuple(slice(pad[i], full[i] - pad[i]) for i in range(nd))
    return out[(slice(None), slice(None), *crop)]


# (nd, x shape, weight shape, stride, padding, dilation, groups)
CONVS = [
    (1, (2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    (1, (2, 4, 10), (6, 2, 3), 2, 2, 2, 2),
    (2, (2, 3, 6, 5), (4, 3, 3, 3), 1, 1, 1, 1),
    (2, (1, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    (2, (2, 2, 5, 5), (4, 1, 3, 3), 1, "same", 2, 2),
    (2, (2, 2, 5, 4), (3, 2, 2, 3), 1, "same", 1, 1),
    (2, (2, 2, 5, 4), (3, 2, 2, 3), 1, "valid", 1, 1),
    (3, (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), (1, 2, 1), (1, 0, 1), 1, 1),
]
IDS = [f"{c[0]}d-{i}" for i, c in enumerate(CONVS)]


def _expand(v: Any, nd: int) -> tuple:
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _pads(padding: Any, ks: tuple, dil: tuple) -> list[tuple[int, int]]:
    if padding == "valid":
        return [(0, 0)] * len(ks)
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(ks, dil)]
    return [(p, p) for p in _expand(padding, len(ks))]


def _fn(nd: int) -> Any:
    return (F.conv1d, F.conv2d, F.conv3d)[nd - 1]


def _want(case: tuple, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    nd, _, _, stride, padding, dilation, groups = case
    dil = _expand(dilation, nd)
    pads = _pads(padding, w.shape[2:], dil)
    y = naive_conv(x, w, _expand(stride, nd), pads, dil, groups)
    return y + b.reshape((-1,) + (1,) * nd)


@pytest.mark.parametrize("case", CONVS, ids=IDS)
def test_conv_matches_loops_eagerly_and_as_graph(case: tuple) -> None:
    nd, xs, ws, stride, padding, dilation, groups = case
    x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
    want = _want(case, x, w, b)

    def fn(x, w, b):  # type: ignore[no-untyped-def]
        return _fn(nd)(x, w, b, stride, padding, dilation, groups)

    eager = fn(gj.tensor(x), gj.tensor(w), gj.tensor(b)).numpy()
    np.testing.assert_allclose(eager, want, rtol=1e-12, atol=1e-12)
    phs = [gj.placeholder(f"a{i}", a.shape) for i, a in enumerate((x, w, b))]
    (graph,) = gj.compile(phs, [fn(*phs)], backend="numpy")(x, w, b)
    np.testing.assert_allclose(graph, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONVS, ids=IDS)
def test_conv_derivatives_match_finite_differences(case: tuple) -> None:
    nd, xs, ws, stride, padding, dilation, groups = case
    x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
    out_shape = _want(case, x, w, b).shape
    weights = np.cos(np.arange(np.prod(out_shape))).reshape(out_shape)

    def loss(x, w, b):  # type: ignore[no-untyped-def]
        y = _fn(nd)(x, w, b, stride, padding, dilation, groups)
        return gj.sum(y * y * weights)

    assert gj.testing.gradcheck(loss, [x, w, b], order=2)


# (nd, x shape, weight shape, stride, padding, output_padding, dilation, groups)
TRANSPOSED = [
    (1, (2, 3, 5), (3, 2, 3), 2, 1, 1, 1, 1),
    (2, (2, 4, 3, 4), (4, 1, 3, 2), (2, 1), (1, 0), (1, 0), (1, 2), 2),
    (2, (1, 2, 3, 3), (2, 3, 2, 2), 1, 0, 0, 1, 1),
    (3, (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), 2, 0, (1, 0, 1), 1, 1),
]
TIDS = [f"{c[0]}d-{i}" for i, c in enumerate(TRANSPOSED)]


def _tfn(nd: int) -> Any:
    return (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]


@pytest.mark.parametrize("case", TRANSPOSED, ids=TIDS)
def test_conv_transpose_matches_loops_and_finite_differences(case: tuple) -> None:
    nd, xs, ws, stride, padding, out_pad, dilation, groups = case
    x, w = rng.normal(size=xs), rng.normal(size=ws)
    b = rng.normal(size=ws[1] * groups)
    e = lambda v: _expand(v, nd)  # noqa: E731
    want = naive_conv_transpose(x, w, e(stride), e(padding), e(out_pad), e(dilation), groups)
    want = want + b.reshape((-1,) + (1,) * nd)

    def fn(x, w, b):  # type: ignore[no-untyped-def]
        return _tfn(nd)(x, w, b, stride, padding, out_pad, groups, dilation)

    np.testing.assert_allclose(fn(gj.tensor(x), gj.tensor(w), gj.tensor(b)).numpy(), want)
    weights = np.sin(np.arange(want.size)).reshape(want.shape)
    assert gj.testing.gradcheck(lambda x, w, b: gj.sum(fn(x, w, b) ** 2 * weights), [x, w, b])


def test_eager_gradients_match_the_graph() -> None:
    x, w, b = rng.normal(size=(2, 4, 6, 5)), rng.normal(size=(6, 2, 3, 3)), rng.normal(size=6)
    c = rng.normal(size=(2, 6, 3, 3))
    tx, tw, tb = (gj.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.conv2d(tx, tw, tb, stride=2, padding=1, groups=2).tanh() * gj.tensor(c)).sum().backward()
    phs = [gj.placeholder(f"a{i}", a.shape) for i, a in enumerate((x, w, b))]
    loss = gj.sum(gj.tanh(F.conv2d(*phs, stride=2, padding=1, groups=2)) * c)
    got = gj.compile(phs, gj.grad(loss, phs), backend="numpy")(x, w, b)
    for t, g in zip((tx, tw, tb), got):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-12, atol=1e-12)


CPU_CASES = [
    (1, (3, 4, 11), (6, 2, 3), 2, 1, 2, 2),
    (2, (3, 3, 8, 7), (5, 3, 3, 2), (2, 1), "valid", 1, 1),
    (2, (2, 2, 6, 6), (4, 2, 3, 3), 1, "same", 2, 1),
    (3, (2, 2, 4, 5, 3), (3, 2, 2, 3, 2), (1, 2, 1), (1, 0, 1), 1, 1),
]
# larger cases, in float64 only (their float32 weight gradients sum thousands of terms, beyond
# the float32 tolerance below): the kernels' chunking and their parallel loops
LARGE_CPU_CASES = [
    # a column matrix per sample over the kernels' chunk limit: one sample per chunk, so the
    # batch is taken in several chunks in each of the two groups
    (2, (5, 4, 40, 40), (6, 2, 5, 5), (2, 1), (2, 1), (1, 2), 2),
    # one sample's column matrix large enough to be filled (and added back) in parallel
    (2, (1, 8, 130, 130), (2, 8, 3, 3), 1, 1, 1, 1),
]


@pytest.mark.parametrize(
    ("case", "dtype"),
    [(c, d) for c in CPU_CASES for d in ("float64", "float32")]
    + [(c, "float64") for c in LARGE_CPU_CASES],
    ids=[f"{c[0]}d-{i}-{d}" for i, c in enumerate(CPU_CASES) for d in ("float64", "float32")]
    + [f"{c[0]}d-large-{i}" for i, c in enumerate(LARGE_CPU_CASES)],
)
def test_cpu_backend_matches_the_interpreter(case: tuple, dtype: str) -> None:
    nd, xs, ws, stride, padding, dilation, groups = case
    x = rng.normal(size=xs).astype(dtype)
    w = rng.normal(size=ws).astype(dtype)
    b = rng.normal(size=ws[0]).astype(dtype)
    px = gj.placeholder("x", (None, *xs[1:]), dtype)
    pw, pb = gj.placeholder("w", ws, dtype), gj.placeholder("b", (ws[0],), dtype)
    y = _fn(nd)(px, pw, pb, stride, padding, dilation, groups)
    c = np.cos(np.arange(np.prod(y.shape[1:]))).reshape(y.shape[1:]).astype(dtype)
    outs = [y, *gj.grad(gj.sum(gj.tanh(y) * c), [px, pw, pb])]
    want = gj.compile([px, pw, pb], outs, backend="numpy")(x, w, b)
    got = gj.compile([px, pw, pb], outs, backend="cpu")(x, w, b)
    tol = 1e-12 if dtype == "float64" else 2e-5
    for g, v in zip(got, want):
        assert g.dtype == v.dtype and g.shape == v.shape
        np.testing.assert_allclose(g, v, rtol=tol, atol=tol)


def test_cpu_backend_takes_any_batch_size_and_non_contiguous_inputs() -> None:
    px = gj.placeholder("x", (None, 2, 7, 6))
    w = rng.normal(size=(3, 2, 3, 3))
    f = gj.compile([px], [F.conv2d(px, w, stride=2, padding=1)], backend="cpu")
    for n in (1, 5, 0):
        x = rng.normal(size=(n, 6, 7, 2)).transpose(0, 3, 2, 1)[:, :, :, ::-1]
        (got,) = f(x)
        np.testing.assert_allclose(got, naive_conv(x, w, (2, 2), [(1, 1)] * 2, (1, 1), 1))


def test_the_ops_are_their_own_transposes() -> None:
    # <conv(x, w), g> == <x, conv_input_grad(g, w)> == <w, conv_weight_grad(x, g)>
    attrs = dict(stride=(2, 3), padding=((1, 0), (2, 1)), dilation=(2, 1), groups=3)
    x, w = rng.normal(size=(2, 6, 9, 10)), rng.normal(size=(9, 2, 2, 3))
    y = CONV.impl(x, w, **attrs)
    g = rng.normal(size=y.shape)
    extra = ((9 + 1 - 2 - 1) % 2, (10 + 3 - 2 - 1) % 3)
    dx = CONV_INPUT_GRAD.impl(g, w, output_padding=extra, **attrs)
    dw = CONV_WEIGHT_GRAD.impl(x, g, kernel_size=(2, 3), **attrs)
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, dx))
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(w, dw))


def test_the_gradients_are_the_transposed_kernels() -> None:
    x = gj.placeholder("x", (None, 3, 8, 8))
    w = gj.placeholder("w", (4, 3, 3, 3))
    loss = gj.sum(F.conv2d(x, w, stride=2, padding=1))
    names = [n.op.name for n in gj.ir.toposort(gj.grad(loss, [x, w]))]
    assert names.count("conv_input_grad") == 1 and names.count("conv_weight_grad") == 1


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, w, b = rng.normal(size=(2, 4, 9, 8)), rng.normal(size=(6, 2, 3, 2)), rng.normal(size=6)
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)
    want = tf.conv2d(*(torch.tensor(a) for a in (x, w, b)), **kw).numpy()
    np.testing.assert_allclose(
        F.conv2d(gj.tensor(x), gj.tensor(w), gj.tensor(b), **kw).numpy(), want
    )
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tf.conv2d(tx, tw, padding="same", groups=2).square().sum().backward()
    gx, gw = gj.tensor(x, requires_grad=True), gj.tensor(w, requires_grad=True)
    (F.conv2d(gx, gw, padding="same", groups=2) ** 2).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    s, v = rng.normal(size=(2, 4, 3, 5)), rng.normal(size=(4, 3, 3, 2))
    kt = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))
    want = tf.conv_transpose2d(torch.tensor(s), torch.tensor(v), **kt).numpy()
    np.testing.assert_allclose(F.conv_transpose2d(gj.tensor(s), gj.tensor(v), **kt).numpy(), want)


def test_unbatched_input_is_a_batch_of_one() -> None:
    x, w = rng.normal(size=(3, 7)), rng.normal(size=(2, 3, 3))
    got = F.conv1d(gj.tensor(x), gj.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(got, naive_conv(x[None], w, (1,), [(1, 1)], (1,), 1)[0])


def test_errors_name_the_problem() -> None:
    x = gj.placeholder("x", (2, 4, 8, 8))
    with pytest.raises(ValueError, match="4 channels but the weight"):
        F.conv2d(x, gj.placeholder("w", (3, 3, 3, 3)))
    with pytest.raises(ValueError, match="do not split in 2 groups"):
        F.conv2d(x, gj.placeholder("w", (3, 2, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="'same' needs stride 1"):
        F.conv2d(x, gj.placeholder("w", (3, 4, 3, 3)), stride=2, padding="same")
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        F.conv2d(x, gj.placeholder("w", (3, 4, 5, 5)), dilation=3)
    with pytest.raises(ValueError, match="expected a 3-d"):
        F.conv2d(gj.placeholder("v", (8,)), gj.placeholder("w", (3, 4, 3, 3)))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(x, gj.placeholder("w", (4, 2, 3, 3)), stride=2, output_padding=2)
    free = gj.placeholder("f", (None, 4, None, None))
    loss = gj.sum(F.conv2d(free, gj.placeholder("w", (3, 4, 3, 3)), stride=2))
    with pytest.raises(NotImplementedError, match="static spatial dims"):
        gj.grad(loss, [free])
