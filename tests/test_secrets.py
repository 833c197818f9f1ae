"""Secrets (#11, items 6-8): a Data-Juicer recipe's credentials reach Data-Juicer in memory
only, never a file, a log, stderr or the wandb run; messages never echo a secret's value;
`<provider>_key` settings are secrets, field-name `*_key` settings are not."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from djsandbox.redact import (
    MASK,
    field_keys,
    holds_secret,
    is_secret_key,
    redact,
    secret_values,
    show,
)

SECRET = "SECRET-123"
FINE_FOODS = Path(__file__).resolve().parents[1] / "src/djsandbox/resources/fine_foods/train.jsonl"


def _slice(folder: Path, rows: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = FINE_FOODS.read_text(encoding="utf-8").splitlines()[:rows]
    path = folder / "slice.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _recipe(data: Path) -> dict:
    return {
        "dataset": {
            "configs": [{"type": "local", "path": str(data), "aws_secret_access_key": SECRET}]
        },
        "np": 1,
        "process": [{"text_length_filter": {"min_len": 1, "max_len": 100000}}],
    }


def _files_holding(folder: Path, text: str) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and text.encode() in p.read_bytes()
    ]


# -- item 6: Data-Juicer gets the secret in memory; nothing it or we write holds it ---------------


def test_recipe_file_holds_a_placeholder_and_the_parsed_config_the_secret(tmp_path):
    from djsandbox.data.dj_runtime import build_dj_config

    cfg = build_dj_config(_recipe(_slice(tmp_path)), work_dir=tmp_path / "job")
    assert cfg.dataset["configs"][0]["aws_secret_access_key"] == SECRET  # what DJ runs with
    written = (tmp_path / "job" / "dj_recipe_process.yaml").read_text()
    assert SECRET not in written and "aws_secret_access_key: '***secret-1***'" in written


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """wandb offline, every folder it touches inside tmp_path, no key anywhere."""
    home = tmp_path / "wandb_home"
    home.mkdir()
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("NETRC", str(home / "netrc"))
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(home))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return home


def test_dj_recipe_secret_reaches_no_file_log_stream_or_wandb_run(
    run_cfg, wandb_env, tmp_path, capfd
):
    from loguru import logger

    from djsandbox.data.dj_runtime import prepare_offline_env

    prepare_offline_env()
    import data_juicer  # noqa: F401  (importing it replaces every loguru sink: import first)

    data = _slice(tmp_path / "data")
    seen: list[str] = []  # every loguru message, as any sink (a file, a stream) gets it
    sinks = [
        logger.add(lambda message: seen.append(str(message)), level="DEBUG"),
        # Data-Juicer's own stderr sink is bound to the stream of the moment it was imported
        # (maybe by an earlier test); this one is bound to this test's, as in a real run.
        logger.add(sys.stderr, level="INFO"),
    ]
    try:
        out = run_cfg(
            {
                "tracker": {"type": "wandb", "console": "wrap"},
                "probe_job_configs": [
                    {
                        "hook": "ProbeViaAnalyzerHook",
                        "meta_name": "probe",
                        "dj_configs": _recipe(data),
                        "extra_configs": {"cache": False},
                    }
                ],
                "execution_job_configs": [
                    {"hook": "ProcessDataHook", "meta_name": "process", "dj_configs": _recipe(data)}
                ],
            }
        )
    finally:
        for sink in sinks:
            logger.remove(sink)
    captured = capfd.readouterr()
    assert len(out.executed) == 2
    assert any("found dataset setting" in m for m in seen)  # DJ logged the dataset config
    assert _files_holding(out.work_dir, SECRET) == []  # the wandb run folder is in there
    assert _files_holding(wandb_env, SECRET) == []
    assert list(out.work_dir.rglob("dj_recipe_*.yaml")) and list(out.work_dir.rglob("*.log"))
    assert SECRET not in captured.out + captured.err
    # The streams and wandb's console capture did get Data-Juicer's log, with the config masked.
    assert "found dataset setting" in captured.err
    (console,) = out.work_dir.glob("wandb/offline-run-*/files/output.log")
    assert "'aws_secret_access_key': '***'" in console.read_text()
    assert not [m for m in seen if SECRET in m]


# -- item 7: messages never echo a secret's value -------------------------------------------------


def test_messages_give_the_type_of_a_secret_never_its_value():
    from djsandbox.inference.checks import check_api
    from djsandbox.value_checks import number, strings

    assert strings({"api_key": ["sk-abc"]}, "api_key") == [
        "api_key: got <list, hidden>; expected a non-empty string"
    ]
    assert number({"openai_key": 12345678}, "openai_key", int, 0, 10) == [
        "openai_key: got <int, hidden>; expected an integer in [0, 10]"
    ]
    assert strings({"text_key": 3}, "text_key") == ["text_key: got 3; expected a non-empty string"]
    problems = check_api({"model": "m", "base_url": "http://x", "api_key": ["sk-secret-1"]})
    assert problems and not any("sk-secret-1" in p for p in problems)
    assert show("model.api_key", {"a": 1}) == "<dict, hidden>"
    assert show("storage", "postgresql://me:pa55word@db/x") == "'postgresql://me:***@db/x'"


# -- item 8: `<provider>_key` is a secret; field-name `*_key` settings are not ------------------


def test_provider_keys_are_secrets_and_field_name_keys_are_not():
    import djsandbox.catalog  # noqa: F401  (registering the specs declares their field keys)

    for key in ("openai_key", "anthropicKey", "vars.openai_key", "aws_secret_access_key"):
        assert is_secret_key(key), key
    for key in (
        "text_key",
        "label_key",
        "infer_res_key",
        "predicted_label_key",
        "ground_truth_label_key",
        "ground_truth_value_key",
        "caption_key",
        "image_key",
        "video_key",
        "prompt_key",
        "response_key",
        "stats_key",
        "stats_keys",
        "max_tokens",
    ):
        assert not is_secret_key(key), key
    # The allow-list comes from the registered specs, not a hand-kept list.
    assert {"predicted_value_key", "infer_res_key"} <= field_keys()
    assert "api_key" not in field_keys()
    # A `*_key` mapping is configuration; a string under it is the secret.
    assert holds_secret("openai_key", "sk-1") and not holds_secret("sort_key", {"by": "x"})


def test_vars_provider_key_is_masked_in_snapshots_and_logs(run_cfg):
    out = run_cfg(
        {
            "vars": {"openai_key": "prov-0123456789", "text_key": "text"},
            "evaluation_job_configs": [
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "e",
                    "extra_configs": {"type": "test_echo", "value": 1},
                }
            ],
        }
    )
    snapshot = json.loads((out.work_dir / "config_snapshot.json").read_text())
    assert snapshot["vars"] == {"openai_key": MASK, "text_key": "text"}
    assert redact({"openai_key": "prov-0123456789"}) == {"openai_key": MASK}
    assert secret_values({"vars": {"openai_key": "prov-0123456789"}}) == {"prov-0123456789"}


def test_a_malformed_job_is_reported_without_its_secrets(run_cfg):
    from djsandbox.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        run_cfg({"evaluation_job_configs": [[{"api_key": "sk-job-0123456789"}]]})
    assert "expected a job mapping" in str(err.value) and "sk-job-0123456789" not in str(err.value)
