"""Every generated kernel of the registry cases and every hand-written CUDA kernel compiles to
PTX for compute capabilities 7.5, 8.0 and 9.0, without a GPU (numba-cuda and NVVM only).

The argument types of the generated kernels come from running each case's host program on numpy
stand-ins for device arrays, with every launch recorded instead of run."""

from __future__ import annotations

import importlib.util
import os
import re
import types
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_compat import import_numba_cuda, simulator_enabled
from tests.codegen.cases import CASES
from tests.codegen.cuda.test_registry_cuda import UNCOVERED
from tests.codegen.test_registry_cpu import _graph

pytestmark = [
    pytest.mark.ptx,
    pytest.mark.skipif(
        importlib.util.find_spec("numba_cuda") is None or simulator_enabled(),
        reason="needs numba-cuda (with NVVM), and the real target rather than the simulator",
    ),
]

CCS = [(7, 5), (8, 0), (9, 0)]


@pytest.fixture(scope="module")
def cuda() -> Any:
    cuda = import_numba_cuda()
    import numba.cuda.dispatcher as dispatcher

    # device functions are compiled for the current device's compute capability: without a GPU
    # there is none, so stand one in (the kernels themselves are compiled for each cc below)
    real = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(7, 5))
    yield cuda
    dispatcher.get_current_device = real


def _compile_all(cuda: Any, fn: Any, sig: Any) -> None:
    for cc in CCS:
        ptx, _ = cuda.compile_ptx(fn, sig, cc=cc)
        assert ".entry" in ptx or ".func" in ptx


class _Recorder:
    def __init__(self, name: str, kernel: Any, launches: list) -> None:
        self.name, self.kernel, self.launches = name, kernel, launches

    def __getitem__(self, config: Any) -> Any:
        def launch(*args: Any) -> None:
            self.launches.append((self.name, self.kernel.py_func, _signature(args)))

        return launch


def _signature(args: tuple) -> tuple:
    from numba import typeof

    return tuple(
        typeof(np.int64(a)) if isinstance(a, (int, np.integer)) else typeof(a) for a in args
    )


class _Alloc:
    def fresh(self, shape: tuple, dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype)

    def scratch(self, key: str, shape: tuple, dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype)

    def copy(self, a: np.ndarray) -> np.ndarray:
        return np.array(a)


def _kernels_of(build: Any, dtype: str) -> list:
    return _launches(*_graph(build, dtype, order=1))


def _launches(inputs: list, outputs: list, feeds: list) -> list:
    from numba.cuda.dispatcher import CUDADispatcher

    from graphjit.codegen.cuda import generate

    f = gj.compile(inputs, outputs, backend="numpy")
    source, constants = generate(f.program, "sm_90")
    # a namespace of its own (the module cache's copy is left alone): its launches are recorded
    ns: dict[str, Any] = {"__name__": "graphjit_ptx_check"}
    exec(compile(source, "<generated>", "exec"), ns)
    launches: list = []
    for name, value in list(ns.items()):
        if isinstance(value, CUDADispatcher) and re.match(r"k\d+_", name):
            ns[name] = _Recorder(name, value, launches)
    ns["kmem"] = types.SimpleNamespace(
        fill=lambda a, v: None,
        copy_into=lambda a, b: None,
        check_flag=lambda flag, message, error=IndexError: None,
        slice_start=lambda n, start, stop, step: slice(start, stop, step).indices(n)[0],
    )
    ns["kmm"] = types.SimpleNamespace(matmul=lambda *a: None, use_cublas=lambda: False)
    # pooling's host functions launch hand-written kernels (checked below by their signatures)
    from graphjit.kernels.cuda import pool as device_pool

    ns["kdpool"] = types.SimpleNamespace(**{n: lambda *a: None for n in device_pool.__all__})
    # so do the convolutions' (their kernels are compiled in test_conv_kernels_compile_to_ptx)
    ns["kconv"] = types.SimpleNamespace(
        conv_forward=lambda *a: None,
        conv_input_grad=lambda *a: None,
        conv_weight_grad=lambda *a: None,
    )
    ns["launch"] = types.SimpleNamespace(
        blocks=lambda n: 1,
        reduce_blocks=lambda n: 1,
        parts=lambda a, b: 2,
        Flat=np.ravel,
        run=lambda kernel, grid, *args: kernel[grid, 32](*args),
    )
    consts = [np.array(gj.ops.leaves.constant_value(c)) for c in constants]
    variables = [v.storage.array for v in f.program.variables]
    ns["program"](_Alloc(), *feeds, *variables, *consts)
    return launches


_PARAMS = sorted(
    dict.fromkeys(
        (fn.__name__, fn) for op, fns in CASES.items() if op not in UNCOVERED for fn in fns
    ),
    key=lambda p: p[0],
)
_seen: set = set()


