"""One registration path: a frozen `ComponentSpec` per component, kept in typed registries.

A spec lives beside its component's code (a module-level `SPECS` tuple) and names its
implementation by import path ("module:attr"), so listing and validating never import torch,
lightning or data_juicer. User plugins register with the same fields (objects instead of
import paths), so their keys are checked like ours. A spec may be *unavailable* (built by a
later issue or needing an optional extra): validation then names the reason before the run.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .redact import add_field_keys
from .suggest import did_you_mean

_MISSING = object()


def load_target(target: str | Callable[..., Any]) -> Any:
    """Import "package.module:attribute" (or return an object given directly)."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class ComponentSpec:
    """Everything the engine knows about a component before it runs it."""

    factory: str  # registry it belongs to: "Hook", "DataPoolManipulator", "Tracker", ...
    name: str  # the `type` (or hook name) configs use, as in the reference
    target: str | Callable[..., Any] | None  # "module:attr", an object, or None if unavailable
    summary: str = ""
    results: int | None = 1  # how many results it returns (res_1..res_n); None: varies
    keys: tuple[str, ...] | None = None  # config keys it accepts; None: not checked
    required: tuple[str, ...] = ()  # keys that must be set (or fed by `input`)
    check: str | Callable[[dict[str, Any]], Any] | None = None  # cfg -> ["key: problem", ...]
    unavailable: str | None = None  # reason shown when it cannot run

    def problems(self, cfg: dict[str, Any]) -> list[str]:
        """The component's own checks of its config, before the run (keys relative to it)."""
        if self.check is None:
            return []
        return list(load_target(self.check)(cfg))

    def load(self) -> Any:
        if self.target is None or self.unavailable:
            raise LookupError(f"'{self.name}' is not available: {self.unavailable}")
        return load_target(self.target)


class Registry:
    """Named specs of one kind; unknown names get the valid list and the closest match."""

    def __init__(self, factory: str, kind: str | None = None) -> None:
        self.factory = factory  # the factory name specs of this registry carry
        self.kind = kind or f"{factory} type"  # how messages name an entry
        self._specs: dict[str, ComponentSpec] = {}

    def _check_factory(self, spec: ComponentSpec) -> None:
        if spec.factory != self.factory:
            raise ValueError(
                f"{spec.name}: a {spec.factory} spec cannot join the {self.factory} registry"
            )

    def add(self, spec: ComponentSpec) -> ComponentSpec:
        self._check_factory(spec)
        if spec.name in self._specs:
            raise ValueError(f"{self.kind} '{spec.name}' is already registered")
        self._specs[spec.name] = spec
        add_field_keys(spec.keys or ())  # `text_key` & co. are field names, not secrets
        return spec

    def register(
        self,
        name: str,
        summary: str = "",
        results: int | None = 1,
        keys: tuple[str, ...] | None = None,
        required: tuple[str, ...] = (),
        check: str | Callable[[dict[str, Any]], Any] | None = None,
    ) -> Callable[[Any], Any]:
        """Decorator for user components, with the same fields as built-in specs:
        `@FACTORIES["ModelTrainExecutor"].register("mine", results=2, keys=("dataset_path",))`."""

        def decorate(obj: Any) -> Any:
            self.add(
                ComponentSpec(self.factory, name, obj, summary, results, keys, required, check)
            )
            return obj

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: str) -> ComponentSpec:
        return self.get(name)

    def __setitem__(self, name: str, spec: ComponentSpec) -> None:
        """Register `spec` under `name`, replacing an entry of that name (for registries whose
        entries may be overridden, and for tests that register temporarily)."""
        self._check_factory(spec)
        self._specs[name] = spec if spec.name == name else dataclasses.replace(spec, name=name)
        add_field_keys(spec.keys or ())

    def __delitem__(self, name: str) -> None:
        del self._specs[name]

    def __iter__(self) -> Iterator[ComponentSpec]:
        return iter(self._specs.values())

    def names(self) -> list[str]:
        return list(self._specs)

    def get(self, name: str, default: Any = _MISSING) -> ComponentSpec:
        """The spec named `name`; unknown: `default` if given, else a KeyError that names the
        valid ones (as `dict.get`, so a registry works wherever a mapping is read)."""
        try:
            return self._specs[name]
        except KeyError:
            if default is not _MISSING:
                return default
            raise KeyError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        hint = did_you_mean(name, self._specs, style="sentence")
        return f"unknown {self.kind} '{name}'.{hint} Valid: {', '.join(sorted(self._specs))}"
