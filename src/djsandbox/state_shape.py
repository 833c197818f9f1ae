"""The shape `sandbox_state.json` must have before a run resumes from it.

A state file of another shape (edited by hand, from another program) used to fail with a
traceback, after re-running a job; it is now refused before any job runs.
"""

from __future__ import annotations

from typing import Any


def state_shape_problem(data: Any) -> str | None:
    """What is wrong with a loaded state file's shape, or None."""
    expected = (
        "expected {'meta': {...}, 'context': {'iterations': [{pipeline: {meta_name: "
        "{result: value}}}], 'order': [...]}, 'jobs': {job: {...}}}"
    )
    if not isinstance(data, dict):
        return f"{expected}, got a {type(data).__name__} at the top"
    context = data.get("context", {})
    if not isinstance(context, dict):
        return f"{expected}; 'context' is a {type(context).__name__}"
    iterations = context.get("iterations", [])
    if not isinstance(iterations, list) or not all(
        isinstance(it, dict)
        and all(
            isinstance(jobs, dict) and all(isinstance(r, dict) for r in jobs.values())
            for jobs in it.values()
        )
        for it in iterations
    ):
        return f"{expected}; 'context.iterations' is not a list of such mappings"
    order = context.get("order", [])
    if not isinstance(order, list) or not all(
        isinstance(o, list) and len(o) == 3 and isinstance(o[0], int) for o in order
    ):
        return f"{expected}; 'context.order' is not a list of [iteration, pipeline, name]"
    for key in ("jobs", "meta"):
        value = data.get(key, {})
        if not isinstance(value, dict) or (
            key == "jobs" and not all(isinstance(v, dict) for v in value.values())
        ):
            return f"{expected}; '{key}' is a {type(value).__name__} of the wrong shape"
    return None
