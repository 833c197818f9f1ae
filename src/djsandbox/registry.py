"""Typed, explicit registries: one per component kind, entries named as in the reference.

Entries point at their implementation by import path ("module:attr") so that listing and
validating never imports torch, lightning or data_juicer. An entry may be *unavailable*
(built by a later issue or needing an optional extra): validation then fails with its reason
instead of the run failing midway.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class Entry:
    name: str
    target: str | None  # "package.module:attribute"; None when unavailable
    summary: str = ""
    unavailable: str | None = None  # reason shown to the user when it cannot run
    results: int | None = 1  # how many results it returns (res_1..res_n); None: varies
    keys: tuple[str, ...] | None = None  # config keys it accepts; None: not checked
    check: str | None = None  # "module:function(cfg) -> list of 'key: problem'" run at validation
    required: tuple[str, ...] = ()  # config keys that must be set (or fed by `input`)

    def problems(self, cfg: dict[str, Any]) -> list[str]:
        """The component's own checks of its config, before the run (keys relative to it)."""
        if self.check is None:
            return []
        module_name, _, attr = self.check.partition(":")
        return list(getattr(importlib.import_module(module_name), attr)(cfg))

    def load(self) -> Any:
        if self.target is None:
            raise LookupError(f"'{self.name}' is not available: {self.unavailable}")
        module_name, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attr)


class Registry:
    """Named entries of one kind; unknown names get the valid list and the closest match."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, target: str | Callable[..., Any] | None, summary: str = "",
            unavailable: str | None = None, results: int | None = 1,
            keys: tuple[str, ...] | None = None, check: str | None = None,
            required: tuple[str, ...] = ()) -> None:
        """Register `name`; `target` is an import path or, for user code, the object itself."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        if callable(target):
            obj = target
            self._entries[name] = _ObjectEntry(name, None, summary, None, results, keys, check,
                                               required, obj)
        else:
            self._entries[name] = Entry(name, target, summary, unavailable, results, keys, check,
                                        required)

    def register(self, name: str, summary: str = "",
                 results: int | None = 1) -> Callable[[Any], Any]:
        """Decorator for user components: `@MODEL_TRAIN_EXECUTORS.register("mine")`."""

        def decorate(obj: Any) -> Any:
            self.add(name, obj, summary, results=results)
            return obj

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def names(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        valid = ", ".join(sorted(self._entries))
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown {self.kind} '{name}'.{hint} Valid: {valid}"


@dataclass(frozen=True)
class _ObjectEntry(Entry):
    obj: Any = None

    def load(self) -> Any:
        return self.obj
