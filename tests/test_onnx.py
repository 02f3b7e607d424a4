"""gj.onnx: export checked by onnx's checker and against onnxruntime, import of models written
with the onnx helper API (and PyTorch's exporter when torch is installed), and the refusals."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import graphjit as gj
from graphjit.ir import toposort
from graphjit.onnx.exporter import EXPORTERS
from tests.codegen.cases import CASES
from tests.codegen.test_registry_cpu import _graph

onnx = pytest.importorskip("onnx", reason="gj.onnx tests need the onnx package (graphjit[onnx])")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# graphjit ops with no ONNX mapping. An op added to the registry without an exporter fails
# test_every_op_is_mapped until it gets one or is listed here; the registry cases using one skip.
UNMAPPED: list[str] = [
    # gradient-only ops (training graphs): ONNX has no transposed pooling or resize op
    "adaptive_avg_pool_grad",
    "avg_pool_grad",
    "conv_weight_grad",  # no ONNX op: only a gradient of conv builds it (Conv is mapped)
    # the counter-based hash of dropout in training graphs; ONNX's RandomUniformLike draws other
    # numbers, and inference graphs (eval mode) have no dropout
    "counter_uniform",
    "erfinv",  # ONNX has no Erfinv; a polynomial approximation would not match to float64
    "resample_grad",
]
# onnxruntime's CPU provider has no float64 kernels for these ONNX ops (the models are valid:
# the checker passes them, and float32 runs): Tan, Atan (arctan, and arctan2 written with it), Erf
# (erf, and erfc written with it), Sinh, Cosh, Asin, Acos, Asinh, Acosh, Atanh
ORT_NO_FLOAT64 = {
    "tan", "arctan", "arctan2", "erf", "erfc", "sinh", "cosh", "arcsin", "arccos", "arcsinh",
    "arccosh", "arctanh",
}  # fmt: skip
TOL = {"float64": dict(rtol=1e-7, atol=1e-9), "float32": dict(rtol=2e-3, atol=2e-3)}


def _ort():
    return pytest.importorskip("onnxruntime", reason="needs onnxruntime to run the models")


def _run_ort(model, feeds: dict) -> list[np.ndarray]:
    ort = _ort()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _check(model) -> None:
    onnx.checker.check_model(model, full_check=True)


def test_every_op_is_mapped() -> None:
    assert gj.onnx.unmapped_ops() == UNMAPPED


def _skip_if_unmapped(outputs) -> None:
    """Skip a registry case whose graph uses an op in UNMAPPED, naming the ops."""
    unmapped = sorted({n.op.name for n in toposort(outputs) if n.inputs} & set(UNMAPPED))
    if unmapped:
        verb = "has" if len(unmapped) == 1 else "have"
        pytest.skip(f"{', '.join(unmapped)} {verb} no ONNX mapping")


def test_export_of_an_unmapped_op_is_refused() -> None:
    x = gj.placeholder("x", (2, 3))
    for name in UNMAPPED:
        assert name in gj.onnx.unmapped_ops()
    with pytest.raises(gj.onnx.UnsupportedOpError, match=r"no ONNX mapping for op\(s\) erfinv"):
        gj.onnx.export(([x], [gj.erfinv(x) + 1]), None)


# in the registry's order (a set's order of functions differs between processes, and the many
# cases named "build" would get different ids on each pytest-xdist worker)
_PARAMS = sorted(
    dict.fromkeys((fn.__name__, fn) for fns in CASES.values() for fn in fns), key=lambda p: p[0]
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build", [fn for _, fn in _PARAMS], ids=[n for n, _ in _PARAMS])
def test_registry_case_matches_onnxruntime(build, dtype: str) -> None:
    # the case's values with first- and second-order gradients: gradient ops are exported too
    inputs, outputs, feeds = _graph(build, dtype, order=2 if dtype == "float64" else 1)
    _skip_if_unmapped(outputs)
    want = gj.compile(inputs, outputs, backend="numpy")(*feeds)
    model = gj.onnx.export((inputs, outputs), None)
    _check(model)
    used = {n.op.name for n in toposort(outputs)}
    if dtype == "float64" and used & ORT_NO_FLOAT64:
        return  # valid model (checked); onnxruntime cannot run it in float64
    got = _run_ort(model, {x.name: v for x, v in zip(inputs, feeds)})
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, **TOL[dtype], err_msg=f"output {i}")


def test_registry_cases_cover_every_mapped_op() -> None:
    used: set[str] = set()
    for _, build in _PARAMS:
        _, outputs, _ = _graph(build, "float64", order=2)
        used |= {n.op.name for n in toposort(outputs) if n.inputs}
    assert sorted(set(EXPORTERS) - used) == []


@pytest.mark.parametrize("build", [fn for _, fn in _PARAMS], ids=[n for n, _ in _PARAMS])
def test_registry_case_round_trips(build) -> None:
    """export then load gives a graph computing the same values (forward graphs)."""
    inputs, out, feeds = build("float64", np.random.default_rng(1))
    _skip_if_unmapped([out])
    want = gj.compile(inputs, [out], backend="numpy")(*feeds)
    loaded = gj.onnx.load(gj.onnx.export((inputs, [out]), None))
    assert [x.name for x in loaded.inputs] == [x.name for x in inputs]
    got = loaded.compile(backend="numpy")(*feeds)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    assert got[0].dtype == want[0].dtype


def _mlp():
    gj.manual_seed(0)
    return gj.nn.Sequential(gj.nn.Linear(4, 16), gj.nn.Tanh(), gj.nn.Linear(16, 3))


def test_mlp_exports_with_a_symbolic_batch(tmp_path) -> None:
    model = _mlp()
    x = gj.placeholder("x", (None, 4))
    f = gj.compile([x], [gj.softmax(model(x), axis=-1)])
    path = tmp_path / "mlp.onnx"
    proto = gj.onnx.export(f, path)
    _check(onnx.load(str(path)))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["x_dim0", 4]
    assert len(proto.graph.initializer) >= 4  # the weights and biases
    for batch in (1, 7):
        data = np.random.default_rng(batch).normal(size=(batch, 4))
        (got,) = _run_ort(proto, {"x": data})
        np.testing.assert_allclose(got, f(data)[0], rtol=1e-9, atol=1e-12)


def test_export_errors() -> None:
    x = gj.placeholder("x", (2,))
    y = gj.placeholder("y", (2,))
    with pytest.raises(ValueError, match="opset must be an int from 18"):
        gj.onnx.export(([x], [x * 2]), None, opset=11)
    with pytest.raises(ValueError, match="placeholder 'y'"):
        gj.onnx.export(([x], [x * y]), None)
    with pytest.raises(TypeError, match="CompiledFunction or an"):
        gj.onnx.export("model", None)


# --------------------------------------------------------------------------------------------------
# import


def _helper_mlp(batch: str | int = "batch") -> onnx.ModelProto:
    """A two-layer MLP as PyTorch exports one: Gemm, Relu, a Reshape through Shape arithmetic,
    MatMul + Add, LogSoftmax."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(8, 4)).astype(np.float32), "fc1.weight")
    b1 = numpy_helper.from_array(rng.normal(size=(8,)).astype(np.float32), "fc1.bias")
    w2 = numpy_helper.from_array(rng.normal(size=(8, 3)).astype(np.float32), "fc2.weight")
    b2 = numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "fc2.bias")
    zero = numpy_helper.from_array(np.array([0], np.int64), "zero")
    minus1 = numpy_helper.from_array(np.array([-1], np.int64), "minus1")
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Shape", ["r"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Concat", ["n", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["r", "target"], ["r2"]),
        helper.make_node("MatMul", ["r2", "fc2.weight"], ["m"]),
        helper.make_node("Add", ["m", "fc2.bias"], ["logits"]),
        helper.make_node("LogSoftmax", ["logits"], ["out"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 2, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [batch, 3])],
        [w1, b1, w2, b2, zero, minus1],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_load_helper_mlp_compiles_and_matches_onnxruntime(tmp_path) -> None:
    model = _helper_mlp()
    _check(model)
    path = tmp_path / "mlp.onnx"
    onnx.save_model(model, str(path))
    g = gj.onnx.load(path)
    inputs, outputs, params = g
    assert len(outputs) == 1
    assert [x.name for x in inputs] == ["input"] and inputs[0].shape == (None, 2, 2)
    assert sorted(params) == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    f = g.compile()
    data = np.random.default_rng(1).normal(size=(5, 2, 2)).astype(np.float32)
    (got,) = f(data)
    assert got.shape == (5, 3) and got.dtype == np.float32
    (want,) = _run_ort(model, {"input": data})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert f(data[:2])[0].shape == (2, 3)  # one compilation serves every batch size


