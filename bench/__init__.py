"""Benchmarks, run from the repository root as `python -m bench.<name>`."""

import os

# Before TensorFlow is imported by any benchmark: keep its start-up chatter out of the tables.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
