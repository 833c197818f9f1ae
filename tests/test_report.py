"""Run and sweep reports: they exist, name every job, reference only real PNGs, list failures,
and survive runs with nothing to plot or a plot that breaks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from djsandbox.context import STATE_FILE, Context, RunState
from djsandbox.errors import JobFailedError
from djsandbox.reporting.data_sections import estimate_funnel
from djsandbox.reporting.document import PNG_MAGIC
from djsandbox.reporting.job_outputs import parse_dj_process_log, read_metrics_csv
from djsandbox.reporting.run_report import write_run_report


def referenced_figures(md: Path) -> list[Path]:
    return [md.parent / rel for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md.read_text())]


def assert_figures_valid(md: Path) -> list[Path]:
    figures = referenced_figures(md)
    for fig in figures:
        assert fig.is_file(), f"{fig} referenced but missing"
        assert fig.read_bytes()[:8] == PNG_MAGIC, f"{fig} is not a PNG"
    html = (md.parent / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)  # self-contained
    return figures


def job(meta: str, kind: str = "test_echo", **extra):
    return {"hook": "EvaluateDataHook", "meta_name": meta, "extra_configs": {"type": kind, **extra}}


# -- runs through the engine ----------------------------------------------------------------
def test_report_of_engine_run_names_every_job_and_lists_failures(run_cfg, tmp_path):
    marker = tmp_path / "marker"
    cfg = {
        "pipelines": {
            "good": {
                "probe_job_configs": [job("probe", value=1)],
                "evaluation_job_configs": [job("test", value={"accuracy": 0.8, "macro_f1": 0.7})],
            },
            "other": {
                "evaluation_job_configs": [job("test", value={"accuracy": 0.6, "macro_f1": 0.5})]
            },
            "bad": {
                "execution_job_configs": [job("boom", "test_fail_once", marker=str(marker))],
                "evaluation_job_configs": [job("after", value=2)],
            },
        }
    }
    with pytest.raises(JobFailedError):
        run_cfg(cfg)
    work = tmp_path / "run"
    md = write_run_report(work)
    assert md == work / "report" / "report.md"
    text = md.read_text()
    for name in ("probe", "test", "boom", "after"):
        assert f"| {name} |" in text
    assert "| failed |" in text and "| not run |" in text
    assert "## Failed jobs" in text and "RuntimeError: planned failure" in text
    figures = assert_figures_valid(md)
    assert any(f.name == "metrics_pipelines.png" for f in figures)


def test_report_of_run_with_nothing_to_plot(run_cfg, tmp_path):
    run_cfg({"execution_job_configs": [job("only", value="text")]})
    md = write_run_report(tmp_path / "run")
    text = md.read_text()
    assert "| only |" in text and "| done |" in text
    assert referenced_figures(md) == []
    assert (md.parent / "report.html").is_file()


def test_report_never_raises_without_state(tmp_path):
    md = write_run_report(tmp_path / "empty")
    assert "could not be read" in md.read_text()


# -- a hand-made Data-Juicer + training run folder --------------------------------------------
DJ_LOG = """\
2026-01-01 00:00:01.000 | INFO | data_juicer.core.data.dj_dataset:process:310 - [1/2] OP [text_length_filter] Done in 0.5s. Left 8 samples.
2026-01-01 00:00:02.000 | INFO | data_juicer.core.data.dj_dataset:process:310 - [2/2] OP [words_num_filter] Done in 0.25s. Left 7 samples.
"""


def make_dj_run(work: Path, with_log: bool = True, shared_export: bool = False) -> Path:
    """A run folder as the engine leaves it after analyse -> k-sigma -> process -> train
    (`shared_export`: the processing exported over the analysis' file, stats included)."""
    data = work / "data"
    data.mkdir(parents=True)
    lens = [10, 20, 30, 40, 50, 60, 70, 80, 90, 400]
    words = [2, 4, 6, 8, 10, 12, 14, 16, 99, 80]
    rows = [
        {"id": f"r{i}", "text": "x" * n, "__dj__stats__": {"text_len": n, "num_words": w}}
        for i, (n, w) in enumerate(zip(lens, words))
    ]
    analysed = data / "analysed.jsonl"
    analysed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {
        "process": [
            {"text_length_filter": {"min_len": 15, "max_len": 300}},
            {"words_num_filter": {"min_num": 1, "max_num": 50}},
        ]
    }
    kept = [
        r
        for r in rows
        if 15 <= r["__dj__stats__"]["text_len"] <= 300 and r["__dj__stats__"]["num_words"] <= 50
    ]
    processed = data / "processed.jsonl"  # like Data-Juicer's export: rows without stats
    processed.write_text(
        "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in kept)
    )
    if shared_export:
        processed = analysed
        processed.write_text("".join(json.dumps(r) + "\n" for r in kept))
    changes = [
        {
            "index": 0,
            "op": "text_length_filter",
            "arg": "min_len",
            "old": 10,
            "new": 15,
            "stat": "text_len",
            "mean": 85.0,
            "std": 110.0,
        },
        {
            "index": 0,
            "op": "text_length_filter",
            "arg": "max_len",
            "old": 1000,
            "new": 300,
            "stat": "text_len",
            "mean": 85.0,
            "std": 110.0,
        },
        {
            "index": 1,
            "op": "words_num_filter",
            "arg": "max_num",
            "old": 1000,
            "new": 50,
            "stat": "num_words",
            "mean": 25.0,
            "std": 30.0,
        },
    ]
    jobs_spec = [
        (
            "probe",
            0,
            "analysis",
            "ProbeViaAnalyzerHook",
            {"rows": 10},
            {"dj_configs": {"export_path": str(analysed)}},
        ),
        (
            "refine_recipe",
            0,
            "analysis",
            "RefineRecipeViaKSigmaHook",
            {"changes": changes},
            {"dj_configs": recipe},
        ),
        (
            "execution",
            0,
            "process",
            "ProcessDataHook",
            {"rows_in": 10, "rows_out": len(kept)},
            {"dj_configs": {**recipe, "export_path": str(processed)}},
        ),
        ("execution", 1, "train", "TrainModelHook", {}, {}),
    ]
    ctx = Context()
    ctx.start_iteration(0)
    ctx.record(
        "refined",
        "analysis",
        {
            "res_1": str(data / "k_sigma.yaml"),
            "res_2": {
                "analysis_dir": str(data),
                "rows": 10,
                "stats": {"text_len": {"mean": 85.0, "std": 110.0}},
            },
        },
    )
    ctx.record("refined", "process", {"res_1": str(processed)})
    ctx.record(
        "refined",
        "train",
        {
            "checkpoint": "model.ckpt",
            "train_metrics": {"train_rows": len(kept), "val_accuracy": 0.75, "best_epoch": 2},
        },
    )
    state = RunState(work / STATE_FILE, ctx, meta={"project_name": "p", "experiment_name": "e"})
    for stage, index, meta, hook, notes, config in jobs_spec:
        job_dir = work / "iter_0" / "refined" / f"{stage}_{index}_{meta}"
        job_dir.mkdir(parents=True)
        (job_dir / "job_config.json").write_text(json.dumps(config))
        state.set_status(
            0,
            f"refined/{stage}/{index}/{meta}/{hook}",
            status="done",
            pipeline="refined",
            stage=stage,
            index=index,
            meta_name=meta,
            hook=hook,
            started=1.7e9,
            elapsed=1.5,
            finished=1.7e9 + 1.5,
            notes=notes,
            job_dir=str(job_dir),
            error=None,
        )
    process_dir = work / "iter_0" / "refined" / "execution_0_process"
    if with_log:
        (process_dir / "dj" / "process" / "logs").mkdir(parents=True)
        (process_dir / "dj" / "process" / "logs" / "process.log").write_text(DJ_LOG)
    csv_dir = work / "iter_0" / "refined" / "execution_1_train" / "logs" / "version_0"
    csv_dir.mkdir(parents=True)
    (csv_dir / "metrics.csv").write_text(
        "epoch,step,train/loss_epoch,train/loss_step,val/accuracy,val/loss,val/macro_f1\n"
        "0,4,,0.9,,,\n0,9,,0.7,,,\n0,9,,,0.6,0.8,0.55\n0,9,0.8,,,,\n"
        "1,14,,0.5,,,\n1,19,,0.4,0.7,0.6,0.65\n1,19,0.45,,,,\n"
    )
    state.save()
    return work


def test_report_funnel_distributions_and_curves(tmp_path):
    work = make_dj_run(tmp_path / "run")
    md = write_run_report(work)
    text = md.read_text()
    assert "source: Data-Juicer log" in text
    assert "| 1 | text_length_filter | 8 | 2 |" in text
    assert "| 2 | words_num_filter | 7 | 1 |" in text
    assert "(stats of the analysed rows whose `id` was kept)" in text
    names = {f.name.split("_0_")[0] for f in assert_figures_valid(md)}
    assert names == {"funnel", "stats", "training"}
    header = next(line for line in text.splitlines() if line.startswith("| pipeline |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    row = next(line for line in text.splitlines() if line.startswith("| refined |"))
    assert row.strip("|").split("|")[cols.index("best epoch")].strip() == "2"
    for name in ("analysis", "process", "train"):
        assert f"| {name} |" in text


def test_report_says_where_before_came_from(tmp_path):
    work = make_dj_run(tmp_path / "run")
    text = write_run_report(work).read_text()
    analysed = tmp_path / "run" / "data" / "analysed.jsonl"
    assert (
        f"before: `{analysed}`, exported by iter 0 / refined / analysis (ProbeViaAnalyzerHook)"
        in text
    )
    assert "Warning" not in text
    shared = make_dj_run(tmp_path / "shared", shared_export=True)
    text = write_run_report(shared).read_text()
    assert "exported its result to the same file after the analysis" in text
    assert "shows the processed rows" in text


def test_funnel_estimated_from_stats_without_dj_log(tmp_path):
    work = make_dj_run(tmp_path / "run", with_log=False)
    text = write_run_report(work).read_text()
    assert "source: estimated from analysed stats" in text
    assert "| 1 | text_length_filter | 8 | 2 |" in text
    assert "| 2 | words_num_filter | 7 | 1 |" in text


def test_a_broken_plot_leaves_its_section_out(tmp_path, monkeypatch, caplog):
    import djsandbox.reporting.data_sections as data_sections
    import djsandbox.reporting.model_sections as model_sections

    def broken(*args, **kwargs):
        raise ValueError("no plot today")

    monkeypatch.setattr(data_sections, "draw_hists", broken)
    monkeypatch.setattr(model_sections, "read_metrics_csv", broken)
    work = make_dj_run(tmp_path / "run")
    md = write_run_report(work)
    text = md.read_text()
    assert "figures/stats_" not in text
    assert "## Training curves" not in text
    assert "figures/funnel_" in text  # the rest of the report is intact
    assert "no plot today" in caplog.text
    assert_figures_valid(md)


def test_parsers(tmp_path):
    logs = tmp_path / "dj" / "process" / "logs"
    logs.mkdir(parents=True)
    (logs / "process.log").write_text(DJ_LOG + DJ_LOG.replace("Left 7", "Left 5"))
    steps = parse_dj_process_log(tmp_path)  # a resumed job logs twice: the last run wins
    assert [(s["op"], s["left"]) for s in steps] == [
        ("text_length_filter", 8),
        ("words_num_filter", 5),
    ]
    assert (
        estimate_funnel(
            {"process": [{"f": {"min_x": 2, "max_x": 3}}]},
            {"s": [1, 2, 3, 4]},
            [{"index": 0, "op": "f", "stat": "s"}],
        )[0]["left"]
        == 2
    )
    csv_file = tmp_path / "metrics.csv"
    csv_file.write_text("epoch,step,val/accuracy\n0,9,0.5\n1,19,\n")
    assert read_metrics_csv(csv_file) == {"val/accuracy": [(9.0, 0.5)]}


# -- sweeps -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def optuna_quiet():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


def test_sweep_report_single_objective_with_failed_trial(optuna_quiet, tmp_path):
    from djsandbox.reporting.sweep_report import write_sweep_report

    optuna = optuna_quiet

    def objective(trial):
        x = trial.suggest_float("min_ratio", 0.0, 0.5)
        k = trial.suggest_int("k", 1, 5)
        pool = trial.suggest_categorical("pool", ["low", "mid", "high"])
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if trial.number == 2:
            raise RuntimeError("trial failed")
        return (x - 0.2) ** 2 + 0.01 * k + (pool == "mid") * 0.1

    study = optuna.create_study(study_name="s1", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=8, catch=(RuntimeError,))
    md = write_sweep_report(study, tmp_path / "sweep")
    text = md.read_text()
    assert "## Best trial" in text and f"trial #{study.best_trial.number}" in text
    assert "| 2 | fail |" in text
    assert all(f"| {t.number} |" in text for t in study.trials)
    names = {f.name for f in assert_figures_valid(md)}
    assert names == {"history.png", "importances.png", "parallel_coordinates.png"}


def test_sweep_report_multi_objective_from_storage(optuna_quiet, tmp_path):
    from djsandbox.reporting.sweep_report import write_sweep_report

    optuna = optuna_quiet
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(
        study_name="mo",
        storage=storage,
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=1),
    )
    study.set_user_attr("metric_names", ["accuracy", "rows"])
    study.optimize(
        lambda t: (t.suggest_float("a", 0, 1), float(t.suggest_int("b", 1, 10))), n_trials=6
    )
    md = write_sweep_report(storage, tmp_path / "sweep")  # the only study in the storage
    text = md.read_text()
    assert "## Pareto front" in text and "## Best trial" not in text
    assert "accuracy (maximize)" in text and "rows (minimize)" in text
    names = {f.name for f in assert_figures_valid(md)}
    assert {"pareto_front.png", "history.png", "importances.png"} <= names


def test_sweep_report_with_fewer_than_two_complete_trials(optuna_quiet, tmp_path):
    from djsandbox.reporting.sweep_report import write_sweep_report

    optuna = optuna_quiet
    empty = optuna.create_study(study_name="empty")
    text = write_sweep_report(empty, tmp_path / "empty").read_text()
    assert "No trial completed" in text and "at least 2 completed trials" in text

    one = optuna.create_study(study_name="one")
    one.optimize(lambda t: t.suggest_float("a", 0, 1), n_trials=1)
    md = write_sweep_report(one, tmp_path / "one")
    assert "at least 2 completed trials (have 1)" in md.read_text()
    assert_figures_valid(md)


# -- noise over seeds -------------------------------------------------------------------------
def _seeded(values: list[float]) -> dict:
    from djsandbox.seed_stats import seed_metrics

    return {**seed_metrics("accuracy", values), "rows": 100}


def test_summary_and_report_show_mean_spread_and_within_noise(run_cfg, tmp_path):
    cfg = {
        "pipelines": {
            "a": {"evaluation_job_configs": [job("test", value=_seeded([0.797, 0.805, 0.801]))]},
            "b": {"evaluation_job_configs": [job("test", value=_seeded([0.799, 0.790, 0.806]))]},
            "c": {"evaluation_job_configs": [job("test", value=_seeded([0.901, 0.903, 0.899]))]},
        }
    }
    run_cfg(cfg)
    work = tmp_path / "run"
    summary = (work / "summary.md").read_text()
    assert "| a | 0.8010 ± 0.0040 (n=3) |" in summary
    assert "accuracy_std" not in summary and "accuracy_seeds" not in summary
    verdict = next(line for line in summary.splitlines() if line.startswith("- test.accuracy"))
    # c is far above both; a and b overlap, so neither is said to beat the other.
    assert "c > a" in verdict and "c > b" in verdict
    assert "a > b" not in verdict and "b > a" not in verdict
    text = write_run_report(work).read_text()
    assert "0.8010 ± 0.0040 (n=3)" in text and "c > a" in text
    assert any(
        f.name == "metrics_pipelines.png"
        for f in assert_figures_valid(work / "report" / "report.md")
    )


def test_two_close_arms_are_within_noise_and_a_single_seed_claims_nothing():
    from djsandbox.reporting.summary import format_table

    rows = [
        {"pipeline": "baseline", **_seeded([0.797, 0.80, 0.803])},
        {"pipeline": "refined", **_seeded([0.799, 0.801, 0.804])},
    ]
    table = format_table(rows)
    assert "baseline, refined within noise" in table or "refined, baseline within noise" in table
    single = format_table(
        [{"pipeline": "a", "accuracy": 0.797}, {"pipeline": "b", "accuracy": 0.799}]
    )
    assert "noise" not in single and "0.7970" in single


def test_metric_points_do_not_start_at_zero():
    from matplotlib.figure import Figure

    from djsandbox.reporting.figures import draw_points

    fig = Figure()
    draw_points(
        fig,
        ["baseline", "refined"],
        {"accuracy": [{"mean": 0.797, "ci95": 0.004, "seeds": [0.795, 0.799]}, {"mean": 0.799}]},
    )
    low, high = fig.axes[0].get_ylim()
    assert 0.7 < low < 0.793 and 0.799 < high < 0.9


def test_seed_stats_single_seed_and_item_labels():
    from djsandbox.seed_stats import describe, noise_verdicts, seed_metrics

    assert describe([0.8]) == {"mean": 0.8, "std": None, "ci95": None, "n": 1}
    assert describe([0.7, 0.9])["ci95"] == pytest.approx(12.706 * 0.1414214 / 2**0.5, rel=1e-3)
    # One seed: no interval, so no verdict (a single seed can say nothing about noise).
    assert noise_verdicts([{"pipeline": "a", **seed_metrics("acc", [0.8])}] * 2) == []
    items = [
        {"pipeline": "p", "job": "test.res_1", "item": "[0]", **seed_metrics("acc", [0.5, 0.51])},
        {"pipeline": "p", "job": "test.res_1", "item": "[1]", **seed_metrics("acc", [0.9, 0.91])},
    ]
    assert noise_verdicts(items) == [
        "acc: p:test.res_1:[1], p:test.res_1:[0] differ beyond noise: "
        "p:test.res_1:[1] > p:test.res_1:[0]."
    ]


def test_report_commands_refuse_a_path_that_is_not_a_run_and_write_nothing(tmp_path, capsys):
    from djsandbox.reporting import run_report, sweep_report

    missing = tmp_path / "no" / "such" / "run"
    assert run_report.main([str(missing)]) == 2
    assert not (tmp_path / "no").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_report.main([str(empty)]) == 2
    assert list(empty.iterdir()) == []
    db = tmp_path / "optuna.db"
    assert sweep_report.main([f"sqlite:///{db}", str(tmp_path / "out")]) == 2
    assert not db.exists() and not (tmp_path / "out").exists()
    err = capsys.readouterr().err
    assert f"{missing} does not exist" in err
    assert "holds no sandbox_state.json: give a run folder" in err
    assert "no such database file" in err
