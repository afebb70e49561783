"""Benchmarks share the test helpers (single-op conversion, factory cache) in tests/."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
