"""kernels/memory.py: the programs' allocator (np.empty plus huge pages for large arrays)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from graphjit.kernels import memory
from numba import njit

LINUX = sys.platform.startswith("linux")


@njit
def _allocate(shape: tuple, dtype: type) -> np.ndarray:
    return memory.empty(shape, dtype)


@njit
def _allocate_literal(n: int) -> tuple:
    # static sizes, as a program writes them: (n, 3) is a tuple of an int64 and a literal 3
    a = memory.empty((n, 3), np.float32)
    return a, memory.empty((), np.bool_), memory.empty((2, n), np.int8)


@pytest.mark.parametrize("shape", [(), (3,), (0, 4), (600, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_empty_gives_the_shape_and_dtype(shape: tuple, dtype: type) -> None:
    a = _allocate(shape, dtype)
    assert a.shape == shape and a.dtype == np.dtype(dtype) and a.flags.c_contiguous
    a[...] = 1  # writable all the way through
    assert (a == 1).all()


def test_empty_takes_static_sizes() -> None:
    a, b, c = _allocate_literal(5)
    assert (a.shape, a.dtype) == ((5, 3), np.float32)
    assert (b.shape, b.dtype) == ((), np.bool_)
    assert (c.shape, c.dtype) == ((2, 5), np.int8)


def test_empty_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError, match="array is too big"):
        _allocate((2, -1), np.float64)


def test_empty_refuses_a_size_past_the_address_space() -> None:
    # numpy's words: the runtime recognises them and names the call that asked
    with pytest.raises(ValueError, match="array is too big"):
        _allocate((2**40, 2**40), np.float64)
    with pytest.raises(ValueError, match="array is too big"):
        _allocate((2**31, 2**31), np.float64)  # the elements fit int64, the bytes do not


def _vm_flags(address: int) -> list[str]:
    """The flags of the memory mapping holding ``address`` (/proc/self/smaps)."""
    span = None
    with open("/proc/self/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                span = (int(m.group(1), 16), int(m.group(2), 16))
            elif line.startswith("VmFlags:") and span and span[0] <= address < span[1]:
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not LINUX, reason="madvise hugepages: Linux")
def test_a_large_array_is_advised_huge_pages() -> None:
    large = _allocate((4 * memory.MIN_BYTES // 8,), np.float64)
    # the first whole huge page inside the array: madvise split the mapping there
    inside = (large.ctypes.data + memory.HUGE_PAGE - 1) // memory.HUGE_PAGE * memory.HUGE_PAGE
    flags = _vm_flags(inside)
    if "hg" not in flags and "nh" in flags:
        pytest.skip("this kernel refuses huge pages for the process")
    assert "hg" in flags  # VM_HUGEPAGE: madvise(MADV_HUGEPAGE) was called over it