@pytest.mark.parametrize("build", [fn for _, fn in _PARAMS], ids=[n for n, _ in _PARAMS])
def test_generated_kernels_compile_to_ptx(cuda: Any, build: Any) -> None:
    dtypes = ["float64", "float32"] if os.environ.get("GRAPHJIT_PTX_ALL") else ["float32"]
    try:
        launches = [k for dt in dtypes for k in _kernels_of(build, dt)]
    except NotImplementedError:
        pytest.skip("the case's graph uses an op without a CUDA lowering")
    assert launches, "the case launched no kernel"
    for _name, fn, sig in launches:
        key = (fn.__code__.co_code, fn.__code__.co_consts, sig)
        if key in _seen:
            continue
        _seen.add(key)
        _compile_all(cuda, fn, sig)


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint8"])
def test_integer_arithmetic_kernels_compile_to_ptx(cuda: Any, dtype: str) -> None:
    x = gj.placeholder("x", (3, 4), dtype)
    y = gj.placeholder("y", (4,), dtype)
    outs = [x**y, x**3, x // y, x % y, gj.trunc(x), gj.sum(x**y, axis=1)]
    feeds = [np.ones((3, 4), dtype), np.ones(4, dtype)]
    launches = _launches([x, y], outs, feeds)
    assert any("flag" in fn.__code__.co_varnames for _, fn, _ in launches)
    for _name, fn, sig in launches:
        _compile_all(cuda, fn, sig)


def test_hand_written_kernels_compile_to_ptx(cuda: Any) -> None:
    from graphjit.kernels.cuda import matmul, memory
    from numba import types as nt

    for dt in (nt.float32, nt.float64, nt.int64):
        _compile_all(cuda, memory._fill.py_func, (nt.Array(dt, 1, "C"), dt))
        _compile_all(cuda, memory._copy.py_func, (nt.Array(dt, 1, "C"), nt.Array(dt, 1, "C")))
    for np_dt, dt in ((np.float32, nt.float32), (np.float64, nt.float64), (np.int64, nt.int64)):
        arr = nt.Array(dt, 3, "C")
        _compile_all(cuda, matmul.tiled_kernel(np_dt).py_func, (arr, arr, arr))


def test_pooling_kernels_compile_to_ptx(cuda: Any) -> None:
    from graphjit.kernels.cuda import pool
    from numba import types as nt

    three, flag, b = nt.UniTuple(nt.int64, 3), nt.Array(nt.int32, 1, "C"), nt.boolean
    for dt in (nt.float32, nt.float64):
        planes, flat, rows = nt.Array(dt, 4, "C"), nt.Array(dt, 2, "C"), nt.Array(dt, 3, "C")
        index = nt.Array(nt.int64, 4, "C")
        window = (three, three, three, three, b)
        _compile_all(cuda, pool._max_kernel.py_func, (planes, planes, b, *window))
        _compile_all(cuda, pool._max_kernel.py_func, (planes, index, b, *window))
        flat_index = nt.Array(nt.int64, 2, "C")
        for kernel in (pool._scatter_kernel, pool._gather_kernel):
            _compile_all(cuda, kernel.py_func, (flat, flat_index, flat, flag))
        for kernel in (pool._avg_kernel, pool._avg_grad_kernel):
            _compile_all(
                cuda, kernel.py_func, (planes, planes, three, three, three, b, b, nt.int64)
            )
        for kernel in (pool._resample_kernel, pool._resample_grad_kernel):
            _compile_all(cuda, kernel.py_func, (rows, rows, b, b, nt.float64))


def test_conv_kernels_compile_to_ptx(cuda: Any) -> None:
    from graphjit.kernels.cuda import conv
    from numba import types as nt

    three = nt.UniTuple(nt.int64, 3)
    for dt in (nt.float32, nt.float64):
        five = nt.Array(dt, 5, "C")
        for kernel in (conv._conv_forward, conv._conv_input_grad, conv._conv_weight_grad):
            _compile_all(cuda, kernel.py_func, (five, five, five, three, three, three, nt.int64))


def test_select_kernels_compile_to_ptx(cuda: Any) -> None:
    from graphjit.kernels.cuda import select
    from numba import types as nt

    flags, ints = nt.Array(nt.boolean, 1, "C"), nt.Array(nt.int64, 1, "C")
    _compile_all(cuda, select._count_runs.py_func, (flags, ints))
    _compile_all(cuda, select._scan_counts.py_func, (ints, ints, ints))
    _compile_all(cuda, select._write_positions.py_func, (flags, ints, ints))
    _compile_all(cuda, select._unravel.py_func, (ints, ints, nt.Array(nt.int64, 2, "C")))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_assign_kernels_compile_to_ptx(cuda: Any, dtype: str) -> None:
    """``t[index] = value``'s kernels for each dtype a tensor has, and the scatter that copies
    an int32 or int64 index array into the int64 rows."""
    from graphjit.kernels.cuda import assign
    from numba import from_dtype
    from numba import types as nt

    dt = from_dtype(np.dtype(dtype))
    flat, mask = nt.Array(dt, 1, "C"), nt.Array(nt.boolean, 1, "C")
    ints, table = nt.Array(nt.int64, 1, "C"), nt.Array(nt.int64, 2, "C")
    scatter = (flat, nt.int64, table, flat, table, table, ints, nt.int64)
    _compile_all(cuda, assign._scatter.py_func, scatter)
    _compile_all(cuda, assign._masked_copy.py_func, (flat, mask, table, flat))
    if dtype in ("int32", "int64"):
        _compile_all(cuda, assign._scatter.py_func, (ints, nt.int64, table, flat, *scatter[4:]))
    if dtype == "int64":
        _compile_all(cuda, assign._claim.py_func, (table, table, ints, ints))
