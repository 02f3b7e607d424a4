"""graphjit.cli: the ``graphjit`` command and ``python -m graphjit``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import graphjit
from graphjit import cli
from graphjit.tensor.device import gpu_problem


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"graphjit {graphjit.__version__} (numpy ")
    assert "numba" in out


def test_builtin_demo_checks_its_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--builtin", "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "%6 = sum(%5, axes=(0,), keepdims=False) : float64[]" in out
    assert "agree with numpy and finite differences" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["cache"], "graphjit cache: error: the following arguments are required: action"),
        (["cache", "wipe"], "invalid choice: 'wipe'"),
        (["demo", "--fast"], "graphjit demo: error: unrecognized arguments: --fast"),
        (["demo", "--backend", "tpu"], "invalid choice: 'tpu'"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: graphjit" in err and message in err


def test_cache_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from graphjit import cache

    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))  # never clear the real cache
    stale = tmp_path / f"{cache.PREFIX}stale.py"
    stale.write_text("# a cached module\n")
    assert cli.main(["cache", "info"]) == 0
    assert str(tmp_path) in capsys.readouterr().out
    assert cli.main(["cache", "clear"]) == 0
    assert "removed 1 cached kernel file(s)" in capsys.readouterr().out
    assert not stale.exists()


def test_cache_commands_without_a_cache_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "graphjit.cache", None)  # import fails
    assert cli.main(["cache", "info"]) == 1
    assert "no kernel cache" in capsys.readouterr().err


def test_bench_without_a_checkout_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_find_in_checkout", lambda relative: None)
    assert cli.main(["bench", "--quick"]) == 1
    assert "no benchmarks/ directory found" in capsys.readouterr().err


def test_bench_passes_its_arguments_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "_benchmarks_main", lambda: lambda argv: seen.append(argv) or 0)
    assert cli.main(["bench", "--quick", "--only", "matmul"]) == 0
    assert seen == [["--quick", "--only", "matmul"]]


def test_python_dash_m_graphjit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graphjit", "version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("graphjit ")


def test_demo_runs_the_tour_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tour = tmp_path / "seed_tour.py"
    tour.write_text("def main(backend='cpu'):\n    print('the tour ran on', backend)\n")
    monkeypatch.setattr(cli, "_find_in_checkout", lambda relative: tour)
    assert cli.main(["demo"]) == 0
    assert capsys.readouterr().out == "the tour ran on cpu\n"
    assert cli.main(["demo", "--backend", "numpy"]) == 0
    assert capsys.readouterr().out == "the tour ran on numpy\n"


NO_CUDA = pytest.mark.skipif(
    gpu_problem() is None, reason="a CUDA device (or the simulator) is here"
)


@NO_CUDA
def test_demo_on_a_backend_that_cannot_run_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--backend", "cuda"]) == 2
    assert "backend 'cuda' cannot run here" in capsys.readouterr().err


@NO_CUDA
def test_compiling_for_cuda_without_a_device_says_what_is_missing() -> None:
    x = graphjit.placeholder("x", (None,))
    with pytest.raises(RuntimeError, match=r"'cuda' cannot run here: (no CUDA GPU|numba-cuda)"):
        graphjit.compile([x], x + 1, backend="cuda")


def test_fuzz_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["fuzz", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--minutes", "--seed", "--programs", "--modes"):
        assert option in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fuzz", "--minutes", "0"], "graphjit fuzz: --minutes must be positive, got 0.0"),
        (["fuzz", "--programs", "-2"], "graphjit fuzz: --programs must be positive, got -2"),
        (["fuzz", "--modes", "eager,tpu"], "graphjit fuzz: unknown mode 'tpu'; choose from"),
    ],
)
def test_fuzz_argument_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_fuzz_runs_programs_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fuzz", "--programs", "4", "--seed", "5", "--modes", "eager,numpy,grad"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("graphjit fuzz: seed 5, ")
    assert "done: 4 programs" in out and "no disagreement" in out


def test_fuzz_prints_a_shrunk_reproducer_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphjit.fuzz import run, shrink
    from graphjit.fuzz.check import Disagreement
    from graphjit.fuzz.program import Step

    def planted(program, modes=()):  # every program computing an exp it uses "disagrees"
        live = shrink.prune(program).items  # as a real check, dead steps never disagree
        uses_exp = any(isinstance(it, Step) and it.fn == "exp" for it in live)
        return [Disagreement("cpu", "output 0", "planted")] if uses_exp else []

    monkeypatch.setattr(run, "check", planted)
    monkeypatch.setattr(shrink, "check", planted)
    # the session in this process (the command runs it in a worker it watches for crashes)
    assert cli.main(["fuzz", "--worker", "--programs", "200", "--seed", "0"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREEMENT cpu: output 0: planted" in out
    script = out[out.index("# graphjit fuzz:") :]
    steps = [line for line in script.splitlines() if line.startswith("v") and "gj." in line]
    assert len(steps) == 1 and "= gj.exp(" in steps[0]
    assert 'backend="cpu"' in script


def test_fuzz_names_the_program_that_crashed_its_worker(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program crashing the process (a segfault in compiled code, as fuzzer seed 828 did)
    ends the worker; the command says which seed, finds the evaluator by running the program
    once per mode, and prints its reproducer."""
    crash = "import os, signal; print('{mark}{seed}', flush=True); os.kill(os.getpid(), {sig})"
    calls = []

    def worker(seed: int, minutes: float, programs: int | None, modes: list[str]) -> list[str]:
        calls.append(list(modes))
        if len(calls) > 1 and modes != ["grad"]:  # the per-mode reruns: only grad crashes
            return [sys.executable, "-c", "pass"]
        code = crash.format(mark=cli.SEED_MARK, seed=seed + 2, sig=int(signal.SIGSEGV))
        return [sys.executable, "-c", code]

    monkeypatch.setattr(cli, "_worker_argv", worker)
    assert cli.main(["fuzz", "--programs", "5", "--seed", "10", "--modes", "numpy,grad"]) == 1
    out = capsys.readouterr().out
    assert "seed 12: the program crashed the process (SIGSEGV)" in out
    assert calls[1:] == [["numpy"], ["grad"]]
    assert "CRASH grad: crash: the process died (SIGSEGV)" in out
    script = out[out.index("# graphjit fuzz:") :]
    assert "# (seed 12)" in script and "import graphjit as gj" in script


def test_info_names_versions_backends_and_cache(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"graphjit     {graphjit.__version__}\n")
    for part in ("numpy", "numba", "onnx", "backends:", "  numpy    works", "  cpu      works"):
        assert part in out
    assert "threads" in out and "cache" in out and "gpu" in out
    assert "  cuda     " in out  # works, or says why not


def test_examples_lists_and_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["examples"]) == 0
    out = capsys.readouterr().out
    assert "seed_tour" in out and "train_mlp" in out
    assert cli.main(["examples", "no_such_example"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no example 'no_such_example'" in err


@pytest.mark.parametrize(
    "command", ["info", "examples", "demo", "cache", "bench", "fuzz", "version"]
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: graphjit {command}" in capsys.readouterr().out
