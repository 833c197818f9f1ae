"""Analyses go through the job cache under a key without filter bounds: the same data and
stats-relevant recipe is analysed once."""

from __future__ import annotations

import json
import logging

from conftest import FINE_FOODS


def recipe(data, export, min_len=10, rep_len=10):
    return {
        "dataset_path": str(data),
        "export_path": str(export),
        "np": 1,
        "text_keys": "text",
        "process": [
            {"text_length_filter": {"min_len": min_len, "max_len": 100000}},
            {
                "character_repetition_filter": {
                    "rep_len": rep_len,
                    "min_ratio": 0.0,
                    "max_ratio": 1.0,
                }
            },
        ],
    }


def analysis_job(meta, cfg):
    return {"hook": "ProbeViaAnalyzerHook", "meta_name": meta, "dj_configs": cfg}


def test_second_analysis_is_a_cache_hit_bounds_do_not_matter_args_do(run_cfg, tmp_path, caplog):
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(FINE_FOODS.joinpath("train.jsonl").read_text().splitlines()[:120]))
    caplog.set_level(logging.INFO, logger="djsandbox")
    out = run_cfg(
        {
            "probe_job_configs": [
                analysis_job("a", recipe(data, tmp_path / "a.jsonl")),
                analysis_job("b", recipe(data, tmp_path / "b.jsonl", min_len=50)),  # only a bound
                analysis_job("c", recipe(data, tmp_path / "c.jsonl", rep_len=5)),  # a stats arg
                {
                    **analysis_job("off", recipe(data, tmp_path / "off.jsonl")),
                    "extra_configs": {"cache": False},
                },
            ]
        }
    )
    res = out.context.iterations[0]["anonymous"]
    notes = {job["meta_name"]: job["notes"] for job in out.state.jobs.values()}
    assert "cache" not in notes["off"]
    assert [notes[m]["cache"] for m in "abc"] == ["miss", "hit", "miss"]
    assert res["b"]["res_2"]["stats"] == res["a"]["res_2"]["stats"]
    assert (
        res["c"]["res_2"]["stats"]["char_rep_ratio"] != res["a"]["res_2"]["stats"]["char_rep_ratio"]
    )
    assert (tmp_path / "b.jsonl").read_text() == (tmp_path / "a.jsonl").read_text()
    assert "job cache hit" in caplog.text
    # Changing the data's bytes changes the key.
    data.write_text(data.read_text().replace("the", "THE", 1))
    out = run_cfg(
        {"probe_job_configs": [analysis_job("d", recipe(data, tmp_path / "d.jsonl"))]},
        work_dir=str(tmp_path / "run2"),
    )
    assert next(iter(out.state.jobs.values()))["notes"]["cache"] == "miss"
    assert json.loads((tmp_path / "run2" / "sandbox_state.json").read_text())
