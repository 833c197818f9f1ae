"""What a run leaves for people: reports, the run summary, and experiment trackers.

A lower layer than the runner and the app: modules here read run folders and studies, write
documents and talk to trackers, and never import `djsandbox.runner` or `djsandbox.app`.

- `document`: the Markdown/HTML document model every report is written with
- `run_folder`, `job_outputs`: reading what a run left on disk
- `run_sections`, `data_sections`, `model_sections`, `figures`: the run report's parts
- `run_report`: `write_run_report` (`python -m djsandbox.reporting.run_report RUN_FOLDER`)
- `sweep_report`, `sweep_figures`: the report of an Optuna study
- `multirun_report`: the table across the runs of a multirun (a Hydra callback; also
  `python -m djsandbox.reporting.multirun_report SWEEP_DIR`)
- `pool_labels`: names pooled results by their pool's composition (`text_len high ∩ ...`)
- `summary`: the end-of-run comparison table (summary.md / summary.json)
- `trackers`: experiment tracking (none, csv, tensorboard, wandb)
"""
