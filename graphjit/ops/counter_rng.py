"""Counter-based random numbers for compiled graphs: ``counter_uniform`` and the graph generator.

A compiled program draws random numbers without any hidden state: ``counter_uniform(seed,
counter, index, stream)`` is a pure function (a hash) of a seed, a step counter, each element's
flat index and a stream number, so it is an elementwise op like any other (it fuses, and every
backend computes the same bits from the same arguments). A training step reads the generator's
seed and counter as variables and advances the counter with an update, so each call draws new
numbers while the step stays one program; ``gj.manual_seed`` resets both, which repeats them.

The hash works on 32-bit words held in int64 and multiplies them in 16-bit halves, so no
product exceeds 2**48: numpy, numba and CUDA (and the CUDA simulator, which runs the device code
as Python) compute identical bits without relying on integer overflow. Each word is mixed with
Wellons' ``lowbias32`` (a 32-bit finaliser with low avalanche bias); the uniform is the final
word scaled into (0, 1) on a grid of ``2**-32``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.ir import TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, lift
from graphjit.ops.leaves import Storage, Variable, variable_from_storage
from graphjit.ops.registry import binds, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type

__all__ = ["counter_uniform"]

_MASK32 = 0xFFFFFFFF
_STREAM_SALT = 0x9E3779B9
_INDEX_SALT = 0x85EBCA6B


def _mul32(x: np.ndarray, c: int) -> np.ndarray:
    """``(x * c) mod 2**32`` for ``x`` in [0, 2**32), in two products below 2**48."""
    low = x * (c & 0xFFFF)
    high = ((x * (c >> 16)) & 0xFFFF) << 16
    return (low + high) & _MASK32


def _mix32(x: np.ndarray) -> np.ndarray:
    """lowbias32 (C. Wellons): a bijection of 32-bit words with good avalanche."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _counter_uniform_impl(
    seed: np.ndarray, counter: np.ndarray, index: np.ndarray, *, stream: int
) -> np.ndarray:
    seed, counter, index = (np.asarray(a, dtype=np.int64) for a in (seed, counter, index))
    key = _mix32(np.int64((stream ^ _STREAM_SALT) & _MASK32))
    key = _mix32(((counter >> 32) & _MASK32) ^ key)
    key = _mix32((counter & _MASK32) ^ key)
    key = _mix32(((seed >> 32) & _MASK32) ^ key)
    key = _mix32((seed & _MASK32) ^ key)
    word = _mix32(((index >> 32) & _MASK32) ^ _INDEX_SALT)
    word = _mix32((index & _MASK32) ^ word)
    word = _mix32(word ^ key)
    return (word.astype(np.float64) + 0.5) * 2.0**-32


def _counter_uniform_infer(
    seed: TensorType, counter: TensorType, index: TensorType, *, stream: int
) -> TensorType:
    for what, t in (("seed", seed), ("counter", counter), ("index", index)):
        if t.dtype != "int64":
            raise TypeError(f"counter_uniform: {what} must be int64, got {t.dtype}")
    if seed.ndim or counter.ndim:
        raise ValueError(
            f"counter_uniform: seed and counter must be 0-d, got shapes {seed.shape} and "
            f"{counter.shape}"
        )
    return elementwise_type("counter_uniform", seed, counter, index, dtype="float64")


COUNTER_UNIFORM = defop(
    "counter_uniform",
    infer=_counter_uniform_infer,
    impl=_counter_uniform_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="counter_uniform({0}, {1}, {2}, {stream})",
    promote=None,
    doc="uniform floats in (0, 1): a hash of (seed, counter, element index, stream)",
)


@binds(COUNTER_UNIFORM)
def counter_uniform(
    seed: ArrayLike, counter: ArrayLike, index: ArrayLike, stream: int = 0
) -> Value:
    """float64 uniforms in (0, 1), one per element of the int64 ``index``: a pure function of
    the 0-d int64 ``seed`` and ``counter``, the index values and the int ``stream`` (so two
    draws in one program differ by stream, two calls of a program by counter)."""
    if isinstance(stream, bool) or not isinstance(stream, int) or stream < 0:
        raise ValueError(f"counter_uniform: stream must be an int >= 0, got {stream!r}")
    args = [lift(a) for a in (seed, counter, index)]
    for name, a in zip(("seed", "counter", "index"), args):
        if np.dtype(a.dtype).kind not in "iub":  # a float would be truncated without a word
            raise TypeError(f"counter_uniform: {name} must be integers, got dtype {a.dtype}")
    args = [a if a.dtype == "int64" else astype(a, "int64") for a in args]
    return apply(COUNTER_UNIFORM, *args, stream=stream)


class GraphGenerator:
    """The seed and step counter that compiled graphs draw random numbers from, as variables
    (0-d int64), and the stream numbers handed to the draws of the graphs being built."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = Storage(np.zeros((), np.int64))
        self._counter = Storage(np.zeros((), np.int64))
        self.seed_variable: Variable = variable_from_storage(self._seed, "rng_seed")
        self.counter_variable: Variable = variable_from_storage(self._counter, "rng_counter")
        self._next_stream = 0
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> None:
        """Set the seed, and restart the counter and the stream numbers: graphs built and run
        after this draw the same numbers again."""
        self._seed.array[...] = np.array(int(seed) & 0xFFFFFFFFFFFFFFFF, np.uint64).view(np.int64)
        self._counter.array[...] = 0
        self._next_stream = 0

    def next_stream(self) -> int:
        """A stream number for one more draw in a graph being built."""
        stream = self._next_stream
        self._next_stream += 1
        return stream

    def advance(self) -> dict[Variable, Any]:
        """The update that moves the counter on by one call (for ``gj.compile``'s updates)."""
        return {self.counter_variable: self.counter_variable + 1}


GRAPH_GENERATOR = GraphGenerator()
