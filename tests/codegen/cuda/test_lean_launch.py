"""The lean launch path of the generated CUDA programs (``kernels/cuda/launch.py``), checked
without a GPU: numba's device arrays are built over made-up device addresses, the kernel is a
stand-in for numba's dispatcher, and ``cuda.core.launch`` is replaced by a recorder. What the
lean path passes must be exactly what numba's own argument marshalling passes (its
``_Kernel._prepare_args``) and match the parameter list of the kernel's PTX."""

from __future__ import annotations

import ctypes
import importlib.util
import re
import types
from typing import Any

import numpy as np
import pytest

from graphjit.cuda_compat import import_numba_cuda, simulator_enabled

pytestmark = [
    pytest.mark.ptx,
    pytest.mark.skipif(
        importlib.util.find_spec("numba_cuda") is None or simulator_enabled(),
        reason="needs numba-cuda, and the real target rather than the simulator",
    ),
]


@pytest.fixture
def launch(monkeypatch: pytest.MonkeyPatch) -> Any:
    import_numba_cuda()
    from graphjit.kernels.cuda import launch

    launched: list[tuple[Any, ...]] = []

    def record(stream: Any, config: Any, handle: Any, *params: Any) -> None:
        launched.append((stream, config, handle, params))

    monkeypatch.setattr(launch, "_entries", {})
    monkeypatch.setattr(launch, "_verified", True)
    monkeypatch.setattr(launch, "_configs", {})
    monkeypatch.setattr(launch, "_core", lambda: (record, _Config, "stream0"))
    launch.launched = launched
    return launch


class _Config:
    def __init__(self, grid: int, block: int) -> None:
        self.grid, self.block = grid, block


def device_array(shape: tuple[int, ...], dtype: Any, address: int) -> Any:
    """A numba device array over a made-up address (nothing is allocated or read)."""
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    dt = np.dtype(dtype)
    strides = np.empty(shape, dt).strides
    gpu = types.SimpleNamespace(device_ctypes_pointer=ctypes.c_void_p(address))
    return DeviceNDArray(shape, strides, dt, gpu_data=gpu)


class FakeKernel:
    """Stands in for a numba CUDA dispatcher: a launch records the arguments and adds the
    overload numba would have compiled for them."""

    def __init__(self) -> None:
        self.overloads: dict[tuple[Any, ...], Any] = {}
        self.calls: list[tuple[int, tuple[Any, ...]]] = []

    def __getitem__(self, config: tuple[int, int]) -> Any:
        from numba import typeof

        def call(*args: Any) -> None:
            self.calls.append((config[0], args))
            sig = tuple(typeof(a) for a in args)
            library = types.SimpleNamespace(
                get_cufunc=lambda: types.SimpleNamespace(kernel=("handle", sig))
            )
            self.overloads[sig] = types.SimpleNamespace(
                argument_types=sig,
                debug=False,
                cooperative=False,
                extensions=[],
                _codelibrary=library,
            )

        return call


def numba_params(args: tuple[Any, ...]) -> list[Any]:
    """The parameters numba's dispatcher passes for ``args`` (its own marshalling code)."""
    from numba import typeof
    from numba.cuda.dispatcher import _Kernel

    params: list[Any] = []
    fake_self = types.SimpleNamespace(extensions=[])
    for a in args:
        _Kernel._prepare_args(fake_self, typeof(a), a, 0, [], params)
    return params


def same(ours: list[Any], theirs: list[Any]) -> bool:
    """Equal parameter lists: same Python or ctypes type and value, one by one."""
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if type(a) is not type(b):
            return False
        if (a.value if isinstance(a, ctypes._SimpleCData) else a) != (
            b.value if isinstance(b, ctypes._SimpleCData) else b
        ):
            return False
    return True


