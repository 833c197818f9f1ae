"""What a run leaves for people: reports, the run summary, and experiment trackers.

A lower layer than the runner and the app: modules here read run folders and studies, write
documents and talk to trackers, and never import `djsandbox.runner` or `djsandbox.app`.

- `document`: the Markdown/HTML document model every report is written with
- `run_folder`, `job_outputs`: reading what a run left on disk
- `run_sections`, `data_sections`, `model_sections`, `figures`: the run report's parts
- `run_report`: `write_run_report` (`python -m djsandbox.reporting.run_report RUN_FOLDER`)
- `sweep_report`, `sweep_figures`: the report of an Optuna study
- `summary`: the end-of-run comparison table (summary.md / summary.json)
- `trackers`: experiment tracking (none, csv, tensorboard, wandb)
"""
