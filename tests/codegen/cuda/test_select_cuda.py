"""``nonzero`` and ``masked_select`` on cuda tensors: the positions are found on the device (the
kernels of ``graphjit.kernels.cuda.select``), results equal the CPU's, ``masked_select``'s
gradient runs on the device, and mixing devices raises as PyTorch. Tiny shapes: numba's
simulator runs them (one case is long enough to span several scan segments)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_eager import RUNNER

pytestmark = pytest.mark.cuda


def _data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).integers(-1, 2, size=shape).astype(np.float64)
    a.flat[:: max(1, a.size // 3)] = 0.0
    return a


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (0, 3), (1,)])
def test_nonzero_on_cuda_equals_the_cpu(shape: tuple[int, ...]) -> None:
    a = _data(shape)
    c = gj.tensor(a, device="cuda")
    got = gj.nonzero(c)
    assert got.is_cuda and got.dtype == "int64"
    want = gj.nonzero(gj.tensor(a)).numpy()
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    for g, w in zip(c.nonzero(as_tuple=True), np.nonzero(a)):
        assert g.is_cuda
        np.testing.assert_array_equal(g.cpu().numpy(), w)


def test_nonzero_over_many_runs_keeps_the_order() -> None:
    """More runs than the scan block has threads: every segment's offset is right."""
    from graphjit.kernels.cuda.launch import BLOCK  # loads numba.cuda: only where it runs
    from graphjit.kernels.cuda.select import RUN

    n = RUN * BLOCK * 2 + 37
    a = np.zeros(n)
    a[[0, 1, RUN - 1, RUN, 5 * RUN + 3, n // 2, n - 2, n - 1]] = [1.0, -2.0, np.nan, 3, 4, 5, 6, 7]
    got = gj.nonzero(gj.tensor(a, device="cuda"))
    np.testing.assert_array_equal(got.cpu().numpy()[:, 0], np.flatnonzero(a))
    flags = gj.tensor(np.arange(n) % 3 == 1, device="cuda")
    positions = RUNNER.flatnonzero(flags._data).copy_to_host()
    np.testing.assert_array_equal(positions, np.arange(1, n, 3))


def test_nonzero_of_bool_ints_and_nothing() -> None:
    b = np.array([[True, False], [False, True]])
    np.testing.assert_array_equal(
        gj.nonzero(gj.tensor(b, device="cuda")).cpu().numpy(), [[0, 0], [1, 1]]
    )
    ints = gj.tensor(np.array([0, 3, 0, -1]), device="cuda")
    np.testing.assert_array_equal(gj.nonzero(ints).cpu().numpy(), [[1], [3]])
    none = gj.nonzero(gj.zeros(4, device="cuda"))
    assert none.is_cuda and none.shape == (0, 1)
    with pytest.raises(ValueError, match="0d"):
        gj.nonzero(gj.tensor(1.0, device="cuda"))


@pytest.mark.parametrize(("xshape", "mshape"), [((3, 4), (3, 4)), ((4, 3), (3,)), ((3,), (2, 3))])
def test_masked_select_and_its_gradient_on_cuda_equal_the_cpu(
    xshape: tuple[int, ...], mshape: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(1)
    x, m = rng.normal(size=xshape), rng.normal(size=mshape) > 0
    results = []
    for dev in ("cpu", "cuda"):
        t = gj.tensor(x, device=dev, requires_grad=True)
        y = gj.masked_select(t, gj.tensor(m, device=dev))
        assert y.is_cuda == (dev == "cuda")
        (y * gj.arange(float(y.shape[0]), device=dev)).sum().backward()
        assert t.grad is not None and t.grad.is_cuda == (dev == "cuda")
        results.append((y.detach().cpu().numpy(), t.grad.cpu().numpy()))
    (y_cpu, g_cpu), (y_cuda, g_cuda) = results
    np.testing.assert_array_equal(y_cuda, y_cpu)
    np.testing.assert_array_equal(g_cuda, g_cpu)


def test_masked_select_edge_cases_on_cuda() -> None:
    x = gj.tensor([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    empty = gj.masked_select(x, gj.zeros(3, dtype="bool", device="cuda"))
    assert empty.is_cuda and empty.shape == (0,)
    empty.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [0.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="same device"):
        gj.masked_select(x, gj.tensor([True, False, True]))
    with pytest.raises(RuntimeError, match="same device"):
        gj.masked_select(gj.tensor([1.0, 2.0, 3.0]), gj.tensor([True, False, True], device="cuda"))
    with pytest.raises(TypeError, match="bool"):
        gj.masked_select(x, gj.ones(3, device="cuda"))
