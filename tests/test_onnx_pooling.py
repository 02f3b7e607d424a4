"""gj.onnx for pooling and resampling (graphjit/onnx/export_pooling.py and import_pooling.py):
exported models checked by onnx's checker and against onnxruntime on windows that hang over the
input, read back into graphjit, ONNX models written by hand read in, and the refusals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphjit as gj

onnx = pytest.importorskip("onnx", reason="gj.onnx tests need the onnx package (graphjit[onnx])")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime to run the models")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = gj.nn.functional
TOL = {"float64": dict(rtol=1e-7, atol=1e-9), "float32": dict(rtol=1e-5, atol=1e-5)}
ONNX_DTYPE = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}


def _run_ort(model, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _export_and_compare(x, outputs, data, dtype: str, run_ort: bool = True) -> onnx.ModelProto:
    """Export ``outputs`` of placeholder ``x``; onnxruntime (when ``run_ort``) and the model read
    back into graphjit must both give graphjit's values, dtypes and shapes."""
    want = gj.compile([x], outputs, backend="numpy")(data)
    model = gj.onnx.export(([x], outputs), None)
    onnx.checker.check_model(model, full_check=True)
    tries = [("read back", gj.onnx.load(model).compile(backend="numpy")(data))]
    if run_ort:
        tries.append(("onnxruntime", _run_ort(model, {"x": data})))
    for who, got in tries:
        for i, (g, w) in enumerate(zip(got, want)):
            assert g.dtype == w.dtype and g.shape == w.shape, f"{who}, output {i}"
            if w.dtype.kind == "i":
                np.testing.assert_array_equal(g, w, err_msg=f"{who}, output {i}")
            else:
                np.testing.assert_allclose(g, w, **TOL[dtype], err_msg=f"{who}, output {i}")
    return model


def _op_types(model) -> set[str]:
    return {n.op_type for n in model.graph.node}


# windows over a 7x8 input: every kernel/stride/padding/dilation PyTorch allows here, ceil_mode on
# and off (7 and 8 with stride 2 or 3 leave a last window hanging over the input or its padding)
_WINDOWS = [
    (k, s, p, d)
    for k, s, d in itertools.product((1, 2, 3), (1, 2, 3), (1, 2))
    for p in range(k // 2 + 1)
]


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool_values_and_indices_match_onnxruntime(dtype: str, ceil_mode: bool) -> None:
    data = np.random.default_rng(0).normal(size=(2, 3, 7, 8)).astype(dtype)
    data[0, 0, :2, :2] = 1.5  # ties: the first maximum of a window wins, as in ONNX
    checked = 0
    for k, s, p, d in _WINDOWS:
        x = gj.placeholder("x", (None, 3, 7, 8), dtype)
        y, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil_mode, return_indices=True)
        try:
            model = gj.onnx.export(([x], [y, idx]), None)
        except gj.onnx.OnnxConversionError as exc:
            # the one refusal: a ceil_mode window with dilation needing padding past the kernel
            assert ceil_mode and d > 1 and "padding as large as the kernel" in str(exc)
            continue
        assert "MaxPool" in _op_types(model)
        assert all(a.i == 0 for n in model.graph.node for a in n.attribute if a.name == "ceil_mode")
        _export_and_compare(x, [y, idx], data, dtype)
        checked += 1
    assert checked >= len(_WINDOWS) - 4


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_avg_pool_divisors_match_onnxruntime(dtype: str) -> None:
    """count_include_pad counts the padding but not a ceil_mode window's part past it;
    divisor_override replaces the divisor (onnxruntime has no float64 AveragePool: float64 is
    checked by reading the model back)."""
    data = np.random.default_rng(1).normal(size=(2, 3, 7, 8)).astype(dtype)
    for (k, s, p, _), ceil, include in itertools.product(
        [w for w in _WINDOWS if w[3] == 1], (False, True), (False, True)
    ):
        x = gj.placeholder("x", (None, 3, 7, 8), dtype)
        outs = [F.avg_pool2d(x, k, s, p, ceil, include)]
        if include:
            outs.append(F.avg_pool2d(x, k, s, p, ceil, divisor_override=5))
        model = _export_and_compare(x, outs, data, dtype, run_ort=dtype == "float32")
        assert "AveragePool" in _op_types(model)


