"""The t2v_cleaning study's numbers from its runs' contexts (one run per held-out seed): the
pools' dev scores against the random-thirds noise floor, each feedback strategy's decisions,
what each cleaning removed, and the arms on the test prompts with paired differences."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from experiments.common.bootstrap import mean_ci, paired_difference
from experiments.common.data import read_rows
from experiments.common.runs import one

ARMS = ("raw", "k_sigma", "feedback", "random_like_k_sigma", "random_like_feedback")
# metric -> True when lower is better (FVD, KVD: distances to the real test clips)
METRICS = {"fvd": True, "kvd": True, "motion_accuracy": False, "temporal_flickering": False}
PAIRS = (
    ("k_sigma", "raw"),
    ("feedback", "raw"),
    ("random_like_k_sigma", "raw"),
    ("random_like_feedback", "raw"),
    ("k_sigma", "random_like_k_sigma"),
    ("feedback", "random_like_feedback"),
)
STRATEGIES = ("noise_aware", "best_pool", "drop_worst")
STATS = "__dj__stats__"


def training_file(ctx: Mapping[str, Any], arm: str) -> str:
    """The Data-Juicer rows `arm` trained on (as the pipeline wires them)."""
    if arm == "raw":
        return one(ctx["data"]["train"]["res_1"])
    if arm.startswith("random_like_"):
        return ctx[arm]["downsample"]["res_1"][0]  # [raw cut, cleaned cut]: the raw one
    return ctx[arm]["process"]["res_1"]


def arm_scores(ctx: Mapping[str, Any], arm: str) -> dict[str, float | None]:
    """One arm's test scores in one run: FVD, KVD, motion accuracy, temporal flickering."""
    fvd = one(ctx[arm]["fvd"]["res_1"])
    vbench = ctx[arm]["vbench"]["res_2"]["detail"]
    return {
        "fvd": fvd.get("fvd"),
        "kvd": fvd.get("kvd"),
        "motion_accuracy": fvd.get("motion_accuracy"),
        "temporal_flickering": vbench.get("temporal_flickering"),
    }


def summarise_arms(per_seed: Mapping[int, Mapping[str, Mapping[str, float]]]) -> dict[str, Any]:
    """{seeds, arms: {arm: {metric: {values, ci}}}, differences: {"a - b": {metric: ci}}};
    `per_seed` is {seed: {arm: {metric: value}}}, every seed holding every arm."""
    seeds = sorted(per_seed)
    arms: dict[str, Any] = {}
    for arm in ARMS:
        arms[arm] = {}
        for metric in METRICS:
            values = [per_seed[s][arm][metric] for s in seeds]
            arms[arm][metric] = {"values": values, "ci": mean_ci(values).as_dict()}
    diffs = {
        f"{a} - {b}": {
            m: paired_difference(arms[a][m]["values"], arms[b][m]["values"]).as_dict()
            for m in METRICS
        }
        for a, b in PAIRS
    }
    return {"seeds": seeds, "arms": arms, "differences": diffs}


def verdict(diff: Mapping[str, float], lower_is_better: bool) -> str:
    """Whether a paired difference's interval excludes zero, in words (better / worse / null)."""
    if diff["low"] <= 0 <= diff["high"]:
        return "null"
    better = (diff["value"] < 0) == lower_is_better
    return "better" if better else "worse"


def within(row: Mapping[str, Any], ranges: Mapping[str, tuple[float | None, float | None]]) -> bool:
    """Whether an analysed row's stats lie inside every kept range (None: that side open)."""
    stats = row.get(STATS) or {}
    for stat, (low, high) in ranges.items():
        value = stats.get(stat)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            return False
        if (low is not None and value < low) or (high is not None and value > high):
            return False
    return True


def kept_ranges(decisions: list[Mapping[str, Any]]) -> dict[str, tuple[float | None, float | None]]:
    """{stat: (min, max)} of the stats a strategy decided to bound."""
    return {r["stat"]: (r["min"], r["max"]) for r in decisions if r["decision"] == "keep"}


