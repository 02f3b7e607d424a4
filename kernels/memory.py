"""Allocation for the generated programs: ``np.empty``, plus transparent huge pages on Linux.

numba allocates arrays with plain ``malloc``. Above glibc's mmap threshold every large array is
fresh memory, and touching it costs one page fault per 4 KiB page: writing a new 80 MB result
takes about 45 ms where numpy (which asks the kernel for huge pages, ``madvise(MADV_HUGEPAGE)``,
for arrays of 4 MiB and more) takes about 10 ms. :func:`empty` does what numpy does.

:func:`empty` is an intrinsic: its code is written straight into the program calling it, as
numba's own ``np.empty`` is, so LLVM sees that a buffer is fresh memory and the loops writing it
vectorise with no check that it overlaps their inputs. It was an ``@njit`` function linked into
each program: that cost about 0.06 s of an MLP training step's 0.6 s compile, and it was
compiled again for every static shape a program allocated (``(n0, 256)`` and ``(n0, 10)`` are
different numba types, each with its literal 256 or 10).

``madvise`` is declared as an external symbol (resolved in the process when the code is loaded),
not called through ctypes, so programs that allocate with it can still be cached by numba.
"""

from __future__ import annotations

import sys
from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import populate_array

HUGE_PAGE = 1 << 21  # 2 MiB, the x86-64 and aarch64 transparent huge page
MIN_BYTES = 1 << 22  # numpy's threshold for asking for huge pages
MADV_HUGEPAGE = 14
ADVISE = sys.platform.startswith("linux")  # madvise's huge pages are Linux's


def _advise_huge_pages(builder: Any, data: Any, nbytes: Any) -> None:
    """Ask for huge pages over the 2 MiB-aligned part of ``nbytes`` at ``data`` when there are
    at least ``MIN_BYTES`` (a hint: its failure changes nothing)."""
    i64 = ir.IntType(64)
    big = builder.icmp_signed(">=", nbytes, ir.Constant(i64, MIN_BYTES))
    with builder.if_then(big, likely=False):
        address = builder.ptrtoint(data, i64)
        mask = ir.Constant(i64, ~(HUGE_PAGE - 1))
        start = builder.and_(builder.add(address, ir.Constant(i64, HUGE_PAGE - 1)), mask)
        end = builder.and_(builder.add(address, nbytes), mask)
        with builder.if_then(builder.icmp_signed(">", end, start)):
            # libc's int madvise(void *addr, size_t length, int advice); 0 or -1
            i8p = ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.IntType(32), [i8p, i64, ir.IntType(32)])
            madvise = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
            advice = ir.Constant(ir.IntType(32), MADV_HUGEPAGE)
            builder.call(madvise, [builder.inttoptr(start, i8p), builder.sub(end, start), advice])


@intrinsic
def empty(typingctx: Any, shape: Any, dtype: Any) -> Any:
    """``np.empty(shape, dtype)`` (C order) for the generated programs: ``shape`` a tuple of
    integers, ``dtype`` a numpy scalar type (``np.float32``). Huge pages for 4 MiB and more.
    A negative size, or one past the address space, raises ValueError; a refused allocation
    MemoryError."""
    if not (
        isinstance(shape, types.BaseTuple) and all(isinstance(t, types.Integer) for t in shape)
    ):
        return None
    if isinstance(dtype, types.NumberClass):
        element = dtype.instance_type
    elif isinstance(dtype, types.DType):
        element = dtype.dtype
    else:
        return None
    result = types.Array(element, len(shape), "C")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        intp = context.get_value_type(types.intp)
        values = cgutils.unpack_tuple(builder, args[0], len(shape))
        dims = [context.cast(builder, v, t, types.intp) for v, t in zip(values, shape)]
        itemsize = ir.Constant(intp, context.get_abi_sizeof(context.get_data_type(element)))
        # C-order strides, and the size in bytes with one check for all that can go wrong
        strides, nbytes, bad = [], itemsize, cgutils.false_bit
        for d in reversed(dims):
            strides.insert(0, nbytes)
            product = builder.smul_with_overflow(nbytes, d)
            nbytes = builder.extract_value(product, 0)
            bad = builder.or_(bad, builder.extract_value(product, 1))
            bad = builder.or_(bad, builder.icmp_signed("<", d, ir.Constant(intp, 0)))
        with cgutils.if_unlikely(builder, bad):
            # numpy's words for the overflow (the runtime recognises them and names the call)
            message = "array is too big (or a dimension is negative)"
            context.call_conv.return_user_exc(builder, ValueError, (message,))
        align = context.get_preferred_array_alignment(element)
        meminfo = context.nrt.meminfo_alloc_aligned(builder, nbytes, align)  # MemoryError
        data = context.nrt.meminfo_data(builder, meminfo)
        array = context.make_array(result)(context, builder)
        populate_array(
            array,
            data=builder.bitcast(data, context.get_data_type(element).as_pointer()),
            shape=cgutils.pack_array(builder, dims, ty=intp),
            strides=cgutils.pack_array(builder, strides, ty=intp),
            itemsize=itemsize,
            meminfo=meminfo,
        )
        if ADVISE:
            _advise_huge_pages(builder, data, nbytes)
        return array._getvalue()

    return result(shape, dtype), codegen


def fill_array(a, value):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    """Every element of array ``a`` set to ``value``, by a flat loop when ``a`` is C-contiguous
    (``kops.fill``, and the kernels zeroing their outputs): numba's ``a[...] = value`` compiles
    its general broadcasting setitem (about a second per signature on a fresh install, where the
    kernels calling it compile first)."""


@overload(fill_array, jit_options={"nogil": True})
def _fill_array(a, value):  # type: ignore[no-untyped-def]
    if a.layout != "C":

        def strided(a, value):  # type: ignore[no-untyped-def]
            a[...] = value

        return strided

    def flat(a, value):  # type: ignore[no-untyped-def]
        f = a.reshape(a.size)
        for i in range(f.size):
            f[i] = value

    return flat
