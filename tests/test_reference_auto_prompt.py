"""Issue #13 acceptance: a config in the reference's auto-prompt-optimization format (its hooks,
`input`/`output`/`iter_updater`/`iter_targets` shapes, `output: 'name'` strings, placeholders,
a recipe *file* under `dj_configs`, `build_messages_for_math_qa` with `func_kwargs`,
`max_retry_num`, `api_or_hf_model`) runs unchanged through `dj-sandbox --config` against an
OpenAI-compatible server on 127.0.0.1: its iterations run to the end, it writes its merged
top-prompt dataset, and the API key reaches the server but no file and no log.

The config below is written here in the reference's structure and key names (relative paths
from the working directory, as the reference's run from its checkout); the data is ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, subprocess_env
from openai_stub_server import PromptGrader, StubServer

from djsandbox.context import Context
from djsandbox.errors import ContextLookupError
from djsandbox.runner import name_results, result_values

REVIEWS = ROOT / "src" / "djsandbox" / "resources" / "auto_prompt" / "reviews_to_grade.jsonl"
SEEDS = ROOT / "src" / "djsandbox" / "resources" / "auto_prompt" / "seed_prompts.jsonl"
KEY = "sk-refautoprompt-9f8e7d6c5b4aSECRET"
TARGET = 0.2
MAX_ITER = 5
OUT = "./outputs/auto-prompt-optimization-for-grader-model"
PIPE, SELECT = "grader_model_prompt_optimization", "select_and_merge_data_pools"

SANDBOX = f"""\
project_name: 'sandbox-auto-prompt-optimization'
experiment_name: 'grader-prompt'
work_dir: '{OUT}'
resume: true

max_iter_num: {MAX_ITER}
iter_targets:
  - "{PIPE}.grades_evaluation.min_mse <= {TARGET}"
iter_updater:
  {SELECT}.merge_single_prompt_data_pools.merged_top_prompt_dataset: \
{PIPE}.generate_new_prompts.dj_configs.dataset_path

pipelines:
  - {PIPE}:
      execution_job_configs:
        - hook: 'ProcessDataHook'
          meta_name: 'generate_new_prompts'
          output: 'generated_prompts_path'
          dj_configs: 'configs/auto_prompt_optimization/dj_configs_prompt_generating.yaml'
        - hook: 'DataPoolManipulationHook'
          meta_name: 'construct_single_prompt_data_pools'
          input:
            extra_configs.dataset_path: '-1.generated_prompts_path'
          output: 'single_prompt_data_pool_paths'
          extra_configs:
            type: 'data_pool_construction'
            dataset_path: '<updated_by_the_input_mapping>'
            export_path: '{OUT}/single_prompt_data_pools/'
            split_num: 1
            ignore_stats: true
        - hook: 'DataPoolManipulationHook'
          meta_name: 'join_prompts_and_datasets_to_infer'
          input:
            extra_configs.dataset_path_1: '-1.single_prompt_data_pool_paths'
          output: 'datasets_to_infer_with_updated_prompts'
          extra_configs:
            type: 'data_pool_cartesian_join'
            dataset_path_1: '<replaced_by_the_input>'
            dataset_path_2:
              - 'configs/data/auto-prompt-optim/init_infer_dataset.jsonl'
            export_path: '{OUT}/datasets_to_infer/'
        - hook: 'InferModelHook'
          meta_name: 'grader_model_inference'
          input:
            extra_configs.dataset_path: '-1.datasets_to_infer_with_updated_prompts'
          output: 'grader_model_inference_result'
          extra_configs:
            type: 'api'
            model: 'qwen2.5-32b-instruct'
            max_retry_num: 5
            build_messages_func: 'build_messages_for_math_qa'
            parse_output_func: 'parse_output'
            func_kwargs:
              system_key: "prompt"
              query_key: "question"
              response_key: "answer"
            dataset_path: '<replaced_by_the_input>'
            export_path: '{OUT}/infer_results/'
            infer_res_key: 'grades'
      evaluation_job_configs:
        - hook: 'EvaluateDataHook'
          meta_name: 'grades_evaluation'
          input:
            extra_configs.predicted_dataset_path: '-1.grader_model_inference_result'
          output:
            - 'single_prompt_eval_results'
            - 'min_mse'
          extra_configs:
            type: 'mse'
            predicted_dataset_path: '<replaced_by_the_input>'
            predicted_value_key: 'grades'
            ground_truth_value_key: 'truth'
  - {SELECT}:
      probe_job_configs:
        - hook: 'GeneralProbeHook'
          meta_name: 'rank_single_prompt_data_pools'
          input:
            extra_configs.dataset_path: '{PIPE}.construct_single_prompt_data_pools.\
single_prompt_data_pool_paths'
            extra_configs.metrics: '-1.single_prompt_eval_results'
          output: 'top3_prompt_data_pool_paths'
          extra_configs:
            type: 'data_pool_ranking'
            dataset_path: '<updated_by_the_input_mapping>'
            metrics: '<updated_by_the_input_mapping>'
            ranking_keys:
              - 'mse'
              - 'format_error'
            descending: false
            top_n: 3
      execution_job_configs:
        - hook: 'DataPoolManipulationHook'
          meta_name: 'merge_single_prompt_data_pools'
          input:
            extra_configs.dataset_path: '-1.top3_prompt_data_pool_paths'
          output: 'merged_top_prompt_dataset'
          extra_configs:
            type: 'data_pool_merging'
            dataset_path: '<updated_by_the_input_mapping>'
            export_path: '{OUT}/merged_top_generated_prompts/new_prompts.jsonl'
