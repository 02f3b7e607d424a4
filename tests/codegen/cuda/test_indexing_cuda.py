"""Indexing cuda tensors as PyTorch users expect: ``gj.where(cond)`` with one argument, boolean
masks (on the GPU or in host memory), integer index arrays in host memory (numpy arrays, lists,
CPU tensors: copied to the device), their gradients, and ``x[mask] = v``; every result against
the CPU's. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

A = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 0.0, -4.0, 1.5], [0.0, 6.0, 7.0, -0.5]])


@pytest.mark.parametrize(
    "cond",
    [A > 0, A, A[0], np.array([0, 3, 0, -2]), np.zeros((2, 3), bool)],
    ids=["mask", "floats", "1-d floats", "ints", "no true element"],
)
def test_where_with_one_argument_on_cuda_equals_the_cpu(cond: np.ndarray) -> None:
    got = gj.where(gj.tensor(cond, device="cuda"))
    want = gj.where(gj.tensor(cond))
    assert len(got) == len(want) == cond.ndim
    for g, w, n in zip(got, want, np.nonzero(cond)):
        assert g.is_cuda and g.dtype == "int64"
        np.testing.assert_array_equal(g.cpu().numpy(), w.numpy())
        np.testing.assert_array_equal(w.numpy(), n)


def test_where_with_one_argument_refuses_a_0d_cuda_tensor_as_the_cpu() -> None:
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="0d"):
            gj.where(gj.tensor(True, device=dev))


# each case: (name, index built from a tensor on the device of the first argument)
_INDEXES: list[tuple[str, Callable[[str], Any]]] = [
    ("2-d mask on the device", lambda dev: gj.tensor(A > 0.2, device=dev)),
    ("row mask on the device", lambda dev: gj.tensor([True, False, True], device=dev)),
    ("column mask after a slice", lambda dev: (slice(None), gj.tensor(A[1] != 0, device=dev))),
    ("numpy mask", lambda dev: A < 0),
    ("cpu tensor mask", lambda dev: gj.tensor(A[:, 0] == 0)),
    ("numpy int array", lambda dev: np.array([2, 0, 2])),
    ("list of ints", lambda dev: [1, -1]),
    ("cpu int tensor", lambda dev: gj.tensor([0, 2, 1, 2])),
    ("two host int arrays", lambda dev: (np.array([0, 2]), gj.tensor([3, 1]))),
    ("int and a host int array", lambda dev: (1, np.array([[0, 3], [2, 2]]))),
    ("cuda int tensor", lambda dev: gj.tensor([2, 1], device=dev)),
]


@pytest.mark.parametrize(("name", "make_index"), _INDEXES, ids=[n for n, _ in _INDEXES])
def test_advanced_indexing_of_cuda_tensors_and_its_gradient_equal_the_cpu(
    name: str, make_index: Callable[[str], Any]
) -> None:
    results = []
    for dev in ("cpu", "cuda"):
        x = gj.tensor(A, device=dev, requires_grad=True)
        y = x[make_index(dev)]
        assert y.is_cuda == (dev == "cuda"), name
        weights = gj.arange(float(np.prod(y.shape)), device=dev).reshape(y.shape)
        (y * weights).sum().backward()
        assert x.grad is not None and x.grad.is_cuda == (dev == "cuda")
        results.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
    (y_cpu, g_cpu), (y_cuda, g_cuda) = results
    assert y_cuda.shape == y_cpu.shape
    np.testing.assert_array_equal(y_cuda, y_cpu)
    np.testing.assert_array_equal(g_cuda, g_cpu)
    assert np.count_nonzero(g_cpu) > 0


def test_a_mask_that_selects_nothing_gives_an_empty_cuda_tensor() -> None:
    x = gj.tensor(A, device="cuda")
    y = x[gj.zeros(3, 4, device="cuda") > 1]
    assert y.is_cuda and y.shape == (0,)
    assert x[gj.tensor([False, False, False], device="cuda")].shape == (0, 4)


def test_bad_masks_and_indices_of_cuda_tensors_raise_as_on_the_cpu() -> None:
    for dev in ("cpu", "cuda"):
        x = gj.tensor(A, device=dev)
        with pytest.raises(IndexError, match="did not match"):
            x[gj.tensor([True, False], device=dev)]
        with pytest.raises(IndexError):
            x[gj.tensor([0, 3], device=dev)].cpu()


def test_a_cuda_index_cannot_index_a_cpu_tensor() -> None:
    x = gj.tensor(A)
    with pytest.raises(RuntimeError, match="indices on cuda:0 cannot index a tensor on cpu"):
        x[gj.tensor(A > 0, device="cuda")]
    with pytest.raises(RuntimeError, match="indices on cuda:0 cannot index a tensor on cpu"):
        x[gj.tensor([0, 1], device="cuda")]


@pytest.mark.parametrize(
    ("make_index", "value"),
    [
        (lambda dev: gj.tensor(A > 0, device=dev), -1.0),
        (lambda dev: A < 0, 9.0),
        (lambda dev: gj.tensor([False, True, True], device=dev), np.arange(4.0)),
        (lambda dev: (slice(None), np.array([3, 0])), 5.0),
    ],
)
def test_setitem_on_cuda_tensors_equals_the_cpu(
    make_index: Callable[[str], Any], value: Any
) -> None:
    got = []
    for dev in ("cpu", "cuda"):
        y = gj.tensor(A, device=dev)
        y[make_index(dev)] = value
        assert y.is_cuda == (dev == "cuda")
        got.append(y.cpu().numpy())
    np.testing.assert_array_equal(got[1], got[0])
    assert not np.array_equal(got[0], A)


@pytest.mark.parametrize(
    ("make_mask", "make_value"),
    [  # values made in the test: collecting this module must not need a GPU
        (lambda dev: gj.tensor(A > 0, device=dev), lambda: -1.0),
        (lambda dev: gj.tensor(A > 0, device=dev), lambda: gj.tensor(2, device="cuda")),
        (lambda dev: gj.tensor([True, False, True], device=dev), lambda: np.arange(4.0)),
        (lambda dev: gj.tensor([False, True, True], device=dev), lambda: gj.tensor([1.0, 2, 3, 4])),
        (lambda dev: A < 0, lambda: 9),
    ],
)
def test_a_mask_assignment_into_a_cuda_tensor_runs_on_the_device(
    make_mask: Callable[[str], Any],
    make_value: Callable[[], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``x[mask] = v`` with a mask over the leading dims is one kernel on the device: no copy of
    the tensor to the host (tests/codegen/cuda/test_assign_cuda.py checks every other index)."""
    value = make_value()
    want = gj.tensor(A.astype(np.float32))
    want[make_mask("cpu")] = value.cpu() if isinstance(value, gj.Tensor) else value
    y = gj.tensor(A.astype(np.float32), device="cuda")
    data = y._data

    def no_host_copy(a: Any) -> Any:
        raise AssertionError("the assignment copied the tensor to the host")

    # the module (graphjit.tensor's name ``tensor`` is the function gj.tensor)
    monkeypatch.setattr(sys.modules["graphjit.tensor.tensor"], "to_host", no_host_copy)
    y[make_mask("cuda")] = value
    monkeypatch.undo()
    assert y._data is data and y.dtype == "float32"
    np.testing.assert_array_equal(y.cpu().numpy(), want.numpy())
    assert not np.array_equal(want.numpy(), A.astype(np.float32))


def test_a_mask_assignment_that_does_not_fit_raises_as_on_the_cpu() -> None:
    for dev in ("cpu", "cuda"):
        y = gj.tensor(A, device=dev)
        with pytest.raises((ValueError, IndexError)):
            y[gj.tensor(A > 0, device=dev)] = np.arange(3.0)
        with pytest.raises(IndexError):
            y[gj.tensor([True, False], device=dev)] = 1.0


def test_a_graph_takes_a_cuda_index_as_a_constant() -> None:
    x = gj.placeholder("x", (3, 4))
    mask, rows = gj.tensor(A > 0, device="cuda"), gj.tensor([2, 0], device="cuda")
    f = gj.compile([x], [x[mask], x[rows]], backend="numpy")
    got_mask, got_rows = f(A)
    np.testing.assert_array_equal(got_mask, A[A > 0])
    np.testing.assert_array_equal(got_rows, A[[2, 0]])
