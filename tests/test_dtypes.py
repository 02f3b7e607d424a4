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
