"""Helpers shared by the study drivers: one module per idea.

bootstrap (confidence intervals over seeds), spearman (rank correlation), tables (Markdown),
runs (run a config through the sandbox and read its context), data (row subsets and pool
facts), publish (results.md / results.json with the run's hardware and wall time),
figures (matplotlib without a display), cli (the --quick / --smoke / --fresh options).
"""
