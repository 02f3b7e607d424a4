"""A long compile says so after a few seconds, and Ctrl-C interrupts it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen import numba_cpu
from graphjit.codegen.numba_cpu import CpuExecutable
from graphjit.errors import SlowCompileWarning


class _SlowProgram:
    """Stands in for a numba dispatcher whose first call compiles until the warning is out."""

    def __init__(self, seen: list[Any]) -> None:
        self.seen = seen
        self.signatures: list[Any] = []

    def disable_compile(self, flag: bool = True) -> None:
        pass

    def __call__(self, *args: Any) -> str:
        deadline = time.monotonic() + 30
        while not self.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        self.signatures.append("sig")
        return "done"


def test_a_long_compile_warns_once_naming_the_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba_cpu, "SLOW_COMPILE_SECONDS", 0.05)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        program = _SlowProgram(seen)
        ex = CpuExecutable("", program, [], what="a graph of 12 nodes")
        assert ex([], []) == "done"
    slow = [w for w in seen if issubclass(w.category, SlowCompileWarning)]
    assert len(slow) == 1
    assert "a graph of 12 nodes" in str(slow[0].message)
    assert "Ctrl-C" in str(slow[0].message)
    assert "hand-written kernels" in str(slow[0].message)  # a fresh install compiles them too


def test_a_quick_compile_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowCompileWarning)
        x = gj.placeholder("x", shape=(None,))
        f = gj.compile([x], x * 2.0 + 1.0, backend="cpu")
        np.testing.assert_array_equal(f(np.arange(3.0)), [1.0, 3.0, 5.0])


CHILD = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    import graphjit as gj
    from graphjit.codegen import numba_cpu

    numba_cpu.SLOW_COMPILE_SECONDS = 0.5
    warnings.simplefilter("always")
    x = gj.placeholder("x", shape=(None,))
    y = x
    for i in range(400):
        y = gj.sin(y) * 0.5 + float(i % 5)
    f = gj.compile([x], [y], backend="cpu")
    f(np.ones(4))
    print("FINISHED", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_interrupts_a_long_compile_cleanly(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "GRAPHJIT_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        lines = []
        for line in child.stderr:  # the warning comes while numba is compiling
            lines.append(line)
            if "SlowCompileWarning" in line:
                break
        else:
            pytest.fail("the child ended without warning: " + "".join(lines))
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=240)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0
    assert "KeyboardInterrupt" in err
    assert "FINISHED" not in out
    # the generated module was written whole before numba started; nothing is half-written
    assert not list(cache.rglob("*.tmp"))