def test_loaded_model_differentiates_and_fine_tunes() -> None:
    g = gj.onnx.load(_helper_mlp())
    (x,) = g.inputs
    labels = gj.placeholder("labels", (None,), "int64")
    loss = -gj.mean(gj.take_along_axis(g.outputs[0], gj.expand_dims(labels, 1), axis=1))
    w = g.variables["fc1.weight"]
    (gw,) = gj.grad(loss, [w])
    assert gw.shape == (8, 4)
    opt = gj.optim.SGD(list(g.parameters.values()), lr=0.1)
    step = gj.compile([x, labels], [loss], updates=opt.updates(loss))
    rng = np.random.default_rng(2)
    data = rng.normal(size=(32, 2, 2)).astype(np.float32)
    target = (data.reshape(32, 4).sum(axis=1) > 0).astype(np.int64)
    before = g.parameters["fc1.weight"].numpy().copy()
    losses = [float(step(data, target)[0]) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert not np.array_equal(before, g.parameters["fc1.weight"].numpy())
    # the eager tensors are the trained parameters: an eager forward sees the new values
    gx = gj.compile([x], g.outputs, backend="numpy")(data)[0]
    (ort_out,) = _run_ort(_with_weights(_helper_mlp(), g.parameters), {"input": data})
    np.testing.assert_allclose(gx, ort_out, rtol=1e-4, atol=1e-4)


def _with_weights(model, params) -> onnx.ModelProto:
    for t in model.graph.initializer:
        if t.name in params:
            t.CopyFrom(numpy_helper.from_array(params[t.name].numpy(), t.name))
    return model


def _single(op: str, attrs: dict | None = None, inputs=("x",), inits=()) -> onnx.ModelProto:
    node = helper.make_node(op, list(inputs), ["y"], **(attrs or {}))
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_load_refuses_unsupported_ops() -> None:
    with pytest.raises(gj.onnx.UnsupportedOpError, match="'Hardmax'"):
        gj.onnx.load(_single("Hardmax"))


def test_load_refuses_bad_attributes() -> None:
    with pytest.raises(gj.onnx.OnnxConversionError, match="attribute 'axis' must be int"):
        gj.onnx.load(_single("Softmax", {"axis": 1.5}))


def test_load_refuses_absurd_shapes() -> None:
    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20, 1 << 20], np.int64), "shape")
    model = _single("ConstantOfShape", inputs=("shape",), inits=[shape])
    with pytest.raises(gj.onnx.OnnxConversionError, match="more than"):
        gj.onnx.load(model)
    big = numpy_helper.from_array(np.array([-5, 3], np.int64), "shape")
    with pytest.raises(gj.onnx.OnnxConversionError, match="negative or absurd"):
        gj.onnx.load(_single("Expand", inputs=("x", "shape"), inits=[big]))


