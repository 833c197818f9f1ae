"""The sweep report: `out_dir/report.md` (+ PNG figures, + one self-contained report.html).

Built from an Optuna study (an object, or a storage URL plus study name) so it can be written
at the end of a sweep or rebuilt later: `python -m djsandbox.sweep_report STORAGE [STUDY] OUT`.

All plots are drawn here with matplotlib: optuna 2.10's matplotlib parallel-coordinate and
importance plots break on current matplotlib, and its default fANOVA importance breaks on
current scikit-learn, so importances use the mean-decrease-impurity evaluator. As for runs,
each section is guarded: a failure logs a warning and leaves that section out.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .report import Doc, _fmt, _number

if TYPE_CHECKING:  # optuna is imported lazily: it is slow to import
    import optuna

log = logging.getLogger("djsandbox.report")


def load_study(storage: str, study_name: str | None = None) -> "optuna.study.Study":
    """Open a stored study; without a name, the storage must hold exactly one."""
    import optuna

    if study_name is None:
        names = [s.study_name for s in optuna.study.get_all_study_summaries(storage=storage)]
        if len(names) != 1:
            raise ValueError(f"{storage} holds {len(names)} studies ({names}); name one")
        study_name = names[0]
    return optuna.load_study(study_name=study_name, storage=storage)


def _objective_names(study: "optuna.study.Study") -> list[str]:
    """Names for each objective: the study's user attr `metric_names` (or `objectives`,
    `optimized_metric`) when the sweep stored one, else value 0, value 1, ..."""
    n = len(study.directions)
    for attr in ("metric_names", "objectives", "optimized_metric"):
        names = study.user_attrs.get(attr)
        if isinstance(names, str):
            names = [names]
        if isinstance(names, (list, tuple)) and len(names) == n:
            return [str(x) for x in names]
    return ["value"] if n == 1 else [f"value {i}" for i in range(n)]


def _complete(study: "optuna.study.Study") -> list["optuna.trial.FrozenTrial"]:
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state == TrialState.COMPLETE and t.values is not None]


def _duration(trial: "optuna.trial.FrozenTrial") -> float | None:
    d = trial.duration
    return d.total_seconds() if d is not None else None


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _section_overview(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    with doc.section("Study"):
        states: dict[str, int] = {}
        for t in study.trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
        doc.bullets([
            f"study: `{study.study_name}`",
            "objectives: " + ", ".join(f"{n} ({d.name.lower()})"
                                       for n, d in zip(names, study.directions)),
            f"trials: {len(study.trials)}" + (" (" + ", ".join(
                f"{n} {s.lower()}" for s, n in states.items()) + ")" if states else ""),
        ])


def _section_best(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    complete = _complete(study)
    if not complete:
        with doc.section("Best trial"):
            doc.para("No trial completed, so there is no best trial.")
        return
    if len(study.directions) == 1:
        with doc.section("Best trial"):
            best = study.best_trial
            doc.bullets([f"trial #{best.number}", f"{names[0]}: {_fmt(best.value)}",
                         f"duration: {_fmt(_duration(best))} s"])
            doc.table([{"param": k, "value": v} for k, v in best.params.items()])
            if best.user_attrs:
                doc.table([{"user attr": k, "value": v} for k, v in best.user_attrs.items()])
    else:
        with doc.section("Pareto front"):
            doc.para("Multi-objective study: no single best trial; these trials are not "
                     "dominated by any other.")
            rows = []
            for t in sorted(study.best_trials, key=lambda t: t.number):
                row: dict[str, Any] = {"trial": t.number}
                row.update({n: v for n, v in zip(names, t.values)})
                row["params"] = _params_text(t.params)
                rows.append(row)
            doc.table(rows)
            if len(names) == 2:
                front = {t.number for t in study.best_trials}
                doc.figure("pareto_front", lambda fig: _draw_pareto(fig, complete, front, names),
                           "Pareto front", size=(6.0, 4.5))


def _draw_pareto(fig: Any, trials: list, front: set[int], names: list[str]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    other = [t for t in trials if t.number not in front]
    best = sorted((t for t in trials if t.number in front), key=lambda t: t.values[0])
    if other:
        ax.scatter([t.values[0] for t in other], [t.values[1] for t in other], color="#aaa",
                   label="trial", s=18)
    ax.plot([t.values[0] for t in best], [t.values[1] for t in best], "o-", color="#c0392b",
            label="Pareto front", markersize=5)
    for t in best:
        ax.annotate(f"#{t.number}", (t.values[0], t.values[1]), fontsize=7,
                    textcoords="offset points", xytext=(3, 3))
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.legend(fontsize=7)


def _section_history(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    complete = _complete(study)
    if not complete:
        return
    with doc.section("Optimisation history"):
        doc.para("Each completed trial's objective value by trial number; the line is the best "
                 "value so far (per objective)." if len(names) > 1 else
                 "Each completed trial's objective value by trial number; the line is the best "
                 "value so far.")
        doc.figure("history", lambda fig: _draw_history(fig, study, complete, names),
                   "Optimisation history", size=(min(6.0 * len(names), 14.0), 4.0))


def _draw_history(fig: Any, study: Any, complete: list, names: list[str]) -> None:
    from optuna.study import StudyDirection

    for i, (name, direction) in enumerate(zip(names, study.directions)):
        ax = fig.add_subplot(1, len(names), i + 1)
        xs = [t.number for t in complete]
        ys = [t.values[i] for t in complete]
        ax.scatter(xs, ys, s=16, color="#3b75af", label="trial")
        pick = min if direction == StudyDirection.MINIMIZE else max
        best, run = [], None
        for y in ys:
            run = y if run is None else pick(run, y)
            best.append(run)
        ax.step(xs, best, where="post", color="#c0392b", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(name)
        ax.set_title(f"{name} ({direction.name.lower()})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()


def _section_importance(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    complete = _complete(study)
    if len(complete) < 2:
        with doc.section("Parameter importances"):
            doc.para(f"Needs at least 2 completed trials (have {len(complete)}).")
        return
    import optuna

    with doc.section("Parameter importances"):
        doc.para("Mean decrease in impurity of a random forest fitted to (params -> objective) "
                 "over the completed trials (`optuna.importance."
                 "MeanDecreaseImpurityImportanceEvaluator`); with few trials, a rough guide.")
        results: dict[str, dict[str, float]] = {}
        for i, name in enumerate(names):
            try:
                results[name] = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(
                        seed=0),
                    target=(lambda t, i=i: t.values[i]) if len(names) > 1 else None)
            except Exception as exc:  # noqa: BLE001 - e.g. no param varies across trials
                doc.para(f"{name}: importances not available ({type(exc).__name__}: {exc}).")
        results = {k: v for k, v in results.items() if v}
        if not results:
            return
        params = list(dict.fromkeys(p for v in results.values() for p in v))
        doc.table([{"param": p, **{n: results[n].get(p) for n in results}} for p in params])
        doc.figure("importances", lambda fig: _draw_importances(fig, results),
                   "Parameter importances",
                   size=(min(5.0 * len(results), 14.0), 0.4 * len(params) + 1.5))


def _draw_importances(fig: Any, results: dict[str, dict[str, float]]) -> None:
    for i, (name, imp) in enumerate(results.items()):
        ax = fig.add_subplot(1, len(results), i + 1)
        items = sorted(imp.items(), key=lambda kv: kv[1])
        ax.barh(range(len(items)), [v for _, v in items], color="#3b75af")
        ax.set_yticks(range(len(items)), [k for k, _ in items], fontsize=8)
        ax.set_xlabel("importance", fontsize=8)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()


def _param_axis(trials: list, param: str) -> tuple[list[float], list[str], list[float]]:
    """Values of one param mapped to [0, 1] (log scale for log distributions, index for
    categorical ones), plus tick labels and their positions."""
    from optuna.distributions import CategoricalDistribution

    dist = next((t.distributions[param] for t in trials if param in t.distributions), None)
    raw = [t.params.get(param) for t in trials]
    if isinstance(dist, CategoricalDistribution) or any(
            _number(v) is None for v in raw if v is not None):
        choices = list(dist.choices) if isinstance(dist, CategoricalDistribution) else \
            list(dict.fromkeys(raw))
        labels = [str(c) for c in choices]
        idx = [labels.index(str(v)) if str(v) in labels else math.nan for v in raw]
        span = max(len(choices) - 1, 1)
        return [i / span for i in idx], labels, [i / span for i in range(len(choices))]
    log_scale = bool(getattr(dist, "log", False))
    xs = [float(v) if v is not None else math.nan for v in raw]
    tx = [math.log10(x) if log_scale and x > 0 else x for x in xs]
    finite = [x for x in tx if math.isfinite(x)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (hi - lo) or 1.0
    low_label = 10 ** lo if log_scale else lo
    high_label = 10 ** hi if log_scale else hi
    return [(x - lo) / span for x in tx], [_fmt(low_label), _fmt(high_label)], [0.0, 1.0]


def _section_parallel(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    complete = _complete(study)
    params = list(dict.fromkeys(p for t in complete for p in t.params))
    if not complete or not params:
        return
    with doc.section("Parallel coordinates"):
        doc.para("One line per completed trial across its parameters (each axis scaled to its "
                 "range; log axes for log-scale parameters, choices in order for categorical "
                 f"ones), coloured by {names[0]}.")
        doc.figure("parallel_coordinates",
                   lambda fig: _draw_parallel(fig, complete, params, names[0]),
                   "Parallel coordinates", size=(max(6.0, 1.8 * (len(params) + 1)), 4.5))


def _draw_parallel(fig: Any, trials: list, params: list[str], objective: str) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    ax = fig.add_subplot(1, 1, 1)
    values = [t.values[0] for t in trials]
    norm = Normalize(min(values), max(values) if max(values) > min(values) else min(values) + 1)
    cmap = colormaps["viridis"]
    lo, hi = min(values), max(values)
    obj_axis = [(v - lo) / ((hi - lo) or 1.0) for v in values]
    axes = [_param_axis(trials, p) for p in params]
    xs = list(range(len(params) + 1))
    for j, t in enumerate(trials):
        ys = [a[0][j] for a in axes] + [obj_axis[j]]
        ax.plot(xs, ys, color=cmap(norm(values[j])), alpha=0.8, linewidth=1.2)
    for x, (_, labels, ticks) in enumerate(axes):
        ax.axvline(x, color="#555", linewidth=0.8)
        for label, tick in zip(labels, ticks):
            ax.text(x + 0.03, tick, label, fontsize=7, va="center")
    ax.axvline(len(params), color="#555", linewidth=0.8)
    ax.text(len(params) + 0.03, 0.0, _fmt(lo), fontsize=7, va="center")
    ax.text(len(params) + 0.03, 1.0, _fmt(hi), fontsize=7, va="center")
    ax.set_xticks(xs, params + [objective], fontsize=8, rotation=15)
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(params) + 0.4)
    ax.set_ylim(-0.08, 1.08)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=objective)


def _section_trials(doc: Doc, study: "optuna.study.Study", names: list[str]) -> None:
    if not study.trials:
        return
    with doc.section("All trials"):
        params = list(dict.fromkeys(p for t in study.trials for p in t.params))
        rows = []
        for t in study.trials:
            row: dict[str, Any] = {"trial": t.number, "state": t.state.name.lower()}
            vals = t.values or []
            for i, n in enumerate(names):
                row[n] = vals[i] if i < len(vals) else None
            row.update({p: t.params.get(p) for p in params})
            row["duration s"] = round(_duration(t), 2) if _duration(t) is not None else None
            row["note"] = (t.system_attrs.get("fail_reason") or t.user_attrs.get("error") or ""
                           if t.state.name == "FAIL" else "")
            rows.append(row)
        cols = ["trial", "state", *names, *params, "duration s"]
        doc.table(rows, cols + (["note"] if any(r["note"] for r in rows) else []))


def write_sweep_report(study: "optuna.study.Study | str", out_dir: Path | str, *,
                       study_name: str | None = None, html: bool = True) -> Path:
    """Write `out_dir/report.md` (+ figures/, + report.html) for a sweep; returns its path.

    `study` is an Optuna study, or a storage URL (e.g. `sqlite:///sweep/optuna.db`) with
    `study_name` (optional when the storage holds one study). Handles single- and
    multi-objective studies, failed/pruned trials and studies with no completed trial; never
    raises on a plotting problem (only when the study itself cannot be opened).
    """
    out_dir = Path(out_dir)
    if isinstance(study, (str, Path)):
        study = load_study(str(study), study_name)
    names = _objective_names(study)
    doc = Doc(out_dir, f"Sweep report: {study.study_name}")
    doc.build((_section_overview, _section_best, _section_history, _section_importance,
               _section_parallel, _section_trials), study, names)
    try:
        return doc.write(html)
    except Exception as exc:  # noqa: BLE001
        log.warning("sweep report: could not write %s: %s", out_dir, exc)
        return out_dir / "report.md"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m djsandbox.sweep_report STORAGE_URL [STUDY_NAME] OUT_DIR`."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print("usage: python -m djsandbox.sweep_report STORAGE_URL [STUDY_NAME] OUT_DIR",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    storage, out = args[0], args[-1]
    print(write_sweep_report(storage, Path(out), study_name=args[1] if len(args) == 3 else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
