"""The ``graphjit`` command: ``info``, ``examples``, ``demo``, ``cache info|clear``, ``bench``,
``fuzz``, ``version``. Every command has ``--help``; an error exits non-zero with a one-line
message.

``examples/`` and ``benchmarks/`` live in the repository checkout, not in the installed package, so
``demo`` and ``bench`` look for them beside the package (an editable install) and in the current
directory, and say so plainly when they are not there.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import importlib.util
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

Main = Callable[..., Any]


def _checkout_roots() -> list[Path]:
    """Where a graphjit checkout may be: the directory above the package, then the cwd."""
    import graphjit  # noqa: PLC0415 - the CLI loads graphjit (and numba) only for commands that use it

    roots = [Path(graphjit.__file__).resolve().parent.parent, Path.cwd().resolve()]
    return list(dict.fromkeys(roots))


def _find_in_checkout(relative: str) -> Path | None:
    for root in _checkout_roots():
        path = root / relative
        if path.is_file():
            return path
    return None


def _load_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _default_backend() -> str:
    """The numba "cpu" backend when it is present, else the "numpy" reference interpreter."""
    try:
        importlib.import_module("graphjit.codegen.numba_cpu")
    except ImportError:
        return "numpy"
    return "cpu"


# --------------------------------------------------------------------------------------------------
# demo


def builtin_demo(backend: str | None = None) -> int:
    """A static graph, its symbolic gradient, compiled and checked against finite differences."""
    import graphjit as gj  # noqa: PLC0415 - cold path of the CLI, as above
    from graphjit.ops.elementwise import tanh  # noqa: PLC0415
    from graphjit.ops.reductions import sum as reduce_sum  # noqa: PLC0415

    backend = backend or _default_backend()
    x = gj.placeholder("x", shape=(None, 3), dtype="float64")
    w = gj.variable(np.array([0.5, -1.0, 2.0]), name="w")
    y = reduce_sum(tanh(x @ w) * 2.0)
    (gw,) = gj.grad(y, [w])

    print("The graph of y = sum(tanh(x @ w) * 2):")
    gj.pprint([y])
    print("\nIts gradient with respect to w, derived symbolically:")
    gj.pprint([gw])

    f = gj.compile([x], [y, gw], backend=backend)
    xs = np.linspace(-1.0, 1.0, 15).reshape(5, 3)
    y_val, gw_val = f(xs)
    print(f"\ncompiled with backend={backend!r}; at x = linspace(-1, 1, 15).reshape(5, 3):")
    print(f"  y      = {float(y_val):.10f}")
    print(f"  dy/dw  = {np.array2string(gw_val, precision=10)}")

    def y_at(w_value: np.ndarray) -> float:
        return float(np.sum(np.tanh(xs @ w_value) * 2.0))

    w0 = w.get_value()
    eps = 1e-6
    numeric = np.array([(y_at(w0 + eps * e) - y_at(w0 - eps * e)) / (2 * eps) for e in np.eye(3)])
    print(f"  finite differences = {np.array2string(numeric, precision=10)}")
    if not (np.isclose(float(y_val), y_at(w0), rtol=1e-12) and np.allclose(gw_val, numeric)):
        print("MISMATCH: the compiled values disagree with numpy", file=sys.stderr)
        return 1
    print("  agree with numpy and finite differences to 1e-8")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.backend:
        from graphjit.runtime import load_backend  # noqa: PLC0415 - cold path of the CLI

        try:
            load_backend(args.backend)  # a backend that cannot run says so before the tour
        except RuntimeError as exc:
            print(f"graphjit demo: {exc}", file=sys.stderr)
            return 2
    tour = None if args.builtin else _find_in_checkout("examples/seed_tour.py")
    if tour is None:
        return builtin_demo(args.backend)
    module = _load_file(tour, "graphjit_examples_seed_tour")
    result = module.main(backend=args.backend) if args.backend else module.main()
    return int(result or 0)


# --------------------------------------------------------------------------------------------------
# cache


def cmd_cache(args: argparse.Namespace) -> int:
    try:
        cache = importlib.import_module("graphjit.cache")
    except ImportError:
        print(
            "graphjit has no kernel cache in this version (graphjit.cache is not installed); "
            "nothing to do",
            file=sys.stderr,
        )
        return 1
    if args.action == "info":
        print(cache.cache_info())
    else:
        removed = cache.cache_clear()
        print(f"removed {removed} cached kernel file(s)")
    return 0


# --------------------------------------------------------------------------------------------------
# bench


def _benchmarks_main() -> Main | None:
    """``benchmarks.__main__.main`` from a checkout (benchmarks/ is not installed)."""
    entry = _find_in_checkout("benchmarks/__main__.py")
    if entry is None:
        return None
    root = str(entry.parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module("benchmarks.__main__")
    main: Main = module.main
    return main


def cmd_bench(args: argparse.Namespace, extra: Sequence[str]) -> int:
    main = _benchmarks_main()
    if main is None:
        print(
            "graphjit bench: no benchmarks/ directory found; the benchmarks ship with the source "
            "checkout, not the installed package. Run this from a clone of the repository.",
            file=sys.stderr,
        )
        return 1
    argv = (["--quick"] if args.quick else []) + list(extra)
    return int(main(argv) or 0)


# --------------------------------------------------------------------------------------------------
# fuzz


# a worker's line naming the seed whose program it starts (read by the watching process)
SEED_MARK = "@seed "


def cmd_fuzz(args: argparse.Namespace) -> int:
    from graphjit.fuzz.check import MODES  # noqa: PLC0415 - cold path of the CLI

    if args.minutes <= 0:
        print(f"graphjit fuzz: --minutes must be positive, got {args.minutes}", file=sys.stderr)
        return 2
    if args.programs is not None and args.programs <= 0:
        print(f"graphjit fuzz: --programs must be positive, got {args.programs}", file=sys.stderr)
        return 2
    modes = tuple(args.modes.split(",")) if args.modes else MODES
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        print(
            f"graphjit fuzz: unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}",
            file=sys.stderr,
        )
        return 2
    if args.worker:
        return _fuzz_worker(args, modes)
    print(f"graphjit fuzz: seed {args.seed}, {args.minutes} min, modes {', '.join(modes)}")
    # the session runs in a worker process: a program that crashes the process (a segfault in
    # compiled code) ends the worker, not this one, which then names the program
    rc, seed = _watch_worker(_worker_argv(args.seed, args.minutes, args.programs, modes))
    if rc >= 0 or seed is None:
        return rc
    return _report_crash(seed, rc, modes)


def _worker_argv(
    seed: int, minutes: float, programs: int | None, modes: Sequence[str]
) -> list[str]:
    argv = [sys.executable, "-m", "graphjit", "fuzz", "--worker", "--seed", str(seed)]
    argv += ["--minutes", str(minutes), "--modes", ",".join(modes)]
    return argv + (["--programs", str(programs)] if programs is not None else [])


def _watch_worker(argv: list[str], echo: bool = True) -> tuple[int, int | None]:
    """Run a worker, echoing its output but its seed marks; its exit status (negative: the
    signal that killed it) and the last seed it started."""
    seed = None
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as worker:
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.startswith(SEED_MARK):
                seed = int(line[len(SEED_MARK) :])
            elif echo:
                print(line, end="", flush=True)
    return worker.returncode, seed


def _report_crash(seed: int, rc: int, modes: Sequence[str]) -> int:
    """Say which program crashed the worker and, found by running it once per evaluator, in
    which: with its reproducer (not shrunk: each try could crash)."""
    from graphjit.fuzz.check import Disagreement  # noqa: PLC0415 - cold path of the CLI
    from graphjit.fuzz.generate import generate  # noqa: PLC0415
    from graphjit.fuzz.shrink import reproducer  # noqa: PLC0415

    try:
        how = signal.Signals(-rc).name
    except ValueError:
        how = f"signal {-rc}"
    print(f"\nseed {seed}: the program crashed the process ({how}); finding the evaluator...")
    crashed = [
        m for m in modes if _watch_worker(_worker_argv(seed, 1.0, 1, [m]), echo=False)[0] < 0
    ]
    failure = Disagreement(crashed[0] if crashed else "cpu", "crash", f"the process died ({how})")
    print(f"\nCRASH {failure}\nreproducer (not shrunk):\n")
    print(reproducer(generate(seed), failure))
    return 1


def _fuzz_worker(args: argparse.Namespace, modes: Sequence[str]) -> int:
    from graphjit.fuzz.run import fuzz  # noqa: PLC0415 - cold path of the CLI

    session = fuzz(
        args.seed,
        minutes=args.minutes,
        programs=args.programs,
        modes=modes,
        report=lambda line: print(line, flush=True),
        starting=lambda seed: print(f"{SEED_MARK}{seed}", flush=True),
    )
    if session.failure is not None:
        print(f"\nDISAGREEMENT {session.failure}\nreproducer:\n")
        print(session.script)
        return 1
    print(
        f"done: {session.checked} programs, {session.invalid} skipped, "
        f"{len(session.ops)} ops exercised, no disagreement"
    )
    return 0


# --------------------------------------------------------------------------------------------------
# version


def version_text() -> str:
    import numba  # noqa: PLC0415 - cold path of the CLI

    import graphjit  # noqa: PLC0415 - cold path of the CLI

    py = ".".join(str(v) for v in sys.version_info[:3])
    deps = f"numpy {np.__version__}, numba {numba.__version__}, python {py}"
    return f"graphjit {graphjit.__version__} ({deps})"


def cmd_version(args: argparse.Namespace) -> int:
    print(version_text())
    return 0


# --------------------------------------------------------------------------------------------------
# info


def _version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _backend_status() -> list[tuple[str, str]]:
    """(backend, "works" or why not) for each backend."""
    from graphjit.runtime import BACKENDS, load_backend  # noqa: PLC0415 - cold path of the CLI

    result = []
    for name in BACKENDS:
        try:
            load_backend(name)
        except (ImportError, RuntimeError) as exc:
            result.append((name, f"unavailable: {exc}"))
            continue
        if name == "cuda":
            why = _cuda_device()[1]
            result.append((name, "works" if why is None else f"unavailable: {why}"))
        else:
            result.append((name, "works"))
    return result


def _cuda_device() -> tuple[str | None, str | None]:
    """(the GPU's name and compute capability, None) or (None, why there is none)."""
    try:
        from numba import cuda  # noqa: PLC0415 - cold path; numba's CUDA target is optional

        if not cuda.is_available():
            return None, "no CUDA GPU or driver found by numba"
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        major, minor = device.compute_capability
        return f"{name} (compute capability {major}.{minor})", None
    except Exception as exc:  # a broken driver is reported, not raised
        return None, f"numba.cuda failed: {exc}"


def _directory_size(path: Path) -> tuple[int, int]:
    files = size = 0
    if path.is_dir():
        for entry in path.rglob("*"):
            if entry.is_file():
                files += 1
                size += entry.stat().st_size
    return files, size


def info_text() -> str:
    import numba  # noqa: PLC0415 - cold path of the CLI

    import graphjit  # noqa: PLC0415 - cold path of the CLI
    from graphjit.cache import cache_dir  # noqa: PLC0415 - cold path of the CLI

    lines = [
        f"graphjit     {graphjit.__version__}",
        f"python       {sys.version.split()[0]} ({sys.executable})",
        f"numpy        {np.__version__}",
        f"numba        {numba.__version__}",
    ]
    for dist in ("numba-cuda", "cupy", "onnx", "onnxruntime"):
        version = _version_of(dist) or (_version_of("cupy-cuda12x") if dist == "cupy" else None)
        lines.append(f"{dist:<12} {version or 'not installed'}")
    lines.append("backends:")
    lines += [f"  {name:<8} {status}" for name, status in _backend_status()]
    lines.append(f"threads      {numba.get_num_threads()} (numba; NUMBA_NUM_THREADS to change)")
    directory = cache_dir()
    files, size = _directory_size(directory)
    lines.append(f"cache        {directory} ({files} files, {size / 1e6:.1f} MB)")
    gpu, why = _cuda_device()
    lines.append(f"gpu          {gpu or why}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    print(info_text())
    return 0


# --------------------------------------------------------------------------------------------------
# examples


def _examples_dir() -> Path | None:
    for root in _checkout_roots():
        if (root / "examples").is_dir():
            return root / "examples"
    return None


def _summary(path: Path) -> str:
    """The first line of an example's docstring (read, never run)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def cmd_examples(args: argparse.Namespace, extra: Sequence[str]) -> int:
    directory = _examples_dir()
    if directory is None:
        print(
            "graphjit examples: no examples/ directory found; the examples ship with the source "
            "checkout, not the installed package",
            file=sys.stderr,
        )
        return 1
    found = {p.stem: p for p in sorted(directory.glob("*.py")) if not p.stem.startswith("_")}
    if args.name is None:
        width = max(map(len, found), default=0)
        for name, path in found.items():
            print(f"{name:<{width}}  {_summary(path)}")
        return 0
    name = args.name.removesuffix(".py")
    if name not in found:
        print(
            f"graphjit examples: no example {args.name!r}; choose one of {', '.join(found)}",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([sys.executable, str(found[name]), *extra])


# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphjit",
        description="graphjit: a symbolic graph compiler and an eager autograd Tensor on numba.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser(
        "info", help="versions, the backends that work here and why not, threads, cache, GPU"
    )
    examples = sub.add_parser(
        "examples",
        help="list the examples, or run one by name (extra arguments are passed to it)",
    )
    examples.add_argument("name", nargs="?", help="the example to run (e.g. xor)")

    demo = sub.add_parser("demo", help="run the guided tour (examples/seed_tour.py)")
    demo.add_argument(
        "--builtin",
        action="store_true",
        help="run the small built-in demo even when examples/seed_tour.py is present",
    )
    demo.add_argument(
        "--backend",
        choices=("numpy", "cpu", "cuda"),
        default=None,
        help="backend to compile with (default: the tour's own choice; for the built-in demo, "
        "cpu when available, else numpy)",
    )

    cache = sub.add_parser("cache", help="inspect or clear the on-disk kernel cache")
    cache.add_argument("action", choices=("info", "clear"), help="what to do with the cache")

    bench = sub.add_parser(
        "bench",
        help="run the benchmarks (from a source checkout); extra arguments are passed on",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes, few repeats")

    fuzz = sub.add_parser(
        "fuzz",
        help="differential fuzzing: random graphs checked on every backend, eager and gradients",
        description="Random graphs over the whole op registry, evaluated by the reference "
        "interpreter, the compiled backends, eager tensors and gradients (against finite "
        "differences). The first disagreement is shrunk and printed as a Python reproducer, "
        "and the command exits with status 1.",
    )
    fuzz.add_argument("--minutes", type=float, default=1.0, help="how long to run (default 1)")
    fuzz.add_argument("--seed", type=int, default=0, help="first program's seed (default 0)")
    fuzz.add_argument(
        "--programs", type=int, default=None, help="stop after this many programs as well"
    )
    fuzz.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    fuzz.add_argument(
        "--modes",
        default=None,
        help="comma-separated evaluators to check: eager,numpy,cpu,cuda,grad (default: all; "
        "cuda is skipped where graphjit has no cuda backend)",
    )

    version = sub.add_parser("version", help="print graphjit's version and its dependencies'")
    for subparser in (info, examples, demo, cache, bench, fuzz, version):
        subparser.set_defaults(parser=subparser)  # so usage errors show the command's own usage
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("bench", "examples"):
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return _run(args, extra)
    except (OSError, RuntimeError, TypeError, ValueError) as exc:
        message = f"graphjit {args.command}: {type(exc).__name__}: {exc}"
        print(message.splitlines()[0], file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    if args.command == "info":
        return cmd_info(args)
    if args.command == "examples":
        return cmd_examples(args, extra)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "cache":
        return cmd_cache(args)
    if args.command == "bench":
        return cmd_bench(args, extra)
    if args.command == "fuzz":
        return cmd_fuzz(args)
    return cmd_version(args)


if __name__ == "__main__":
    sys.exit(main())
