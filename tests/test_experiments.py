"""The studies in experiments/: their statistics helpers, and each study's driver run end to end
through the real sandbox (real Data-Juicer, real Lightning) on a few rows (`--smoke`).

Study 1 and 2 run by default (about 2 minutes together); the other studies' smoke runs are
marked slow (`python -m pytest -m slow tests/test_experiments.py`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `experiments` is a folder of the repository, not installed

from experiments.common import bootstrap as bs  # noqa: E402
from experiments.common.data import head_jsonl, pool_facts, split_jsonl  # noqa: E402
from experiments.common.runs import dotlist, finished, input_digests  # noqa: E402
from experiments.common.spearman import average_ranks, spearman  # noqa: E402
from experiments.common.tables import fmt, markdown_table  # noqa: E402

STUDIES = ("single_op", "multi_op", "transfer", "duplication", "hpo")


# -- statistics helpers -------------------------------------------------------------------------
def test_mean_ci_brackets_the_mean_and_is_reproducible():
    values = [0.71, 0.74, 0.73, 0.78, 0.70]
    e = bs.mean_ci(values)
    assert e.low <= e.value <= e.high and e.value == pytest.approx(np.mean(values))
    assert min(values) <= e.low and e.high <= max(values)
    assert bs.mean_ci(values) == e  # fixed bootstrap seed
    assert bs.mean_ci([0.5, 0.5, 0.5]) == bs.Estimate(0.5, 0.5, 0.5)
    assert bs.mean_ci([0.6]) == bs.Estimate(0.6, 0.6, 0.6)
    assert e.text() == f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"


def test_mean_ci_width_matches_the_normal_approximation_for_many_seeds():
    rng = np.random.default_rng(3)
    values = rng.normal(0.8, 0.02, size=400)
    e = bs.mean_ci(values, n_boot=2000)
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert (e.high - e.low) / 2 == pytest.approx(half, rel=0.15)


def test_paired_difference_resamples_seeds_together():
    a = np.array([0.80, 0.70, 0.75, 0.72])
    b = a - 0.01  # every seed: a beats b by exactly 0.01
    e = bs.paired_difference(a, b)
    assert e.value == pytest.approx(0.01) and e.low == pytest.approx(0.01) == e.high
    with pytest.raises(ValueError, match="shapes differ"):
        bs.paired_difference([1.0, 2.0], [1.0])


def test_range_of_means_bootstrap_over_seed_columns():
    m = np.array([[0.70, 0.72, 0.71], [0.75, 0.77, 0.76], [0.73, 0.74, 0.72]])
    assert bs.range_of_means(m) == pytest.approx(0.05)
    e = bs.bootstrap(m, bs.range_of_means)
    assert e.low <= e.value <= e.high
    assert e.low == pytest.approx(0.05) and e.high == pytest.approx(0.05)  # a constant gap
    with pytest.raises(ValueError, match="no seeds"):
        bs.bootstrap(np.zeros((3, 0)), bs.range_of_means)


@pytest.mark.parametrize(
    "x,y",
    [
        ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]),
        ([0.3, 0.1, 0.1, 0.7, 0.2, 0.7], [1, 2, 3, 4, 5, 6]),  # ties on one side
        ([2, 2, 1, 1, 3], [1, 1, 2, 2, 3]),  # ties on both sides
        ([3, 1, 2], [1, 3, 2]),
    ],
)
def test_spearman_matches_scipy(x, y):
    from scipy.stats import rankdata, spearmanr

    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert list(average_ranks(x)) == list(rankdata(x))


def test_spearman_on_random_data_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 5, 12), rng.normal(size=12)
        assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)


def test_spearman_edge_cases():
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1], [2]))
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)
    with pytest.raises(ValueError, match="lengths differ"):
        spearman([1, 2], [1, 2, 3])


def test_markdown_table():
    text = markdown_table(["a", "b", "c"], [["x", 1, 0.12345], ["y", None, float("nan")]])
    lines = text.splitlines()
    assert lines[0] == "| a | b | c |" and lines[1] == "| --- | ---: | ---: |"
    assert lines[2] == "| x | 1 | 0.123 |" and lines[3] == "| y | – | – |"
    assert fmt(0.5, 1) == "0.5" and fmt("a|b") == "a|b"
    with pytest.raises(ValueError, match="cells"):
        markdown_table(["a"], [[1, 2]])


# -- run and data helpers -----------------------------------------------------------------------
def test_dotlist_round_trips_through_omegaconf(tmp_path):
    from omegaconf import OmegaConf

    items = {
        "vars.stats": ["text_len", "num_words"],
        "vars.seed": 3,
        "resume": True,
        "vars.train": tmp_path / "x.jsonl",
        "vars.k": 2.5,
    }
    parsed = OmegaConf.to_container(OmegaConf.from_dotlist(dotlist(items)))
    assert parsed == {
        "vars": {
            "stats": ["text_len", "num_words"],
            "seed": 3,
            "train": str(tmp_path / "x.jsonl"),
            "k": 2.5,
        },
        "resume": True,
    }


def test_reuse_fingerprint_follows_file_contents(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"id": 1}\n')
    before = input_digests({"vars.train": data, "vars.seed": 1, "vars.x": "not/a/file"})
    assert set(before) == {"vars.train"}
    data.write_text('{"id": 2}\n')  # same path, other rows: a finished run must not be reused
    assert input_digests({"vars.train": data})["vars.train"] != before["vars.train"]


def test_finished_needs_every_job_done_and_a_summary(tmp_path):
    state = {"jobs": {"a": {"status": "done"}, "b": {"status": "failed"}}, "context": {}}
    (tmp_path / "sandbox_state.json").write_text(json.dumps(state))
    (tmp_path / "summary.json").write_text("{}")
    assert not finished(tmp_path)
    state["jobs"]["b"]["status"] = "done"
    (tmp_path / "sandbox_state.json").write_text(json.dumps(state))
    assert finished(tmp_path)
    (tmp_path / "summary.json").unlink()
    assert not finished(tmp_path)


def test_subsets_splits_and_pool_facts(tmp_path):
    src = tmp_path / "all.jsonl"
    rows = [
        {
            "id": f"r{i}",
            "label": "great" if i % 4 else "other",
            "__dj__stats__": {"text_len": 10 * i},
        }
        for i in range(10)
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert head_jsonl(src, tmp_path / "h.jsonl", None) == src
    head = head_jsonl(src, tmp_path / "h.jsonl", 4)
    assert [json.loads(line)["id"] for line in head.read_text().splitlines()] == [
        "r0",
        "r1",
        "r2",
        "r3",
    ]
    with pytest.raises(ValueError, match="fewer"):
        head_jsonl(src, tmp_path / "h2.jsonl", 11)
    first, rest = split_jsonl(src, tmp_path / "split", 8)
    assert len(first.read_text().splitlines()) == 8 and len(rest.read_text().splitlines()) == 2
    facts = pool_facts(head, "text_len")
    assert facts["rows"] == 4 and facts["positive_share"] == 0.75
    assert (facts["stat_min"], facts["stat_max"]) == (0, 30)
    shuffled = tmp_path / "s.jsonl"
    shuffled.write_text("".join(reversed(head.read_text().splitlines(keepends=True))))
    assert pool_facts(shuffled)["digest"] == facts["digest"]  # same rows, any order
    assert pool_facts(src)["digest"] != facts["digest"]


def test_results_are_copied_into_the_readme_between_markers(tmp_path):
    from experiments.common.publish import include_in_readme

    results = tmp_path / "results.md"
    results.write_text("# Title\n\n## Table\n\n| a |\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Study\n\n<!-- results:begin (generated) -->\nold\n<!-- results:end -->\n"
        "\n## What was found\n"
    )
    assert include_in_readme(readme, results)
    text = readme.read_text()
    assert "old" not in text and "## Title\n\n### Table\n\n| a |\n<!-- results:end -->" in text
    assert text.startswith("# Study") and text.endswith("## What was found\n")
    assert include_in_readme(readme, results) and readme.read_text() == text  # idempotent
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers")
    assert not include_in_readme(plain, results) and plain.read_text() == "no markers"


# -- study analyses on synthetic numbers ---------------------------------------------------------
def _measured(accuracy: dict, digests: dict) -> dict:
    facts = {
        s: [
            {"rows": 10, "distinct_rows": 10, "positive_share": 0.6, "digest": d}
            for d in digests[s]
        ]
        for s in accuracy
    }
    return {"accuracy": accuracy, "macro_f1": accuracy, "pool_facts": facts}


def test_single_op_ranking_skips_identical_operators():
    from experiments.single_op.analysis import NULL_PREFIX, summarise

    RANDOM = NULL_PREFIX + "1"
    acc = {
        "text_len": [[0.70, 0.70], [0.75, 0.75], [0.80, 0.80]],
        "max_line_length": [[0.70, 0.70], [0.75, 0.75], [0.80, 0.80]],
        "alnum_ratio": [[0.74, 0.76], [0.75, 0.75], [0.76, 0.74]],
        "num_words": [[0.72, 0.72], [0.78, 0.78], [0.75, 0.75]],
        RANDOM: [[0.75, 0.74], [0.74, 0.75], [0.75, 0.75]],
    }
    digests = {
        "text_len": "abc",
        "max_line_length": "abc",
        "alnum_ratio": "def",
        "num_words": "ghi",
        RANDOM: "jkl",
    }
    s = summarise(_measured(acc, digests))
    assert s["ranking"][:2] == ["text_len", "max_line_length"]
    assert s["operators"]["max_line_length"]["same_pools_as"] == "text_len"
    assert s["distinct_ranking"] == ["text_len", "num_words", "alnum_ratio"]
    assert s["top_operators"] == [
        {"stat": "text_len", "best_pool": 2},
        {"stat": "num_words", "best_pool": 1},
        {"stat": "alnum_ratio", "best_pool": 0},
    ]
    assert (s["best_pool"]["stat"], s["best_pool"]["pool"]) == ("text_len", 2)
    gap = s["operators"]["text_len"]["gap"]
    assert gap["value"] == pytest.approx(0.10) and gap["low"] <= gap["value"] <= gap["high"]
    assert s["noise_floor"] == pytest.approx(0.005) and s["null_operators"] == [RANDOM]
    assert s["operators"]["text_len"]["above_noise"] is True
    assert s["operators"]["alnum_ratio"]["above_noise"] is False


def test_transfer_spearman_of_identical_scales_is_one():
    from experiments.transfer.analysis import bootstrap_spearman

    acc = {
        "a": np.array([[0.7, 0.71], [0.8, 0.79], [0.75, 0.75]]),
        "b": np.array([[0.7, 0.7], [0.72, 0.72], [0.71, 0.71]]),
        "c": np.array([[0.6, 0.62], [0.8, 0.8], [0.7, 0.7]]),
    }
    e = bootstrap_spearman(acc, acc, "gap", n_boot=200)
    assert e.value == pytest.approx(1.0) and -1 <= e.low <= e.value <= e.high <= 1
    # gaps a 0.09, b 0.02, c 0.19; swapping b's and c's pools reverses the ranking
    reversed_ = {"a": acc["a"], "b": acc["c"], "c": acc["b"]}
    assert bootstrap_spearman(acc, reversed_, "gap", n_boot=50).value == pytest.approx(-1.0)


def test_combination_names_parse():
    from experiments.multi_op.run import combo_members

    assert combo_members("/x/analysed_top_0_2_num_17.jsonl") == (0, 2)
    assert combo_members("pool_top_1_num_400.jsonl") == (1,)
    with pytest.raises(ValueError):
        combo_members("/x/other.jsonl")


# -- the studies, end to end through the sandbox -------------------------------------------------
def _ci_ok(e: dict) -> bool:
    return e["low"] - 1e-12 <= e["value"] <= e["high"] + 1e-12


def _acc_ok(e: dict) -> bool:
    return _ci_ok(e) and e["low"] >= 0 and e["high"] <= 1


def _published(out: Path, figures: list[str]) -> dict:
    md = (out / "results.md").read_text()
    assert "**Wall time:" in md and "CPU cores" in md
    for f in figures:
        assert (out / f).stat().st_size > 1000 and f"]({f})" in md
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["profile"] == "smoke" and data["meta"]["run"]["wall_seconds"] > 0
    return data


def _run(study: str, out: Path, *extra: str) -> Path:
    import importlib

    module = importlib.import_module(f"experiments.{study}.run")
    return module.main(["--smoke", "--out", str(out), "--runs", str(out / "runs"), *extra])


@pytest.fixture(scope="module")
def single_op(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single_op")
    _run("single_op", out)
    return out


def test_single_op_smoke(single_op):
    data = _published(single_op, ["pools.png", "gaps.png"])
    s, m = data["summary"], data["measured"]
    nulls = {f"random partition {k}" for k in (1, 2, 3)}
    assert set(s["operators"]) == {"text_len", "alnum_ratio", "special_char_ratio"} | nulls
    assert set(s["null_operators"]) == nulls and 0 <= s["noise_floor"] <= 1
    assert len(m["runs"]) == 4 and m["seeds"] == [0, 1]  # pipeline + null control, per seed
    for op in s["operators"].values():
        assert _ci_ok(op["gap"]) and 0 <= op["gap"]["value"] <= 1
        assert [p["rows"] for p in op["pools"]] == [80, 80, 80]  # thirds of 240 rows
        assert all(_acc_ok(p["accuracy"]) for p in op["pools"])
    for stat in ("text_len", "alnum_ratio"):  # pools are sorted by their stat
        pools = s["operators"][stat]["pools"]
        assert (
            pools[0]["stat_max"]
            <= pools[1]["stat_min"]
            <= pools[1]["stat_max"]
            <= pools[2]["stat_min"]
        )
    assert len(s["top_operators"]) == 3
    md = (single_op / "results.md").read_text()
    assert "| rank | stat | gap [95% CI]" in md and "| random partition 3 |" in md
    # every run is a real sandbox run folder
    for run in m["runs"]:
        assert finished(Path(run["work_dir"]))
        assert run["command"].startswith("dj-sandbox --config ")


def test_multi_op_smoke(single_op, tmp_path):
    _run("multi_op", tmp_path, "--single-op", str(single_op / "results.json"))
    data = _published(tmp_path, ["combos.png"])
    s = data["summary"]
    labels = [p["pool"] for p in s["pools"]]
    assert labels and all(1 <= len(p["members"]) <= 3 for p in s["pools"])
    assert len({p["rows"] for p in s["pools"]} | {s["random"]["rows"]}) == 1  # equal sizes
    for p in s["pools"]:
        assert _acc_ok(p["accuracy"]) and _ci_ok(p["minus_random"])
        assert -1 <= p["minus_random"]["value"] <= 1 and 0 <= p["wins_over_random"] <= 2
    assert _acc_ok(s["random"]["accuracy"])
    assert "| random rows (control) |" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_transfer_smoke(single_op, tmp_path):
    _run("transfer", tmp_path, "--single-op", str(single_op / "results.json"))
    data = _published(tmp_path, ["transfer.png"])
    s = data["summary"]
    for key in ("spearman_gap", "spearman_pool"):
        e = s[key]
        if e["value"] is not None:
            assert -1 <= e["low"] <= e["value"] <= e["high"] <= 1
    assert {o["stat"] for o in s["operators"]} <= {"text_len", "alnum_ratio", "special_char_ratio"}
    assert data["large"]["profile"]["embed_dim"] == 96


@pytest.mark.slow
def test_duplication_smoke(single_op, tmp_path):
    _run("duplication", tmp_path, "--single-op", str(single_op / "results.json"))
    data = _published(tmp_path, ["duplication.png"])
    arms = data["summary"]["arms"]
    assert arms["best pool x4"]["rows"] == 160 and arms["best pool x4"]["distinct_rows"] == 40
    assert arms["fresh rows x4"]["rows"] == arms["fresh rows x4"]["distinct_rows"] == 160
    assert all(_acc_ok(a["accuracy"]) for a in arms.values())
    assert set(data["summary"]["duplicated_minus_fresh"]) == {"x1", "x2", "x4"}


@pytest.mark.slow
def test_hpo_smoke(tmp_path):
    _run("hpo", tmp_path)
    data = _published(tmp_path, ["sweep.png", "arms.png"])
    s, m = data["summary"], data["measured"]
    assert s["trials"]["total"] == 2 and m["rows"] == {"search": 192, "dev": 48, "test": 200}
    assert m["reeval"]["seeds"] == [0, 101]
    for arm in s["arms"].values():
        assert _acc_ok(arm["heldout"]["dev"]) and _acc_ok(arm["heldout"]["test"])
    # the best trial, re-run with the sweep's seed outside the sweep, scores the same
    assert s["selection"]["reeval_sweep_seed_dev"] == pytest.approx(
        s["selection"]["sweep_best_dev"]
    )
    assert s["arms"]["raw"]["rows"] == 192 >= s["arms"]["hpo_best"]["rows"]


@pytest.mark.slow
def test_feedback_smoke(tmp_path):
    _run("feedback", tmp_path)
    data = _published(tmp_path, [])
    assert data["search_rows"] == 480 and data["dev_rows"] == 120
    assert set(data["pools"]) == {"text_len"} and len(data["control"]) == 3
    assert data["noise_floor"] == pytest.approx(max(data["control"]) - min(data["control"]))
    assert set(data["decisions"]) == {"noise_aware", "best_pool", "drop_worst"}
    assert data["decisions"]["best_pool"][0]["decision"] in ("keep", "leave")
    for arm in data["arms"].values():
        assert arm["seeds"] == [101] and 0 < arm["rows"] <= 480
        assert _acc_ok(arm["accuracy_ci"])
    assert data["arms"]["raw"]["rows"] == 480
