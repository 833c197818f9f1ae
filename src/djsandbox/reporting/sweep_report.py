"""The sweep report: `out_dir/report.md` (+ PNG figures, + one self-contained report.html).

Built from an Optuna study (an object, or a storage URL plus study name) so it can be written
at the end of a sweep or rebuilt later:
`python -m djsandbox.reporting.sweep_report STORAGE [STUDY] OUT`.

All plots are drawn with matplotlib (sweep_figures.py): optuna 2.10's matplotlib
parallel-coordinate and importance plots break on current matplotlib, and its default fANOVA
importance breaks on current scikit-learn, so importances use the mean-decrease-impurity
evaluator. As for runs, each section is guarded: a failure logs a warning and leaves that
section out.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..redact import redact_text
from .document import Doc, fmt
from .sweep_figures import draw_history, draw_importances, draw_parallel, draw_pareto

if TYPE_CHECKING:  # optuna is imported lazily: it is slow to import
    import optuna


def load_study(storage: str, study_name: str | None = None) -> optuna.study.Study:
    """Open a stored study; without a name, the storage must hold exactly one."""
    import optuna

    if study_name is None:
        names = [s.study_name for s in optuna.study.get_all_study_summaries(storage=storage)]
        if len(names) != 1:
            raise ValueError(
                f"{redact_text(storage)} holds {len(names)} studies ({names}); name one"
            )
        study_name = names[0]
    return optuna.load_study(study_name=study_name, storage=storage)


def _objective_names(study: optuna.study.Study) -> list[str]:
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


def _complete(study: optuna.study.Study) -> list[optuna.trial.FrozenTrial]:
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state == TrialState.COMPLETE and t.values is not None]


def _duration(trial: optuna.trial.FrozenTrial) -> float | None:
    d = trial.duration
    return d.total_seconds() if d is not None else None


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items())


def _section_overview(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    with doc.section("Study"):
        states: dict[str, int] = {}
        for t in study.trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
        doc.bullets(
            [
                f"study: `{study.study_name}`",
                "objectives: "
                + ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(names, study.directions)),
                f"trials: {len(study.trials)}"
                + (
                    " (" + ", ".join(f"{n} {s.lower()}" for s, n in states.items()) + ")"
                    if states
                    else ""
                ),
            ]
        )


def _section_best(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    complete = _complete(study)
    if not complete:
        with doc.section("Best trial"):
            doc.para("No trial completed, so there is no best trial.")
        return
    if len(study.directions) == 1:
        with doc.section("Best trial"):
            best = study.best_trial
            doc.bullets(
                [
                    f"trial #{best.number}",
                    f"{names[0]}: {fmt(best.value)}",
                    f"duration: {fmt(_duration(best))} s",
                ]
            )
            doc.table([{"param": k, "value": v} for k, v in best.params.items()])
            if best.user_attrs:
                doc.table([{"user attr": k, "value": v} for k, v in best.user_attrs.items()])
    else:
        with doc.section("Pareto front"):
            doc.para(
                "Multi-objective study: no single best trial; these trials are not "
                "dominated by any other."
            )
            rows = []
            for t in sorted(study.best_trials, key=lambda t: t.number):
                row: dict[str, Any] = {"trial": t.number}
                row.update({n: v for n, v in zip(names, t.values)})
                row["params"] = _params_text(t.params)
                rows.append(row)
            doc.table(rows)
            if len(names) == 2:
                front = {t.number for t in study.best_trials}
                doc.figure(
                    "pareto_front",
                    lambda fig: draw_pareto(fig, complete, front, names),
                    "Pareto front",
                    size=(6.0, 4.5),
                )


def _section_final_test(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    """The test set, scored once after the sweep for the best trial (`final_test`)."""
    scored = study.user_attrs.get("final_test") or []
    error = study.user_attrs.get("final_test_error")
    if not scored and not error:
        return
    with doc.section("Test set (scored once, after the sweep)"):
        doc.para(
            f"The trials optimised {', '.join(names)} (a validation split); the test set was "
            "never an objective. It was scored once, for the best trial (each trial of the "
            "Pareto front when several objectives), so this is an unbiased estimate of the "
            "chosen recipe, unlike the best objective value above, which was selected as "
            "the maximum of many noisy values."
        )
        if error:
            doc.para(f"Scoring failed: {error}.")
        rows = []
        for entry in scored:
            row: dict[str, Any] = {"trial": entry.get("trial")}
            for key, value in (entry.get("metrics") or {}).items():
                if not isinstance(value, (list, dict)) and key != "predictions_path":
                    row[key] = value
            row["run folder"] = entry.get("run_dir")
            rows.append(row)
        doc.table(rows)


def _section_history(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    complete = _complete(study)
    if not complete:
        return
    with doc.section("Optimisation history"):
        doc.para(
            "Each completed trial's objective value by trial number; the line is the best "
            "value so far (per objective)."
            if len(names) > 1
            else "Each completed trial's objective value by trial number; the line is the best "
            "value so far."
        )
        doc.figure(
            "history",
            lambda fig: draw_history(fig, study, complete, names),
            "Optimisation history",
            size=(min(6.0 * len(names), 14.0), 4.0),
        )


FEW_TRIALS = 10  # below this, importances get a caveat


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def _section_importance(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    complete = _complete(study)
    if len(complete) < 2:
        with doc.section("Parameter importances"):
            doc.para(f"Needs at least 2 completed trials (have {len(complete)}).")
        return
    import optuna

    with doc.section("Parameter importances"):
        doc.para(
            "Mean decrease in impurity of a random forest fitted to (params -> objective) "
            "over the completed trials (`optuna.importance."
            "MeanDecreaseImpurityImportanceEvaluator`), rounded to 2 decimals."
        )
        if len(complete) < FEW_TRIALS:
            doc.para(
                f"**Caveat:** only {len(complete)} completed trials (fewer than {FEW_TRIALS}): "
                "a forest fitted to so few points ranks parameters by chance as much as by "
                "effect; read these as a rough hint, not a finding."
            )
        results: dict[str, dict[str, float]] = {}
        for i, name in enumerate(names):
            try:
                results[name] = optuna.importance.get_param_importances(
                    study,
                    evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0),
                    target=(lambda t, i=i: t.values[i]) if len(names) > 1 else None,
                )
            except Exception as exc:  # noqa: BLE001 - e.g. no param varies across trials
                doc.para(f"{name}: importances not available ({type(exc).__name__}: {exc}).")
        results = {k: v for k, v in results.items() if v}
        if not results:
            return
        params = list(dict.fromkeys(p for v in results.values() for p in v))
        doc.table(
            [{"param": p, **{n: _rounded(results[n].get(p)) for n in results}} for p in params]
        )
        doc.figure(
            "importances",
            lambda fig: draw_importances(fig, results),
            "Parameter importances",
            size=(min(5.0 * len(results), 14.0), 0.4 * len(params) + 1.5),
        )


def _section_parallel(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
    complete = _complete(study)
    params = list(dict.fromkeys(p for t in complete for p in t.params))
    if not complete or not params:
        return
    with doc.section("Parallel coordinates"):
        doc.para(
            "One line per completed trial across its parameters (each axis scaled to its "
            "range; log axes for log-scale parameters, choices in order for categorical "
            f"ones), coloured by {names[0]}."
        )
        doc.figure(
            "parallel_coordinates",
            lambda fig: draw_parallel(fig, complete, params, names[0]),
            "Parallel coordinates",
            size=(max(6.0, 1.8 * (len(params) + 1)), 4.5),
        )


def _section_trials(doc: Doc, study: optuna.study.Study, names: list[str]) -> None:
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
            row["note"] = (
                t.system_attrs.get("fail_reason") or t.user_attrs.get("error") or ""
                if t.state.name == "FAIL"
                else ""
            )
            rows.append(row)
        cols = ["trial", "state", *names, *params, "duration s"]
        doc.table(rows, cols + (["note"] if any(r["note"] for r in rows) else []))


def write_sweep_report(
    study: optuna.study.Study | str,
    out_dir: Path | str,
    *,
    study_name: str | None = None,
    html: bool = True,
) -> Path:
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
    doc.build(
        (
            _section_overview,
            _section_best,
            _section_final_test,
            _section_history,
            _section_importance,
            _section_parallel,
            _section_trials,
        ),
        study,
        names,
    )
    return doc.save(html, "sweep report")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m djsandbox.reporting.sweep_report STORAGE_URL [STUDY_NAME] OUT_DIR`."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print(
            "usage: python -m djsandbox.reporting.sweep_report STORAGE_URL [STUDY_NAME] OUT_DIR",
            file=sys.stderr,
        )
        return 2
    storage, out = args[0], args[-1]
    if storage.startswith("sqlite:///") and not Path(storage[len("sqlite:///") :]).is_file():
        # Optuna would create an empty database there
        print(f"sweep_report: error: {storage}: no such database file", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    print(write_sweep_report(storage, Path(out), study_name=args[1] if len(args) == 3 else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
