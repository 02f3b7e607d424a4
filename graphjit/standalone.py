"""``gj.export(f, directory)``: a compiled function as a self-contained Python module that runs
with only numpy and numba installed (no graphjit).

The directory gets:

* ``model.py``: the numba source the CPU backend generates for ``f`` (its ``program``), followed by
  a small ``run(*inputs)`` that loads the weights and calls it;
* ``gj_kernels/``: a copy of the hand-written numba kernels the generated code calls (graphjit's
  ``kernels`` package, with its imports pointed at the copy);
* ``weights.npz``: the variables' current values and the graph's array constants;
* ``signature.json``: the inputs (names, dtypes, shapes) and outputs; ``README.md``: how to call it.

Names stay data: they are written to ``signature.json`` and the README, never into the source.
The export is for inference: ``updates`` of ``f`` are not applied by ``run``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np

from graphjit.files import StagedFiles
from graphjit.ir import Node
from graphjit.ops.leaves import constant_value
from graphjit.runtime import CompiledFunction
from graphjit.version import __version__

__all__ = ["export"]

KERNEL_PACKAGE = "gj_kernels"

_RUNNER = '''

# --------------------------------------------------------------------------------------------------
# written by gj.export: load the weights and call the program (see README.md)

import json as _json
import os as _os

_HERE = _os.path.dirname(_os.path.abspath(__file__))
with open(_os.path.join(_HERE, "signature.json"), encoding="utf-8") as _fh:
    SIGNATURE = _json.load(_fh)
with np.load(_os.path.join(_HERE, "weights.npz"), allow_pickle=False) as _npz:
    _VARIABLES = [np.array(_npz["variable_%d" % i]) for i in range(SIGNATURE["n_variables"])]
    _CONSTANTS = [np.array(_npz["constant_%d" % i]) for i in range(SIGNATURE["n_constants"])]


def run(*inputs):
    """The outputs (a list of arrays) for one array per input, in SIGNATURE["inputs"] order."""
    specs = SIGNATURE["inputs"]
    if len(inputs) != len(specs):
        raise TypeError("expected %d inputs, got %d" % (len(specs), len(inputs)))
    arrays = []
    for spec, value in zip(specs, inputs):
        a = np.asarray(value)
        if a.dtype != np.dtype(spec["dtype"]):
            if not np.can_cast(a.dtype, spec["dtype"], casting="safe"):
                raise TypeError("input %r: expected %s, got %s" % (spec["name"], spec["dtype"],
                                                                   a.dtype))
            a = a.astype(spec["dtype"])
        if a.ndim != len(spec["shape"]) or any(
            isinstance(d, int) and d != n for d, n in zip(spec["shape"], a.shape)
        ):
            raise ValueError("input %r: expected shape %s, got %s" % (spec["name"], spec["shape"],
                                                                     a.shape))
        arrays.append(a)
    results = program(*arrays, *_VARIABLES, *_CONSTANTS)
    return list(results[: SIGNATURE["n_outputs"]])
'''

_README = """\
# {title}

A model exported by graphjit {version} with `gj.export`. It needs only numpy and numba:

```python
import sys; sys.path.insert(0, "{directory}")
import model
outputs = model.run({args})   # a list of {n_outputs} array(s)
```

Inputs (`signature.json`): {inputs}.
The first call compiles the kernels with numba (a few seconds); `weights.npz` holds the
variables and constants; `gj_kernels/` the numba kernels the program calls.
"""


def _kernels_dir() -> Path:
    spec = importlib.util.find_spec("graphjit.kernels")  # only its files on disk are needed
    if spec is None or spec.origin is None:
        raise RuntimeError("gj.export: graphjit's kernels package is not installed")
    return Path(spec.origin).parent


def _vendor(source: str) -> str:
    return re.sub(r"\bgraphjit\.kernels\b", KERNEL_PACKAGE, source)


def export(f: CompiledFunction, directory: str | os.PathLike[str]) -> Path:
    """Write ``f`` as a standalone module into ``directory`` (created; files in it are replaced).
    Returns the directory. Import ``model`` from it and call ``model.run(*inputs)``."""
    if not isinstance(f, CompiledFunction):
        raise TypeError(f"gj.export: expected a CompiledFunction, got {type(f).__name__}")
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"gj.export: directory must be a str or path, got {directory!r}")
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"gj.export: {str(out)!r} is a file; export needs a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(
            f"gj.export: cannot make the directory {str(out)!r}: a file is in its path"
        ) from None
    # the CPU code generator (and numba) load on first use: importing graphjit does not pay for them
    from graphjit.codegen.numba_cpu import generate  # noqa: PLC0415

    source, constants = generate(f.program, in_place=False)  # `run` never writes the weights
    if "graphjit" in _vendor(source).replace("graphjit.kernels", ""):
        # the generated module imports nothing else of graphjit; only comments may name it
        lines = [ln for ln in _vendor(source).splitlines() if "import" in ln and "graphjit" in ln]
        if lines:
            raise RuntimeError(f"gj.export: the generated code imports graphjit: {lines[0]!r}")
    files = StagedFiles()  # all written before any replaces its target: never half an export
    try:
        _write_files(files, f, out, source, constants)
        files.commit()
    except BaseException:
        files.discard()
        raise
    return out


def _write_files(
    files: StagedFiles, f: CompiledFunction, out: Path, source: str, constants: list[Node]
) -> None:
    """Stage every file of the export of ``f`` into ``out`` (committed by the caller)."""
    write = files.write
    write(out / "model.py", (_vendor(source) + _RUNNER).encode("utf-8"))
    kernels = out / KERNEL_PACKAGE
    kernels.mkdir(exist_ok=True)
    # every CPU kernel module (the CUDA ones, in kernels/cuda/, are not needed by a CPU program)
    for path in sorted(_kernels_dir().glob("*.py")):
        text = _vendor(path.read_text(encoding="utf-8"))
        write(kernels / path.name, text.encode("utf-8"))
    weights: dict[str, np.ndarray] = {
        f"variable_{i}": v.get_value() for i, v in enumerate(f.program.variables)
    }
    weights.update({f"constant_{i}": np.array(constant_value(c)) for i, c in enumerate(constants)})
    write(out / "weights.npz", lambda fh: np.savez(fh, **weights))  # type: ignore[arg-type]
    inputs = [
        {
            "name": x.name,
            "dtype": x.dtype,
            "shape": [d if isinstance(d, int) else None for d in x.shape],
        }
        for x in f.inputs
    ]
    signature = {
        "inputs": inputs,
        "n_outputs": len(f.outputs),
        "outputs": [{"dtype": o.dtype, "ndim": o.ndim} for o in f.outputs],
        "n_variables": len(f.program.variables),
        "n_constants": len(constants),
    }
    write(out / "signature.json", json.dumps(signature, indent=2).encode("utf-8"))
    described = ", ".join(f"`{x['name']}` {x['dtype']}{x['shape']}" for x in inputs) or "none"
    write(
        out / "README.md",
        _README.format(
            title="graphjit export",
            version=__version__,
            directory=out.resolve(),
            args=", ".join(f"x{i}" for i in range(len(inputs))),
            n_outputs=len(f.outputs),
            inputs=described,
        ).encode("utf-8"),
    )
