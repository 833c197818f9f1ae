"""Data-Juicer adapters against real Data-Juicer 1.6.1 on a 200-row slice of fine_foods.

One module-scoped analysis is shared; processing runs once in-process and once through the
``dj-process`` CLI with installs forbidden (UV_OFFLINE/PIP_NO_INDEX), so a runtime install by
Data-Juicer's LazyLoader would fail the test instead of passing silently.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from djsandbox.data.dj_analyze import analyze, summarize_overall
from djsandbox.data.dj_process import process
from djsandbox.data.dj_runtime import (
    RecipeError,
    build_dj_config,
    forbid_runtime_installs,
    prepare_offline_env,
    write_recipe,
)
from djsandbox.data.jsonl import count_rows, read_rows
from djsandbox.data.k_sigma import natural_range, refine_recipe_k_sigma, stat_keys_for_op

TRAIN = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "djsandbox"
    / "resources"
    / "fine_foods"
    / "train.jsonl"
)
VENV_BIN = Path(sys.executable).parent
N_ROWS = 200

# op -> stats key it writes, for the ops this file runs (checked against what DJ computed).
OPS = {
    "text_length_filter": "text_len",
    "alphanumeric_filter": "alnum_ratio",
    "words_num_filter": "num_words",
    "special_characters_filter": "special_char_ratio",
}


def _recipe() -> dict:
    return {
        "project_name": "adapter-test",
        "dataset_path": "slice.jsonl",  # relative: resolved against base_dirs
        "np": 1,
        "process": [
            {"text_length_filter": {"min_len": 1, "max_len": 100000}},
            {"alphanumeric_filter": None},
            {"words_num_filter": {"lang": "en", "min_num": 1}},
            {"special_characters_filter": {"min_ratio": 0.0, "max_ratio": 1.0}},
        ],
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    with (
        open(TRAIN, encoding="utf-8") as src,
        open(d / "slice.jsonl", "w", encoding="utf-8") as dst,
    ):
        for i, line in enumerate(src):
            if i == N_ROWS:
                break
            dst.write(line)
    return d


@pytest.fixture(scope="module")
def frame(data_dir) -> pd.DataFrame:
    return pd.read_json(data_dir / "slice.jsonl", lines=True)


@pytest.fixture(scope="module")
def analysed(data_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("analyse")
    missing = work / "no-such-dir"  # first base dir lacks the file: the second one must win
    export, summary = analyze(_recipe(), work_dir=work, base_dirs=[missing, data_dir])
    return export, summary, work


def _keep_mask(stats_rows: pd.DataFrame, recipe: dict) -> pd.Series:
    """Rows inside every refined [min, max] (Data-Juicer's default closed interval)."""
    arg_names = {"text_length_filter": "len", "words_num_filter": "num"}
    mask = pd.Series(True, index=stats_rows.index)
    for item in recipe["process"]:
        op, args = next(iter(item.items()))
        suffix = arg_names.get(op, "ratio")
        values = stats_rows[OPS[op]]
        mask &= (values >= args[f"min_{suffix}"]) & (values <= args[f"max_{suffix}"])
    return mask


def _analysed_stats(export: str) -> pd.DataFrame:
    rows = read_rows(export)
    return pd.DataFrame([{"id": r["id"], **r["__dj__stats__"]} for r in rows]).set_index("id")


def test_modules_import_without_heavy_dependencies():
    code = (
        "import sys, djsandbox.data.dj_runtime, djsandbox.data.dj_analyze, "
        "djsandbox.data.dj_process, djsandbox.data.k_sigma, djsandbox.data.jsonl\n"
        "heavy = [m for m in ('data_juicer', 'torch', 'lightning', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_prepare_offline_env_sets_defaults_without_clobbering(monkeypatch, tmp_path):
    for key in (
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "UV_OFFLINE",
        "PIP_NO_INDEX",
        "DATA_JUICER_CACHE_HOME",
        "DATA_JUICER_MODELS_CACHE",
        "DATA_JUICER_ASSETS_CACHE",
        "HF_HUB_DISABLE_TELEMETRY",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # a user's choice survives
    prepare_offline_env()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "0"
    home = tmp_path / "djsandbox" / "data_juicer"
    assert os.environ["DATA_JUICER_CACHE_HOME"] == str(home)
    assert os.environ["DATA_JUICER_MODELS_CACHE"] == str(home / "models")
    assert os.environ["DATA_JUICER_ASSETS_CACHE"] == str(home / "assets")
    assert (home / "models").is_dir()
    assert "UV_OFFLINE" not in os.environ and "PIP_NO_INDEX" not in os.environ  # only during runs


def test_forbid_runtime_installs_is_temporary(monkeypatch):
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    monkeypatch.setenv("PIP_NO_INDEX", "0")  # a user's value is kept
    with forbid_runtime_installs():
        assert os.environ["UV_OFFLINE"] == "1" and os.environ["PIP_NO_INDEX"] == "0"
    assert "UV_OFFLINE" not in os.environ and os.environ["PIP_NO_INDEX"] == "0"


def test_analyze_stats_match_pandas(analysed, frame):
    export, summary, work = analysed
    json.dumps(summary, allow_nan=False)  # plain, JSON-safe
    assert summary["rows"] == N_ROWS
    assert set(summary["stats"]) == set(OPS.values())
    text_len = frame["text"].str.len()
    got = summary["stats"]["text_len"]
    assert got["count"] == N_ROWS
    assert got["mean"] == pytest.approx(text_len.mean(), rel=1e-12)
    assert got["std"] == pytest.approx(text_len.std(), rel=1e-12)  # ddof=1 like pandas
    assert (got["min"], got["50%"], got["max"]) == (
        text_len.min(),
        text_len.median(),
        text_len.max(),
    )
    assert all(type(v) is float for s in summary["stats"].values() for v in s.values())

    rows = read_rows(export)
    assert len(rows) == N_ROWS and count_rows(export) == N_ROWS
    assert [r["id"] for r in rows] == frame["id"].tolist()
    assert set(rows[0]["__dj__stats__"]) == set(OPS.values())
    assert [r["__dj__stats__"]["text_len"] for r in rows] == text_len.tolist()

    analysis = Path(summary["analysis_dir"])
    assert analysis == work / "dj" / "analyze" / "analysis"
    assert (analysis / "overall.csv").is_file() and (analysis / "overall.md").is_file()
    assert (analysis / "text_len-hist.png").is_file()


def test_summarize_overall_keeps_numeric_stats_only():
    df = pd.DataFrame(
        {"num": [1.0, 2.0, 3.0], "lang": ["en", "en", "fr"], "one": [5.0, None, None]}
    )
    table = df.describe(include="all")  # unique/top/freq rows appear for the string column
    out = summarize_overall(table)
    assert set(out) == {"num", "one"}
    assert out["num"]["mean"] == 2.0 and "top" not in out["num"]
    assert out["one"]["std"] is None  # NaN -> None
    json.dumps(out, allow_nan=False)


def test_stat_key_derivation_matches_data_juicer(analysed, data_dir, tmp_path, monkeypatch):
    from data_juicer.utils.constant import StatsKeys

    monkeypatch.setattr(StatsKeys, "_accessed_by", {})  # start a fresh record

    _, summary, _ = analysed
    # Data-Juicer's own record of which op read which StatsKeys (it runs the ops on a
    # one-row dummy sample in-process when nothing was recorded yet).
    cfg = build_dj_config(_recipe(), work_dir=tmp_path, base_dirs=[data_dir], job="access")
    log = StatsKeys.get_access_log(dj_cfg=cfg)
    for op, key in OPS.items():
        assert log[op] == {key}
        assert key in stat_keys_for_op(op)
    assert stat_keys_for_op("alphanumeric_filter") == ("alpha_token_ratio", "alnum_ratio")
    assert stat_keys_for_op("image_shape_filter") == ("image_width", "image_height")
    assert stat_keys_for_op("no_such_op") == ()
    _, changes = refine_recipe_k_sigma(_recipe(), summary["stats"])
    assert {(c["op"], c["stat"]) for c in changes} == set(OPS.items())


@pytest.mark.parametrize("k", [3.0, 2.0])
def test_k_sigma_bounds(analysed, k):
    _, summary, _ = analysed
    original = _recipe()
    refined, changes = refine_recipe_k_sigma(original, summary["stats"], k=k)
    assert original == _recipe()  # not mutated
    assert len(changes) == 2 * len(OPS)
    for c in changes:
        s = summary["stats"][c["stat"]]
        assert (c["mean"], c["std"]) == (s["mean"], s["std"])
        raw = s["mean"] - k * s["std"] if c["arg"].startswith("min_") else s["mean"] + k * s["std"]
        args = next(iter(refined["process"][c["index"]].values()))
        assert args[c["arg"]] == c["new"]
        floor, ceiling = natural_range(c["stat"])
        if c["op"] in ("text_length_filter", "words_num_filter"):  # int args: rounded outward
            assert type(c["new"]) is int
            rounded = math.floor(raw) if c["arg"].startswith("min_") else math.ceil(raw)
            assert floor == 0 and c["new"] == max(rounded, 0)
        else:
            assert type(c["new"]) is float
            assert c["new"] == pytest.approx(min(max(raw, floor), ceiling or math.inf), rel=1e-12)
        if c["new"] != pytest.approx(raw, rel=1e-12, abs=1):  # clamped: said so
            assert "clamped (cuts nothing)" in c["note"]
    by_arg = {(c["op"], c["arg"]): c for c in changes}
    assert by_arg[("text_length_filter", "min_len")]["old"] == 1
    # alphanumeric_filter's default max_ratio is sys.maxsize (an int) but the arg is a float
    assert by_arg[("alphanumeric_filter", "max_ratio")]["old"] == sys.maxsize


def test_k_sigma_types_clamps_and_skips():
    stats = {
        "text_pair_similarity": {"mean": 0.5, "std": 0.4},
        "image_width": {"mean": 100.0, "std": 10.0},
        "image_height": {"mean": 50.0, "std": 5.0},
        "text_len": {"mean": 10.0, "std": None},
        "num_words": {"mean": float("nan"), "std": 1.0},
        "video_motion_score": {"mean": 2.0, "std": 1.0},
        "char_rep_ratio": {"mean": 0.1, "std": 0.1},
    }
    recipe = {
        "process": [
            {"text_pair_similarity_filter": {}},
            {"image_shape_filter": None},
            {"text_length_filter": {"min_len": 5}},
            {"words_num_filter": {}},
            {"video_motion_score_filter": {"max_size": 300}},
            {"character_repetition_filter": {"reversed_range": True}},
            {"clean_email_mapper": {}},
        ]
    }
    refined, changes = refine_recipe_k_sigma(recipe, stats, k=3)
    p = [next(iter(item.values())) for item in refined["process"]]
    assert p[0] == {"min_score": 0.0, "max_score": 1.0}  # ClosedUnitInterval clamped
    assert p[1] == {"min_width": 70, "max_width": 130, "min_height": 35, "max_height": 65}
    assert p[2] == {"min_len": 5}  # std missing: skipped, no NaN
    assert p[3] == {}  # NaN mean: skipped
    assert p[4] == {"max_size": 300, "min_score": -1.0, "max_score": 5.0}  # resize arg untouched
    assert p[5] == {"reversed_range": True}
    assert {c["op"] for c in changes} == {
        "text_pair_similarity_filter",
        "image_shape_filter",
        "video_motion_score_filter",
    }
    with pytest.raises(ValueError):
        refine_recipe_k_sigma(recipe, stats, k=float("nan"))


def test_k_sigma_bounds_stop_at_the_stats_natural_range():
    """`min_len -743` would read as a real bound: lengths and counts stop at 0, ratios at
    [0, 1], and a bound that keeps every analysed value says it cuts nothing."""
    stats = {
        "text_len": {"mean": 500.0, "std": 414.3, "min": 20.0, "max": 5000.0},
        "num_words": {"mean": 80.0, "std": 70.0},
        "special_char_ratio": {"mean": 0.2, "std": 0.3, "min": 0.0, "max": 0.6},
    }
    recipe = {
        "process": [
            {"text_length_filter": {}},
            {"words_num_filter": {}},
            {"special_characters_filter": {}},
        ]
    }
    refined, changes = refine_recipe_k_sigma(recipe, stats, k=3)
    p = [next(iter(item.values())) for item in refined["process"]]
    assert p[0]["min_len"] == 0 and p[0]["max_len"] == math.ceil(500 + 3 * 414.3)
    assert p[1]["min_num"] == 0 and p[2] == {"min_ratio": 0.0, "max_ratio": 1.0}
    notes = {(c["op"], c["arg"]): c.get("note") for c in changes}
    assert "-743" in notes[("text_length_filter", "min_len")]
    assert "natural floor 0" in notes[("text_length_filter", "min_len")]
    assert "natural ceiling 1" in notes[("special_characters_filter", "max_ratio")]
    assert notes[("text_length_filter", "max_len")] is None  # 1743 cuts the longest rows
    assert natural_range("video_motion_score") == (None, None)


def test_write_recipe_formats(tmp_path):
    recipe = {
        "dataset_path": "a.jsonl",
        "process": [{"text_length_filter": {"min_len": 3, "max_len": 9.5}}],
    }
    for name in ("r.yaml", "r.yml", "r.json"):
        path = write_recipe(recipe, tmp_path / "sub" / name)
        text = path.read_text()
        import yaml

        assert (json.loads(text) if name.endswith(".json") else yaml.safe_load(text)) == recipe
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["r.json", "r.yaml", "r.yml"]
    with pytest.raises(ValueError, match="yaml"):
        write_recipe(recipe, tmp_path / "r.toml")
    with pytest.raises(ValueError, match="NaN"):
        write_recipe(
            {"process": [{"text_length_filter": {"max_len": float("nan")}}]}, tmp_path / "n.yaml"
        )
    assert not (tmp_path / "n.yaml").exists()


def test_refined_recipe_runs_in_init_configs_and_dj_process_cli(analysed, data_dir, tmp_path):
    from data_juicer.config import init_configs

    export, summary, _ = analysed
    recipe = _recipe()
    recipe["dataset_path"] = str(data_dir / "slice.jsonl")
    recipe["export_path"] = str(tmp_path / "cli_out" / "kept.jsonl")
    refined, _ = refine_recipe_k_sigma(recipe, summary["stats"], k=2.0)

    json_path = write_recipe(refined, tmp_path / "refined.json")
    cfg = init_configs(args=["--config", str(json_path)], load_configs_only=True)
    assert [next(iter(op)) for op in cfg.process] == list(OPS)
    parsed = cfg.process[0]["text_length_filter"]["min_len"]
    assert parsed == refined["process"][0]["text_length_filter"]["min_len"]

    yaml_path = write_recipe(refined, tmp_path / "refined.yaml")
    env = dict(
        os.environ, UV_OFFLINE="1", PIP_NO_INDEX="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1"
    )
    proc = subprocess.run(
        [str(VENV_BIN / "dj-process"), "--config", str(yaml_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "not found, installing" not in log and "Installing " not in log

    kept = [r["id"] for r in read_rows(tmp_path / "cli_out" / "kept.jsonl")]
    stats = _analysed_stats(export)
    expected = stats.index[_keep_mask(stats, refined)].tolist()
    assert 0 < len(expected) < N_ROWS  # k=2 must actually drop something
    assert kept == expected


def test_process_in_process_matches_pandas_filter(analysed, data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    export, summary, _ = analysed
    refined, _ = refine_recipe_k_sigma(_recipe(), summary["stats"], k=2.0)
    result = process(refined, work_dir=tmp_path, base_dirs=[data_dir])
    assert result["export_path"] == str(tmp_path / "dj_export" / "data.jsonl")
    stats = _analysed_stats(export)
    expected = stats.index[_keep_mask(stats, refined)].tolist()
    assert result["rows_in"] == N_ROWS
    assert result["rows_out"] == len(expected)
    assert [r["id"] for r in read_rows(result["export_path"])] == expected
    assert (tmp_path / "dj" / "process" / "logs" / "process.log").is_file()
    assert "UV_OFFLINE" not in os.environ  # set only while Data-Juicer ran


def test_build_dj_config_paths_and_defaults(data_dir, tmp_path):
    missing = tmp_path / "missing"
    cfg = build_dj_config(_recipe(), work_dir=tmp_path / "w", base_dirs=[missing, data_dir])
    assert cfg.dataset_path == str(data_dir / "slice.jsonl")
    assert cfg.export_path == str(tmp_path / "w" / "dj_export" / "data.jsonl")
    assert cfg.work_dir == str(tmp_path / "w" / "dj" / "process")  # no timestamp suffix
    assert cfg.np == 1
    assert cfg.skip_op_error is False  # op failures raise instead of silently dropping rows
    assert (tmp_path / "w" / "dj_recipe_process.yaml").is_file()

    recipe = _recipe()
    recipe.pop("np")
    recipe["dataset_path"] = "nowhere.jsonl"
    recipe["export_path"] = "rel/out.jsonl"  # relative to the cwd, like Data-Juicer
    cfg = build_dj_config(recipe, work_dir=tmp_path / "w2", base_dirs=[missing, data_dir])
    assert cfg.dataset_path == str(missing / "nowhere.jsonl")  # first candidate when none exists
    assert cfg.export_path == os.path.abspath("rel/out.jsonl")
    assert cfg.np == min(2, len(os.sched_getaffinity(0)))


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        (
            lambda r: r["process"].insert(0, {"text_lenght_filter": {}}),
            "process[0].text_lenght_filter",
            "text_length_filter",
        ),
        (
            lambda r: r["process"][0]["text_length_filter"].update(min_len="abc"),
            "process[0].text_length_filter.min_len",
            "expects type 'int'",
        ),
        (
            lambda r: r["process"][0]["text_length_filter"].update(min_lenght=3),
            "process[0].text_length_filter.min_lenght",
            "min_len",
        ),
        (lambda r: r.update(np="many"), "np", "PositiveInt"),
        (lambda r: r.update(npx=3), "npx", "not accepted"),
        (lambda r: r.update(process={"text_length_filter": {}}), "process", "list"),
    ],
    ids=[
        "unknown-op",
        "wrong-arg-type",
        "unknown-arg",
        "wrong-global-type",
        "unknown-global",
        "not-a-list",
    ],
)
def test_bad_recipe_raises_recipe_error(data_dir, tmp_path, change, key, text):
    recipe = _recipe()
    change(recipe)
    with pytest.raises(RecipeError) as info:
        build_dj_config(recipe, work_dir=tmp_path, base_dirs=[data_dir])
    assert info.value.key == key
    assert key in str(info.value) and text in str(info.value)
    assert "Traceback" not in str(info.value)
    assert isinstance(info.value, ValueError)
