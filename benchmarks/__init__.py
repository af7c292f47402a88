"""Speed and memory benchmarks; each ``bench_*.py`` runs alone, ``python -m benchmarks`` runs them all."""
