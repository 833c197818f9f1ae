"""Study 9's results.md sections and figure, from the run's data (nothing typed by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.common.figures import estimate_point, pyplot, save
from experiments.common.tables import markdown_table

LABELS = {
    "fvd": "FVD (lower is better)",
    "kvd": "KVD (lower is better)",
    "motion_accuracy": "motion accuracy (higher is better)",
}


def _ci(e: dict[str, float] | None, digits: int = 3) -> str:
    if not e or e.get("value") is None or e.get("low") is None or e["value"] != e["value"]:
        return "–"
    return f"{e['value']:.{digits}f} [{e['low']:.{digits}f}, {e['high']:.{digits}f}]"


def _pair(p: dict[str, Any]) -> str:
    if p["mean"] is None:
        return "–"
    return f"{p['mean']:.2f} ({p['min']:.2f} to {p['max']:.2f}, {p['pairs']} pairs)"


def _setup(data: dict[str, Any]) -> str:
    prof, bases = data["profile"], data["bases"]
    rows = [
        [
            size,
            data["models"][size],
            f"{b['params']['transformer']:,}",
            f"{b['params']['vae']:,}",
            "yes" if b["vae_reused"] else "no",
            f"{b['seconds']:.0f}",
            "this invocation" if b["built_now"] else "before (cached)",
        ]
        for size, b in bases.items()
    ]
    train = "all 360" if prof["max_train_rows"] is None else f"the first {prof['max_train_rows']}"
    return (
        "## Setup\n\n"
        f"Seeds {prof['seeds']} per model; trainer `{prof['trainer']}`, {prof['epochs']} epochs "
        f"per LoRA; {train} training clips (pools of a third each); {prof['dev_prompts']} dev "
        "prompts (the first rows of the test split; the rest of it is not used). Pools: "
        "low/mid/high thirds of `video_motion_score` and `text_len`, and `random` (file-order "
        "thirds; the clips are sorted by a hash of their id). Intervals: 95% percentile "
        "bootstrap over seeds (crude with this few seeds); the cross-model Spearman resamples "
        "each model's seeds separately.\n\n"
        "Base models (each pretrained once and cached; the build is a one-time cost, not part "
        "of a study run once cached):\n\n"
        + markdown_table(
            [
                "model",
                "config",
                "transformer params",
                "VAE params",
                "VAE reused",
                "build s",
                "built",
            ],
            rows,
        )
    )


def _agreement(summary: dict[str, Any]) -> str:
    rows = []
    for metric, m in summary["metrics"].items():
        s2s = m["seed_to_seed"]
        rows.append(
            [
                LABELS[metric],
                _ci(m["spearman_stat_pools"], 2),
                _ci(m["spearman_all_pools"], 2),
                _pair(s2s["small"]),
                _pair(s2s["large"]),
                _pair(s2s["across_models"]),
            ]
        )
    return (
        "## Rank agreement\n\n"
        "Spearman between the two models' pool rankings (means over seeds), over the 6 stat "
        "pools and over all 9 (with the random thirds); then, over the 6 stat pools, the "
        "Spearman between single seeds: two seeds of the same model, and a seed of each model "
        "(mean, range, number of pairs).\n\n"
        + markdown_table(
            [
                "score",
                "small vs large, 6 stat pools [95% CI]",
                "all 9 pools [95% CI]",
                "seed vs seed, small",
                "seed vs seed, large",
                "seed vs seed, across models",
            ],
            rows,
        )
    )


def _pools(summary: dict[str, Any], metric: str) -> str:
    m = summary["metrics"][metric]
    rows = [
        [p["pool"], _ci(p["small"]), p["small_rank"], _ci(p["large"]), p["large_rank"]]
        for p in m["pools"]
    ]
    spread_rows = [
        [g, _ci(m["spreads"]["small"][g]), _ci(m["spreads"]["large"][g])]
        for g in m["spreads"]["small"]
    ]
    return (
        f"## Pools: {LABELS[metric]}\n\n"
        "Rank 1 is the best pool of a model.\n\n"
        + markdown_table(
            ["pool", "small [95% CI]", "small rank", "large [95% CI]", "large rank"],
            rows,
            digits=1,
        )
        + f"\nBest pool: {m['best_pool']['small']} (small), {m['best_pool']['large']} (large). "
        f"Random thirds' ranks among the 9: {m['control_ranks']['small']} (small), "
        f"{m['control_ranks']['large']} (large).\n\n"
        "Spread (best minus worst pool mean) per stat and for the random thirds:\n\n"
        + markdown_table(["pools", "small [95% CI]", "large [95% CI]"], spread_rows)
    )


def _runs(data: dict[str, Any]) -> str:
    rows = [
        [r["model"], r["seed"], f"{r['seconds']:.0f}", "yes" if r["reused"] else "no"]
        for r in data["runs"]
    ]
    return (
        "## Runs\n\nEach row is one `python -m djsandbox +pipeline=easyanimate_pools ...` run "
        "(commands in results.json); its wall time as measured when it ran.\n\n"
        + markdown_table(["model", "seed", "seconds", "reused"], rows)
    )


def sections(data: dict[str, Any], figure: str) -> list[str]:
    s = data["summary"]
    return [
        _setup(data),
        _agreement(s),
        _pools(s, "fvd"),
        _pools(s, "kvd"),
        _pools(s, "motion_accuracy"),
        _runs(data),
        f"## Figure\n\n![{figure}]({figure})\n",
    ]


def figure(summary: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for ax, metric in zip(axes, ("fvd", "kvd", "motion_accuracy")):
        m = summary["metrics"][metric]
        for p in m["pools"]:
            marker = "s" if p["pool"].startswith("random/") else "o"
            estimate_point(ax, p["small"], p["large"], p["pool"], marker, fontsize=6)
        rho = m["spearman_stat_pools"]["value"]
        ax.set_title(f"{LABELS[metric]}\nSpearman over the stat pools {rho:.2f}", fontsize=9)
        ax.set_xlabel("small model (mean over seeds)")
        ax.set_ylabel("large model (mean over seeds)")
    return save(fig, path)
