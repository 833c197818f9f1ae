"""`python -m djsandbox --help`: the app's own help, listing pipelines and groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import subprocess_env

from djsandbox.__main__ import CONF_DIR
from djsandbox.app_help import summary


def test_help_lists_pipelines_with_their_purpose_groups_and_examples(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "djsandbox", "--help"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
        check=True,
    ).stdout
    for pipeline in sorted((Path(CONF_DIR) / "pipeline").glob("*.yaml")):
        line = next(x for x in out.splitlines() if x.strip().startswith(pipeline.stem + " "))
        assert summary(pipeline.read_text()) in line and len(summary(pipeline.read_text())) > 20
    assert "trainer: cpu, ddp, debug" in out and "tracker: csv, none" in out
    assert out.count("python -m djsandbox ") >= 2  # the examples
    for internal in ("schema", "pipelines: null", "powered by Hydra", "$"):
        assert internal not in out, internal
    assert not (tmp_path / "outputs").exists()


def test_summary_is_the_first_sentence_of_the_leading_comment():
    text = "# @package _global_\n# Does k help? More words.\n#   python -m djsandbox\nk: 1\n"
    assert summary(text) == "Does k help?"
    assert summary("# @package _global_\n# A flow, on text:\n#   example\n") == "A flow, on text"
    assert summary("# one\n# two.\nx: 1\n") == "one two."
