"""gj.export: the standalone module runs in a fresh interpreter that cannot import graphjit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import graphjit as gj


def _site_dirs() -> list[str]:
    """The directories numpy and numba (and their dependencies) are installed in."""
    import llvmlite

    dirs = {str(Path(m.__file__).resolve().parent.parent) for m in (np, numba, llvmlite)}
    return sorted(dirs)


@pytest.mark.parametrize("in_stages", [False, True])
def test_export_runs_without_graphjit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_stages: bool
) -> None:
    gj.manual_seed(0)
    hidden = [gj.nn.Linear(3, 8), gj.nn.Tanh()]
    if in_stages:  # a program long enough to be cut into stage functions (codegen/numba_cpu)
        from graphjit.codegen.numba_cpu import stages

        monkeypatch.setattr(stages, "SPLIT_ABOVE", 20)
        monkeypatch.setattr(stages, "STAGE_LINES", 8)
        hidden += [gj.nn.Linear(8, 8), gj.nn.Tanh()] * 6
    model = gj.nn.Sequential(*hidden, gj.nn.Linear(8, 2))
    x = gj.placeholder("x", (None, 3))
    f = gj.compile([x], [gj.softmax(model(x), axis=-1), gj.sum(x * 2.0)])
    assert ("def program_stage0_compiled(" in f.source) == in_stages
    out = gj.export(f, tmp_path / "exported")
    assert {p.name for p in out.iterdir()} >= {"model.py", "weights.npz", "README.md", "gj_kernels"}
    assert "import graphjit" not in (out / "model.py").read_text()
    assert "model.run(" in (out / "README.md").read_text()
    data = np.random.default_rng(0).normal(size=(5, 3))
    np.save(tmp_path / "data.npy", data)
    script = (
        "import sys, numpy as np\n"
        "try:\n"
        "    import graphjit\n"
        "    raise SystemExit('graphjit is importable here')\n"
        "except ImportError:\n"
        "    pass\n"
        "import model\n"
        f"data = np.load({str(tmp_path / 'data.npy')!r})\n"
        "a, b = model.run(data)\n"
        f"np.save({str(tmp_path / 'a.npy')!r}, a); np.save({str(tmp_path / 'b.npy')!r}, b)\n"
    )
    # isolated mode without site (-I -S): no PYTHONPATH, no cwd, no .pth files (an editable
    # graphjit is found through one) on sys.path; the export directory
    # and the site directories of numpy and numba are put on the path by hand, graphjit's is not
    # unless it shares one with numpy (then the check above reports it)
    paths = [str(out), *_site_dirs()]
    boot = f"import sys; sys.path[:0] = {paths!r}; exec(open({str(tmp_path / 'run.py')!r}).read())"
    (tmp_path / "run.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", boot],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if "graphjit is importable here" in result.stdout + result.stderr:
        pytest.skip("graphjit is installed in the same site-packages as numpy (not editable)")
    assert result.returncode == 0, result.stderr[-2000:]
    want = f(data)
    np.testing.assert_allclose(np.load(tmp_path / "a.npy"), want[0], rtol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "b.npy"), want[1], rtol=1e-12)
    signature = json.loads((out / "signature.json").read_text())
    assert signature["inputs"] == [{"name": "x", "dtype": "float64", "shape": [None, 3]}]


def test_export_needs_a_compiled_function(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="expected a CompiledFunction"):
        gj.export("f", tmp_path)
