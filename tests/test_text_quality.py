"""Text-quality evaluators: ours trained on real reviews, and the Data-Juicer (Spark) one's glue."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from djsandbox.evaluation import dj_text_quality_classifier as dj
from djsandbox.evaluation import hashed_ngram_model as ngrams
from djsandbox.evaluation import text_quality_classifier as tq

FINE_FOODS = Path(__file__).resolve().parents[1] / "src" / "djsandbox" / "resources" / "fine_foods"

_SPAM = [
    "buy",
    "cheap",
    "free",
    "click",
    "here",
    "now",
    "best",
    "price",
    "online",
    "discount",
    "casino",
    "win",
    "money",
    "offer",
    "limited",
    "viagra",
    "deal",
    "!!!",
    "www",
    "com",
]
_NAV = [
    "Home",
    "About",
    "Contact",
    "Login",
    "Register",
    "Privacy Policy",
    "Terms",
    "Cart",
    "FAQ",
    "Sitemap",
    "Next",
    "Prev",
    "Share",
    "Tweet",
    "Copyright 2013",
]


def junk_texts(n: int, seed: int) -> list[str]:
    """Deterministic low-quality web text: keyword spam, navigation boilerplate, letter noise."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(" ".join(rng.choice(_SPAM) for _ in range(rng.randint(8, 40))))
        elif kind == 1:
            out.append(" | ".join(rng.choice(_NAV) for _ in range(rng.randint(5, 20))))
        else:
            words = [
                "".join(
                    rng.choice("bcdfghjklmnpqrstvwxz0123456789") for _ in range(rng.randint(2, 9))
                )
                for _ in range(rng.randint(5, 30))
            ]
            out.append(" ".join(words))
    return out


