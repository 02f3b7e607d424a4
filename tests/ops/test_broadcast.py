"""Broadcasting and the ``*_like`` fills: values against numpy, shape rules (static and
symbolic), build-time errors, and the gradient of a graph fill value. Their derivatives of order 1
and 2 are checked with the other shape ops in test_shape.py."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from tests.ops.helpers import run

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize(
    ("src", "shape"), [((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (5, 2, 4)), ((), (2, 2))]
)
def test_broadcast_to_matches_numpy(src, shape):
    a = rand(*src)
    got = run(lambda x: gj.broadcast_to(x, shape), a)
    np.testing.assert_array_equal(got, np.broadcast_to(a, shape))
    assert got.flags.writeable


def test_broadcast_to_symbolic_and_errors():
    x = gj.placeholder("x", (None, 1))
    y = gj.broadcast_to(x, (2, None, 4))
    assert y.shape == (2, None, 4)
    a = rand(3, 1)
    np.testing.assert_array_equal(evaluate([y], {x: a})[0], np.broadcast_to(a, (2, 3, 4)))
    assert gj.broadcast_to(x, (None, 1)) is x
    with pytest.raises(
        ValueError,
        match=r"broadcast_to: cannot broadcast shape \(2, 3\) to "
        r"\(4, 3\)",
    ):
        gj.broadcast_to(gj.placeholder("p", (2, 3)), (4, 3))
    with pytest.raises(ValueError, match="fewer dims"):
        gj.broadcast_to(gj.placeholder("q", (2, 3)), (3,))
    with pytest.raises(ValueError, match="new leading axis 0"):
        gj.broadcast_to(x, (None, None, 1))


def test_broadcast_like():
    x, ref = gj.placeholder("x", (1, 3)), gj.placeholder("r", (None, 2, 3))
    y = gj.broadcast_like(x, ref)
    assert y.shape == (None, 2, 3) and y.dtype == "float64"
    a = rand(1, 3)
    (got,) = evaluate([y], {x: a, ref: np.zeros((4, 2, 3))})
    np.testing.assert_array_equal(got, np.broadcast_to(a, (4, 2, 3)))
    assert gj.broadcast_like(ref, ref) is ref
    with pytest.raises(ValueError, match=r"broadcast_like: cannot broadcast shape \(2,\)"):
        gj.broadcast_like(gj.placeholder("p", (2,)), ref)


def test_full_like_family():
    x = gj.placeholder("x", (None, 3), "float32")
    z, o, f, i = (
        gj.zeros_like(x),
        gj.ones_like(x),
        gj.full_like(x, 2.5),
        gj.full_like(x, 7, "int32"),
    )
    assert (z.dtype, o.dtype, f.dtype, i.dtype) == ("float32", "float32", "float32", "int32")
    assert z.shape == (None, 3)
    a = rand(2, 3, dtype="float32")
    zv, ov, fv, iv = evaluate([z, o, f, i], {x: a})
    np.testing.assert_array_equal(zv, np.zeros_like(a))
    np.testing.assert_array_equal(ov, np.ones_like(a))
    np.testing.assert_array_equal(fv, np.full_like(a, 2.5))
    np.testing.assert_array_equal(iv, np.full((2, 3), 7, np.int32))
    assert iv.dtype == np.int32
    assert gj.zeros_like(x, "bool").dtype == "bool"
    with pytest.raises(TypeError, match="full_like: the fill value must be a real scalar"):
        gj.full_like(x, [1.0, 2.0])
    c = gj.placeholder("c", ())
    filled = gj.full_like(x, c)  # a graph fill value is broadcast and gets the gradient
    (gc,) = gj.grad(gj.sum(filled), [c])
    np.testing.assert_allclose(evaluate([gc], {x: a, c: np.float64(2.0)})[0], 6.0)
