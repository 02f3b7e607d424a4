"""Files, the kernel cache and updates under faults: a process killed while writing the cache, a
full disk, saved files from another graphjit format version, and Ctrl-C between the writes of a
step's update."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit import cache

ROOT = Path(__file__).resolve().parents[1]

# a graph no other test compiles, so the in-process module table never has it already
GRAPH = """
import numpy as np
import graphjit as gj
x = gj.placeholder("x", (None,))
f = gj.compile([x], gj.sum(gj.cos(x) * 1.75 - x * 0.5))
print(float(f(np.arange(5.0))))
"""
EXPECTED = float(np.sum(np.cos(np.arange(5.0)) * 1.75 - np.arange(5.0) * 0.5))

# stall inside graphjit's write of the generated module, after part of it reached the disk
STALL_IN_MODULE_WRITE = """
import os, pathlib, sys, time
marker = pathlib.Path(sys.argv[1])
real_fsync = os.fsync
def stalled_fsync(fd):
    os.write(fd, b"# a torn tail")
    marker.write_text("writing")
    time.sleep(600)
os.fsync = stalled_fsync
"""

# stall inside numba's write of its cache index, with a torn index file in place
STALL_IN_NUMBA_WRITE = """
import pathlib, sys, time
from numba.core import caching
marker = pathlib.Path(sys.argv[1])
def stalled_save_index(self, overloads):
    pathlib.Path(self._index_path).write_bytes(b"\\x80\\x04torn")
    marker.write_text("writing")
    time.sleep(600)
