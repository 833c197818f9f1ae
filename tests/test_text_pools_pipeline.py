"""The reference's single-op -> multi-op flow on text, run from conf/pipeline/text_pools.yaml:
analyse -> pools per stat -> train/evaluate per pool -> rank -> combine top 3 -> downsample ->
train -> evaluate."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FINE_FOODS, subprocess_env


def ids(path: str) -> list:
    return [json.loads(line)["id"] for line in Path(path).read_text().splitlines() if line.strip()]


def flat(value):
    """Leaves of nested {stat: [..]} structures; a dict of scalars (metrics) is a leaf."""
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        return [x for v in value.values() for x in flat(v)]
    if isinstance(value, list):
        return [x for v in value for x in flat(v)]
    return [value]


@pytest.mark.slow  # about 30-50 s on 2 cores: CI runs it with -m slow
def test_single_op_then_multi_op_flow(tmp_path):
    rows = FINE_FOODS.joinpath("train.jsonl").read_text().splitlines()[:1500]
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(rows) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "+pipeline=text_pools",
            f"vars.train={train}",
            "vars.epochs=2",
            "vars.stats=[text_len,num_words,special_char_ratio]",
        ],
        cwd=tmp_path,
        env={**subprocess_env(), "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Per item (e.g. one model per data pool)" in proc.stdout
    state_file = next((tmp_path / "outputs" / "text_pools").glob("*/*/sandbox_state.json"))
    ctx = json.loads(state_file.read_text())["context"]["iterations"][0]
    single, multi = ctx["single_op"], ctx["multi_op"]

    # Pools: thirds per stat, together exactly the analysed rows, sorted by the stat.
    pools = single["pools"]["res_1"]
    assert list(pools) == ["text_len", "num_words", "special_char_ratio"]
    analysed = [
        json.loads(line) for line in Path(single["analysis"]["res_1"]).read_text().splitlines()
    ]
    for stat, paths in pools.items():
        assert len(paths) == 3
        members = [ids(p) for p in paths]
        assert sorted(itertools.chain(*members)) == sorted(r["id"] for r in analysed)
        assert [len(m) for m in members] == [500, 500, 500]
        by_id = {r["id"]: r["__dj__stats__"][stat] for r in analysed}
        assert max(by_id[i] for i in members[0]) <= min(by_id[i] for i in members[1])
        assert max(by_id[i] for i in members[1]) <= min(by_id[i] for i in members[2])

    # One model per pool, scored on the test set, results shaped like the pools.
    metrics = single["test"]["res_1"]
    assert {k: len(v) for k, v in metrics.items()} == {k: 3 for k in pools}
    assert single["train"]["train_metrics"]["text_len"][0]["train_rows"] == 450

    # Ranking: the top 3 pools by (accuracy, macro_f1), ties in pool order.
    pool_list, metric_list = flat(pools), flat(metrics)
    expected = [
        pool_list[i]
        for i in sorted(
            range(len(pool_list)),
            key=lambda i: (-metric_list[i]["accuracy"], -metric_list[i]["macro_f1"], i),
        )
    ][:3]
    ranked = multi["ranking"]["res_1"]
    assert ranked == expected

    # Combination: every non-empty intersection of the ranked pools, named by its members.
    combined = multi["combine"]["res_1"]
    ranked_ids = [set(ids(p)) for p in ranked]
    seen = set()
    for path in combined:
        match = re.search(r"_top_((?:\d+_)*\d+)_num_(\d+)", Path(path).stem)
        assert match, path
        members = tuple(int(i) for i in match.group(1).split("_"))
        expected_ids = set.intersection(*(ranked_ids[i] for i in members))
        assert set(ids(path)) == expected_ids and int(match.group(2)) == len(expected_ids)
        seen.add(members)
    non_empty = {
        m
        for n in range(1, 4)
        for m in itertools.combinations(range(3), n)
        if set.intersection(*(ranked_ids[i] for i in m))
    }
    assert seen == non_empty

    # Downsampling to the smallest combined pool, then one model per downsampled pool.
    down = multi["downsample"]["res_1"]
    smallest = min(len(ids(p)) for p in combined)
    assert len(down) == len(combined) and all(len(ids(p)) == smallest for p in down)
    for src, dst in zip(combined, down):
        assert set(ids(dst)) <= set(ids(src))
    assert len(multi["test"]["res_1"]) == len(down)
    assert all(0 <= m["accuracy"] <= 1 for m in multi["test"]["res_1"])

    # The printed summary names each pooled model by its pool's composition, with its rows.
    def label(pool: str) -> str:
        stat = Path(pool).parent.name
        return f"{stat} {('low', 'mid', 'high')[int(Path(pool).stem.rsplit('_', 1)[1])]}"

    for paths in pools.values():
        for path in paths:
            assert f"| single_op | test.res_1 | {label(path)} | 500 |" in proc.stdout
    for path, dst in zip(combined, down):
        members = re.search(r"_top_((?:\d+_)*\d+)_num_", Path(path).stem).group(1).split("_")
        name = " ∩ ".join(label(ranked[int(i)]) for i in members)
        assert f"| multi_op | test.res_1 | {name} | {len(ids(dst))} |" in proc.stdout
    assert "| [0] |" not in proc.stdout
