"""Packaging: kernels/ installs as graphjit.kernels, every subpackage ships, the script exists."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # in the standard library from python 3.11

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _packages_on_disk() -> set[str]:
    """Dotted names of the package directories that must ship (those with an __init__.py)."""
    found = set()
    for top, name in ((ROOT / "graphjit", "graphjit"), (ROOT / "kernels", "graphjit.kernels")):
        for init in top.rglob("__init__.py"):
            rel = init.parent.relative_to(top).parts
            found.add(".".join((name, *rel)))
    return found


def test_kernels_import_as_graphjit_kernels() -> None:
    kernels = importlib.import_module("graphjit.kernels")
    cuda = importlib.import_module("graphjit.kernels.cuda")
    assert Path(kernels.__file__).resolve().parent == ROOT / "kernels"
    assert Path(cuda.__file__).resolve().parent == ROOT / "kernels" / "cuda"


def test_every_package_on_disk_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = _packages_on_disk() - listed
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["graphjit.kernels"] == "kernels"


def test_console_script_is_declared_and_resolves() -> None:
    assert PYPROJECT["project"]["scripts"] == {"graphjit": "graphjit.cli:main"}
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="graphjit")
    from graphjit.cli import main

    assert entry.load() is main


def test_dev_extra_has_the_ci_tools() -> None:
    dev = " ".join(PYPROJECT["project"]["optional-dependencies"]["dev"])
    for tool in ("pytest", "hypothesis", "ruff", "mypy"):
        assert tool in dev
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    for dep in ("numpy", "numba", "scipy"):
        assert dep in deps
    assert "torch" not in deps and "jax" not in deps  # optional peers only


def _copy_source(dest: Path) -> Path:
    """The checkout without venvs, builds and caches (the build writes build/ beside the source)."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
    )
    return Path(shutil.copytree(ROOT, dest / "src", ignore=ignore))


@pytest.mark.slow
def test_built_wheel_ships_kernels_and_installs(tmp_path: Path) -> None:
    src = _copy_source(tmp_path)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(wheels)],
        check=True,
        timeout=180,
    )
    (wheel,) = wheels.glob("graphjit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "graphjit/kernels/__init__.py",
        "graphjit/kernels/cuda/__init__.py",
        "graphjit/cli.py",
        "graphjit/__main__.py",
    ):
        assert required in names
    assert not any(n.startswith(("kernels/", "tests/", "benchmarks/")) for n in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "graphjit = graphjit.cli:main" in text

    # install it alone into a directory and import it from there, away from the checkout
    target = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    probe = (
        f"import sys; sys.path.insert(0, {str(target)!r}); import graphjit.kernels, graphjit; "
        "print(graphjit.__file__); print(graphjit.kernels.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert all(path.startswith(str(target)) for path in out), out


def test_import_graphjit_leaves_numba_and_the_interop_packages_unloaded() -> None:
    """Eager-only users and short scripts do not pay for numba, the code generators, gj.onnx,
    gj.optim, gj.testing, the file functions or gj.nn's layers: they load on the first compile
    (and on first use of the others), which still works."""
    script = (
        "import sys, numpy as np, graphjit as gj\n"
        "heavy = ['numba', 'graphjit.codegen', 'graphjit.cache', 'graphjit.onnx']\n"
        "lazy = ['graphjit.io', 'graphjit.nn.functional', 'graphjit.nn.layers',\n"
        "        'graphjit.nn.losses', 'graphjit.optim', 'graphjit.standalone',\n"
        "        'graphjit.testing']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
        "x = gj.placeholder('x', shape=(3,))\n"
        "f = gj.compile([x], [gj.exp(x)], backend='cpu')\n"
        "print(sorted(m for m in heavy if m in sys.modules), f(np.zeros(3))[0].tolist())\n"
        "print(callable(gj.onnx.export))\n"
        "from graphjit import load, save\n"
        "model = gj.nn.Sequential(gj.nn.Linear(3, 1))\n"
        "opt = gj.optim.SGD(model.parameters(), lr=0.5)\n"
        "loss = gj.nn.MSELoss()(model(gj.ones(2, 3)), gj.zeros(2, 1))\n"
        "opt.zero_grad(); loss.backward(); opt.step()\n"
        "print(callable(gj.export), callable(gj.testing.gradcheck), gj.nn.functional.relu,\n"
        "      load is gj.load, save is gj.save, sorted(set(lazy) - set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "[]"
    assert out[2] == "['graphjit.cache', 'graphjit.codegen', 'numba'] [1.0, 1.0, 1.0]"
    assert out[3] == "True"
    assert out[4].startswith("True True <function relu") and out[4].endswith(" True True []")


def test_the_lazy_names_of_graphjit_and_graphjit_nn_are_the_public_ones() -> None:
    """Every name in ``__all__`` resolves (the lazy ones through the module's ``__getattr__``),
    to what its defining module holds; an unknown name is still an AttributeError."""
    import graphjit as gj
    import graphjit.nn.layers
    import graphjit.standalone

    for module in (gj, gj.nn):
        for name in module.__all__:
            assert getattr(module, name) is not None, name
            assert name in dir(module), name
        with pytest.raises(AttributeError, match="no attribute 'Linaer'"):
            module.Linaer  # noqa: B018
    assert gj.nn.Linear is graphjit.nn.layers.Linear
    assert gj.export is graphjit.standalone.export
