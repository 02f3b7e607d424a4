"""``t[index] = value`` for a tensor in GPU memory, run on the device with numpy's semantics.

The index is read on the host into a :class:`Plan`: the element the indexed view starts at, the
view's dims (each a size and a stride into the target: slices, ints, ``None``, ``...``) and the
advanced indices (integer arrays, lists, int tensors, boolean masks: a mask is the flat positions
of its true elements over its axes), broadcast together into one block of the result's dims, in
place or first as numpy puts it. The value is broadcast to the result's shape (numpy's rules:
leading dims of size 1 beyond it are dropped) and cast to the target's dtype as numpy casts (a
host value on the host, before its one copy to the device; a device value is cast by the caller,
on the device).
The kernels of ``graphjit.kernels.cuda.assign`` then write the target in place: the target is
never copied to the host. With advanced indices a first kernel wraps negative indices, checks
them (one int64 per index array is read back; IndexError names the first index out of range and
the axis's size, and nothing has been written) and picks, for an element named twice, the last
position, which numpy's assignment leaves there.

``t[mask] = v`` with one mask over the leading dims and ``v`` fitting the dims left runs as one
kernel with no read back (PyTorch's common ``x[x < 0] = 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from graphjit.cuda_compat import (
    array_address,
    as_numba_device_array,
    import_numba_cuda,
    is_device_array,
    to_host,
)
from graphjit.dtypes import check_ints_fit, check_number_fits

__all__ = ["assign_on_device"]

_VALID = (
    "only integers, slices (`:`), ellipsis (`...`), None (newaxis) and integer or boolean arrays "
    "or tensors are valid indices"
)
# an array the index parses into: host (numpy) or device (numba) memory
_Array = Any


class Advanced(NamedTuple):
    """One advanced index array and the target axis it indexes."""

    index: _Array  # integer indices, host or device, any shape (broadcast with the others)
    axis: int  # the target axis (-1 for the unit axis a 0-d boolean index adds)
    size: int  # that axis's size
    stride: int  # that axis's stride in the target, in elements


class Plan(NamedTuple):
    """Where ``target[index]`` lies in the target (in elements of its flat array)."""

    base: int  # the first element of the view
    shape: tuple[int, ...]  # the result's shape (the value is broadcast to it)
    strides: tuple[int, ...]  # per result dim its stride in the target (0 in the advanced block)
    block: int  # the first result dim of the advanced indices' broadcast shape
    block_shape: tuple[int, ...]  # that shape (empty without advanced indices)
    advanced: tuple[Advanced, ...]


def assign_on_device(target: Any, index: Any, value: Any) -> None:
    """``target[index] = value`` for a C-contiguous device array ``target``, on the device.
    ``index`` holds python ints, slices, None, Ellipsis, and host or device arrays (tensors
    already unwrapped); ``value`` is a python number, a host array, or a device array of the
    target's dtype (cast by the caller)."""
    target = as_numba_device_array(target)
    if not target.is_c_contiguous():
        raise ValueError(
            "assigning into a cuda tensor whose memory is not C-contiguous is not supported; "
            "assign into a .clone() of it"
        )
    shape = tuple(int(n) for n in target.shape)
    entries = _entries(index)
    src = _source(value, np.dtype(target.dtype), target)
    src_shape = tuple(int(n) for n in src.shape)
    kernels = _assign_kernels()
    mask = _leading_mask(entries, shape)
    if mask is not None and _fits(src_shape, shape[mask.ndim :]):
        rest = shape[mask.ndim :]
        plan = _device_plan(rest, (0,) * len(rest), _value_strides(src_shape, rest), ())
        kernels.masked_copy(_flat(target), _flat(_on_device(mask)), plan, _flat(_on_device(src)))
        return
    where = plan_assignment(shape, entries)
    if src_shape and len(entries) == len(shape) and all(type(e) is int for e in entries):
        raise ValueError("setting an array element with a sequence.")  # numpy's words
    if not _fits(src_shape, where.shape):
        raise ValueError(
            f"could not broadcast a value of shape {src_shape} into the indexed shape "
            f"{where.shape} (t[index] = value with t of shape {shape})"
        )
    block_strides = [0] * len(where.shape)
    block_dims = range(where.block, where.block + len(where.block_shape))
    for d, s in zip(block_dims, _c_strides(where.block_shape)):
        block_strides[d] = s
    total = int(np.prod(where.shape, dtype=np.int64))
    advanced = _claimed(kernels, where) if where.advanced else None
    if total == 0:
        return
    plan = _device_plan(
        where.shape, where.strides, _value_strides(src_shape, where.shape), block_strides
    )
    kernels.scatter(_flat(target), where.base, plan, total, _flat(_on_device(src)), advanced)


