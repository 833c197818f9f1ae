"""EnvManager (`djsandbox.envs`): real venv and uv environments installing a small package
from the package index, reuse without running anything, rebuild on a changed spec, the build
lock, conda/mamba/micromamba command lines, and commands streamed into a log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from djsandbox.envs import (
    EnvError,
    EnvSpec,
    build_commands,
    create_commands,
    get_env,
    install_commands,
    lock_path,
)
from djsandbox.envs.store import MARKER
from djsandbox.errors import ConfigError


def _uv_spec(name: str, *requirements: str) -> EnvSpec:
    return EnvSpec(manager="uv", name=name, requirements=list(requirements))


def _imports(env, module: str, tmp_path: Path) -> str:
    log = tmp_path / "probe.log"
    env.run(["python", "-c", f"import {module}; print('VERSION', {module}.__version__)"], log)
    return log.read_text()


@pytest.fixture(scope="module")
def uv_env(tmp_path_factory):
    """A real uv environment: `six` pinned, and a requirement carrying a pip flag."""
    root = tmp_path_factory.mktemp("envs")
    env = get_env(_uv_spec("shared", "six==1.16.0", "tomli==2.0.1 --no-deps"), cache_dir=root)
    return env, root


# --- real environments -------------------------------------------------------------------


def test_venv_environment_installs_a_package_from_the_index(tmp_path):
    spec = EnvSpec(manager="venv", name="plain", requirements=["six==1.16.0"])
    env = get_env(spec, cache_dir=tmp_path / "envs")
    assert env.built and env.python.is_file()
    assert env.path.parent == tmp_path / "envs" / "plain"
    assert (env.path / MARKER).is_file()
    assert "VERSION 1.16.0" in _imports(env, "six", tmp_path)
    build_log = (env.path.parent / f"build-{env.path.name}.log").read_text()
    assert "-m venv" in build_log and "pip install six==1.16.0" in build_log
    # the sandbox's interpreter does not have six pinned at 1.16.0 on PYTHONPATH: it is the env's
    out = subprocess.run(
        [str(env.python), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(env.path)


def test_uv_environment_installs_requirements_with_their_flags(uv_env, tmp_path):
    env, root = uv_env
    assert env.built
    assert "VERSION 1.16.0" in _imports(env, "six", tmp_path)
    assert "VERSION 2.0.1" in _imports(env, "tomli", tmp_path)
    build_log = (env.path.parent / f"build-{env.path.name}.log").read_text()
    # the flag was passed as a flag, in its own pip call
    assert "install --python" in build_log
    assert f"{env.python} tomli==2.0.1 --no-deps\n" in build_log
    assert (root / "shared" / "current").resolve() == env.path


def test_the_same_spec_again_runs_nothing(uv_env, monkeypatch):
    env, root = uv_env

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess ran: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    started = time.perf_counter()
    again = get_env(_uv_spec("shared", "six==1.16.0", "tomli==2.0.1 --no-deps"), cache_dir=root)
    assert time.perf_counter() - started < 1.0
    assert not again.built and again.path == env.path and again.python == env.python


def test_a_changed_spec_rebuilds_in_a_fresh_folder_and_removes_the_old_one(tmp_path):
    root = tmp_path / "envs"
    first = get_env(_uv_spec("grow", "six==1.16.0"), cache_dir=root)
    foreign = root / "grow" / "my-notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    second = get_env(_uv_spec("grow", "six==1.16.0", "tomli==2.0.1"), cache_dir=root)
    assert second.built and second.path != first.path
    assert not first.path.exists()  # ours (marker), not in use: removed
    assert (foreign / "keep.txt").read_text() == "mine"  # not ours: never touched
    assert (root / "grow" / "current").resolve() == second.path
    assert "VERSION 2.0.1" in _imports(second, "tomli", tmp_path)
    # a requirements file is part of the spec: editing it rebuilds
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("six==1.16.0\n")
    spec = EnvSpec(manager="uv", name="grow", config_path=str(reqs))
    third = get_env(spec, cache_dir=root)
    reqs.write_text("six==1.17.0\n")
    fourth = get_env(EnvSpec(manager="uv", name="grow", config_path=str(reqs)), cache_dir=root)
    assert third.built and fourth.built and fourth.path != third.path
    assert "VERSION 1.17.0" in _imports(fourth, "six", tmp_path)
    # so is a file named by a requirement entry
    by_entry = _uv_spec("grow", f"-r {reqs}")
    before = by_entry.fingerprint()
    reqs.write_text("six==1.16.0\n")
    assert _uv_spec("grow", f"-r {reqs}").fingerprint() != before
    with pytest.raises(EnvError, match="does not exist"):
        get_env(_uv_spec("grow", f"-r {tmp_path / 'gone.txt'}"), cache_dir=root)


def test_a_folder_the_sandbox_did_not_make_is_left_alone(tmp_path):
    root = tmp_path / "envs"
    spec = _uv_spec("taken")
    target = root / "taken" / spec.fingerprint()[:16]
    target.mkdir(parents=True)
    (target / "data.txt").write_text("someone's")
    with pytest.raises(EnvError, match="not made by the sandbox"):
        get_env(spec, cache_dir=root)
    assert (target / "data.txt").read_text() == "someone's"


def test_a_failed_build_names_the_step_and_log_and_leaves_no_environment(tmp_path):
    root = tmp_path / "envs"
    spec = _uv_spec("broken", "djsandbox-no-such-package-xyz==0.0.1")
    with pytest.raises(EnvError) as info:
        get_env(spec, cache_dir=root)
    message = str(info.value)
    assert "building environment 'broken' (uv), step 2/2" in message
    assert "djsandbox-no-such-package-xyz==0.0.1" in message
    log = root / "broken" / f"build-{spec.fingerprint()[:16]}.log"
    assert str(log) in message and log.is_file()
    assert not (root / "broken" / spec.fingerprint()[:16]).exists()
    with pytest.raises(EnvError):  # not mistaken for a built environment next time
        get_env(spec, cache_dir=root)


# --- the lock ----------------------------------------------------------------------------


def test_two_builders_of_one_environment_build_it_once(tmp_path):
    root = tmp_path / "envs"
    barrier = threading.Barrier(2)
    results: list = []

    def build():
        barrier.wait()
        results.append(get_env(_uv_spec("raced", "six==1.16.0"), cache_dir=root))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(env.built for env in results) == [False, True]
    assert results[0].path == results[1].path
    assert len([p for p in (root / "raced").iterdir() if p.is_dir() and not p.is_symlink()]) == 1


def test_a_build_waits_while_another_process_holds_the_lock(tmp_path):
    import fcntl

    root = tmp_path / "envs"
    spec = _uv_spec("waiting")
    path = lock_path(spec, root)
    path.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"fh = open({str(path)!r}, 'a'); fcntl.flock(fh, fcntl.LOCK_EX)\n"
            "print('held', flush=True); time.sleep(3)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    env = get_env(spec, cache_dir=root)
    waited = time.monotonic() - started
    holder.wait(10)
    assert env.built and waited >= 1.5, f"built after {waited:.1f} s while the lock was held"
    with open(path, "a") as fh:  # released afterwards
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)


# --- running commands --------------------------------------------------------------------


def test_output_is_streamed_into_the_log_as_it_arrives(uv_env, tmp_path):
    env, _ = uv_env
    log = tmp_path / "job.log"
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "print('first', 'line', flush=True)\n"
        f"deadline = time.time() + 20\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    if time.time() > deadline: sys.exit(3)\n"
        "    time.sleep(0.05)\n"
        "print('second', 'line', file=sys.stderr, flush=True)\n"
    )
    status: list[int] = []
    worker = threading.Thread(target=lambda: status.append(env.run(["python", "-c", script], log)))
    worker.start()
    try:
        deadline = time.time() + 20
        while "first line" not in (log.read_text() if log.exists() else ""):
            assert time.time() < deadline, "the first line never reached the log while running"
            time.sleep(0.05)
        assert "second line" not in log.read_text()
    finally:
        go.touch()
        worker.join(30)
    assert status == [0]
    text = log.read_text()
    assert text.index("first line") < text.index("second line") < text.index("exit status 0")


def test_a_failed_command_raises_naming_the_command_and_the_log(uv_env, tmp_path):
    env, _ = uv_env
    log = tmp_path / "job.log"
    cmd = ["python", "-c", "import sys; print('boom happened'); sys.exit(4)"]
    with pytest.raises(EnvError) as info:
        env.run(cmd, log)
    message = str(info.value)
    assert "exit status 4" in message and str(log) in message and "boom happened" in message
    assert "environment 'shared' (uv)" in message and "sys.exit(4)" in message
    assert env.run(cmd, log, check=False) == 4


def test_env_vars_reach_the_command_but_never_the_log(uv_env, tmp_path):
    env, _ = uv_env
    log = tmp_path / "job.log"
    secret = "hunter2-correct-horse"
    code = (
        "import os, sys\n"
        "key = os.environ['OPENAI_API_KEY']\n"
        "print('length', len(key), 'mode', os.environ['RUN_MODE'])\n"
        "print('echo', key)\n"
        "print('pythonpath', os.environ.get('PYTHONPATH'), 'prefix', sys.prefix)\n"
    )
    env.run(
        ["python", "-c", code],
        log,
        cwd=tmp_path,
        env_vars={"OPENAI_API_KEY": secret, "RUN_MODE": "fast"},
    )
    text = log.read_text()
    assert secret not in text
    assert f"length {len(secret)} mode fast" in text  # the command did get both
    assert "echo ***" in text
    # the sandbox's PYTHONPATH is not inherited; `python` is the environment's
    assert f"pythonpath None prefix {env.path}" in text


# --- command lines of the managers not installed here ----------------------------------


def test_conda_like_command_lines(tmp_path):
    prefix = tmp_path / "env"
    spec = EnvSpec(
        manager="conda",
        name="internvl",
        requirements=["flash-attn==2.3.6 --no-build-isolation", "datasets", "deepspeed==0.15.4"],
    )
    py = str(prefix / "bin" / "python")
    assert build_commands(spec, prefix, ["conda"]) == [
        ["conda", "create", "-y", "-p", str(prefix), "python=3.10"],  # the reference's default
        [py, "-m", "pip", "install", "flash-attn==2.3.6", "--no-build-isolation"],
        [py, "-m", "pip", "install", "datasets", "deepspeed==0.15.4"],
    ]
    mamba = EnvSpec(manager="mamba", name="vbench", python_version="3.9")
    assert create_commands(mamba, prefix, ["mamba"]) == [
        ["mamba", "create", "-y", "-p", str(prefix), "python=3.9"]
    ]
    micro = EnvSpec(manager="micromamba", name="vbench", python_version="3.11")
    assert create_commands(micro, prefix, ["micromamba"]) == [
        ["micromamba", "create", "-y", "-p", str(prefix), "-c", "conda-forge", "python=3.11"]
    ]
    env_file = tmp_path / "environment.yml"
    env_file.write_text("name: trinity\ndependencies: [python=3.10, pip]\n")
    from_file = EnvSpec(manager="conda", name="trinity", config_path=str(env_file))
    assert create_commands(from_file, prefix, ["conda"]) == [
        ["conda", "env", "create", "-f", str(env_file), "-p", str(prefix)]
    ]
    micro_file = EnvSpec(manager="micromamba", name="trinity", config_path=str(env_file))
    assert create_commands(micro_file, prefix, ["micromamba"]) == [
        ["micromamba", "create", "-y", "-p", str(prefix), "-f", str(env_file)]
    ]
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("six\n")
    with_reqs = EnvSpec(manager="mamba", name="x", config_path=str(reqs), requirements=["tqdm"])
    assert install_commands(with_reqs, prefix, ["mamba"]) == [
        [py, "-m", "pip", "install", "-r", str(reqs)],
        [py, "-m", "pip", "install", "tqdm"],
    ]


@pytest.mark.parametrize("manager", ["conda", "mamba", "micromamba", "virtualenv"])
def test_a_manager_that_is_not_installed_is_named(manager, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    if manager == "virtualenv":
        import importlib.util

        if importlib.util.find_spec("virtualenv") is not None:
            pytest.skip("virtualenv is importable here")
    root = tmp_path / "envs"
    with pytest.raises(EnvError, match=f"env_manager '{manager}' is not installed"):
        get_env(EnvSpec(manager=manager, name="vbench"), cache_dir=root)
    assert not root.exists()  # nothing was written


def test_venv_with_a_python_that_is_not_on_path(tmp_path):
    spec = EnvSpec(manager="venv", name="old", python_version="3.99")
    with pytest.raises(EnvError, match=r"no 'python3.99' is on PATH.*env_manager uv"):
        get_env(spec, cache_dir=tmp_path)


# --- the reference's keys ----------------------------------------------------------------


def test_from_config_reads_the_reference_keys(tmp_path):
    env_file = tmp_path / "envs" / "environment.yml"
    env_file.parent.mkdir()
    env_file.write_text("name: trinity\ndependencies: [python=3.10]\n")
    spec = EnvSpec.from_config(
        None, None, {"env_config_path": "envs/environment.yml"}, base_dirs=[tmp_path]
    )
    assert (spec.manager, spec.name, spec.config_path) == ("conda", "trinity", str(env_file))
    spec = EnvSpec.from_config(
        "internvl",
        "uv",
        {"env_py_version": "3.10", "requirements": "flash-attn==2.3.6 --no-build-isolation"},
    )
    assert spec.python == "3.10"
    assert spec.requirements == ("flash-attn==2.3.6 --no-build-isolation",)
    assert EnvSpec.from_config("a", "venv", None).requirements == ()
    assert EnvSpec.from_config("a", "venv", {"env_requirements": ["six"]}).requirements == ("six",)


def test_from_config_reports_every_problem_naming_where(tmp_path):
    with pytest.raises(ConfigError) as info:
        EnvSpec.from_config(
            "bad/name",
            "venvv",
            {
                "env_py_version": 3.10,
                "env_config_pth": "x",
                "requirements": ["six", "", "'unbalanced"],
            },
            where="train.yaml: extra_configs",
        )
    lines = str(info.value).splitlines()
    assert all(line.startswith("train.yaml: extra_configs") for line in lines)
    text = str(info.value)
    assert "env_manager: 'venvv'" in text and "did you mean 'venv'" in text
    assert "quoted string such as '3.10'" in text
    assert "env_params.env_config_pth" in text and "did you mean 'env_config_path'" in text
    assert "requirements[1]" in text and "requirements[2]" in text
    assert "env_name" in text and "'bad/name'" in text
    with pytest.raises(ConfigError, match="conda environment file.*cannot read"):
        (tmp_path / "env.yml").write_text("name: x\n")
        EnvSpec.from_config("x", "venv", {"env_config_path": str(tmp_path / "env.yml")})
    with pytest.raises(ConfigError, match="env_config_path: file 'missing.txt' not found"):
        EnvSpec.from_config("x", "uv", {"env_config_path": "missing.txt"}, base_dirs=[tmp_path])
    with pytest.raises(ConfigError, match="env_params: expected a mapping"):
        EnvSpec.from_config("x", "uv", ["six"])
    with pytest.raises(ConfigError, match="requirements: expected a list"):
        EnvSpec.from_config("x", "uv", {"requirements": {"six": 1}})


def test_the_default_cache_folder_is_in_the_sandbox_cache(monkeypatch, tmp_path):
    from djsandbox.envs import envs_root

    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "cache"))
    assert envs_root() == (tmp_path / "cache" / "envs").resolve()
    assert envs_root("relative") == Path(os.getcwd(), "relative").resolve()
