"""Bad input to the deployment and interop paths (ONNX in and out, graph serialisation, saved
files, standalone export): each is refused with a clear exception naming the function and the
problem, and a failed write leaves the previous file whole."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit import serialize

onnx = pytest.importorskip("onnx", reason="gj.onnx tests need the onnx package (graphjit[onnx])")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# --------------------------------------------------------------------------------------------------
# ONNX import


def _model(nodes: list[Any], inputs: Any = None, inits: Any = (), opset: int | None = 18) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph(nodes, "g", inputs or [x], [y], initializer=list(inits))
    opsets = [] if opset is None else [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets)


def _input(elem_type: int, dims: list[int]) -> list[Any]:
    return [helper.make_tensor_value_info("x", elem_type, dims)]


def _tensor(name: str, values: list[float], dims: list[int]) -> Any:
    t = helper.make_tensor(name, TensorProto.FLOAT, [len(values)], values)
    t.dims[:] = dims  # dims the data does not fill (helper.make_tensor refuses to write them)
    return t


RELU = helper.make_node("Relu", ["x"], ["y"], name="relu0")
BAD_MODELS = {
    "unsupported op": (_model([helper.make_node("Foo", ["x"], ["y"], name="n0")]), r"'n0'.*'Foo'"),
    "complex input": (
        _model([RELU], _input(TensorProto.COMPLEX64, [2, 3])),
        r"gj.onnx.load: input 'x'.*COMPLEX64",
    ),
    "string input": (
        _model([RELU], _input(TensorProto.STRING, [2, 3])),
        r"gj.onnx.load: input 'x'.*STRING",
    ),
    "opset too new": (_model([RELU], opset=99), "opset 99 is not supported"),
    "opset too old": (_model([RELU], opset=7), "opset 7 is not supported"),
    "no opset": (_model([RELU], opset=None), "names no ONNX opset"),
    "negative dim": (_model([RELU], _input(TensorProto.FLOAT, [-1, 3])), "negative"),
    "huge dims": (_model([RELU], _input(TensorProto.FLOAT, [10**6, 10**6])), "more than"),
    "initializer too short": (
        _model(
            [helper.make_node("Add", ["x", "w"], ["y"])], inits=[_tensor("w", [1.0] * 5, [2, 3])]
        ),
        "initializer 'w'.*does not match its dims",
    ),
    "initializer of huge declared dims": (
        _model(
            [helper.make_node("Add", ["x", "w"], ["y"])],
            inits=[_tensor("w", [1.0], [2**20, 2**20])],
        ),
        "initializer 'w'.*more than",
    ),
    "constant of huge declared dims": (
        _model(
            [helper.make_node("Constant", [], ["y"], value=_tensor("v", [1.0], [2**20, 2**20]))]
        ),
        "Constant.*more than",
    ),
    "ConstantOfShape of a huge shape": (
        _model(
            [helper.make_node("ConstantOfShape", ["s"], ["y"])],
            inits=[numpy_helper.from_array(np.array([2**30, 2**30], np.int64), "s")],
        ),
        "ConstantOfShape.*more than",
    ),
    "cycle": (
        _model(
            [
                helper.make_node("Relu", ["b"], ["a"]),
                helper.make_node("Relu", ["a"], ["b"]),
                helper.make_node("Relu", ["a"], ["y"]),
            ]
        ),
        "cycle",
    ),
    "undefined value": (
        _model([helper.make_node("Add", ["x", "q"], ["y"])]),
        "'q' is not produced",
    ),
    "value produced twice": (_model([RELU, RELU]), "already produced"),
    "input listed twice": (
        _model([RELU], _input(TensorProto.FLOAT, [2, 3]) * 2),
        "two inputs of this name",
    ),
    "attribute of the wrong type": (
        _model([helper.make_node("Softmax", ["x"], ["y"], axis=1.5)]),
        "attribute 'axis' must be int",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_onnx_load_refuses_bad_models_naming_the_problem(case: str) -> None:
    model, message = BAD_MODELS[case]
    with pytest.raises(gj.onnx.OnnxConversionError, match=message):
        gj.onnx.load(model)
    # as bytes too: the refusal does not depend on how the model is handed over
    with pytest.raises(gj.onnx.OnnxConversionError, match=message):
        gj.onnx.load(model.SerializeToString())


@pytest.mark.parametrize(
    "case", ["unsupported op", "complex input", "no opset", "cycle", "undefined value"]
)
def test_what_onnx_checker_refuses_graphjit_refuses(case: str) -> None:
    model, _ = BAD_MODELS[case]
    with pytest.raises((onnx.checker.ValidationError, onnx.shape_inference.InferenceError)):
        onnx.checker.check_model(model, full_check=True)
    with pytest.raises(gj.onnx.OnnxConversionError):
        gj.onnx.load(model)


def test_onnx_load_refuses_an_unsupported_op_as_unsupported() -> None:
    with pytest.raises(gj.onnx.UnsupportedOpError, match=r"Foo"):
        gj.onnx.load(BAD_MODELS["unsupported op"][0])


def test_onnx_load_of_missing_paths_names_the_function(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"gj.onnx.load: no file .*nope.onnx"):
        gj.onnx.load(tmp_path / "nope.onnx")
    with pytest.raises(IsADirectoryError, match=r"gj.onnx.load: .* is a directory"):
        gj.onnx.load(tmp_path)


def test_onnx_load_refuses_unreadable_bytes(tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"no ONNX graph"):
        gj.onnx.load(tmp_path / "empty.onnx")
    with pytest.raises(gj.onnx.OnnxConversionError, match=r"not a readable ONNX model"):
        gj.onnx.load(np.random.default_rng(0).bytes(1000))
    good = _model([RELU]).SerializeToString()
    assert gj.onnx.load(good).outputs  # the untruncated model loads
    for k in range(1, len(good)):  # every truncation is a clear refusal (or, rarely, a model)
        with contextlib.suppress(gj.onnx.OnnxConversionError):
            gj.onnx.load(good[:k])


# --------------------------------------------------------------------------------------------------
# ONNX export


@pytest.fixture
def exp_f() -> gj.CompiledFunction:
    x = gj.placeholder("x", shape=(2, 3), dtype="float32")
    return gj.compile([x], [gj.exp(x)])


def test_onnx_export_of_an_unmapped_op_names_it() -> None:
    x = gj.placeholder("x", shape=(2, 3), dtype="float64")
    with pytest.raises(gj.onnx.UnsupportedOpError, match=r"erfinv"):
        gj.onnx.export(([x], [gj.erfinv(x)]), None)


@pytest.mark.parametrize(
    ("f", "path", "error", "message"),
    [
        (lambda f: f, lambda d: 3, TypeError, "gj.onnx.export: path must be"),
        (lambda f: lambda: 1, lambda d: d / "m.onnx", TypeError, "gj.onnx.export: expected a"),
        (lambda f: f, lambda d: d / "no" / "m.onnx", FileNotFoundError, "gj.onnx.export: the fo"),
        (lambda f: f, lambda d: d, IsADirectoryError, "gj.onnx.export: .* is a directory"),
    ],
)
def test_onnx_export_refuses_bad_targets(
    exp_f: gj.CompiledFunction, tmp_path: Path, f: Any, path: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        gj.onnx.export(f(exp_f), path(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_a_failed_onnx_export_keeps_the_old_file(
    exp_f: gj.CompiledFunction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the previous model")

    def fail(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match=r"disk full"):
        gj.onnx.export(exp_f, target)
    monkeypatch.undo()
    assert target.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left
    gj.onnx.export(exp_f, target)
    onnx.checker.check_model(onnx.load(str(target)), full_check=True)


def test_onnx_export_of_symbolic_dims_is_a_valid_model(tmp_path: Path) -> None:
    x = gj.placeholder("x", shape=(None, 3), dtype="float32")
    gj.onnx.export(gj.compile([x], [gj.exp(x)]), tmp_path / "s.onnx")
    model = onnx.load(str(tmp_path / "s.onnx"))
    onnx.checker.check_model(model, full_check=True)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["x_dim0", 3]
    back = gj.onnx.load(model)
    assert back.inputs[0].shape == (None, 3)


# --------------------------------------------------------------------------------------------------
# graphjit.serialize


def _encoded() -> serialize.EncodedGraph:
    x = gj.placeholder("x", shape=(2,), dtype="float64")
    return serialize.encode_graph([gj.exp(x)])


LEAF = ("placeholder", "x", (2,), "float64")
BAD_ENCODINGS = {
    "version True": (True, (LEAF,), (0,)),
    "entries None": (1, None, (0,)),
    "root out of range": (1, (LEAF,), (5,)),
    "roots a string": (1, (LEAF,), "ab"),
    "short op entry": (1, (LEAF, ("op", "exp")), (1,)),
    "short leaf entry": (1, (("placeholder", "x"),), (0,)),
    "negative dim": (1, (("placeholder", "x", (-1,), "float64"),), (0,)),
    "object dtype": (1, (("placeholder", "x", (2,), "object"),), (0,)),
    "shape an int": (1, (("placeholder", "x", 5, "float64"),), (0,)),
    "name a list": (1, (("placeholder", ["x"], (2,), "float64"),), (0,)),
    "constant name an int": (1, (("constant", 5, np.zeros(2)),), (0,)),
    "attrs not pairs": (1, (LEAF, ("op", "exp", (0,), "zz")), (1,)),
    "unknown attribute": (1, (LEAF, ("op", "exp", (0,), (("bogus", 1),))), (1,)),
    "inputs None": (1, (LEAF, ("op", "exp", None, ())), (1,)),
    "input index a bool": (1, (LEAF, ("op", "exp", (True,), ())), (1,)),
    "add of one input": (1, (LEAF, ("op", "add", (0,), ())), (1,)),
    "exp of two inputs": (1, (LEAF, ("op", "exp", (0, 0), ())), (1,)),
    "where of two inputs": (1, (LEAF, ("op", "where", (0, 0), ())), (1,)),
}


@pytest.mark.parametrize("case", list(BAD_ENCODINGS))
def test_malformed_encoded_graphs_raise_graph_format_error(case: str) -> None:
    assert serialize.decode_graph(_encoded())[0].op.name == "exp"  # a good one decodes
    with pytest.raises(serialize.GraphFormatError):
        serialize.decode_graph(BAD_ENCODINGS[case])


@pytest.mark.parametrize("case", ["short op entry", "root out of range", "unknown attribute"])
def test_unpickling_a_tampered_node_raises_graph_format_error(case: str) -> None:
    # what a pickle of a node calls (Node.__reduce__): tampered payloads are refused, not run
    with pytest.raises(serialize.GraphFormatError):
        serialize.rebuild_node(BAD_ENCODINGS[case])


# --------------------------------------------------------------------------------------------------
# graphjit.io


def test_io_load_of_missing_paths_names_the_function(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"load: no file .*nope.npz"):
        gj.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError, match=r"load: .* is a directory"):
        gj.load(tmp_path)


def test_io_save_to_a_directory_names_the_function(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=r"save: .* is a directory"):
        gj.save({"a": np.zeros(2)}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _saved(tmp_path: Path) -> bytes:
    gj.save({"a": np.arange(3.0), "b": {"c": np.ones((2, 2), np.float32)}}, tmp_path / "s.npz")
    return (tmp_path / "s.npz").read_bytes()


def test_io_load_of_a_damaged_zip_header_is_a_value_error(tmp_path: Path) -> None:
    raw = bytearray(_saved(tmp_path))
    central = raw.find(b"PK\x01\x02")  # the first central directory entry
    raw[central + 10 : central + 12] = (99).to_bytes(2, "little")  # an unknown compression
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"load: .*bad.npz"):
        gj.load(tmp_path / "bad.npz")


def test_io_load_of_any_flipped_byte_is_a_value_error_or_the_data(tmp_path: Path) -> None:
    raw = _saved(tmp_path)
    good = gj.load(tmp_path / "s.npz", as_tensors=False)
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= 0xFF
        (tmp_path / "bad.npz").write_bytes(bytes(damaged))
        try:
            got = gj.load(tmp_path / "bad.npz", as_tensors=False)
        except ValueError:
            continue
        assert sorted(got) == sorted(good)  # a flip in a name or padding may still read


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ({"weight": np.zeros((3, 2))}, KeyError),  # bias missing
        ({"weight": np.zeros((3, 2)), "bias": np.zeros(3), "extra": np.zeros(1)}, KeyError),
        ({"weight": np.zeros((2, 3)), "bias": np.zeros(3)}, ValueError),  # transposed
        ({"weight": np.zeros((3, 2)), "bias": np.zeros(4)}, ValueError),
    ],
)
def test_a_failed_load_from_a_file_leaves_the_module_unchanged(
    tmp_path: Path, state: dict[str, np.ndarray], error: type
) -> None:
    model = gj.nn.Linear(2, 3)
    before = model.state_dict()
    gj.save(state, tmp_path / "state.npz")
    with pytest.raises(error, match=r"load_state_dict"):
        model.load_state_dict(gj.load(tmp_path / "state.npz"))
    after = model.state_dict()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])


# --------------------------------------------------------------------------------------------------
# gj.export (standalone module)


def test_export_to_a_file_path_is_refused(exp_f: gj.CompiledFunction, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("keep me")
    with pytest.raises(NotADirectoryError, match=r"gj.export: .*file"):
        gj.export(exp_f, tmp_path / "file")
    with pytest.raises(NotADirectoryError, match=r"gj.export: cannot make"):
        gj.export(exp_f, tmp_path / "file" / "sub")
    with pytest.raises(TypeError, match=r"gj.export: directory must be"):
        gj.export(exp_f, 3)  # type: ignore[arg-type]
    assert (tmp_path / "file").read_text() == "keep me"


def test_export_into_a_non_empty_directory_keeps_other_files(
    exp_f: gj.CompiledFunction, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    gj.export(exp_f, tmp_path)
    gj.export(exp_f, tmp_path)  # again over the first export
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "signature.json").read_text())["inputs"][0]["name"] == "x"


def test_export_keeps_names_that_are_not_identifiers_as_data(tmp_path: Path) -> None:
    name = 'x");\nimport os  # \u00e9'
    x = gj.placeholder(name, shape=(2,), dtype="float64")
    gj.export(gj.compile([x], [gj.exp(x)]), tmp_path)
    signature = json.loads((tmp_path / "signature.json").read_text(encoding="utf-8"))
    assert signature["inputs"][0]["name"] == name
    lines = (tmp_path / "model.py").read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith("import os  #") for line in lines)
    compile(  # the generated module is still valid python
        (tmp_path / "model.py").read_text(encoding="utf-8"), "model.py", "exec"
    )


def test_a_failed_export_keeps_the_earlier_export_whole(
    exp_f: gj.CompiledFunction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gj.export(exp_f, tmp_path)
    before = (tmp_path / "weights.npz").read_bytes()
    names = sorted(p.name for p in tmp_path.iterdir())

    def fail(fh: Any, **arrays: Any) -> None:
        fh.write(b"PK half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        gj.export(exp_f, tmp_path)
    assert (tmp_path / "weights.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary file left


def test_a_failed_export_of_another_function_changes_no_file(
    exp_f: gj.CompiledFunction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model written before the weights failed must not replace the earlier model: the
    files of one export are replaced together, after all of them are written."""
    gj.export(exp_f, tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    y = gj.placeholder("y", shape=(None, 2), dtype="float32")
    other = gj.compile([y], [gj.tanh(y) * 3.0])

    def fail(fh: Any, **arrays: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        gj.export(other, tmp_path)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files
    assert all(p.read_bytes() == content for p, content in before.items())


@pytest.mark.parametrize("op, n", [("add", 1), ("add", 3), ("exp", 2), ("clamp", 2), ("tanh", 0)])
def test_an_op_of_fixed_arity_refuses_another_number_of_inputs(op: str, n: int) -> None:
    """Every op of a fixed number of inputs (an elementwise template's placeholders, a per-input
    gradient rule each) checks it when a node is built, whatever builds it."""
    from graphjit import ir
    from graphjit.ops import OPS

    x = gj.placeholder("x", shape=(2,), dtype="float64")
    with pytest.raises(TypeError, match=rf"{op}: takes {OPS[op].arity} input\(s\), got {n}"):
        ir.make_node(OPS[op], [x] * n)
