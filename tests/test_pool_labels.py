"""Pooled results are named by each pool's composition (`text_len high ∩ num_words high`) and
show its rows, through the real pool components (construction -> ranking -> combination ->
downsampling) and the run's summary and report."""

from __future__ import annotations

import json
from pathlib import Path

from djsandbox.context import STATE_FILE, RunState
from djsandbox.data.pools import labels
from djsandbox.reporting.pool_labels import folder_labels
from djsandbox.reporting.run_report import write_run_report
from djsandbox.reporting.summary import format_table, item_rows

# Row i: text_len i; num_words puts rows 6, 7, 10, 11 in its top third; score i.
NUM_WORDS = [0, 1, 2, 3, 4, 5, 10, 11, 6, 7, 8, 9]


def _pools_config(tmp_path: Path) -> dict:
    data = tmp_path / "analysed.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "text": f"row {i}",
                    "score": i,
                    "__dj__stats__": {"text_len": i, "num_words": NUM_WORDS[i]},
                }
            )
            + "\n"
            for i in range(12)
        )
    )
    out = tmp_path / "out"
    return {
        "pipelines": {
            "single_op": {
                "execution_job_configs": [
                    {
                        "hook": "DataPoolManipulationHook",
                        "meta_name": "pools",
                        "extra_configs": {
                            "type": "data_pool_construction",
                            "dataset_path": str(data),
                            "stats_keys": ["text_len", "num_words"],
                            "export_path": str(out / "pools"),
                        },
                    }
                ],
                "evaluation_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "test",
                        "input": {"extra_configs.dataset_path": "single_op.pools.res_1"},
                        "extra_configs": {"type": "test_pool_score"},
                    }
                ],
            },
            "multi_op": {
                "probe_job_configs": [
                    {
                        "hook": "GeneralProbeHook",
                        "meta_name": "ranking",
                        "input": {
                            "extra_configs.dataset_path": "single_op.pools.res_1",
                            "extra_configs.metrics": "single_op.test.res_1",
                        },
                        "extra_configs": {
                            "type": "data_pool_ranking",
                            "ranking_keys": ["score"],
                            "top_n": 2,
                        },
                    }
                ],
                "execution_job_configs": [
                    {
                        "hook": "DataPoolManipulationHook",
                        "meta_name": "combine",
                        "input": {"extra_configs.dataset_path": "multi_op.ranking.res_1"},
                        "extra_configs": {
                            "type": "data_pool_combination",
                            "key": "id",
                            "export_path": str(out / "combined"),
                        },
                    },
                    {
                        "hook": "DataPoolManipulationHook",
                        "meta_name": "downsample",
                        "input": {"extra_configs.dataset_path": "-1.res_1"},
                        "extra_configs": {
                            "type": "data_pool_downsampling",
                            "export_path": str(out / "downsampled"),
                        },
                    },
                ],
                "evaluation_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "test",
                        "input": {"extra_configs.dataset_path": "multi_op.downsample.res_1"},
                        "extra_configs": {"type": "test_pool_score"},
                    }
                ],
            },
        }
    }


def test_pooled_items_are_named_by_composition_with_their_rows(run_cfg, tmp_path):
    run_cfg(_pools_config(tmp_path))
    state = RunState.load(tmp_path / "run" / STATE_FILE)
    rows = item_rows(state)
    got = [(r["pipeline"], r["item"], r["pool rows"], r["rows"], r["score"]) for r in rows]
    assert got == [
        ("single_op", "text_len low", 4, 4, 1.5),
        ("single_op", "text_len mid", 4, 4, 5.5),
        ("single_op", "text_len high", 4, 4, 9.5),
        ("single_op", "num_words low", 4, 4, 1.5),
        ("single_op", "num_words mid", 4, 4, 6.5),  # rows 4, 5, 8, 9
        ("single_op", "num_words high", 4, 4, 8.5),  # rows 6, 7, 10, 11
        # ranked: text_len high, num_words high; intersected ({10, 11}); downsampled to 2
        ("multi_op", "text_len high", 2, 2, rows[6]["score"]),
        ("multi_op", "num_words high", 2, 2, rows[7]["score"]),
        ("multi_op", "text_len high ∩ num_words high", 2, 2, 10.5),
    ]
    # The combination wrote its reference-style names; the labels came from those and the
    # ranking the combination was given.
    combined = state.context.iterations[0]["multi_op"]["combine"]["res_1"]
    assert [Path(p).name for p in combined] == [
        "analysed_top_0_num_4.jsonl",
        "analysed_top_1_num_4.jsonl",
        "analysed_top_0_1_num_2.jsonl",
    ]
    table = format_table(rows)
    assert "| item | pool rows |" in table and "| text_len high ∩ num_words high | 2 |" in table
    assert "[0]" not in table

    # Per-pool sub-folders (where a per-pool job writes, e.g. each model's training log) too.
    jobs = {s["pipeline"]: (k, s) for k, s in state.jobs.items() if s["meta_name"] == "test"}
    assert folder_labels(state, *jobs["multi_op"]) == {
        "0": "text_len high",
        "1": "num_words high",
        "2": "text_len high ∩ num_words high",
    }
    assert folder_labels(state, *jobs["single_op"])["num_words/2"] == "num_words high"

    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "| multi_op | test.res_1 | text_len high ∩ num_words high | 2 |" in summary
    report = write_run_report(tmp_path / "run").read_text()
    assert "| multi_op | test.res_1 | text_len high ∩ num_words high | 2 |" in report


def test_labels_of_other_splits_and_unknown_members():
    assert [labels.part_name(i, 2) for i in range(2)] == ["low", "high"]
    assert [labels.part_name(i, 5) for i in (0, 4)] == ["1/5", "5/5"]
    built = labels.construction_labels({"alnum_ratio": ["/p/alnum_ratio/a_alnum_ratio_0.jsonl"]})
    assert built == {"/p/alnum_ratio/a_alnum_ratio_0.jsonl": "alnum_ratio 1/1"}
    # a file not named the construction's way is not guessed at
    assert labels.construction_labels({"text_len": ["/p/mine.jsonl"]}) == {}
    combined = labels.combination_labels(
        ["/p/a.jsonl", "/p/b.jsonl"],
        ["/q/x_top_0_1_num_3.jsonl", "/q/x_top_5_num_1.jsonl", "/q/other.jsonl"],
        {"/p/a.jsonl": "text_len low"},
    )
    assert combined == {"/q/x_top_0_1_num_3.jsonl": "text_len low ∩ b"}
    # a step that changes the shape carries nothing
    known = {"/p/a": "A", "/p/b": "B"}
    assert labels.carried_labels(["/p/a", "/p/b"], ["/c/1", "/c/2"], known) == {
        "/c/1": "A",
        "/c/2": "B",
    }
    assert labels.carried_labels(["/p/a", "/p/b"], ["/c/1"], known) == {}
