"""Making eager tensors: ``gj.tensor``, ``from_numpy``, ``zeros``/``ones``/``full``/``arange``/
``linspace``/``eye``, ``rand``/``randn`` and the rest.

``tensor`` copies its data and ``from_numpy``/``as_tensor`` share it; the random functions draw from
one module-level generator that :func:`manual_seed` resets. Created values are concrete (their
sizes are python ints, known now), so they are tensors, not ops: a tensor turns into a graph
constant when it meets graph nodes.

Signatures follow numpy, and also accept PyTorch's spellings where they do not clash: sizes as
varargs (``zeros(2, 3)``), ``end=`` for ``stop``, ``steps=`` for ``num``, ``requires_grad=`` and
``device=`` (``"cuda"``: made in host memory, then moved to the GPU).

The default float dtype (``gj.set_default_dtype``; float64 unless set) is what ``zeros``, ``ones``,
``empty``, ``rand``, ``randn``, ``eye``, ``linspace`` and ``Tensor(2, 3)`` make without a
``dtype``, and what python floats become in ``tensor``, ``full`` and ``arange`` (as PyTorch). A
numpy array keeps its dtype. With an integer ``dtype``, ``arange`` truncates start, stop and step
toward zero first and ``linspace`` truncates its values toward zero (PyTorch; numpy's
``linspace`` floors and its ``arange`` steps by ``int(start + step) - int(start)``).
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.dtypes import (
    DTYPES,
    as_dtype,
    get_default_dtype,
    is_float,
    is_int,
    reject_masked,
    result_dtype,
)
from graphjit.ir import Node
from graphjit.ops.counter_rng import GRAPH_GENERATOR
from graphjit.ops.dispatch import is_tensor
from graphjit.tensor.device import check_device
from graphjit.tensor.tensor import Tensor, array_from, new_tensor

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "manual_seed",
]


def _placed(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fn`` with PyTorch's ``device=``: the tensor is made in host memory, then moved (a leaf
    that requires grad stays one, on the device)."""

    @functools.wraps(fn)
    def create(*args: Any, device: Any = None, **kwargs: Any) -> Tensor:
        dev = check_device(device, f"{fn.__name__}()")
        out = fn(*args, **kwargs)
        return out if dev.type == "cpu" else out.to(dev)

    return create


@_placed
def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor).

    Without ``dtype`` python floats give the default float dtype (float64 unless
    ``gj.set_default_dtype`` changed it), ints int64, and an array keeps its dtype (float32 stays
    float32)."""
    check_device(device, "tensor()")
    arr = array_from(data, as_dtype(dtype) if dtype is not None else None, copy=True)
    if dtype is None and arr.dtype.kind == "f" and _from_python(data):
        arr = arr.astype(get_default_dtype(), copy=False)
    t = new_tensor(arr)
    return t.requires_grad_(True) if requires_grad else t


@_placed
def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares ``data``'s memory when it is already a suitable array."""
    check_device(device, "as_tensor()")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype.name):
        try:
            return from_numpy(data)
        except TypeError:
            pass
    return tensor(data, dtype=dtype)


def _from_python(data: Any) -> bool:
    """Whether ``data`` is python numbers (nested lists of them), whose floats take the default
    float dtype; arrays, numpy scalars and tensors keep theirs."""
    if isinstance(data, (builtins.float, builtins.int)):
        return True
    if isinstance(data, (list, tuple)):
        return all(_from_python(x) for x in data)
    return False


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory: changes to either show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    reject_masked(array, "from_numpy: ")
    if array.dtype.name not in DTYPES:
        raise TypeError(
            f"from_numpy: graphjit tensors hold {', '.join(DTYPES)}; this array is "
            f"{array.dtype.name} (convert it with .astype(...) first, which copies)"
        )
    return new_tensor(array)


def from_dlpack(x: Any) -> Tensor:
    """A tensor sharing the memory of ``x``, any object with ``__dlpack__`` (numpy, PyTorch, JAX
    and CuPy arrays on the CPU): changes to either show in the other. A device array (GPU
    memory) raises; copy it to the host first."""
    if isinstance(x, Tensor):
        return x
    if not hasattr(x, "__dlpack__"):
        raise TypeError(
            f"from_dlpack: {type(x).__name__} does not support DLPack (no __dlpack__); use "
            "gj.tensor(x) or gj.as_tensor(x)"
        )
    try:
        array = np.from_dlpack(x)
    except (BufferError, RuntimeError, TypeError) as exc:
        raise TypeError(
            f"from_dlpack: cannot share the memory of this {type(x).__name__} with numpy ({exc}); "
            "a GPU array must be copied to the host first"
        ) from exc
    return from_numpy(array)


def _created(value: np.ndarray, requires_grad: bool = False) -> Tensor:
    t = new_tensor(value)
    return t.requires_grad_(True) if requires_grad else t


