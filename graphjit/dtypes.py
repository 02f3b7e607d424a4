"""graphjit's dtypes and numpy 2 promotion.

graphjit computes in eight dtypes: ``bool``, ``uint8``, ``int8``, ``int16``, ``int32``, ``int64``,
``float32`` and ``float64`` (images arrive as uint8). Promotion follows numpy 2 (NEP 50): python
scalars are *weak* (``float32 + 1.0`` stays float32, ``uint8 + 1`` stays uint8), and numpy's other
dtypes map into graphjit's set (uint16 widens to int32, uint32/uint64 to int64, float16 to
float32).

The *default float dtype* (:func:`set_default_dtype`, float64 unless set, as numpy) is the float
used where no float input decides it: a python float meeting only ints or bools (``int_tensor *
0.5``), an op that makes floats of ints (``true_divide``, ``mean``), and the creation functions
given python floats or no dtype (see ``graphjit.tensor.creation``).

Both graph nodes and eager tensors carry their dtype as one of these names, so this module needs
neither: it reads ``x.dtype`` from whatever it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.errors import IntegerOutOfRangeError

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")
SMALL_INT_DTYPES = ("uint8", "int8", "int16")

_default_float = "float64"


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the default float dtype, as ``torch.set_default_dtype``:
    ``gj.zeros(2, 3)``, ``gj.tensor([1.0])``, ``int_tensor * 0.5`` and ``mean`` of ints give it.
    Arrays, tensors and graph nodes that have a float dtype keep theirs."""
    global _default_float
    name = as_dtype(dtype)
    if name not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {name}")
    _default_float = name


def get_default_dtype() -> str:
    """The default float dtype (float64 unless :func:`set_default_dtype` changed it)."""
    return _default_float


