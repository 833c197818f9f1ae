"""Study 6's numbers and figures: held-out comparison of the arms and the selection bias."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.common.bootstrap import mean_ci, paired_difference
from experiments.common.figures import pyplot, save
from experiments.common.tables import markdown_table

ARMS = ("raw", "k_sigma", "hpo_best")
LABELS = {"raw": "raw data", "k_sigma": "k-sigma recipe (k=3)", "hpo_best": "best HPO thresholds"}
PAIRS = (("hpo_best", "raw"), ("hpo_best", "k_sigma"), ("k_sigma", "raw"))


def summarise(measured: dict[str, Any]) -> dict[str, Any]:
    re = measured["reeval"]
    arms = re["arms"]  # index 0: the sweep's seed; the rest: held-out seeds
    held = {
        a: {split: np.asarray(arms[a][split][1:], dtype=float) for split in ("dev", "test")}
        for a in ARMS
    }
    out_arms = {
        a: {
            "rows": arms[a]["rows"][0],
            "sweep_seed": {"dev": arms[a]["dev"][0], "test": arms[a]["test"][0]},
            "heldout": {s: mean_ci(held[a][s]).as_dict() for s in ("dev", "test")},
        }
        for a in ARMS
    }
    diffs = {
        f"{a} - {b}": {
            s: paired_difference(held[a][s], held[b][s]).as_dict() for s in ("dev", "test")
        }
        for a, b in PAIRS
    }
    trials = measured["trials"]
    done = [t for t in trials if t["state"] == "COMPLETE"]
    best = measured["best_trial"]
    values = sorted((t["value"] for t in done), reverse=True)
    return {
        "arms": out_arms,
        "differences_heldout": diffs,
        "trials": {
            "total": len(trials),
            "complete": len(done),
            "failed": sum(t["state"] == "FAIL" for t in trials),
            "best_number": best["number"],
            "best_value": best["value"],
            "median_value": float(np.median(values)),
            "within_0.01_of_best": sum(v >= best["value"] - 0.01 for v in values),
        },
        "selection": {
            "sweep_best_dev": best["value"],
            "reeval_sweep_seed_dev": arms["hpo_best"]["dev"][0],
            "heldout_dev": out_arms["hpo_best"]["heldout"]["dev"],
            "heldout_test": out_arms["hpo_best"]["heldout"]["test"],
            "optimism_dev": best["value"] - out_arms["hpo_best"]["heldout"]["dev"]["value"],
            "raw_sweep_seed_dev": arms["raw"]["dev"][0],
        },
        "heldout_seeds": re["seeds"][1:],
        "sweep_seed": re["seeds"][0],
    }


def _ci(e: dict[str, float], sign: bool = False) -> str:
    f = "+.3f" if sign else ".3f"
    return f"{e['value']:{f}} [{e['low']:{f}}, {e['high']:{f}}]"


def markdown(summary: dict[str, Any], measured: dict[str, Any], figures: list[str]) -> list[str]:
    p, rows, maj = measured["profile"], measured["rows"], measured["majority_accuracy"]
    best = measured["best_trial"]
    params = ", ".join(
        f"`{k.removeprefix('vars.')}`={v:.3g}"
        if isinstance(v, float)
        else f"`{k.removeprefix('vars.')}`={v}"
        for k, v in sorted(best["params"].items())
    )
    t = summary["trials"]
    setup = (
        f"## Setup\n\nTraining set split once: {rows['search']} search rows (filtered and "
        f"trained on), {rows['dev']} dev rows (the sweep's objective), and the "
        f"{rows['test']}-row test set, never seen by the sweep. Majority-class accuracy: "
        f"dev {maj['dev']:.3f}, test {maj['test']:.3f}. Text classifier: embed_dim "
        f"{p['embed_dim']}, max_epochs {p['epochs']}. Sweep: {p['trials']} trials of "
        f"Optuna TPE (sampler seed {p['sampler_seed']}), one at a time, all with training "
        f"seed {summary['sweep_seed']}; the sweep took "
        f"{measured['sweep_time']['seconds'] / 60:.1f} min; its command:\n\n```\n"
        f"{measured['sweep_command']}\n```\n\nTrials: {t['complete']} complete, "
        f"{t['failed']} failed; dev accuracy median {t['median_value']:.3f}, best "
        f"{t['best_value']:.3f} (trial {t['best_number']}); {t['within_0.01_of_best']} "
        f"trial(s) within 0.01 of the best. Best thresholds: {params}. Held-out seeds: "
        f"{summary['heldout_seeds']}. Intervals: 95% percentile bootstrap over held-out "
        "seeds; differences paired by seed.\n"
    )
    arm_rows = []
    for a in ARMS:
        s = summary["arms"][a]
        arm_rows.append(
            [
                LABELS[a],
                s["rows"],
                s["sweep_seed"]["dev"],
                _ci(s["heldout"]["dev"]),
                _ci(s["heldout"]["test"]),
            ]
        )
    arms = "## Arms\n\n" + markdown_table(
        [
            "arm",
            "rows trained on",
            f"dev, sweep seed {summary['sweep_seed']}",
            "dev, held-out seeds [95% CI]",
            "test, held-out seeds [95% CI]",
        ],
        arm_rows,
    )
    diff_rows = [
        [f"{LABELS[a]} minus {LABELS[b]}", _ci(d["dev"], True), _ci(d["test"], True)]
        for (a, b), d in zip(PAIRS, summary["differences_heldout"].values())
    ]
    diffs = "## Paired differences (held-out seeds)\n\n" + markdown_table(
        ["difference", "dev [95% CI]", "test [95% CI]"], diff_rows
    )
    sel = summary["selection"]
    bias = (
        "## Selection bias\n\n"
        + markdown_table(
            ["the best thresholds' accuracy", "value"],
            [
                ["dev, in the sweep (best of the trials, sweep seed)", sel["sweep_best_dev"]],
                [
                    "dev, same seed, re-run by reeval.yaml (reproducibility check)",
                    sel["reeval_sweep_seed_dev"],
                ],
                ["dev, held-out seeds (mean)", sel["heldout_dev"]["value"]],
                ["test, held-out seeds (mean)", sel["heldout_test"]["value"]],
                ["optimism on dev: in-sweep best minus held-out mean", sel["optimism_dev"]],
            ],
        )
        + f"\nFor scale: raw data scores {sel['raw_sweep_seed_dev']:.3f} on dev with the sweep seed.\n"
    )
    figs = "## Figures\n\n" + "\n".join(f"![{f}]({f})" for f in figures) + "\n"
    return [setup, arms, diffs, bias, figs]


def history_figure(measured: dict[str, Any], summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    done = [t for t in measured["trials"] if t["state"] == "COMPLETE"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    xs = [t["number"] for t in done]
    ys = [t["value"] for t in done]
    a.scatter(xs, ys, color="tab:blue", s=18, label="trial")
    a.plot(xs, np.maximum.accumulate(ys), color="tab:blue", label="best so far")
    for arm, style in (("raw", ":"), ("k_sigma", "--")):
        a.axhline(
            summary["arms"][arm]["sweep_seed"]["dev"],
            color="grey",
            linestyle=style,
            label=f"{LABELS[arm]} (same seed)",
        )
    a.set_xlabel("trial")
    a.set_ylabel("dev accuracy")
    a.set_title("Sweep history")
    a.legend(fontsize=7)
    kept = [(t["rows_kept"], t["value"]) for t in done if t["rows_kept"] is not None]
    if kept:
        b.scatter([k for k, _ in kept], [v for _, v in kept], s=18)
    b.set_xlabel("rows kept by the trial's thresholds")
    b.set_ylabel("dev accuracy")
    b.set_title("Accuracy against rows kept")
    return save(fig, path)


def arms_figure(summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for j, (split, colour) in enumerate((("dev", "tab:orange"), ("test", "tab:blue"))):
        for i, arm in enumerate(ARMS):
            e = summary["arms"][arm]["heldout"][split]
            ax.errorbar(
                i + (j - 0.5) * 0.2,
                e["value"],
                yerr=[[e["value"] - e["low"]], [e["high"] - e["value"]]],
                fmt="o",
                color=colour,
                capsize=3,
                label=split if i == 0 else None,
            )
    ax.set_xticks(range(len(ARMS)), [LABELS[a] for a in ARMS], fontsize=8)
    ax.set_ylabel("accuracy, held-out seeds (mean, 95% CI)")
    ax.set_title("Raw vs k-sigma vs best HPO recipe")
    ax.legend(fontsize=8)
    return save(fig, path)
