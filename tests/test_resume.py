"""Concurrency and resume: the run lock, reruns after a config change, orphaned workers,
iteration caps and the cost of saving the state."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import subprocess_env

from djsandbox.errors import ConfigError, JobFailedError, RunBusyError
from djsandbox.run_lock import LOCK_FILE


def job(meta: str | None, kind: str = "test_echo", **extra):
    body = {"hook": "EvaluateDataHook", "extra_configs": {"type": kind, **extra}}
    if meta:
        body["meta_name"] = meta
    return body


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- the run lock -------------------------------------------------------------------------
def test_second_process_on_a_running_run_stops_at_once_with_exit_3(tmp_path):
    """Bug: a second `resume=true` process re-ran the jobs of a run that was still going."""
    calls = tmp_path / "calls.log"
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        json.dumps(
            {
                "work_dir": str(tmp_path / "run"),
                "plugins": ["sandbox_test_plugins"],
                "resume": True,
                "execution_job_configs": [
                    job("nap", "test_sleep", seconds=3, name="nap", calls=str(calls))
                ],
            }
        )
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "djsandbox.cli", "--config", str(config)],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(calls.exists, 60, "the first run's job to start")
        from djsandbox.cli import main

        started = time.monotonic()
        status = main(["--config", str(config)])
        assert status == 3
        assert time.monotonic() - started < 3  # stopped at once, not after the job
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-2000:]
    assert calls.read_text().split() == ["nap"]  # the job ran once
    assert not (tmp_path / "run" / LOCK_FILE).exists()  # released at the end


def test_busy_message_names_the_folder_and_the_holder(run_cfg, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = {"pid": os.getppid(), "host": socket.gethostname(), "started": time.time()}
    (run / LOCK_FILE).write_text(json.dumps(holder))
    with pytest.raises(RunBusyError, match=rf"{run}.*process {os.getppid()} on host"):
        run_cfg({"execution_job_configs": [job("a", value=1)]})
    assert not (run / "sandbox_state.json").exists()  # nothing was written
    assert not (run / "config_snapshot.json").exists()


def test_lock_of_another_host_is_never_taken_over(run_cfg, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere.example"}))
    with pytest.raises(RunBusyError, match="host elsewhere.example"):
        run_cfg({"execution_job_configs": [job("a", value=1)]})


def test_stale_lock_is_taken_over_with_a_warning(run_cfg, tmp_path, caplog):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname()}))
    with caplog.at_level(logging.WARNING, logger="djsandbox"):
        out = run_cfg({"execution_job_configs": [job("a", value=1)]})
    assert out.context.iterations[0]["anonymous"]["a"] == {"res_1": 1}
    assert f"stale lock in {run}: process {gone.pid}" in caplog.text
    assert not (run / LOCK_FILE).exists()


def test_lock_is_released_after_a_failure_and_not_taken_before_validation(run_cfg, tmp_path):
    run = tmp_path / "run"
    flaky = job("flaky", "test_fail_once", marker=str(tmp_path / "marker"))
    with pytest.raises(JobFailedError):
        run_cfg({"execution_job_configs": [flaky]})
    assert not (run / LOCK_FILE).exists()
    with pytest.raises(ConfigError):  # invalid: refused before the folder is touched
        run_cfg({"execution_job_configs": [job("a", "no_such_type")]}, work_dir=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_lock_is_released_on_ctrl_c(run_cfg, tmp_path, monkeypatch):
    from djsandbox.runner import Runner

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_cfg({"execution_job_configs": [job("a", value=1)]})
    assert not (tmp_path / "run" / LOCK_FILE).exists()


# -- iterations: max_iter_num 0, max_iter_cap, the cost of a save --------------------------
def _counting(tmp_path, **cfg):
    return {
        "iter_targets": ["anonymous.count.res_1.count > 1000"],
        "execution_job_configs": [job("count", "test_counter", counter=str(tmp_path / "c"))],
        **cfg,
    }


def test_max_iter_num_0_without_iter_updater_is_refused(run_cfg, tmp_path):
    """Bug: it ran 658 identical iterations in 90 s (nothing changed between them)."""
    with pytest.raises(ConfigError, match=r"max_iter_num: 0 .*needs iter_updater"):
        run_cfg(_counting(tmp_path, max_iter_num=0))
    assert not (tmp_path / "run").exists()


def test_max_iter_cap_stops_an_unmet_run_with_a_warning(run_cfg, tmp_path, caplog):
    updater = {"anonymous.count.res_1.count": "anonymous.count.extra_configs.step"}
    with caplog.at_level(logging.WARNING, logger="djsandbox"):
        out = run_cfg(_counting(tmp_path, max_iter_num=0, iter_updater=updater, max_iter_cap=4))
    assert out.iterations_run == 4 and out.targets_met is False and out.stopped_at_cap
    assert "max_iter_cap (4) reached and iter_targets not met" in caplog.text
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "Warning: stopped after 4 iterations: max_iter_cap (4) reached" in summary
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stop"].startswith(
        "stopped after 4"
    )


def test_max_iter_num_above_the_cap_is_refused(run_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"max_iter_num: 5 is more than max_iter_cap \(3\)"):
        run_cfg(_counting(tmp_path, max_iter_num=5, max_iter_cap=3))


def test_default_cap_is_in_the_schema_and_the_hydra_config():
    from djsandbox.config import GLOBAL_KEYS, SandboxConfig

    assert "max_iter_cap" in GLOBAL_KEYS and SandboxConfig().max_iter_cap == 100
    root = Path(__file__).resolve().parents[1]
    assert "max_iter_cap: 100" in (root / "conf" / "sandbox.yaml").read_text()


def _state_with(iterations: int, path: Path):
    from djsandbox.context import RunState

    state = RunState(path)
    for it in range(iterations):
        state.context.start_iteration(it)
        for name in ("a", "b", "c"):
            key = f"p/execution/0/{name}/EvaluateDataHook"
            state.set_status(it, key, status="running", meta_name=name)
            stats = {f"k{i}": {"mean": 1.5, "std": 0.5, "n": it} for i in range(10)}
            state.context.record("p", name, {"res_1": stats})
            state.set_status(it, key, status="done", elapsed=0.1)
        state.save()
    return state


def test_a_save_encodes_only_the_current_iteration(tmp_path, monkeypatch):
    """Bug: the whole state was re-encoded (pure-Python indenting encoder) and fsynced twice per
    job: a save took 6 ms at 1 iteration and 270 ms at 100."""
    import djsandbox.context as context

    state = _state_with(300, tmp_path / "sandbox_state.json")
    encoded: list[object] = []
    real = context._dumps
    monkeypatch.setattr(context, "_dumps", lambda v: encoded.append(v) or real(v))
    state.set_status(299, "p/execution/0/c/EvaluateDataHook", status="done", elapsed=0.2)
    state.save()
    # meta, the current iteration, order, and its 3 job records (key + record each)
    assert len(encoded) <= 3 + 2 * 3
    # strict JSON, and it loads back as it was
    loaded = json.loads(state.path.read_text(), parse_constant=lambda c: 1 / 0)
    assert len(loaded["context"]["iterations"]) == 300 and len(loaded["jobs"]) == 900
    again = context.RunState.load(state.path)
    assert again.jobs == state.jobs and again.context.iterations == state.context.iterations


def test_running_marks_are_not_fsynced(tmp_path, monkeypatch):
    from djsandbox.context import RunState

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    state = RunState(tmp_path / "s.json")
    state.save(durable=False)
    assert synced == []
    state.save()
    assert len(synced) == 1
