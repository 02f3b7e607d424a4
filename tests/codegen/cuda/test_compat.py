"""The numpy shim for numba-cuda: it adds ``np.row_stack`` only where numpy lacks it (numpy 2.5)
and leaves a numpy that has it alone."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from graphjit import cuda_compat


def test_the_alias_is_added_only_when_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(np, "row_stack"):
        before = np.row_stack
        assert cuda_compat.apply_numpy_shims() is False
        assert np.row_stack is before
        monkeypatch.delattr(np, "row_stack")
    assert cuda_compat.apply_numpy_shims() is True
    assert np.row_stack is np.vstack


def test_numba_cuda_loads_and_compiles_without_row_stack() -> None:
    """A fresh process where numpy has no ``row_stack`` (as numpy 2.5) compiles a kernel."""
    pytest.importorskip("numba_cuda")
    code = (
        "import numpy as np\n"
        "if hasattr(np, 'row_stack'):\n"
        "    del np.row_stack\n"
        "from graphjit.cuda_compat import import_numba_cuda\n"
        "cuda = import_numba_cuda()\n"
        "def k(x):\n"
        "    x[0] = 1.0\n"
        "ptx, _ = cuda.compile_ptx(k, '(float64[::1],)', cc=(7, 5))\n"
        "print('ok', np.row_stack is np.vstack)\n"
    )
    env = {"NUMBA_ENABLE_CUDASIM": "0"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "ok True"
