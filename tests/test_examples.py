"""The examples run (with small settings) and assert their own results."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import graphjit as gj

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"graphjit_example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHJIT_EXAMPLES_SMALL", "1")


def test_sine_fit_agrees_across_numpy_eager_and_compiled(capsys) -> None:
    results = _load("sine_fit").main(["--steps", "50", "--points", "500"])
    assert {"numpy", "eager graphjit", "compiled, per step"} <= set(results)
    for value in results.values():
        np.testing.assert_allclose(value, results["numpy"], rtol=1e-6, atol=1e-9)
    assert "x^3" in capsys.readouterr().out


def test_xor_learns_eagerly_and_compiled() -> None:
    predictions = _load("xor").main(["--steps", "400"])
    for p in predictions.values():
        assert np.array_equal(p.ravel() > 0.5, [False, True, True, False])


def test_digits_mlp_reaches_95_percent(tmp_path) -> None:
    pytest.importorskip("sklearn", reason="examples/digits_mlp.py needs scikit-learn")
    accuracy = _load("digits_mlp").main(
        ["--epochs", "15", "--plot", str(tmp_path / "loss.png"), "--onnx", str(tmp_path / "d.onnx")]
    )
    assert accuracy is not None and accuracy >= 0.95


def test_digits_cnn_compiled_steps_match_eager_steps() -> None:
    # the example's model and step, on random data (no scikit-learn needed): three compiled Adam
    # steps leave the same parameters as three eager ones from the same initial values
    example = _load("digits_cnn")
    rng = np.random.default_rng(0)
    batches = [
        (rng.uniform(0, 1, (6, 1, 8, 8)), rng.integers(0, 10, 6).astype(np.int64)) for _ in range(3)
    ]
    gj.manual_seed(1)
    eager = example.build_model()
    compiled = example.build_model()
    initial = {k: np.array(v) for k, v in eager.state_dict().items()}
    compiled.load_state_dict(initial)
    eager_opt = gj.optim.Adam(eager.parameters(), lr=0.005)
    step = example.compile_step(compiled, gj.optim.Adam(compiled.parameters(), lr=0.005))
    for x, y in batches:
        eager_opt.zero_grad()
        loss = gj.nn.functional.cross_entropy(eager(gj.tensor(x)), gj.tensor(y))
        loss.backward()
        eager_opt.step()
        (compiled_loss,) = step(x, y)
        np.testing.assert_allclose(compiled_loss, loss.item(), rtol=1e-10)
    got, want = compiled.state_dict(), eager.state_dict()
    assert list(got) == list(want) and len(got) == 8
    for name in want:
        assert not np.array_equal(want[name], initial[name]), f"{name} did not train"
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_digits_cnn_reaches_97_percent(tmp_path) -> None:
    pytest.importorskip("sklearn", reason="examples/digits_cnn.py needs scikit-learn")
    accuracy = _load("digits_cnn").main(["--plot", str(tmp_path / "curves.png")])
    assert accuracy is not None and accuracy >= 0.97
