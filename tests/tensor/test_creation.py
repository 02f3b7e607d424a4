"""zeros, ones, full, arange, linspace, eye: values and dtypes against numpy, numpy and PyTorch
spellings, and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate


def value(x) -> np.ndarray:
    """The created array: a graph constant is evaluated, an eager tensor read out."""
    if not isinstance(x, gj.Node):
        return np.asarray(x.numpy())
    (v,) = evaluate([x])
    assert tuple(x.shape) == v.shape and x.dtype == v.dtype.name
    return v


def check(got, want: np.ndarray) -> None:
    v = value(got)
    assert v.dtype == want.dtype, (v.dtype, want.dtype)
    np.testing.assert_array_equal(v, want)


def test_zeros_and_ones_spellings():
    check(gj.zeros((2, 3)), np.zeros((2, 3)))
    check(gj.zeros(2, 3), np.zeros((2, 3)))  # PyTorch varargs
    check(gj.zeros([4]), np.zeros(4))
    check(gj.zeros(4, dtype="int32"), np.zeros(4, np.int32))
    check(gj.zeros((2, 2), "float32"), np.zeros((2, 2), np.float32))  # numpy positional dtype
    check(gj.zeros(3, np.float32), np.zeros(3, np.float32))
    check(gj.zeros(()), np.zeros(()))
    check(gj.zeros((0, 3)), np.zeros((0, 3)))
    check(gj.ones(2, 2), np.ones((2, 2)))
    check(gj.ones((3,), dtype=bool), np.ones(3, bool))
    check(gj.ones(np.int64(2), dtype=np.int64), np.ones(2, np.int64))


def test_full():
    check(gj.full((2, 3), 7), np.full((2, 3), 7))
    check(gj.full(3, 1.5), np.full(3, 1.5))
    check(gj.full((2,), True), np.full(2, True))
    check(gj.full((2, 2), 3, dtype="float32"), np.full((2, 2), 3, np.float32))
    check(gj.full((2, 3), np.array([1.0, 2.0, 3.0])), np.full((2, 3), [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="full: fill_value does not broadcast"):
        gj.full((2, 3), np.zeros(2))
    with pytest.raises(TypeError, match="full: fill_value must be a python number"):
        gj.full((2,), gj.placeholder("v", ()))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((5,), {}),
        ((2, 7), {}),
        ((1, 10, 3), {}),
        ((5, 0, -2), {}),
        ((0.0, 1.0, 0.25), {}),
        ((3,), {"dtype": "float32"}),
        ((1, 2, 0.5), {}),
        ((4, 2), {}),
        ((-3,), {}),
    ],
)
def test_arange_matches_numpy(args, kwargs):
    check(gj.arange(*args, **kwargs), np.arange(*args, **kwargs))


def test_arange_pytorch_end():
    check(gj.arange(1, end=4), np.arange(1, 4))


def test_arange_past_any_array_size_names_arange():
    with pytest.raises(ValueError, match=r"arange: \[0, 1e\+20\) by 1 holds too many values"):
        gj.arange(0, 1e20)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0, 1), {}),
        ((0, 1, 5), {}),
        ((-2.0, 3.0, 4), {"endpoint": False}),
        ((0, 1, 0), {}),
        ((0, 10, 5), {"dtype": "int64"}),
        ((1, 0, 3), {"dtype": "float32"}),
        ((2, 2, 1), {}),
    ],
)
def test_linspace_matches_numpy(args, kwargs):
    check(gj.linspace(*args, **kwargs), np.linspace(*args, **kwargs))


def test_linspace_pytorch_spelling():
    check(gj.linspace(0, end=1, steps=3), np.linspace(0, 1, 3))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((3,), {}),
        ((2, 4), {}),
        ((4, 3, 1), {}),
        ((3, 3, -2), {}),
        ((3,), {"dtype": "int32"}),
        ((0,), {}),
    ],
)
def test_eye_matches_numpy(args, kwargs):
    check(gj.eye(*args, **kwargs), np.eye(*args, **kwargs))


def test_creation_errors():
    with pytest.raises(ValueError, match="zeros: dimension 1 must be >= 0, got -1"):
        gj.zeros(2, -1)
    with pytest.raises(TypeError, match=r"ones: dimension 0 must be an int, got float 2\.5"):
        gj.ones(2.5)
    with pytest.raises(TypeError, match="zeros: dimension 0 must be an int"):
        gj.zeros((None, 3))
    with pytest.raises(TypeError, match="zeros: dimension 0 must be an int"):
        gj.zeros(True)
    with pytest.raises(TypeError, match="zeros: missing the shape"):
        gj.zeros()
    with pytest.raises(TypeError, match="unsupported dtype"):
        gj.zeros(2, dtype="complex128")
    with pytest.raises(ValueError, match="arange: step must not be zero"):
        gj.arange(0, 5, 0)
    with pytest.raises(ValueError, match="arange: stop must be finite"):
        gj.arange(0, float("inf"))
    with pytest.raises(TypeError, match="arange: start must be a python number"):
        gj.arange(gj.placeholder("n", (), "int64"))
    with pytest.raises(TypeError, match="arange: start must be an int or float"):
        gj.arange("3")
    with pytest.raises(ValueError, match="linspace: num must be >= 0"):
        gj.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="linspace: num must be an int"):
        gj.linspace(0, 1, 2.0)
    with pytest.raises(ValueError, match="eye: n must be >= 0"):
        gj.eye(-1)
    with pytest.raises(TypeError, match="eye: k must be an int"):
        gj.eye(2, k=0.5)


def test_requires_grad():
    t = gj.ones(2, 3, requires_grad=True)
    assert isinstance(t, gj.Tensor) and t.requires_grad