def test_pools_of_one_and_three_leading_axes() -> None:
    """graphjit pools any leading axes; ONNX's pools take (N, C, *spatial)."""
    rng = np.random.default_rng(2)
    for shape in [(3, 9), (4, 7, 6), (2, 2, 3, 7, 6)]:
        nsp = 1 if len(shape) == 2 else 2
        x = gj.placeholder("x", shape, "float32")
        pool = F.max_pool1d if nsp == 1 else F.max_pool2d
        avg = F.avg_pool1d if nsp == 1 else F.avg_pool2d
        adaptive = F.adaptive_avg_pool1d if nsp == 1 else F.adaptive_avg_pool2d
        if len(shape) == 5:  # the functional API takes 2 leading axes at most; the ops any
            from graphjit.ops.pooling import ADAPTIVE_AVG_POOL, AVG_POOL, MAX_POOL

            w = {"kernel": (2, 3), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1)}
            outs = [
                gj.ops.apply(MAX_POOL, x, ceil_mode=True, **w),
                gj.ops.apply(AVG_POOL, x, ceil_mode=False, count_include_pad=True, divisor=0,
                             **{k: v for k, v in w.items() if k != "dilation"}),
                gj.ops.apply(ADAPTIVE_AVG_POOL, x, output_size=(2, 4)),
            ]  # fmt: skip
        else:
            outs = [pool(x, 2, padding=1, ceil_mode=True), avg(x, 3, 2), adaptive(x, 4)]
        data = rng.normal(size=shape).astype("float32")
        _export_and_compare(x, outs, data, "float32")


_ADAPTIVE = [(1, 1), (2, 3), (4, 3), (3, 4), (5, 6), (6, 6), (4, 1)]


@pytest.mark.parametrize("size", _ADAPTIVE, ids=str)
def test_adaptive_pools_match_onnxruntime(size: tuple[int, int]) -> None:
    """Output 1 is a global pool, a dividing output a fixed pool, any other one reduction per
    window; max's indices included."""
    data = np.random.default_rng(3).normal(size=(2, 3, 8, 6)).astype("float32")
    x = gj.placeholder("x", (None, 3, 8, 6), "float32")
    values, indices = F.adaptive_max_pool2d(x, size, return_indices=True)
    outs = [F.adaptive_avg_pool2d(x, size), values, indices]
    model = _export_and_compare(x, outs, data, "float32")
    kinds = _op_types(model)
    if size == (1, 1):
        assert {"GlobalAveragePool", "GlobalMaxPool"} <= kinds
    elif 8 % size[0] == 0 and 6 % size[1] == 0:
        assert {"AveragePool", "MaxPool"} <= kinds and "ReduceMean" not in kinds
    else:
        assert {"ReduceMean", "ReduceMax", "ArgMax"} <= kinds


def test_adaptive_pools_with_call_time_spatial_sizes() -> None:
    """A global pool needs no sizes when exporting; other output sizes do, and say so."""
    x = gj.placeholder("x", (None, 2, None, None), "float32")
    data = np.random.default_rng(4).normal(size=(3, 2, 5, 7)).astype("float32")
    outs = [F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)]
    _export_and_compare(x, outs, data, "float32")
    with pytest.raises(gj.onnx.OnnxConversionError, match="known only at call time"):
        gj.onnx.export(([x], [F.adaptive_avg_pool2d(x, (2, 3))]), None)


def test_max_pool_with_call_time_spatial_sizes() -> None:
    x = gj.placeholder("x", (None, 2, None, None), "float32")
    data = np.random.default_rng(5).normal(size=(2, 2, 9, 6)).astype("float32")
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    _export_and_compare(x, [y, idx, F.avg_pool2d(x, 2)], data, "float32")
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"ceil_mode=True.*call time"):
        gj.onnx.export(([x], [F.max_pool2d(x, 2, ceil_mode=True)]), None)


def test_integer_max_pools() -> None:
    """int32 goes through float64 (exact); int64 has no MaxPool and is refused."""
    data = np.random.default_rng(6).integers(-1000, 1000, size=(2, 3, 7, 8)).astype("int32")
    x = gj.placeholder("x", (None, 3, 7, 8), "int32")
    y, idx = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    outs = [y, idx, F.adaptive_max_pool2d(x, (3, 5)), F.adaptive_max_pool2d(x, 1)]
    _export_and_compare(x, outs, data, "int32")
    x64 = gj.placeholder("x", (None, 3, 7, 8), "int64")
    with pytest.raises(gj.onnx.OnnxConversionError, match="no int64 form"):
        gj.onnx.export(([x64], [F.max_pool2d(x64, 2)]), None)


