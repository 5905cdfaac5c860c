"""tests/perf holds benchmarks run by ``make bench`` (``python tests/perf/bench.py``), not tests:
keep pytest from collecting or importing any module here."""
collect_ignore_glob = ["*.py"]