def test_load_refuses_subgraphs_and_deep_nesting() -> None:
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "body", [], [out])
    leaf = body
    for _ in range(3):
        node = helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=leaf)
        body = helper.make_graph([node], "nest", [], [out])
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    model = helper.make_model(
        helper.make_graph(list(body.node), "g", [cond, x], [out]),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    with pytest.raises(gj.onnx.OnnxConversionError, match="subgraph"):
        gj.onnx.load(model)
    # nesting far past protobuf's depth limit (graph > node > attribute > graph ...), written as
    # raw protobuf since onnx's helpers refuse to build it: refused while parsing, clearly
    graph = b""
    for _ in range(500):
        graph = _field(1, _field(5, _field(6, graph)))  # GraphProto.node[].attribute[].g
    with pytest.raises(gj.onnx.OnnxConversionError, match="not a readable ONNX model"):
        gj.onnx.load(_field(7, graph))  # ModelProto.graph


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    out = bytearray([number << 3 | 2])
    n = len(payload)
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            break
    return bytes(out) + payload


def test_load_refuses_external_data_and_garbage(tmp_path) -> None:
    t = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    t.ClearField("raw_data")
    with pytest.raises(gj.onnx.OnnxConversionError, match="external file"):
        gj.onnx.load(_single("Add", inputs=("x", "w"), inits=[t]))
    with pytest.raises(gj.onnx.OnnxConversionError, match="not a readable ONNX model"):
        gj.onnx.load(b"\xff\x00 definitely not protobuf \x07")
    with pytest.raises(gj.onnx.OnnxConversionError, match="element types"):
        gj.onnx.load(
            helper.make_model(
                helper.make_graph(
                    [helper.make_node("Identity", ["x"], ["y"])],
                    "g",
                    [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2])],
                )
            )
        )


