"""The Python-facing wrapper of a generated program, compiled without LLVM's optimisations.

numba gives every ``@njit`` function a CPython wrapper: it unboxes each argument, calls the
function, boxes the result, and on a bad argument releases those unboxed before it. LLVM's passes
and machine-code generation for that wrapper grow quadratically with the number of arguments: an
empty function of 54, 108 and 216 arrays compiled in 0.32, 0.80 and 2.9 s, nearly all of it the
wrapper. A training step passes every parameter and optimiser state (an Adam step of a 12-layer
MLP takes 106 arrays), so its wrapper cost more than any of its loops.

The wrapper does nothing LLVM could speed up (it calls numba's runtime and the program), so the
wrappers of generated programs are compiled with ``optnone``: the same empty functions compile in
0.17, 0.29 and 0.79 s, and a call costs the same (0.22 us with two arrays, 11 us with 108, either
way). ``optnone`` also keeps LLVM from inlining the program into its wrapper, which optimised the
program's code a second time. Functions of other modules keep numba's wrappers as they are.
"""

from __future__ import annotations

from typing import Any

from numba.core import cpu

from graphjit.cache import PREFIX


def _unoptimised(add_ir_module: Any) -> Any:
    """``library.add_ir_module`` marking the functions of the module it adds ``optnone``."""

    def add(module: Any) -> Any:
        for fn in module.functions:
            if not fn.is_declaration:
                fn.attributes.add("noinline")  # optnone requires it
                fn.attributes.add("optnone")
        return add_ir_module(module)

    return add


def install() -> None:
    """Make numba compile the CPython wrappers of generated programs with ``optnone`` (once)."""
    original = cpu.CPUContext.create_cpython_wrapper
    if getattr(original, "_graphjit", False):
        return

    def create_cpython_wrapper(
        self: Any, library: Any, fndesc: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if not str(getattr(fndesc, "modname", "")).startswith(PREFIX):
            return original(self, library, fndesc, *args, **kwargs)
        library.add_ir_module = _unoptimised(library.add_ir_module)  # shadows the method
        try:
            return original(self, library, fndesc, *args, **kwargs)
        finally:
            del library.add_ir_module

    create_cpython_wrapper._graphjit = True  # type: ignore[attr-defined]
    cpu.CPUContext.create_cpython_wrapper = create_cpython_wrapper  # type: ignore[method-assign]
