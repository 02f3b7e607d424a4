"""graphjit benchmarks: ``python -m benchmarks`` (or ``graphjit bench``) runs every
``benchmarks/bench_*.py`` module's ``main(quick)``, each printing its table."""
