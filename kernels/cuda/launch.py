"""Launch configuration of the generated kernels, from the device's SM count.

Grid-stride kernels get enough blocks of ``BLOCK`` threads to fill the device (``BLOCKS_PER_SM``
per SM) and no more than the work needs. Under numba's simulator, which runs every thread as a
Python thread, blocks are small and few.
"""

from __future__ import annotations

import functools
import os

from numba import cuda

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
BLOCK = 32 if SIMULATOR else 256  # threads per block (a power of 2: the tree reductions halve it)
BLOCKS_PER_SM = 16
MAX_PARTS = 1024  # chunks of one reduction output (combined in order by a second kernel)
MIN_CHUNK = 4096  # elements a reduction block handles at least before the work is split


@functools.cache
def sm_count() -> int:
    if SIMULATOR:
        return 1
    return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)


def blocks(total: int) -> int:
    """Blocks for a grid-stride kernel over ``total`` items."""
    want = (total + BLOCK - 1) // BLOCK
    return max(1, min(want, sm_count() * BLOCKS_PER_SM, 4 if SIMULATOR else want))


def reduce_blocks(jobs: int) -> int:
    """Blocks for a reduction kernel with ``jobs`` (output, part) pairs, one block per job."""
    return max(1, min(jobs, sm_count() * BLOCKS_PER_SM * 4, 4 if SIMULATOR else jobs))


def parts(nout: int, nred: int) -> int:
    """Chunks each output's ``nred`` elements are split into: enough blocks to fill the device
    when the outputs are few; 1 when there are enough outputs. Depends only on the sizes and the
    device, so the reduction order (and the bits) are the same on every run."""
    if nout == 0 or nred <= MIN_CHUNK:
        return 1
    target = sm_count() * BLOCKS_PER_SM
    if nout >= target:
        return 1
    want = (target + nout - 1) // nout
    return max(1, min(want, (nred + MIN_CHUNK - 1) // MIN_CHUNK, MAX_PARTS))


def flat(a):  # type: ignore[no-untyped-def]
    """A C-contiguous device array as 1-D (a view; a 0-d array becomes one element)."""
    return a.reshape(a.size)
