"""512-bit vectors for the loops that call kernels/math.py's vector math (kernels/scalar.py:
wide_vectors): those loops, and only those, ask LLVM for 512-bit vectors, which a CPU with
AVX-512 then uses (LLVM's tuning for those CPUs otherwise keeps 256 bits)."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import numpy as np
import pytest
from graphjit.kernels.scalar import WIDE_VECTORS_ATTRIBUTE

import graphjit as gj


def _compiled(outputs, inputs, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))  # compiled here, with its IR
    return gj.compile(inputs, outputs)


def _program_ir(f) -> str:  # type: ignore[no-untyped-def]
    program = f._executable._program
    return str(program.inspect_llvm(program.signatures[0]))


def test_a_loop_calling_vector_math_asks_for_wide_vectors(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    x = gj.placeholder("x", (None,))
    f = _compiled([gj.tanh(1.3 * x + 0.2) * gj.exp(-x * x) + 0.5], [x], tmp_path, monkeypatch)
    assert "wide_vectors()" in f.source
    v = np.linspace(-30.0, 30.0, 1001)
    np.testing.assert_allclose(
        f(v)[0], np.tanh(1.3 * v + 0.2) * np.exp(-v * v) + 0.5, rtol=1e-15, atol=0
    )
    ir = _program_ir(f)
    assert re.search(r"attributes #\d+ = \{[^}]*" + re.escape(WIDE_VECTORS_ATTRIBUTE), ir)


def test_a_loop_without_vector_math_keeps_llvms_choice(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # memory-bound loops gain nothing from wider vectors; arcsin calls libm per element, and a
    # power by a small integer is products
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    f = _compiled([x * y + 1.0, gj.arcsin(x), x**3], [x, y], tmp_path, monkeypatch)
    assert "x0[i0] * x0[i0] * x0[i0]" in f.source
    assert "wide_vectors()" not in f.source
    f(np.ones(3), np.ones(3))
    assert WIDE_VECTORS_ATTRIBUTE not in _program_ir(f)


def test_the_parallel_variant_asks_in_its_loop_body(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # numba compiles a prange loop's body as a function of its own: the request is made there
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [gj.exp(x) * 2.0])
    src = f.source
    parallel = src[src.index("_parallel(n0") :]
    assert parallel.index("wide_vectors()") > parallel.index("prange(")
    v = np.linspace(-5.0, 5.0, 300_000)
    np.testing.assert_allclose(f(v)[0], np.exp(v) * 2.0, rtol=1e-15, atol=0)


@pytest.mark.skipif(
    not llvm.get_host_cpu_features().get("avx512f"), reason="the host has no AVX-512"
)
def test_with_avx512_the_loop_uses_512_bit_registers(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    x = gj.placeholder("x", (None,))
    f = _compiled([gj.exp(x) + 1.0], [x], tmp_path, monkeypatch)
    f(np.ones(5))
    program = f._executable._program
    asm = program.inspect_asm(program.signatures[0])
    assert re.search(r"\bzmm\d+", asm)