caching.IndexDataCacheFile._save_index = stalled_save_index
"""


def _env(cache_dir: Path) -> dict[str, str]:
    return dict(os.environ, GRAPHJIT_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))


def _run(cache_dir: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", GRAPH],
        env=_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.split()[-1])


def _kill_while_writing(cache_dir: Path, stall: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", stall + GRAPH, str(marker)],
        env=_env(cache_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # wait (without a deadline on the outcome) until the child is inside the write
        for _ in range(3000):
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), child.stderr.read() if child.stderr else "no marker"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    "stall", [STALL_IN_MODULE_WRITE, STALL_IN_NUMBA_WRITE], ids=["module", "numba"]
)
def test_process_killed_while_writing_the_cache(tmp_path: Path, stall: str) -> None:
    cache_dir = tmp_path / "cache"
    _kill_while_writing(cache_dir, stall, tmp_path)
    # the cache holds no partial module under its real name
    for module in cache_dir.glob(cache.PREFIX + "*.py"):
        assert b"torn" not in module.read_bytes()
    assert _run(cache_dir) == pytest.approx(EXPECTED)
    assert _run(cache_dir) == pytest.approx(EXPECTED)  # and the repaired cache serves again
    modules = list(cache_dir.glob(cache.PREFIX + "*.py"))
    assert len(modules) == 1
    assert list((cache_dir / "__pycache__").glob(modules[0].stem + ".*.nbi"))


def test_stray_temporary_files_are_cleared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    _kill_while_writing(cache_dir, STALL_IN_MODULE_WRITE, tmp_path)
    assert list(cache_dir.glob(f".{cache.PREFIX}*.tmp"))
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(cache_dir))
    assert cache.cache_clear() >= 1
    assert not list(cache_dir.glob(f".{cache.PREFIX}*.tmp"))


def test_disk_full_while_writing_the_module_compiles_anyway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_warned", False)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache.os, "fsync", disk_full)
    x = gj.placeholder("x", (None,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = gj.compile([x], gj.tanh(x) * 2.625 - 0.375)  # a graph no other test compiles
        np.testing.assert_allclose(f(np.arange(3.0)), np.tanh(np.arange(3.0)) * 2.625 - 0.375)
    messages = [str(w.message) for w in caught if "graphjit" in str(w.message)]
    assert len(messages) == 1 and "No space left" in messages[0]
    assert not list((tmp_path / "cache").glob("*.tmp"))  # the partial file was removed


def test_disk_full_while_numba_saves_machine_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from numba.core import caching

    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_warned", False)

    def disk_full(self: object, name: str, data: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(caching.IndexDataCacheFile, "_save_data", disk_full)
    x = gj.placeholder("x", (None,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = gj.compile([x], gj.sin(x) * 3.125 + 0.875)  # a graph no other test compiles
        np.testing.assert_allclose(f(np.arange(4.0)), np.sin(np.arange(4.0)) * 3.125 + 0.875)
        np.testing.assert_allclose(f(np.ones(2)), np.sin(np.ones(2)) * 3.125 + 0.875)
    messages = [str(w.message) for w in caught if "graphjit" in str(w.message)]
    assert len(messages) == 1 and "No space left" in messages[0]


# --------------------------------------------------------------------------------------------------
# saved files and their format version


def _rewrite_with_format(src: Path, dst: Path, version: object) -> None:
    with np.load(src, allow_pickle=False) as archive:
        members = {k: archive[k] for k in archive.files}
    members["__graphjit_format__"] = np.asarray(version)
    np.savez(dst, **members)  # type: ignore[arg-type]


def test_saved_files_record_their_format_version(tmp_path: Path) -> None:
    from graphjit import io

    gj.save({"w": np.arange(3.0)}, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert int(archive["__graphjit_format__"]) == io.FORMAT_VERSION
    loaded = gj.load(tmp_path / "m.npz", as_tensors=False)
    assert list(loaded) == ["w"]  # the version is not part of the loaded state
    np.testing.assert_array_equal(loaded["w"], np.arange(3.0))


@pytest.mark.parametrize(
    ("version", "message"),
    [(2, r"format 2, written by a newer graphjit.*reads format 1.*upgrade"), (0, "older")],
)
def test_files_of_another_format_version_are_refused(
    tmp_path: Path, version: int, message: str
) -> None:
    from graphjit.errors import FileFormatError

    gj.save({"w": np.arange(3.0)}, tmp_path / "m.npz")
    _rewrite_with_format(tmp_path / "m.npz", tmp_path / "other.npz", version)
    with pytest.raises(FileFormatError, match=message) as info:
        gj.load(tmp_path / "other.npz")
    assert info.value.found == version and info.value.supported == 1
    assert isinstance(info.value, ValueError)


def test_a_malformed_version_member_is_refused(tmp_path: Path) -> None:
    gj.save(np.arange(3.0), tmp_path / "a.npz")
    _rewrite_with_format(tmp_path / "a.npz", tmp_path / "bad.npz", np.array(["1"]))
    with pytest.raises(ValueError, match="not an integer version"):
        gj.load(tmp_path / "bad.npz")


def test_files_without_a_version_load_as_format_1(tmp_path: Path) -> None:
    np.savez(tmp_path / "legacy.npz", **{"layer/w": np.ones(2), "b": np.zeros(1)})
    loaded = gj.load(tmp_path / "legacy.npz", as_tensors=False)
    np.testing.assert_array_equal(loaded["layer"]["w"], np.ones(2))
    np.testing.assert_array_equal(loaded["b"], np.zeros(1))
    np.savez(tmp_path / "single.npz", __array__=np.arange(2.0))
    np.testing.assert_array_equal(gj.load(tmp_path / "single.npz", as_tensors=False), [0.0, 1.0])


def test_the_version_name_is_reserved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        gj.save({"__graphjit_format__": np.ones(1)}, tmp_path / "m.npz")


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_ctrl_c_between_the_writes_of_an_update_leaves_no_half_applied_step(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt arriving after the first variable's new value is written still sees
    every variable updated before it propagates (the step happened, or would have, whole)."""
    from graphjit.runtime import function

    x = gj.placeholder("x", (None,))
    ws = [gj.variable(np.full(3, float(k)), name=f"w{k}") for k in range(3)]
    loss = gj.sum(x * (ws[0] + ws[1] * ws[2]))
    grads = gj.grad(loss, ws)
    step = gj.compile(
        [x], loss, updates={w: w - 0.5 * g for w, g in zip(ws, grads)}, backend=backend
    )
    data = np.array([1.0, 2.0, 3.0])
    start = [w.get_value().copy() for w in ws]
    step(data)
    want = [w.get_value().copy() for w in ws]
    for w, v in zip(ws, start):
        w.set_value(v)

    real = function._copy_one
    calls = []

    def interrupted(target: object, new: object) -> None:
        real(target, new)
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as if Ctrl-C came right after the first write

    monkeypatch.setattr(function, "_copy_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        step(data)
    for w, v in zip(ws, want):
        np.testing.assert_array_equal(w.get_value(), v)
    assert all(not np.array_equal(v, s) for v, s in zip(want, start))  # every one changed


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer (POSIX)")
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("form", ["in place and copied", "repeat", "reader"])
def test_a_storm_of_ctrl_c_leaves_no_lock_held_and_no_step_half_applied(
    backend: str, form: str
) -> None:
    """Interrupts every 0.2 ms, each raised wherever the main thread is (as Python raises a
    Ctrl-C), over many calls: each call is applied whole or not at all, every interrupt is a
    KeyboardInterrupt (not the SystemError numba raises when one lands as it boxes results), and
    no lock is left held (the next call would wait for it forever)."""
    from graphjit.locks import STATE_LOCKS

    a = gj.variable(np.zeros(3), name="a")
    b = gj.variable(np.zeros(3), name="b")
    # b's new value reads sum(a): on the cpu backend a is stored in place, b copied after
    step = gj.compile([], [], updates={a: a + 1.0, b: b + 1.0 + 0 * gj.sum(a)}, backend=backend)
    read = gj.compile([], [gj.sum(a) - gj.sum(b)], backend=backend)
    call = {
        "in place and copied": step,
        "repeat": lambda: step.repeat(2),
        "reader": lambda: (step(), read()),
    }[form]
    call()  # compiled before the storm (an interrupted compile only starts again)
    armed = False
    seen: set[str] = set()

    def ctrl_c(signum: int, frame: object) -> None:
        if armed:
            raise KeyboardInterrupt

    def unraisable(report: Any) -> None:
        # an interrupt landing in a finalizer (garbage from other tests collected meanwhile)
        # cannot propagate: Python reports and ignores it, as it does outside a storm
        if not isinstance(report.exc_value, KeyboardInterrupt):
            hook(report)

    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    signal.setitimer(signal.ITIMER_REAL, 2e-4, 2e-4)
    try:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                armed = True
                call()
                armed = False
            except BaseException as exc:  # tallied, then checked below
                armed = False
                seen.add(type(exc).__name__)
            np.testing.assert_array_equal(a.get_value(copy=False), b.get_value(copy=False))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = hook
    assert seen == {"KeyboardInterrupt"}
    free = [lock.acquire(blocking=False) for lock in STATE_LOCKS.locks]
    for lock, taken in zip(STATE_LOCKS.locks, free):
        if taken:
            lock.release()
    assert all(free), "a Ctrl-C left a variable's lock held"
    step()  # the function still works, and its write ends even (readers see no write going on)
    np.testing.assert_array_equal(a.get_value(), b.get_value())
    assert all(STATE_LOCKS.versions[i] % 2 == 0 for i in step._write_stripes)
