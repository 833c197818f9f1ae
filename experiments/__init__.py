"""Reproducible studies run through the sandbox itself; see experiments/README.md."""
