"""`vars` no config uses are named with a warning (a typo like `+vars.kk=2` changes nothing)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from djsandbox.__main__ import CONF_DIR
from djsandbox.unused_vars import unused_vars, warn_unused_vars

PIPELINES = sorted(p.stem for p in (Path(CONF_DIR) / "pipeline").glob("*.yaml"))


@pytest.fixture(scope="module")
def compose():
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        yield lambda overrides: OmegaConf.to_container(
            hydra_compose("sandbox", overrides=overrides), resolve=False
        )
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_shipped_pipeline_uses_all_its_vars(compose, pipeline):
    assert unused_vars(compose([f"+pipeline={pipeline}"])) == []


def test_a_misspelt_var_is_named_with_the_closest_used_one(compose, caplog):
    cfg = compose(["+pipeline=demo", "+vars.kk=2"])
    with caplog.at_level(logging.WARNING, logger="djsandbox"):
        assert warn_unused_vars(cfg) == ["kk"]
    assert caplog.messages == [
        "vars.kk is set but no config uses it (no ${vars.kk} anywhere) (did you mean 'k'?)"
    ]


def test_what_counts_as_a_use():
    cfg = {
        "vars": {"a": 1, "b": "${vars.a}", "c": 3, "d": 4, "e": {"x": 1}},
        "optimized_metric": "${oc.select:vars.c,0}",
        "execution_job_configs": [{"extra_configs": {"lr": "${vars.e.x}", "n": "vars.d"}}],
    }
    assert unused_vars(cfg) == ["b", "d"]  # `vars.d` without ${...} is plain text
    assert unused_vars({**cfg, "plugins": ["${vars}"]}) == []  # all of vars, passed whole
