"""Allocation for the generated programs: ``np.empty``, plus transparent huge pages on Linux.

numba allocates arrays with plain ``malloc``. Above glibc's mmap threshold every large array is
fresh memory, and touching it costs one page fault per 4 KiB page: writing a new 80 MB result
takes about 45 ms where numpy (which asks the kernel for huge pages, ``madvise(MADV_HUGEPAGE)``,
for arrays of 4 MiB and more) takes about 10 ms. :func:`empty` does what numpy does.

``madvise`` is declared as an external symbol (resolved in the process when the code is loaded),
not called through ctypes, so functions that allocate with it can still be cached by numba.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

HUGE_PAGE = 1 << 21  # 2 MiB, the x86-64 and aarch64 transparent huge page
MIN_BYTES = 1 << 22  # numpy's threshold for asking for huge pages
MADV_HUGEPAGE = 14


@intrinsic
def _madvise(typingctx: Any, addr: Any, length: Any, advice: Any) -> Any:
    """libc ``madvise(addr, length, advice)``; returns its int result (0 or -1)."""
    if not (isinstance(addr, types.Integer) and isinstance(length, types.Integer)):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.IntType(32), [i8p, ir.IntType(64), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
        a, n, adv = args
        ptr = builder.inttoptr(a, i8p)
        n = context.cast(builder, n, sig.args[1], types.int64)
        adv = context.cast(builder, adv, sig.args[2], types.int32)
        return builder.call(fn, [ptr, n, adv])

    return types.int32(addr, length, advice), codegen


@njit(cache=True, nogil=True)
def _empty_huge(shape: tuple, dtype: type) -> np.ndarray:
    """np.empty, asking for huge pages over the 2 MiB-aligned part of a large array."""
    a = np.empty(shape, dtype)
    nbytes = a.size * a.itemsize
    if nbytes >= MIN_BYTES:
        start = (a.ctypes.data + (HUGE_PAGE - 1)) // HUGE_PAGE * HUGE_PAGE
        end = (a.ctypes.data + nbytes) // HUGE_PAGE * HUGE_PAGE
        if end > start:
            _madvise(start, end - start, MADV_HUGEPAGE)  # a hint: failure changes nothing
    return a


@njit(cache=True, nogil=True)
def _empty_plain(shape: tuple, dtype: type) -> np.ndarray:
    return np.empty(shape, dtype)


# np.empty(shape, dtype) for the generated programs (numba compiles its own np.empty for every
# graph, about 40 ms per rank and dtype; this cached function is compiled once per signature)
empty = _empty_huge if sys.platform.startswith("linux") else _empty_plain
