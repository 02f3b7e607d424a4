"""The on-disk kernel cache: cold and warm processes, corrupted files, concurrent compiles, an
unwritable directory, and the info/clear functions the CLI calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from graphjit.kernels import extern

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


# a warm process: BLAS, a reduction, an in-program shape check and a parallel program loaded from
# the cache, then a repeat driver and a graph never cached compiled in the same process
WARM_SCRIPT = """
import os, sys
import numpy as np
import graphjit as gj
a = gj.placeholder("a", (None, 3))
b = gj.placeholder("b", (3, 2))
w = gj.variable(np.ones(2), name="w")
step = gj.compile([a, b], gj.sum(gj.tanh(a @ b) * w, axis=0), updates={w: w * 0.5})
print(np.round(step(np.arange(6.0).reshape(2, 3), np.ones((3, 2))), 9).tolist())
print(sorted(m for m in ("numba.np.arraymath", "numba.typed.typeddict") if m in sys.modules))
x, y = gj.placeholder("x", (None,)), gj.placeholder("y", (None,))
pair = gj.compile([x, y], gj.exp(x) + y)
try:
    pair(np.ones(2), np.ones(3))
except ValueError as exc:
    print("ValueError", "wrong size on axis 0" in str(exc))
last = step.repeat(2, np.ones((1, 3)), np.ones((3, 2)))
print(np.round(last, 9).tolist(), w.get_value().tolist())
wide = gj.compile([x], gj.tanh(x) * 0.5 + 1.0)  # 300,000 elements: its parallel program
print(float(np.round(wide(np.full(300_000, 0.25)).sum(), 6)))
fresh = gj.compile([x], gj.cumsum(x) * float(os.getpid()))
print(fresh(np.ones(3)).tolist() == [float(os.getpid()) * k for k in (1, 2, 3)])
stats = step._executable._program.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_a_warm_process_loads_machine_code_without_numbas_compiler(tmp_path: Path) -> None:
    """Loading cached code skips numba's typing and lowering registries (its numpy support,
    typed containers); the loaded programs (a parallel one too) compute, raise their shape errors
    and are called by newly compiled code, and a cache miss in the same process still compiles."""
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("PYTEST_XDIST_WORKER", None)  # two threads: the parallel program is used
    env["GRAPHJIT_NUM_THREADS"] = "2"

    def lines() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", WARM_SCRIPT], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    cold, warm = lines(), lines()
    t = round(float(np.sum(np.tanh(np.array([3.0, 12.0])))), 9)
    assert cold[0] == warm[0] == str([t, t])
    assert cold[1] == "['numba.np.arraymath', 'numba.typed.typeddict']"  # compiling imports them
    assert warm[1] == "[]"
    assert cold[2:6] == warm[2:6] == ["ValueError True", cold[3], cold[4], "True"]
    # the first call left w at 0.5; two steps output with w = 0.25, then leave it at 0.125
    assert cold[3] == f"{[round(float(np.tanh(3.0)) * 0.25, 9)] * 2} [0.125, 0.125]"
    assert float(cold[4]) == pytest.approx(300_000 * (np.tanh(0.25) * 0.5 + 1.0))
    assert cold[6] == "0 1" and warm[6] == "1 0"
    parallel = list((tmp_path / "__pycache__").glob(cache.PREFIX + "*.program_parallel-*.nbi"))
    assert len(parallel) == 1  # compiled by the cold process, loaded by the warm one


# programs calling hand-written kernels with prange loops inside (pooling, resampling,
# convolution): a warm process loads their parallel machine code from the cache
KERNELS_SCRIPT = """
import numpy as np
import graphjit as gj
F = gj.nn.functional
x = gj.placeholder("x", (None, 2, 8, 8))
w = gj.constant(np.ones((3, 2, 3, 3)) * 0.1)
y = F.interpolate(F.max_pool2d(F.conv2d(x, w), 2), scale_factor=2.0, mode="bilinear")
f = gj.compile([x], [gj.sum(y), gj.sum(F.avg_pool2d(x, 2))])
print([round(float(v), 9) for v in f(np.linspace(0.0, 1.0, 3 * 128).reshape(3, 2, 8, 8))])
stats = f._executable._program.stats  # loaded from the disk cache, or compiled
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_a_warm_process_runs_kernels_with_parallel_loops(tmp_path: Path) -> None:
    """A program whose kernels run prange loops, loaded from the cache in a fresh process, finds
    numba's threads running (numba starts them only for its own parallel=True functions: without
    the module starting them, the warm process crashed)."""
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))

    def values() -> str:
        out = subprocess.run(
            [sys.executable, "-c", KERNELS_SCRIPT], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
        return out.stdout.strip()

    cold, cold_stats = values().splitlines()
    assert cold_stats == "0 1"
    assert values().splitlines() == [cold, "1 0"]  # the kernels it calls by symbol were bound
    x = np.linspace(0.0, 1.0, 3 * 128).reshape(3, 2, 8, 8)
    assert float(cold.strip("[]").split(",")[1]) == pytest.approx(float(np.sum(x)) / 4)
    # without the registry of those symbols the cached machine code is not loaded (it would call
    # unknown symbols): the program compiles again, with the same results
    shutil.rmtree(tmp_path / "extern")
    assert values().splitlines() == [cold, "0 1"]
    assert values().splitlines() == [cold, "1 0"]


def test_corrupt_registry_files_are_rewritten(tmp_path: Path) -> None:
    """A registry file of a kernel's symbol that does not load makes the program a cache miss;
    the process compiling it again writes the file anew, so the next process loads the program
    (the corrupt file was kept, and every process compiled)."""
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))

    def values() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", KERNELS_SCRIPT], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
        return out.stdout.splitlines()

    cold, _ = values()
    registry = list((tmp_path / "extern").glob("*.pkl"))
    assert registry
    for path in registry:
        path.write_bytes(path.read_bytes()[:20])  # truncated
    assert values() == [cold, "0 1"]
    assert values() == [cold, "1 0"]


def test_large_kernels_are_called_by_symbol_not_linked_into_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program calling a convolution and a pooling holds calls to their symbols, not their
    code (which numba would optimise and compile again for every program). Compiled here, in an
    empty cache: numba keeps no IR of code it loads."""
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))
    f_ = gj.nn.functional
    x = gj.placeholder("x", (None, 2, 9, 7))  # a shape no other test compiles
    w = gj.constant(np.ones((3, 2, 3, 3)) * 0.1)
    outs = [gj.sum(f_.max_pool2d(f_.conv2d(x, w), 2))]
    data = np.linspace(0.0, 1.0, 2 * 126).reshape(2, 2, 9, 7)
    f = gj.compile([x], outs)
    np.testing.assert_allclose(f(data), gj.compile([x], outs, backend="numpy")(data), rtol=1e-12)
    (cres,) = f._executable._program.overloads.values()
    ir = cres.library.get_llvm_str()
    assert extern.PREFIX in ir
    assert "_columns" not in ir and "_max_windows" not in ir and "_max_values" not in ir