def plan_assignment(shape: tuple[int, ...], entries: Sequence[Any]) -> Plan:
    """Where ``a[index]`` lies in a C-contiguous array ``a`` of ``shape``, the index read as
    numpy reads it (``entries``: see :func:`_entries`); IndexError, in numpy's words, for an
    index numpy refuses. An int out of range raises here; advanced indices are checked on the
    device."""
    if sum(e is Ellipsis for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(e) for e in entries)
    if used > len(shape):
        raise IndexError(
            f"too many indices for tensor: tensor is {len(shape)}-dimensional, but {used} were "
            "indexed"
        )
    if not any(e is Ellipsis for e in entries):
        entries = [*entries, Ellipsis]
    has_advanced = any(_is_array(e) for e in entries)
    strides = _c_strides(shape)
    base, axis = 0, 0
    dims: list[int] = []
    dim_strides: list[int] = []
    advanced: list[Advanced] = []
    # numpy puts the advanced indices' dims where they are when nothing (a slice, None, ...)
    # separates them, else first; with an advanced index, an int is one (a 0-d array)
    block, separated, gap = -1, False, False
    for e in entries:
        if _is_array(e) or (has_advanced and isinstance(e, int)):
            block = len(dims) if block < 0 else block
            separated, gap = separated or gap, False
            advanced.append(_advanced(e, shape, strides, axis))
            axis += _dims_used(e)
            continue
        gap = block >= 0
        if e is None:
            dims.append(1)
            dim_strides.append(0)
        elif e is Ellipsis:
            for _ in range(len(shape) - used):
                dims.append(shape[axis])
                dim_strides.append(strides[axis])
                axis += 1
        elif isinstance(e, slice):
            start, stop, step = e.indices(shape[axis])
            dims.append(len(range(start, stop, step)))
            dim_strides.append(step * strides[axis])
            base += start * strides[axis] if dims[-1] else 0
            axis += 1
        else:  # an int, no advanced index: the view drops the axis
            base += _wrapped(e, axis, shape[axis]) * strides[axis]
            axis += 1
    block_shape: tuple[int, ...] = ()
    if advanced:
        shapes = [tuple(int(n) for n in a.index.shape) for a in advanced]
        try:
            block_shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise IndexError(
                "shape mismatch: indexing arrays could not be broadcast together with shapes "
                + " ".join(str(s) for s in shapes)
            ) from None
        block = 0 if separated else block
        dims[block:block] = block_shape
        dim_strides[block:block] = [0] * len(block_shape)
    return Plan(base, tuple(dims), tuple(dim_strides), max(block, 0), block_shape, tuple(advanced))


def _claimed(kernels: ModuleType, where: Plan) -> tuple[Any, Any, Any] | None:
    """The advanced index arrays broadcast into the rows of one int64 device matrix, checked
    and wrapped on the device, and the last position naming each element: ``scatter``'s
    ``advanced``. IndexError for an index out of range (read back: one int64 per array)."""
    positions = int(np.prod(where.block_shape, dtype=np.int64))
    if positions == 0:
        return None
    cuda = import_numba_cuda()
    count = len(where.advanced)
    rows = cuda.device_array((count, positions), np.int64)
    flat_rows, row_strides = _flat(rows), _c_strides(where.block_shape)
    for k, a in enumerate(where.advanced):
        index = _on_device(a.index if is_device_array(a.index) else a.index.astype(np.int64))
        shape = tuple(int(n) for n in index.shape)
        spread = _value_strides(shape, where.block_shape)
        row = _device_plan(where.block_shape, row_strides, spread, ())
        kernels.scatter(flat_rows, k * positions, row, positions, _flat(index))
    sizes = [a.size for a in where.advanced]
    axes = cuda.to_device(
        np.array([[a.stride for a in where.advanced], _c_strides(tuple(sizes)), sizes], np.int64)
    )
    winner, first_bad = kernels.claim(rows, axes, int(np.prod(sizes, dtype=np.int64)))
    for k, (a, b) in enumerate(zip(where.advanced, to_host(first_bad))):
        if b < positions:  # numpy names the first index out of range
            at = k * positions + int(b)
            given = int(to_host(flat_rows[at : at + 1])[0])
            raise IndexError(f"index {given} is out of bounds for axis {a.axis} with size {a.size}")
    return rows, axes, winner


