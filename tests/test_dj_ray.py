"""Data-Juicer on Ray: a real Ray head started on 127.0.0.1 by the test, the demo's analysis,
k-sigma refinement and processing run on it, compared with the default executor."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import ray_cluster
import yaml
from conftest import FINE_FOODS, ROOT

RECIPE = ROOT / "src" / "djsandbox" / "resources" / "recipes" / "fine_foods_text.yaml"


@pytest.fixture(scope="module")
def ray_head():
    with ray_cluster.ray_head(num_cpus=1) as address:
        yield address


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _without_stats(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "__dj__stats__"}


def _recipe(**extra) -> dict:
    recipe = yaml.safe_load(RECIPE.read_text())
    return {**recipe, "np": 1, "dataset_path": str(FINE_FOODS / "train.jsonl"), **extra}


@pytest.mark.slow
def test_demo_refine_and_process_on_a_ray_head_match_the_default_executor(ray_head, tmp_path):
    import ray

    from djsandbox.data.dj_analyze import analyze
    from djsandbox.data.dj_process import process
    from djsandbox.data.k_sigma import refine_recipe_k_sigma

    on_ray = {"executor_type": "ray", "ray_address": ray_head}
    export_default, default = analyze(_recipe(), work_dir=tmp_path / "a_default")
    export_ray, summary = analyze(_recipe(**on_ray), work_dir=tmp_path / "a_ray")
    assert not ray.is_initialized()  # the job connected, and let go afterwards
    # Same contract: one file where the default executor writes it, same rows, same summary.
    assert export_ray == str(tmp_path / "a_ray" / "dj_export" / "analyze.jsonl")
    assert Path(export_ray).is_file()
    rows_ray, rows_default = _rows(export_ray), _rows(export_default)
    assert [_without_stats(r) for r in rows_ray] == [_without_stats(r) for r in rows_default]
    assert summary["rows"] == default["rows"] == 4000
    # The same summary (keys, percentiles), to Data-Juicer's default rounding of stats.
    assert summary["stats"].keys() == default["stats"].keys()
    for key, values in default["stats"].items():
        assert summary["stats"][key] == pytest.approx(values, rel=1e-8, abs=1e-9), key
    assert (Path(summary["analysis_dir"]) / "overall.csv").is_file()
    assert "RAY_JOB" not in os.environ  # Data-Juicer's Ray flag did not outlive the job

    refined, _ = refine_recipe_k_sigma(_recipe(), default["stats"], k=3)
    kept_default = process(refined, work_dir=tmp_path / "p_default")
    kept_ray = process({**refined, **on_ray}, work_dir=tmp_path / "p_ray")
    assert kept_ray["export_path"] == str(tmp_path / "p_ray" / "dj_export" / "data.jsonl")
    assert (kept_ray["rows_in"], kept_ray["rows_out"]) == (4000, kept_default["rows_out"])
    assert 0 < kept_ray["rows_out"] < 4000  # k-sigma dropped some rows
    assert [r["text"] for r in _rows(kept_ray["export_path"])] == [
        r["text"] for r in _rows(kept_default["export_path"])
    ]
    assert not list((tmp_path / "p_ray" / "dj").glob("*_ray_shards*"))  # shards joined


def test_an_unreachable_ray_address_is_a_missing_resource():
    from djsandbox.data.dj_ray import ray_address_problems
    from djsandbox.resource_problems import Resource

    port = ray_cluster.free_port()  # nothing listens there
    problems = ray_address_problems({"executor_type": "ray", "ray_address": f"127.0.0.1:{port}"})
    assert len(problems) == 1 and isinstance(problems[0], Resource)
    assert "dj_configs.ray_address" in problems[0] and "ray start --head" in problems[0].fix
    client = {"executor_type": "ray", "ray_address": f"ray://127.0.0.1:{port}"}
    assert isinstance(ray_address_problems(client)[0], Resource)
    # Not checked: a local Ray, or a recipe on the default executor.
    assert ray_address_problems({"executor_type": "ray", "ray_address": "auto"}) == []
    assert ray_address_problems({"ray_address": f"127.0.0.1:{port}"}) == []
    bad = ray_address_problems({"executor_type": "ray", "ray_address": "head-node"})
    assert bad and not isinstance(bad[0], Resource) and "host:port" in bad[0]


def test_check_reports_an_unreachable_ray_head_before_any_job(tmp_path, capsys):
    """`--check` on a config whose analysis runs on an unreachable head: exit 4 (missing
    resources), the address named in that section, nothing written."""
    from djsandbox import cli
    from djsandbox.errors import EXIT_RESOURCES

    port = ray_cluster.free_port()
    recipe = _recipe(executor_type="ray", ray_address=f"127.0.0.1:{port}")
    config = {
        "work_dir": str(tmp_path / "run"),
        "probe_job_configs": [
            {"hook": "ProbeViaAnalyzerHook", "meta_name": "analysis", "dj_configs": recipe}
        ],
    }
    path = tmp_path / "sandbox.yaml"
    path.write_text(yaml.safe_dump(config))
    assert cli.main(["--config", str(path), "--check"]) == EXIT_RESOURCES
    out = capsys.readouterr()
    text = out.out + out.err
    assert "missing resources" in text and f"127.0.0.1:{port}" in text, text
    assert "ray start --head" in text
    assert not (tmp_path / "run").exists()
