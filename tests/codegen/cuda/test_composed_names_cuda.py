"""The numpy and PyTorch functions composed of graphjit's ops (``graphjit/numpy_api``,
``torch_api/products.py``, the index methods) on cuda tensors, given lists, numpy arrays and
numbers as their other operands: those become constants on the device, as an op given them
directly puts them, and the results equal the CPU's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

A = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]])


def _clean(t: Any) -> Any:
    return gj.nan_to_num(t)


CASES: dict[str, Callable[[Any, str], Any]] = {
    "isin": lambda t, d: gj.isin(t, [1.0, 5.0]),
    "average": lambda t, d: gj.average(_clean(t), axis=1, weights=[1.0, 2.0, 3.0]),
    "digitize": lambda t, d: gj.digitize(_clean(t), [0.5, 3.5]),
    "convolve": lambda t, d: gj.convolve(_clean(t)[0], [1.0, -1.0]),
    "fmod": lambda t, d: gj.fmod(t, [2.0, 3.0, 4.0]),
    "vdot": lambda t, d: gj.vdot(_clean(t), np.ones((2, 3))),
    "append": lambda t, d: gj.append(t, [[7.0, 8.0, 9.0]], axis=0),
    "insert": lambda t, d: gj.insert(t, 1, [7.0, 8.0], axis=1),
    "trapezoid": lambda t, d: gj.trapezoid(_clean(t), [0.0, 1.0, 3.0]),
    "ldexp": lambda t, d: gj.ldexp(t, np.array([1, 2, 3])),
    "logical_xor": lambda t, d: gj.logical_xor(t > 2, [True, False, True]),
    "gcd": lambda t, d: gj.gcd(gj.tensor([4, 6], device=d), [6, 9]),
    "matvec": lambda t, d: gj.matvec(_clean(t), [1.0, 2.0, 3.0]),
    "nansum": lambda t, d: gj.nansum(t, axis=1),
    "quantile": lambda t, d: gj.quantile(_clean(t), [0.3, 0.6], axis=1),
    "bincount": lambda t, d: gj.bincount(gj.tensor([0, 2, 2], device=d)),
    "addmm": lambda t, d: gj.addmm(gj.zeros(2, 2, device=d), _clean(t), _clean(t).T),
    "index_fill": lambda t, d: _clean(t).index_fill(1, gj.tensor([0], device=d), 9.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_composed_functions_on_cuda_tensors_equal_the_cpu(name: str) -> None:
    fn = CASES[name]
    got = fn(gj.tensor(A, device="cuda"), "cuda")
    want = fn(gj.tensor(A), "cpu")
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12, equal_nan=True)


F = gj.nn.functional
LOGITS = np.random.default_rng(0).standard_normal((4, 3))
LOSSES: dict[str, Callable[[Any, Any], Any]] = {
    "cross_entropy list weight": lambda x, t: F.cross_entropy(x, t, weight=[1.0, 2.0, 3.0]),
    "nll_loss array weight": lambda x, t: F.nll_loss(x, t, weight=np.array([1.0, 2.0, 3.0])),
    "multi_margin_loss": lambda x, t: F.multi_margin_loss(x, t, weight=[1.0, 0.5, 2.0]),
    "bce_with_logits pos_weight": lambda x, t: F.binary_cross_entropy_with_logits(
        x, gj.ones_like(x), pos_weight=[1.0, 2.0, 3.0]
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_given_array_weights_on_cuda_equal_the_cpu(name: str) -> None:
    results = []
    for device in ("cpu", "cuda"):
        x = gj.tensor(LOGITS, device=device, requires_grad=True)
        loss = LOSSES[name](x, gj.tensor([0, 2, 1, 2], device=device))
        loss.backward()
        results.append((loss.cpu().numpy(), x.grad.cpu().numpy()))
    (want, want_grad), (got, got_grad) = results
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12)