def _entries(index: Any) -> list[Any]:
    """The index as a list of python ints, slices, None, Ellipsis, host arrays (integer or
    boolean, not 0-d integer: that is an int) and device arrays (integer or boolean, 1-d or
    more)."""
    return [_entry(x) for x in (index if isinstance(index, tuple) else (index,))]


def _entry(x: Any) -> Any:
    if x is None or x is Ellipsis or isinstance(x, slice):
        return x
    if isinstance(x, (bool, np.bool_)):
        return np.array(bool(x))  # a 0-d mask: a unit axis, kept (True) or emptied (False)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if is_device_array(x):
        x = as_numba_device_array(x)
        _check_index_dtype(np.dtype(x.dtype))
        return x if x.ndim else _entry(to_host(x)[()])  # one element read: a 0-d index
    if isinstance(x, (list, tuple, np.ndarray)):
        arr = np.asarray(x)
        if not isinstance(x, np.ndarray) and arr.size == 0:
            arr = arr.astype(np.int64)  # numpy reads an empty list as no integer indices
        _check_index_dtype(arr.dtype)
        return int(arr) if arr.ndim == 0 and arr.dtype != np.bool_ else arr
    raise IndexError(f"{_VALID}; got {type(x).__name__}")


def _check_index_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in "biu":
        raise IndexError(
            f"arrays used as indices must be of integer (or boolean) type, not {dtype}"
        )


def _is_array(e: Any) -> bool:
    return isinstance(e, np.ndarray) or is_device_array(e)


def _is_mask(e: Any) -> bool:
    return _is_array(e) and np.dtype(e.dtype) == np.bool_


def _dims_used(e: Any) -> int:
    """How many of the target's dims an index entry consumes."""
    if e is None or e is Ellipsis:
        return 0
    return int(e.ndim) if _is_mask(e) else 1


def _advanced(e: Any, shape: tuple[int, ...], strides: tuple[int, ...], axis: int) -> Advanced:
    """An advanced index entry at ``axis`` as one integer index array. A k-d mask is the flat
    positions of its true elements over its k axes (contiguous in the target: one axis of their
    product's size whose stride is the last one's); a 0-d mask indexes a new unit axis."""
    if isinstance(e, int):
        return Advanced(np.array(e, np.int64), axis, shape[axis], strides[axis])
    if not _is_mask(e):
        return Advanced(e, axis, shape[axis], strides[axis])
    if e.ndim == 0:
        return Advanced(np.zeros(int(bool(e)), np.int64), -1, 1, 0)
    covered = shape[axis : axis + e.ndim]
    for j, (n, m) in enumerate(zip(covered, e.shape)):
        if n != m:
            raise IndexError(
                f"boolean index did not match indexed tensor along axis {axis + j}; size of axis "
                f"is {n} but size of corresponding boolean axis is {m}"
            )
    positions = _flatnonzero(e)
    return Advanced(
        positions, axis, int(np.prod(covered, dtype=np.int64)), strides[axis + e.ndim - 1]
    )


def _flatnonzero(mask: Any) -> Any:
    """The flat positions of a mask's true elements: on the host for a host mask, else on the
    device (their count read to the host)."""
    if isinstance(mask, np.ndarray):
        return np.flatnonzero(mask).astype(np.int64)
    return _select_kernels().flatnonzero(_flat(mask))


def _leading_mask(entries: Sequence[Any], shape: tuple[int, ...]) -> Any:
    """The index's mask when it is one boolean array over the target's leading dims, else None."""
    if len(entries) != 1 or not _is_mask(entries[0]) or entries[0].ndim == 0:
        return None
    mask = entries[0]
    return mask if tuple(int(n) for n in mask.shape) == shape[: mask.ndim] else None


