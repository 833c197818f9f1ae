"""Sweep trials on cluster launchers: submitit's local launcher (each trial its own process)
and Hydra's Ray launcher joined to a Ray head started here (`hydra/launcher=ray_cluster`);
each 2-trial sweep of `demo_hpo` gives the trials, results and runs table of the default
(joblib) launcher."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ray_cluster
from conftest import subprocess_env

# Seeded sampler, one-batch training: the same two trials, the same results, in a few minutes.
SWEEP = (
    "+pipeline=demo_hpo",
    "hpo=optuna",
    "trainer=debug",
    "hydra.sweeper.study_name=t",
    "hydra.sweeper.n_trials=2",
    "hydra.sweeper.n_jobs=2",
    "hydra.sweeper.sampler.seed=1",
)
SWEEP_DIR = Path("outputs") / "demo" / "fine_foods_hpo" / "sweep_t"
VARYING = ("run", "total s")  # the trial folder's timestamp, seconds


def _sweep(folder: Path, *launcher: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "djsandbox", "-m", *SWEEP, *launcher],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=folder,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return folder / SWEEP_DIR


def _outcome(sweep: Path) -> dict:
    """What must not depend on the launcher: trials, runs table, final test score."""
    import optuna

    study = optuna.load_study(study_name="t", storage=f"sqlite:///{sweep / 'optuna.db'}")
    trials = sorted((t.number, t.state.name, t.params, t.value) for t in study.trials)
    with open(sweep / "runs_report" / "runs.csv", newline="") as fh:
        rows = [{k: v for k, v in row.items() if k not in VARYING} for row in csv.DictReader(fh)]
    final = json.loads((sweep / "final_test.json").read_text())
    for run in sweep.glob("trials/*/*"):  # every trial ran and let go of its run folder
        assert (run / "sandbox_state.json").is_file() and not (run / ".sandbox.lock").exists()
    assert (sweep / "report" / "report.md").is_file()
    return {"trials": trials, "runs": rows, "final": [f["metrics"] for f in final]}


@pytest.mark.parametrize(
    ("launcher", "target"),
    [
        (None, "JoblibLauncher"),
        ("submitit_local", "LocalLauncher"),
        ("submitit_slurm", "SlurmLauncher"),
        ("ray", "RayLauncher"),
        ("ray_cluster", "RayLauncher"),
    ],
)
def test_hpo_optuna_composes_with_each_launcher(launcher, target):
    """hpo=optuna sets joblib's n_jobs in its own launcher config (joblib_trials), so another
    launcher, whose settings have no n_jobs, replaces it whole; the batch size is then
    hydra.sweeper.n_jobs (2 unless given)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import djsandbox.__main__ as app
    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    chosen = [f"hydra/launcher={launcher}"] if launcher else []
    try:
        with initialize_config_dir(config_dir=app.CONF_DIR, version_base="1.3"):
            for extra, n_jobs in (([], 2), (["hydra.sweeper.n_jobs=4"], 4)):
                overrides = ["+pipeline=demo_hpo", "hpo=optuna", *chosen, *extra]
                cfg = compose("sandbox", overrides=overrides, return_hydra_config=True)
                assert cfg.hydra.launcher._target_.endswith(target)
                assert cfg.hydra.sweeper.n_jobs == n_jobs
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture(scope="module")
def default_outcome(tmp_path_factory):
    return _outcome(_sweep(tmp_path_factory.mktemp("joblib")))


@pytest.mark.slow
def test_submitit_local_launcher_gives_the_default_launchers_results(default_outcome, tmp_path):
    sweep = _sweep(tmp_path, "hydra/launcher=submitit_local")
    assert list(sweep.glob(".submitit/*")), "the trials did not run through submitit"
    outcome = _outcome(sweep)
    assert [t[1] for t in outcome["trials"]] == ["COMPLETE", "COMPLETE"]
    assert outcome == default_outcome


@pytest.mark.slow
def test_ray_launcher_on_a_ray_head_gives_the_default_launchers_results(default_outcome, tmp_path):
    # The head's workers run in the folder `ray start` ran in, not the sweep's: as on a real
    # cluster, the sweep folder is given as an absolute path (on a filesystem all nodes see).
    with ray_cluster.ray_head(num_cpus=2) as address:
        sweep = _sweep(
            tmp_path,
            "hydra/launcher=ray_cluster",
            f"hydra.launcher.ray.init.address={address}",
            f"hydra.sweep.dir={tmp_path / SWEEP_DIR}",
        )
    assert not (Path.cwd() / "outputs" / "demo" / "fine_foods_hpo").exists()
    logs = "".join(p.read_text() for p in sweep.rglob("*.log"))
    assert os.environ.get("RAY_ADDRESS") is None
    outcome = _outcome(sweep)
    assert [t[1] for t in outcome["trials"]] == ["COMPLETE", "COMPLETE"]
    assert outcome == default_outcome, logs[-2000:]