def test_pool_gather_exports() -> None:
    """pool_gather (max pooling's jvp) is GatherElements over each plane."""
    from graphjit.ops.pooling import POOL_GATHER

    x = gj.placeholder("x", (None, 3, 7, 8), "float64")
    _, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    out = gj.ops.apply(POOL_GATHER, gj.sin(x), idx, ndim=2)
    data = np.random.default_rng(7).normal(size=(2, 3, 7, 8))
    _export_and_compare(x, [out], data, "float64")


_INTERPOLATIONS = [
    dict(scale_factor=2.0), dict(scale_factor=2.5), dict(scale_factor=0.5),
    dict(scale_factor=1 / 3), dict(scale_factor=0.7), dict(scale_factor=1.3),
    dict(scale_factor=(1.5, 0.75)), dict(size=(7, 10)), dict(size=(2, 3)), dict(size=(1, 1)),
    dict(size=(13, 4)), dict(size=(3, 8)),
]  # fmt: skip


@pytest.mark.parametrize("shape", [(2, 3, 5, 6), (1, 2, 3, 4), (1, 1, 7, 9)], ids=str)
@pytest.mark.parametrize(
    "mode, align_corners",
    [("nearest", None), ("bilinear", False), ("bilinear", True), ("area", None)],
)
def test_interpolate_matches_onnxruntime(shape, mode: str, align_corners) -> None:
    """onnxruntime has no float64 Resize: float32 against it, float64 read back."""
    rng = np.random.default_rng(8)
    for kw, dtype in itertools.product(_INTERPOLATIONS, ("float32", "float64")):
        x = gj.placeholder("x", (None, *shape[1:]), dtype)
        try:
            y = F.interpolate(x, mode=mode, align_corners=align_corners, **kw)
        except ValueError:
            continue  # a scale leaving no output
        data = (10 * rng.normal(size=shape)).astype(dtype)
        model = _export_and_compare(x, [y], data, dtype, run_ort=dtype == "float32")
        if mode != "area":  # Resize, or the gathers of the cases it would not match
            assert _op_types(model) & {"Resize", "Gather"}


def test_interpolate_linear_1d_and_nearest_of_ints() -> None:
    rng = np.random.default_rng(9)
    x = gj.placeholder("x", (None, 2, 9), "float32")
    outs = [
        F.interpolate(x, scale_factor=1.75, mode="linear"),
        F.interpolate(x, size=4, mode="linear", align_corners=True),
        F.interpolate(x, size=20),
    ]
    _export_and_compare(x, outs, rng.normal(size=(3, 2, 9)).astype("float32"), "float32")
    xi = gj.placeholder("x", (None, 2, 4, 5), "int32")
    data = rng.integers(-50, 50, size=(2, 2, 4, 5)).astype("int32")
    _export_and_compare(xi, [F.interpolate(xi, scale_factor=(2.0, 1.5))], data, "int32")


def test_resize_with_call_time_sizes() -> None:
    """Resize by a scale serves every size; a linear scale in (1, 2) might keep a length (which
    onnxruntime skips) and needs the sizes."""
    x = gj.placeholder("x", (None, 2, None, None), "float32")
    y = F.interpolate(x, scale_factor=2.0, mode="bilinear")
    z = F.interpolate(x, scale_factor=0.5)
    model = gj.onnx.export(([x], [y, z]), None)
    f = gj.compile([x], [y, z], backend="numpy")
    for shape in [(1, 2, 3, 5), (2, 2, 6, 4)]:
        data = np.random.default_rng(10).normal(size=shape).astype("float32")
        for g, w in zip(_run_ort(model, {"x": data}), f(data)):
            np.testing.assert_allclose(g, w, **TOL["float32"])
    with pytest.raises(gj.onnx.OnnxConversionError, match="may keep the length"):
        gj.onnx.export(([x], [F.interpolate(x, scale_factor=1.5, mode="bilinear")]), None)


