"""The table across the runs of a plain Hydra multirun: each run's overrides against its
metrics, written into the sweep folder at the end of the multirun and rebuilt by its CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from conftest import subprocess_env

from djsandbox.reporting import multirun_report
from djsandbox.reporting.document import PNG_MAGIC

ECHO = """# @package _global_
project_name: across
experiment_name: e
plugins: [hpo_test_plugins]
vars: {value: 1}
execution_job_configs:
  - hook: EvaluateDataHook
    meta_name: score
    extra_configs: {type: test_hpo_score, value: '${vars.value}'}
"""


def _multirun(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    (tmp_path / "conf" / "pipeline").mkdir(parents=True, exist_ok=True)
    (tmp_path / "conf" / "pipeline" / "echo.yaml").write_text(ECHO)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "-m",
            "+pipeline=echo",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
            *overrides,
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
        timeout=300,
    )


def _score(run_dir: Path) -> float:
    state = json.loads((run_dir / "sandbox_state.json").read_text())
    return state["context"]["iterations"][0]["anonymous"]["score"]["res_1"]["score"]


def test_a_multirun_writes_and_prints_its_runs_against_their_metrics(tmp_path, capsys):
    proc = _multirun(tmp_path, "vars.value=3,5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "outputs" / "across" / "e").glob("multirun_*")
    out = sweep_dir / "runs_report"

    # The metrics in the table are the ones each run stored in its state file.
    scores = {run: _score(sweep_dir / run) for run in ("0", "1")}
    assert scores == {"0": 3.0, "1": 5.0}
    with open(out / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["run"], r["vars.value"], float(r["score.score"])) for r in rows] == [
        ("0", "3", scores["0"]),
        ("1", "5", scores["1"]),
    ]
    assert all(r["status"] == "done" and r["pipeline"] == "anonymous" for r in rows)
    assert "pipeline (override)" not in rows[0]  # the same in every run: not a column

    # Printed once, after both runs, and written as Markdown (+ HTML) with a real PNG figure.
    printed = proc.stdout.split("# Across runs:", 1)[1]
    assert "| 0 | 3 | anonymous | done | 3.0 |" in printed
    assert "| 1 | 5 | anonymous | done | 5.0 |" in printed
    assert "every run: `pipeline=echo`" in printed
    md = (out / "report.md").read_text()
    assert "| run | vars.value | pipeline | status | score.score |" in md
    assert "![Each run's metrics](figures/metrics_by_run.png)" in md
    assert (out / "figures" / "metrics_by_run.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 1

    # The CLI rebuilds it from the folder (its own files are replaced, nothing else touched).
    (sweep_dir / "0" / "sandbox_state.json").unlink()
    assert multirun_report.main([str(sweep_dir)]) == 0
    assert "| 0 | 3 |  | no sandbox_state.json" in capsys.readouterr().out
    with open(out / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["score.score"] == "" and float(rows[1]["score.score"]) == 5.0


def test_a_multirun_stopped_by_a_failed_run_still_leaves_the_table(tmp_path):
    """Hydra ends a multirun with a failed run before `on_multirun_end`; with the default
    sequential launcher the table was rewritten after each run, the failed one included."""
    proc = _multirun(tmp_path, "vars.value=2,oops")
    assert proc.returncode != 0
    assert "the table of the runs so far" in proc.stdout + proc.stderr
    (sweep_dir,) = (tmp_path / "outputs" / "across" / "e").glob("multirun_*")
    with open(sweep_dir / "runs_report" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["run"], r["vars.value"], r["score.score"]) for r in rows] == [
        ("0", "2", "2.0"),
        ("1", "oops", ""),
    ]
    assert rows[0]["status"] == "done" and rows[1]["status"] == "0/1 jobs done, failed"


def _fake_run(folder: Path, *overrides: str) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))


def _state(folder: Path, score: float, per_item: list[float] | None = None) -> None:
    """A finished run's state as the runner saves it: one evaluation job and its result."""
    from djsandbox.context import RunState

    state = RunState(folder / "sandbox_state.json")
    state.context.start_iteration(0)
    results: dict = {"res_1": {"score": score}}
    if per_item:
        results["res_2"] = [{"acc": v} for v in per_item]
    state.context.record("anonymous", "score", results)
    state.set_status(
        0,
        "anonymous/evaluation/0",
        status="done",
        pipeline="anonymous",
        stage="evaluation",
        index=0,
        meta_name="score",
        hook="EvaluateDataHook",
        elapsed=0.5,
    )
    state.save()


def test_runs_in_numeric_order_with_a_parallel_figure_for_two_varied_overrides(tmp_path):
    for i, (a, b) in enumerate([(1, "x"), (2, "y"), (10, "x")]):
        _fake_run(tmp_path / str(i), f"vars.a={a}", f"vars.b={b}", "+pipeline=p")
        if i:
            _state(tmp_path / str(i), score=a / 10)
    path, text = multirun_report.write_runs_report(tmp_path)
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[:5] for line in lines[1:]] == [
        ["| 0", "1", "x", "", "no sandbox_state.json (stopped before its first job)"],
        ["| 1", "2", "y", "anonymous", "done"],
        ["| 2", "10", "x", "anonymous", "done"],  # numeric order: 2 before 10
    ]
    assert "score.score | total s |" in lines[0]
    assert "| 0.2 | 0.5 |" in lines[2] and "| 1.0 | 0.5 |" in lines[3]
    figures = sorted(p.name for p in (tmp_path / "runs_report" / "figures").glob("*.png"))
    assert figures == ["metrics_by_run.png", "parallel_coordinates.png"]
    assert "coloured by score.score" in path.read_text()


def test_items_of_pooled_results_get_rows_of_their_own(tmp_path):
    for i, value in enumerate((1, 2)):
        _fake_run(tmp_path / str(i), f"vars.a={value}")
        _state(tmp_path / str(i), score=value, per_item=[value / 10, value / 5])
    multirun_report.write_runs_report(tmp_path)
    with open(tmp_path / "runs_report" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = [(r["vars.a"], r["item"], r["acc"], r["score.score"]) for r in rows]
    assert got == [
        ("1", "", "", "1"),
        ("1", "[0]", "0.1", ""),
        ("1", "[1]", "0.2", ""),
        ("2", "", "", "2"),
        ("2", "[0]", "0.2", ""),
        ("2", "[1]", "0.4", ""),
    ]


def test_bad_folders_are_one_clear_error_and_exit_2(tmp_path, capsys):
    assert multirun_report.main([str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    assert multirun_report.main([str(tmp_path)]) == 2
    assert "no run folders in it" in capsys.readouterr().err

    # A runs_report/ the sandbox did not write is never written into.
    _fake_run(tmp_path / "0", "vars.a=1")
    _fake_run(tmp_path / "1", "vars.a=2")
    mine = tmp_path / "runs_report" / "runs.csv"
    mine.parent.mkdir()
    mine.write_text("my own table\n")
    assert multirun_report.main([str(tmp_path)]) == 2
    assert "was not written by the sandbox" in capsys.readouterr().err
    assert mine.read_text() == "my own table\n"
    assert sorted(p.name for p in mine.parent.iterdir()) == ["runs.csv"]

    # A broken overrides file is named, with what was expected.
    mine.unlink()
    (tmp_path / "1" / ".hydra" / "overrides.yaml").write_text("vars.a: [1\n")
    assert multirun_report.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "1/.hydra/overrides.yaml: cannot be read as Hydra's list of overrides" in err
