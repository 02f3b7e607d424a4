"""diagonal, trace and diag (the diagonal op and its transpose diagonal_grad), and einsum's
repeated indices, ellipsis broadcasting and interleaved form: values against numpy, None dims on
the CPU backend, errors and derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck
from tests.ops.helpers import check_symbolic_derivatives, run

RNG = np.random.default_rng(5)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


@pytest.mark.parametrize(
    ("shape", "offset", "axis1", "axis2"),
    [((3, 4), 0, 0, 1), ((3, 4), 2, 0, 1), ((3, 4), -2, 0, 1), ((3, 4), 5, 0, 1),
     ((2, 3, 4), 1, 2, 0), ((2, 3, 4), -1, -1, 1), ((4, 4), 0, 1, 0)],
)  # fmt: skip
def test_diagonal_and_trace_match_numpy(shape, offset, axis1, axis2):
    x = rand(*shape)
    want = np.diagonal(x, offset, axis1, axis2)
    np.testing.assert_array_equal(run(lambda p: gj.diagonal(p, offset, axis1, axis2), x), want)
    np.testing.assert_array_equal(gj.tensor(x).diagonal(offset, axis1, axis2).numpy(), want)
    np.testing.assert_allclose(
        run(lambda p: gj.trace(p, offset, axis1, axis2), x), np.trace(x, offset, axis1, axis2)
    )


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_both_ways(k):
    v, m = rand(3), rand(3, 4)
    np.testing.assert_array_equal(run(lambda p: gj.diag(p, k), v), np.diag(v, k))
    np.testing.assert_array_equal(run(lambda p: gj.diag(p, k), m), np.diag(m, k))
    gradcheck(lambda p: gj.diag(p, k) ** 2, [v])
    gradcheck(lambda p: gj.diag(p, k) ** 2, [m])


def test_trace_dtypes():
    i = np.arange(9).reshape(3, 3)
    assert gj.trace(gj.tensor(i)).dtype == "int64"
    assert gj.trace(gj.tensor(i > 3)).item() == np.trace(i > 3)
    assert gj.trace(gj.tensor(i), dtype="float64").dtype == "float64"


def test_diagonal_derivatives_on_none_dims():
    check_symbolic_derivatives(lambda p: gj.diagonal(p, 1), rand(3, 4), (None, 4))
    check_symbolic_derivatives(lambda p: gj.diagonal(p, -1, 2, 0), rand(3, 2, 4), (None, 2, None))


def test_diagonal_length_from_none_dims_on_the_cpu_backend():
    x = gj.placeholder("x", (None, None))
    y = gj.diagonal(x, 1) * 2
    (g,) = gj.grad(gj.sum(y * y), [x])
    f = gj.compile([x], [y, g], backend="cpu")
    for shape in [(3, 5), (5, 3), (1, 1)]:
        a = rand(*shape)
        want_y, want_g = evaluate([y, g], {x: a})
        got_y, got_g = f(a)
        np.testing.assert_allclose(want_y, np.diagonal(a, 1) * 2)
        np.testing.assert_allclose(got_y, want_y)
        np.testing.assert_allclose(got_g, want_g)


def test_diagonal_errors():
    with pytest.raises(ValueError, match="at least 2 dims"):
        gj.diagonal(gj.tensor(rand(3)))
    with pytest.raises(ValueError, match="cannot be the same axis"):
        gj.diagonal(gj.tensor(rand(3, 3)), 0, 1, -1)
    with pytest.raises(ValueError, match="out of range"):
        gj.diagonal(gj.tensor(rand(3, 3)), 0, 0, 2)
    with pytest.raises(ValueError, match="needs its length fixed"):
        gj.diag(gj.placeholder("v", (None,)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        gj.diag(gj.tensor(rand(2, 2, 2)))


# --------------------------------------------------------------------------------------------------
# einsum


@pytest.mark.parametrize(
    ("subscripts", "shapes"),
    [
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("iij->j", [(2, 2, 4)]),
        ("ijij->ij", [(2, 3, 2, 3)]),
        ("iji->j", [(3, 2, 3)]),
        ("...ii->...i", [(2, 5, 3, 3)]),
        ("ii,jj->ij", [(2, 2), (3, 3)]),
        ("ij,jj->i", [(2, 3), (3, 3)]),
        ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
        ("...i,i...->...", [(2, 3), (3, 2)]),
        ("ij...,jk...->ik...", [(2, 3, 1), (3, 2, 4)]),
        ("i...,...->i...", [(3, 1, 2), (4, 1)]),
    ],
)
def test_einsum_repeated_indices_and_ellipsis_match_numpy(subscripts, shapes):
    xs = [rand(*s) for s in shapes]
    want = np.einsum(subscripts, *xs)
    np.testing.assert_allclose(run(lambda *ps: gj.einsum(subscripts, *ps), *xs), want, rtol=1e-12)
    got = gj.einsum(subscripts, *(gj.tensor(x) for x in xs))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    gradcheck(lambda *ps: gj.einsum(subscripts, *ps) ** 2, xs)


def test_einsum_interleaved_form():
    a, b = rand(2, 3), rand(3, 4)
    np.testing.assert_allclose(
        gj.einsum(gj.tensor(a), [0, 1], gj.tensor(b), [1, 2], [0, 2]).numpy(),
        np.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    )
    np.testing.assert_allclose(
        run(lambda p: gj.einsum(p, [0, 0]), rand(3, 3)[:3, :3] * 0 + a[:, :2].sum()),
        np.trace(np.full((3, 3), a[:, :2].sum())),
    )
    c = rand(2, 3, 3)
    np.testing.assert_allclose(
        gj.einsum(gj.tensor(c), [Ellipsis, 1, 1], [Ellipsis, 1]).numpy(),
        np.einsum(c, [Ellipsis, 1, 1], [Ellipsis, 1]),
    )
    np.testing.assert_allclose(gj.einsum(gj.tensor(a), [0, 1]).numpy(), np.einsum(a, [0, 1]))
    with pytest.raises(ValueError, match="sublist items"):
        gj.einsum(gj.tensor(a), [0, "x"])


def test_einsum_repeated_index_errors():
    with pytest.raises(ValueError, match="dims of different sizes"):
        gj.einsum("ii->i", gj.tensor(rand(2, 3)))
    with pytest.raises(ValueError, match="appears twice"):
        gj.einsum("ij->ii", gj.tensor(rand(2, 2)))
    x = gj.placeholder("x", (None, None))
    assert gj.einsum("ii->i", x).shape == (None,)
    (v,) = evaluate([gj.einsum("ii", x)], {x: np.eye(3) * 2})
    assert v == 6.0
