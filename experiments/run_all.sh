#!/usr/bin/env bash
# Run every text study's full profile, in dependency order (study 1 feeds 2, 3 and 5), niced
# because the machine is shared. Each study writes results.md/results.json/figures next to its
# README; run folders go to experiments/<study>/runs/ (ignored by git).
#   bash experiments/run_all.sh            # full profiles (about 46 min on 2 CPU cores, plus 17 for feedback)
#   bash experiments/run_all.sh --quick    # each study under 5 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
for study in single_op multi_op duplication transfer hpo feedback; do
    echo "== $study $*"
    nice -n 10 "$PY" -m "experiments.$study.run" "$@"
done
