"""Everyday numpy and PyTorch calls that graphjit refused before (each raised a TypeError or
ValueError where numpy or PyTorch answer), against the oracle: eager tensors and, where it
applies, a compiled graph."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

torch = pytest.importorskip("torch")

X = np.array([[1.25, 2.675, -0.5], [155.0, 1.5, -7.5]])


def test_flip_takes_pytorchs_dims_keyword() -> None:
    t = gj.tensor(X)
    np.testing.assert_array_equal(t.flip(dims=(1,)).numpy(), np.flip(X, 1))
    np.testing.assert_array_equal(t.flip(dims=[0, 1]).numpy(), np.flip(X))
    with pytest.raises(TypeError, match="give the dims once"):
        t.flip(0, dims=(1,))


@pytest.mark.parametrize("decimals", [0, 1, 2, -1, -2])
def test_round_to_decimals_as_numpy_and_torch(decimals: int) -> None:
    a = np.append(X.ravel(), [np.nan, np.inf, -0.0])
    want = np.round(a, decimals)
    np.testing.assert_array_equal(gj.round(gj.tensor(a), decimals).numpy(), want)
    np.testing.assert_array_equal(gj.around(gj.tensor(a), decimals=decimals).numpy(), want)
    got = gj.tensor(a).round(decimals=decimals).numpy()
    np.testing.assert_array_equal(got, torch.tensor(a).round(decimals=decimals).numpy())
    x = gj.placeholder("x", a.shape)
    compiled = gj.compile([x], [gj.round(x, decimals)])(a)[0]  # within an ulp: the kernels'
    np.testing.assert_allclose(compiled, want, rtol=3e-16, atol=0)  # fast math divides by 1/10**d
    ints = np.array([155, -155, 14, -5], dtype=np.int32)
    got_ints = gj.round(gj.tensor(ints), decimals).numpy()
    assert got_ints.dtype == np.int32
    np.testing.assert_array_equal(got_ints, np.round(ints, decimals))


def test_round_refuses_decimals_that_are_not_ints() -> None:
    with pytest.raises(TypeError, match="decimals must be an int"):
        gj.round(gj.tensor(X), 1.5)


@pytest.mark.parametrize("mode", [None, "floor", "trunc"])
def test_div_rounding_modes_as_torch(mode: str | None) -> None:
    a = np.array([7, -7, 7, -7, 6, 0])
    b = np.array([2, 2, -2, -2, 3, -4])
    for x, y in ((a, b), (a * 1.5, b)):
        got = gj.div(gj.tensor(x), gj.tensor(y), rounding_mode=mode)
        want = torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=mode)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == str(want.dtype).removeprefix("torch.") or mode is None
        method = gj.tensor(x).div(gj.tensor(y), rounding_mode=mode)
        np.testing.assert_array_equal(method.numpy(), want.numpy())
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        gj.div(gj.tensor(a), gj.tensor(b), rounding_mode="round")


def test_softmax_of_a_0d_tensor_is_one_as_in_torch() -> None:
    t = gj.tensor(3.0, requires_grad=True)
    assert gj.softmax(t, 0).item() == 1.0 and t.log_softmax(-1).item() == 0.0
    gj.softmax(t, 0).backward()
    assert t.grad.item() == 0.0
    with pytest.raises(ValueError, match="axis 1 is out of range for a 0-d array"):
        gj.softmax(t, 1)


def test_concatenate_with_axis_none_joins_flattened_arrays() -> None:
    got = gj.concatenate([gj.tensor(X), gj.tensor(X[0])], axis=None)
    np.testing.assert_array_equal(got.numpy(), np.concatenate([X, X[0]], axis=None))
    assert gj.concatenate([gj.tensor(X), gj.tensor(X)], dim=1).shape == (2, 6)


def test_repeat_interleave_with_an_eager_tensor_of_counts() -> None:
    t = gj.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    counts = gj.tensor(np.array([2, 0, 1]))
    out = gj.repeat_interleave(t, counts)
    want = torch.repeat_interleave(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2, 0, 1]))
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    out.sum().backward()
    assert t.grad.tolist() == [2.0, 0.0, 1.0]


@pytest.mark.parametrize("index", [[[0], [1]], [[0, 0], [1, 2]]])
def test_scatter_with_reduce_multiply_as_torch(index: list) -> None:
    idx = np.array(index)
    x = np.arange(1.0, 7.0).reshape(2, 3)
    got = gj.scatter(gj.tensor(x), 1, gj.tensor(idx), gj.tensor(x), reduce="multiply")
    want = torch.scatter(torch.tensor(x), 1, torch.tensor(idx), torch.tensor(x), reduce="multiply")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = gj.scatter(gj.tensor(x), 1, gj.tensor(idx), value=2.0, reduce="multiply")
    want = torch.scatter(torch.tensor(x), 1, torch.tensor(idx), value=2.0, reduce="multiply")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