def _size(value: Any, what: str, fn: str) -> int:
    """A non-negative python int from an int-like ``value``, or a clear error."""
    if isinstance(value, (bool, np.bool_, Node)) or is_tensor(value):
        raise TypeError(f"{fn}: {what} must be an int, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{fn}: {what} must be an int, got {type(value).__name__} {value!r}"
        ) from None
    if n < 0:
        raise ValueError(f"{fn}: {what} must be >= 0, got {n}")
    return n


def _shape(args: Sequence[Any], fn: str) -> tuple[int, ...]:
    """The shape from ``f(shape)`` or PyTorch's ``f(*sizes)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(_size(d, f"dimension {i}", fn) for i, d in enumerate(args))


def _split_dtype(args: tuple[Any, ...], dtype: Any) -> tuple[tuple[Any, ...], Any]:
    """numpy's positional dtype (``zeros((2, 3), "float32")``) versus PyTorch's varargs sizes."""
    if len(args) == 2 and isinstance(args[1], (str, type, np.dtype)):
        if dtype is not None:
            raise TypeError("dtype given twice")
        return args[:1], args[1]
    return args, dtype


def _filled(args: tuple[Any, ...], value: int, dtype: Any, requires_grad: bool, fn: str) -> Any:
    args, dtype = _split_dtype(args, dtype)
    if not args:
        raise TypeError(f"{fn}: missing the shape (e.g. {fn}((2, 3)) or {fn}(2, 3))")
    shape = _shape(args, fn)
    dt = as_dtype(dtype or get_default_dtype())
    return _created(np.full(shape, value, dtype=dt), requires_grad)


@_placed
def zeros(
    *shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """An array of zeros: ``zeros((2, 3))``, ``zeros(2, 3)`` or ``zeros(3, dtype="int64")``.

    The dtype defaults to the default float dtype (float64 unless set)."""
    check_device(device, "zeros()")
    return _filled(shape, 0, dtype, requires_grad, "zeros")


@_placed
def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """An array of ones: ``ones((2, 3))``, ``ones(2, 3)``; of the default float dtype unless
    ``dtype`` is given."""
    check_device(device, "ones()")
    return _filled(shape, 1, dtype, requires_grad, "ones")


def _scalar(value: Any, what: str, fn: str) -> Any:
    if isinstance(value, Node) or is_tensor(value):
        raise TypeError(
            f"{fn}: {what} must be a python number, got a {type(value).__name__} (the size of the "
            "result must be known when it is built)"
        )
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {what} must be an int or float, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{fn}: {what} must be finite, got {value!r}")
    return value


@_placed
def full(
    shape: Any,
    fill_value: Any,
    dtype: Any = None,
    *,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """An array of ``shape`` filled with ``fill_value`` (an array broadcasts, as numpy.full).

    Without ``dtype`` the dtype is ``fill_value``'s: int64 for an int, the default float dtype
    for a python float."""
    check_device(device, "full()")
    dims = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "full")
    if isinstance(fill_value, Node) or is_tensor(fill_value):
        raise TypeError(
            "full: fill_value must be a python number or a numpy array, not a "
            f"{type(fill_value).__name__}; use gj.broadcast_to for graph values"
        )
    dt = as_dtype(dtype) if dtype is not None else result_dtype([fill_value])
    try:
        value = np.full(dims, fill_value, dtype=dt)
    except ValueError as exc:
        raise ValueError(f"full: fill_value does not broadcast to shape {dims}: {exc}") from None
    return _created(value, requires_grad)


@_placed
def arange(
    start: Any,
    stop: Any = None,
    step: Any = 1,
    dtype: Any = None,
    *,
    end: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in [start, stop) as numpy.arange; ``arange(n)`` is 0, 1, ..., n-1.

    Without ``dtype`` the result is int64 when every argument is an int, else the default float
    dtype. With an integer ``dtype`` start, stop and step are truncated toward zero first
    (PyTorch's rule)."""
    check_device(device, "arange()")
    if end is not None:
        if stop is not None:
            raise TypeError("arange: give stop or end, not both")
        stop = end
    start = _scalar(start, "start", "arange")
    step = _scalar(step, "step", "arange")
    if stop is None:
        start, stop = 0, start
    else:
        stop = _scalar(stop, "stop", "arange")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dt = as_dtype(dtype) if dtype is not None else result_dtype([start, stop, step])
    if is_int(dt):
        start, stop, step = builtins.int(start), builtins.int(stop), builtins.int(step)
        if step == 0:
            raise ValueError(f"arange: step truncates to zero in {dt}")
    try:
        values = np.arange(start, stop, step, dtype=dt)
    except ValueError as exc:  # numpy's "Maximum allowed size exceeded"
        raise ValueError(
            f"arange: [{start}, {stop}) by {step} holds too many values for one array: {exc}"
        ) from None
    return _created(values, requires_grad)


