"""Fills, copies and the error flag of the CUDA programs (host helpers and their kernels)."""

from __future__ import annotations

import numpy as np
from graphjit.kernels.cuda.launch import BLOCK, blocks, flat
from numba import cuda


@cuda.jit
def _fill(out, value):  # type: ignore[no-untyped-def]
    for t in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[t] = value


@cuda.jit
def _copy(src, out):  # type: ignore[no-untyped-def]
    for t in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[t] = src[t]


def fill(a, value) -> None:  # type: ignore[no-untyped-def]
    """Set every element of the C-contiguous device array ``a`` to ``value``."""
    if a.size:
        f = flat(a)
        _fill[blocks(a.size), BLOCK](f, f.dtype.type(value))


def copy_into(src, out) -> None:  # type: ignore[no-untyped-def]
    """Copy a C-contiguous device array into another of the same size."""
    if out.size:
        _copy[blocks(out.size), BLOCK](flat(src), flat(out))


def slice_start(n: int, start: int | None, stop: int | None, step: int) -> int:
    """The first index a python slice takes of a dim of size ``n``."""
    return slice(start, stop, step).indices(n)[0]


def check_flag(flag, message: str, error: type[Exception] = IndexError) -> None:  # type: ignore[no-untyped-def]
    """Raise ``error(message)`` when a kernel raised the flag (waits for the kernel)."""
    host = np.zeros(1, dtype=flag.dtype)
    flag.copy_to_host(host)
    if host[0]:
        raise error(message)
