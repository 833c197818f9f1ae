"""Experiment tracking: what wandb (offline), TensorBoard and CSV receive, and secret redaction.

wandb 0.31 offline writes `<dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb` (a LevelDB-log
file of protobuf `Record`s; no wandb-summary.json offline) plus `files/media/table/...` for
tables. It ships no Python reader any more, so `wandb_records` reads that file with wandb's own
protobuf classes (`wandb.proto.wandb_internal_pb2.Record`).
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import FINE_FOODS, heavy_modules_after

from djsandbox.errors import ConfigError, JobFailedError
from djsandbox.redact import MASK, SecretLogFilter, is_secret_key, redact
from djsandbox.reporting.trackers.active import active_tracker, curve_prefix, lightning_loggers
from djsandbox.reporting.trackers.base import JobRecord, Tracker
from djsandbox.reporting.trackers.catalog import TRACKERS as TRACKER_TYPES
from djsandbox.reporting.trackers.catalog import register_tracker, tracker_settings

SECRET = "sk-live-0123456789abcdefXYZ"


# -- reading what wandb wrote -------------------------------------------------------------------


def _leveldb_chunks(data: bytes) -> Iterator[bytes]:
    """Records of wandb's transaction log: a 7-byte ':W&B' header, then LevelDB-log blocks of
    32 KiB whose records carry a 7-byte header (crc32, length, type full/first/middle/last)."""
    assert data[:4] == b":W&B", data[:7]
    block, pos, pending = 32768, 7, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if length == 0 and kind == 0:  # zero padding to the end of the block
            pos += left
            continue
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:
            yield chunk
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk
            pending = b""


def wandb_records(run_folder: Path) -> tuple[Path, list[Any]]:
    """(the offline run's folder, its protobuf records) for the one offline run under it."""
    from wandb.proto import wandb_internal_pb2 as pb

    runs = sorted(run_folder.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(runs) == 1, runs
    records = []
    for raw in _leveldb_chunks(runs[0].read_bytes()):
        record = pb.Record()
        record.ParseFromString(raw)
        records.append(record)
    return runs[0].parent, records


def wandb_history(records: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            (item.key or "/".join(item.nested_key)): json.loads(item.value_json)
            for item in r.history.item
        }
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]


def wandb_run_info(records: list[Any]) -> Any:
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")


def wandb_config(run: Any) -> dict[str, Any]:
    return {item.key: json.loads(item.value_json) for item in run.config.update}


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """wandb offline, with every folder it might touch inside tmp_path and no key anywhere."""
    home = tmp_path / "wandb_home"
    home.mkdir()
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("NETRC", str(home / "netrc"))
    for var in (
        "WANDB_DIR",
        "WANDB_CONFIG_DIR",
        "WANDB_CACHE_DIR",
        "WANDB_DATA_DIR",
        "WANDB_ARTIFACT_DIR",
    ):
        monkeypatch.setenv(var, str(home))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return home


def echo(meta: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "hook": "EvaluateDataHook",
        "meta_name": meta,
        "extra_configs": {"type": "test_echo", "value": value, **extra},
    }


ANALYSIS = {
    "rows": 10,
    "analysis_dir": "x",
    "stats": {
        "text_len": {"count": 10, "mean": 42.0, "std": 3.5, "min": 30, "max": 50},
        "alnum_ratio": {"count": 10, "mean": 0.8, "std": 0.1},
    },
}


# -- wandb ----------------------------------------------------------------------------------------


def test_wandb_offline_run_holds_config_results_tables_and_summary(run_cfg, wandb_env, tmp_path):
    out = run_cfg(
        {
            "project_name": "proj",
            "experiment_name": "exp",
            "tracker": {"type": "wandb"},
            "vars": {"openai": {"api_key": SECRET}},
            "execution_job_configs": [echo("probe", ANALYSIS)],
            "evaluation_job_configs": [echo("score", {"accuracy": 0.75, "f1": 0.5, "ok": True})],
        }
    )
    run_dir, records = wandb_records(out.work_dir)
    assert run_dir.parent == out.work_dir / "wandb"  # inside the run folder
    info = wandb_run_info(records)
    assert (info.project, info.display_name) == ("proj", "exp")
    config = wandb_config(info)
    assert config["vars"] == {"openai": {"api_key": MASK}}
    assert config["tracker"]["type"] == "wandb"

    history = wandb_history(records)
    rows = [h for h in history if "anonymous/score/res_1.accuracy" in h]
    assert rows and rows[0]["anonymous/score/res_1.accuracy"] == 0.75
    assert rows[0]["sandbox/iteration"] == 0
    assert "anonymous/score/res_1.ok" not in rows[0]  # booleans are not metrics
    probe = next(h for h in history if "anonymous/probe/res_1.rows" in h)
    assert probe["anonymous/probe/res_1.stats/_type"] == "table-file"
    assert not any(k.startswith("anonymous/probe/res_1.stats.") for k in probe)

    table = json.loads((run_dir / "files" / probe["anonymous/probe/res_1.stats/path"]).read_text())
    assert table["columns"][:3] == ["stat", "count", "mean"]
    assert table["data"][0][:3] == ["text_len", 10, 42.0]
    summary = next(h for h in history if "summary/pipelines/path" in h)
    pipelines = json.loads((run_dir / "files" / summary["summary/pipelines/path"]).read_text())
    assert "score.accuracy" in pipelines["columns"] and pipelines["data"][0][0] == "anonymous"
    exit_record = next(r for r in records if r.WhichOneof("record_type") == "exit")
    assert exit_record.exit.exit_code == 0
    assert SECRET.encode() not in b"".join(
        p.read_bytes() for p in out.work_dir.rglob("*") if p.is_file()
    )
    assert active_tracker() is None


def _slice(tmp_path: Path, rows: int = 300) -> Path:
    lines = (FINE_FOODS / "train.jsonl").read_text(encoding="utf-8").splitlines()[:rows]
    path = tmp_path / "train300.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _train_job(data: Path) -> dict[str, Any]:
    return {
        "hook": "TrainModelHook",
        "meta_name": "train",
        "output": ["checkpoint", "metrics"],
        "extra_configs": {
            "type": "text_classifier",
            "dataset_path": str(data),
            "max_epochs": 1,
            "batch_size": 32,
            "trainer": {"log_every_n_steps": 2},
        },
    }


def test_training_curves_land_in_the_same_wandb_run(run_cfg, wandb_env, tmp_path):
    out = run_cfg(
        {"tracker": {"type": "wandb"}, "execution_job_configs": [_train_job(_slice(tmp_path))]}
    )
    _run_dir, records = wandb_records(out.work_dir)
    history = wandb_history(records)
    curve = [h for h in history if "curves/anonymous/train/train/loss_step" in h]
    assert curve, [sorted(h) for h in history]
    assert all("curves/anonymous/train/global_step" in h for h in curve)
    assert any("curves/anonymous/train/val/accuracy" in h for h in history)
    assert any("anonymous/train/metrics.val_accuracy" in h for h in history)  # job result
    updates = [
        c for r in records if r.WhichOneof("record_type") == "config" for c in r.config.update
    ]
    assert any(c.key == "curves/anonymous/train/hparams" for c in updates)
    # The classifier's own CSV log is still written.
    assert list(out.work_dir.glob("iter_0/anonymous/*train/logs/version_0/metrics.csv"))


# -- tensorboard ----------------------------------------------------------------------------------


def test_tensorboard_gets_job_scalars_and_training_curves(run_cfg, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = run_cfg(
        {
            "tracker": {"type": "tensorboard"},
            "execution_job_configs": [_train_job(_slice(tmp_path))],
            "evaluation_job_configs": [echo("score", {"accuracy": 0.25})],
        }
    )
    root = out.work_dir / "tensorboard"
    jobs = EventAccumulator(str(root / "sandbox")).Reload()
    assert jobs.Scalars("anonymous/score/res_1.accuracy")[0].value == pytest.approx(0.25)
    curves = EventAccumulator(str(root / "curves" / "anonymous" / "train")).Reload()
    assert "train/loss_step" in curves.Tags()["scalars"], curves.Tags()
    assert len(curves.Scalars("train/loss_step")) >= 2


# -- csv ------------------------------------------------------------------------------------------


def test_csv_tracker_writes_every_number(run_cfg):
    import csv

    out = run_cfg(
        {
            "tracker": {"type": "csv"},
            "execution_job_configs": [echo("probe", ANALYSIS)],
            "evaluation_job_configs": [
                echo("a", {"x": 1.5, "nested": {"y": [2, 3]}}),
                echo("b", 7),
            ],
        }
    )
    rows = list(csv.DictReader((out.work_dir / "metrics.csv").open()))
    values = {r["key"]: float(r["value"]) for r in rows}
    assert values == {
        "anonymous/probe/res_1.rows": 10,
        "anonymous/a/res_1.x": 1.5,
        "anonymous/a/res_1.nested.y[0]": 2,
        "anonymous/a/res_1.nested.y[1]": 3,
        "anonymous/b/res_1": 7,
    }
    assert {r["stage"] for r in rows} == {"execution", "evaluation"}
    entries = [json.loads(x) for x in (out.work_dir / "metrics.jsonl").read_text().splitlines()]
    assert entries[0]["tables"]["anonymous/probe/res_1.stats"]["text_len"]["mean"] == 42.0


# -- secrets --------------------------------------------------------------------------------------


def test_redact_masks_secret_keys_at_any_depth_and_keeps_the_rest():
    cfg = {
        "api_key": SECRET,
        "nested": [{"HF_TOKEN": "abc123456"}, {"wandbApiKey": "k" * 40}],
        "db": {"password": "hunter2", "user": "me"},
        "Authorization": "Bearer abcdefghijklmnop",
        "client_secret": None,
        "max_tokens": 512,
        "text_key": "text",
        "tokenizer": "bert",
        "storage": "postgresql://me:pa55word@db:5432/optuna",
        "note": f"key is {SECRET}",
    }
    out = redact(cfg)
    assert out["api_key"] == MASK and out["nested"] == [{"HF_TOKEN": MASK}, {"wandbApiKey": MASK}]
    assert out["db"] == {"password": MASK, "user": "me"} and out["Authorization"] == MASK
    assert out["client_secret"] is None  # unset stays visibly unset
    assert (out["max_tokens"], out["text_key"], out["tokenizer"]) == (512, "text", "bert")
    assert out["storage"] == "postgresql://me:***@db:5432/optuna"
    assert out["note"] == "key is ***"
    assert cfg["api_key"] == SECRET  # a copy; the run keeps its real values
    assert is_secret_key("WANDB_API_KEY") and not is_secret_key("label_key")


def test_secrets_never_reach_snapshot_job_config_tracker_or_logs(run_cfg, caplog):
    caplog.handler.addFilter(SecretLogFilter())  # stands in for the run's handlers
    out = run_cfg(
        {
            "tracker": {"type": "csv"},
            "vars": {"creds": {"token": "tok-123456789"}},
            "evaluation_job_configs": [
                echo(
                    "e",
                    {"score": 1.0, "api_key": SECRET},
                    password="hunter2hunter2",
                    auth={"Authorization": "Basic xyzxyz123"},
                )
            ],
        }
    )
    snapshot = json.loads((out.work_dir / "config_snapshot.json").read_text())
    assert snapshot["vars"]["creds"]["token"] == MASK
    extra = snapshot["evaluation_job_configs"][0]["extra_configs"]
    assert extra["password"] == MASK and extra["auth"] == MASK
    job_config = json.loads(next(out.work_dir.rglob("job_config.json")).read_text())
    assert job_config["extra_configs"]["password"] == MASK
    assert job_config["extra_configs"]["value"]["api_key"] == MASK
    written = "".join(
        p.read_text(errors="replace")
        for p in out.work_dir.rglob("*")
        if p.is_file() and p.name != "sandbox_state.json"
    )
    for secret in (SECRET, "hunter2hunter2", "tok-123456789", "xyzxyz123"):
        assert secret not in written
    # A secret value of the config that reaches a log record is masked by the run's filter.
    from djsandbox.reporting.trackers.guard import GuardedTracker

    guard = GuardedTracker("none", Tracker())
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        guard.run_started({"tracker": {"api_key": "abcdefgh-secret"}}, out.work_dir)
        record = logging.LogRecord(
            "x", logging.INFO, __file__, 1, "key=%s", ("abcdefgh-secret",), None
        )
        assert all(f.filter(record) for f in handler.filters)
        assert record.getMessage() == f"key={MASK}"
        guard.run_finished("done")
        assert not handler.filters
    finally:
        logging.getLogger().removeHandler(handler)


# -- configuration errors and failures --------------------------------------------------------------


def test_misconfigured_tracker_is_a_config_error_before_the_run(run_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown tracker 'wandbb' \(did you mean 'wandb'\?\)"):
        run_cfg({"tracker": {"type": "wandbb"}, "execution_job_configs": [echo("e", 1)]})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'projcet' \(did you mean 'project'"):
        run_cfg(
            {"tracker": {"type": "wandb", "projcet": "x"}, "execution_job_configs": [echo("e", 1)]}
        )
    with pytest.raises(ConfigError, match="tracker.mode"):
        tracker_settings({"tracker": {"type": "wandb", "mode": "sometimes"}})
    assert not (tmp_path / "run" / "sandbox_state.json").exists()
    assert tracker_settings({"tracker": "csv"}) == ("csv", {"filename": "metrics.csv"})
    assert tracker_settings({})[0] == "none"


class _Exploding(Tracker):
    def job_finished(self, record: JobRecord) -> None:
        raise RuntimeError("tracking backend is down")

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        raise AssertionError("a failed tracker is not asked for loggers")


def test_a_failing_tracker_warns_and_the_run_goes_on(run_cfg, caplog, monkeypatch):
    monkeypatch.setitem(TRACKER_TYPES, "test_exploding", TRACKER_TYPES["none"])
    register_tracker("test_exploding", lambda settings: _Exploding())
    with caplog.at_level(logging.WARNING, logger="djsandbox"):
        out = run_cfg(
            {
                "tracker": {"type": "test_exploding"},
                "execution_job_configs": [echo("a", 1), echo("b", 2)],
            }
        )
    assert len(out.executed) == 2  # both jobs ran although the first report raised
    assert "tracker test_exploding: logging job anonymous/a failed" in caplog.text
    assert "tracking backend is down" in caplog.text and "continues without tracking" in caplog.text
    assert active_tracker() is None and lightning_loggers(Path(".")) == []


def test_wandb_that_cannot_start_costs_only_the_tracking(run_cfg, wandb_env, caplog, monkeypatch):
    import wandb

    def broken_init(*args: Any, **kwargs: Any) -> None:
        raise wandb.Error("cannot start wandb-core")

    monkeypatch.setattr(wandb, "init", broken_init)
    with caplog.at_level(logging.WARNING, logger="djsandbox"):
        out = run_cfg({"tracker": {"type": "wandb"}, "execution_job_configs": [echo("a", 1)]})
    assert len(out.executed) == 1 and "tracker wandb: start failed" in caplog.text


def test_a_failing_job_still_closes_the_wandb_run(run_cfg, wandb_env, tmp_path):
    with pytest.raises(JobFailedError):
        run_cfg(
            {
                "tracker": {"type": "wandb"},
                "execution_job_configs": [
                    echo("a", 1),
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "boom",
                        "extra_configs": {"type": "test_fail_once", "marker": str(tmp_path / "m")},
                    },
                ],
            }
        )
    _run_dir, records = wandb_records(tmp_path / "run")
    assert next(r for r in records if r.WhichOneof("record_type") == "exit").exit.exit_code == 1
    assert active_tracker() is None


def test_curve_prefix_names_pipeline_and_job(tmp_path):
    job = tmp_path / "iter_0" / "refined" / "execution_1_train"
    assert curve_prefix(tmp_path, job) == "curves/refined/train"
    assert (
        curve_prefix(tmp_path, tmp_path / "iter_2" / "p" / "execution_0_t" / "pool_0")
        == "curves/iter_2/p/t/pool_0"
    )
    assert curve_prefix(None, job) == "curves/execution_1_train"


def test_cfg_job_with_wandb_tracker_composes_without_heavy_imports(tmp_path):
    heavy, out = heavy_modules_after(
        ["--cfg", "job", "tracker=wandb", "tracker.entity=me"],
        ("torch", "lightning", "data_juicer", "wandb", "tensorboard"),
        tmp_path,
    )
    assert heavy == [], out[-800:]
    assert "tracker:\n  type: wandb\n" in out and "entity: me" in out
    assert "pipelines:" in out  # the default pipeline is still added
