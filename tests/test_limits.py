"""Calls whose outputs or intermediates cannot be allocated raise a clear error before touching
memory (the inputs are zero-stride broadcast views: the test itself allocates almost nothing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj


def _outer(backend: str) -> gj.runtime.CompiledFunction:
    x = gj.placeholder("x", shape=(None,))
    y = gj.placeholder("y", shape=(None,))
    return gj.compile([x, y], [x[:, None] * y[None, :]], backend=backend)


def test_an_output_larger_than_memory_raises_memory_error(backend: str) -> None:
    f = _outer(backend)
    big = np.broadcast_to(np.float64(1.0), (2**24,))  # the outer product is 2 PiB
    with pytest.raises(MemoryError, match=r"'x' \(16777216,\), 'y' \(16777216,\).*does not fit"):
        f(big, big)
    (out,) = f(np.ones(2), np.ones(3))  # and the function still works
    np.testing.assert_array_equal(out, np.ones((2, 3)))


def test_a_size_that_overflows_raises(backend: str) -> None:
    f = _outer(backend)
    huge = np.broadcast_to(np.float64(1.0), (2**40,))  # 2**80 elements: the size overflows int64
    with pytest.raises((MemoryError, ValueError), match=r"'x' \(1099511627776,\)"):
        f(huge, huge)


@pytest.mark.parametrize(
    "build",
    [
        lambda x, v: gj.sum(gj.broadcast_to(x, (2**32, 2**32))),  # compiled for ever (a hang)
        lambda x, v: gj.max(gj.broadcast_to(x, (2**32, 2**32))),  # a numba TypingError
        lambda x, v: gj.reshape(v, (2**62, 2**62, -1)),  # too big even with a zero dim
        lambda x, v: gj.pad(x, 2**62),
    ],
)
def test_a_shape_too_big_for_any_array_is_refused_when_the_graph_is_built(build: Any) -> None:
    x = gj.placeholder("x", shape=(1,))
    v = gj.placeholder("v", shape=(None,))
    with pytest.raises(ValueError, match="more than an array can hold"):
        build(x, v)
