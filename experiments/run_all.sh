#!/usr/bin/env bash
# Run every study's full profile, in dependency order (study 1 feeds 2, 3 and 5), niced because
# the machine is shared. Each study writes results.md/results.json/figures next to its README;
# run folders go to experiments/<study>/runs/ (ignored by git). Full-run times are in the index
# (experiments/README.md); video_defects' full profile reads the 1,200 clips in
# /work/shared/data/clipart_videos (its --quick profile, the packaged 360).
#   bash experiments/run_all.sh                              # every full profile
#   bash experiments/run_all.sh --quick                      # each study under 5 minutes
#   STUDIES="t2v_cleaning t2v_transfer" bash experiments/run_all.sh --quick   # some of them
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TEXT="single_op multi_op duplication transfer hpo feedback"
VISION="caption video_defects t2v_cleaning t2v_transfer"
for study in ${STUDIES:-$TEXT $VISION}; do
    echo "== $study $*"
    nice -n 10 "$PY" -m "experiments.$study.run" "$@"
done