def test_dilated_ceil_mode_pool_needing_a_padding_past_the_kernel_is_refused() -> None:
    x = gj.placeholder("x", (None, 1, 7, 7), "float32")
    y = F.max_pool2d(x, 2, 3, 0, dilation=2, ceil_mode=True)
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"padding \(0, 2\) for kernel 2"):
        gj.onnx.export(([x], [y]), None)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_cnn_exports_and_matches_onnxruntime(dtype: str) -> None:
    gj.manual_seed(0)
    nn = gj.nn
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),                      # 9x9 -> 5x5
        nn.Conv2d(4, 8, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),   # 5x5 -> 6x6
        nn.AdaptiveAvgPool2d((4, 4)),                         # a dividing one
        nn.Upsample(scale_factor=1.5, mode="bilinear"),       # 6x6
        nn.AdaptiveAvgPool2d((4, 5)),                         # and not
        nn.Flatten(), nn.Linear(8 * 4 * 5, 10, dtype=dtype),
    )  # fmt: skip
    model.eval()
    x = gj.placeholder("x", (None, 1, 9, 9), dtype)
    f = gj.compile([x], [model(x)])
    proto = gj.onnx.export(f, None)
    onnx.checker.check_model(proto, full_check=True)
    assert _op_types(proto) >= {"Conv", "MaxPool", "AveragePool", "Resize", "ReduceMean"}
    data = np.random.default_rng(11).normal(size=(5, 1, 9, 9)).astype(dtype)
    (want,) = f(data)
    (again,) = gj.onnx.load(proto).compile()(data)
    np.testing.assert_allclose(again, want, **TOL[dtype])
    if dtype == "float32":  # onnxruntime's CPU provider has no float64 Conv kernels
        (got,) = _run_ort(proto, {"x": data})
        np.testing.assert_allclose(got, want, **TOL[dtype])


# --------------------------------------------------------------------------------------------------
# import of models written with the onnx helper API


def _model(nodes, out_names, x_shape, dtype="float32", inits=()) -> onnx.ModelProto:
    code = ONNX_DTYPE[dtype]
    graph = helper.make_graph(
        nodes, "pool", [helper.make_tensor_value_info("x", code, x_shape)],
        [helper.make_value_info(name, onnx.TypeProto()) for name in out_names], list(inits),
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def _load_and_compare(model, data) -> None:
    want = _run_ort(model, {"x": data})
    got = gj.onnx.load(model).compile(backend="numpy")(data)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape and g.dtype == w.dtype, f"output {i}"
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")


@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_load_max_pool_with_indices_over_the_whole_tensor(ceil_mode: int) -> None:
    node = helper.make_node(
        "MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 0],
        dilations=[1, 2], ceil_mode=ceil_mode,
    )  # fmt: skip
    data = np.random.default_rng(12).normal(size=(2, 3, 7, 8)).astype("float32")
    _load_and_compare(_model([node], ["y", "i"], ["n", 3, 7, 8]), data)


@pytest.mark.parametrize("ceil_mode", [0, 1])
@pytest.mark.parametrize("include", [0, 1])
def test_load_average_pools(ceil_mode: int, include: int) -> None:
    nodes = [
        helper.make_node(
            "AveragePool",
            ["x"],
            ["y"],
            kernel_shape=[3, 3],
            strides=[2, 3],
            pads=[1, 1, 1, 1],
            ceil_mode=ceil_mode,
            count_include_pad=include,
        ),
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("GlobalMaxPool", ["x"], ["m"]),
        helper.make_node("AveragePool", ["x"], ["v"], kernel_shape=[2, 2], auto_pad="VALID"),
    ]
    data = np.random.default_rng(13).normal(size=(2, 3, 7, 8)).astype("float32")
    _load_and_compare(_model(nodes, ["y", "g", "m", "v"], ["n", 3, 7, 8]), data)


def test_load_asymmetric_pads_that_graphjit_windows_reproduce() -> None:
    """Right padding past the left one, giving PyTorch's ceil_mode lengths (as the exporter
    writes them), reads as ceil_mode; padding giving lengths no ceil_mode does is refused."""
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2], strides=[2], pads=[0, 1])
    data = np.random.default_rng(14).normal(size=(2, 3, 7)).astype("float32")
    _load_and_compare(_model([node], ["y"], [2, 3, 7]), data)
    bad = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2], strides=[1], pads=[0, 1])
    with pytest.raises(gj.onnx.OnnxConversionError, match="cannot"):
        gj.onnx.load(_model([bad], ["y"], [2, 3, 7]))
    with pytest.raises(gj.onnx.OnnxConversionError, match="spatial sizes are known"):
        gj.onnx.load(_model([node], ["y"], [2, 3, "w"]))


