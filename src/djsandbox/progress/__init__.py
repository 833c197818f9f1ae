"""Progress of a run on the terminal, and where log lines go.

`displaying` shows the run (rich on a terminal, plain lines otherwise), `running_job` marks one
job in it and writes the job's log file, and components call `report(done, total, what, **metrics)`
for their own progress; see `base`, `live`, `plain` and `logs`.
"""

from .base import NullProgress, Progress, current, format_metrics, report, using
from .logs import JOB_LOG, adopt_library_loggers, job_log, quiet_terminal, route_loguru
from .session import displaying, make_display, note_job, running_job

__all__ = [
    "JOB_LOG",
    "NullProgress",
    "Progress",
    "adopt_library_loggers",
    "current",
    "displaying",
    "format_metrics",
    "job_log",
    "make_display",
    "quiet_terminal",
    "report",
    "route_loguru",
    "note_job",
    "running_job",
    "using",
]
