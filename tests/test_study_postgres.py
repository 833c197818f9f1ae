"""Sweeps whose study lives in a real PostgreSQL server started by the test on 127.0.0.1.

Two sweeps at once share one study without duplicate or lost trials; a sweep killed with
`kill -9` leaves no trial RUNNING for good (the next sweep runs it again with its parameters);
the password, given only in the environment, reaches no file and no output.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import subprocess_env
from pg_server import PASSWORD, PgServer, start_server

from djsandbox.errors import ConfigError
from djsandbox.hpo.study_storage import StudyKeeper, check_storage

GATED = """# @package _global_
project_name: pgstudy
experiment_name: e
plugins: [study_test_plugins]
optimized_metric: anonymous.score.res_1.score
vars: {value: 1, gate: null}
hydra:
  sweeper:
    params:
      vars.value: range(1, 1000)
execution_job_configs:
  - hook: EvaluateDataHook
    meta_name: score
    extra_configs: {type: test_study_gate, value: '${vars.value}', gate: '${vars.gate}'}
"""


@pytest.fixture(scope="module")
def pg():
    yield from start_server()


@pytest.fixture
def db(pg: PgServer) -> str:
    return pg.create_database(f"t_{uuid.uuid4().hex[:10]}")


def _env(**extra: str) -> dict[str, str]:
    env = subprocess_env()
    env.pop("DJSANDBOX_STUDY_STORAGE", None)
    env.update(extra)
    return env


def _sweep(tmp: Path, env: dict[str, str], *overrides: str, **popen) -> subprocess.Popen:
    conf = tmp / "conf" / "pipeline"
    if not conf.is_dir():
        conf.mkdir(parents=True)
        (conf / "gated.yaml").write_text(GATED)
    cmd = [sys.executable, "-m", "djsandbox", "-m", "+pipeline=gated", "hpo=optuna"]
    cmd += [f"hydra.searchpath=[file://{tmp / 'conf'}]", "hydra.sweeper.study_name=shared"]
    cmd += ["hydra/sweeper/sampler=random", *overrides]
    return subprocess.Popen(
        cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )


def _trials(url: str) -> list:
    """The study's trials, read afresh (the password goes in this process's URL only)."""
    import optuna

    url = url.replace("@", f":{PASSWORD}@", 1)
    return optuna.load_study(study_name="shared", storage=url).trials


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.slow  # about 90-130 s on a loaded 2-core machine (two sweeps' start-up)
def test_two_sweeps_at_once_share_one_study(tmp_path, pg, db):
    """Started together (one with the URL in DJSANDBOX_STUDY_STORAGE, password included; one
    with the URL on the command line and the password in PGPASSWORD), 3 + 3 trials: six
    distinct trials numbered 0-5, each complete with its own run folder holding its value."""
    with_password = db.replace(f"{pg.user}@", f"{pg.user}:{PASSWORD}@")
    a = _sweep(
        tmp_path,
        _env(DJSANDBOX_STUDY_STORAGE=with_password),
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.seed=1",
    )
    b = _sweep(
        tmp_path,
        _env(PGPASSWORD=PASSWORD),
        f"hydra.sweeper.storage={db}",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.seed=2",
    )
    out_a, _ = a.communicate(timeout=600)
    out_b, _ = b.communicate(timeout=600)
    assert a.returncode == 0, out_a[-3000:]
    assert b.returncode == 0, out_b[-3000:]
    trials = _trials(db)
    assert sorted(t.number for t in trials) == list(range(6)), out_a[-3000:] + out_b[-3000:]
    assert all(t.state.name == "COMPLETE" for t in trials)
    run_dirs = {t.user_attrs["run_dir"] for t in trials}
    assert len(run_dirs) == 6
    for trial in trials:
        state = json.loads(
            (tmp_path / trial.user_attrs["run_dir"] / "sandbox_state.json").read_text()
        )
        score = state["context"]["iterations"][0]["anonymous"]["score"]["res_1"]["score"]
        assert score == trial.value == trial.params["vars.value"]
    assert PASSWORD not in out_a + out_b
    assert "postgresql://djsandbox_test:***@" in out_a  # the URL is shown, masked
    assert _files_holding(tmp_path, PASSWORD) == []
    assert (tmp_path / "outputs/pgstudy/e/sweep_shared/report").is_dir()  # read from PostgreSQL


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before {what}: {proc.stdout.read()[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow  # about 85 s on a loaded 2-core machine (two sweeps, one after the other)
def test_a_sweep_killed_with_kill_9_leaves_no_trial_running(tmp_path, db):
    """Two trials are held RUNNING, the whole sweep is killed (SIGKILL to its process group);
    the next sweep on the study finds their heartbeats stopped, fails them, runs them again
    with their parameters, and leaves nothing RUNNING."""
    gate = tmp_path / "gate"
    gate.write_text("hold")
    env = _env(PGPASSWORD=PASSWORD)
    beat = (
        "hydra.callbacks.sweep_folder.heartbeat_interval=1",
        "hydra.callbacks.sweep_folder.grace_period=3",
    )
    first = _sweep(
        tmp_path,
        env,
        f"hydra.sweeper.storage={db}",
        "hydra.sweeper.n_trials=2",
        f"vars.gate={gate}",
        *beat,
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: sum(t.state.name == "RUNNING" for t in _trials_or_none(db)) == 2,
            300,
            "two RUNNING trials",
            first,
        )
        time.sleep(1.5)  # their heartbeats have been recorded at least once
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    gate.unlink()
    killed = _trials(db)
    assert [t.state.name for t in killed] == ["RUNNING", "RUNNING"]
    time.sleep(4)  # past the grace period
    second = _sweep(tmp_path, env, f"hydra.sweeper.storage={db}", "hydra.sweeper.n_trials=2", *beat)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]
    assert "lost its sweep" in out
    trials = _trials(db)
    assert not [t.number for t in trials if t.state.name == "RUNNING"]
    assert [t.state.name for t in trials[:2]] == ["FAIL", "FAIL"]
    reruns = {t.system_attrs.get("failed_trial"): t for t in trials[2:]}
    assert set(reruns) == {0, 1}  # the second sweep's two trials are the two lost ones
    for old in trials[:2]:
        assert reruns[old.number].state.name == "COMPLETE"
        assert reruns[old.number].params == old.params
        assert reruns[old.number].value == old.params["vars.value"]


def _trials_or_none(url: str) -> list:
    try:
        return _trials(url)
    except KeyError:  # the study is not created yet
        return []


def test_stale_trials_are_requeued_once_when_two_sweeps_check_at_once(db, monkeypatch):
    """Two keepers (as in two live sweeps) find the same dead trial at the same time: it is
    failed once and queued once; a trial still beating is left alone."""
    import optuna

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    study = optuna.create_study(study_name="shared", storage=db)
    dead, alive = study.ask(), study.ask()
    dead.suggest_int("x", 0, 9)
    keepers = [StudyKeeper(db, "shared", interval=1, grace_period=2) for _ in range(2)]
    try:
        keepers[0].add(dead._trial_id)
        keepers[0].add(alive._trial_id)
        for _ in range(4):  # only the live trial keeps beating
            time.sleep(1)
            keepers[1].storage.record_heartbeat(alive._trial_id)
        with ThreadPoolExecutor(2) as pool:
            requeued = list(pool.map(lambda k: k.requeue_stale(), keepers))
        assert sorted(requeued, key=len) == [[], [dead.number]]
        trials = _trials(db)  # read afresh: `study` caches the trials it created
        assert {t.number: t.state.name for t in trials} == {0: "FAIL", 1: "RUNNING", 2: "WAITING"}
        assert trials[2].params == {"x": dead.params["x"]}
        keepers[0].beat()  # the failed trial is no longer kept alive
        assert keepers[0]._trials == {alive._trial_id}
    finally:
        for keeper in keepers:
            keeper.stop()


def test_a_password_written_in_the_config_is_refused():
    with pytest.raises(ConfigError, match=r"postgresql://u:\*\*\*@db/optuna carries a password"):
        check_storage("postgresql://u:pw123456@db/optuna", "postgresql://u:pw123456@db/optuna")
    # From the environment (an interpolation Hydra saves as it is), or without a password: fine.
    check_storage("${oc.env:DJSANDBOX_STUDY_STORAGE}", "postgresql://u:pw123456@db/optuna")
    check_storage("postgresql://u@db/optuna", "postgresql://u@db/optuna")


@pytest.fixture
def compose_sweep():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import djsandbox.__main__ as app
    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=app.CONF_DIR, version_base="1.3"):
        yield lambda *o: compose(
            "sandbox", overrides=["+pipeline=demo_hpo", "hpo=optuna", *o], return_hydra_config=True
        )
    GlobalHydra.instance().clear()


def test_an_unusable_storage_stops_the_sweep_with_one_message(
    compose_sweep, tmp_path, monkeypatch, capsys
):
    """Hydra turns a callback's exception into a warning and sweeps on: the callback exits
    itself, 4 for a database it cannot reach (URL from the environment, password masked), 2
    for a password written on the command line (before Hydra saves it anywhere)."""
    from djsandbox.hpo.sweep import SweepFolder

    monkeypatch.chdir(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"postgresql://someone:{PASSWORD}@127.0.0.1:{port}/optuna"
    monkeypatch.setenv("DJSANDBOX_STUDY_STORAGE", url)
    cfg = compose_sweep()
    assert cfg.hydra.sweeper.storage == url
    with pytest.raises(SystemExit) as exit_:
        SweepFolder().on_multirun_start(cfg)
    err = capsys.readouterr().err
    assert exit_.value.code == 4
    assert f"cannot open the study storage postgresql://someone:***@127.0.0.1:{port}/optuna" in err
    assert PASSWORD not in err

    monkeypatch.delenv("DJSANDBOX_STUDY_STORAGE")
    (tmp_path / "second").mkdir()
    monkeypatch.chdir(tmp_path / "second")
    cfg = compose_sweep(f"hydra.sweeper.storage={url}")
    with pytest.raises(SystemExit) as exit_:
        SweepFolder().on_multirun_start(cfg)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "carries a password" in err and PASSWORD not in err
    assert not (
        tmp_path / "second" / "outputs"
    ).exists()  # refused before the sweep folder was made


def test_missing_server_binaries_fail_loudly_unless_opted_out(monkeypatch):
    import pg_server

    monkeypatch.setattr(pg_server, "find_binaries", lambda: None)
    monkeypatch.delenv("DJSANDBOX_NO_POSTGRES", raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y postgresql"):
        next(pg_server.start_server())
    monkeypatch.setenv("DJSANDBOX_NO_POSTGRES", "1")
    with pytest.raises(pytest.skip.Exception, match="DJSANDBOX_NO_POSTGRES=1"):
        next(pg_server.start_server())


def test_sweeps_opening_an_empty_database_together_all_get_the_storage(db, monkeypatch):
    """Each sweep creates Optuna's tables on first use; PostgreSQL refuses the slower of two
    concurrent CREATE TABLEs (duplicate `pg_type` row) instead of waiting. Eight at once: all
    open it, and the tables exist once."""
    from djsandbox.hpo.study_storage import open_rdb_storage

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    barrier = __import__("threading").Barrier(8)

    def open_together(_: int) -> str:
        barrier.wait()
        storage = open_rdb_storage(db)
        storage.remove_session()
        return type(storage).__name__

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(open_together, range(8))) == ["RDBStorage"] * 8


def test_only_the_table_creation_race_is_retried(monkeypatch):
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    from djsandbox.hpo import study_storage

    calls = []

    def flaky(url, **options):
        calls.append(url)
        if len(calls) < 3:
            raise IntegrityError("CREATE TABLE studies", {}, Exception("duplicate key value"))
        return "storage"

    monkeypatch.setattr(optuna.storages, "RDBStorage", flaky)
    monkeypatch.setattr(study_storage, "_RETRY_PAUSE_S", 0.0)
    assert study_storage.open_rdb_storage("postgresql://u@h/db") == "storage"
    assert len(calls) == 3

    def unreachable(url, **options):
        calls.append(url)
        raise OperationalError("connect", {}, Exception("connection refused"))

    calls.clear()
    monkeypatch.setattr(optuna.storages, "RDBStorage", unreachable)
    with pytest.raises(OperationalError):
        study_storage.open_rdb_storage("postgresql://u@h/db")
    assert len(calls) == 1  # not a race: reported at once