def _rows(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("tq_data")
    train, test = _rows(FINE_FOODS / "train.jsonl"), _rows(FINE_FOODS / "test.jsonl")
    return {
        "pos": _write(d / "great_train.jsonl", [r for r in train if r["label"] == "great"][:1200]),
        "neg": _write(
            d / "junk_train.jsonl", [{"text": t, "n": i} for i, t in enumerate(junk_texts(600, 0))]
        ),
        "pos_test": _write(d / "great_test.jsonl", [r for r in test if r["label"] == "great"]),
        "neg_test": _write(d / "junk_test.jsonl", [{"text": t} for t in junk_texts(300, 1)]),
        "great_all": _write(d / "great_all.jsonl", [r for r in train if r["label"] == "great"]),
        "other_all": _write(d / "other_all.jsonl", [r for r in train if r["label"] == "other"]),
        "test": str(FINE_FOODS / "test.jsonl"),
    }


@pytest.fixture(scope="module")
def trained(
    data: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, float, dict]:
    """Train on reviews vs junk and score the held-out reviews in one job."""
    out = tmp_path_factory.mktemp("tq_job")
    mean, details = tq.run_text_quality_classifier(
        {
            "positive_path": data["pos"],
            "negative_path": data["neg"],
            "dataset_path": data["pos_test"],
        },
        out,
    )
    return out, mean, details


def test_train_then_score_separates_reviews_from_junk(trained, data, tmp_path: Path) -> None:
    out, mean_pos, details = trained
    assert isinstance(mean_pos, float) and mean_pos > 0.9
    assert details["model_path"] == str(out / "text_quality_model.npz")
    assert details["export_path"] == str(out / "scores.jsonl")
    training = details["training"]
    assert (training["num_positive"], training["num_negative"]) == (1200, 600)
    assert training["val_rows"] == 180 and training["val_auc"] > 0.99 and training["converged"]

    scored = _rows(Path(details["export_path"]))
    inputs = _rows(Path(data["pos_test"]))
    assert len(scored) == details["num_rows"] == len(inputs) == 658
    assert [{k: v for k, v in r.items() if k != "doc_score"} for r in scored] == inputs
    assert np.isclose(np.mean([r["doc_score"] for r in scored]), mean_pos)

    mean_neg, neg = tq.run_text_quality_classifier(
        {"dataset_path": data["neg_test"], "model_path": details["model_path"], "score_key": "q"},
        tmp_path,
    )
    assert mean_neg < 0.1
    assert neg["max"] < min(r["doc_score"] for r in scored) or neg["75%"] < details["25%"]
    assert "q" in _rows(tmp_path / "scores.jsonl")[0]


def test_saved_model_scores_identically(trained, data, tmp_path: Path) -> None:
    out, mean, details = trained
    again, d2 = tq.run_text_quality_classifier(
        {
            "dataset_path": data["pos_test"],
            "model_path": details["model_path"],
            "export_path": str(tmp_path / "s.jsonl"),
            "batch_size": 7,
        },
        tmp_path,
    )
    assert again == mean
    assert [r["doc_score"] for r in _rows(tmp_path / "s.jsonl")] == [
        r["doc_score"] for r in _rows(out / "scores.jsonl")
    ]


def test_training_alone_returns_model_path_and_seeds_are_deterministic(
    data, tmp_path: Path
) -> None:
    cfg = {
        "positive_path": data["pos"],
        "negative_path": data["neg"],
        "num_buckets": 2**16,
        "seed": 7,
    }
    p1, info1 = tq.run_text_quality_classifier(cfg, tmp_path / "a")
    p2, info2 = tq.run_text_quality_classifier(cfg, tmp_path / "b")
    p3, info3 = tq.run_text_quality_classifier({**cfg, "seed": 8}, tmp_path / "c")
    assert p1 == str(tmp_path / "a" / "text_quality_model.npz") == info1["model_path"]
    m1, m2, m3 = (tq.TextQualityModel.load(p) for p in (p1, p2, p3))
    assert np.array_equal(m1.weights, m2.weights) and m1.bias == m2.bias
    assert {k: v for k, v in info1.items() if k != "model_path"} == {
        k: v for k, v in info2.items() if k != "model_path"
    }
    assert not np.array_equal(m1.weights, m3.weights)  # another held-out split


def test_real_split_great_vs_other_reviews(data, tmp_path: Path) -> None:
    """On the real labels the task is hard (reviews of either label are well written), yet the
    classifier trained on all 4,000 rows ranks held-out 'great' reviews above 'other' ones."""
    model_path, info = tq.run_text_quality_classifier(
        {"positive_path": data["great_all"], "negative_path": data["other_all"], "val_ratio": 0},
        tmp_path,
    )
    model = tq.TextQualityModel.load(model_path)
    test = _rows(Path(data["test"]))
    scores = model.score([r["text"] for r in test])
    labels = np.array([r["label"] == "great" for r in test], dtype=float)
    assert ngrams._auc(scores, labels) > 0.83
    assert ((scores >= 0.5) == (labels == 1)).mean() > 0.75
    assert info["val_rows"] == 0 and "val_auc" not in info


def test_bad_rows_and_settings_are_clear_errors(data, tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [{"text": "fine"}, {"body": "no text key"}])
    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2: no key 'text'"):
        tq.run_text_quality_classifier(
            {"positive_path": data["pos"], "negative_path": bad}, tmp_path / "t"
        )
    assert not (tmp_path / "t" / "text_quality_model.npz").exists()

    model = tmp_path / "missing.npz"
    with pytest.raises(ValueError, match="model_path: model file .*missing.npz' does not exist"):
        tq.run_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model_path": str(model)}, tmp_path
        )
    not_model = tmp_path / "x.npz"
    np.savez(not_model, a=np.zeros(2))
    with pytest.raises(ValueError, match="model_path: .* is not a text_quality_classifier model"):
        tq.TextQualityModel.load(not_model)

    with pytest.raises(ValueError, match=r"bad\.jsonl: line 2: no key 'text'"):
        tq.run_text_quality_classifier(
            {"dataset_path": bad, "model_path": _trained_small(data, tmp_path)}, tmp_path / "s"
        )
    assert list((tmp_path / "s").glob("*.jsonl")) == [] and list((tmp_path / "s").glob(".*")) == []

    with pytest.raises(ValueError, match="negative_path: .* is also a positive_path"):
        tq.run_text_quality_classifier(
            {"positive_path": data["pos"], "negative_path": [data["pos"]]}, tmp_path
        )


