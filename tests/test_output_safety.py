"""What a run never overwrites or deletes (issue #11): inputs, the config, the package, the
analysis cache, files outside the run folder (unless `overwrite: true`), and folders that are
not run folders. Every refusal happens at validation, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.errors import ConfigError

ROWS = "".join(json.dumps({"text": f"row number {i} " * 5}) + "\n" for i in range(100))


def recipe(dataset: str, export: str | None = None) -> dict:
    rec = {
        "dataset_path": dataset,
        "np": 1,
        "text_keys": "text",
        "process": [{"text_length_filter": {"min_len": 10, "max_len": 100000}}],
    }
    if export is not None:
        rec["export_path"] = export
    return rec


def write_job(meta: str, export: str, overwrite=None, **extra) -> dict:
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": meta,
        "extra_configs": {"type": "test_write", "export_path": export, **extra},
    }
    return job if overwrite is None else {**job, "overwrite": overwrite}


def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim" / "x.jsonl"
    path.parent.mkdir()
    path.write_text(ROWS)
    return path


def refused(run_cfg, cfg: dict, **extra) -> str:
    with pytest.raises(ConfigError) as info:
        run_cfg(cfg, **extra)
    return str(info.value)


# -- item 1: a Data-Juicer job writing over its own input --------------------------------------


@pytest.mark.parametrize("hook", ["ProcessDataHook", "ProbeViaAnalyzerHook"])
def test_export_onto_the_dataset_is_refused_also_spelt_differently(run_cfg, tmp_path, hook):
    data = victim(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    other_spelling = str(tmp_path / "elsewhere" / ".." / "victim" / "." / "x.jsonl")
    msg = refused(
        run_cfg,
        {
            "execution_job_configs": [
                {"hook": hook, "meta_name": "p", "dj_configs": recipe(str(data), other_spelling)}
            ]
        },
    )
    assert "dj_configs.export_path: refusing to write" in msg and "this job reads" in msg
    assert data.read_text() == ROWS
    assert not (tmp_path / "run").exists(), "nothing is written before validation passes"


def test_an_output_over_an_input_of_an_earlier_job_is_refused_even_with_overwrite(
    run_cfg, tmp_path
):
    data = victim(tmp_path)
    msg = refused(
        run_cfg,
        {
            "probe_job_configs": [
                {"hook": "ProbeViaAnalyzerHook", "meta_name": "a", "dj_configs": recipe(str(data))}
            ],
            "execution_job_configs": [write_job("w", str(data), overwrite=True)],
        },
    )
    assert "extra_configs.export_path: refusing to write" in msg
    assert "(meta_name 'a') reads" in msg
    # an output folder that holds an input is refused too
    msg = refused(
        run_cfg,
        {
            "execution_job_configs": [
                {
                    "hook": "ProcessDataHook",
                    "meta_name": "p",
                    "dj_configs": recipe(str(data), str(data.parent)),
                }
            ]
        },
    )
    assert "this job reads" in msg
    assert data.read_text() == ROWS


def test_a_later_job_reading_an_earlier_output_is_fine(run_cfg, tmp_path):
    out = tmp_path / "new" / "made.txt"
    result = run_cfg(
        {
            "execution_job_configs": [
                write_job("w", str(out), content="made\n"),
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "r",
                    "extra_configs": {"type": "test_echo", "dataset_path": str(out), "value": 1},
                },
            ]
        }
    )
    assert out.read_text() == "made\n" and result.executed


# -- item 2: outputs over the config, the package, the cache, existing files --------------------


def test_k_sigma_recipe_over_the_config_file_is_refused(tmp_path, monkeypatch, capsys):
    from djsandbox.cli import main

    monkeypatch.chdir(tmp_path)
    data = victim(tmp_path)
    config = tmp_path / "sandbox.yaml"
    text = json.dumps(
        {
            "work_dir": str(tmp_path / "run"),
            "refine_recipe_job_configs": [
                {
                    "hook": "RefineRecipeViaKSigmaHook",
                    "meta_name": "k",
                    "dj_configs": recipe(str(data)),
                    "extra_configs": {"stats": {}, "path_k_sigma_recipe": "./sandbox.yaml"},
                }
            ],
        }
    )
    config.write_text(text)
    assert main(["--config", str(config), "--check"]) == 2
    assert "the config file of this run" in capsys.readouterr().err
    assert main(["--config", str(config)]) == 2
    assert config.read_text() == text and not (tmp_path / "run").exists()


def test_outputs_into_the_package_or_the_job_cache_are_refused_even_with_overwrite(
    run_cfg,
):
    import djsandbox
    from djsandbox.cache import cache_root

    conf_file = Path(djsandbox.__file__).parent / "conf" / "pipeline" / "demo.yaml"
    before = conf_file.read_text()
    msg = refused(
        run_cfg,
        {
            "execution_job_configs": [
                write_job("pkg", str(conf_file), overwrite=True),
                write_job(
                    "cache", str(cache_root() / "entries" / "x" / "meta.json"), overwrite=True
                ),
            ]
        },
    )
    assert "the djsandbox package" in msg and "the shared job cache" in msg
    assert conf_file.read_text() == before


def test_an_existing_file_outside_the_run_folder_needs_overwrite_true(run_cfg, tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("mine\n")
    msg = refused(run_cfg, {"execution_job_configs": [write_job("w", str(target))]})
    assert "exists outside the run folder; set `overwrite: true`" in msg
    assert target.read_text() == "mine\n"
    msg = refused(
        run_cfg, {"execution_job_configs": [write_job("w", str(target), overwrite="yes")]}
    )
    assert "overwrite: expected true or false" in msg
    run_cfg({"execution_job_configs": [write_job("w", str(target), overwrite=True)]})
    assert target.read_text() == "written: true\n"


def test_outputs_inside_the_run_folder_and_resume_after_a_failure_are_fine(run_cfg, tmp_path):
    outside = tmp_path / "out" / "first.txt"
    cfg = {
        "execution_job_configs": [
            write_job("w", str(outside)),
            write_job("inside", "${work_dir}/inside.txt"),
            {
                "hook": "EvaluateDataHook",
                "meta_name": "flaky",
                "extra_configs": {"type": "test_fail_once", "marker": str(tmp_path / "m")},
            },
        ]
    }
    with pytest.raises(Exception, match="planned failure"):
        run_cfg(cfg)
    out = run_cfg(cfg, resume=True)  # the earlier attempt wrote `first.txt`: not refused
    assert [key.split("/")[4] for key in out.executed] == ["flaky"]


# -- item 3: the run folder ----------------------------------------------------------------


def test_an_empty_work_dir_is_a_config_error(run_cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # '' used to mean the current directory
    msg = refused(
        run_cfg, {"execution_job_configs": [write_job("w", str(tmp_path / "o"))]}, work_dir=""
    )
    assert "work_dir: expected the path of the run folder, got ''" in msg


def test_a_non_empty_folder_that_is_not_a_run_folder_is_left_alone(run_cfg, tmp_path):
    folder = tmp_path / "mine"
    (folder / "report" / "figures").mkdir(parents=True)
    (folder / "summary.md").write_text("my notes\n")
    (folder / "report" / "report.md").write_text("my report\n")
    (folder / "report" / "figures" / "plot.png").write_bytes(b"png")
    msg = refused(
        run_cfg,
        {"execution_job_configs": [write_job("w", "${work_dir}/o.txt")]},
        work_dir=str(folder),
    )
    assert "is not empty" in msg and "not a run folder" in msg
    assert (folder / "summary.md").read_text() == "my notes\n"
    assert (folder / "report" / "report.md").read_text() == "my report\n"
    assert (folder / "report" / "figures" / "plot.png").read_bytes() == b"png"
    assert sorted(p.name for p in folder.iterdir()) == ["report", "summary.md"]


# -- item 5: refusing a run folder writes nothing into it -----------------------------------


def test_a_refused_start_and_a_damaged_state_leave_the_run_folder_as_it_was(run_cfg, tmp_path):
    cfg = {"execution_job_configs": [write_job("w", "${work_dir}/o.txt")]}
    run_cfg(cfg)
    run = tmp_path / "run"
    files = ["config_snapshot.json", "summary.md", "report/report.md"]
    before = {name: (run / name).read_bytes() for name in files}
    (run / "report" / "report.md").write_text("kept\n")
    before["report/report.md"] = b"kept\n"
    msg = refused(run_cfg, {**cfg, "vars": {"changed": 1}})
    assert "already holds a run" in msg
    (run / "sandbox_state.json").write_text("{damaged")
    msg = refused(run_cfg, {**cfg, "vars": {"changed": 1}}, resume=True)
    assert "resume: cannot resume from" in msg
    assert {name: (run / name).read_bytes() for name in files} == before
    assert (run / "sandbox_state.json").read_text() == "{damaged"


# item 4 (a cache hit is a private copy, a changed entry is not used): test_job_cache.py


# -- every shipped pipeline: no planned output is an input, the config or in the package ------


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import djsandbox.__main__ as app
    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=app.CONF_DIR, version_base="1.3"):
            return compose("sandbox", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


PIPELINES = sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "pipeline").glob("*.yaml"))


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_no_shipped_pipeline_plans_an_output_over_an_input_the_config_or_the_package(
    pipeline, tmp_path, monkeypatch
):
    import djsandbox.__main__ as app
    from djsandbox import output_safety
    from djsandbox.check import check_run
    from djsandbox.cli_support import split_config

    seen: dict[str, list[Path]] = {"inputs": [], "outputs": []}
    inputs, outputs = output_safety.OutputGuard._inputs, output_safety.OutputGuard._outputs

    def spy_inputs(*args):
        found = inputs(*args)
        seen["inputs"] += found
        return found

    def spy_outputs(*args):
        found = outputs(*args)
        seen["outputs"] += [path for _, path in found]
        return found

    monkeypatch.setattr(output_safety.OutputGuard, "_inputs", staticmethod(spy_inputs))
    # auto_prompt needs an OpenAI-compatible endpoint; validation checks one is configured
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder")
    monkeypatch.setattr(output_safety.OutputGuard, "_outputs", staticmethod(spy_outputs))
    work = tmp_path / "run"
    plain = split_config(_compose([f"+pipeline={pipeline}", f"work_dir={work}"]))
    assert check_run(plain, [tmp_path]).startswith("check: the config is valid")
    package = output_safety.package_dir()
    conf = output_safety.real(Path(app.CONF_DIR))
    assert seen["outputs"], "every shipped pipeline configures at least one output"
    for out in seen["outputs"]:
        assert work.resolve() in out.parents, out
        assert not any(output_safety.overlaps(out, source) for source in seen["inputs"]), out
        assert package not in out.parents and conf not in out.parents, out


def test_an_output_that_comes_from_an_earlier_job_is_checked_when_the_job_starts(run_cfg, tmp_path):
    """Validation cannot see paths fed by `input`; when the job starts they are known, and an
    export over the job's own input is refused before it writes (the file is unchanged)."""
    from djsandbox.errors import ConfigError

    victim = tmp_path / "victim.jsonl"
    victim.write_text('{"text": "keep me"}\n')
    with pytest.raises(
        ConfigError, match=r"meta_name 'w'.*refusing to write .*victim.jsonl.*this job reads"
    ):
        run_cfg(
            {
                "execution_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "p",
                        "extra_configs": {"type": "test_echo", "value": str(victim)},
                    },
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "w",
                        "input": {
                            "extra_configs.dataset_path": "-1.res_1",
                            "extra_configs.export_path": "-1.res_1",
                        },
                        "extra_configs": {"type": "test_write", "content": "overwritten\n"},
                    },
                ]
            }
        )
    assert victim.read_text() == '{"text": "keep me"}\n'
