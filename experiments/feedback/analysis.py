"""Study 8's numbers from the run's context: pools on dev, the noise floor, each strategy's
decisions, and the held-out arms on test with paired differences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from djsandbox.data.feedback_refine import refine_recipe_from_feedback
from experiments.common.bootstrap import mean_ci, paired_difference
from experiments.common.runs import one
from experiments.common.tables import markdown_table

ARMS = ("raw", "k_sigma", "feedback")
PAIRS = (("feedback", "raw"), ("feedback", "k_sigma"), ("k_sigma", "raw"))


def _rows(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def collect(ctx: dict[str, Any], recipe_path: Path) -> dict[str, Any]:
    single = ctx["single_op"]
    pools = single["pools"]["res_1"]
    dev = single["dev_pools"]["res_1"]
    control = [r["accuracy"] for r in single["dev_control"]["res_1"]["ignore_stats"]]
    search, dev_file = ctx["split"]["split"]["res_1"]["ignore_stats"]
    decisions = {"noise_aware": ctx["feedback"]["refine"]["res_2"]}
    recipe = yaml.safe_load(recipe_path.read_text())
    for strategy in ("best_pool", "drop_worst"):  # same evidence, no training
        _, decisions[strategy] = refine_recipe_from_feedback(
            recipe, pools, dev, strategy=strategy, control_metrics=single["dev_control"]["res_1"]
        )
    arms = {}
    for arm in ARMS:
        test = one(ctx[arm]["test"]["res_1"])
        train_file = (
            search if arm == "raw" else ctx[arm]["process"]["res_1"]
        )  # the rows the arm trained on
        arms[arm] = {
            "rows": _rows(train_file),
            "seeds": test["seeds"],
            "accuracy": test["accuracy_seeds"],
            "macro_f1": test["macro_f1_seeds"],
            "accuracy_ci": mean_ci(test["accuracy_seeds"]).as_dict(),
            "macro_f1_ci": mean_ci(test["macro_f1_seeds"]).as_dict(),
        }
    diffs = {
        f"{a} - {b}": {
            m: paired_difference(arms[a][m], arms[b][m]).as_dict() for m in ("accuracy", "macro_f1")
        }
        for a, b in PAIRS
    }
    return {
        "search_rows": _rows(search),
        "dev_rows": _rows(dev_file),
        "pools": {
            stat: [r["accuracy"] for r in dev[stat]] for stat in pools
        },  # dev accuracy low/mid/high
        "control": control,
        "noise_floor": max(control) - min(control),
        "decisions": {
            s: [
                {k: row[k] for k in ("stat", "decision", "keep", "min", "max", "gap", "reason")}
                for row in table
            ]
            for s, table in decisions.items()
        },
        "arms": arms,
        "differences": diffs,
    }


def _ci(d: dict[str, float]) -> str:
    return f"{d['value']:.4f} [{d['low']:.4f}, {d['high']:.4f}]"


def _signed(d: dict[str, float]) -> str:
    return f"{d['value']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"


def sections(data: dict[str, Any]) -> list[str]:
    prof = data["profile"]
    out = [
        "### Setup\n\n"
        f"Training set split once: {data['search_rows']} search rows (filtered, trained on) and "
        f"{data['dev_rows']} dev rows (the pools are scored on these; selection never sees the "
        f"test set). Pool models: selection seed {prof['selection_seed']}, {prof['epochs']} "
        f"epoch(s). Arms: held-out seeds {prof['heldout_seeds']}, scored on the 1,000-row test "
        f"set (majority class {prof['majority_test_accuracy']:.3f}). Intervals: 95% percentile "
        "bootstrap over seeds; differences paired by seed. The pipeline command:\n\n"
        f"```\n{prof['pipeline_command']}\n```\n",
    ]
    floor = data["noise_floor"]
    rows = [
        [
            stat,
            *scores,
            max(scores) - min(scores),
            "yes" if max(scores) - min(scores) > floor else "no",
        ]
        for stat, scores in data["pools"].items()
    ]
    rows.append(["random thirds (control)", *data["control"], floor, "-"])
    out.append(
        "### Pools on dev (accuracy)\n\n"
        + markdown_table(
            ["pools", "low", "mid", "high", "best - worst", "beyond the noise floor?"], rows, 4
        )
        + f"\nNoise floor: the random thirds' spread, {floor:.4f}.\n"
    )
    dec_rows = []
    for strategy, table in data["decisions"].items():
        for row in table:
            kept = (
                "-"
                if row["decision"] != "keep"
                else f"[{'-inf' if row['min'] is None else format(row['min'], '.4g')}, "
                f"{'inf' if row['max'] is None else format(row['max'], '.4g')}]"
            )
            dec_rows.append([strategy, row["stat"], row["decision"], kept, row["reason"]])
    out.append(
        "### Decisions (same evidence; only `noise_aware` was trained)\n\n"
        + markdown_table(["strategy", "stat", "decision", "kept range", "reason"], dec_rows)
    )
    arms = data["arms"]
    arm_rows = [
        [a, arms[a]["rows"], _ci(arms[a]["accuracy_ci"]), _ci(arms[a]["macro_f1_ci"])] for a in ARMS
    ]
    diff_rows = [
        [pair, _signed(d["accuracy"]), _signed(d["macro_f1"])]
        for pair, d in data["differences"].items()
    ]
    out.append(
        "### Held-out arms on test\n\n"
        + markdown_table(["arm", "training rows", "accuracy", "macro-F1"], arm_rows)
        + "\nPaired differences (held-out seeds):\n\n"
        + markdown_table(["difference", "accuracy", "macro-F1"], diff_rows)
    )
    return out
