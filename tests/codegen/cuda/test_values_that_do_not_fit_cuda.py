"""Values that do not fit the dtype they are stored into, on cuda tensors and device variables:
the same errors as on the CPU (numpy's cast, or the device's, would wrap them silently), and
nothing written. Tiny shapes: numba's simulator runs them in CI."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_compat import import_numba_cuda

pytestmark = pytest.mark.cuda

BIG = np.array([2**40 + 5, 6])


def _int32(device: str) -> Any:
    return gj.tensor(np.array([1, 2], np.int32), device=device)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize(
    "value",
    [BIG, "int64 tensor", "int64 cuda tensor"],
    ids=["host array", "int64 tensor", "int64 cuda tensor"],
)
def test_ints_that_do_not_fit_are_refused_on_either_device(device: str, value: Any) -> None:
    if isinstance(value, str):
        value = gj.tensor(BIG, device="cuda" if "cuda" in value else "cpu")
    t = _int32(device)
    with pytest.raises(gj.IntegerOutOfRangeError, match="1099511627781 does not fit in int32"):
        t[:] = value
    with pytest.raises(gj.IntegerOutOfRangeError):
        t[np.array([0, 1])] = value
    assert t.tolist() == [1, 2]  # nothing written


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_numbers_that_do_not_fit_and_sequences_into_an_element(device: str) -> None:
    t = gj.tensor(np.zeros(3, np.int8), device=device)
    with pytest.raises(gj.IntegerOutOfRangeError, match="300 does not fit in int8"):
        t[0] = 300
    with pytest.raises(ValueError, match="cannot store nan"):
        t[1] = float("nan")
    f = gj.tensor(np.zeros((2, 3), np.float32), device=device)
    for v in (np.array([[1.5]]), np.array([1.5])):  # numpy refuses these for one element
        with pytest.raises(ValueError, match="setting an array element with a sequence"):
            f[0, 0] = v
    f[0, 0] = np.array(1.5)  # a 0-d array is a number
    f[0, 0:2] = np.ones((1, 2))  # a leading 1 is dropped, as numpy drops it
    assert t.tolist() == [0, 0, 0] and f.tolist()[0] == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_fills_that_do_not_fit_are_refused(device: str) -> None:
    x = gj.zeros(3, dtype="int8", device=device)
    mask = gj.tensor([True, False, True], device=device)
    with pytest.raises(gj.IntegerOutOfRangeError, match="full_like: 1000 does not fit in int8"):
        gj.full_like(x, 1000)
    with pytest.raises(ValueError, match="full_like: cannot fill a int8 array with nan"):
        gj.full_like(x, float("nan"))
    with pytest.raises(gj.IntegerOutOfRangeError, match="masked_fill: 1000"):
        x.masked_fill(mask, 1000)
    with pytest.raises(gj.IntegerOutOfRangeError, match="index_fill: 40000"):
        gj.zeros(3, dtype="int16", device=device).index_fill(
            0, gj.tensor([0], device=device), 40000
        )
    assert gj.full_like(x, -128).tolist() == [-128] * 3
    assert x.masked_fill(mask, 2.9).tolist() == [2, 0, 2]  # truncated, as numpy casts


def test_set_value_from_a_device_array_that_does_not_fit_is_refused() -> None:
    w = gj.variable(np.array([1, 2], np.int32), name="w", device="cuda")
    cuda = import_numba_cuda()
    with pytest.raises(gj.IntegerOutOfRangeError, match=r"variable 'w'.*1099511627781"):
        w.set_value(cuda.to_device(BIG))
    np.testing.assert_array_equal(w.get_value(), [1, 2])
    w.set_value(cuda.to_device(np.array([7, -7])))  # int64 values that fit
    np.testing.assert_array_equal(w.get_value(), [7, -7])
