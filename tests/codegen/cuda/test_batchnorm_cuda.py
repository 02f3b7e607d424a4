"""BatchNorm's running statistics on cuda in eager training mode: updated in place on the
device (no host copy of them), equal to the CPU's, and read back in evaluation mode. Tiny shapes:
numba's simulator runs them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

X2 = np.random.default_rng(0).normal(size=(4, 3, 2, 2))
X1 = np.random.default_rng(1).normal(size=(5, 2))


def _run(layer: Any, x: np.ndarray, dev: str) -> list[np.ndarray]:
    layer.to(dev)
    t = gj.tensor(x, device=dev, requires_grad=True)
    for k in range(2):
        y = layer(t * (1.0 + k))
    (y * y).sum().backward()
    layer.eval()
    evaluated = layer(t)
    assert layer.running_mean.is_cuda == (dev == "cuda")
    assert evaluated.is_cuda == (dev == "cuda")
    out = [layer.running_mean, layer.running_var, layer.num_batches_tracked, y, t.grad, evaluated]
    return [o.detach().cpu().numpy() for o in out]


@pytest.mark.parametrize(
    ("make", "x"),
    [
        (lambda: gj.nn.BatchNorm2d(3), X2),
        (lambda: gj.nn.BatchNorm2d(3, momentum=None), X2),
        (lambda: gj.nn.BatchNorm1d(2, momentum=0.3, dtype="float32"), X1),
    ],
)
def test_running_statistics_on_cuda_equal_the_cpu(make: Any, x: np.ndarray) -> None:
    got, want = _run(make(), x, "cuda"), _run(make(), x, "cpu")
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        tol = 1e-5 if g.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    assert int(got[2]) == 2


def test_the_statistics_never_come_back_to_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    bn = gj.nn.BatchNorm2d(3).to("cuda")
    x = gj.tensor(X2, device="cuda")
    bn(x)  # the one-op programs are compiled
    stats = [bn.running_mean._data, bn.running_var._data, bn.num_batches_tracked._data]
    copied: list[tuple[int, ...]] = []
    kind = type(stats[0])
    real = kind.copy_to_host

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        copied.append(tuple(self.shape))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(kind, "copy_to_host", counting)
    bn(x)
    assert copied == []
    monkeypatch.undo()
    assert [bn.running_mean._data, bn.running_var._data, bn.num_batches_tracked._data] == stats
    assert int(bn.num_batches_tracked.item()) == 2


def test_reset_and_device_mismatches() -> None:
    bn = gj.nn.BatchNorm1d(2).to("cuda")
    bn(gj.tensor(X1, device="cuda"))
    assert np.all(bn.running_mean.cpu().numpy() != 0)
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.cpu().numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(bn.running_var.cpu().numpy(), [1.0, 1.0])
    assert int(bn.num_batches_tracked.item()) == 0 and bn.running_mean.is_cuda
    functional = gj.nn.functional.batch_norm
    with pytest.raises(RuntimeError, match="input is on cuda:0"):
        functional(gj.tensor(X1, device="cuda"), gj.zeros(2), gj.ones(2), training=True)
    with pytest.raises(RuntimeError, match="input is not"):
        functional(gj.tensor(X1), bn.running_mean, bn.running_var, training=True)