def _trained_small(data: dict[str, str], tmp_path: Path) -> str:
    path, _ = tq.run_text_quality_classifier(
        {
            "positive_path": data["neg_test"],
            "negative_path": data["neg"],
            "num_buckets": 1024,
            "val_ratio": 0,
        },
        tmp_path / "small",
    )
    return path


def test_checks_name_the_keys() -> None:
    check = tq.check_text_quality_classifier
    assert (
        check(
            {
                "type": "text_quality_classifier",
                "positive_path": "p.jsonl",
                "negative_path": ["n.jsonl"],
            }
        )
        == []
    )
    assert check({"dataset_path": "d.jsonl", "model_path": "m.npz"}) == []
    assert [p.split(":")[0] for p in check({})] == ["dataset_path"]
    assert [p.split(":")[0] for p in check({"dataset_path": "d.jsonl"})] == ["model_path"]
    assert [p.split(":")[0] for p in check({"positive_path": "p.jsonl"})] == ["negative_path"]
    problems = check(
        {
            "positive_path": [],
            "negative_path": "n",
            "num_buckets": 1,
            "ngram": 9,
            "l2": -1,
            "val_ratio": 1.0,
            "seed": "x",
            "text_key": "",
        }
    )
    assert sorted(p.split(":")[0] for p in problems) == sorted(
        ["positive_path", "text_key", "num_buckets", "ngram", "seed", "l2", "val_ratio"]
    )
    assert {s.name: s.results for s in tq.SPECS + dj.SPECS} == {tq.OURS: 2, dj.DJ: 2}


def test_hashing_is_stable_across_processes() -> None:
    """CRC32 buckets, not salted hash(): the values are fixed forever for saved models."""
    f = ngrams.HashedFeatures(2**18, 2)
    assert ngrams.terms("Great taste, GREAT price!") == [
        "great",
        "taste",
        "great",
        "price",
        "great taste",
        "taste great",
        "great price",
    ]
    assert [f.bucket(t) for t in ("great", "great taste")] == [53855, 187255]
    row = f.transform(["great great taste"]).toarray()[0]
    assert np.isclose(np.linalg.norm(row), 1.0)


# ------------------------------------------------------------- dj_text_quality_classifier


def _spark_model_dir(path: Path) -> Path:
    (path / "metadata").mkdir(parents=True)
    (path / "stages").mkdir()
    return path


def test_dj_classifier_missing_model_names_the_path(tmp_path: Path, data) -> None:
    with pytest.raises(ValueError) as info:
        dj.run_dj_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model_dir": str(tmp_path)}, tmp_path / "o"
        )
    msg = str(info.value)
    assert msg.startswith("model: no Spark PipelineModel folder at")
    assert str(tmp_path / "gpt3_quality_model") in msg and "gpt3_quality_model.zip" in msg

    from data_juicer.utils.cache_utils import DATA_JUICER_MODELS_CACHE

    if not (Path(DATA_JUICER_MODELS_CACHE) / "gpt3_quality_model").is_dir():
        with pytest.raises(ValueError, match="gpt3_quality_model"):
            dj.run_dj_text_quality_classifier({"dataset_path": data["pos_test"]}, tmp_path / "o")
        assert not (tmp_path / "o").exists()

    with pytest.raises(ValueError, match=r"model: no Spark PipelineModel folder at '.*mine'"):
        dj.run_dj_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model": str(tmp_path / "mine")}, tmp_path / "o"
        )
    (tmp_path / "half").mkdir()
    with pytest.raises(ValueError, match="not a Spark PipelineModel folder"):
        dj.run_dj_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model": str(tmp_path / "half")}, tmp_path / "o"
        )
    _spark_model_dir(tmp_path / "chinese_quality_model")
    with pytest.raises(
        ValueError, match=r"tokenizer: sentencepiece model 'zh\.sp\.model' not found"
    ):
        dj.run_dj_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model": "chinese", "model_dir": str(tmp_path)},
            tmp_path / "o",
        )


