"""The context as validation sees it: what each job *will* produce, not what it produced.

It answers `${ctx:...}` lookups (from `input` or written in a config) the way the live context
will, but with a deferred marker instead of a value, and records a problem instead of raising
when no earlier job provides the source. The runner's `resolve_job` runs unchanged against it.
"""

from __future__ import annotations

import re
from typing import Any

from .context import Context
from .deferred import deferred

_RES = re.compile(r"^res_(\d+)$")


class Producer:
    """What a finished job makes available: its result names and count (None: not known)."""

    def __init__(self, names: list[str] | None, count: int | None, anything: bool = False) -> None:
        self.names = names
        self.count = count
        self.anything = anything  # a job with its own errors: don't report its readers too

    def has(self, key: str) -> bool:
        if self.anything or (self.names is not None and key in self.names):
            return True
        m = _RES.match(key)
        if m:
            index = int(m.group(1))
            named = len(self.names or [])
            return index > named and (self.count is None or index <= self.count)
        return False

    def describe(self) -> str:
        names = list(self.names or [])
        if self.count is None:
            return ", ".join(names + ["res_<i>"])
        names += [f"res_{i}" for i in range(len(names) + 1, self.count + 1)]
        return ", ".join(names) or "(no results)"


class MergedProducer(Producer):
    """Two jobs of one meta_name: a result either of them gives is there."""

    def __init__(self, earlier: Producer, later: Producer) -> None:
        super().__init__(None, None, anything=earlier.anything or later.anything)
        self.parts = (earlier, later)

    def has(self, key: str) -> bool:
        return any(part.has(key) for part in self.parts)

    def describe(self) -> str:
        return " + ".join(part.describe() for part in self.parts)


class PlannedContext(Context):
    """Producers registered in run order; lookups give deferred markers and collect problems."""

    def __init__(self) -> None:
        super().__init__()
        self.producers: dict[tuple[str, str], Producer] = {}
        self.previous: Producer | None = None
        self.problems: list[str] = []
        # The extra_configs keys each job accepts (None: any), for `iter_updater` targets.
        self.settings: dict[tuple[str, str], list[tuple[str, ...] | None]] = {}

    def add(self, pipeline: str, name: str, producer: Producer) -> None:
        """Register a job's results; a meta_name shared with a job of an earlier stage merges
        into the same entry, as `Context.record` does at run time."""
        earlier = self.producers.get((pipeline, name))
        self.producers[(pipeline, name)] = (
            producer if earlier is None else MergedProducer(earlier, producer)
        )
        self.previous = producer

    def lookup(self, source: str, *, iteration: int | None = None, where: str = "input") -> Any:
        problem = self.source_problem(str(source))
        if problem:
            message = f"{where}: {problem}"
            if message not in self.problems:
                self.problems.append(message)
        return deferred(str(source))

    def source_problem(self, source: str, allow_previous: bool = True) -> str | None:
        """Why `source` names nothing an earlier job produces (None when it is fine)."""
        parts = source.split(".")
        if parts[0] == "-1":
            if len(parts) < 2 or not parts[1]:
                return f"source '{source}' must name a result, e.g. '-1.res_1'"
            if not allow_previous or self.previous is None:
                return (
                    f"source '{source}' refers to the previous job, but this is the first "
                    "job of the run"
                )
            if not self.previous.has(parts[1]):
                return (
                    f"source '{source}': the previous job has no result '{parts[1]}'; it "
                    f"has: {self.previous.describe()}"
                )
            return None
        if len(parts) < 3 or not all(parts):
            return f"source '{source}' must be 'pipeline.meta_name.result' or '-1.result'"
        producer = self.producers.get((parts[0], parts[1]))
        if producer is None:
            known = sorted(f"{p}.{m}" for p, m in self.producers)
            return (
                f"source '{source}': no earlier job is named '{parts[1]}' in pipeline "
                f"'{parts[0]}'; earlier jobs: {', '.join(known) or 'none'}"
            )
        if not producer.has(parts[2]):
            return (
                f"source '{source}': job '{parts[0]}.{parts[1]}' has no result "
                f"'{parts[2]}'; it has: {producer.describe()}"
            )
        return None
