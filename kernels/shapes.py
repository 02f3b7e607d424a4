"""Shape helpers called from generated programs."""

from __future__ import annotations

from graphjit.kernels import extern
from numba import njit

# stands for a missing slice bound (python's None) in slice_length
NONE = -(2**63) + 1


@njit(cache=True, nogil=True)
def slice_length(n: int, start: int, stop: int, step: int) -> int:
    """``len(range(n)[start:stop:step])`` with python slice semantics (NONE for a missing bound)."""
    if step > 0:
        lo = 0 if start == NONE else (max(start + n, 0) if start < 0 else min(start, n))
        hi = n if stop == NONE else (max(stop + n, 0) if stop < 0 else min(stop, n))
        return max((hi - lo + step - 1) // step, 0)
    lo = n - 1 if start == NONE else (max(start + n, -1) if start < 0 else min(start, n - 1))
    hi = -1 if stop == NONE else (max(stop + n, -1) if stop < 0 else min(stop, n - 1))
    return max((lo - hi + (-step) - 1) // (-step), 0)


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
