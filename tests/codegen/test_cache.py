"""The on-disk kernel cache: cold and warm processes, corrupted files, concurrent compiles, an
unwritable directory, and the info/clear functions the CLI calls."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphjit as gj
from graphjit import cache

ROOT = Path(__file__).resolve().parents[2]

# prints: result, then numba cache hits and misses of the program
SCRIPT = """
import sys
import numpy as np
import graphjit as gj
x = gj.placeholder("x", (None,))
f = gj.compile([x], gj.sum(gj.exp(x) * 2.0 + x))
print(float(f(np.arange(4.0))))
stats = f._executable._program.stats
print(sum(stats.cache_hits.values()))
print(sum(stats.cache_misses.values()))
"""
EXPECTED = float(np.sum(np.exp(np.arange(4.0)) * 2.0 + np.arange(4.0)))


def run(cache_dir: Path, script: str = SCRIPT) -> tuple[float, int, int]:
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    value, hits, misses = out.stdout.split()[-3:]
    return float(value), int(hits), int(misses)


def test_cold_then_warm_process(tmp_path: Path) -> None:
    value, hits, misses = run(tmp_path)
    assert value == pytest.approx(EXPECTED) and hits == 0 and misses == 1
    modules = list(tmp_path.glob(cache.PREFIX + "*.py"))
    assert len(modules) == 1
    assert list((tmp_path / "__pycache__").glob(modules[0].stem + ".*.nbi"))
    value, hits, misses = run(tmp_path)
    assert value == pytest.approx(EXPECTED) and hits == 1 and misses == 0


def test_corrupt_and_truncated_files_recompile(tmp_path: Path) -> None:
    run(tmp_path)
    (module,) = tmp_path.glob(cache.PREFIX + "*.py")
    module.write_text(module.read_text()[:200])  # truncated generated source
    for f in (tmp_path / "__pycache__").glob(module.stem + ".*"):
        f.write_bytes(f.read_bytes()[:40] + b"garbage")  # corrupt numba index and data
    value, hits, misses = run(tmp_path)
    assert value == pytest.approx(EXPECTED) and misses == 1
    value, hits, misses = run(tmp_path)  # and the repaired cache is used again
    assert value == pytest.approx(EXPECTED) and hits == 1


def test_concurrent_processes_compiling_the_same_graph(tmp_path: Path) -> None:
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert float(out.split()[0]) == pytest.approx(EXPECTED)
    assert len(list(tmp_path.glob(cache.PREFIX + "*.py"))) == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_unwritable_cache_dir_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(cache, "_warned", False)
    x = gj.placeholder("x", (None,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = gj.compile([x], gj.sqrt(x) * 3.25 + 0.125)  # a graph no other test compiles
        np.testing.assert_allclose(f(np.arange(3.0)), np.sqrt(np.arange(3.0)) * 3.25 + 0.125)
    assert any("not writable" in str(w.message) for w in caught)


def test_same_graph_twice_in_one_process_reuses_the_module() -> None:
    x = gj.placeholder("x", (None, 2))
    a = gj.compile([x], gj.tanh(x) + 1)
    b = gj.compile([x], gj.tanh(x) + 1)
    assert a._executable._program is b._executable._program


def test_info_and_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path / "c"))
    assert "not created yet" in cache.cache_info()
    assert cache.cache_clear() == 0
    run(tmp_path / "c")
    info = cache.cache_info()
    assert str(tmp_path / "c") in info and "generated modules: 1" in info
    assert cache.cache_clear() >= 3  # the module, numba's index and data
    assert "generated modules: 0" in cache.cache_info()
    assert not list((tmp_path / "c").rglob(cache.PREFIX + "*"))


def test_the_key_covers_the_hand_written_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba links graphjit.kernels into each cached program without tracking them, so editing
    a kernel must give every program a new cache key."""
    before = cache.source_hash("src")
    assert cache.kernels_fingerprint() == cache.kernels_fingerprint()  # memoised, stable
    monkeypatch.setattr(cache, "kernels_fingerprint", lambda: "edited")
    assert cache.source_hash("src") != before