def as_dtype(dtype: Any) -> str:
    """Canonical dtype name from a string, numpy dtype, numpy scalar type or python type."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    if dtype is float:
        return "float64"
    if dtype is int:
        return "int64"
    if dtype is bool:
        return "bool"
    try:
        name = np.dtype(dtype).name
    except TypeError as exc:
        raise TypeError(
            f"unsupported dtype {dtype!r}; expected one of {', '.join(DTYPES)}"
        ) from exc
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; expected one of {', '.join(DTYPES)}")
    return name


def names_a_dtype(name: str) -> bool:
    """Whether numpy reads the string ``name`` as a dtype (one of graphjit's or not: 'float16'
    does, 'tpu' does not), which tells a dtype from a device where either may be given."""
    try:
        np.dtype(name)
    except (TypeError, ValueError, SyntaxError):  # a malformed spec too ('i4, ]')
        return False
    return True


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: str) -> bool:
    return dtype in INT_DTYPES


# --------------------------------------------------------------------------------------------------
# promotion


def _carried_dtype(x: Any) -> str | None:
    """The dtype name a graph node or eager tensor carries (both have ``.dtype`` as a str)."""
    dt = getattr(x, "dtype", None)
    return dt if isinstance(dt, str) else None


def _dtype_key(x: Any) -> Any:
    """What np.result_type should see for an argument: a dtype, or the weak python scalar."""
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    carried = _carried_dtype(x)
    if carried is not None:
        return np.dtype(carried)
    return as_array(x, None).dtype


_promotion_memo: dict[tuple[Any, ...], str] = {}


def _promotion_key(a: Any) -> Any:
    """What the promotion of ``a`` depends on: its dtype, or for a weak python scalar its type
    (NEP 50: a python scalar's value never changes the result dtype). None: not memoisable."""
    t = type(a)
    if t is bool or t is int or t is float:
        return t
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype
    return _carried_dtype(a)


def result_dtype(args: Sequence[Any], to_float: bool = False) -> str:
    """numpy 2 promotion of the given arguments (python scalars weak), in graphjit's dtypes."""
    parts: list[Any] = [to_float, _default_float]
    for a in args:  # every eager op with mixed arguments comes here: no generators
        t = type(a)
        k = t if (t is float or t is int or t is bool) else _promotion_key(a)
        if t is int and not _INT64_MIN <= a <= _INT64_MAX:
            k = None  # numpy gives such an int a dtype of its own (uint64, object)
        # identity, not ``None in key``: numpy compares float64 equal to None (np.dtype(None))
        if k is None:
            return _result_dtype(args, to_float)  # not memoisable
        parts.append(k)
    key = tuple(parts)
    hit = _promotion_memo.get(key)
    if hit is None:
        hit = _promotion_memo[key] = _result_dtype(args, to_float)
    return hit


def _result_dtype(args: Sequence[Any], to_float: bool) -> str:
    keys = [_dtype_key(a) for a in args]
    dt = np.result_type(*keys)
    if dt.kind in "uiO":  # an int result: a python int past int64 would wrap or be an object
        check_int64_range(args)
    if dt.kind == "u" and dt.itemsize >= 4:
        dt = np.dtype("int64")  # user uint32/uint64 arrays: widen into graphjit's signed set
    elif dt.kind == "u" and dt.itemsize == 2:
        dt = np.dtype("int32")  # uint16 (not one of graphjit's dtypes) widens to int32
    elif dt.kind == "f":
        dt = np.dtype("float32") if dt.itemsize <= 4 else np.dtype("float64")
    if dt.kind == "f" or to_float:
        float_inputs = [k for k in keys if isinstance(k, np.dtype) and k.kind == "f"]
        if not float_inputs:  # the float comes from a python float or the op: the default
            return _default_float
    return as_dtype(dt)


# --------------------------------------------------------------------------------------------------
# python values as arrays


# numpy parses a dtype given by name on every call: look the names up instead
_NUMPY_DTYPES: dict[Any, np.dtype] = {name: np.dtype(name) for name in DTYPES}


def check_python_value(x: Any) -> None:
    """Reject values graphjit has no dtype for, with a message saying which."""
    if isinstance(x, complex) or (isinstance(x, np.ndarray) and x.dtype.kind == "c"):
        raise TypeError("complex numbers are not supported")
    if x is None:
        raise TypeError("None is not an array value")
    reject_masked(x)


def reject_masked(x: Any, what: str = "") -> None:
    """Refuse a numpy masked array: read as an array its mask is dropped, and the masked-out
    entries would count as values (a silent wrong answer). ``what`` prefixes the message."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{what}numpy masked arrays are not supported (the mask would be ignored); pass "
            "x.filled(fill_value) for the values with the masked ones replaced"
        )


def as_array(x: Any, dtype: str | None) -> np.ndarray:
    """``x`` (a python scalar, list or numpy array) as a numpy array of ``dtype``, or of its
    promoted graphjit dtype when ``dtype`` is None."""
    check_python_value(x)
    try:
        if dtype is None:
            arr = np.asarray(x)
        else:  # a name is looked up (numpy parses it on every call); other dtypes go as they are
            arr = np.asarray(
                x, dtype=_NUMPY_DTYPES.get(dtype, dtype) if type(dtype) is str else dtype
            )
    except OverflowError as exc:
        raise IntegerOutOfRangeError(
            f"{x!r:.60} does not fit in {dtype or 'int64'}: {exc} (cast the array to a wider "
            "dtype first, e.g. x.astype('int64') or x.astype('float64'))"
        ) from None
    except (ValueError, TypeError) as exc:
        raise TypeError(f"cannot use {type(x).__name__} {x!r:.60} as an array: {exc}") from exc
    kind = arr.dtype.kind
    if kind == "O" or (dtype is None and kind in "uf" and isinstance(x, (list, tuple, int))):
        _refuse_ints_past_int64(x, arr)
    if kind == "O":
        raise TypeError(f"cannot use {x!r:.60} as an array (it is ragged or holds objects)")
    if kind in "USV":
        raise TypeError(f"cannot use {type(x).__name__} {x!r:.60} as an array of numbers")
    if dtype is None:
        if arr.dtype == np.uint64 and arr.size and arr.max() > _INT64_MAX:
            raise IntegerOutOfRangeError(
                f"uint64 value {arr.max()} does not fit in int64, graphjit's widest integer "
                "dtype (convert the array, e.g. x.astype('float64'))"
            )
        arr = arr.astype(result_dtype([arr]), copy=False)
    return arr


def check_ints_fit(arr: Any, dtype: np.dtype, what: str) -> None:
    """IntegerOutOfRangeError when the integers of host array ``arr`` do not all fit the
    integer ``dtype`` they are stored into (numpy's cast would wrap them silently)."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu" or dtype.kind not in "iu":
        return
    info = np.iinfo(dtype)
    if arr.size and not np.can_cast(arr.dtype, dtype, casting="safe"):
        low, high = int(arr.min()), int(arr.max())
        if low < info.min or high > info.max:
            bad = low if low < info.min else high
            raise IntegerOutOfRangeError(
                f"{what}: the value {bad} does not fit in {dtype} (from {info.min} to "
                f"{info.max}); numpy's cast would wrap it"
            )


def check_number_fits(value: Any, dtype: np.dtype, what: str) -> None:
    """A python number stored into an array of ``dtype`` as numpy stores it, or the error numpy
    raises, named: an int out of an integer dtype's range, a NaN or infinity into integers, a
    complex number into reals (numpy's own cast would wrap, or drop the imaginary part)."""
    try:
        np.array(value, dtype=dtype)
    except OverflowError:
        raise IntegerOutOfRangeError(f"{what}: {value!r} does not fit in {dtype}") from None
    except (ValueError, TypeError) as exc:
        kind = ValueError if isinstance(value, float) else TypeError
        raise kind(f"{what}: cannot store {value!r} in a {dtype} tensor ({exc})") from None


_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)


def _refuse_ints_past_int64(x: Any, arr: np.ndarray) -> None:
    """Refuse a python int past int64 that numpy read from ``x`` into ``arr``: as an object, as
    uint64 (up to 2**64; it would wrap to a negative int64) or, beside other ints, as float64
    (rounding it). A list holding floats too is a float list (``[1.5, 2**63]``)."""
    kind = arr.dtype.kind
    if kind == "f" and not (arr.size and float(np.abs(arr).max()) >= 2.0**63):
        return  # no value that large: the scan is skipped for ordinary float lists
    big, only_ints = _int_past_int64(x)
    if big is not None and (kind != "f" or only_ints):
        raise _past_int64(big)


def check_int64_range(x: Any) -> None:
    """IntegerOutOfRangeError naming the first python int in ``x`` (a scalar or nested lists and
    tuples) outside int64, graphjit's widest integer dtype."""
    big, _ = _int_past_int64(x)
    if big is not None:
        raise _past_int64(big)


def _past_int64(value: int) -> IntegerOutOfRangeError:
    return IntegerOutOfRangeError(
        f"the integer {value} does not fit in int64, graphjit's widest integer dtype (give it "
        "as a float, e.g. float(value), or dtype='float64')"
    )


def _int_past_int64(x: Any) -> tuple[int | None, bool]:
    """The first python int in ``x`` (a scalar or nested lists and tuples) outside int64, and
    whether every number in ``x`` is a python int."""
    first, only_ints = None, True
    stack = [x]
    while stack:  # iterative: deep nesting must not hit the recursion limit
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        elif isinstance(v, int):
            if first is None and not _INT64_MIN <= v <= _INT64_MAX:
                first = v
        else:
            only_ints = False
    return first, only_ints
