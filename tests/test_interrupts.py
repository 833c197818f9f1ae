"""Ctrl-C as a user presses it: SIGINT to the whole process group of a real run, then resume.

Each test waits for a marker (a file the job writes, the run state) before it sends the
signal. What it checks: exit status 130, one line naming the job, what is kept and the command
that continues, no traceback on the terminal, the job recorded `interrupted`, and the printed
command finishing the run.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import yaml
from conftest import subprocess_env

from djsandbox.run_lock import LOCK_FILE


class Run:
    """A `python -m djsandbox ...` subprocess in its own process group (like a terminal's
    foreground job), its output collected by a thread so that the pipe never fills."""

    def __init__(self, cmd: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.chunks.append(line)

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(f"{what} never happened:\n{''.join(self.chunks)[-3000:]}")

    def signal(self, signum: int = signal.SIGINT, group: bool = True) -> None:
        if group:  # a terminal sends Ctrl-C to every process of the foreground group
            os.killpg(self.proc.pid, signum)
        else:
            os.kill(self.proc.pid, signum)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(
                f"no exit after the signal:\n{''.join(self.chunks)[-3000:]}"
            ) from None
        self._reader.join(timeout=10)
        return code, "".join(self.chunks)


def _jobs(state_file: Path) -> dict[str, dict]:
    try:
        return json.loads(state_file.read_text()).get("jobs", {})
    except (OSError, ValueError):
        return {}


def _status(state_file: Path, meta_name: str, pipeline: str | None = None) -> str | None:
    for record in _jobs(state_file).values():
        if record.get("meta_name") == meta_name and pipeline in (None, record.get("pipeline")):
            return record.get("status")
    return None


def assert_one_quiet_line(output: str, job: str) -> str:
    """The terminal after Ctrl-C: the last line is ours and says everything; no traceback."""
    for noise in ("Traceback", "KeyboardInterrupt", "TimeoutError", "library noise"):
        assert noise not in output, output[-3000:]
    last = output.replace("\r", "\n").strip().splitlines()[-1]
    assert "interrupted during pipeline" in last and job in last, output[-3000:]
    assert "kept in" in last and "to continue: " in last, last
    assert sum("interrupted" in line for line in output.splitlines()) == 1, output[-3000:]
    return last.split("to continue: ", 1)[1]


def run_printed(command: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    if argv[:2] == ["python", "-m"]:
        argv[0] = sys.executable
    else:  # the console script: run its module
        argv = [sys.executable, "-m", "djsandbox.cli", *argv[1:]]
    return subprocess.run(
        argv, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout
    )


# -- fast: a pool job that exits on Ctrl-C, like Data-Juicer and Lightning together -----------
def _pool_pipeline(tmp_path: Path, kind: str = "test_stubborn_pool") -> tuple[list[str], Path]:
    conf = tmp_path / "conf" / "pipeline"
    conf.mkdir(parents=True)
    calls, marker = tmp_path / "calls", tmp_path / "marker"
    jobs = [
        {"hook": "EvaluateDataHook", "meta_name": "first", "extra_configs": {"type": "test_echo"}},
        {
            "hook": "EvaluateDataHook",
            "meta_name": "slow",
            "extra_configs": {
                "type": kind,
                "marker": str(marker),
                "calls": str(calls),
                "seconds": "${vars.seconds}",
            },
        },
        {"hook": "EvaluateDataHook", "meta_name": "last", "extra_configs": {"type": "test_echo"}},
    ]
    body = {
        "project_name": "ctrlc",
        "plugins": ["sandbox_test_plugins", "interrupt_test_plugins"],
        "vars": {"seconds": 120},
        "execution_job_configs": jobs,
    }
    (conf / "pool.yaml").write_text("# @package _global_\n" + yaml.safe_dump(body))
    return [
        sys.executable,
        "-m",
        "djsandbox",
        "+pipeline=pool",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
    ], calls


def _state_file(tmp_path: Path) -> Path | None:
    found = sorted((tmp_path / "outputs").glob("**/sandbox_state.json"))
    return found[0] if found else None


def _started(calls: Path) -> Callable[[], bool]:
    return lambda: calls.exists() and "started" in calls.read_text()


def test_ctrl_c_in_a_pool_job_prints_one_line_exits_130_and_resumes(tmp_path):
    cmd, calls = _pool_pipeline(tmp_path)
    run = Run(cmd, tmp_path)
    run.wait_for("the pool job's start", _started(calls), timeout=120)
    run.signal(signal.SIGINT)
    code, output = run.finish()
    assert code == 130, output[-3000:]
    command = assert_one_quiet_line(output, "execution_job_configs[1] (meta_name 'slow')")
    assert "1 finished job is kept" in output
    assert command.startswith("python -m djsandbox +pipeline=pool") and command.endswith(
        "resume=true"
    )
    state = _state_file(tmp_path)
    assert state is not None and _status(state, "slow") == "interrupted"
    assert _status(state, "first") == "done" and not (state.parent / LOCK_FILE).exists()
    noise = state.parent.glob("iter_0/*/execution_1_slow/interrupted.log")
    assert "library noise while stopping 39" in next(noise).read_text()  # kept, not shown
    report = (state.parent / "report" / "report.md").read_text()
    assert "The run was interrupted" in report and "interrupted (Ctrl-C)" in report

    resumed = run_printed(command, tmp_path, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {r["meta_name"]: r["status"] for r in _jobs(state).values()} == {
        "first": "done",
        "slow": "done",
        "last": "done",
    }
    runs = [p for p in (tmp_path / "outputs" / "ctrlc").glob("*/*") if p.is_dir()]
    assert runs == [state.parent], f"resume left another run folder: {runs}"
    logs = "".join(p.read_text() for p in state.parent.glob("*.log"))  # Hydra's job log
    assert "resuming from" in logs  # the resumed run's log lines went to the earlier folder


def test_a_job_that_swallows_ctrl_c_is_stopped_after_the_grace_period(tmp_path, monkeypatch):
    """A pool that outlives the first Ctrl-C: after the grace period its workers are killed
    and the signal sent again; the run then stops as usual (one line, 130, resumable)."""
    # 3 s: the job must stop within one grace period after its workers are killed; 1 s failed
    # now and then on a loaded machine (the run was then stopped hard)
    monkeypatch.setenv("DJSANDBOX_INTERRUPT_GRACE", "3")
    cmd, calls = _pool_pipeline(tmp_path, "test_deaf_pool")
    run = Run(cmd, tmp_path)
    run.wait_for("the pool job's start", _started(calls), timeout=120)
    run.signal(signal.SIGINT, group=False)  # the run alone: its workers must be killed by it
    code, output = run.finish(timeout=60)
    assert code == 130, output[-3000:]
    command = assert_one_quiet_line(output, "execution_job_configs[1] (meta_name 'slow')")
    state = _state_file(tmp_path)
    assert state is not None and _status(state, "slow") == "interrupted"
    assert run_printed(command, tmp_path, timeout=120).returncode == 0


def test_a_job_deaf_to_every_ctrl_c_is_stopped_hard_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("DJSANDBOX_INTERRUPT_GRACE", "1")
    cmd, calls = _pool_pipeline(tmp_path, "test_deaf_forever")
    run = Run(cmd, tmp_path)
    run.wait_for("the job's start", _started(calls), timeout=120)
    run.signal(signal.SIGINT)
    code, output = run.finish(timeout=60)
    assert code == 130, output[-3000:]
    assert "stopped hard" in output.strip().splitlines()[-1] and "Traceback" not in output
    state = _state_file(tmp_path)
    assert state is not None and _status(state, "first") == "done"
    resumed = subprocess.run(
        [*cmd, "resume=true"], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {r["meta_name"]: r["status"] for r in _jobs(state).values()} == {
        "first": "done",
        "slow": "done",
        "last": "done",
    }


def test_sigterm_releases_the_lock_and_records_the_job_interrupted(tmp_path):
    cmd, calls = _pool_pipeline(tmp_path)
    run = Run(cmd, tmp_path)
    run.wait_for("the pool job's start", _started(calls), timeout=120)
    run.signal(signal.SIGTERM, group=False)  # `kill PID`: the run alone, not its workers
    code, output = run.finish()
    assert code == 130, output[-3000:]
    assert_one_quiet_line(output, "execution_job_configs[1] (meta_name 'slow')")
    state = _state_file(tmp_path)
    assert state is not None and _status(state, "slow") == "interrupted"
    assert not (state.parent / LOCK_FILE).exists()
    slow = next(r for r in _jobs(state).values() if r["meta_name"] == "slow")
    assert slow["error"] == "interrupted (SIGTERM)"


def test_ctrl_c_in_a_multirun_exits_130_with_one_line(tmp_path):
    cmd, calls = _pool_pipeline(tmp_path)
    run = Run([*cmd[:3], "-m", *cmd[3:], "vars.seconds=120,121"], tmp_path)
    run.wait_for("the pool job's start", _started(calls), timeout=120)
    run.signal(signal.SIGINT)
    code, output = run.finish()
    assert code == 130, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert "interrupted during" in last and "the sweep's finished runs are kept" in last, last
    assert "Traceback" not in output and "to continue" not in last


def test_dj_sandbox_ctrl_c_prints_its_own_resume_command(tmp_path):
    calls, marker = tmp_path / "calls", tmp_path / "marker"
    cfg = tmp_path / "sandbox.yaml"
    slow = {"type": "test_stubborn_pool", "marker": str(marker), "calls": str(calls)}
    cfg.write_text(
        yaml.safe_dump(
            {
                "work_dir": str(tmp_path / "run"),
                "plugins": ["interrupt_test_plugins"],
                "execution_job_configs": [
                    {"hook": "EvaluateDataHook", "meta_name": "slow", "extra_configs": slow}
                ],
            }
        )
    )
    run = Run([sys.executable, "-m", "djsandbox.cli", "--config", str(cfg)], tmp_path)
    run.wait_for("the pool job's start", _started(calls), timeout=120)
    run.signal(signal.SIGINT)
    code, output = run.finish()
    assert code == 130, output[-3000:]
    command = assert_one_quiet_line(output, "execution_job_configs[0] (meta_name 'slow')")
    assert command == f"python -m djsandbox.cli --config {cfg} resume=true"
    assert "0 finished jobs are kept in" in output
    resumed = run_printed(command, tmp_path, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _status(tmp_path / "run" / "sandbox_state.json", "slow") == "done"


# -- slow: the demo, interrupted in each of its stages, resumed each time ---------------------
DEMO_JOBS = {  # (pipeline, meta_name, job folder): training, evaluation, Data-Juicer
    "train": ("baseline", "train", "execution_0_train"),
    "evaluate": ("baseline", "test", "evaluation_0_test"),
    "data-juicer": ("refined", "process", "execution_0_process"),
}


@pytest.mark.slow
def test_ctrl_c_in_each_stage_of_the_demo_then_resume_finishes(tmp_path):
    """Training (Lightning catches Ctrl-C and exits 1), evaluation, and a Data-Juicer job (its
    worker pool reports a TimeoutError): each interrupted once, each resume continues."""
    base = [
        sys.executable,
        "-m",
        "djsandbox",
        "trainer=cpu",
        "vars.epochs=200",  # long enough to be interrupted while Lightning trains
        "tracker=none",
    ]

    def run_folder() -> Path | None:
        found = sorted((tmp_path / "outputs").glob("*/*/*/sandbox_state.json"))
        return found[0].parent if found else None

    def job_dir(stage: str) -> Path | None:
        folder = run_folder()
        pipeline, _, name = DEMO_JOBS[stage]
        return folder / "iter_0" / pipeline / name if folder else None

    def running(stage: str, marker: str | None = None) -> Callable[[], bool]:
        def ready() -> bool:
            folder, jobs = run_folder(), job_dir(stage)
            if folder is None or jobs is None:
                return False
            pipeline, meta, _ = DEMO_JOBS[stage]
            if _status(folder / "sandbox_state.json", meta, pipeline) != "running":
                return False
            return marker is None or any(jobs.glob(marker))

        return ready

    command = " ".join(shlex.quote(a) for a in ["python", *base[1:]])
    for stage, marker in (
        ("train", "seed_*/logs/version_*"),  # Lightning's fit has begun (one model per seed)
        ("evaluate", None),
        ("data-juicer", "dj/process/logs/*"),  # Data-Juicer's executor is set up
    ):
        argv = shlex.split(command)
        run = Run([sys.executable, *argv[1:]], tmp_path)
        run.wait_for(f"the {stage} job", running(stage, marker))
        if stage == "data-juicer":
            time.sleep(3)  # into its ops (worker pools)
        run.signal(signal.SIGINT)
        code, output = run.finish(timeout=180)
        assert code == 130, (stage, output[-3000:])
        pipeline, meta, _ = DEMO_JOBS[stage]
        last = output.strip().splitlines()[-1]
        folder = run_folder()
        assert folder is not None
        status = _status(folder / "sandbox_state.json", meta, pipeline)
        if "stopped hard" in last:  # its worker pool hung while stopping: the watch's last step
            assert stage == "data-juicer" and code == 130, (stage, last)
            command += "" if "resume=true" in command else " resume=true"
            continue
        if "interrupted between jobs" in last:  # the library swallowed Ctrl-C, the job ended
            assert stage == "data-juicer" and status == "done", (stage, status, last)
            command = last.split("to continue: ", 1)[1]
            continue
        command = assert_one_quiet_line(output, f"(meta_name '{meta}')")
        assert f"pipeline '{pipeline}'" in last
        assert status == "interrupted", stage
        if stage == "train":
            command = command.replace("vars.epochs=200", "vars.epochs=1")
    done = run_printed(command, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = run_folder()
    assert folder is not None
    assert {r["status"] for r in _jobs(folder / "sandbox_state.json").values()} == {"done"}
    assert len([p for p in (tmp_path / "outputs").glob("*/*/*") if p.is_dir()]) == 1


# -- resume under Hydra: the new run folder Hydra made is not left behind ---------------------
def test_fresh_run_folder_is_dropped_only_when_it_holds_just_what_hydra_wrote(tmp_path):
    import logging

    from djsandbox.hydra_resume import HYDRA_FILES, drop_fresh_run_folder

    earlier, fresh = tmp_path / "earlier", tmp_path / "fresh"
    earlier.mkdir()
    (earlier / "__main__.log").write_text("first run\n")
    for name in HYDRA_FILES:
        (fresh / name).parent.mkdir(parents=True, exist_ok=True)
        (fresh / name).write_text("x: 1\n")
    handler = logging.FileHandler(fresh / "__main__.log")
    logger = logging.getLogger("djsandbox.test_fresh_folder")
    logger.addHandler(handler)
    try:
        logger.warning("before the move")
        (fresh / "notes.txt").write_text("the user's")  # not Hydra's: nothing is removed
        assert drop_fresh_run_folder(fresh, earlier) is False
        assert (fresh / "notes.txt").exists() and (fresh / ".hydra/config.yaml").exists()
        (fresh / "notes.txt").unlink()
        assert drop_fresh_run_folder(fresh, earlier) is True
        assert not fresh.exists()
        logger.warning("after the move")
        for moved in logger.handlers:
            moved.flush()
        assert (earlier / "__main__.log").read_text().splitlines() == [
            "first run",
            "before the move",
            "after the move",
        ]
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()


def test_resume_command_keeps_the_arguments_and_a_given_folder():
    from djsandbox.interrupts import program_name, resume_command

    assert program_name("/x/djsandbox/__main__.py", "djsandbox") == "python -m djsandbox"
    assert program_name("/venv/bin/dj-sandbox", "djsandbox.cli") == "dj-sandbox"
    assert (
        resume_command("python -m djsandbox", ["vars.k=2", "resume=false", "a b=1"])
        == "python -m djsandbox vars.k=2 'a b=1' resume=true"
    )
    assert (
        resume_command("dj-sandbox", ["--config", "c.yaml", "resume=/runs/r1"])
        == "dj-sandbox --config c.yaml resume=/runs/r1"
    )


def test_watch_sends_output_after_the_signal_to_the_file_and_restores_the_terminal(tmp_path, capfd):
    from djsandbox.interrupts import InterruptWatch

    quiet = tmp_path / "interrupted.log"
    watch = InterruptWatch(quiet_to=quiet).start()
    try:
        os.write(1, b"before\n")  # file descriptors: what libraries and C code write to
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        os.write(1, b"while stopping\n")
        os.write(2, b"from C code\n")
    finally:
        watch.stop()
    os.write(1, b"after\n")
    out, err = capfd.readouterr()
    assert out.split() == ["before", "after"] and "from C code" not in err
    assert quiet.read_text().split("\n")[:2] == ["while stopping", "from C code"]
    assert watch.seen and watch.signal_name == "Ctrl-C"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_watch_leaves_an_ignored_sigint_ignored():
    from djsandbox.interrupts import InterruptWatch

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        watch = InterruptWatch().start()
        os.kill(os.getpid(), signal.SIGINT)  # ignored: nothing raised, nothing seen
        time.sleep(0.1)
        watch.stop()
        assert not watch.seen and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_job_that_swallows_ctrl_c_is_kept_and_the_run_stops_after_it(run_cfg, tmp_path):
    from djsandbox.errors import RunInterrupted

    jobs = [
        {"hook": "EvaluateDataHook", "meta_name": m, "extra_configs": {"type": t}}
        for m, t in (("swallow", "test_swallow_and_finish"), ("next", "test_echo"))
    ]
    with pytest.raises(RunInterrupted) as caught:
        run_cfg(
            {"execution_job_configs": jobs},
            plugins=["sandbox_test_plugins", "interrupt_test_plugins"],
        )
    assert caught.value.job is None and caught.value.kept == 1
    state = tmp_path / "run" / "sandbox_state.json"
    assert _status(state, "swallow") == "done" and _status(state, "next") is None