"""

# `np: 1` (the reference has 8, capped by Data-Juicer at the CPU count): one batch, so the
# number of generated prompts does not depend on the machine.
RECIPE = f"""\
project_name: 'prompt_generating'
np: 1
dataset_path: 'configs/data/auto-prompt-optim/demo-dataset-prompts.jsonl'
export_path: '{OUT}/generated_prompts/new_prompts.jsonl'
export_original_dataset: true
text_keys: "prompt"
use_cache: false
process:
  - optimize_prompt_mapper:
      api_or_hf_model: 'qwen2.5-32b-instruct'
      prompt_key: 'prompt'
      gen_num: 3
      max_example_num: 3
"""


def _rows(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line]


def _qa_rows() -> list[dict]:
    """The reference's grader rows: a question, an answer to grade, and the true grade. Ours:
    the review, the claim that it is great, and 1 when it is."""
    return [{"question": r["text"], "answer": "great", "truth": r["truth"]} for r in _rows(REVIEWS)]


def _user_turn(row: dict) -> str:
    """What the grader sees as the user turn (the reference's build_messages_for_math_qa)."""
    return f"Question: {row['question']}\nAnswer: {row['answer']}"


def _checkout(root: Path) -> None:
    """The reference checkout's layout: configs and data under `configs/`."""
    (root / "configs/auto_prompt_optimization").mkdir(parents=True)
    (root / "configs/data/auto-prompt-optim").mkdir(parents=True)
    (root / "configs/auto_prompt_optimization/sandbox_auto_prompt_optimization.yaml").write_text(
        SANDBOX
    )
    (root / "configs/auto_prompt_optimization/dj_configs_prompt_generating.yaml").write_text(RECIPE)
    seeds = "".join(json.dumps({"prompt": r["prompt"]}) + "\n" for r in _rows(SEEDS))
    (root / "configs/data/auto-prompt-optim/demo-dataset-prompts.jsonl").write_text(seeds)
    rows = "".join(json.dumps(r) + "\n" for r in _qa_rows())
    (root / "configs/data/auto-prompt-optim/init_infer_dataset.jsonl").write_text(rows)


def _rank(records: list[dict]) -> list[int]:
    """Pool order by (mse, format_error) ascending, a pool without an mse last."""
    return sorted(
        range(len(records)),
        key=lambda i: (
            records[i]["mse"] is None,
            records[i]["mse"] or 0,
            records[i]["format_error"],
        ),
    )


def test_reference_auto_prompt_config_runs_to_the_end_and_keeps_the_key_off_disk(
    tmp_path: Path,
) -> None:
    _checkout(tmp_path)
    grader = PromptGrader({_user_turn(r): r["truth"] for r in _qa_rows()})
    config = "configs/auto_prompt_optimization/sandbox_auto_prompt_optimization.yaml"
    with StubServer(api_key=KEY, responder=grader) as server:
        env = {**subprocess_env(), "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY}
        proc = subprocess.run(
            [sys.executable, "-m", "djsandbox.cli", "--config", config],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert set(server.auth_headers) == {f"Bearer {KEY}"}

    run_dir = tmp_path / OUT
    iterations = json.loads((run_dir / "sandbox_state.json").read_text())["context"]["iterations"]
    best = [it[PIPE]["grades_evaluation"]["min_mse"] for it in iterations]
    # Each iteration starts from the previous one's top prompts and so does better; the run
    # stops at the first iteration that meets the target, after at least one update.
    assert 2 <= len(iterations) <= MAX_ITER
    assert all(b > TARGET for b in best[:-1]) and best[-1] <= TARGET, best
    assert grader.generation_requests == 3 * len(iterations)  # gen_num 3, one batch (np 1)

    questions = [_user_turn(r) for r in _qa_rows()]
    merged_paths = []
    for it, ctx in enumerate(iterations):
        pools = ctx[PIPE]["construct_single_prompt_data_pools"]["single_prompt_data_pool_paths"]
        pools = pools["ignore_stats"]  # split by row order (ignore_stats: true)
        prompts = [_rows(p)[0]["prompt"] for p in pools]
        assert len(prompts) == 6  # the 3 starting prompts kept, 3 generated
        records = ctx[PIPE]["grades_evaluation"]["single_prompt_eval_results"]
        assert [(r["mse"], r["format_error"]) for r in records] == [
            grader.expected(p, questions) for p in prompts
        ]
        order = _rank(records)
        ranked = ctx[SELECT]["rank_single_prompt_data_pools"]["top3_prompt_data_pool_paths"]
        assert ranked == [pools[i] for i in order[:3]]
        merged = Path(ctx[SELECT]["merge_single_prompt_data_pools"]["merged_top_prompt_dataset"])
        # The reference's merging treats export_path as a folder, even one named *.jsonl.
        assert merged.name == "new_prompts_ignore_stats_merged.jsonl"
        assert merged.parent.name == "new_prompts.jsonl" and merged.is_relative_to(run_dir)
        assert [r["prompt"] for r in _rows(merged)] == [prompts[i] for i in order[:3]]
        merged_paths.append(merged)
        start = prompts[:3]
        if it == 0:
            assert start == [r["prompt"] for r in _rows(SEEDS)]
        else:  # iter_updater: this iteration generated from the previous merged prompts
            job = run_dir / f"iter_{it}" / PIPE / "execution_0_generate_new_prompts"
            recipe = json.loads((job / "job_config.json").read_text())["dj_configs"]
            assert Path(recipe["dataset_path"]) == merged_paths[it - 1]
            assert start == [r["prompt"] for r in _rows(merged_paths[it - 1])]
    assert len(set(merged_paths)) == len(merged_paths)  # each iteration its own file

    # The key reached the server, never a file under the checkout (run folder, logs, state,
    # recipes) nor the console.
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 20
    assert [str(p) for p in written if KEY.encode() in p.read_bytes()] == []
    assert KEY not in proc.stdout and KEY not in proc.stderr


# --- the reference's one-item-list rule ------------------------------------------------------


def test_a_single_result_that_is_a_one_item_list_is_recorded_as_its_item() -> None:
    """The reference unpacks a hook's single result `[x]` into `x` (not inside a tuple of
    several results, not a longer list)."""
    assert name_results(result_values(["a.jsonl"]), ["paths"], "job") == {"paths": "a.jsonl"}
    assert name_results(result_values(["a", "b"]), ["paths"], "job") == {"paths": ["a", "b"]}
    assert name_results(result_values(([{"mse": 0.1}], 0.1)), ["per_pool", "best"], "job") == {
        "per_pool": [{"mse": 0.1}],
        "best": 0.1,
    }
    assert name_results(result_values([]), None, "job") == {"res_1": []}


def test_index_0_still_reads_an_unpacked_result() -> None:
    """Sources written for the list (`x.0`, `x.-1`) read the item; other indexes still fail."""
    ctx = Context()
    ctx.start_iteration(0)
    ctx.record("p", "join", {"joined": "a.jsonl", "pools": {"0": "k"}})
    assert ctx.lookup("p.join.joined") == "a.jsonl"
    assert ctx.lookup("p.join.joined.0") == ctx.lookup("-1.joined.-1") == "a.jsonl"
    assert ctx.lookup("p.join.pools.0") == "k"
    with pytest.raises(ContextLookupError, match="has no key 'joined.1'"):
        ctx.lookup("p.join.joined.1")


def test_a_one_pool_result_feeds_a_recipe_dataset_path(run_cfg, tmp_path: Path) -> None:
    """A cartesian join of one pool with one dataset returns one path; fed to
    `dj_configs.dataset_path` (one file) it must arrive as a path, as in the reference."""
    (tmp_path / "a.jsonl").write_text('{"prompt": "p1"}\n')
    (tmp_path / "b.jsonl").write_text('{"text": "hello world"}\n{"text": "bye now"}\n')
    out = run_cfg(
        {
            "execution_job_configs": [
                {
                    "hook": "DataPoolManipulationHook",
                    "meta_name": "join",
                    "output": "joined",
                    "extra_configs": {
                        "type": "data_pool_cartesian_join",
                        "dataset_path_1": str(tmp_path / "a.jsonl"),
                        "dataset_path_2": [str(tmp_path / "b.jsonl")],
                        "export_path": str(tmp_path / "run" / "joined"),
                    },
                },
                {
                    "hook": "ProcessDataHook",
                    "meta_name": "process",
                    "input": {"dj_configs.dataset_path": "-1.joined"},
                    "output": "processed",
                    "dj_configs": {
                        "project_name": "one_pool",
                        "dataset_path": "<replaced_by_the_input>",
                        "export_path": str(tmp_path / "run" / "processed" / "rows.jsonl"),
                        "np": 1,
                        "process": [{"text_length_filter": {"min_len": 1}}],
                    },
                },
            ]
        }
    )
    results = out.context.iterations[0]["anonymous"]
    joined = results["join"]["joined"]
    assert isinstance(joined, str) and Path(joined).is_file()
    assert _rows(results["process"]["processed"]) == [
        {"prompt": "p1", "text": "hello world"},
        {"prompt": "p1", "text": "bye now"},
    ]
