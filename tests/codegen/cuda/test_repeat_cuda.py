"""``CompiledFunction.repeat`` on the cuda backend: the same tests as the cpu and numpy backends
(``tests/test_runtime_repeat.py``), plus device inputs, whose outputs stay on the device, and host
inputs copied to the device once rather than on every call."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from tests import test_runtime_repeat as shared

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("keep", ["last", "all"])
def test_repeat_is_n_sequential_calls(keep: str) -> None:
    shared.test_repeat_is_n_sequential_calls("cuda", keep)


def test_repeat_updates_are_simultaneous_each_step() -> None:
    shared.test_repeat_updates_are_simultaneous_each_step("cuda")


def test_repeat_without_updates_and_single_output() -> None:
    shared.test_repeat_without_updates_and_single_output("cuda")


def test_repeat_on_device_inputs_keeps_the_outputs_on_the_device() -> None:
    from numba import cuda

    x = gj.placeholder("x", (None,))
    w = gj.variable(np.zeros(3), name="w", device="cuda")
    f = gj.compile([x], [gj.sum(w * x), w + 1.0], updates={w: w + x}, backend="cuda")
    data = np.array([1.0, 2.0, 3.0])
    last = f.repeat(4, cuda.to_device(data))
    assert all(hasattr(o, "copy_to_host") for o in last)  # device arrays, as a call gives
    np.testing.assert_array_equal(last[0].copy_to_host(), (3 * data) @ data)
    np.testing.assert_array_equal(last[1].copy_to_host(), 3 * data + 1.0)
    np.testing.assert_array_equal(w.get_value(), 4 * data)
    stacked = f.repeat(2, cuda.to_device(data), keep="all")
    assert all(hasattr(o, "copy_to_host") for o in stacked)
    np.testing.assert_array_equal(stacked[0].copy_to_host(), [4 * data @ data, 5 * data @ data])
    np.testing.assert_array_equal(stacked[1].copy_to_host(), [4 * data + 1, 5 * data + 1])


def test_repeat_copies_host_inputs_to_the_device_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphjit.codegen.cuda import device

    x = gj.placeholder("x", (None,))
    w = gj.variable(np.zeros(2), name="w", device="cuda")
    f = gj.compile([x], [gj.sum(w)], updates={w: w + x}, backend="cuda")
    uploads = []
    real = device.Allocator.upload

    def counted(self: device.Allocator, key: str, a: np.ndarray) -> object:
        uploads.append(key)
        return real(self, key, a)

    monkeypatch.setattr(device.Allocator, "upload", counted)
    (total,) = f.repeat(5, np.array([1.0, 2.0]))
    assert isinstance(total, np.ndarray) and total == 12.0  # host inputs: host outputs
    assert uploads == []  # the input went to the device once, before the loop
    np.testing.assert_array_equal(w.get_value(), [5.0, 10.0])
