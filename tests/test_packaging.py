"""A non-editable install (a built wheel) carries conf/ and the demo data, and composes."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from conftest import ROOT


def test_wheel_ships_conf_and_runs_from_it(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("djsandbox-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "djsandbox/conf/sandbox.yaml",
        "djsandbox/conf/pipeline/demo.yaml",
        "djsandbox/resources/fine_foods/train.jsonl",
        "djsandbox/resources/fine_foods/LICENSE.md",
        "djsandbox/resources/recipes/fine_foods_text.yaml",
    ):
        assert needed in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import djsandbox; print(djsandbox.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target))
    out = subprocess.run(
        [sys.executable, "-m", "djsandbox", "--cfg", "job", "--resolve", "work_dir=/tmp/x"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(target / "djsandbox" / "resources" / "fine_foods" / "train.jsonl") in out.stdout
