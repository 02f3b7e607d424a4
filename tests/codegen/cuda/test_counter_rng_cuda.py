"""counter_uniform and compiled dropout on the CUDA backend: the same bits as numpy."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda


def test_counter_uniform_bits_match_numpy() -> None:
    s, c = gj.placeholder("s", (), "int64"), gj.placeholder("c", (), "int64")
    i = gj.placeholder("i", (None,), "int64")
    out = gj.counter_uniform(s, c, i, stream=7)
    feeds = [np.int64(-3), np.int64(2**35 + 9), np.array([0, 1, 2**32 + 5, 2**40], np.int64)]
    want = gj.compile([s, c, i], [out], backend="numpy")(*feeds)[0]
    got = gj.compile([s, c, i], [out], backend="cuda")(*feeds)[0]
    np.testing.assert_array_equal(np.asarray(got), want)


def test_dropout_masks_match_numpy_and_advance() -> None:
    x = np.arange(1.0, 13.0).reshape(3, 4)
    results = {}
    for backend in ("numpy", "cuda"):
        gj.manual_seed(21)
        xs = gj.placeholder("x", (3, 4))
        y = gj.nn.functional.dropout(xs, 0.5)
        f = gj.compile([xs], [y], updates=gj.nn.random_updates(y), backend=backend)
        results[backend] = [np.asarray(f(x)[0]) for _ in range(2)]
    for got, want in zip(results["cuda"], results["numpy"]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(results["cuda"][0], results["cuda"][1])