def _wrapped(i: int, axis: int, n: int) -> int:
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
    return i % n


def _source(value: Any, dtype: np.dtype, target: Any) -> Any:
    """The value as an array of the target's dtype: a host value cast as numpy casts in an
    assignment (a python int out of the dtype's range raises OverflowError); a device value as
    it is, copied on the device when it shares the target's memory (``t[::-1] = t``)."""
    if is_device_array(value):
        value = as_numba_device_array(value)
        if np.dtype(value.dtype) != dtype:
            raise TypeError(
                f"a device value of dtype {np.dtype(value.dtype)} for a {dtype} tensor: cast it "
                "first"
            )
        if _shares_memory(value, target):
            copy = import_numba_cuda().device_array(value.shape, dtype)
            copy.copy_to_device(value)
            return copy
        return value
    if isinstance(value, (bool, int, float, complex)):
        check_number_fits(value, dtype, "assignment")
        out = np.empty((), dtype)
        out[()] = value
        return out
    arr = np.asarray(value)
    check_ints_fit(arr, dtype, "assignment")
    out = np.empty(arr.shape, dtype)
    out[...] = arr
    return out


def _shares_memory(a: Any, b: Any) -> bool:
    if a is b:
        return True
    ia = getattr(a, "__cuda_array_interface__", None)
    ib = getattr(b, "__cuda_array_interface__", None)
    if ia is None or ib is None:  # the simulator's arrays: only the same object is known
        return False
    start_a, start_b = array_address(a), array_address(b)
    end_a = start_a + int(a.size) * np.dtype(a.dtype).itemsize
    end_b = start_b + int(b.size) * np.dtype(b.dtype).itemsize
    return start_a < end_b and start_b < end_a


def _strip(vshape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """A value's shape less the leading dims of size 1 beyond ``ndim`` (numpy drops them)."""
    while len(vshape) > ndim and vshape[0] == 1:
        vshape = vshape[1:]
    return vshape


def _fits(vshape: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether a value of ``vshape`` broadcasts to ``shape`` (numpy's assignment rule)."""
    vshape = _strip(vshape, len(shape))
    if len(vshape) > len(shape):
        return False
    return all(v in (1, n) for v, n in zip(vshape[::-1], shape[::-1]))


def _value_strides(vshape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per dim of ``shape`` the stride of a C-contiguous value of ``vshape`` broadcast to it (0
    where it repeats)."""
    vshape = _strip(vshape, len(shape))
    own = _c_strides(vshape)
    lead = len(shape) - len(vshape)
    return (0,) * lead + tuple(s if v == n else 0 for v, n, s in zip(vshape, shape[lead:], own))


def _c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, s = [], 1
    for n in reversed(shape):
        strides.append(s)
        s *= n
    return tuple(reversed(strides))


def _device_plan(
    shape: Sequence[int], dst: Sequence[int], src: Sequence[int], block: Sequence[int]
) -> Any:
    """The ``(4, ndim)`` int64 plan of ``graphjit.kernels.cuda.assign.scatter`` on the device."""
    block = block or (0,) * len(shape)
    plan = np.array([list(shape), list(dst), list(src), list(block)], np.int64).reshape(4, -1)
    return import_numba_cuda().to_device(plan)


def _flat(a: Any) -> Any:
    return a.reshape(int(a.size))


def _on_device(a: Any) -> Any:
    return a if is_device_array(a) else import_numba_cuda().to_device(np.ascontiguousarray(a))


def _assign_kernels() -> ModuleType:
    """``graphjit.kernels.cuda.assign``, loaded on first use: it compiles CUDA kernels, and
    numba's CUDA target must be loaded (with graphjit's numpy shims) first."""
    import_numba_cuda()
    from graphjit.kernels.cuda import assign  # noqa: PLC0415 - loads numba.cuda

    return assign


def _select_kernels() -> ModuleType:
    """``graphjit.kernels.cuda.select`` (a mask's true elements), loaded on first use."""
    import_numba_cuda()
    from graphjit.kernels.cuda import select  # noqa: PLC0415 - loads numba.cuda

    return select
