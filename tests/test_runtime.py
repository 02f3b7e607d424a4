"""graphjit.runtime: gj.compile, argument validation, variables and updates, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

# --------------------------------------------------------------------------------------------------
# compile-time checks


def test_unknown_backend_lists_the_backends() -> None:
    x = gj.placeholder("x", shape=(2,))
    with pytest.raises(ValueError, match=r"'tpu'.*numpy, cpu, cuda"):
        gj.compile([x], [x * 2], backend="tpu")


def test_missing_placeholder_is_named() -> None:
    x = gj.placeholder("x", shape=(2,))
    y = gj.placeholder("forgotten", shape=(2,))
    with pytest.raises(ValueError, match="'forgotten'"):
        gj.compile([x], [x + y], backend="numpy")


def test_an_output_that_is_not_a_node_is_named_as_given() -> None:
    # the message named the Tensor that lifting a python float makes, not the float
    with pytest.raises(TypeError, match=r"outputs\[1\] is a float, expected a graph node"):
        gj.compile([], [gj.constant(1.0), 2.0])
    with pytest.raises(TypeError, match=r"outputs\[0\] is a ndarray"):
        gj.compile([], [np.ones(2)])


def test_inputs_and_outputs_that_are_not_lists_are_named() -> None:
    # list(None) said only "'NoneType' object is not iterable"
    x = gj.placeholder("x", shape=(2,))
    with pytest.raises(TypeError, match="compile: outputs must be a list of graph nodes, got None"):
        gj.compile([], None)
    with pytest.raises(TypeError, match="outputs must be a list of graph nodes, got float"):
        gj.compile([], 2.0)
    with pytest.raises(TypeError, match="inputs must be a list of placeholders, got NoneType"):
        gj.compile(None, [x])
    with pytest.raises(TypeError, match="inputs must be a list of placeholders, got str"):
        gj.compile("x", [x])
    assert gj.compile((x,), (x * 2,), backend="numpy")(np.ones(2))[0].tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match=r"compile: updates\[0\] must be a \(variable, new value"):
        gj.compile([x], [x], updates=[1, 2])  # "cannot unpack non-iterable int object"
    with pytest.raises(TypeError, match=r"updates must be a list of .* or a dict, got str"):
        gj.compile([x], [x], updates="w")


def test_inputs_must_be_distinct_placeholders() -> None:
    x = gj.placeholder("x", shape=(2,))
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a gj.placeholder"):
        gj.compile([x, x * 2], [x], backend="numpy")
    with pytest.raises(ValueError, match="twice"):
        gj.compile([x, x], [x * 2], backend="numpy")


def test_bad_updates_are_rejected() -> None:
    w = gj.variable(np.zeros(3), name="w")
    k = gj.variable(np.zeros(3, dtype=np.int64), name="k")
    x = gj.placeholder("x", shape=(2,))
    with pytest.raises(ValueError, match=r"'w'.*\(2,\)"):
        gj.compile([x], [], updates={w: x * 2}, backend="numpy")
    with pytest.raises(TypeError, match=r"'k'.*float64"):
        gj.compile([], [], updates={k: k * 0.5}, backend="numpy")
    with pytest.raises(TypeError, match=r"keys must be gj\.variable"):
        gj.compile([x], [], updates={x: x}, backend="numpy")  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="updated twice"):
        gj.compile([], [], updates=[(w, w + 1), (w, w + 2)], backend="numpy")


# --------------------------------------------------------------------------------------------------
# calling


def test_call_returns_one_array_per_output(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 3))
    f = gj.compile([x], [gj.sum(x), x * 2, gj.exp(x)], backend=backend)
    a = np.arange(6.0).reshape(2, 3)
    s, d, e = f(a)
    assert all(isinstance(v, np.ndarray) for v in (s, d, e))
    assert float(s) == 15.0
    np.testing.assert_array_equal(d, a * 2)
    np.testing.assert_allclose(e, np.exp(a), rtol=1e-14)
    single = gj.compile([x], x + 1, backend=backend)
    np.testing.assert_array_equal(single(a), a + 1)
    assert isinstance(f.source, str) and f.source


def test_one_compilation_serves_every_batch_size(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 2))
    f = gj.compile([x], [gj.sum(x * x, axis=1)], backend=backend)
    for n in (1, 4, 33):
        a = np.arange(2.0 * n).reshape(n, 2)
        np.testing.assert_allclose(f(a)[0], (a * a).sum(1))


def test_argument_count(backend: str) -> None:
    x = gj.placeholder("x", shape=(2,))
    y = gj.placeholder("y", shape=(2,))
    f = gj.compile([x, y], [x + y], backend=backend)
    with pytest.raises(TypeError, match=r"expected 2 argument\(s\) \('x', 'y'\), got 1"):
        f(np.ones(2))
    with pytest.raises(TypeError, match="got 3"):
        f(np.ones(2), np.ones(2), np.ones(2))


def test_safe_casts_are_accepted(backend: str) -> None:
    x = gj.placeholder("x", shape=(3,), dtype="float64")
    f = gj.compile([x], [x * 0.5], backend=backend)
    np.testing.assert_array_equal(f(np.array([1, 2, 3], dtype=np.int64))[0], [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(f(np.array([True, False, True]))[0], [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(f([2, 4, 6])[0], [1.0, 2.0, 3.0])  # lists are arrays too
    np.testing.assert_array_equal(f(np.ones(3, dtype=np.float32))[0], [0.5] * 3)
    s = gj.placeholder("s", shape=())
    g = gj.compile([s], [s * 2], backend=backend)
    assert float(g(3)[0]) == 6.0  # a python int for a float scalar


def test_unsafe_casts_raise_type_error_naming_the_input(backend: str) -> None:
    x = gj.placeholder("x32", shape=(3,), dtype="float32")
    f = gj.compile([x], [x * 2], backend=backend)
    with pytest.raises(TypeError, match=r"input 'x32'.*float32.*float64"):
        f(np.ones(3, dtype=np.float64))
    k = gj.placeholder("k", shape=(), dtype="int64")
    g = gj.compile([k], [k + 1], backend=backend)
    with pytest.raises(TypeError, match="input 'k'"):
        g(np.array(1.5))
    with pytest.raises(TypeError, match="input 'k'"):
        g(1.5)
    with pytest.raises(TypeError, match="input 'k'"):
        g(np.array("text"))
    with pytest.raises(TypeError, match="graph node"):
        g(k)


def test_python_ints_out_of_the_inputs_range_raise_naming_the_input(backend: str) -> None:
    i = gj.placeholder("count", shape=(), dtype="int32")
    u = gj.placeholder("pixel", shape=(), dtype="uint8")
    f = gj.compile([i, u], [i + 1, u + 1], backend=backend)
    with pytest.raises(gj.IntegerOutOfRangeError, match=r"input 'count'.*2147483648.*int32"):
        f(2**31, 0)
    with pytest.raises(ValueError, match=r"input 'pixel'.*-1.*uint8"):
        f(0, -1)
    assert [int(v) for v in f(2**31 - 1, 255)] == [-(2**31), 0]  # in range: numpy's wraparound


def test_masked_arrays_are_refused_not_read_without_their_mask(backend: str) -> None:
    x = gj.placeholder("x", shape=(None,))
    f = gj.compile([x], gj.sum(x), backend=backend)
    masked = np.ma.array([1.0, 100.0], mask=[False, True])
    with pytest.raises(TypeError, match=r"input 'x'.*masked.*filled"):
        f(masked)
    assert float(f(masked.filled(0.0))) == 1.0


def test_rank_and_fixed_dims_raise_value_error_naming_the_input(backend: str) -> None:
    x = gj.placeholder("images", shape=(None, 3))
    f = gj.compile([x], [x * 2], backend=backend)
    with pytest.raises(ValueError, match=r"input 'images': expected 2 dims"):
        f(np.ones(3))
    with pytest.raises(ValueError, match=r"input 'images'.*axis 1 must be 3"):
        f(np.ones((4, 5)))


def test_named_dims_must_agree_across_inputs(backend: str) -> None:
    x = gj.placeholder("x", shape=("n", 3))
    y = gj.placeholder("y", shape=("n",))
    f = gj.compile([x, y], [gj.sum(x, axis=1) * y], backend=backend)
    np.testing.assert_allclose(f(np.ones((4, 3)), np.arange(4.0))[0], 3 * np.arange(4.0))
    with pytest.raises(ValueError, match=r"input 'y': dim 'n' is 5.*input 'x'.*'n' = 4"):
        f(np.ones((4, 3)), np.ones(5))


def test_none_dims_that_meet_must_match_at_call_time(backend: str) -> None:
    x = gj.placeholder("x", shape=(None,))
    y = gj.placeholder("y", shape=(None,))
    f = gj.compile([x, y], [x + y], backend=backend)
    np.testing.assert_array_equal(f(np.ones(3), np.ones(3))[0], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError):
        f(np.ones(3), np.ones(4))


# --------------------------------------------------------------------------------------------------
# variables and updates


def test_updates_are_applied_after_outputs_from_old_values(backend: str) -> None:
    a = gj.variable(np.array([1.0, 2.0]), name="a")
    b = gj.variable(np.array([10.0, 20.0]), name="b")
    swap = gj.compile([], [a + 0, b * 1], updates={a: b, b: a}, backend=backend)
    out_a, out_b = swap()
    np.testing.assert_array_equal(out_a, [1.0, 2.0])  # outputs see the old values
    np.testing.assert_array_equal(out_b, [10.0, 20.0])
    np.testing.assert_array_equal(a.get_value(), [10.0, 20.0])  # then both swap at once
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    swap()
    np.testing.assert_array_equal(a.get_value(), [1.0, 2.0])
    # what an earlier call returned is not changed by later updates
    np.testing.assert_array_equal(out_a, [1.0, 2.0])


def test_returned_variable_value_is_not_aliased_to_the_update(backend: str) -> None:
    w = gj.variable(np.zeros(2), name="w")
    step = gj.compile([], [w], updates={w: w + 1}, backend=backend)
    (first,) = step()
    (second,) = step()
    np.testing.assert_array_equal(first, [0.0, 0.0])
    np.testing.assert_array_equal(second, [1.0, 1.0])
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0])


def test_an_output_never_shares_memory_with_an_input_a_variable_or_a_constant(
    backend: str,
) -> None:
    # the numpy backend returned the variable's (the input's, the constant's) own array: writing
    # into the output changed the variable, and a later update changed the output
    x = gj.placeholder("x", shape=(3,))
    w = gj.variable(np.zeros(3), name="w")
    c = gj.constant(np.arange(3.0))
    f = gj.compile([x], [w, x, c, gj.reshape(w, (3, 1))], backend=backend)
    data = np.ones(3)
    outs = f(data)
    for out in outs:
        out[...] = 99.0
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))
    np.testing.assert_array_equal(data, np.ones(3))
    np.testing.assert_array_equal(f(data)[2], np.arange(3.0))
    step = gj.compile([], [], updates={w: w + 1.0}, backend=backend)
    (before,) = gj.compile([], [w], backend=backend)()
    step()
    np.testing.assert_array_equal(before, np.zeros(3))


def test_sgd_step_with_design_api(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 3), dtype="float64")
    w = gj.variable(np.zeros(3), name="w")
    y = gj.sum(gj.tanh(x @ w) * 2.0)
    (gw,) = gj.grad(y, [w])
    f = gj.compile([x], [y, gw], updates={w: w - 0.1 * gw}, backend=backend)
    xs = np.ones((5, 3))
    y_val, gw_val = f(xs)
    assert float(y_val) == 0.0
    np.testing.assert_allclose(gw_val, [10.0, 10.0, 10.0])
    np.testing.assert_allclose(w.get_value(), [-1.0, -1.0, -1.0])
    y_val, _ = f(xs)
    np.testing.assert_allclose(float(y_val), 10 * np.tanh(-3.0), rtol=1e-14)


def test_variable_set_value_validation() -> None:
    w = gj.variable(np.zeros(3), name="w")
    with pytest.raises(ValueError, match=r"'w'.*\(4,\).*\(3,\)"):
        w.set_value(np.zeros(4))
    k = gj.variable(np.zeros(2, dtype=np.int64), name="k")
    with pytest.raises(TypeError, match=r"'k'.*float64.*int64"):
        k.set_value(np.array([0.5, 1.5]))
    w.set_value(np.array([1, 2, 3]))  # int into float: a safe cast
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])
    assert w.get_value().dtype == np.float64


def test_get_value_is_a_copy_and_set_value_is_seen_by_compiled_functions(backend: str) -> None:
    w = gj.variable(np.array([1.0, 2.0]), name="w")
    f = gj.compile([], [w * 2], backend=backend)
    v = w.get_value()
    v[0] = 100.0
    np.testing.assert_array_equal(f()[0], [2.0, 4.0])
    w.set_value([5.0, 6.0])
    np.testing.assert_array_equal(f()[0], [10.0, 12.0])


def test_variable_holds_a_copy_of_its_initial_value() -> None:
    init = np.array([1.0, 2.0])
    w = gj.variable(init, name="w")
    init[0] = 9.0
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])
    assert w.dtype == "float64" and w.shape == (2,)


# --------------------------------------------------------------------------------------------------
# array edge cases


def test_empty_arrays(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 3))
    f = gj.compile([x], [gj.exp(x) * 2, gj.sum(x), gj.sum(x, axis=0)], backend=backend)
    e, s, s0 = f(np.zeros((0, 3)))
    assert e.shape == (0, 3)
    assert float(s) == 0.0
    np.testing.assert_array_equal(s0, np.zeros(3))


@pytest.mark.parametrize("op", [gj.max, gj.min, gj.argmax, gj.argmin])
@pytest.mark.parametrize("shape", [(3, 0), (0, 0), (0, 4, 0)])
def test_an_extremum_over_an_empty_axis_raises_as_numpy(
    backend: str, op: object, shape: tuple[int, ...]
) -> None:
    # numpy raises whenever the reduced axis is empty, even when the output is empty as well
    x = gj.placeholder("x", shape=(None,) * len(shape))
    f = gj.compile([x], [op(x, axis=-1)], backend=backend)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"zero-size array|empty sequence"):
        f(np.zeros(shape))
    (out,) = f(np.zeros((0, *shape[1:-1], 2)))  # an empty output over a non-empty axis is fine
    assert out.shape == (0, *shape[1:-1])


def test_nan_and_inf_propagate_as_numpy(backend: str) -> None:
    x = gj.placeholder("x", shape=(5,))
    f = gj.compile(
        [x], [gj.exp(x), gj.log(x), x + 1, gj.maximum(x, 0.0), gj.tanh(x)], backend=backend
    )
    a = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0])
    with np.errstate(all="ignore"):
        want = [np.exp(a), np.log(a), a + 1, np.maximum(a, 0.0), np.tanh(a)]
        got = f(a)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_non_contiguous_and_fortran_inputs(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 3))
    w = gj.placeholder("w", shape=(3,))
    f = gj.compile([x, w], [x * w + 1, gj.sum(x, axis=0), x @ w], backend=backend)
    base = np.arange(48.0).reshape(8, 6)
    strided = base[::2, ::2]  # (4, 3), not contiguous
    fortran = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    reversed_w = np.array([3.0, 2.0, 1.0, 0.0])[2::-1]  # negative stride
    for a in (strided, fortran):
        assert not a.flags.c_contiguous
        ew, s0, mv = f(a, reversed_w)
        np.testing.assert_array_equal(ew, a * reversed_w + 1)
        np.testing.assert_array_equal(s0, a.sum(0))
        np.testing.assert_allclose(mv, a @ reversed_w, rtol=1e-14)


def test_inputs_are_not_modified(backend: str) -> None:
    x = gj.placeholder("x", shape=(3,))
    w = gj.variable(np.zeros(3), name="w")
    f = gj.compile([x], [x * 2], updates={w: w + x}, backend=backend)
    a = np.array([1.0, 2.0, 3.0])
    f(a)
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.get_value(), a)


def test_int_and_bool_outputs(backend: str) -> None:
    k = gj.placeholder("k", shape=(4,), dtype="int64")
    f = gj.compile([k], [k * 3 + 1, k > 2, gj.sum(k)], backend=backend)
    a = np.array([0, 1, 2, 3])
    lin, mask, total = f(a)
    assert lin.dtype == np.int64 and mask.dtype == np.bool_
    np.testing.assert_array_equal(lin, a * 3 + 1)
    np.testing.assert_array_equal(mask, a > 2)
    assert int(total) == 6


def test_a_variable_whose_array_changed_shape_is_named() -> None:
    """The program checks every variable's shape in one condition; the error names the ones
    that changed, with both shapes, and nothing is written."""
    a = gj.variable(np.ones(3), name="a")
    b = gj.variable(np.ones((2, 2)), name="b")
    x = gj.placeholder("x", (3,))
    f = gj.compile([x], [gj.sum(x * a) + gj.sum(b)], updates={a: a + 1.0}, backend="cpu")
    np.testing.assert_allclose(f(np.ones(3))[0], 7.0)
    b.storage.array = np.ones((2, 3))  # behind the variable's back: set_value refuses this
    with pytest.raises(
        ValueError, match=r"variable 'b' has shape \(2, 3\), the program was compiled for \(2, 2\)"
    ) as info:
        f(np.ones(3))
    assert "'a'" not in str(info.value)
    np.testing.assert_array_equal(a.get_value(), np.full(3, 2.0))  # the failed call wrote nothing
