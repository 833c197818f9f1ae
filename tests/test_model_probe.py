"""ProbeViaModelInferHook: sampling, the inference executor it runs, analysis of the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.data.sampling import sample_rows
from djsandbox.errors import SandboxError


def _rows(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": i, "text": f"row number {i} " * (i % 5 + 1)}) + "\n"
            for i in range(20)
        )
    )
    return path


def test_sampling_algorithms_are_seeded_and_keep_file_order(data: Path, tmp_path: Path) -> None:
    out, n = sample_rows(data, tmp_path / "s.jsonl", ratio=0.25, algo="random", seed=3)
    ids = [r["id"] for r in _rows(out)]
    assert n == 5 and ids == sorted(ids)
    again, _ = sample_rows(data, tmp_path / "t.jsonl", ratio=0.25, algo="random", seed=3)
    assert [r["id"] for r in _rows(again)] == ids
    other, _ = sample_rows(data, tmp_path / "u.jsonl", ratio=0.25, algo="random", seed=4)
    assert [r["id"] for r in _rows(other)] != ids
    head, _ = sample_rows(data, tmp_path / "h.jsonl", ratio=0.1, algo="head")
    tail, _ = sample_rows(data, tmp_path / "e.jsonl", ratio=0.1, algo="tail")
    assert [r["id"] for r in _rows(head)] == [0, 1] and [r["id"] for r in _rows(tail)] == [18, 19]
    with pytest.raises(ValueError, match="sample_ratio: got 0"):
        sample_rows(data, tmp_path / "x.jsonl", ratio=0)


def test_probe_samples_infers_and_analyses(run_cfg, data: Path, tmp_path: Path) -> None:
    outcome = run_cfg(
        {
            "probe_job_configs": [
                {
                    "hook": "ProbeViaModelInferHook",
                    "meta_name": "probe",
                    "dj_configs": {
                        "text_keys": "response",
                        "np": 1,
                        "process": [{"text_length_filter": {"min_len": 1, "max_len": 10000}}],
                    },
                    "extra_configs": {
                        "type": "test_shout",
                        "dataset_path": str(data),
                        "infer_res_key": "response",
                        "sample_ratio": 0.5,
                        "seed": 7,
                    },
                }
            ]
        }
    )
    inferred, analysed, summary = (
        outcome.context.lookup(f"anonymous.probe.res_{i}") for i in (1, 2, 3)
    )
    rows = _rows(inferred)
    assert len(rows) == 10 and all(r["response"] == r["text"].upper() + "!!" for r in rows)
    assert len(_rows(analysed)) == 10
    lengths = [len(r["response"]) for r in rows]
    assert summary["stats"]["text_len"]["max"] == max(lengths)  # the outputs were analysed
    assert summary["stats"]["text_len"]["min"] == min(lengths)


def test_probe_without_a_recipe_only_infers(run_cfg, data: Path) -> None:
    outcome = run_cfg(
        {
            "probe_job_configs": [
                {
                    "hook": "ProbeViaModelInferHook",
                    "meta_name": "probe",
                    "extra_configs": {
                        "type": "test_shout",
                        "dataset_path": str(data),
                        "sample_algo": "head",
                        "sample_ratio": 0.1,
                    },
                }
            ]
        }
    )
    result = {
        k: outcome.context.lookup(f"anonymous.probe.{k}") for k in ("res_1", "res_2", "res_3")
    }
    assert [r["id"] for r in _rows(result["res_1"])] == [0, 1]
    assert result["res_2"] is None and result["res_3"] is None


def test_probe_settings_are_checked_before_the_run(run_cfg, data: Path) -> None:
    with pytest.raises(SandboxError) as err:
        run_cfg(
            {
                "probe_job_configs": [
                    {
                        "hook": "ProbeViaModelInferHook",
                        "meta_name": "probe",
                        "dj_configs": {"process": [{"text_lenght_filter": {}}]},
                        "extra_configs": {
                            "type": "test_shuot",
                            "dataset_path": str(data),
                            "sample_ratio": 2,
                            "sample_algo": "best",
                        },
                    }
                ]
            }
        )
    msg = str(err.value)
    assert "extra_configs.sample_ratio: got 2" in msg and "extra_configs.sample_algo" in msg
    assert "Did you mean 'test_shout'?" in msg and "text_lenght_filter" in msg
