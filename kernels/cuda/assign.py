"""Assignment into device arrays, ``a[index] = value`` (eager ``Tensor.__setitem__`` on cuda
tensors; the index is read into a plan on the host by ``graphjit.tensor.assign``).

Every assignment writes the positions of its result, the shape the indexed view has, in C
order. ``_scatter`` takes position ``r``, splits it into one coordinate per result dim and finds
both its source element (the value, broadcast: a stride of 0 repeats it) and its target element:
the target's offset is a base plus each coordinate times a stride (slices, ``None``) plus, for
advanced indices, each index array's entry times its axis's stride. The index arrays, broadcast
together, are one row each of an int64 matrix, read at the position ``b`` the result's advanced
dims make.

With advanced indices the same target element may be named more than once; numpy's rule is that
the last write wins. ``_claim`` runs first over the index positions: it wraps negative indices,
flags any out of range (the host reads only the flags, and raises before anything is written),
records the first position of one (an atomic min), and leaves in ``winner`` the greatest
position naming each element (an atomic max). ``_scatter``
then writes only from that position, so the result does not depend on the order threads run in.

``_masked_copy`` is the common ``a[mask] = v`` with a mask over the leading dims and ``v``
broadcast to the dims left: one pass, no read back to the host.
"""

from __future__ import annotations

import numpy as np
from graphjit.kernels.cuda.launch import BLOCK, blocks
from graphjit.kernels.cuda.memory import fill
from numba import cuda

# the rows of a scatter's plan: per result dim its size, the target's and the source's stride,
# and its stride in the flat position of the advanced dims (0 for a dim of its own)
SIZE, DST_STRIDE, SRC_STRIDE, BLOCK_STRIDE = range(4)
# the rows of the advanced index arrays' plan: per array the target axis's stride, its stride in
# the key naming an element of the indexed axes, and the axis's size
AXIS_STRIDE, KEY_STRIDE, AXIS_SIZE = range(3)


@cuda.jit
def _scatter(dst, base, plan, src, rows, axes, winner, total):  # type: ignore[no-untyped-def]
    m = plan.shape[1]
    k_count = rows.shape[0]
    for r in range(cuda.grid(1), total, cuda.gridsize(1)):
        rem = r
        d_off = base
        s_off = 0
        b = 0
        for d in range(m - 1, -1, -1):
            n = plan[SIZE, d]
            c = rem % n
            rem //= n
            d_off += c * plan[DST_STRIDE, d]
            s_off += c * plan[SRC_STRIDE, d]
            b += c * plan[BLOCK_STRIDE, d]
        if k_count > 0:
            key = 0
            for k in range(k_count):
                i = rows[k, b]
                d_off += i * axes[AXIS_STRIDE, k]
                key += i * axes[KEY_STRIDE, k]
            if winner[key] != b:
                continue  # a later position writes this element
        dst[d_off] = src[s_off]


@cuda.jit
def _claim(rows, axes, winner, first_bad):  # type: ignore[no-untyped-def]
    k_count = rows.shape[0]
    for b in range(cuda.grid(1), rows.shape[1], cuda.gridsize(1)):
        key = 0
        inside = True
        for k in range(k_count):
            i = rows[k, b]
            n = axes[AXIS_SIZE, k]
            if i < 0:
                i += n
            if i < 0 or i >= n:
                inside = False
                cuda.atomic.min(first_bad, k, b)  # left as given, for the error message
            else:
                rows[k, b] = i
                key += i * axes[KEY_STRIDE, k]
        if inside:
            cuda.atomic.max(winner, key, b)


@cuda.jit
def _masked_copy(dst, mask, plan, src):  # type: ignore[no-untyped-def]
    m = plan.shape[1]
    inner = dst.shape[0] // mask.shape[0]
    for t in range(cuda.grid(1), dst.shape[0], cuda.gridsize(1)):
        if mask[t // inner]:
            rem = t % inner
            s_off = 0
            for d in range(m - 1, -1, -1):
                n = plan[SIZE, d]
                s_off += (rem % n) * plan[SRC_STRIDE, d]
                rem //= n
            dst[t] = src[s_off]


def scatter(dst, base: int, plan, total: int, src, advanced=None) -> None:  # type: ignore[no-untyped-def]
    """Write ``src`` (1-D, C-contiguous) into the flat device array ``dst`` at the ``total``
    positions of ``plan`` (an int64 ``(4, ndim)`` device array, rows ``SIZE`` ... above), from
    the element at ``base``. ``advanced`` is None, or ``(rows, axes, winner)``: the index arrays
    (after :func:`claim`), their plan (rows ``AXIS_STRIDE`` ...) and :func:`claim`'s winners."""
    if total == 0:
        return
    if advanced is None:
        rows = cuda.device_array((0, 1), np.int64)
        axes = cuda.device_array((3, 0), np.int64)
        winner = cuda.device_array(1, np.int64)
    else:
        rows, axes, winner = advanced
    _scatter[blocks(total), BLOCK](dst, base, plan, src, rows, axes, winner, total)


def claim(rows, axes, keys: int):  # type: ignore[no-untyped-def]
    """Wrap the negative indices of ``rows`` (int64, one index array a row) in place; return
    ``(winner, first_bad)``: for each of the ``keys`` elements of the indexed axes the last
    position naming it (-1: none), and per index array the first position of an index out of
    range (``rows.shape[1]``: none; that index is left as given). Read ``first_bad`` before
    trusting ``rows``."""
    winner = cuda.device_array(max(keys, 1), np.int64)
    fill(winner, -1)
    first_bad = cuda.device_array(rows.shape[0], np.int64)
    fill(first_bad, rows.shape[1])
    if rows.shape[1]:
        _claim[blocks(rows.shape[1]), BLOCK](rows, axes, winner, first_bad)
    return winner, first_bad


def masked_copy(dst, mask, plan, src) -> None:  # type: ignore[no-untyped-def]
    """Where the flat boolean ``mask`` is true, write the elements of ``dst`` under it (each
    mask element covers ``dst.size // mask.size`` consecutive ones) from ``src``, broadcast by
    ``plan`` (a scatter's plan over the trailing dims: its ``SIZE`` and ``SRC_STRIDE`` rows)."""
    if dst.shape[0]:
        _masked_copy[blocks(dst.shape[0]), BLOCK](dst, mask, plan, src)
