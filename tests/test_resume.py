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
