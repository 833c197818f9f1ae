"""Experiment tracking: the runner reports every finished job and the end of the run here.

- `base`: `JobRecord` and the `Tracker` interface (itself the no-op tracker, `none`)
- `catalog`: the `TRACKERS` registry, `tracker_settings`, `make_tracker`, `register_tracker`
- `guard`: `GuardedTracker`, so a failing tracker costs the tracking, never the run
- `active`: the run's tracker for training code (`lightning_loggers`, `curve_prefix`)
- `payload`: what a job's results look like to a tracker (secrets redacted)
- `csv`, `tensorboard`, `wandb`: the trackers
"""
