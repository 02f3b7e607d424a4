"""The positions of the true elements of a boolean device array, in order, computed on the device
(eager ``nonzero`` and ``masked_select`` on cuda tensors, whose result's size depends on the data).

Three kernels and one small read: each thread counts the true elements of a run of ``RUN``
consecutive elements (``_count_runs``); one block turns the counts into each run's exclusive
offset and the total (``_scan_counts``); the total, one int64, is copied to the host to size the
result (PyTorch synchronises here too); then each thread writes its run's positions from its
offset (``_write_positions``), so the positions come out in increasing order. ``_unravel`` turns
flat positions into one coordinate per dim (``nonzero``'s ``(n, ndim)`` result).
"""

from __future__ import annotations

import numpy as np
from graphjit.kernels.cuda.launch import BLOCK, blocks, flat
from numba import cuda, int64

RUN = 64  # consecutive elements each thread counts and writes, in order


@cuda.jit
def _count_runs(flags, counts):  # type: ignore[no-untyped-def]
    n = flags.shape[0]
    for t in range(cuda.grid(1), counts.shape[0], cuda.gridsize(1)):
        c = 0
        for k in range(t * RUN, min(t * RUN + RUN, n)):
            if flags[k]:
                c += 1
        counts[t] = c


@cuda.jit
def _scan_counts(counts, offsets, total):  # type: ignore[no-untyped-def]
    # one block: each thread sums a contiguous segment of the counts, thread 0 scans the BLOCK
    # segment sums in shared memory, then each thread writes its segment's offsets
    sums = cuda.shared.array(BLOCK, int64)
    tid = cuda.threadIdx.x
    n = counts.shape[0]
    seg = (n + BLOCK - 1) // BLOCK
    start = tid * seg
    stop = min(start + seg, n)
    s = 0
    for k in range(start, stop):
        s += counts[k]
    sums[tid] = s
    cuda.syncthreads()
    if tid == 0:
        acc = 0
        for k in range(BLOCK):
            v = sums[k]
            sums[k] = acc
            acc += v
        total[0] = acc
    cuda.syncthreads()
    acc = sums[tid]
    for k in range(start, stop):
        offsets[k] = acc
        acc += counts[k]


@cuda.jit
def _write_positions(flags, offsets, out):  # type: ignore[no-untyped-def]
    n = flags.shape[0]
    for t in range(cuda.grid(1), offsets.shape[0], cuda.gridsize(1)):
        o = offsets[t]
        for k in range(t * RUN, min(t * RUN + RUN, n)):
            if flags[k]:
                out[o] = k
                o += 1


@cuda.jit
def _unravel(positions, dims, out):  # type: ignore[no-untyped-def]
    for k in range(cuda.grid(1), positions.shape[0], cuda.gridsize(1)):
        rem = positions[k]
        for j in range(dims.shape[0] - 1, -1, -1):
            out[k, j] = rem % dims[j]
            rem //= dims[j]


def flatnonzero(mask):  # type: ignore[no-untyped-def]
    """The flat positions of the true elements of the C-contiguous boolean device array
    ``mask``, in increasing order: a new 1-D int64 device array (its length read to the host)."""
    flags = flat(mask)
    n = flags.shape[0]
    if n == 0:
        return cuda.device_array(0, np.int64)
    runs = (n + RUN - 1) // RUN
    counts = cuda.device_array(runs, np.int64)
    offsets = cuda.device_array(runs, np.int64)
    total = cuda.device_array(1, np.int64)
    _count_runs[blocks(runs), BLOCK](flags, counts)
    _scan_counts[1, BLOCK](counts, offsets, total)
    found = int(total.copy_to_host()[0])
    out = cuda.device_array(found, np.int64)
    if found:
        _write_positions[blocks(runs), BLOCK](flags, offsets, out)
    return out


def unravel(positions, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """The coordinates of the flat ``positions`` (a 1-D int64 device array) in an array of
    ``shape``: a new ``(len(positions), len(shape))`` int64 device array."""
    out = cuda.device_array((positions.shape[0], len(shape)), np.int64)
    if positions.shape[0] and shape:
        dims = cuda.to_device(np.array(shape, np.int64))
        _unravel[blocks(positions.shape[0]), BLOCK](positions, dims, out)
    return out
