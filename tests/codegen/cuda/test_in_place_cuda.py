"""Updates stored into the variables' device arrays by the CUDA program's last kernels
(codegen/updates.py): the same semantics as copying the new values in after the call, for
variables on the device (written in place, nothing copied after) and on the host (written into
their device copy, copied back), with outputs equal to variables, a device input sharing a
variable's memory, and a call that raises. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen.memory import IN_PLACE
from graphjit.cuda_compat import to_host

pytestmark = pytest.mark.cuda


def _sgd(backend: str, device: str):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = gj.placeholder("x", (None, 3))
    y = gj.placeholder("y", (None, 2))
    w = gj.variable(rng.standard_normal((3, 2)), name="w")
    b = gj.variable(np.zeros(2), name="b")
    if device == "cuda":
        w.to("cuda")
        b.to("cuda")
    loss = gj.mean((x @ w + b - y) ** 2)
    gw, gb = gj.grad(loss, [w, b])
    f = gj.compile([x, y], [loss], updates={w: w - 0.1 * gw, b: b - 0.1 * gb}, backend=backend)
    return f, (w, b)


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_an_sgd_step_stores_its_updates_and_matches_the_interpreter(device: str) -> None:
    (f, ours), (ref, theirs) = _sgd("cuda", device), _sgd("numpy", "cpu")
    assert f.source.count(IN_PLACE) == 2 and "IN_PLACE = (0, 1)" in f.source
    arrays = [v.storage.array for v in ours]
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    for _ in range(3):
        np.testing.assert_allclose(f(x, y), ref(x, y), rtol=1e-12)
    for v, r, a in zip(ours, theirs, arrays):
        np.testing.assert_allclose(v.get_value(), r.get_value(), rtol=1e-12)
        assert v.storage.array is a  # written, never replaced


def test_an_output_equal_to_the_variable_is_its_old_value() -> None:
    w = gj.variable(np.arange(3.0), name="w").to("cuda")
    f = gj.compile([], [w], updates={w: w + 1.0}, backend="cuda")
    (out,) = f()
    np.testing.assert_array_equal(to_host(out), [0, 1, 2])
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])


def test_a_device_input_sharing_a_variable_stored_earlier_is_read_as_it_was() -> None:
    a = gj.variable(np.arange(4.0), name="a").to("cuda")
    b = gj.variable(np.zeros((2, 4)), name="b").to("cuda")
    x = gj.placeholder("x", (4,))
    f = gj.compile([x], [], updates={a: a + 1.0, b: b + x}, backend="cuda")
    assert f.source.count(IN_PLACE) == 2 and "LATE_INPUTS = (0,)" in f.source
    f(a.storage.array)  # x is a's own device array: b's store reads it after a's store
    np.testing.assert_array_equal(b.get_value(), [[0, 1, 2, 3]] * 2)
    np.testing.assert_array_equal(a.get_value(), [1, 2, 3, 4])


def test_a_call_that_raises_writes_no_variable() -> None:
    w1 = gj.variable(np.arange(3.0), name="w1").to("cuda")
    w2 = gj.variable(np.arange(5.0), name="w2").to("cuda")
    idx = gj.placeholder("idx", (None,), "int64")
    ups = {w1: w1 * 2.0, w2: w2 + gj.sum(gj.take(w2, idx))}
    f = gj.compile([idx], [], updates=ups, backend="cuda")
    assert f.source.count(IN_PLACE) == 2
    with pytest.raises(IndexError):
        f(np.array([9]))
    np.testing.assert_array_equal(w1.get_value(), [0, 1, 2])
    np.testing.assert_array_equal(w2.get_value(), np.arange(5.0))
    f(np.array([4]))
    np.testing.assert_array_equal(w1.get_value(), [0, 2, 4])
    np.testing.assert_array_equal(w2.get_value(), np.arange(5.0) + 4)


def test_repeat_stores_in_place_each_step() -> None:
    (f, ours), (ref, theirs) = _sgd("cuda", "cuda"), _sgd("numpy", "cpu")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    (losses,) = f.repeat(3, x, y, keep="all")
    expected = [ref(x, y)[0] for _ in range(3)]
    np.testing.assert_allclose(np.ravel(to_host(losses)), expected, rtol=1e-12)
    for v, r in zip(ours, theirs):
        np.testing.assert_allclose(v.get_value(), r.get_value(), rtol=1e-12)
