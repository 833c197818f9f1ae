"""The run's progress display and where log lines go (djsandbox.progress)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from djsandbox.progress import JOB_LOG, job_log, quiet_terminal, using

PLUGINS = ["progress_test_plugins"]
CHATTER = (
    "library chatter at info",
    "loguru chatter at info",
    "nvidia-smi",
    "an old library api",
    "transformers advice",
)
MATTERS = (
    "library warning that matters",
    "loguru warning that matters",
    "transformers error that matters",
    "the sandbox's own line",
)


def job(meta: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"hook": "EvaluateDataHook", "meta_name": meta, "extra_configs": {"type": kind, **extra}}


class Recorder:
    """A `Progress` that keeps every event."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def run_started(self, n_jobs: int) -> None:
        self.events.append(("run", n_jobs))

    def job_started(self, i: int, label: str) -> None:
        self.events.append(("start", i, label))

    def job_skipped(self, i: int, label: str) -> None:
        self.events.append(("skip", i, label))

    def job_progress(self, done: int, total: int | None, what: str, **metrics: Any) -> None:
        self.events.append(("progress", done, total, what, metrics))

    def job_finished(self, status: str, elapsed: float) -> None:
        self.events.append(("finish", status))

    def run_finished(self) -> None:
        self.events.append(("end",))


