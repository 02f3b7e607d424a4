"""``t[index] = value`` on cuda tensors runs on the device with numpy's semantics: every case
is checked against the same assignment on a numpy array (basic indices, integer arrays, masks,
their mixes; every dtype; python numbers, host arrays, CPU and cuda tensors; broadcasting;
duplicate indices, where the last write wins; negative indices), errors are numpy's, and the
tensor itself is never copied to the host. Tensors are made inside the tests: collecting this
module needs no GPU. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.errors import TensorUsageError
from tests.codegen.cuda.test_optim_cuda import _counting_copies

pytestmark = pytest.mark.cuda

SHAPE = (3, 4, 5)
M1 = np.array([True, False, True])  # over axis 0
M12 = (np.arange(20).reshape(4, 5) % 3) == 1  # over axes 1 and 2

BASIC: dict[str, Any] = {
    "int": 1,
    "negative int": -1,
    "two ints": (0, 2),
    "three negative ints": (-1, -2, -3),
    "slice": slice(1, None),
    "reversed": slice(None, None, -1),
    "negative step": (slice(None), slice(3, 0, -2)),
    "step and stop past the end": (slice(None, 9, 2), slice(-3, None)),
    "ellipsis then int": (Ellipsis, 1),
    "int then ellipsis": (-2, Ellipsis),
    "ellipsis alone": Ellipsis,
    "empty tuple": (),
    "new axis": None,
    "new axes around an int": (None, 0, Ellipsis, None),
    "new axis and a step": (0, None, slice(None, None, 2)),
    "empty slice": (slice(None), slice(3, 1)),
}
ADVANCED: dict[str, Any] = {
    "int array": np.array([2, 0]),
    "duplicates and negatives": np.array([-1, 0, 2, -1, 0]),
    "2-d int array": np.array([[0, 1], [2, 0]]),
    "after a slice": (slice(None), np.array([3, 0, 3, -4])),
    "last axis": (Ellipsis, np.array([4, 0, 4, 4])),
    "separated by a slice (first)": (0, slice(None), np.array([4, -5])),
    "two arrays around a slice": (np.array([0, 2]), slice(None), np.array([1, 3])),
    "two adjacent arrays": (slice(None), np.array([0, 3, 0]), np.array([1, 1, 1])),
    "broadcast arrays": (np.array([[0], [2]]), np.array([1, 3, 1])),
    "int and an array (adjacent)": (slice(None), 2, np.array([0, 4])),
    "mask over everything": np.arange(60).reshape(SHAPE) % 7 == 0,
    "mask over axis 0": M1,
    "mask over axes 1 and 2": (slice(None), M12),
    "mask in the middle": (slice(None), np.array([False, True, True, False]), 1),
    "mask and an array": (M1, slice(None), np.array([1, 4])),
    "mask selecting nothing": np.zeros(3, bool),
    "0-d True": (True, np.array([0, 1])),
    "0-d False": (slice(None), False),
    "empty list": [],
}
CASES = {**BASIC, **ADVANCED}
DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def _start(dtype: str) -> np.ndarray:
    return (np.arange(60).reshape(SHAPE) % 9 - 4).astype(dtype)


def _values(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    """Distinct values (unlike the target's), so a wrong or repeated write shows."""
    n = int(np.prod(shape))
    values = np.arange(100, 100 + 3 * n, 3, dtype=np.float64) * (-1) ** np.arange(n)
    return values.reshape(shape).astype(dtype) if dtype != "bool" else (values % 2 == 0)


def _as(kind: str, index: Any) -> Any:
    """The arrays of ``index`` as lists, CPU tensors or cuda tensors (numpy arrays: as given)."""
    if isinstance(index, tuple):
        return tuple(_as(kind, i) for i in index)
    if not isinstance(index, np.ndarray) or kind == "numpy":
        return index
    if kind == "list":
        return index.tolist()
    return gj.tensor(index, device="cuda" if kind == "cuda tensor" else "cpu")


def _check(dtype: str, index: Any, value: Any, np_value: Any, index_kind: str = "numpy") -> None:
    want = _start(dtype)
    want[index] = np_value
    t = gj.tensor(_start(dtype), device="cuda")
    data, version = t._data, t._version
    t[_as(index_kind, index)] = value
    assert t.is_cuda and t.dtype == dtype
    assert t._data is data, "written in place"
    assert t._version == version + 1
    np.testing.assert_array_equal(t.cpu().numpy(), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_an_assignment_of_a_whole_array_equals_numpys(name: str, dtype: str) -> None:
    index = CASES[name]
    value = _values(_start(dtype)[index].shape, "float64")  # cast as numpy casts it
    _check(dtype, index, value, value)


@pytest.mark.parametrize("kind", ["number", "row", "cpu tensor", "cuda tensor", "other dtype"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_kind_of_value_broadcasts_as_in_numpy(name: str, kind: str) -> None:
    index = CASES[name]
    shape = _start("float64")[index].shape
    if kind == "number":
        _check("float64", index, -2.5, -2.5)
        _check("int32", index, 7, 7)
        return
    row = _values(shape[-1:] if shape else ())  # broadcast along every dim but the last
    if kind == "row":
        _check("float32", index, row, row)
    elif kind == "cpu tensor":
        _check("float64", index, gj.tensor(row), row)
    elif kind == "cuda tensor":
        _check("float64", index, gj.tensor(row, device="cuda"), row)
        full = _values(shape)
        if shape == () and all(type(i) is int for i in index):  # leading 1s: numpy refuses
            t = gj.tensor(_start("float64"), device="cuda")  # them for one element
            with pytest.raises(ValueError, match="setting an array element with a sequence"):
                t[index] = gj.tensor(full[None, None], device="cuda")
            np.testing.assert_array_equal(t.cpu().numpy(), _start("float64"))
        else:
            _check("float64", index, gj.tensor(full[None, None], device="cuda"), full)
    else:  # a cuda value of another dtype is cast on the device as numpy casts
        _check("int32", index, gj.tensor(row + 0.75, device="cuda"), row + 0.75)
        _check("bool", index, gj.tensor(row * (row > 0), device="cuda"), row * (row > 0))
        _check("float32", index, gj.tensor(row > 0, device="cuda"), row > 0)


@pytest.mark.parametrize("kind", ["numpy", "list", "cpu tensor", "cuda tensor"])
@pytest.mark.parametrize("name", list(ADVANCED))
def test_index_arrays_may_be_lists_and_tensors_in_either_memory(name: str, kind: str) -> None:
    index = ADVANCED[name]
    value = _values(_start("int64")[index].shape, "int64")
    _check("int64", index, value, value, index_kind=kind)


def test_cuda_int32_index_tensors_and_int_dtypes_of_host_arrays() -> None:
    for dtype in ("int32", "int64", "uint8", "int16"):
        index = np.array([3, 0, 3]).astype(dtype)
        _check("float64", (slice(None), index), 1.5, 1.5, index_kind="cuda tensor")
        _check("float64", (slice(None), index), 2.5, 2.5)


def test_duplicate_indices_keep_the_last_value_as_numpy() -> None:
    """Many duplicates over many threads and blocks: the last position wins, every time."""
    rng = np.random.default_rng(0)
    rows = rng.integers(-3, 3, size=700)
    cols = rng.integers(0, 5, size=700)
    value = _values((700,))
    for _ in range(2):
        _check("float64", (rows, 1, cols), value, value)
        _check("float64", (rows, 1, cols), value, value, index_kind="cuda tensor")
    full = _values((700, 4, 5))
    _check("float64", rows, full, full)
    want = np.zeros(4)
    want[[0, 0, 0, 1]] = [1.0, 2.0, 3.0, 4.0]
    t = gj.zeros(4, device="cuda")
    t[[0, 0, 0, 1]] = gj.tensor([1.0, 2.0, 3.0, 4.0], device="cuda")
    np.testing.assert_array_equal(t.cpu().numpy(), want)
    assert want[0] == 3.0


def test_a_value_sharing_the_tensors_memory_is_read_before_it_is_written() -> None:
    a = np.arange(6.0)
    for index in (slice(None, None, -1), np.array([5, 4, 3, 2, 1, 0])):
        t = gj.tensor(a, device="cuda")
        t[index] = t.detach()
        np.testing.assert_array_equal(t.cpu().numpy(), a[::-1])


def test_0d_and_empty_tensors() -> None:
    t = gj.tensor(3.0, device="cuda")
    t[()] = 5.0
    assert t.item() == 5.0
    t[...] = gj.tensor(6.0, device="cuda")
    assert t.item() == 6.0
    t[None] = np.array([7.0])
    assert t.item() == 7.0
    t[True] = 8
    assert t.item() == 8.0
    e = gj.zeros(0, 3, device="cuda")
    e[:, 1] = 2.0
    e[[]] = 1.0
    e[e > 0] = 1.0
    assert e.shape == (0, 3)


def test_host_values_are_cast_with_numpys_rules() -> None:
    t = gj.tensor(np.zeros(3, np.int8), device="cuda")
    with pytest.raises(OverflowError):
        t[0] = 300
    with pytest.raises(ValueError, match="NaN"):
        gj.tensor(np.zeros(3, np.int32), device="cuda")[1] = float("nan")
    t[:2] = np.array([2.9, -1.9])
    np.testing.assert_array_equal(t.cpu().numpy(), np.array([2, -1, 0], np.int8))


@pytest.mark.parametrize(
    ("index", "given", "axis", "size"),
    [
        (5, 5, 0, 3),
        ((0, -6), -6, 1, 4),
        (np.array([0, 3]), 3, 0, 3),
        (np.array([-4, 1]), -4, 0, 3),
        ((slice(None), np.array([0, 3, -7, 9, -8])), -7, 1, 4),
        ((np.array([0, 1]), 1, np.array([5, 0])), 5, 2, 5),
        ((M1, slice(None), np.array([9, -6])), 9, 2, 5),
    ],
)
@pytest.mark.parametrize("kind", ["numpy", "cuda tensor"])
def test_an_index_out_of_range_raises_and_writes_nothing(
    index: Any, given: int, axis: int, size: int, kind: str
) -> None:
    with pytest.raises(IndexError, match=f"index {given} is out of bounds for axis {axis}"):
        _start("float64")[index] = 1.0
    t = gj.tensor(_start("float64"), device="cuda")
    message = f"index {given} is out of bounds for axis {axis} with size {size}"
    with pytest.raises(IndexError, match=message):
        t[_as(kind, index)] = 1.0
    np.testing.assert_array_equal(t.cpu().numpy(), _start("float64"))
    assert t._version == 0


@pytest.mark.parametrize(
    ("index", "value", "error", "words"),
    [
        (0, np.ones(3), ValueError, r"shape \(3,\) into the indexed shape \(4, 5\)"),
        (np.array([0, 1]), np.ones((3, 4, 5)), ValueError, r"\(3, 4, 5\) into .* \(2, 4, 5\)"),
        (M1, np.ones((3, 5)), ValueError, r"\(3, 5\) into the indexed shape \(2, 4, 5\)"),
        ((np.array([0, 1]), np.array([0, 1, 2])), 1.0, IndexError, "could not be broadcast"),
        (np.array([True, False]), 1.0, IndexError, "boolean index did not match"),
        ((0, 0, 0, 0), 1.0, IndexError, "too many indices"),
        ((Ellipsis, 0, Ellipsis), 1.0, IndexError, "single ellipsis"),
        (np.array([0.5]), 1.0, IndexError, "integer .or boolean. type"),
        ("a", 1.0, IndexError, "valid indices"),
    ],
)
def test_bad_indices_and_values_raise_as_numpy(
    index: Any, value: Any, error: type, words: str
) -> None:
    with pytest.raises(error):
        _start("float64")[index] = value
    t = gj.tensor(_start("float64"), device="cuda")
    with pytest.raises(error, match=words):
        t[index] = value
    np.testing.assert_array_equal(t.cpu().numpy(), _start("float64"))


def test_the_no_grad_rule_is_kept() -> None:
    w = gj.tensor(_start("float64"), device="cuda", requires_grad=True)
    with pytest.raises(TensorUsageError, match="no_grad"):
        w[0] = 1.0
    with pytest.raises(TensorUsageError, match="no_grad"):
        gj.zeros(3, 4, 5, device="cuda")[0] = w[1]
    with gj.no_grad():
        w[0] = 1.0
        w[[1, 2]] = w.detach()[0]
    np.testing.assert_array_equal(w.detach().cpu().numpy(), np.ones(SHAPE))
    assert w.requires_grad and w._version == 2


def _on_host(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_on_host(i) for i in x)
    return x.cpu().numpy() if isinstance(x, gj.Tensor) else x


_COPIED: list[tuple[str, Callable[[], Any], Callable[[], Any], list[int]]] = [
    # (name, index, value, the elements read back to the host)
    ("basic, a number", lambda: (slice(2, 9), slice(None, None, -3)), lambda: 1.0, []),
    ("basic, a host row", lambda: (Ellipsis, 3), lambda: np.arange(20.0), []),
    ("basic, a cuda value", lambda: 4, lambda: gj.ones(30, device="cuda"), []),
    ("mask over the rows", lambda: gj.arange(20, device="cuda") % 3 == 0, lambda: 2.0, []),
    ("host int array", lambda: (slice(None), [0, 5, 5, -1]), lambda: np.arange(4.0), [1]),
    ("two cuda int arrays", lambda: (gj.tensor([0, 19], device="cuda"), [1, 2]), lambda: 3, [2]),
    # a mask elsewhere: its true elements' count is read (PyTorch synchronises there too)
    (
        "cuda mask, a slice",
        lambda: (slice(None), gj.arange(30, device="cuda") > 20),
        lambda: 5,
        [1, 1],
    ),
]


@pytest.mark.parametrize(
    ("name", "make_index", "make_value", "reads"), _COPIED, ids=[c[0] for c in _COPIED]
)
def test_the_tensor_is_never_copied_to_the_host(
    name: str,
    make_index: Callable[[], Any],
    make_value: Callable[[], Any],
    reads: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the value (its own size), the index and a few plan numbers go to the device; only
    the out-of-range flags (one per index array) and a mask's count come back."""
    start = np.arange(600.0).reshape(20, 30)
    index, value = make_index(), make_value()
    want = start.copy()
    want[_on_host(index)] = _on_host(value)
    t = gj.tensor(start, device="cuda")
    data = t._data
    with _counting_copies(data, monkeypatch) as copies:
        t[index] = value
    assert copies["to_host"] == reads, name
    assert all(n < 64 for n in copies["to_device"]), f"{name}: {copies['to_device']}"
    if isinstance(value, np.ndarray):
        assert value.size in copies["to_device"], "the value is copied once"
    assert t._data is data
    np.testing.assert_array_equal(t.cpu().numpy(), want)
