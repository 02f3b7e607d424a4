"""The layer contracts cover the whole package: a new module cannot sit outside the layers."""

from __future__ import annotations

from pathlib import Path

import pytest

import graphjit

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

ROOT = Path(graphjit.__file__).parent
PYPROJECT = ROOT.parent / "pyproject.toml"


def _contracts() -> list[dict]:
    config = tomllib.loads(PYPROJECT.read_text())
    return config["tool"]["importlinter"]["contracts"]


def _named(layers: list[str]) -> set[str]:
    return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}


def test_every_top_level_module_is_in_the_layers() -> None:
    (top,) = [c for c in _contracts() if c["type"] == "layers" and "containers" not in c]
    named = _named(top["layers"])
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem not in ("__init__", "__main__")}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    missing = sorted(f"graphjit.{m}" for m in modules | packages if f"graphjit.{m}" not in named)
    assert not missing, f"modules outside the layers contract in pyproject.toml: {missing}"


def test_every_ops_module_is_in_the_ops_layers() -> None:
    (ops,) = [c for c in _contracts() if c.get("containers") == ["graphjit.ops"]]
    named = _named(ops["layers"])
    modules = {p.stem for p in (ROOT / "ops").glob("*.py") if p.stem != "__init__"}
    assert modules <= named, f"ops modules outside the ops layers: {sorted(modules - named)}"


def _package_modules(package: str) -> set[str]:
    folder = ROOT.joinpath(*package.split(".")[1:])
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}


@pytest.mark.parametrize("package", ["graphjit.runtime", "graphjit.methods", "graphjit.numpy_api"])
def test_every_module_of_a_split_package_is_in_its_layers(package: str) -> None:
    (contract,) = [c for c in _contracts() if c.get("containers") == [package]]
    missing = _package_modules(package) - _named(contract["layers"])
    assert not missing, f"{package} modules outside its layers: {sorted(missing)}"


def test_every_torch_api_module_is_in_the_independence_contract() -> None:
    (contract,) = [c for c in _contracts() if c["type"] == "independence"]
    named = {
        m.rsplit(".", 1)[1] for m in contract["modules"] if m.startswith("graphjit.torch_api.")
    }
    assert _package_modules("graphjit.torch_api") == named


def test_the_lazy_names_of_nn_are_the_names_its_type_checking_imports_give() -> None:
    """``gj.nn`` imports its modules on first use from a table of homes; the imports under
    ``TYPE_CHECKING`` (what editors and mypy see) must name the same things from the same
    modules, and every name must resolve."""
    import ast

    import graphjit.nn as nn

    tree = ast.parse((ROOT / "nn" / "__init__.py").read_text())
    checked = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    seen = {
        alias.name: node.module.removeprefix("graphjit.nn.")
        for node in checked.body
        if isinstance(node, ast.ImportFrom) and node.module != "graphjit.nn"
        for alias in node.names
    }
    assert seen == nn._HOME_OF
    assert sorted(nn.__all__) == sorted([*nn._HOME_OF, "functional", "utils"])
    for name in nn.__all__:
        assert getattr(nn, name) is not None
