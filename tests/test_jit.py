"""gj.jit: one trace per signature (dtype, rank, size-1 dims), reused for every size; numpy and
tensor arguments; static arguments; pytrees; .graph and .source; closures over parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphjit as gj
from graphjit.jit import JitFunction


def test_traces_once_and_reuses_the_compilation_for_every_size(backend: str) -> None:
    calls = []

    @gj.jit(backend=backend)
    def f(a, b):  # type: ignore[no-untyped-def]
        calls.append(1)
        return gj.sum(gj.exp(a) * b)

    for n in (3, 7, 1000):
        a, b = np.linspace(0, 1, 2 * n).reshape(n, 2), np.ones((n, 2))
        np.testing.assert_allclose(f(a, b), np.sum(np.exp(a) * b), rtol=1e-12)
    assert len(calls) == 1 and len(f.traces) == 1
    f(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32))  # a new dtype: a new trace
    f(np.ones(3), np.ones(3))  # a new rank: a new trace
    assert len(calls) == 3


def test_default_backend_is_cpu_and_can_be_chosen() -> None:
    assert gj.jit(lambda x: x).backend == "cpu"
    assert gj.jit(lambda x: x, backend="numpy").backend == "numpy"
    with pytest.raises(ValueError, match="unknown backend"):
        gj.jit(lambda x: x, backend="tpu")


def test_size_one_dims_broadcast() -> None:
    @gj.jit(backend="numpy")
    def f(x, b):  # type: ignore[no-untyped-def]
        return x + b

    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(f(x, np.ones((1, 2))), x + 1)
    np.testing.assert_array_equal(f(x, np.ones((3, 2))), x + 1)
    assert len(f.traces) == 2
    assert f.traces[0].inputs[1].shape == (1, None)


def test_tensors_in_tensors_out() -> None:
    f = gj.jit(lambda a: a * 2 + 1, backend="numpy")
    out = f(gj.tensor([1.0, 2.0]))
    assert isinstance(out, gj.Tensor) and out.tolist() == [3.0, 5.0]
    assert not out.requires_grad
    arr = f(np.array([1.0, 2.0]))
    assert isinstance(arr, np.ndarray)
    # tensors trace with PyTorch's methods, arrays with numpy's: one signature each
    assert len(f.traces) == 2


def test_static_arguments_and_pytrees() -> None:
    @gj.jit(backend="numpy")
    def f(params, x, scale=1.0, activation="tanh"):  # type: ignore[no-untyped-def]
        h = x @ params["w"] + params["b"]
        h = gj.tanh(h) if activation == "tanh" else gj.relu(h)
        return {"out": h * scale, "norms": [gj.sum(params["w"] ** 2), gj.sum(h)]}

    params = {"w": np.eye(2), "b": np.zeros(2)}
    x = np.array([[1.0, -1.0]])
    r = f(params, x, scale=2.0)
    np.testing.assert_allclose(r["out"], 2 * np.tanh(x))
    assert r["norms"][0] == 2.0
    r = f(params, x, scale=2.0, activation="relu")
    np.testing.assert_allclose(r["out"], [[2.0, 0.0]])
    f(params, x, scale=3.0)
    assert len(f.traces) == 3  # one per static value
    names = [p.name for p in f.traces[0].inputs]
    assert names == ["params_b", "params_w", "x"]


def test_graph_and_source() -> None:
    f = gj.jit(lambda a, b: gj.sum(a * b), backend="numpy")
    with pytest.raises(RuntimeError, match="nothing traced"):
        f.graph  # noqa: B018
    f(np.ones(3), np.ones(3))
    text = str(f.graph)
    assert "placeholder('a')" in text and "multiply" in text and "sum" in text
    assert "float64[?]" in text
    assert isinstance(f.source, str) and f.source
    assert "1 compiled signature" in repr(f)


def test_functions_that_need_sizes_are_specialised() -> None:
    calls = []

    @gj.jit(backend="numpy")
    def f(x):  # type: ignore[no-untyped-def]
        calls.append(1)
        n = x.shape[0]
        return gj.reshape(x, (n // 2, 2))  # n is None in a generic trace

    np.testing.assert_array_equal(f(np.arange(4.0)), np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(f(np.arange(6.0)), np.arange(6.0).reshape(3, 2))
    assert f.graph.specialised
    assert len(f.traces) == 2
    f(np.arange(4.0))
    assert len(calls) == 3  # the failed generic trace, then one per shape; then the cache


def test_closed_over_parameters_are_shared_variables() -> None:
    w = gj.tensor([1.0, 2.0], requires_grad=True)
    c = gj.tensor([1.0, 1.0])
    f = gj.jit(lambda x: gj.sum(x * w + c), backend="numpy")
    assert f(np.ones(2)) == 5.0
    with gj.no_grad():
        w.add_(1)  # training changes the parameter: the compiled function reads it
    c.add_(1)  # a plain tensor was baked in as a constant
    assert f(np.ones(2)) == 7.0


def test_errors_are_clear() -> None:
    f = gj.jit(lambda x: x * 2, backend="numpy")
    with pytest.raises(TypeError, match="graph node"):
        f(gj.placeholder("x", (2,)))
    with pytest.raises(TypeError, match="neither an array nor"):
        f([{1, 2}])
    f(np.ones(2))
    with pytest.raises(TypeError, match="dtype"):
        f(np.ones(2, dtype=np.float64).astype(object))
    g = gj.jit(lambda x: x.item(), backend="numpy")
    with pytest.raises((TypeError, AttributeError)):
        g(np.ones(1))
    with pytest.raises(TypeError, match="expected a function"):
        gj.jit(3)  # type: ignore[arg-type]


def test_decorator_forms_and_methods() -> None:
    @gj.jit
    def plain(x):  # type: ignore[no-untyped-def]
        return x

    assert isinstance(plain, JitFunction) and plain.__name__ == "plain"

    class Model:
        scale = 3.0

        @gj.jit(backend="numpy")
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return x * self.scale

    assert Model()(np.ones(2)).tolist() == [3.0, 3.0]


def test_returns_python_values_and_constants() -> None:
    f = gj.jit(lambda x: (x + 1, 42, None), backend="numpy")
    out, k, none = f(np.zeros(2))
    assert out.tolist() == [1.0, 1.0] and k == 42 and none is None


@pytest.mark.parametrize("n", [1, 5])
def test_compiled_backend_matches_the_interpreter(compiled_backend: str, n: int) -> None:
    def step(a, b):  # type: ignore[no-untyped-def]
        return gj.tanh(a @ b).sum(axis=0), gj.maximum(a, 0.5) * 2

    fast = gj.jit(step, backend=compiled_backend)
    ref = gj.jit(step, backend="numpy")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, 3)), rng.standard_normal((3, 4))
    for got, want in zip(fast(a, b), ref(a, b)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def _torch_style(x):
    """Eager-style code whose methods mean something else in numpy."""
    m = x.max(1)  # PyTorch: (values, indices)
    return {
        "swapped": x.transpose(0, 1),  # PyTorch: swap two dims
        "max": m,
        "picked": m.values * 2 + m.indices,
        "var": x.var(),  # PyTorch: unbiased
        "std": x.std(0),
        "expanded": x.sum(1, keepdim=True).expand(-1, x.size(1), -1),
        "flat": x.flatten(1),
        "viewed": x.view(x.size(0), -1),
    }


def test_called_with_tensors_it_traces_the_way_it_runs_eagerly() -> None:
    a = np.random.default_rng(3).standard_normal((4, 3, 2))
    eager = _torch_style(gj.tensor(a))
    compiled = gj.jit(_torch_style)(gj.tensor(a))
    assert type(compiled["max"]).__name__ == "MaxMin"
    for key, want in eager.items():
        got = compiled[key]
        pairs = zip(want, got) if isinstance(want, tuple) else [(want, got)]
        for w, g in pairs:
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, err_msg=key)


def test_called_with_arrays_it_follows_numpy_and_the_flavours_never_mix() -> None:
    def f(x):
        return x.var(), x.max(1), x.transpose()

    a = np.random.default_rng(4).standard_normal((4, 3))
    jf = gj.jit(f)
    var, mx, tr = jf(a)
    np.testing.assert_allclose(var, a.var())  # ddof 0
    np.testing.assert_allclose(mx, a.max(1))  # values only
    np.testing.assert_allclose(tr, a.T)
    var_t, mx_t, _ = jf(gj.tensor(a))  # same shapes and dtypes: its own trace all the same
    np.testing.assert_allclose(var_t.numpy(), a.var(ddof=1))
    np.testing.assert_allclose(mx_t.values.numpy(), a.max(1))
    assert len(jf.traces) == 2
    # outside a trace, graph nodes follow numpy and have no tensor-only methods
    x = gj.placeholder("x", (None, 3))
    assert x.transpose().shape == (3, None)
    with pytest.raises(AttributeError):
        x.expand(2, 3)


def test_python_numbers_are_traced_as_values_never_stale() -> None:
    f = gj.jit(lambda x, s: x * s, backend="numpy")
    for s in (2.0, 3.0, 2, True, -0.0, 0.0, float("nan")):
        np.testing.assert_array_equal(f(np.ones(2), s), np.ones(2) * s)
    # 0.0 == -0.0 and they hash alike, but they are different traces (1 / -0.0 is -inf)
    g = gj.jit(lambda x, s: x / s, backend="numpy")
    with np.errstate(divide="ignore"):
        assert g(np.ones(1), 0.0)[0] == np.inf
        assert g(np.ones(1), -0.0)[0] == -np.inf
    assert g.trace_count == 2
    with np.errstate(divide="ignore"):
        g(np.ones(1), -0.0)
    assert g.trace_count == 2  # a repeated value reuses its trace


def test_python_control_flow_on_a_traced_value_names_it_and_suggests_where() -> None:
    @gj.jit(backend="numpy")
    def f(x, limit):  # type: ignore[no-untyped-def]
        if gj.sum(x) > limit:
            return x
        return -x

    with pytest.raises(gj.TracedValueError, match=r"greater .*input 'x'.*gj\.where"):
        f(np.ones(2), 0.0)
    assert f.trace_count == 1  # not retried with concrete shapes: they would not help

    @gj.jit(backend="numpy")
    def g(x):  # type: ignore[no-untyped-def]
        while gj.max(x) < 10:
            x = x * 2
        return x

    with pytest.raises(TypeError, match="Python control flow"):
        g(np.ones(2))
    with pytest.raises(TypeError, match=r"float\(\) of the graph node sum"):
        gj.jit(lambda x: float(gj.sum(x)), backend="numpy")(np.ones(2))


def test_retraces_are_counted_and_the_cause_is_named() -> None:
    from graphjit.jit import RETRACE_WARNING, RetraceWarning

    f = gj.jit(lambda x, lr: x * lr, backend="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning up to the limit
        for i in range(RETRACE_WARNING):
            f(np.ones(2), 0.1 * i)
    assert f.trace_count == RETRACE_WARNING
    with pytest.warns(RetraceWarning, match=r"traced 9 times; argument 'lr' took 9 different"):
        f(np.ones(2), 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        f(np.ones(2), 6.0)
    assert f.trace_count == RETRACE_WARNING + 2
    np.testing.assert_array_equal(f(np.ones(2), 6.0), [6.0, 6.0])
    assert f.trace_count == RETRACE_WARNING + 2

    h = gj.jit(lambda x: x + 1, backend="numpy")
    with pytest.warns(RetraceWarning, match="argument 'x' took 9 different forms: its dtype, rank"):
        for rank in range(RETRACE_WARNING + 1):
            h(np.ones((2,) * rank))