def _sample(launch: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Arguments of every kind the generated programs pass, and their dispatcher views."""
    x = device_array((4, 5), np.float32, 0x10000)
    m = device_array((3, 7), np.float64, 0x20000)
    out = device_array((2, 3, 4), np.float64, 0x30000)
    args = (20, 0.5, np.float32(1.5), True, np.int32(-3), launch.Flat(x), m, launch.Flat(out))
    views = (*args[:5], x.reshape(20), m, out.reshape(24))
    return args, views


def test_first_launch_goes_through_numba_then_the_lean_path_passes_the_same(launch: Any) -> None:
    kernel = FakeKernel()
    args, views = _sample(launch)
    launch.run(kernel, 7, *args)
    assert len(kernel.calls) == 1 and not launch.launched
    grid, passed = kernel.calls[0]
    assert grid == 7
    assert [type(a) for a in passed] == [type(v) for v in views]
    assert [getattr(a, "shape", None) for a in passed] == [getattr(v, "shape", None) for v in views]

    launch.run(kernel, 9, *args)
    assert len(kernel.calls) == 1, "the second launch must not go through the dispatcher"
    ((stream, config, handle, params),) = launch.launched
    assert stream == "stream0" and (config.grid, config.block) == (9, launch.BLOCK)
    assert handle[0] == "handle" and handle[1] in kernel.overloads
    assert same(list(params), numba_params(views)), (params, numba_params(views))


def test_each_set_of_argument_kinds_selects_its_own_overload(launch: Any) -> None:
    kernel = FakeKernel()
    a32 = device_array((8,), np.float32, 0x1000)
    a64 = device_array((8,), np.float64, 0x2000)
    launch.run(kernel, 1, 8, launch.Flat(a32))
    launch.run(kernel, 1, 8, launch.Flat(a64))  # another dtype: numba compiles another overload
    assert len(kernel.calls) == 2 and len(kernel.overloads) == 2
    launch.run(kernel, 1, 8, launch.Flat(a32))
    launch.run(kernel, 1, 8, launch.Flat(a64))
    assert len(kernel.calls) == 2
    handles = [h for _, _, h, _ in launch.launched]
    assert [h[1][1].dtype.name for h in handles] == ["float32", "float64"]
    for (*_, params), a in zip(launch.launched, (a32, a64)):
        assert same(list(params), numba_params((8, a)))


def test_a_non_contiguous_flat_argument_is_refused(launch: Any) -> None:
    kernel = FakeKernel()
    a = device_array((4, 6), np.float64, 0x1000)
    launch.run(kernel, 1, launch.Flat(a))
    launch.run(kernel, 1, launch.Flat(a))
    from numba.cuda.cudadrv.devicearray import DeviceNDArray

    strided = DeviceNDArray((4, 3), (48, 16), a.dtype, gpu_data=a.gpu_data)  # a[:, ::2]
    assert not strided.is_c_contiguous()
    with pytest.raises(ValueError, match="C-contiguous"):
        launch._pack_flat(launch.Flat(strided), [])


def test_parameters_it_does_not_pack_stay_on_the_dispatcher(launch: Any) -> None:
    kernel = FakeKernel()
    pair = (1, 2)  # a tuple parameter: the lean path leaves it to numba
    launch.run(kernel, 1, 3, pair)
    launch.run(kernel, 1, 3, pair)
    assert len(kernel.calls) == 2 and not launch.launched


def test_a_failed_device_check_turns_the_lean_path_off(
    launch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "_verified", False)
    monkeypatch.setattr(launch, "_verify", lambda: "the probe computed wrong values")
    kernel = FakeKernel()
    a = device_array((8,), np.float64, 0x1000)
    with pytest.warns(RuntimeWarning, match="lean CUDA launch path failed its check"):
        launch.run(kernel, 1, 8, launch.Flat(a))
    assert launch._entries is None
    launch.run(kernel, 1, 8, launch.Flat(a))
    assert len(kernel.calls) == 2 and not launch.launched


def test_packed_parameters_match_the_kernels_ptx(launch: Any) -> None:
    """The parameter list packed for the probe kernel has the count and the widths of the
    ``.param`` list numba-cuda's compiler gives its PTX entry."""
    cuda = import_numba_cuda()
    from numba import typeof

    a = device_array((1000,), np.float64, 0x1000)
    b = device_array((10, 100), np.float64, 0x2000)
    out = device_array((10, 100), np.float64, 0x3000)
    args = (3, 0.5, np.float32(1.5), True, launch.Flat(a), b, launch.Flat(out))
    views = (*args[:4], a, b, out.reshape(1000))
    sig = tuple(typeof(v) for v in views)
    packers = launch.packers_for(sig, args)
    assert packers is not None
    params = launch.pack(packers, args)
    ptx, _ = cuda.compile_ptx(launch._probe.py_func, sig, cc=(7, 5))
    entry = ptx[ptx.index(".entry") : ptx.index(")", ptx.index(".entry"))]
    widths = [int(bits) // 8 for bits in re.findall(r"\.param \.[a-z](\d+) ", entry)]

    def width(p: Any) -> int:
        if isinstance(p, bool):
            return 1
        if isinstance(p, int):
            return 8
        return ctypes.sizeof(p)

    assert [width(p) for p in params] == widths
    assert same(params, numba_params(views))