def _graph_of(nodes, inputs=("x",), outputs=("y",), inits=(), opset: int = 18) -> onnx.ModelProto:
    """A model built without onnx's checker: float [2, 3] inputs, outputs of any shape."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 3]) for x in inputs],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, None) for y in outputs],
        list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_load_refuses_graphs_breaking_single_assignment() -> None:
    relu = helper.make_node("Relu", ["x"], ["y"], name="first")
    with pytest.raises(gj.onnx.OnnxConversionError, match="the graph has no outputs"):
        gj.onnx.load(_graph_of([relu], outputs=()))
    twice = helper.make_node("Neg", ["x"], ["y"], name="second")
    with pytest.raises(
        gj.onnx.OnnxConversionError,
        match=r"node 'second' \(Neg\): output 'y' is already produced by node 'first' \(Relu\)",
    ):
        gj.onnx.load(_graph_of([relu, twice]))
    shadow = helper.make_node("Neg", ["y"], ["x"], name="shadow")
    with pytest.raises(gj.onnx.OnnxConversionError, match="'x' is already produced by graph input"):
        gj.onnx.load(_graph_of([relu, shadow]))
    with pytest.raises(gj.onnx.OnnxConversionError, match="the graph lists two inputs"):
        gj.onnx.load(_graph_of([relu], inputs=("x", "x")))
    w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    with pytest.raises(gj.onnx.OnnxConversionError, match="initializer 'w': two initializers"):
        gj.onnx.load(_graph_of([relu], inits=[w, w]))


def test_load_refuses_missing_values_and_cycles() -> None:
    add = helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")
    with pytest.raises(
        gj.onnx.OnnxConversionError,
        match=r"node 'add' \(Add\): input 'nowhere' is not produced by any node",
    ):
        gj.onnx.load(_graph_of([add]))
    with pytest.raises(gj.onnx.OnnxConversionError, match="graph output 'z': it is not produced"):
        gj.onnx.load(_graph_of([helper.make_node("Relu", ["x"], ["y"])], outputs=("y", "z")))
    a = helper.make_node("Add", ["x", "b"], ["a"], name="a")
    b = helper.make_node("Relu", ["a"], ["b"], name="b")
    out = helper.make_node("Identity", ["b"], ["y"])
    with pytest.raises(
        gj.onnx.OnnxConversionError,
        match=r"node 'a' \(Add\): input 'b' is produced by node 'b' \(Relu\).*cycle",
    ):
        gj.onnx.load(_graph_of([a, b, out]))
    itself = helper.make_node("Add", ["x", "y"], ["y"], name="loop")
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"'y' is produced by node 'loop'.*cycle"):
        gj.onnx.load(_graph_of([itself]))


def test_load_refuses_initializers_whose_data_does_not_match_their_dims() -> None:
    relu = helper.make_node("Add", ["x", "w"], ["y"])
    raw = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    raw.dims[:] = [4, 3]
    with pytest.raises(
        gj.onnx.OnnxConversionError,
        match=r"initializer 'w': its raw data holds 24 bytes; dims \[4, 3\] of float32 need 48",
    ):
        gj.onnx.load(_graph_of([relu], inits=[raw]))
    typed = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3])
    typed.float_data.extend([1.0, 2.0])
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"initializer 'w': its data does not"):
        gj.onnx.load(_graph_of([relu], inits=[typed]))


def test_load_refuses_unsupported_opsets_and_domains() -> None:
    relu = helper.make_node("Relu", ["x"], ["y"])
    newest = onnx.defs.onnx_opset_version()
    for version in (7, newest + 1):
        with pytest.raises(gj.onnx.OnnxConversionError, match=f"ONNX opset {version} is not"):
            gj.onnx.load(_graph_of([relu], opset=version))
    assert gj.onnx.load(_graph_of([relu], opset=13)).outputs[0].shape == (2, 3)
    model = _graph_of([relu])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"domain 'com\.example'"):
        gj.onnx.load(model)
    custom = helper.make_node("Relu", ["x"], ["y"], name="mine", domain="com.example")
    with pytest.raises(
        gj.onnx.UnsupportedOpError, match=r"node 'mine' \(Relu\): operators of domain"
    ):
        gj.onnx.load(_graph_of([custom]))


def test_pytorch_export_loads_and_matches() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    import io

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.LogSoftmax(dim=1)
    )
    buffer = io.BytesIO()
    example = torch.randn(2, 4)
    torch.onnx.export(
        net, (example,), buffer, input_names=["x"], dynamic_axes={"x": {0: "batch"}}, dynamo=False
    )
    g = gj.onnx.load(buffer.getvalue())
    data = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    (got,) = g.compile()(data)
    with torch.no_grad():
        want = net(torch.from_numpy(data)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_import_graphjit_does_not_import_onnx() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'onnx' or name.startswith('onnx.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import graphjit as gj\n"
        "assert 'onnx' not in sys.modules\n"
        "x = gj.placeholder('x', (2,))\n"
        "try:\n"
        "    gj.onnx.export(([x], [x + 1]), None)\n"
        "except ImportError as e:\n"
        "    print('hint:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'graphjit[onnx]'" in out.stdout


# --------------------------------------------------------------------------------------------------
# the composites against numpy on signed zeros, infinities and NaN

_SPECIAL = [-np.inf, -2.5, -1.0, -0.0, 0.0, 0.5, 3.0, np.inf, np.nan]
_BINARY = {
    "floor_divide": np.floor_divide, "remainder": np.remainder, "copysign": np.copysign,
    "heaviside": np.heaviside, "fmax": np.fmax, "fmin": np.fmin, "hypot": np.hypot,
    "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2, "arctan2": np.arctan2,
}  # fmt: skip
_UNARY = {
    "trunc": np.trunc, "signbit": np.signbit, "isnan": np.isnan, "isinf": np.isinf,
    "isfinite": np.isfinite, "log10": np.log10,
}  # fmt: skip


def _same_values(got: np.ndarray, want: np.ndarray, dtype: str, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, what
    np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=what)
    # signed zeros and the sign of infinities too (ONNX cannot read a NaN's sign bit)
    known = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[known]), np.signbit(want[known]), err_msg=what)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_composites_match_numpy_on_special_values(dtype: str) -> None:
    grid = np.array(np.meshgrid(_SPECIAL, _SPECIAL, indexing="ij"), dtype=dtype).reshape(2, -1)
    x, y = gj.placeholder("x", (None,), dtype), gj.placeholder("y", (None,), dtype)
    names = [n for n in _BINARY if dtype == "float32" or n not in ORT_NO_FLOAT64]
    outs = [getattr(gj, n)(x, y) for n in names] + [getattr(gj, n)(x) for n in _UNARY]
    model = gj.onnx.export(([x, y], outs), None)
    _check(model)
    with np.errstate(all="ignore"):
        got = _run_ort(model, {"x": grid[0], "y": grid[1]})
        wants = [_BINARY[n](*grid) for n in names] + [f(grid[0]) for f in _UNARY.values()]
    sign_free = {"copysign", "arctan2", "signbit"}  # these read the sign bit of a NaN y or x
    for name, g, want in zip([*names, *_UNARY], got, wants):
        if name in sign_free:
            keep = ~np.isnan(grid[1]) & ~np.isnan(grid[0])
            g, want = g[keep], want[keep]
        _same_values(g, want, dtype, name)


def test_integer_division_and_remainder_match_numpy() -> None:
    a = np.array([-7, -6, -1, 0, 1, 5, 7, 9], np.int64)
    b = np.array([2, -2, 3, -3, 4, -5, -7, 2], np.int64)
    x, y = gj.placeholder("x", (None,), "int64"), gj.placeholder("y", (None,), "int64")
    outs = [x // y, x % y, gj.trunc(x), gj.fmax(x, y), gj.clamp(x, y, 4), gj.signbit(x)]
    model = gj.onnx.export(([x, y], outs), None)
    _check(model)
    got = _run_ort(model, {"x": a, "y": b})
    wants = [a // b, a % b, a, np.fmax(a, b), np.minimum(np.maximum(a, b), 4), np.signbit(a)]
    for g, want in zip(got, wants):
        assert g.dtype == want.dtype
        np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("dtype", ["float64", "int64", "int32", "bool"])
def test_cumsum_exports_and_round_trips(dtype: str) -> None:
    data = np.random.default_rng(3).normal(size=(3, 4)) * 4
    data = data > 0 if dtype == "bool" else data.astype(dtype)
    x = gj.placeholder("x", (None, 4), dtype)
    outs = [gj.cumsum(x, axis=1), gj.cumsum(x, axis=0)]
    reverse = gj.ops.scans.apply(gj.ops.scans.CUMSUM, x, axis=1, reverse=True)
    outs.append(reverse)
    want = gj.compile([x], outs, backend="numpy")(data)
    model = gj.onnx.export(([x], outs), None)
    _check(model)
    got = _run_ort(model, {"x": data})
    loaded = gj.onnx.load(model).compile(backend="numpy")(data)
    for g, back, w in zip(got, loaded, want):
        assert g.dtype == w.dtype == back.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12)
        np.testing.assert_allclose(back, w, rtol=1e-12)
    np.testing.assert_allclose(want[2], np.flip(np.cumsum(np.flip(data, 1), 1), 1), rtol=1e-12)


def test_diagonal_needs_static_sizes_on_its_axes() -> None:
    x = gj.placeholder("x", (2, None))
    with pytest.raises(gj.onnx.OnnxConversionError, match="diagonal's two axes need static"):
        gj.onnx.export(([x], [gj.diagonal(x)]), None)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "bool"])
def test_argsort_exports_stable_with_nan_last(dtype: str) -> None:
    rng = np.random.default_rng(4)
    data = rng.integers(-3, 4, size=(5, 40)).astype(dtype)  # many ties
    if dtype.startswith("float"):
        data[rng.random(data.shape) < 0.2] = np.nan
        data[rng.random(data.shape) < 0.1] = np.inf
        data[rng.random(data.shape) < 0.1] = -0.0
    x = gj.placeholder("x", (None, 40), dtype)
    outs = [
        gj.argsort(x, axis=1),
        gj.argsort(x, axis=0),
        gj.argsort(x, axis=1, descending=True),
        gj.sort(x, axis=0, descending=True),
    ]
    want = gj.compile([x], outs, backend="numpy")(data)
    model = gj.onnx.export(([x], outs), None)
    _check(model)
    for g, w in zip(_run_ort(model, {"x": data}), want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_searchsorted_exports_with_numpys_nan_order(dtype: str) -> None:
    rng = np.random.default_rng(5)
    a = np.sort(rng.integers(-3, 4, size=12)).astype(dtype)  # ties
    v = rng.integers(-4, 5, size=(3, 7)).astype(dtype)
    if dtype.startswith("float"):
        a = np.concatenate([[-np.inf], a, [np.inf, np.nan, np.nan]]).astype(dtype)
        v[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    sa, sv = gj.placeholder("a", (None,), dtype), gj.placeholder("v", (None, 7), dtype)
    outs = [
        gj.searchsorted(sa, sv),
        gj.searchsorted(sa, sv, side="right"),
        gj.searchsorted(sa, sv[0, 0]),
        gj.searchsorted(sa[:0], sv),
    ]
    want = gj.compile([sa, sv], outs, backend="numpy")(a, v)
    model = gj.onnx.export(([sa, sv], outs), None)
    _check(model)
    for g, w in zip(_run_ort(model, {"a": a, "v": v}), want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scans_match_numpy_on_special_values(dtype: str) -> None:
    from graphjit.ops import scans

    data = np.array(
        [
            [2.0, -0.0, 3.0, np.inf, -1.5, np.nan, 4.0],
            [-np.inf, -np.inf, 1.0, -np.inf, np.inf, 2.0, -0.0],
            [0.5, -2.0, -0.0, -3.0, np.inf, 0.0, 1.0],
        ],
        dtype=dtype,
    )
    x = gj.placeholder("x", (None, 7), dtype)
    outs = [
        gj.cumprod(x, axis=1),
        gj.cumprod(x, axis=0),
        gj.logcumsumexp(x, 1),
        scans.apply(scans.LOGCUMSUMEXP, x, axis=1, reverse=True),
        gj.logcumsumexp(x, 0),
    ]
    with np.errstate(all="ignore"):
        want = gj.compile([x], outs, backend="numpy")(data)
    model = gj.onnx.export(([x], outs), None)
    _check(model)
    for i, (g, w) in enumerate(zip(_run_ort(model, {"x": data}), want)):
        _same_values(g, w, dtype, f"output {i}")


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "bool"])
def test_cummax_cummin_export_with_ties_and_nan(dtype: str) -> None:
    rng = np.random.default_rng(6)
    data = rng.integers(-2, 3, size=(4, 9)).astype(dtype)  # ties: the last one wins
    if dtype.startswith("float"):
        data[0, 3] = data[1, 2] = data[1, 5] = np.nan
        data[2, 1], data[3, 4] = np.inf, -np.inf
    x = gj.placeholder("x", (None, 9), dtype)
    outs = [*gj.cummax(x, 1), *gj.cummin(x, 1), *gj.cummax(x, 0), *gj.cummin(x, 0)]
    want = gj.compile([x], outs, backend="numpy")(data)
    model = gj.onnx.export(([x], outs), None)
    _check(model)
    for g, w in zip(_run_ort(model, {"x": data}), want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_convolutions_export_to_conv_and_conv_transpose(dtype: str) -> None:
    gj.manual_seed(0)
    nn = gj.nn
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=(1, 0), dilation=(1, 2), dtype=dtype), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding="same", groups=2, dtype=dtype), nn.Tanh(),
        nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1, dtype=dtype),
    )  # fmt: skip
    x = gj.placeholder("x", (None, 2, 9, 10), dtype)
    f = gj.compile([x], [model(x)])
    proto = gj.onnx.export(f, None)
    _check(proto)
    assert {n.op_type for n in proto.graph.node} >= {"Conv", "ConvTranspose"}
    data = np.random.default_rng(0).normal(size=(3, 2, 9, 10)).astype(dtype)
    (want,) = f(data)
    (again,) = gj.onnx.load(proto).compile(backend="numpy")(data)
    np.testing.assert_allclose(again, want, **TOL[dtype])
    if dtype == "float32":  # onnxruntime's CPU provider has no float64 Conv kernels
        (got,) = _run_ort(proto, {"x": data})
        np.testing.assert_allclose(got, want, **TOL[dtype])
