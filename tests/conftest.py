"""Shared fixtures: backends to run on, a seeded random generator, hypothesis profiles."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# CI explores a fixed set of examples (a red run can be replayed); locally hypothesis explores anew.
settings.register_profile(
    "ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _cuda_available() -> bool:
    if not _has_module("graphjit.codegen.cuda"):
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


# A backend is skipped only when its module does not exist (or, for cuda, there is no GPU): a
# backend module that exists but fails to import is an error, not a skip.
BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param(
        "cpu",
        id="cpu",
        marks=pytest.mark.skipif(
            not _has_module("graphjit.codegen.numba_cpu"), reason="numba CPU backend not present"
        ),
    ),
    pytest.param(
        "cuda",
        id="cuda",
        marks=pytest.mark.skipif(not _cuda_available(), reason="no CUDA device"),
    ),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each available backend in turn ("numpy" always; "cpu" and "cuda" when present)."""
    name: str = request.param
    return name


@pytest.fixture(params=BACKEND_PARAMS[1:])
def compiled_backend(request: pytest.FixtureRequest) -> str:
    """Each available compiling backend ("cpu", "cuda"), for checks against the interpreter."""
    name: str = request.param
    return name


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (pip installs, ...)")
    config.addinivalue_line(
        "markers", "cuda: runs kernels on a CUDA device (a GPU, or NUMBA_ENABLE_CUDASIM=1)"
    )
    config.addinivalue_line("markers", "ptx: compiles CUDA kernels to PTX (numba-cuda, no GPU)")
