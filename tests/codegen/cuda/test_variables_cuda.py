"""Variables living on the device: a CUDA-compiled step reads and updates them in place with no
host copy; ``get_value`` copies back, ``set_value`` copies in; other backends see the same values;
concurrent steps stay atomic. Tiny shapes: numba's simulator runs them in CI."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_compat import import_numba_cuda, is_device_array

pytestmark = pytest.mark.cuda


def _step(backend: str = "cuda") -> tuple[Any, Any]:
    w = gj.variable(np.array([1.0, 2.0, 3.0]), name="w", device="cuda")
    x = gj.placeholder("x", (3,))
    loss = gj.sum((w * x - 1.0) ** 2)
    (g,) = gj.grad(loss, [w])
    return w, gj.compile([x], [loss], updates={w: w - 0.1 * g}, backend=backend)


def test_a_step_updates_a_device_variable_in_place() -> None:
    w, step = _step()
    array = w.storage.array
    assert w.device == "cuda" and is_device_array(array)
    x = np.array([0.5, -1.0, 2.0])
    host = np.array([1.0, 2.0, 3.0])
    for _ in range(3):
        (loss,) = step(x)
        want = np.sum((host * x - 1.0) ** 2)
        host = host - 0.1 * 2 * (host * x - 1.0) * x
        np.testing.assert_allclose(loss, want, rtol=1e-12)
    assert w.storage.array is array, "the variable's device array is updated in place"
    np.testing.assert_allclose(w.get_value(), host, rtol=1e-12)
    assert isinstance(w.get_value(), np.ndarray)


def test_the_update_never_comes_back_to_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    w, step = _step()
    step(np.ones(3))  # compiled and warm
    copied: list[tuple[int, ...]] = []
    kind = type(w.storage.array)
    real = kind.copy_to_host

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        copied.append(tuple(self.shape))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(kind, "copy_to_host", counting)
    step(np.ones(3))
    assert copied == [()], "only the 0-d loss is copied to the host (numpy in, numpy out)"


def test_get_and_set_value_copy_across() -> None:
    w, step = _step()
    w.set_value(np.array([0.0, 0.0, 1.0]))
    np.testing.assert_array_equal(w.get_value(), [0.0, 0.0, 1.0])
    (loss,) = step(np.ones(3))
    assert float(loss) == 2.0
    with pytest.raises(ValueError, match="shape"):
        w.set_value(np.zeros(4))
    cuda = import_numba_cuda()
    w.set_value(cuda.to_device(np.array([5.0, 6.0, 7.0])))  # device to device
    np.testing.assert_array_equal(w.get_value(), [5.0, 6.0, 7.0])


def test_other_backends_read_and_update_a_device_variable() -> None:
    w, step = _step("cpu")
    (loss,) = step(np.ones(3))
    assert float(loss) == 0.0 + 1.0 + 4.0
    assert w.device == "cuda"
    np.testing.assert_allclose(w.get_value(), [1.0, 1.8, 2.6])
    w.to("cpu")
    assert w.device == "cpu" and isinstance(w.storage.array, np.ndarray)
    np.testing.assert_allclose(w.get_value(), [1.0, 1.8, 2.6])


def test_concurrent_steps_on_a_device_variable_are_atomic() -> None:
    count = gj.variable(np.zeros(()), name="count", device="cuda")
    x = gj.placeholder("x", ())
    bump = gj.compile([x], [count + x], updates={count: count + x}, backend="cuda")
    bump(1.0)

    def run() -> None:
        for _ in range(4):
            bump(1.0)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert float(count.get_value()) == 9.0