def _resize(mode: str, transform: str, scales=None, sizes=None, **attrs):
    inits = []
    inputs = ["x", "", ""]
    if scales is not None:
        inits.append(numpy_helper.from_array(np.asarray(scales, np.float32), "scales"))
        inputs[2] = "scales"
    if sizes is not None:
        inits.append(numpy_helper.from_array(np.asarray(sizes, np.int64), "sizes"))
        inputs.append("sizes")
    node = helper.make_node(
        "Resize", inputs, ["y"], mode=mode, coordinate_transformation_mode=transform, **attrs
    )
    return node, inits


@pytest.mark.parametrize(
    "mode, transform, extra",
    [
        ("nearest", "asymmetric", {"nearest_mode": "floor"}),
        ("linear", "half_pixel", {}),
        ("linear", "pytorch_half_pixel", {}),
        ("linear", "align_corners", {}),
    ],
)
@pytest.mark.parametrize(
    "scales, sizes",
    [([1, 1, 2.0, 2.5], None), ([1, 1, 0.5, 1.0], None), (None, [2, 3, 11, 4]),
     (None, [2, 3, 3, 13])],
)  # fmt: skip
def test_load_resize(mode, transform, extra, scales, sizes) -> None:
    node, inits = _resize(mode, transform, scales, sizes, **extra)
    data = np.random.default_rng(15).normal(size=(2, 3, 6, 5)).astype("float32")
    _load_and_compare(_model([node], ["y"], [2, 3, 6, 5], inits=inits), data)


def test_load_refuses_pooling_and_resize_it_does_not_support() -> None:
    shape = [1, 2, 6, 6]
    cases = [
        (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], auto_pad="SAME_UPPER"),
         "auto_pad 'SAME_UPPER'"),
        (helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], storage_order=1),
         "storage_order=1"),
        (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2]), "kernel_shape with 2"),
        (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[0, 0, 1, 1],
                          count_include_pad=1), "count_include_pad=1 with pads"),
    ]  # fmt: skip
    for node, message in cases:
        with pytest.raises(gj.onnx.OnnxConversionError, match=message):
            gj.onnx.load(_model([node], node.output, shape))
    resizes = [
        (("cubic", "half_pixel", [1, 1, 2, 2]), {}, "mode 'cubic'"),
        (("nearest", "half_pixel", [1, 1, 2, 2]), {"nearest_mode": "floor"}, "'asymmetric'"),
        (("nearest", "asymmetric", [1, 1, 2, 2]), {}, "round_prefer_floor"),
        (("linear", "tf_crop_and_resize", [1, 1, 2, 2]), {}, "tf_crop_and_resize"),
        (("linear", "half_pixel", [1, 1, 2, 2]), {"antialias": 1}, "antialias"),
        (("linear", "pytorch_half_pixel", None, [1, 2, 1, 6]), {}, "length 1"),
    ]
    for args, extra, message in resizes:
        node, inits = _resize(*args, **extra)
        with pytest.raises(gj.onnx.OnnxConversionError, match=message):
            gj.onnx.load(_model([node], ["y"], shape, inits=inits))


@pytest.mark.parametrize("spatial", [(6, 7), (None, None)], ids=["static", "call-time"])
def test_max_pools_keep_pytorchs_nan_rule(spatial) -> None:
    """A window holding a NaN gives NaN at the index of its last NaN (ONNX's MaxPool and
    ReduceMax skip NaN in onnxruntime; the exporter writes the rule out)."""
    x = gj.placeholder("x", (None, 2, *spatial), "float32")
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    outs = [y, idx, F.adaptive_max_pool2d(x, 1)]
    if spatial[0] is not None:
        a, where = F.adaptive_max_pool2d(x, (4, 3), return_indices=True)  # per window
        b, there = F.adaptive_max_pool2d(x, (3, 7), return_indices=True)  # a fixed MaxPool
        outs += [F.max_pool2d(x, 2, ceil_mode=True), a, where, b, there]
    data = np.random.default_rng(16).normal(size=(2, 2, 6, 7)).astype("float32")
    data[0, 0, 0, 0] = data[0, 0, 2, 3] = data[0, 0, 2, 5] = data[1, 1, 5, 6] = np.nan
    want = gj.compile([x], outs, backend="numpy")(data)
    assert np.isnan(want[0]).any()
    got = _run_ort(gj.onnx.export(([x], outs), None), {"x": data})
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(g, w, err_msg=f"output {i}")
