"""Data pool components on real data: 300 fine-food reviews analysed by Data-Juicer's Analyzer.

Expected pools are computed independently with pandas (stable sort, the reference's split
points) and compared by row id and order; every bad input must raise an error naming the key
and leave no output file behind.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import FINE_FOODS, subprocess_env

from djsandbox.data.pools import (
    cartesian_join,
    combination,
    construction,
    downsampling,
    duplication,
    io,
    merging,
    ranking,
)

STATS = ["text_len", "num_words", "alnum_ratio"]
ROWS = 300


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 reviews with `__dj__stats__`, analysed once by the real Analyzer."""
    from djsandbox.data.dj_analyze import analyze

    root = tmp_path_factory.mktemp("analysed")
    src = root / "reviews.jsonl"
    with open(FINE_FOODS / "train.jsonl", encoding="utf-8") as fh:
        src.write_text("".join(itertools.islice(fh, ROWS)), encoding="utf-8")
    recipe = {
        "project_name": "pools_test",
        "np": 1,
        "text_keys": "text",
        "dataset_path": str(src),
        "export_path": str(root / "out" / "reviews.jsonl"),
        "process": [
            {"text_length_filter": {"min_len": 0, "max_len": 1000000}},
            {"words_num_filter": {"lang": "en", "min_num": 0, "max_num": 1000000}},
            {"alphanumeric_filter": {"tokenization": False, "min_ratio": 0.0, "max_ratio": 1.0}},
        ],
    }
    export, summary = analyze(recipe, work_dir=root / "work", base_dirs=[root])
    assert summary["rows"] == ROWS
    return Path(export)


@pytest.fixture(scope="module")
def frame(analysed: Path) -> pd.DataFrame:
    """The analysed rows as pandas, stats flattened: the independent expectation."""
    df = pd.read_json(analysed, lines=True)
    stats = pd.json_normalize(df["__dj__stats__"].tolist())
    return pd.concat([df.drop(columns="__dj__stats__"), stats], axis=1)


