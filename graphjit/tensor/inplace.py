"""The in-place side of the eager Tensor (PyTorch's trailing-underscore methods, ``+=`` and
friends, ``t[index] = value``): a mixin of :class:`graphjit.tensor.tensor.Tensor`.

An in-place op runs on the tape when autograd is involved (the old value takes over the tape
entry, the tensor gets the new one), and otherwise writes the tensor's array, so views and numpy
arrays sharing it see the change; a leaf that requires grad refuses it outside ``gj.no_grad()``,
as in PyTorch. Assignment into a cuda tensor runs on the device (``tensor/assign.py``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.autodiff import tape
from graphjit.autodiff.tape import no_grad
from graphjit.cuda_compat import is_device_array, to_host
from graphjit.dtypes import check_ints_fit, check_number_fits
from graphjit.errors import TensorUsageError
from graphjit.ops.leaves import write_array
from graphjit.tensor.assign import assign_on_device

if TYPE_CHECKING:
    from graphjit.autodiff.tape import TapeEntry

    # the methods graphjit.methods installs on Tensor when graphjit loads (see there)
    from graphjit.methods import TensorMethods as _InstalledMethods
else:
    _InstalledMethods = object

_mode = tape.mode


class InPlaceMethods(_InstalledMethods):
    """The in-place methods of Tensor (which supplies the attributes and ``_leaf`` below)."""

    if not TYPE_CHECKING:  # no instance dict for Tensor (mypy wants the attributes declared)
        __slots__ = ()
    else:
        _data: Any
        _ctx: TapeEntry | None
        _requires_grad: builtins.bool
        _version: builtins.int
        _copied: builtins.bool

        @property
        def shape(self) -> tuple[builtins.int, ...]:
            raise NotImplementedError

        @property
        def dtype(self) -> str:
            raise NotImplementedError

        @property
        def is_cuda(self) -> builtins.bool:
            raise NotImplementedError

        def _rebind(self, data: Any) -> None:
            raise NotImplementedError

        @staticmethod
        def _leaf(data: Any) -> Any:
            raise NotImplementedError

    def _check_inplace(self, what: str) -> None:
        if self._copied:
            raise TensorUsageError(
                f"{what}: this tensor came from indexing, reshape, transpose or another view "
                "op, which graphjit computes as a copy (PyTorch and numpy give a view): an "
                "in-place change would not reach the tensor it came from. Write into that "
                "tensor instead (t[0] = v, t[:, 1] = 0), or .clone() this one to change a copy"
            )
        if self._requires_grad and self._ctx is None and _mode.enabled:
            raise TensorUsageError(
                f"{what}: a leaf tensor that requires grad is being modified in place; do it "
                "under `with gj.no_grad():` (as an optimiser step does) or work on a copy"
            )

    def _inplace(self, fn: Callable[..., Any], *args: Any, what: str) -> Any:
        """``self = fn(self, *args)`` in place: on the tape when autograd is involved, otherwise
        written into the tensor's array (so views and numpy arrays sharing it see the change)."""
        self._check_inplace(what)
        tracked = _mode.enabled and (
            self._requires_grad
            or any(isinstance(a, InPlaceMethods) and a._requires_grad for a in args)
        )
        if not tracked:
            with no_grad():
                new = fn(self, *args)
            _check_fits(self, new, what)
            _write(self, new._data, what, casting="same_kind")
            return self
        old = self._leaf(self._data)  # the value before: it takes over the tape entry
        old._ctx, old._requires_grad, old._version = self._ctx, self._requires_grad, self._version
        new = fn(old, *args)
        _check_fits(self, new, what)
        if new.dtype != self.dtype:
            new = F.astype(new, self.dtype)
        self._rebind(new._data)
        self._version += 1
        self._requires_grad = new._requires_grad
        if new._ctx is not None:
            self._ctx = new._ctx._replace(out_version=self._version, label=None)
        return self

    def add_(self, other: Any, alpha: Any = 1) -> Any:
        return self._inplace(lambda s, o: s.add(o, alpha), other, what="add_")

    def sub_(self, other: Any, alpha: Any = 1) -> Any:
        return self._inplace(lambda s, o: s.sub(o, alpha), other, what="sub_")

    def mul_(self, other: Any) -> Any:
        return self._inplace(F.multiply, other, what="mul_")

    def div_(self, other: Any) -> Any:
        return self._inplace(F.divide, other, what="div_")

    def pow_(self, exponent: Any) -> Any:
        return self._inplace(F.power, exponent, what="pow_")

    def clamp_(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        return self._inplace(lambda s: F.clip(s, min, max), what="clamp_")

    def bitwise_and_(self, other: Any) -> Any:
        return self._inplace(F.bitwise_and, other, what="bitwise_and_")

    def bitwise_or_(self, other: Any) -> Any:
        return self._inplace(F.bitwise_or, other, what="bitwise_or_")

    def bitwise_xor_(self, other: Any) -> Any:
        return self._inplace(F.bitwise_xor, other, what="bitwise_xor_")

    def bitwise_not_(self) -> Any:
        return self._inplace(F.bitwise_not, what="bitwise_not_")

    def bitwise_left_shift_(self, other: Any) -> Any:
        return self._inplace(F.left_shift, other, what="bitwise_left_shift_")

    def bitwise_right_shift_(self, other: Any) -> Any:
        return self._inplace(F.right_shift, other, what="bitwise_right_shift_")

    # in-place operators return the tensor itself (mypy compares them with the installed __add__)
    def __iadd__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.add_(other)

    def __isub__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.sub_(other)

    def __imul__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.div_(other)

    def __iand__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.bitwise_and_(other)

    def __ior__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.bitwise_or_(other)

    def __ixor__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.bitwise_xor_(other)

    def __ilshift__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other: Any) -> Any:  # type: ignore[misc]
        return self.bitwise_right_shift_(other)

    def fill_(self, value: Any) -> Any:
        """Set every element to ``value`` (a number or a 0-d tensor, cast to this tensor's
        dtype as PyTorch casts it), in place."""
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"fill_: value must be a number, got {type(value).__name__}")
        shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
        if shape != ():
            raise ValueError(f"fill_: value must be a number or a 0-d tensor, got shape {shape}")
        if type(value) in (builtins.int, builtins.float, builtins.bool, builtins.complex):
            check_number_fits(value, np.dtype(self._data.dtype), "fill_")
        dt = self.dtype
        return self._inplace(lambda s, v: F.where(False, s, F.astype(v, dt)), value, what="fill_")

    def zero_(self) -> Any:
        """Set every element to zero, in place (on the GPU for a cuda tensor: no host array is
        copied in)."""
        if not (self._requires_grad and _mode.enabled) and isinstance(self._data, np.ndarray):
            self._check_inplace("zero_")
            write_array(self._data, np.zeros(self.shape, self._data.dtype))
            self._version += 1
            return self
        return self.fill_(0)

    def copy_(self, src: Any) -> Any:
        """Copy ``src`` (broadcast, any dtype) into this tensor, in place."""
        shape = tuple(src.shape) if hasattr(src, "shape") else np.shape(src)
        if _broadcast_shape(shape, self.shape) != self.shape:
            raise ValueError(
                f"copy_: a value of shape {shape} does not fit the tensor's shape {self.shape}"
            )
        if isinstance(src, InPlaceMethods) and src._requires_grad and _mode.enabled:
            dt = self.dtype
            return self._inplace(lambda s, v: F.where(True, v, s).astype(dt), src, what="copy_")
        self._check_inplace("copy_")
        if self._requires_grad and _mode.enabled:  # a non-leaf: the old value stops mattering
            return self._inplace(lambda s, v: F.where(True, v, s), _value(src), what="copy_")
        value = _value(src)
        _write(self, value if is_device_array(value) else np.asarray(value), "copy_", "unsafe")
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        if self._copied:
            self._check_inplace("assignment")
        if _mode.enabled and (self._requires_grad or getattr(value, "_requires_grad", False)):
            raise TensorUsageError(
                "assigning into a tensor that requires grad (or a value that does) is not "
                "supported outside gj.no_grad(); build the result with gj.where or gj.cat instead"
            )
        if self.is_cuda:  # on the device: the tensor's array is written in place
            assign_on_device(self._data, _np_index(index), self._device_value(value))
            self._version += 1
            return
        index = _np_index(index)
        value = _value(value)
        index = tuple(map(_on_host, index)) if isinstance(index, tuple) else _on_host(index)
        if type(value) in (builtins.int, builtins.float, builtins.bool, builtins.complex):
            check_number_fits(value, self._data.dtype, "assignment")
            self._data[index] = value
        else:
            arr = np.asarray(_on_host(value))
            check_ints_fit(arr, self._data.dtype, "assignment")
            self._data[index] = arr
        self._version += 1

    def _device_value(self, value: Any) -> Any:
        """An assigned value as :func:`assign_on_device` takes it: a device array cast to this
        tensor's dtype on the device (as numpy's astype); anything else as it is (a host value is
        cast on the host, then copied to the device)."""
        data = _value(value)
        if not is_device_array(data) or np.dtype(data.dtype) == self._data.dtype:
            return data
        dtype = np.dtype(self._data.dtype)
        if np.dtype(data.dtype).kind in "iu" and not np.can_cast(data.dtype, dtype, "safe"):
            check_ints_fit(to_host(data), dtype, "assignment")  # the cast would wrap them
        with no_grad():
            return F.astype(self._leaf(data), self.dtype)._data