def test_dj_classifier_missing_dependency_is_named(tmp_path: Path, data, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    _spark_model_dir(tmp_path / "gpt3_quality_model")
    with pytest.raises(
        ValueError, match=r"needs the Python package 'pyspark' \(pip install pyspark\)"
    ):
        dj.run_dj_text_quality_classifier(
            {"dataset_path": data["pos_test"], "model_dir": str(tmp_path)}, tmp_path / "o"
        )


def test_dj_classifier_calls_data_juicer_and_exports(tmp_path: Path, data, monkeypatch) -> None:
    """The glue around Data-Juicer's predict_score, with Spark replaced by a stand-in."""
    import pandas as pd

    calls = []

    def fake_predict_score(dataset_path, result_path, **kw):
        calls.append((dataset_path, result_path, kw))
        Path(result_path).mkdir()
        (Path(result_path) / "part-0.json").write_text('{"doc_score": 0.25}\n{"doc_score": 0.75}\n')
        return pd.DataFrame({"doc_score": [0.25, 0.75]}).describe(include="all")

    monkeypatch.setattr(dj, "_dj_predict_score", lambda: fake_predict_score)
    monkeypatch.setattr(dj, "missing_dj_dependencies", lambda sentencepiece=False: [])
    _spark_model_dir(tmp_path / "models" / "chinese_quality_model")
    (tmp_path / "models" / "zh.sp.model").write_bytes(b"sp")
    mean, details = dj.run_dj_text_quality_classifier(
        {
            "dataset_path": data["pos_test"],
            "model": "chinese",
            "model_dir": str(tmp_path / "models"),
            "text_key": "text",
        },
        tmp_path / "job",
    )
    assert mean == 0.5
    export = tmp_path / "job" / "dj_quality_scores.jsonl"
    assert details["export_path"] == str(export) and (export / "part-0.json").is_file()
    assert details["count"] == 2 and details["max"] == 0.75
    [(ds, result, kw)] = calls
    assert ds == data["pos_test"] and Path(result).name == "dj_quality_scores.jsonl"
    assert kw == {
        "model": str((tmp_path / "models" / "chinese_quality_model").resolve()),
        "tokenizer": str((tmp_path / "models" / "zh.sp.model").resolve()),
        "keep_method": "label",
        "text_key": "text",
        "overall_stats": True,
    }
    assert [p.name for p in (tmp_path / "job").iterdir()] == ["dj_quality_scores.jsonl"]


def test_dj_classifier_checks(tmp_path) -> None:
    check = dj.check_dj_text_quality_classifier
    # The settings are fine; what this machine lacks (the model) is reported before the run.
    problems = check({"dataset_path": "d.jsonl", "model_dir": str(tmp_path)})
    assert len(problems) == 1 and problems[0].startswith("model: no Spark PipelineModel folder")
    assert str(tmp_path / "gpt3_quality_model") in problems[0]
    model = tmp_path / "gpt3_quality_model"
    (model / "metadata").mkdir(parents=True)
    (model / "stages").mkdir()
    problems = check({"dataset_path": "d.jsonl", "model_dir": str(tmp_path)})
    assert problems == [] or (
        len(problems) == 1 and problems[0].startswith("type:") and "pyspark" in problems[0]
    )
    assert [p.split(":")[0] for p in check({})] == ["dataset_path"]
    problems = check(
        {
            "dataset_path": "d.csv",
            "model": "gpt3",
            "tokenizer": "zh.sp.model",
            "keep_method": "label",
        }
    )
    assert [p.split(":")[0] for p in problems] == ["dataset_path", "tokenizer", "keep_method"]
    assert check({"dataset_path": "d.jsonl", "model": "/m", "keep_method": "top"}) == [
        "keep_method: got 'top'; expected one of gpt3, label"
    ]