@pytest.fixture(scope="module")
def pools(analysed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    out = tmp_path_factory.mktemp("pools")
    return construction.run({"dataset_path": str(analysed), "export_path": str(out)}, out)


def expected_pools(df: pd.DataFrame, stat: str, ratios=(1 / 3, 2 / 3)) -> list[list[str]]:
    order = df.sort_values(stat, kind="stable")["id"].tolist()
    cuts = [0] + [int(len(df) * r + 0.5) for r in ratios] + [len(df)]
    return [order[a:b] for a, b in zip(cuts, cuts[1:])]


def ids(path: str | Path) -> list[str]:
    return io.read_table(path).column("id").to_pylist()


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ----------------------------------------------------------------------------- construction


def test_construction_thirds_per_stat(pools, frame, analysed):
    assert list(pools) == STATS  # every numeric stat, in the schema's order
    originals = {json.loads(line)["id"]: line for line in analysed.read_text().splitlines()}
    for stat in STATS:
        paths = pools[stat]
        assert [Path(p).name for p in paths] == [f"reviews_{stat}_{i}.jsonl" for i in range(3)]
        assert all(Path(p).parent.name == stat for p in paths)
        assert [ids(p) for p in paths] == expected_pools(frame, stat)
        assert [len(ids(p)) for p in paths] == [100, 100, 100]
        # rows are the analysed rows themselves, stats included, byte for byte
        for line in Path(paths[1]).read_text().splitlines():
            assert line == originals[json.loads(line)["id"]]
    json.dumps(pools)  # the result travels through the context


def test_construction_ratios_num_subset_ignore(analysed, frame, tmp_path):
    res = construction.run(
        {"dataset_path": str(analysed), "split_ratios": ["1/4", 0.75], "stats_keys": ["num_words"]},
        tmp_path / "a",
    )
    assert list(res) == ["num_words"]
    assert [ids(p) for p in res["num_words"]] == expected_pools(frame, "num_words", (0.25, 0.75))

    res = construction.run(
        {"dataset_path": str(analysed), "split_num": 120, "stats_keys": "alnum_ratio"},
        tmp_path / "b",
    )
    order = frame.sort_values("alnum_ratio", kind="stable")["id"].tolist()
    assert [ids(p) for p in res["alnum_ratio"]] == [order[:120], order[120:240], order[240:]]

    res = construction.run(
        {"dataset_path": str(analysed), "ignore_stats": True, "export_path": str(tmp_path / "c")},
        tmp_path,
    )
    assert [Path(p).name for p in res["ignore_stats"]] == [
        f"reviews_ignore_stats_{i}.jsonl" for i in range(3)
    ]
    assert [ids(p) for p in res["ignore_stats"]] == [
        frame["id"].tolist()[a:b] for a, b in ((0, 100), (100, 200), (200, 300))
    ]


def test_construction_parquet_in_and_out(analysed, frame, tmp_path):
    pq_in = tmp_path / "reviews.parquet"
    io.write_table(io.read_table(analysed), pq_in)
    res = construction.run(
        {"dataset_path": str(pq_in), "export_format": "parquet", "stats_keys": ["text_len"]},
        tmp_path / "out",
    )
    assert [Path(p).name for p in res["text_len"]] == [
        f"reviews_text_len_{i}.parquet" for i in range(3)
    ]
    assert [ids(p) for p in res["text_len"]] == expected_pools(frame, "text_len")
    # Parquet in, JSONL out: rows re-serialised, same content
    res = construction.run(
        {"dataset_path": str(pq_in), "stats_keys": ["text_len"]}, tmp_path / "out2"
    )
    back = [json.loads(line) for line in Path(res["text_len"][0]).read_text().splitlines()]
    orig = {json.loads(line)["id"]: json.loads(line) for line in analysed.read_text().splitlines()}
    assert all(row == orig[row["id"]] for row in back)


def test_construction_list_stats_averaged_strings_skipped(tmp_path):
    rows = [
        {
            "id": f"r{i}",
            "__dj__stats__": {
                "sizes": [i % 5, 10 - i % 7] if i % 9 else [],
                "lang": "en",
                "score": float(i % 4),
            },
        }
        for i in range(30)
    ]
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = construction.run({"dataset_path": str(src)}, tmp_path / "out")
    assert list(res) == ["sizes", "score"]  # 'lang' (a string stat) is skipped
    df = pd.DataFrame(
        {
            "id": [r["id"] for r in rows],
            "sizes": [
                sum(s) / len(s) if s else float("nan")
                for s in (r["__dj__stats__"]["sizes"] for r in rows)
            ],
            "score": [r["__dj__stats__"]["score"] for r in rows],
        }
    )
    for stat in ("sizes", "score"):  # empty lists have no value: last, like NaN in pandas
        order = df.sort_values(stat, kind="stable", na_position="last")["id"].tolist()
        assert sum((ids(p) for p in res[stat]), []) == order
    with pytest.raises(ValueError, match="stats_keys: stat 'lang'.*not numeric"):
        construction.run({"dataset_path": str(src), "stats_keys": ["lang"]}, tmp_path / "bad")
    assert files(tmp_path / "bad") == []


@pytest.mark.parametrize("ratios", [[0.5, 0.3], [0, 0.5], [0.5, 1], ["1/3", "1/3"], "x"])
def test_split_ratios_not_increasing_in_0_1(analysed, tmp_path, ratios):
    cfg = {"dataset_path": str(analysed), "split_ratios": ratios}
    assert any(p.startswith("split_ratios:") for p in construction.check(cfg))
    with pytest.raises(ValueError, match="split_ratios"):
        construction.run(cfg, tmp_path / "out")
    assert files(tmp_path / "out") == []


def test_stats_key_no_row_has(analysed, tmp_path):
    cfg = {"dataset_path": str(analysed), "stats_keys": ["text_len", "perplexity"]}
    with pytest.raises(ValueError, match=r"stats_keys: \['perplexity'\] is not a stat"):
        construction.run(cfg, tmp_path / "out")
    assert files(tmp_path / "out") == []  # not even the text_len pools
    pq_in = tmp_path / "in.parquet"
    io.write_table(io.read_table(analysed), pq_in)
    problems = construction.check({**cfg, "dataset_path": str(pq_in)})
    assert any(p.startswith("stats_keys:") and "perplexity" in p for p in problems)


def test_missing_and_empty_dataset(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    for mod, cfg in [
        (construction, {"dataset_path": missing}),
        (combination, {"dataset_path": [missing]}),
        (merging, {"dataset_path": [missing]}),
        (downsampling, {"dataset_path": [missing]}),
        (duplication, {"dataset_path": [missing], "duplicating_times": 2}),
        (ranking, {"dataset_path": [missing], "metrics": [1.0]}),
    ]:
        assert any(p.startswith("dataset_path:") and "nope.jsonl" in p for p in mod.check(cfg))
        with pytest.raises(ValueError, match="dataset_path: .*nope.jsonl"):
            mod.run(cfg, tmp_path / "out")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="dataset_path: .*has no rows"):
        construction.run({"dataset_path": str(tmp_path / "empty.jsonl")}, tmp_path / "out")
    assert files(tmp_path / "out") == []


# ----------------------------------------------------------------------------- combination


def test_combination_every_subset(pools, tmp_path):
    ranked = [pools["text_len"][2], pools["num_words"][2], pools["alnum_ratio"][0]]
    res = combination.run({"dataset_path": ranked}, tmp_path)
    members = [ids(p) for p in ranked]
    expected = []
    for size in (1, 2, 3):
        for combo in itertools.combinations(range(3), size):
            keep = [i for i in members[combo[0]] if all(i in members[j] for j in combo[1:])]
            if keep:
                name = "_".join(map(str, combo))
                expected.append((f"reviews_top_{name}_num_{len(keep)}.jsonl", keep))
    assert len(expected) >= 5  # long reviews have many words: real overlaps
    assert [(Path(p).name, ids(p)) for p in res] == expected
    # min_rows drops the small intersections only
    smallest = min(len(keep) for _, keep in expected)
    large = combination.run({"dataset_path": ranked, "min_rows": smallest + 1}, tmp_path / "m")
    assert [Path(p).name for p in large] == [n for n, keep in expected if len(keep) > smallest]
    assert combination.check({"dataset_path": ranked, "min_rows": 0}) == [
        "min_rows: expected a positive integer, got 0"
    ]


def test_combination_identity_ignores_stats_and_key(pools, tmp_path):
    a, b = pools["text_len"][2], pools["num_words"][2]
    table = io.read_table(b)
    import pyarrow as pa

    restated = table.set_column(
        table.column_names.index("__dj__stats__"),
        "__dj__stats__",
        pa.array([{"other": 1.0}] * table.num_rows),
    )
    io.write_table(restated, tmp_path / "restated.jsonl")
    by_row = combination.run(
        {"dataset_path": [a, str(tmp_path / "restated.jsonl")]}, tmp_path / "r"
    )
    by_key = combination.run({"dataset_path": [a, b], "key": "id"}, tmp_path / "k")
    assert [ids(p) for p in by_row] == [ids(p) for p in by_key]
    assert len(by_row) == 3
    with pytest.raises(ValueError, match="key: column"):
        combination.run({"dataset_path": [a, b], "key": "nope"}, tmp_path / "bad")
    assert files(tmp_path / "bad") == []


# ----------------------------------------------------------------------------- duplication, downsampling


def test_duplication(pools, tmp_path):
    pool = pools["text_len"][0]
    res = duplication.run({"dataset_path": [pool], "duplicating_times": [1, 3]}, tmp_path / "a")
    assert [Path(p).name for p in res] == [
        "reviews_text_len_0_x1.jsonl",
        "reviews_text_len_0_x3.jsonl",
    ]
    assert ids(res[1]) == ids(pool) * 3
    shuf = [
        duplication.run(
            {"dataset_path": pool, "duplicating_times": 2, "shuffle": True, "seed": s},
            tmp_path / f"s{i}",
        )[0]
        for i, s in enumerate((1, 1, 2))
    ]
    assert ids(shuf[0]) == ids(shuf[1]) != ids(shuf[2])
    assert sorted(ids(shuf[0])) == sorted(ids(pool) * 2)
    assert any(
        p.startswith("duplicating_times:") for p in duplication.check({"duplicating_times": [2, 0]})
    )


def test_downsampling(pools, tmp_path):
    three = pools["num_words"]
    small = downsampling.run(
        {"dataset_path": three[:2], "target_num_samples": 40, "shuffle_seed": 7}, tmp_path / "a"
    )
    same = downsampling.run(
        {"dataset_path": three[:2], "target_num_samples": 40, "seed": 7}, tmp_path / "b"
    )
    other = downsampling.run(
        {"dataset_path": three[:2], "target_num_samples": 40, "seed": 8}, tmp_path / "c"
    )
    assert [Path(p).name for p in small] == [
        "reviews_num_words_0_40.jsonl",
        "reviews_num_words_1_40.jsonl",
    ]
    assert [ids(p) for p in small] == [ids(p) for p in same]
    assert [ids(p) for p in small] != [ids(p) for p in other]
    for out, pool in zip(small, three):
        got = ids(out)
        assert len(got) == len(set(got)) == 40 and set(got) <= set(ids(pool))
    # default: the smallest pool (the 40-row one just made)
    res = downsampling.run({"dataset_path": [three[2], small[0]]}, tmp_path / "d")
    assert [len(ids(p)) for p in res] == [40, 40]
    with pytest.raises(ValueError, match="seed"):
        downsampling.run({"dataset_path": three, "seed": 1, "shuffle_seed": 2}, tmp_path / "e")


def test_downsampling_target_larger_than_a_pool(pools, tmp_path):
    cfg = {"dataset_path": pools["text_len"], "target_num_samples": 101}
    with pytest.raises(ValueError, match=r"target_num_samples: 101 is larger than .*text_len_0"):
        downsampling.run(cfg, tmp_path / "out")
    assert files(tmp_path / "out") == []
    assert any(
        p.startswith("target_num_samples:") for p in downsampling.check({"target_num_samples": 0})
    )


# ----------------------------------------------------------------------------- merging, join


def test_merging(pools, tmp_path):
    three = pools["alnum_ratio"]
    out = merging.run({"dataset_path": three}, tmp_path / "a")
    assert Path(out).name == "reviews_alnum_ratio_merged.jsonl"
    assert ids(out) == sum((ids(p) for p in three), [])
    # Parquet out with different schemas: columns unified, missing values null
    import pyarrow as pa

    extra = io.read_table(three[0]).append_column("note", pa.array(["x"] * 100))
    io.write_table(extra, tmp_path / "extra.parquet")
    out = merging.run(
        {"dataset_path": [str(tmp_path / "extra.parquet"), three[1]], "export_format": "parquet"},
        tmp_path / "b",
    )
    table = io.read_table(out)
    assert table.num_rows == 200 and table.column("note").null_count == 100


def test_cartesian_join(pools, tmp_path):
    a = io.read_table(pools["text_len"][0]).slice(0, 3).select(["id", "text"])
    b = io.read_table(pools["text_len"][1]).slice(0, 2).select(["id", "label"])
    io.write_table(a, tmp_path / "left_a.jsonl")
    io.write_table(a.slice(0, 1), tmp_path / "left_b.jsonl")
    io.write_table(b, tmp_path / "right.jsonl")
    res = cartesian_join.run(
        {
            "dataset_path_1": [str(tmp_path / "left_a.jsonl"), str(tmp_path / "left_b.jsonl")],
            "dataset_path_2": [str(tmp_path / "right.jsonl")],
        },
        tmp_path / "o",
    )
    assert [Path(p).name for p in res] == [
        "left_right_cartesian_join_0_0.jsonl",
        "left_right_cartesian_join_1_0.jsonl",
    ]
    joined = io.read_table(res[0])
    assert joined.column_names == ["id_1", "text", "id_2", "label"]
    la, rb = a.column("id").to_pylist(), b.column("id").to_pylist()
    assert list(zip(joined.column("id_1").to_pylist(), joined.column("id_2").to_pylist())) == [
        (x, y) for x in la for y in rb
    ]
    res = cartesian_join.run(
        {
            "dataset_path_1": str(tmp_path / "left_b.jsonl"),
            "dataset_path_2": str(tmp_path / "right.jsonl"),
            "suffixes": ["_l", "_r"],
            "export_format": "parquet",
        },
        tmp_path / "p",
    )
    assert io.read_table(res[0]).column_names == ["id_l", "text", "id_r", "label"]


def test_cartesian_join_of_empty_sets(tmp_path, pools):
    cfg = {"dataset_path_1": [], "dataset_path_2": pools["text_len"][:1]}
    assert any(p.startswith("dataset_path_1:") for p in cartesian_join.check(cfg))
    with pytest.raises(ValueError, match="dataset_path_1: expected at least one"):
        cartesian_join.run(cfg, tmp_path / "out")
    with pytest.raises(ValueError, match="dataset_path_2"):
        cartesian_join.run({"dataset_path_1": pools["text_len"][:1]}, tmp_path / "out")
    assert files(tmp_path / "out") == []


# ----------------------------------------------------------------------------- ranking


def test_ranking(pools):
    paths = pools["text_len"]
    metrics = [
        {"eval": {"accuracy": 0.5, "f1": 0.2}},
        {"eval": {"accuracy": 0.7, "f1": 0.1}},
        {"eval": {"accuracy": 0.5, "f1": 0.3}},
    ]
    cfg = {"dataset_path": paths, "metrics": metrics, "ranking_keys": ["eval.accuracy", "eval.f1"]}
    assert ranking.check(cfg) == []
    assert ranking.run(cfg, Path(".")) == [paths[1], paths[2], paths[0]]
    assert ranking.run({**cfg, "descending": False, "top_n": 2}, Path(".")) == [paths[0], paths[2]]
    # ties keep the input order; plain numbers rank without keys
    assert ranking.run({"dataset_path": paths, "metrics": [1, 2, 1]}, Path(".")) == [
        paths[1],
        paths[0],
        paths[2],
    ]
    by_path = {paths[2]: 0.9, paths[0]: 0.1, paths[1]: 0.5}
    assert ranking.run({"dataset_path": paths, "metrics": by_path}, Path(".")) == [
        paths[2],
        paths[1],
        paths[0],
    ]


def test_ranking_misaligned(pools, tmp_path):
    paths = pools["text_len"]
    bad = [
        ({"metrics": [0.1, 0.2]}, "metrics: 2 results for 3 pools"),
        ({"metrics": {paths[0]: 1, paths[1]: 2, "/elsewhere.jsonl": 3}}, "metrics: keyed by path"),
        (
            {
                "metrics": [
                    {"dataset_path": paths[1], "a": 1},
                    {"dataset_path": paths[0], "a": 2},
                    {"a": 3},
                ],
                "ranking_keys": ["a"],
            },
            "metrics: result 0 is for",
        ),
        (
            {"metrics": [{"a": 1}, {"b": 2}, {"a": 3}], "ranking_keys": ["a"]},
            "ranking_keys: 'a' is not in the result of pool 1",
        ),
        ({"metrics": [1, 2, 3], "top_n": 4}, "top_n: 4 is more than"),
    ]
    for extra, message in bad:
        cfg = {"dataset_path": paths, **extra}
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            ranking.run(cfg, tmp_path)
    assert any(
        p.startswith("metrics:") for p in ranking.check({"dataset_path": paths, "metrics": [1]})
    )


# ----------------------------------------------------------------------------- io, tables


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch, pools):
    import pyarrow.parquet as pq

    def broken(table, where, **kw):
        where.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        merging.run({"dataset_path": pools["text_len"], "export_format": "parquet"}, tmp_path)
    assert files(tmp_path) == []


