"""``counter_uniform`` for generated CPU kernels: the hash of ``graphjit.ops.counter_rng`` (see
there), bit for bit, on int64 scalars. Products stay below 2**48, so nothing overflows."""

from __future__ import annotations

from typing import Any

from graphjit.kernels import extern
from numba import njit

_FLAGS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}

_MASK32 = 0xFFFFFFFF
_STREAM_SALT = 0x9E3779B9
_INDEX_SALT = 0x85EBCA6B


@njit(**_FLAGS)
def _mul32(x: int, c: int) -> int:
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _MASK32


@njit(**_FLAGS)
def _mix32(x: int) -> int:
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


@njit(**_FLAGS)
def counter_uniform(seed: int, counter: int, index: int, stream: int) -> float:
    key = _mix32((stream ^ _STREAM_SALT) & _MASK32)
    key = _mix32(((counter >> 32) & _MASK32) ^ key)
    key = _mix32((counter & _MASK32) ^ key)
    key = _mix32(((seed >> 32) & _MASK32) ^ key)
    key = _mix32((seed & _MASK32) ^ key)
    word = _mix32(((index >> 32) & _MASK32) ^ _INDEX_SALT)
    word = _mix32((index & _MASK32) ^ word)
    word = _mix32(word ^ key)
    return (float(word) + 0.5) * 2.3283064365386963e-10  # 2**-32


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