def _value(x: Any) -> Any:
    """The array of a tensor (other values unchanged)."""
    return x._data if isinstance(x, InPlaceMethods) else x


def _on_host(x: Any) -> Any:
    """A device array's values on the host; anything else as it is."""
    return to_host(x) if is_device_array(x) else x


def _np_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_value(i) for i in index)
    return _value(index)


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape ``a`` and ``b`` broadcast to, None when they do not."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _check_fits(t: Any, new: Any, what: str) -> None:
    """The result of an in-place op must have the tensor's shape (no broadcasting the tensor
    itself) and a dtype that casts to the tensor's (float into int is refused, as PyTorch's
    "result type can't be cast"); checked before anything is written."""
    if tuple(new.shape) != tuple(t.shape):
        raise TensorUsageError(
            f"{what}: a value of shape {tuple(new.shape)} does not fit the tensor's shape "
            f"{tuple(t.shape)} (an in-place result keeps the tensor's shape)"
        )
    if not np.can_cast(new.dtype, t.dtype, casting="same_kind"):
        raise TypeError(f"{what}: cannot store {new.dtype} values in a {t.dtype} tensor")


def _write(t: Any, value: Any, what: str, casting: str) -> None:
    """Write ``value`` into ``t``'s array (it must broadcast to the tensor's shape)."""
    if t.is_cuda or is_device_array(value):
        if tuple(value.shape) != t.shape:
            value = np.broadcast_to(to_host(value), t.shape)
        write_array(t._data, value)
        t._version += 1
        return
    if not t._data.flags.writeable:
        raise ValueError(
            f"{what}: this tensor's memory is read-only (say, from_numpy of a read-only array, "
            "or a graph constant's value); .clone() it first"
        )
    try:
        np.copyto(t._data, value, casting=casting)  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(f"{what}: cannot store {value.dtype} values in a {t.dtype} tensor") from exc
    except ValueError as exc:
        raise ValueError(
            f"{what}: a value of shape {value.shape} does not fit the tensor's shape {t.shape}"
        ) from exc
    t._version += 1