# a kernel calling its parts by symbol (kernels/extern.py), called straight from Python; prints
# the pooled values, then its numba cache hits and misses
KERNEL_SCRIPT = """
import numpy as np
{first}
from graphjit.kernels import pool
x = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 1, 4, 4)
out = np.empty((2, 1, 2, 2))
pool.max_pool(x, out, (1, 2, 2), (1, 2, 2), (0, 0, 0), (1, 1, 1), False)
print(out.ravel().tolist())
print(sum(pool.max_pool.stats.cache_hits.values()), sum(pool.max_pool.stats.cache_misses.values()))
"""


@pytest.mark.parametrize("with_graphjit_cache", [True, False])
def test_a_kernel_calling_kernels_by_symbol_loads_in_a_fresh_process(
    tmp_path: Path, with_graphjit_cache: bool
) -> None:
    """max_pool's cached code calls its window loops by symbol: a process calling it first
    binds them before loading (a hit), whether graphjit's cache registers them or, without it
    (the kernels of an exported model), the kernel package does; without their registry files it
    compiles again rather than load code calling unknown symbols (which aborts the process)."""
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")  # the kernels' own cache, empty
    first = "import graphjit.cache" if with_graphjit_cache else "import graphjit"

    def lines() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", KERNEL_SCRIPT.format(first=first)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    expected = str([5.0, 7.0, 13.0, 15.0, 21.0, 23.0, 29.0, 31.0])
    assert lines() == [expected, "0 1"]
    assert lines() == [expected, "1 0"]
    if with_graphjit_cache:
        shutil.rmtree(tmp_path / "extern")
        assert lines() == [expected, "0 1"]


def test_every_kernel_module_with_prange_loops_is_known_to_the_emitter() -> None:
    """program.PARALLEL_KERNEL_CALL names the kernels whose programs must start numba's threads:
    a new module with prange loops has to join it."""
    from graphjit.codegen.numba_cpu.program import PARALLEL_KERNEL_CALL

    kernels = ROOT / "kernels"
    with_prange = sorted(
        p.stem for p in kernels.glob("*.py") if "prange" in p.read_text(encoding="utf-8")
    )
    assert with_prange == ["conv", "pool", "resample"]
    assert PARALLEL_KERNEL_CALL.search("kops.conv_forward(x0, w0, b0)")
    assert PARALLEL_KERNEL_CALL.search("kpool.max_pool(") and PARALLEL_KERNEL_CALL.search(
        "kresample.resample("
    )
    assert not PARALLEL_KERNEL_CALL.search("kops.matmul_blas(x0, w0, b0)")


def test_only_cpu_functions_load_without_the_compiler_registries() -> None:
    """The lean load starts numba's CPU runtime: a cache of another target (a CUDA kernel's,
    which selects its target before loading) keeps numba's own loader."""

    class OtherTargetCache:
        def load_overload(self, sig: object, target_context: object) -> str:
            return "own loader"

        def _load_overload(self, sig: object, target_context: object) -> None:
            raise AssertionError("the lean loader ran for another target")

        def _guard_against_spurious_io_errors(self) -> object:
            raise AssertionError("the lean loader ran for another target")

    other = OtherTargetCache()
    extern.install_loader(other)
    assert other.load_overload(None, None) == "own loader"
    mod = cache.load_module(
        "from numba import njit\n\n@njit(cache=globals().get('CACHE', False))\n"
        "def twice(x):\n    return 2 * x\n"
    )
    assert mod.twice(21) == 42
    assert "load_overload" in vars(mod.twice._cache)  # patched on the instance, CPU only


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


def test_machine_code_damaged_inside_an_intact_pickle_recompiles(tmp_path: Path) -> None:
    # bytes flipped inside the object code (bit rot, a bad copy) leave numba's pickle readable:
    # loading that code aborted the process in LLVM, or crashed it, on every later run
    assert run(tmp_path) == (EXPECTED, 0, 1)
    data = sorted((tmp_path / "__pycache__").glob("*.nbc"))
    assert data and all(Path(f"{f}.sum").is_file() for f in data)
    for f in data:
        blob = bytearray(f.read_bytes())
        at = len(blob) // 3
        blob[at : at + 16] = bytes(b ^ 0x5A for b in blob[at : at + 16])
        f.write_bytes(bytes(blob))
    assert run(tmp_path) == (EXPECTED, 0, 1)  # a miss: compiled and written again
    assert run(tmp_path) == (EXPECTED, 1, 0)  # and loaded from then on


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
