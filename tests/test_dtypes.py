"""graphjit.dtypes: dtype names and numpy 2 promotion."""

import numpy as np
import pytest

import graphjit as gj
from graphjit import dtypes


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("float64", "float64"),
        ("float32", "float32"),
        ("int32", "int32"),
        ("int64", "int64"),
        ("bool", "bool"),
        (np.dtype("f8"), "float64"),
        (np.dtype("f4"), "float32"),
        (np.float64, "float64"),
        (np.float32, "float32"),
        (np.int32, "int32"),
        (np.int64, "int64"),
        (np.bool_, "bool"),
        ("f8", "float64"),
        ("<f4", "float32"),
        (float, "float64"),
        (int, "int64"),
        (bool, "bool"),
    ],
)
def test_dtype_parsing(given: object, name: str) -> None:
    assert dtypes.as_dtype(given) == name
    assert gj.TensorType((2,), given).dtype == name


@pytest.mark.parametrize(
    "bad", ["complex128", np.complex64, "float16", np.uint16, "string", object]
)
def test_unsupported_dtype_raises_and_lists_supported(bad: object) -> None:
    with pytest.raises(TypeError, match="float64"):
        dtypes.as_dtype(bad)


def test_masked_arrays_are_refused_wherever_an_array_is_read() -> None:
    # read as arrays, their masks would be dropped and the masked-out values used
    masked = np.ma.array([1.0, 100.0], mask=[False, True])
    makers = {
        "tensor": lambda: gj.tensor(masked),
        "from_numpy": lambda: gj.from_numpy(masked),
        "constant": lambda: gj.constant(masked),
        "variable": lambda: gj.variable(masked),
        "eager op": lambda: gj.tensor([1.0, 1.0]) + masked,
        "graph op": lambda: gj.placeholder("x", (2,)) * masked,
    }
    for what, make in makers.items():
        with pytest.raises(TypeError, match="masked arrays are not supported"):
            make()
            pytest.fail(what)
    w = gj.variable(np.zeros(2), name="w")
    with pytest.raises(TypeError, match=r"variable 'w'.*masked"):
        w.set_value(masked)
    np.testing.assert_array_equal(w.get_value(), [0.0, 0.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda v: gj.tensor(v),
        lambda v: gj.tensor([1, [v][0], 3]),
        lambda v: gj.tensor([[1], [v]]),
        lambda v: gj.constant(v),
        lambda v: gj.full((2,), v),
        lambda v: gj.tensor([1, 2]) + v,
    ],
)
@pytest.mark.parametrize("value", [2**63, 2**64 - 1, 2**70, -(2**63) - 1])
def test_python_ints_past_int64_are_refused_naming_the_value(make, value: int) -> None:
    # numpy makes such an int uint64 (which wrapped to a negative int64) or an object array
    # (reported as ragged)
    with pytest.raises(gj.IntegerOutOfRangeError, match=f"{value} does not fit in int64"):
        make(value)
    assert gj.tensor(float(value)).dtype == "float64"
    assert (gj.tensor([1.0]) + value).dtype == "float64"  # a float result takes it as numpy does


def test_a_float_list_holding_a_big_int_stays_a_float_list() -> None:
    assert gj.tensor([1.5, 2**63]).tolist() == [1.5, 2.0**63]  # as numpy and PyTorch
    with pytest.raises(gj.IntegerOutOfRangeError, match="the integer 9223372036854775808"):
        gj.tensor([1, 2**63])  # numpy rounds it into float64


def test_uint64_arrays_past_int64_are_refused() -> None:
    with pytest.raises(gj.IntegerOutOfRangeError, match="uint64 value 9223372036854775808"):
        gj.tensor(np.array([1, 2**63], np.uint64))
    assert gj.tensor(np.array([1, 2**63 - 1], np.uint64)).tolist() == [1, 2**63 - 1]
