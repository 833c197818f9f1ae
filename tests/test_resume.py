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


# -- resume after a config change --------------------------------------------------------
def _ran(calls: Path) -> list[str]:
    return calls.read_text().split() if calls.exists() else []


def test_resume_reruns_a_job_whose_config_changed_and_its_readers(run_cfg, tmp_path, caplog):
    """Bug: a changed predicted_label_key kept the old score while the snapshot showed the new
    key."""
    calls = tmp_path / "calls.log"

    def cfg(label_key: str) -> dict:
        return {
            "execution_job_configs": [
                job(
                    "score",
                    "test_pair",
                    name="score",
                    calls=str(calls),
                    a=label_key,
                    b=1,
                    predicted_label_key=label_key,
                ),
                job("other", name="other", calls=str(calls), value=2),
                {
                    **job("report", name="report", calls=str(calls)),
                    "input": {"extra_configs.value": "anonymous.score.res_1"},
                },
                job(
                    "chained",
                    name="chained",
                    calls=str(calls),
                    value="${ctx:anonymous.report.res_1}",
                ),
                {
                    **job("after", name="after", calls=str(calls)),
                    "input": {"extra_configs.value": "-1.res_1"},
                },
            ]
        }

    run_cfg(cfg("label"))
    assert _ran(calls) == ["score", "other", "report", "chained", "after"]
    calls.unlink()
    out = run_cfg(cfg("label"), resume=True)  # nothing changed: nothing reruns
    assert _ran(calls) == [] and out.executed == []
    with caplog.at_level(logging.INFO, logger="djsandbox"):
        out = run_cfg(cfg("prediction"), resume=True)
    assert _ran(calls) == ["score", "report", "chained", "after"]  # not "other"
    results = out.context.iterations[0]["anonymous"]
    assert results["score"]["res_1"] == "prediction"
    assert results["after"] == {"res_1": "prediction"}
    reruns = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rerun")]
    assert reruns == [
        "rerun (config changed: extra_configs.a, extra_configs.predicted_label_key): iter 0, "
        "pipeline 'anonymous', execution_job_configs[0] (meta_name 'score')",
        "rerun (reads the results of pipeline 'anonymous', execution_job_configs[0] (meta_name "
        "'score'), which reruns): iter 0, pipeline 'anonymous', execution_job_configs[2] "
        "(meta_name 'report')",
        "rerun (reads the results of pipeline 'anonymous', execution_job_configs[2] (meta_name "
        "'report'), which reruns): iter 0, pipeline 'anonymous', execution_job_configs[3] "
        "(meta_name 'chained')",
        "rerun (reads the results of pipeline 'anonymous', execution_job_configs[3] (meta_name "
        "'chained'), which reruns): iter 0, pipeline 'anonymous', execution_job_configs[4] "
        "(meta_name 'after')",
    ]


def test_readers_of_a_rerun_job_stay_marked_after_a_crash(run_cfg, tmp_path):
    """A job reran, then the run died before its readers ran: they must still rerun."""
    calls = tmp_path / "calls.log"

    def cfg(value: int, marker: str) -> dict:
        return {
            "execution_job_configs": [
                job("source", name="source", calls=str(calls), value=value),
                job(
                    "flaky",
                    "test_fail_once",
                    name="flaky",
                    calls=str(calls),
                    marker=str(tmp_path / marker),
                ),
                {
                    **job("reader", name="reader", calls=str(calls)),
                    "input": {"extra_configs.value": "anonymous.source.res_1"},
                },
            ]
        }

    (tmp_path / "m1").write_text("")
    run_cfg(cfg(1, "m1"))
    calls.unlink()
    with pytest.raises(JobFailedError):  # source reruns, then flaky (changed too) fails
        run_cfg(cfg(2, "m2"), resume=True)
    state = json.loads((tmp_path / "run" / "sandbox_state.json").read_text())
    statuses = {v["meta_name"]: v["status"] for v in state["jobs"].values()}
    assert statuses == {"source": "done", "flaky": "failed", "reader": "stale"}
    out = run_cfg(cfg(2, "m2"), resume=True)
    assert _ran(calls) == ["source", "flaky", "flaky", "reader"]
    assert out.context.iterations[0]["anonymous"]["reader"] == {"res_1": 2}


def test_a_changed_iter_updater_value_reruns_the_later_iteration(run_cfg, tmp_path):
    calls = tmp_path / "calls.log"

    def cfg(first: int) -> dict:
        return {
            "max_iter_num": 2,
            "iter_updater": {"p.a.res_1": "p.b.extra_configs.value"},
            "pipelines": {
                "p": {
                    "execution_job_configs": [
                        job("a", name="a", calls=str(calls), value=first),
                        job("b", name="b", calls=str(calls), value=0),
                    ]
                }
            },
        }

    run_cfg(cfg(1))
    calls.unlink()
    out = run_cfg(cfg(5), resume=True)
    # iteration 0: a changed; iteration 1: a changed, and b gets a's new result from iter 0
    assert _ran(calls) == ["a", "a", "b"]
    assert out.context.iterations[1]["p"]["b"] == {"res_1": 5}


# -- worker processes die with the run ---------------------------------------------------
_POOL_SCRIPT = """
import os, sys, time
from pathlib import Path
import multiprocess  # what datasets.map(num_proc=...) (Data-Juicer's np) runs on
from djsandbox.workers import workers_die_with_run

def shard(queue):  # a busy worker, as in datasets' iflatmap_unordered
    time.sleep(60)
    queue.put(1)

with workers_die_with_run(Path(sys.argv[1])):
    pool = multiprocess.Pool(2)
    with pool._ctx.Manager() as manager:  # datasets hands results back through a manager
        queue = manager.Queue()
        pending = [pool.apply_async(shard, (queue,)) for _ in range(2)]
        pids = [p.pid for p in pool._pool] + [manager._process.pid]
        time.sleep(0.5)
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(120)
"""


def _gone(pid: int) -> bool:
    from djsandbox.run_lock import pid_alive

    return not pid_alive(pid)


def test_pool_workers_die_when_the_run_is_killed(tmp_path):
    """Bug: `kill -9` during a Data-Juicer job with np: 2 left its workers running forever."""
    import signal

    run = subprocess.Popen(
        [sys.executable, "-c", _POOL_SCRIPT, str(tmp_path)],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    workers: list[int] = []
    try:
        workers = [int(p) for p in run.stdout.readline().split()]
        assert workers and all(not _gone(p) for p in workers)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        _wait_for(lambda: all(_gone(p) for p in workers), 5, "the workers to die")
    finally:
        for pid in workers:  # leave nothing behind even when the test fails
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    # the workers were recorded, for a later run to clean up what survived anyway
    recorded = (tmp_path / ".sandbox_workers").read_text().split()
    assert set(map(str, workers)) <= set(recorded[::2])


def test_a_resumed_run_kills_workers_an_earlier_run_left_alive(run_cfg, tmp_path):
    from djsandbox.run_lock import process_start_time

    run = tmp_path / "run"
    run.mkdir()
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start_time(orphan.pid)
        (run / ".sandbox_workers").write_text(f"{orphan.pid} {start}\n999999999 1\n")
        run_cfg({"execution_job_configs": [job("a", value=1)]}, resume=True)
        assert orphan.wait(timeout=5) == -9
    finally:
        if orphan.poll() is None:
            orphan.kill()
