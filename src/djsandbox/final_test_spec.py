"""The shape of a sweep's `final_test` (which checkpoint the best trial is scored with, once,
on the test set; hpo/final_test.py scores it). Checked with the rest of the config so that a
malformed one stops the run before any job, as every other config error does."""

from __future__ import annotations

from typing import Any, Mapping

from .errors import ConfigError


def parse_final_test(spec: Any) -> dict[str, Any] | None:
    """`final_test` as a plain mapping (None when absent); a clear error when malformed."""
    if spec is None or spec == {}:
        return None
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"final_test: expected a mapping with 'checkpoint' (a context key such as "
            f"refined.train.checkpoint) and 'type' (a ModelEvaluator), got {spec!r}"
        )
    missing = [k for k in ("checkpoint", "type") if not spec.get(k)]
    if missing:
        raise ConfigError(
            f"final_test: missing {', '.join(missing)}; expected 'checkpoint' (a context key "
            "such as refined.train.checkpoint) and 'type' (a ModelEvaluator, e.g. "
            "text_classifier) with the evaluator's settings"
        )
    return dict(spec)
