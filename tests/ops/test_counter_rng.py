"""gj.counter_uniform: the counter-based hash behind dropout in compiled graphs."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.ops.counter_rng import GRAPH_GENERATOR


def _words(u: np.ndarray) -> list[int]:
    """The 32-bit words behind uniforms ``(word + 0.5) / 2**32``."""
    return [int(w) for w in np.round(np.asarray(u) * 2.0**32 - 0.5)]


def _draw(seed: int, counter: int, index: np.ndarray, stream: int = 0) -> np.ndarray:
    s, c = gj.placeholder("s", (), "int64"), gj.placeholder("c", (), "int64")
    i = gj.placeholder("i", (None,), "int64")
    f = gj.compile([s, c, i], [gj.counter_uniform(s, c, i, stream=stream)], backend="numpy")
    return f(np.int64(seed), np.int64(counter), index)[0]


def test_pinned_values() -> None:
    # the hash is part of the contract (same seed, same masks across versions and backends)
    assert _words(_draw(0, 0, np.arange(4))) == [2493473523, 4075756125, 2891723763, 1677823416]
    assert _words(_draw(-1, 2**62, np.array([2**40, 7]), stream=5)) == [3751662384, 3380733705]


def test_uniforms_are_uniform_in_the_open_interval() -> None:
    u = _draw(12345, 7, np.arange(200_000))
    assert u.dtype == np.float64 and u.min() > 0.0 and u.max() < 1.0
    # fixed seed: these are exact numbers, far inside the bounds a fair draw meets (~5 sigma)
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    counts = np.bincount((u * 64).astype(int), minlength=64)
    chi2 = float(((counts - n / 64) ** 2 / (n / 64)).sum())
    assert chi2 < 120  # 63 degrees of freedom: the 99.999th percentile is about 120
    # neighbouring elements are uncorrelated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)


def test_seed_counter_and_stream_each_change_every_value() -> None:
    idx = np.arange(1000)
    base = _draw(1, 0, idx)
    for other in (_draw(2, 0, idx), _draw(1, 1, idx), _draw(1, 0, idx, stream=1)):
        assert np.mean(base == other) < 0.01
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.15
    np.testing.assert_array_equal(_draw(1, 0, idx), base)


def test_cpu_gives_the_same_bits_as_numpy() -> None:
    s, c = gj.placeholder("s", (), "int64"), gj.placeholder("c", (), "int64")
    i = gj.placeholder("i", (None, 3), "int64")
    out = gj.counter_uniform(s, c, i, stream=3) * 2.0
    feeds = [np.int64(-99), np.int64(2**33 + 1), np.arange(15, dtype=np.int64).reshape(5, 3)]
    want = gj.compile([s, c, i], [out], backend="numpy")(*feeds)[0]
    got = gj.compile([s, c, i], [out], backend="cpu")(*feeds)[0]
    np.testing.assert_array_equal(got, want)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="stream"):
        gj.counter_uniform(0, 0, np.arange(3), stream=-1)
    with pytest.raises(ValueError, match="0-d"):
        gj.counter_uniform(
            gj.placeholder("s", (2,), "int64"), 0, gj.placeholder("i", (2,), "int64")
        )


def test_manual_seed_resets_the_graph_generator() -> None:
    gj.manual_seed(42)
    assert int(GRAPH_GENERATOR.seed_variable.get_value()) == 42
    GRAPH_GENERATOR.counter_variable.set_value(np.int64(9))
    first = GRAPH_GENERATOR.next_stream()
    gj.manual_seed(42)
    assert int(GRAPH_GENERATOR.counter_variable.get_value()) == 0
    assert GRAPH_GENERATOR.next_stream() == first == 0
    # a float seed, counter or index would be truncated: refused instead
    with pytest.raises(TypeError, match="seed must be integers, got dtype float64"):
        gj.counter_uniform(1.5, 0, np.arange(3))
    with pytest.raises(TypeError, match="index must be integers"):
        gj.counter_uniform(0, 0, gj.placeholder("f", (2,)))
    narrow = gj.counter_uniform(np.uint8(1), True, np.arange(3, dtype=np.int32))
    wide = gj.counter_uniform(1, 1, np.arange(3))
    np.testing.assert_array_equal(narrow.numpy(), wide.numpy())  # integers of any width agree