def test_jsonl_writer_round_trips_awkward_values(tmp_path):
    import pyarrow as pa

    rows = [
        {
            "t": 'q"\\\n\t\x01é中',
            "f": 1.0,
            "i": 2,
            "b": True,
            "l": [1.5, 2.0],
            "s": {"k": 0.5, "q": [1, 2]},
            "ls": [{"a": 1}],
            "n": None,
        },
        {"t": "", "f": 2.5, "i": None, "b": False, "l": [], "s": None, "ls": None, "n": None},
    ]
    io.write_table(pa.Table.from_pylist(rows), tmp_path / "x.jsonl")
    assert [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()] == rows
    assert io.read_table(tmp_path / "x.jsonl").schema.field("f").type == pa.float64()


def test_component_tables_and_light_import():
    specs = {
        s.name: s
        for m in (
            cartesian_join,
            combination,
            construction,
            downsampling,
            duplication,
            merging,
            ranking,
        )
        for s in m.SPECS
    }
    assert set(specs) == {
        "data_pool_construction",
        "data_pool_combination",
        "data_pool_duplication",
        "data_pool_downsampling",
        "data_pool_merging",
        "data_pool_cartesian_join",
        "data_pool_ranking",
    }
    assert "split_ratios" in specs["data_pool_construction"].keys
    assert {"metrics", "ranking_keys", "top_n"} <= set(specs["data_pool_ranking"].keys)
    code = (
        "import sys, djsandbox.data.pools.construction as c; c.check({'split_ratios': [0.5]});"
        "print(sorted(m for m in ('pyarrow', 'numpy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_jsonl_lines_blank_crlf_no_final_newline(tmp_path):
    src = tmp_path / "odd.jsonl"
    rows = [{"id": f"r{i}", "__dj__stats__": {"v": 5 - i}} for i in range(5)]
    text = (
        "\r\n".join(json.dumps(r) for r in rows[:3])
        + "\r\n\r\n\n"
        + "\n".join(json.dumps(r) for r in rows[3:])
    )  # blank lines, CRLF, no newline at the end
    src.write_bytes(text.encode())
    res = construction.run({"dataset_path": str(src), "split_num": 2}, tmp_path / "out")
    assert [ids(p) for p in res["v"]] == [["r4", "r3"], ["r2", "r1"], ["r0"]]
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match="bad.jsonl:2: expected a JSON object"):
        downsampling.run({"dataset_path": str(tmp_path / "bad.jsonl")}, tmp_path / "x")


def test_ranking_accepts_results_shaped_like_the_pools(tmp_path):
    """Model components return {stat: [result per pool]} for construction's {stat: [paths]}."""
    from djsandbox.data.pools import ranking

    paths = {}
    for stat in ("a", "b"):
        paths[stat] = []
        for i in range(2):
            p = tmp_path / f"{stat}_{i}.jsonl"
            p.write_text('{"text": "x"}\n')
            paths[stat].append(str(p))
    metrics = {
        "a": [{"accuracy": 0.5}, {"accuracy": 0.9}],
        "b": [{"accuracy": 0.7}, {"accuracy": 0.1}],
    }
    ranked = ranking.run(
        {"dataset_path": paths, "metrics": metrics, "ranking_keys": ["accuracy"], "top_n": 3},
        tmp_path,
    )
    assert ranked == [paths["a"][1], paths["b"][0], paths["a"][0]]
    with pytest.raises(ValueError, match="metrics"):
        ranking.run(
            {"dataset_path": paths, "metrics": {"a": metrics["a"]}, "ranking_keys": ["accuracy"]},
            tmp_path,
        )
