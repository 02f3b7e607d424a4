"""Arrays in and out: DLPack both ways, ``np.asarray`` of tensors, and compiled functions taking
any array-like numpy takes (with the same argument checks)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj


class DLPackOnly:
    """An array from another library that speaks only DLPack (no __array__)."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_numpy_from_dlpack_shares_the_tensor_memory() -> None:
    t = gj.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(t)
    a[0] = 10.0
    assert t.tolist() == [10.0, 2.0, 3.0]
    assert t.__dlpack_device__() == (1, 0)  # kDLCPU


def test_from_dlpack_shares_memory_with_the_source() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gj.from_dlpack(a)
    assert t.dtype == "float32" and t.shape == (2, 3)
    t.add_(1)
    assert a[0, 0] == 1.0
    u = gj.from_dlpack(DLPackOnly(a))
    u.mul_(2)
    assert a[0, 0] == 2.0
    assert gj.from_dlpack(t) is t


def test_from_dlpack_errors_are_clear() -> None:
    with pytest.raises(TypeError, match="does not support DLPack"):
        gj.from_dlpack([1, 2, 3])
    with pytest.raises(TypeError, match="graphjit tensors hold"):
        gj.from_dlpack(np.zeros(3, np.uint16))  # uint8 is a graphjit dtype; uint16 is not


def test_asarray_shares_and_copy_false_is_honoured() -> None:
    t = gj.tensor([1.0, 2.0])
    a = np.asarray(t)
    a[1] = 5.0
    assert t.tolist() == [1.0, 5.0]
    assert np.shares_memory(np.array(t, copy=False), a)
    assert not np.shares_memory(np.array(t, copy=True), a)
    f32 = np.asarray(t, dtype=np.float32)
    assert f32.dtype == np.float32 and f32.tolist() == [1.0, 5.0]
    with pytest.raises(ValueError, match="without a copy"):
        np.array(t, dtype=np.float32, copy=False)


def test_compiled_functions_take_array_likes() -> None:
    x = gj.placeholder("x", (None,), "float64")
    n = gj.placeholder("n", (), "int64")
    f = gj.compile([x, n], [gj.sum(x) * n])
    want = 6.0 * 2
    assert f([1.0, 2.0, 3.0], 2)[0] == want
    assert f(np.array([1.0, 2.0, 3.0]), np.int64(2))[0] == want
    assert f(gj.tensor([1.0, 2.0, 3.0]), np.array(2))[0] == want
    assert f(DLPackOnly(np.array([1.0, 2.0, 3.0])), 2)[0] == want
    assert f(np.array([1.0, 2.0, 3.0], np.float32), 2)[0] == want  # safe cast
    with pytest.raises(TypeError, match="input 'n'"):
        f([1.0], 2.5)
    with pytest.raises(TypeError, match="input 'n'"):
        f([1.0], DLPackOnly(np.array(2.5)))
    with pytest.raises(ValueError, match="input 'x'"):
        f(DLPackOnly(np.ones((2, 2))), 2)


def test_torch_tensors_share_memory_both_ways() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    t = gj.tensor([1.0, 2.0])
    pt = torch.from_dlpack(t)
    pt[0] = 7.0
    assert t.tolist() == [7.0, 2.0]
    back = gj.from_dlpack(pt)
    back.add_(1)
    assert pt.tolist() == [8.0, 3.0]


def test_jax_arrays_come_in_through_dlpack() -> None:
    jnp = pytest.importorskip("jax.numpy", reason="JAX is not installed")
    t = gj.from_dlpack(jnp.arange(3.0))
    assert t.tolist() == [0.0, 1.0, 2.0]