@_placed
def linspace(
    start: Any,
    stop: Any = None,
    num: Any = 50,
    dtype: Any = None,
    endpoint: bool = True,
    *,
    end: Any = None,
    steps: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless ``endpoint`` is
    False), as numpy.linspace; of the default float dtype unless ``dtype`` is given (PyTorch:
    ``end=``, ``steps=``). An integer ``dtype`` truncates the values toward zero (PyTorch)."""
    check_device(device, "linspace()")
    if end is not None:
        if stop is not None:
            raise TypeError("linspace: give stop or end, not both")
        stop = end
    if stop is None:
        raise TypeError("linspace: missing stop")
    if steps is not None:
        num = steps
    start = _scalar(start, "start", "linspace")
    stop = _scalar(stop, "stop", "linspace")
    n = _size(num, "num", "linspace")
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    values = np.linspace(start, stop, n, endpoint=bool(endpoint), dtype="float64")
    return _created(np.trunc(values).astype(dt) if is_int(dt) else values.astype(dt), requires_grad)


@_placed
def eye(
    n: Any,
    m: Any = None,
    k: Any = 0,
    dtype: Any = None,
    *,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """The ``n`` x ``m`` identity (ones on diagonal ``k``) as numpy.eye; ``m`` defaults to ``n``."""
    check_device(device, "eye()")
    rows = _size(n, "n", "eye")
    cols = rows if m is None else _size(m, "m", "eye")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"eye: k must be an int, got {k!r}")
    dt = as_dtype(dtype or get_default_dtype())
    return _created(np.eye(rows, cols, int(k), dtype=dt), requires_grad)


_rng = np.random.default_rng()


def manual_seed(seed: builtins.int) -> np.random.Generator:
    """Seed graphjit's random number generator (gj.rand, gj.randn, nn initialisers) and the
    generator compiled graphs draw from (its counter and streams restart, see ``counter_rng``)."""
    global _rng
    if isinstance(seed, builtins.bool) or not isinstance(seed, (builtins.int, np.integer)):
        raise TypeError(f"manual_seed: expected an int, got {type(seed).__name__} {seed!r:.40}")
    seed = builtins.int(seed)
    # a negative seed is taken modulo 2**64, as PyTorch and the graph generator take it (numpy
    # refuses it); both generators are seeded only once the seed is known to be good
    _rng = np.random.default_rng(seed if seed >= 0 else seed & 0xFFFF_FFFF_FFFF_FFFF)
    GRAPH_GENERATOR.manual_seed(seed)
    return _rng


def _random(
    draw: Callable[[np.random.Generator, tuple[builtins.int, ...]], np.ndarray],
    size: tuple[Any, ...],
    dtype: Any,
    requires_grad: builtins.bool,
    device: Any,
    fn: str,
    generator: np.random.Generator | None = None,
) -> Tensor:
    check_device(device, f"{fn}()")
    shape = _shape(size, fn)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    t = new_tensor(draw(generator or _rng, shape).astype(dt, copy=False))
    return t.requires_grad_(True) if requires_grad else t


@_placed
def rand(
    *size: Any,
    dtype: Any = None,
    requires_grad: builtins.bool = False,
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples in [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``; float64 by default."""
    return _random(lambda g, s: g.random(s), size, dtype, requires_grad, device, "rand", generator)


@_placed
def randn(
    *size: Any,
    dtype: Any = None,
    requires_grad: builtins.bool = False,
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples: ``randn(2, 3)``, ``randn(())`` for a 0-d tensor."""
    return _random(
        lambda g, s: g.standard_normal(s), size, dtype, requires_grad, device, "randn", generator
    )


@_placed
def randint(
    low: builtins.int,
    high: builtins.int | None = None,
    size: Any = (),
    *,
    dtype: Any = "int64",
    device: Any = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Random integers in [low, high) (``randint(high, size)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    return _random(
        lambda g, s: g.integers(low, high, s), (size,) if not isinstance(size, tuple) else size,
        dtype, False, device, "randint", generator,
    )  # fmt: skip


def rand_like(t: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return rand(tuple(t.shape), dtype=dtype or _float_dtype(t), requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return randn(tuple(t.shape), dtype=dtype or _float_dtype(t), requires_grad=requires_grad)


def _float_dtype(t: Any) -> str:
    return t.dtype if is_float(t.dtype) else get_default_dtype()


@_placed
def empty(
    *size: Any, dtype: Any = None, requires_grad: builtins.bool = False, device: Any = None
) -> Tensor:
    """A tensor of the given size (filled with zeros: graphjit never hands out garbage)."""
    return _random(lambda g, s: np.zeros(s), size, dtype, requires_grad, device, "empty")


def _like(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (``gj.zeros_like`` and its kin) accepting PyTorch's ``device=`` and
    ``requires_grad=`` too (the latter makes a new leaf tensor that requires grad)."""

    @functools.wraps(fn)
    def create(*args: Any, device: Any = None, requires_grad: bool = False, **kwargs: Any) -> Any:
        dev = check_device(device, f"{fn.__name__}()")
        out = fn(*args, **kwargs)
        if dev.type != "cpu":
            out = out.to(dev)
        if not requires_grad:
            return out
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{fn.__name__}: requires_grad=True makes an eager tensor; given a graph node, "
                "use gj.variable for a value to differentiate"
            )
        return out.detach().requires_grad_(True)

    return create


zeros_like = _like(F.zeros_like)
ones_like = _like(F.ones_like)
full_like = _like(F.full_like)
