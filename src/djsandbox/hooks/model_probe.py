"""ProbeViaModelInferHook: sample the data, run a model on it, analyse what the model wrote.

The point of probing with a model (rather than only with Data-Juicer's analyser) is to see which
data is hard for the model: the outputs land beside the inputs (`infer_res_key`), and when a
Data-Juicer recipe is given the outputs are analysed with it, so their stats can feed the same
pools, rankings and k-sigma refinements as any other analysis.

`extra_configs` is the inference executor's config (`type`: huggingface | vllm | api | ...)
plus `sample_ratio` (default 1.0), `sample_algo` (random | head | tail) and `seed`.
Results: (inference output path, analysed dataset path or None, stats summary or None).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..deferred import known
from ..paths import find_existing
from .base import Hook, JobRun
from .data_juicer import recipe_problems

SAMPLE_KEYS = ("sample_ratio", "sample_algo", "seed")


class ProbeViaModelInferHook(Hook):
    factory = "ModelInferExecutor"
    result_count: ClassVar[int | None] = 3
    keys: ClassVar[tuple[str, ...] | None] = SAMPLE_KEYS
    cache_default: ClassVar[bool] = False  # a model's answers: opt in with `cache: true`

    def _split(self, extra: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(sampling settings, the component's config): a sampling key the component also
        accepts (e.g. `seed`) goes to both."""
        registry = self.registry()
        name = extra.get("type")
        accepted = (
            registry.get(name).keys or ()
            if (registry is not None and isinstance(name, str) and name in registry)
            else ()
        )
        sampling = {k: extra[k] for k in SAMPLE_KEYS if k in extra}
        component = {k: v for k, v in extra.items() if k not in SAMPLE_KEYS or k in accepted}
        return sampling, component

    def check(self, job: dict[str, Any]) -> list[str]:
        from ..data.sampling import sampling_problems

        extra = job.get("extra_configs")
        problems: list[str] = []
        if isinstance(extra, dict):
            sampling, extra = self._split(extra)
            problems += [f"extra_configs.{p}" for p in sampling_problems(known(sampling))]
        problems += super().check({**job, "extra_configs": extra})
        return problems + recipe_problems(job.get("dj_configs"))

    def run(self, run: JobRun) -> Any:
        from ..data.sampling import sample_rows

        sampling, cfg = self._split(dict(run.extra_configs or {}))
        entry = self.registry().get(str(cfg.pop("type", None)))  # type: ignore[union-attr]
        source = cfg.get("dataset_path")
        found = find_existing(source, run.base_dirs) if isinstance(source, str) else None
        if found is None:
            raise ValueError(
                f"extra_configs.dataset_path: {source!r} does not exist; expected "
                "the dataset to probe the model with"
            )
        sampled, count = sample_rows(
            found,
            run.job_dir / "sampled.jsonl",
            float(sampling.get("sample_ratio", 1.0)),
            str(sampling.get("sample_algo", "random")),
            int(sampling.get("seed", 42)),
        )
        run.notes["sampled_rows"] = count
        cfg["dataset_path"] = str(sampled)
        cfg.setdefault("export_path", str(run.job_dir / "inferred.jsonl"))
        out = entry.load()(cfg, run.job_dir)
        inferred = out[0] if isinstance(out, tuple) else out
        if not run.dj_configs:
            return inferred, None, None
        from ..data.dj_analyze import analyze

        recipe = {**run.dj_configs, "dataset_path": inferred}
        recipe.setdefault("export_path", str(run.job_dir / "analysed.jsonl"))
        analysed, summary = analyze(recipe, work_dir=run.job_dir, base_dirs=run.base_dirs)
        return inferred, analysed, summary
