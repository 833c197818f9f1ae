"""results.md sections of the t2v_cleaning study, from `analysis.collect`'s data."""

from __future__ import annotations

from typing import Any

from experiments.common.tables import markdown_table

from .analysis import ARMS, METRICS, verdict

NAMES = {
    "fvd": "FVD (lower better)",
    "kvd": "KVD (lower better)",
    "motion_accuracy": "motion accuracy",
    "temporal_flickering": "temporal flickering (VBench)",
}


def _ci(d: dict[str, float], digits: int = 3) -> str:
    return f"{d['value']:.{digits}f} [{d['low']:.{digits}f}, {d['high']:.{digits}f}]"


def _signed(d: dict[str, float], digits: int = 3) -> str:
    return f"{d['value']:+.{digits}f} [{d['low']:+.{digits}f}, {d['high']:+.{digits}f}]"


def _digits(metric: str) -> int:
    return 4 if metric == "temporal_flickering" else 3


def _range(row: dict[str, Any]) -> str:
    if row["decision"] != "keep":
        return "-"
    low = "-inf" if row["min"] is None else format(row["min"], ".4g")
    high = "inf" if row["max"] is None else format(row["max"], ".4g")
    return f"[{low}, {high}]"


def setup(data: dict[str, Any]) -> str:
    prof = data["profile"]
    commands = "\n".join(prof["pipeline_commands"])
    return (
        "### Setup\n\n"
        f"{data['train_clips']} training clips. The test split is cut in two: the first "
        f"{prof['dev_rows']} rows are the dev prompts ({data['dev_prompts']} distinct prompts "
        "scored; selection only), the rest the test prompts "
        f"({data['test_prompts']} distinct prompts scored; the arms' numbers, never seen by "
        "selection). FVD/KVD compare one generated clip per distinct prompt with the split's real "
        "clips. Tiny EasyAnimate, one LoRA per "
        f"data set: {prof['epochs']} epoch(s), {prof['num_inference_steps']} sampling steps. "
        f"Pool and control LoRAs: selection seed {prof['selection_seed']}. Arms: held-out seeds "
        f"{data['seeds']}, one pipeline run each (selection restored from the job cache; the "
        f"feedback decisions were the same in every run: {data['same_selection_every_seed']}). "
        f"k-sigma k = {prof['k']}; feedback strategy `{prof['strategy']}`. Intervals: 95% "
        "percentile bootstrap over seeds; differences paired by seed. The pipeline commands:"
        f"\n\n```\n{commands}\n```\n"
    )


def pools(data: dict[str, Any]) -> str:
    floor = data["noise_floor"]
    rows = []
    for stat, scores in data["pools"].items():
        fvd = scores["fvd"]
        gap = max(fvd) - min(fvd)
        rows.append([stat, *fvd, gap, "yes" if gap > floor else "no", *scores["motion_accuracy"]])
    ctrl = data["control"]
    rows.append(["random thirds (control)", *ctrl["fvd"], floor, "-", *ctrl["motion_accuracy"]])
    headers = ["pools", "FVD low", "FVD mid", "FVD high", "best - worst", "beyond the floor?"]
    headers += ["motion acc. low", "mid", "high"]
    return (
        "### Pools on dev (FVD, lower is better; motion accuracy)\n\n"
        + markdown_table(headers, rows, 3)
        + f"\nNoise floor: the random thirds' FVD spread, {floor:.3f}.\n"
    )


def decisions(data: dict[str, Any]) -> str:
    rows = []
    for strategy, table in data["decisions"].items():
        for row in table:
            rows.append([strategy, row["stat"], row["decision"], _range(row), row["reason"]])
    kept = [[s, n, data["train_clips"] - n] for s, n in data["strategy_rows"].items()]
    trained = data["profile"]["strategy"]
    return (
        f"### Feedback decisions (same evidence; only `{trained}` was trained)\n\n"
        + markdown_table(["strategy", "stat", "decision", "kept range", "reason"], rows)
        + "\nTraining clips each strategy's ranges keep (counted on the analysed clips):\n\n"
        + markdown_table(["strategy", "clips kept", "clips cut"], kept)
    )


def removed(data: dict[str, Any]) -> str:
    kinds = sorted({k for c in data["removed"].values() for k in c} - {"clips", "any"})
    rows = [
        [name, c["clips"], *(c.get(k, 0) for k in kinds), c["any"]]
        for name, c in data["removed"].items()
    ]
    return (
        "### What the cleaning removed (recorded defects, never shown to the run)\n\n"
        + markdown_table(["clips", "count", *kinds, "any defect"], rows)
    )


def arms(data: dict[str, Any]) -> str:
    rows = []
    for arm in ARMS:
        sizes = data["rows"][arm]
        rows_text = ", ".join(f"{s['file']} ({s['train']} train + {s['val']} val)" for s in sizes)
        rows.append(
            [arm, rows_text] + [_ci(data["arms"][arm][m]["ci"], _digits(m)) for m in METRICS]
        )
    diff_rows = []
    for pair, d in data["differences"].items():
        cells = [
            f"{_signed(d[m], _digits(m))} "
            + (verdict(d[m], low) if len(data["seeds"]) > 1 else "(one seed)")
            for m, low in METRICS.items()
        ]
        diff_rows.append([pair, *cells])
    per_seed = [
        [seed, arm, *(data["per_seed"][seed][arm][m] for m in METRICS)]
        for seed in data["per_seed"]
        for arm in ARMS
    ]
    names = [NAMES[m] for m in METRICS]
    return (
        "### Arms on the test prompts (mean over seeds [95% interval])\n\n"
        + markdown_table(["arm", "clips trained on", *names], rows)
        + "\nPaired differences (same seed; `null`: the interval holds 0):\n\n"
        + markdown_table(["difference", *names], diff_rows)
        + "\nPer seed:\n\n"
        + markdown_table(["seed", "arm", *names], per_seed, 4)
    )


def sections(data: dict[str, Any]) -> list[str]:
    return [setup(data), pools(data), decisions(data), removed(data), arms(data)]
