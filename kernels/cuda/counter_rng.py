"""``counter_uniform`` for generated CUDA kernels: the hash of ``graphjit.ops.counter_rng`` (see
there), bit for bit, on int64 scalars. Products stay below 2**48, so nothing overflows (and the
simulator, which runs this as Python, computes the same bits)."""

from __future__ import annotations

from numba import cuda

_MASK32 = 0xFFFFFFFF
_STREAM_SALT = 0x9E3779B9
_INDEX_SALT = 0x85EBCA6B


@cuda.jit(device=True)
def _mul32(x, c):  # type: ignore[no-untyped-def]
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _MASK32


@cuda.jit(device=True)
def _mix32(x):  # type: ignore[no-untyped-def]
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


@cuda.jit(device=True)
def counter_uniform(seed, counter, index, stream):  # type: ignore[no-untyped-def]
    key = _mix32((stream ^ _STREAM_SALT) & _MASK32)
    key = _mix32(((counter >> 32) & _MASK32) ^ key)
    key = _mix32((counter & _MASK32) ^ key)
    key = _mix32(((seed >> 32) & _MASK32) ^ key)
    key = _mix32((seed & _MASK32) ^ key)
    word = _mix32(((index >> 32) & _MASK32) ^ _INDEX_SALT)
    word = _mix32((index & _MASK32) ^ word)
    word = _mix32(word ^ key)
    return (float(word) + 0.5) * 2.3283064365386963e-10  # 2**-32
