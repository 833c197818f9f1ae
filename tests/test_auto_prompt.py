"""`+pipeline=auto_prompt`: the reference's iterative prompt optimisation, run for real against
an OpenAI-compatible server on 127.0.0.1 (Data-Juicer's optimize_prompt_mapper for new
prompts, the `api` executor for grading), and the pieces it relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, subprocess_env
from openai_stub_server import PromptGrader, StubServer

from djsandbox.data.pools import ranking
from djsandbox.errors import ConfigError
from djsandbox.inference import messages

RESOURCES = ROOT / "src" / "djsandbox" / "resources"
REVIEWS = RESOURCES / "auto_prompt" / "reviews_to_grade.jsonl"
SEEDS = RESOURCES / "auto_prompt" / "seed_prompts.jsonl"
KEY = "sk-autoprompt-0123456789abcdefSECRET"


def _rows(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line]


# --- the shipped data --------------------------------------------------------------------


def test_reviews_to_grade_are_fine_food_rows_with_truth_from_their_labels() -> None:
    source = {r["id"]: r for r in _rows(RESOURCES / "fine_foods" / "test.jsonl")}
    rows = _rows(REVIEWS)
    assert len(rows) == 40 and sum(r["truth"] for r in rows) == 20
    for row in rows:
        original = source[row.pop("id")]
        assert row.pop("truth") == (1 if original["label"] == "great" else 0)
        assert row == {"text": original["text"], "label": original["label"]}
    assert all("prompt" in r for r in _rows(SEEDS))


# --- pieces the flow needs ------------------------------------------------------------------


def test_message_builders_take_the_references_func_kwargs() -> None:
    row = {"prompt": "Grade it.", "text": "Tasty.", "answer": "4"}
    kwargs = {"system_key": "prompt", "query_key": "text"}
    assert messages.build_input(row, **kwargs) == [
        {"role": "system", "content": "Grade it."},
        {"role": "user", "content": "Tasty."},
    ]
    graded = messages.build_messages_for_math_qa(row, **kwargs, response_key="answer")
    assert graded == [
        {"role": "system", "content": "Grade it."},
        {"role": "user", "content": "Question: Tasty.\nAnswer: 4"},
    ]
    with pytest.raises(ValueError, match=r"func_kwargs\.system_key: row has no key 'instr'"):
        messages.build_input(row, system_key="instr", query_key="text")


def test_ranking_puts_a_pool_without_a_score_last(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"pool_{i}.jsonl")
        paths[-1].write_text('{"prompt": "p"}\n')
    metrics = [
        {"mse": None, "format_error": 40},
        {"mse": 0.5, "format_error": 2},
        {"mse": 0.5, "format_error": 0},
    ]
    cfg = {"dataset_path": [str(p) for p in paths], "metrics": metrics}
    ascending = ranking.run(
        {**cfg, "ranking_keys": ["mse", "format_error"], "descending": False}, tmp_path
    )
    assert ascending == [str(paths[2]), str(paths[1]), str(paths[0])]
    descending = ranking.run({**cfg, "ranking_keys": ["mse"], "descending": True}, tmp_path)
    assert descending == [str(paths[1]), str(paths[2]), str(paths[0])]  # null still last


def test_evaluator_output_names_two_results(run_cfg, tmp_path: Path) -> None:
    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"p": "1", "t": 1}\n{"p": "x", "t": 0}\n')
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": "grades",
        "output": ["per_file", "min_mse"],
        "extra_configs": {
            "type": "mse",
            "predicted_dataset_path": str(pred),
            "predicted_value_key": "p",
            "ground_truth_value_key": "t",
        },
    }
    out = run_cfg({"evaluation_job_configs": [job]})
    entry = out.context.iterations[0]["anonymous"]["grades"]
    assert entry["min_mse"] == 0.0
    assert entry["per_file"] == [
        {"pred_path": str(pred), "gt_path": str(pred), "mse": 0.0, "format_error": 1}
    ]
    with pytest.raises(ConfigError, match="3 names given but EvaluateDataHook returns 2 result"):
        run_cfg(
            {"evaluation_job_configs": [{**job, "output": ["a", "b", "c"]}]},
            work_dir=str(tmp_path / "other"),
        )


# --- the whole pipeline ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def grader() -> PromptGrader:
    return PromptGrader({r["text"]: r["truth"] for r in _rows(REVIEWS)})


def test_auto_prompt_pipeline_iterates_until_the_target_and_keeps_the_key_off_disk(
    grader: PromptGrader, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    with StubServer(api_key=KEY, responder=grader) as server:
        env = {**subprocess_env(), "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "djsandbox",
                "+pipeline=auto_prompt",
                f"work_dir={run_dir}",
                "vars.generator_model=stub-generator",
                "vars.grader_model=stub-grader",
                "vars.concurrency=16",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert server.auth_headers and set(server.auth_headers) == {f"Bearer {KEY}"}

    state = json.loads((run_dir / "sandbox_state.json").read_text())
    iterations = state["context"]["iterations"]
    reviews = [r["text"] for r in _rows(REVIEWS)]
    # Iteration 0 starts from the seeds (best mse 0.35 with this grader), iteration 1 from the
    # top prompts of iteration 0 and reaches the target (<= 0.2): the run stops there, before
    # max_iter_num (5).
    assert len(iterations) == 2
    assert iterations[0]["grader"]["grades_evaluation"]["min_mse"] > 0.2
    assert iterations[1]["grader"]["grades_evaluation"]["min_mse"] <= 0.2
    assert grader.generation_requests == 6  # gen_num 3 per iteration

    for it, ctx in enumerate(iterations):
        grades = ctx["grader"]["grades_evaluation"]
        pools = ctx["grader"]["construct_single_prompt_pools"]["single_prompt_data_pool_paths"]
        pools = pools["ignore_stats"]
        prompts = [_rows(p)[0]["prompt"] for p in pools]
        assert len(prompts) == 6  # the 3 starting prompts and 3 new ones
        # One record per pool, in pool order, scored as the grader answered.
        records = grades["single_prompt_eval_results"]
        assert [(r["mse"], r["format_error"]) for r in records] == [
            grader.expected(p, reviews) for p in prompts
        ]
        scored = [r["mse"] for r in records if r["mse"] is not None]
        assert grades["min_mse"] == min(scored)
        # Ranked by (mse, format_error), unscorable last; the top 3 merged, in rank order.
        order = sorted(
            range(6),
            key=lambda i: (
                records[i]["mse"] is None,
                records[i]["mse"] or 0,
                records[i]["format_error"],
            ),
        )
        top = ctx["select"]["rank_single_prompt_pools"]["top_prompt_pool_paths"]
        assert top == [pools[i] for i in order[:3]]
        merged = Path(ctx["select"]["merge_top_prompts"]["merged_top_prompt_dataset"])
        assert [r["prompt"] for r in _rows(merged)] == [prompts[i] for i in order[:3]]
        if it == 0:
            # the seed that asks for a word: every grade a format error, no mse, ranked last
            assert records[2] == {**records[2], "mse": None, "format_error": 40}
            assert order[-1] == 2
            # iter_updater: iteration 1 generates from these merged prompts
            job = run_dir / "iter_1/grader/execution_0_generate_new_prompts/job_config.json"
            assert json.loads(job.read_text())["dj_configs"]["dataset_path"] == str(merged)
            assert prompts[:3] == [r["prompt"] for r in _rows(SEEDS)]
    assert merged.is_file() and merged.is_relative_to(run_dir)

    # The key reached the server, never a file: of the run folder, Hydra's or anything else
    # written in the working directory.
    assert any(p.is_file() for p in run_dir.rglob("*"))
    leaked = [str(p) for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []
    assert KEY not in proc.stdout and KEY not in proc.stderr
