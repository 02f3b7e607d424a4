"""kernels/memory.py: the programs' allocator (np.empty plus huge pages for large arrays)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from graphjit.kernels import memory
from numba import njit


@pytest.mark.parametrize("shape", [(), (3,), (0, 4), (600, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_empty_gives_the_shape_and_dtype(shape: tuple, dtype: type) -> None:
    a = memory.empty(shape, dtype)
    assert a.shape == shape and a.dtype == np.dtype(dtype) and a.flags.c_contiguous
    a[...] = 1  # writable all the way through
    assert (a == 1).all()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise hugepages: Linux")
def test_madvise_links_and_accepts_an_aligned_range() -> None:
    @njit
    def advise(n: int) -> int:
        a = np.empty(n)
        start = (a.ctypes.data + memory.HUGE_PAGE - 1) // memory.HUGE_PAGE * memory.HUGE_PAGE
        return memory._madvise(start, memory.HUGE_PAGE, memory.MADV_HUGEPAGE)

    # 0, or -1 where the kernel has no transparent huge pages (a hint either way)
    assert advise(4 * memory.HUGE_PAGE // 8) in (0, -1)
