"""The CUDA backend's tests: ``cuda`` tests run on a device (a GPU, or numba's simulator under
NUMBA_ENABLE_CUDASIM=1, which CI runs as a step of its own); ``ptx`` tests compile kernels for
several compute capabilities and need numba-cuda with NVVM but no GPU."""

from __future__ import annotations

import pytest

from graphjit.cuda_compat import cuda_problem

PROBLEM = cuda_problem()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"no CUDA device: {PROBLEM}")
    for item in items:
        if PROBLEM is not None and item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
