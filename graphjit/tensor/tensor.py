"""The eager ``Tensor``: define-by-run autograd on the same ops as the graphs.

A ``Tensor`` holds a numpy array and computes at once: every ``gj.*`` function and operator given
tensors runs the op's reference implementation through the eager backend
(:mod:`graphjit.tensor.backend`, registered by ``graphjit/__init__.py``). When an
input requires grad, the result records a tape entry (see :mod:`graphjit.autodiff.tape`), and
``backward`` differentiates with the ops' own vjp rules: one derivative table for both modes.

Dtypes follow numpy, not PyTorch: a python float makes float64 (``gj.tensor([1.0])`` is float64,
or the dtype ``gj.set_default_dtype`` chose),
a float32 numpy array stays float32; ``.float()`` converts to float32 and ``.double()`` to float64.

Memory: ``gj.from_numpy(a)`` and ``t.numpy()`` share the array both ways; in-place ops
(``add_``, ``t[i] = v``, ``+=``) write into it. A tensor used in a graph op becomes a constant node,
or, when it requires grad (a parameter), a variable node over the same array, so a compiled
training step updates what the eager model reads. In-place ops on tensors that take part in
autograd are recorded on the tape and give the tensor a new array instead.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.autodiff import tape
from graphjit.autodiff.tape import (
    TapeEntry,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from graphjit.cuda_compat import is_device_array, to_host
from graphjit.dtypes import DTYPES, as_array, get_default_dtype, is_float, names_a_dtype
from graphjit.errors import TensorUsageError
from graphjit.ir import TensorType
from graphjit.ops.leaves import Variable, write_array
from graphjit.tensor.device import (
    check_device,
    copy_array,
    cuda,
    device,
    device_of,
    is_device,
    move_array,
)
from graphjit.tensor.inplace import InPlaceMethods, _value

__all__ = [
    "Tensor",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "device",
    "cuda",
    "float32",
    "float64",
    "int32",
    "int64",
    "double",
    "long",
    "uint8",
    "int8",
    "int16",
]

# PyTorch's dtype names (``dtype=gj.float``). ``float``, ``int`` and ``bool`` are left out of
# __all__ so that ``from graphjit import *`` does not shadow the builtins.
float32, float64, int32, int64 = "float32", "float64", "int32", "int64"
float, double = "float32", "float64"
int, long = "int32", "int64"
bool = "bool"
# the small integer dtypes (images arrive as uint8), under numpy's and PyTorch's names
uint8, int8, int16 = "uint8", "int8", "int16"
byte, char, short = "uint8", "int8", "int16"
_DEFAULT_DTYPES = ("float64", "int64", "bool")
_mode = tape.mode

_Device = device  # the class, under a name the ``device`` property does not shadow

# numpy's dtype.name is a slow python property: look names up instead
_DTYPE_NAMES: dict[np.dtype, str] = {np.dtype(n): n for n in DTYPES}


def _dtype_name(arr: np.ndarray) -> str:
    return _DTYPE_NAMES.get(arr.dtype) or arr.dtype.name


def fast_type(arr: np.ndarray) -> TensorType:
    """The TensorType of a concrete array, skipping validation (numpy shapes are always valid)."""
    t = object.__new__(TensorType)
    object.__setattr__(t, "shape", arr.shape)
    object.__setattr__(t, "dtype", _dtype_name(arr))
    return t


def new_tensor(data: np.ndarray) -> Tensor:
    """A leaf tensor over ``data`` (no copy), bypassing ``Tensor.__init__``'s argument parsing."""
    t = object.__new__(Tensor)
    t._data = data
    t._ctx = None
    t._requires_grad = False
    t._version = 0
    t._grad = None
    t._var = None
    t._retain = False
    t._hooks = None
    t._copied = False
    return t