@contextlib.contextmanager
def console():
    """A terminal log handler on the root logger, as Hydra and `dj-sandbox` install one (made
    inside the test: capfd's stderr is in place only then)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_plain_lines_for_a_small_run(run_cfg, capsys):
    run_cfg(
        {
            "pipelines": {
                "p": {
                    "probe_job_configs": [job("a", "test_steps", steps=3)],
                    "evaluation_job_configs": [job("b", "test_steps", steps=1)],
                }
            }
        },
        plugins=PLUGINS,
    )
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(("run:", "["))]
    lines = [re.sub(r"in \d+\.\d s$", "in T", line) for line in lines]
    assert lines == [
        "run: 2 job(s)",
        "[1/2] p · probe · a",
        "[1/2]   steps 1/3 loss=1",  # a new count is shown at once
        "[1/2]   steps 3/3 loss=0.3333",  # 2/3 held back (within the interval), 3/3 is the end
        "[1/2] done in T",
        "[2/2] p · evaluation · b",
        "[2/2]   steps 1/1 loss=1",
        "[2/2] done in T",
    ]


def test_library_lines_go_to_the_job_log_not_the_terminal(run_cfg, capfd):
    with console():
        out = run_cfg({"execution_job_configs": [job("talk", "test_chatter")]}, plugins=PLUGINS)
    captured = capfd.readouterr()
    terminal = captured.out + captured.err
    for line in CHATTER:
        assert line not in terminal, line
    for line in MATTERS:
        assert line in terminal, line
    assert "[1/1] anonymous · execution · talk" in captured.out  # the display, not a log line
    assert "run [1/1]" not in terminal
    status = next(iter(out.state.jobs.values()))
    text = (Path(status["job_dir"]) / JOB_LOG).read_text(encoding="utf-8")
    for line in CHATTER + MATTERS:
        assert line in text, line
    assert "FutureWarning" in text


def test_verbose_shows_every_line(run_cfg, capfd):
    with console():
        out = run_cfg(
            {"execution_job_configs": [job("talk", "test_chatter")]}, plugins=PLUGINS, verbose=True
        )
    captured = capfd.readouterr()
    for line in CHATTER + MATTERS:
        assert line in captured.out + captured.err, line
    status = next(iter(out.state.jobs.values()))
    text = (Path(status["job_dir"]) / JOB_LOG).read_text(encoding="utf-8")
    for line in CHATTER + MATTERS:
        assert line in text, line


def test_live_display_on_a_terminal(run_cfg, monkeypatch):
    from rich.console import Console

    from djsandbox.progress import live, session

    screen = io.StringIO()
    display = live.LiveProgress(Console(file=screen, force_terminal=True, width=100))
    monkeypatch.setattr(session, "make_display", lambda: display)
    run_cfg(
        {
            "pipelines": {
                "p": {"execution_job_configs": [job("a", "test_steps"), job("b", "test_echo")]}
            }
        },
        plugins=PLUGINS + ["sandbox_test_plugins"],
    )
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert re.search(r"✓ \[1/2\] p · execution · a: done in \d", shown)
    assert re.search(r"✓ \[2/2\] p · execution · b: done in \d", shown)


def test_data_juicer_ops_are_reported_from_its_log():
    from loguru import logger

    from djsandbox.data.dj_progress import reporting_dj_progress

    as_dj = logger.patch(lambda r: r.update(name="data_juicer.core.data.dj_dataset"))
    recorder = Recorder()
    with using(recorder), reporting_dj_progress(2):
        as_dj.info("Loading dataset with num_proc: 2")
        as_dj.info("[1/2] OP [text_length_filter] Done in 1.2s. Left 90 samples.")
        logger.info("[2/2] OP [not_from_data_juicer] Done in 1.0s. Left 1 samples.")
        as_dj.info("[1/1] OP [words_num_filter] Done in 0.5s. Left 80 samples.")  # Analyzer
        as_dj.info("Exporting dataset to disk...")
    assert [e[1:] for e in recorder.events] == [
        (0, 2, "starting Data-Juicer", {}),
        (0, 2, "loading the dataset", {}),
        (1, 2, "ops", {"op": "text_length_filter", "rows": 90}),
        (2, 2, "ops", {"op": "words_num_filter", "rows": 80}),
        (2, 2, "exporting", {}),
    ]


def test_inference_reports_rows_answered(tmp_path):
    from djsandbox.inference.rows import RowSpec, infer_file

    src = tmp_path / "rows.jsonl"
    src.write_text("".join(f'{{"text": "row {i}"}}\n' for i in range(130)), encoding="utf-8")
    calls: list[int] = []

    def generate(requests):
        calls.append(len(requests))
        return ["ok"] * len(requests)

    recorder = Recorder()
    with using(recorder):
        counts = infer_file(RowSpec.from_cfg({}), src, tmp_path / "out.jsonl", generate)
    assert counts == {"rows": 130, "ok": 130, "failed": 0}
    assert calls == [64, 64, 2]
    assert [e[1:4] for e in recorder.events] == [
        (64, 130, "rows answered"),
        (128, 130, "rows answered"),
        (130, 130, "rows answered"),
    ]


def test_lightning_reports_epochs_with_loss_and_logs_once(tmp_path, capfd):
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from djsandbox.models.lightning_trainer import make_trainer

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train/loss", loss, on_step=True, on_epoch=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.randn(12, 3), torch.randn(12, 1)), batch_size=4)
    recorder = Recorder()
    with console(), using(recorder), quiet_terminal(), job_log(tmp_path):
        # as when `lightning` is first imported inside a job: its own handler on its logger
        logging.getLogger("lightning").addHandler(logging.StreamHandler(sys.stderr))
        trainer = make_trainer({"max_epochs": 2, "log_every_n_steps": 1}, tmp_path)
        trainer.fit(Tiny(), data)
    epochs = [e for e in recorder.events if e[3] == "epochs"]
    assert [(e[1], e[2]) for e in epochs] == [(1, 2), (2, 2)]
    assert all(isinstance(e[4]["loss"], float) for e in epochs)
    steps = [e for e in recorder.events if e[3] == "epoch 1/2 steps"]
    assert [(e[1], e[2]) for e in steps] == [(1, 3), (2, 3)]  # step 3/3: the epoch's report
    captured = capfd.readouterr()
    assert "GPU available" not in captured.out + captured.err
    assert (tmp_path / JOB_LOG).read_text(encoding="utf-8").count("GPU available") == 1


def test_plain_lines_for_a_failed_job_and_its_resume(run_cfg, capsys, tmp_path):
    from djsandbox.errors import JobFailedError

    cfg = {
        "pipelines": {
            "p": {
                "execution_job_configs": [
                    job("a", "test_echo", value=1),
                    job("b", "test_fail_once", marker=str(tmp_path / "marker")),
                ]
            }
        }
    }
    plugins = PLUGINS + ["sandbox_test_plugins"]
    with pytest.raises(JobFailedError):
        run_cfg(cfg, plugins=plugins)
    first = capsys.readouterr().out.splitlines()
    run_cfg(cfg, plugins=plugins, resume=True)
    second = capsys.readouterr().out.splitlines()
    assert re.search(r"^\[2/2\] failed in \d", "\n".join(first), flags=re.M)
    assert "[1/2] p · execution · a: skipped (done before)" in second
    assert re.search(r"^\[2/2\] done in \d", "\n".join(second), flags=re.M)
