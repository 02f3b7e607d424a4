"""The examples run (with small settings) and assert their own results."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

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