class Tensor(InPlaceMethods):
    """An eager n-d array with PyTorch-style autograd (``requires_grad``, ``backward``, ``grad``).

    Build tensors with :func:`tensor`, :func:`from_numpy`, ``gj.zeros``/``ones``/``rand``/...;
    ``Tensor(data)`` makes a float tensor and ``Tensor(2, 3)`` a 2x3 one, as in PyTorch."""

    __slots__ = ("__weakref__", "_copied", "_ctx", "_data", "_grad", "_hooks", "_requires_grad",
                 "_retain", "_var", "_version")  # fmt: skip
    __hash__ = object.__hash__  # tensors are dict keys by identity; == is elementwise
    _leaf = staticmethod(new_tensor)  # how the in-place methods make a tensor of an array

    _data: np.ndarray
    _ctx: TapeEntry | None
    _requires_grad: builtins.bool
    _version: builtins.int
    _grad: Tensor | None
    _var: Variable | None
    _retain: builtins.bool
    _hooks: tape.Hooks | None
    # the result of a view op (indexing, reshape, transpose, ...), which graphjit computes as a
    # copy: an in-place change to it would not reach the tensor it came from, as PyTorch's would
    _copied: builtins.bool

    def __init__(self, *args: Any, requires_grad: builtins.bool = False) -> None:
        if args and all(isinstance(a, (builtins.int, np.integer)) for a in args):
            data = np.zeros(tuple(builtins.int(a) for a in args), dtype=get_default_dtype())
        elif len(args) == 1:
            floaty = not isinstance(args[0], (Tensor, np.ndarray))
            data = array_from(args[0], get_default_dtype() if floaty else None, copy=True)
        elif not args:
            data = np.zeros((0,), dtype=get_default_dtype())
        else:
            raise TypeError(
                f"Tensor(): expected sizes (Tensor(2, 3)) or one data argument, got {args!r}"
            )
        self._data = data
        self._ctx = None
        self._requires_grad = False
        self._version = 0
        self._grad = None
        self._var = None
        self._retain = False
        self._hooks = None
        self._copied = False
        if requires_grad:
            self.requires_grad_(True)

    # -- basic attributes
    @property
    def shape(self) -> tuple[builtins.int, ...]:
        shape = self._data.shape
        # numba's simulated device arrays have a tuple subclass refusing negative indices
        return shape if type(shape) is tuple else tuple(shape)

    @property
    def dtype(self) -> str:
        dt = self._data.dtype  # _dtype_name, inlined: promotion and backward read it often
        return _DTYPE_NAMES.get(dt) or dt.name

    @property
    def ndim(self) -> builtins.int:
        return self._data.ndim

    @property
    def type_(self) -> TensorType:
        """Shape and dtype as a graph TensorType."""
        return fast_type(self._data)

    @property
    def device(self) -> device:
        """``device(type='cpu')``, or ``device(type='cuda', index=0)`` for a tensor on the GPU."""
        return device_of(self._data)

    @property
    def is_cuda(self) -> builtins.bool:
        return is_device_array(self._data)

    def dim(self) -> builtins.int:
        return self.ndim

    # -- memory layout, as PyTorch reports it for the array underneath
    @property
    def is_cpu(self) -> builtins.bool:
        return not is_device_array(self._data)

    def get_device(self) -> builtins.int:
        """-1 for a tensor in host memory, else the index of its GPU."""
        index = self.device.index
        return -1 if self.is_cpu or index is None else builtins.int(index)

    def stride(self, dim: builtins.int | None = None) -> Any:
        """The step between neighbours along each dim, in elements (of the array underneath:
        ``t.t().stride()`` is ``(1, n)``); given ``dim``, that dim's step."""
        itemsize = self._data.dtype.itemsize
        steps = tuple(builtins.int(s) // itemsize for s in self._data.strides)
        if dim is None:
            return steps
        if not -max(self.ndim, 1) <= dim < max(self.ndim, 1) or self.ndim == 0:
            raise IndexError(f"stride: dim {dim} is out of range for a {self.ndim}-D tensor")
        return steps[dim]

    def storage_offset(self) -> builtins.int:
        """Where the first element sits in the memory the array views, in elements."""
        data = self._data
        base: Any = data
        while isinstance(getattr(base, "base", None), np.ndarray):
            base = base.base
        if base is data or not isinstance(data, np.ndarray):
            return 0  # an array of its own (or a device array, never a view here)
        start = data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return builtins.int(start // data.dtype.itemsize)

    def contiguous(self) -> Tensor:
        """This tensor when its array is C-contiguous, else a copy in a C-ordered array (on the
        tape when this tensor requires grad)."""
        if self.is_contiguous():
            return self
        out = self.clone()
        if isinstance(out._data, np.ndarray):  # a product on the tape keeps the input's order
            out._data = np.ascontiguousarray(out._data)
        return out

    def is_contiguous(self) -> builtins.bool:
        """Whether the array underneath is C-contiguous (row-major without gaps)."""
        flags = self._data.flags
        return builtins.bool(
            flags.c_contiguous if hasattr(flags, "c_contiguous") else flags["C_CONTIGUOUS"]
        )

    def numel(self) -> builtins.int:
        return builtins.int(self._data.size)

    nelement = numel

    def __len__(self) -> builtins.int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield self[i]

    def __eq__(self, other: Any) -> Any:
        return F.equal(self, other)

    def __ne__(self, other: Any) -> Any:
        return F.not_equal(self, other)

    # -- conversion to python / numpy
    def _host_only(self, what: str) -> None:
        if is_device_array(self._data):
            raise TypeError(
                f"{what}: can't convert a cuda:0 tensor to numpy; use Tensor.cpu() to copy the "
                "tensor to host memory first"
            )

    def numpy(self) -> np.ndarray:
        """The tensor's array itself (no copy): changing one changes the other. A tensor on the
        GPU raises TypeError, as in PyTorch: copy it with ``.cpu()`` first."""
        self._host_only("numpy()")
        return self._data

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> np.ndarray:
        """``np.asarray(t)`` shares the tensor's memory; ``copy=False`` raises where a dtype
        conversion would need a copy (numpy 2's protocol), ``copy=True`` always copies."""
        self._host_only("__array__")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            if copy is False:
                raise ValueError(
                    f"cannot view a {self.dtype} tensor as {np.dtype(dtype)} without a copy "
                    "(copy=False was asked for)"
                )
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __dlpack__(self, **kwargs: Any) -> Any:
        """DLPack export (``np.from_dlpack(t)``, ``torch.from_dlpack(t)``): shares memory."""
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[builtins.int, builtins.int]:
        device: tuple[builtins.int, builtins.int] = self._data.__dlpack_device__()
        return device

    def tolist(self) -> Any:
        return to_host(self._data).tolist()

    def item(self) -> Any:
        """The single value of a one-element tensor, as a python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): a tensor with {self._data.size} elements (shape {self.shape}) cannot be "
                "converted to a python number; index it first or reduce it (e.g. .sum())"
            )
        return to_host(self._data).item()

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self.dtype not in ("int32", "int64") or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise TensorUsageError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; use "
                ".any() or .all()"
            )
        return builtins.bool(self.item())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        body = np.array2string(
            to_host(self._data), separator=", ", prefix="tensor(", precision=4, threshold=1000
        )
        extra = [] if not self.is_cuda else [f"device='{self.device}'"]
        if self.dtype not in _DEFAULT_DTYPES or self._data.size == 0:
            extra.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{tape.grad_fn_name(self._ctx)}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extra]) + ")"

    def __getstate__(self) -> dict[str, Any]:
        return {"data": to_host(self._data), "requires_grad": self._requires_grad}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Tensor.__init__(self, state["data"], requires_grad=state["requires_grad"])

    def __deepcopy__(self, memo: dict[builtins.int, Any]) -> Tensor:
        if self._ctx is not None:
            raise TensorUsageError(
                "only leaf tensors (made by the user, not by an op) can be deep-copied; "
                "deep-copy t.detach() instead"
            )
        t = new_tensor(copy_array(self._data))
        t._requires_grad = self._requires_grad
        memo[id(self)] = t
        return t

    # -- autograd
    @property
    def grad(self) -> Tensor | None:
        """The gradient ``backward`` accumulated (None until then, or after ``zero_grad``)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got "
                    f"{type(value).__name__} (wrap an array with gj.tensor)"
                )
            if tuple(value.shape) != self.shape:
                raise TensorUsageError(
                    f"assigned grad has shape {tuple(value.shape)}, the tensor {self.shape}"
                )
        self._grad = value

    @property
    def requires_grad(self) -> builtins.bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: builtins.bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Mark a leaf tensor as needing gradients (in place); returns the tensor."""
        requires_grad = builtins.bool(requires_grad)
        if self._ctx is not None:
            if requires_grad:
                return self
            raise TensorUsageError(
                "requires_grad can only be changed on leaf tensors; use .detach() to get a tensor "
                "that does not require grad"
            )
        if requires_grad and not is_float(self.dtype):
            raise TensorUsageError(
                f"only floating point tensors can require gradients, this one is {self.dtype}; "
                "convert it first (e.g. .double())"
            )
        self._requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors made by the user (or that do not require grad); False for op results
        on the tape."""
        return self._ctx is None

    @property
    def grad_fn(self) -> tape.GradFn | None:
        """The op that made this tensor (``MulBackward0``...), None for leaves."""
        return None if self._ctx is None else tape.grad_fn(self._ctx)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor in the next backward."""
        if not self._requires_grad:
            raise TensorUsageError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    @property
    def retains_grad(self) -> builtins.bool:
        """True for a non-leaf tensor whose ``.grad`` backward keeps (``retain_grad()``)."""
        return self._retain and self._ctx is not None

    def register_hook(self, hook: Callable[[Any], Any]) -> tape.HookHandle:
        """Call ``hook(grad)`` with this tensor's gradient each time one is computed (backward
        and ``gj.grad``); a hook that returns a tensor replaces the gradient (what flows on to
        the inputs, or what a leaf accumulates). Returns a handle whose ``remove()`` takes the
        hook off."""
        if not self._requires_grad:
            raise TensorUsageError(
                "register_hook: cannot register a hook on a tensor that does not require grad"
            )
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        return tape.HookHandle(self._hooks, hook)

    def detach(self) -> Tensor:
        """A tensor sharing this one's array, cut from the tape (requires_grad False)."""
        return new_tensor(self._data)

    def detach_(self) -> Tensor:
        self._ctx = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """The values without autograd (shares the array). Assigning ``t.data = v`` writes ``v``
        into the tensor's array in place when shapes and dtypes agree (so numpy views and compiled
        graphs sharing the array see it), else gives the tensor a new array."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        arr = _value(value)
        arr = arr if is_device_array(arr) else np.asarray(arr)
        if tuple(arr.shape) == tuple(self._data.shape) and arr.dtype == self._data.dtype:
            write_array(self._data, arr)
        elif self.is_cuda or is_device_array(arr):
            self._rebind(copy_array(move_array(arr, self.device)))
        else:
            self._rebind(array_from(arr, None, copy=True))

    def _rebind(self, data: np.ndarray) -> None:
        self._data = data
        self._var = None

    def backward(
        self,
        gradient: Any = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` is the cotangent (needed unless the tensor has one element). The tape is
        freed afterwards unless ``retain_graph`` (default: ``create_graph``); with
        ``create_graph`` the gradients are on the tape themselves (second derivatives)."""
        tape.backward(self, gradient, retain_graph, create_graph, inputs)

    def clone(self) -> Tensor:
        """A copy with its own array; on the tape when this tensor requires grad."""
        if self._requires_grad and _mode.enabled:
            return self * 1
        return new_tensor(copy_array(self._data))

    # -- device and dtype
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to(): unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dtype = a.device, a.dtype
            elif is_device(a) or (isinstance(a, str) and not names_a_dtype(a)):
                dev = a  # a string numpy reads as no dtype names a device ('tpu': unknown)
            elif isinstance(a, builtins.int) and not isinstance(a, builtins.bool):
                dev = f"cuda:{a}"  # PyTorch's spelling of a GPU by its index
            else:
                dtype = a
        out = self
        if dev is not None:
            target = check_device(dev, "to()")
            if target != self.device:
                out = self._moved(target)
        out = out if dtype is None else F.astype(out, dtype)
        return out.clone() if copy and out is self else out

    def _moved(self, target: _Device) -> Tensor:
        """A copy on ``target``, a leaf: one that requires grad when this tensor is a leaf that
        does; a tensor computed on the tape moves detached (as ``.detach().to(...)``: autograd
        runs on one device, so gradients do not flow back across the move)."""
        t = new_tensor(move_array(self._data, target))
        t._requires_grad = self._requires_grad and self._ctx is None
        return t

    def _move_(self, target: _Device) -> None:
        """Move this tensor to ``target`` in place (``model.to``): the same tensor object, so an
        optimiser holding it follows, and so does the graph variable sharing its storage."""
        if target == self.device:
            return
        var = self._var
        if var is not None and var.storage.array is self._data:
            var.storage.to(target.type)
            self._data = var.storage.array
        else:
            self._data = move_array(self._data, target)
        self._version += 1
        if self.grad is not None:
            self.grad._move_(target)

    def cpu(self) -> Tensor:
        """This tensor in host memory: itself, or a copy of a tensor on the GPU."""
        return self.to("cpu")

    def cuda(self, device: Any = "cuda") -> Tensor:
        """This tensor on the GPU: itself, or a copy of a tensor in host memory."""
        return self.to(device)


def array_from(data: Any, dtype: str | None, copy: builtins.bool) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)) and builtins.any(isinstance(x, Tensor) for x in data):
        data = [_value(x) if isinstance(x, Tensor) else x for x in data]
    arr = as_array(data, dtype)
    if copy and (arr is data or np.shares_memory(arr, np.asarray(data))):
        arr = arr.copy()
    if not arr.flags.writeable:
        arr = arr.copy()
    return arr
