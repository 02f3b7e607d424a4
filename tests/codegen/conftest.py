"""Backend tests share one kernel cache for the session (a fresh temp dir, so a cache from an
earlier run cannot hide a compile failure) and stay single-threaded unless a test asks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in ("GRAPHJIT_CACHE_DIR", "GRAPHJIT_NUM_THREADS")}
    if not os.environ.get("GRAPHJIT_CACHE_DIR"):
        os.environ["GRAPHJIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel-cache"))
    os.environ.setdefault("GRAPHJIT_NUM_THREADS", "1")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