def decided(table: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """A decision table without its file paths (each run folder has its own): what was cut."""
    return [(r["stat"], r["decision"], r["min"], r["max"]) for r in table]


def defect_counts(ids: list[str], defects: Mapping[str, str]) -> dict[str, int]:
    """How many of `ids` carry each recorded defect ('' = none), plus `any` and `clips`."""
    counts: dict[str, int] = {"clips": len(ids), "any": 0}
    for clip in ids:
        kind = defects.get(clip, "")
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
            counts["any"] += 1
    return counts


def _selection(ctx: Mapping[str, Any], recipe: dict[str, Any], trained: str) -> dict[str, Any]:
    """The pools' dev scores, the noise floor and every strategy's decisions (same evidence)."""
    from djsandbox.data.feedback_refine import refine_recipe_from_feedback

    single = ctx["single_op"]
    pools, dev = single["pools"]["res_1"], single["dev_pools"]["res_1"]
    control = [one(r) for r in single["dev_control"]["res_1"]["ignore_stats"]]
    decisions = {trained: ctx["feedback"]["refine"]["res_2"]}
    for strategy in (s for s in STRATEGIES if s != trained):  # same evidence, no training
        _, table = refine_recipe_from_feedback(
            recipe,
            pools,
            dev,
            strategy=strategy,
            ranking_key="fvd",
            descending=False,
            control_metrics=single["dev_control"]["res_1"],
        )
        decisions[strategy] = table
    fvds = [r["fvd"] for r in control]
    return {
        "pools": {
            stat: {m: [one(r)[m] for r in dev[stat]] for m in ("fvd", "motion_accuracy")}
            for stat in pools
        },
        "control": {m: [r[m] for r in control] for m in ("fvd", "motion_accuracy")},
        "noise_floor": max(fvds) - min(fvds),
        "decisions": decisions,
    }


def collect(
    runs: Mapping[int, Mapping[str, Any]],
    recipe_path: Path,
    clips_path: Path,
    strategy: str = "noise_aware",
) -> dict[str, Any]:
    """Everything the results report, from {held-out seed: run context}."""
    import yaml

    first = runs[min(runs)]
    recipe = yaml.safe_load(recipe_path.read_text())
    selection = _selection(first, recipe, strategy)
    analysed = read_rows(first["single_op"]["analysis"]["res_1"])
    train_ids = [r["id"] for r in analysed]
    defects = {r["id"]: r.get("defect") or "" for r in read_rows(clips_path)}
    strategy_rows = {
        s: sum(within(r, kept_ranges(t)) for r in analysed)
        for s, t in selection["decisions"].items()
    }
    removed = {"all training clips": defect_counts(train_ids, defects)}
    for arm in ("k_sigma", "feedback"):
        kept = {r["id"] for r in read_rows(training_file(first, arm))}
        removed[f"removed by {arm}"] = defect_counts(
            [i for i in train_ids if i not in kept], defects
        )
    rows: dict[str, Any] = {}
    per_seed: dict[int, dict[str, Any]] = {}
    for seed, ctx in runs.items():
        per_seed[seed] = {arm: arm_scores(ctx, arm) for arm in ARMS}
        for arm in ARMS:
            metrics = ctx[arm]["train"]["train_metrics"]
            rows.setdefault(arm, set()).add(
                (
                    sum(1 for _ in read_rows(training_file(ctx, arm))),
                    metrics["train_rows"],
                    metrics["val_rows"],
                )
            )
    same_selection = all(
        decided(ctx["feedback"]["refine"]["res_2"]) == decided(first["feedback"]["refine"]["res_2"])
        for ctx in runs.values()
    )
    return {
        "train_clips": len(train_ids),
        "dev_prompts": one(first["single_op"]["dev_control"]["res_1"]["ignore_stats"][0])["rows"],
        "test_prompts": one(first["raw"]["fvd"]["res_1"])["rows"],
        **selection,
        "strategy_rows": strategy_rows,
        "removed": removed,
        "rows": {
            arm: [{"file": f, "train": t, "val": v} for f, t, v in sorted(r)]
            for arm, r in rows.items()
        },
        "same_selection_every_seed": same_selection,
        "per_seed": {str(s): v for s, v in per_seed.items()},
        **summarise_arms(per_seed),
    }
