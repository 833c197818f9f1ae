"""The reporting package's shape: a lower layer than the runner and the app, no import cycles
inside it, nothing heavy imported at import time, and tracker specs that match their classes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import djsandbox.reporting as reporting
from djsandbox.errors import ConfigError
from djsandbox.reporting.trackers.base import Tracker
from djsandbox.reporting.trackers.catalog import TRACKERS, register_tracker, tracker_settings

PACKAGE = Path(reporting.__file__).parent


def _modules() -> list[str]:
    return sorted(
        "djsandbox."
        + ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
    )


# Layering, cycles and module size: tests/test_architecture.py (scripts/import_graph.py).


def test_importing_reporting_loads_nothing_heavy():
    names = _modules()
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "heavy = ('torch', 'lightning', 'matplotlib', 'wandb', 'tensorboard', 'optuna')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_tracker_specs_list_the_settings_their_classes_default():
    assert TRACKERS.names() == ["none", "csv", "tensorboard", "wandb"]
    for spec in TRACKERS:
        cls = spec.load()
        assert issubclass(cls, Tracker)
        assert spec.keys == tuple(cls.DEFAULTS), spec.name
        assert set(cls.CHOICES) <= set(cls.DEFAULTS), spec.name


def test_register_tracker_checks_keys_fills_defaults_and_can_be_removed():
    register_tracker(
        "test_keys", lambda settings: Tracker(settings), {"level": 1}, {"level": (1, 2)}, doc="test"
    )
    try:
        assert TRACKERS.get("test_keys").summary == "test"
        assert tracker_settings({"tracker": "test_keys"}) == ("test_keys", {"level": 1})
        with pytest.raises(
            ConfigError,
            match=r"unknown key\(s\) 'levle' \(did you mean "
            r"'level'\?\); valid: type, level",
        ):
            tracker_settings({"tracker": {"type": "test_keys", "levle": 2}})
        with pytest.raises(ConfigError, match=r"tracker.level: 3 is not one of 1, 2"):
            tracker_settings({"tracker": {"type": "test_keys", "level": 3}})
        register_tracker("test_keys", lambda settings: Tracker(settings))  # replaces it
        assert tracker_settings({"tracker": "test_keys"}) == ("test_keys", {})
    finally:
        del TRACKERS["test_keys"]
    assert "test_keys" not in TRACKERS and TRACKERS.get("test_keys", None) is None
    with pytest.raises(
        ConfigError,
        match=r"unknown tracker 'test_keys'; valid: csv, none, "
        r"tensorboard, wandb",
    ):
        tracker_settings({"tracker": "test_keys"})


def test_every_reporting_module_imports():
    for name in _modules():
        importlib.import_module(name)
