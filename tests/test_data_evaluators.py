"""Reference-style data evaluators and macro-F1, checked against hand-computed numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.evaluation.data_evaluators import (
    accuracy_evaluator,
    macro_f1,
    mse_evaluator,
    nested_get,
)

DATA = Path(__file__).resolve().parents[1] / "src" / "djsandbox" / "resources" / "fine_foods"
TEST = DATA / "test.jsonl"


def _read(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _flip(label: str) -> str:
    return "other" if label == "great" else "great"


# --- macro-F1 -------------------------------------------------------------------------------


def test_macro_f1_hand_worked() -> None:
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c"]
    # a: tp=2 fp=0 fn=1 -> F1 = 4/5;  b: tp=1 fp=1 fn=1 -> 2/4;  c: tp=1 fp=1 fn=0 -> 2/3
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_macro_f1_never_predicted_class_scores_zero() -> None:
    # a: tp=1 fp=1 fn=0 -> 2/3; b never predicted -> 0
    assert macro_f1(["a", "b"], ["a", "a"]) == pytest.approx(1 / 3)
    # an explicitly listed class with no rows at all also counts (as 0)
    assert macro_f1(["a", "a"], ["a", "a"], labels=["a", "z"]) == pytest.approx(0.5)
    assert macro_f1([1, 0, 1], ["1", "0", "1"]) == 1.0  # compared as strings
    with pytest.raises(ValueError):
        macro_f1(["a"], ["a", "b"])


# --- accuracy -------------------------------------------------------------------------------


def test_accuracy_separate_files_nested_key(tmp_path: Path) -> None:
    rows = _read(TEST)
    preds = [
        {"id": r["id"], "meta": {"label": _flip(r["label"]) if i % 4 == 0 else r["label"]}}
        for i, r in enumerate(rows)
    ]
    pred = _write(tmp_path / "pred.jsonl", preds)
    records, best = accuracy_evaluator(
        {
            "predicted_dataset_path": pred,
            "ground_truth_dataset_path": str(TEST),
            "predicted_label_key": "meta.label",
            "ground_truth_label_key": "label",
        }
    )
    assert records == [{"pred_path": pred, "gt_path": str(TEST), "accuracy": pytest.approx(0.75)}]
    assert best == pytest.approx(0.75)


def test_accuracy_one_record_per_pair_in_order_and_the_max(tmp_path: Path) -> None:
    rows = _read(TEST)
    good = [dict(r, pred=r["label"] if i % 10 else _flip(r["label"])) for i, r in enumerate(rows)]
    bad = [dict(r, pred=_flip(r["label"]) if i % 2 else r["label"]) for i, r in enumerate(rows)]
    cfg = {"predicted_label_key": "pred", "ground_truth_label_key": "label"}
    good_path, bad_path = _write(tmp_path / "good.jsonl", good), _write(tmp_path / "bad.jsonl", bad)
    records, best = accuracy_evaluator({**cfg, "predicted_dataset_path": [bad_path, good_path]})
    # ground truth defaults to the predicted rows themselves, as in the reference
    assert [(r["pred_path"], r["gt_path"]) for r in records] == [
        (bad_path, bad_path),
        (good_path, good_path),
    ]
    assert [r["accuracy"] for r in records] == pytest.approx([0.5, 0.9])
    assert set(records[0]) == {"pred_path", "gt_path", "accuracy"}
    assert best == pytest.approx(0.9)


def test_accuracy_compares_strings_like_the_reference(tmp_path: Path) -> None:
    rows = [
        {"p": "Great", "t": "great"},  # case-sensitive: miss
        {"p": 1, "t": "1"},  # str(1) == "1": hit
        {"p": 1.0, "t": 1},  # "1.0" != "1": miss
        {"p": ["a", "b"], "t": ["a", "b"]},  # whole lists: hit
        {"p": None, "t": None},  # explicit nulls: "None" == "None", hit
        {"t": "great"},  # no prediction (a failed request): "None", a miss
    ]
    cfg = {
        "predicted_dataset_path": _write(tmp_path / "x.jsonl", rows),
        "predicted_label_key": "p",
        "ground_truth_label_key": "t",
    }
    assert accuracy_evaluator(cfg)[1] == pytest.approx(3 / 6)


def test_nested_get_flat_dotted_key_and_lists() -> None:
    row = {"meta.label": "flat", "meta": {"label": "nested"}, "items": [{"v": 1}, {"v": 2}]}
    assert nested_get(row, "meta.label") == "flat"
    assert nested_get({"meta": {"label": "nested"}}, "meta.label") == "nested"
    assert nested_get(row, "items.v") == [1, 2]


def test_accuracy_errors_name_file_row_and_key(tmp_path: Path) -> None:
    rows = _read(TEST)[:3]
    pred = _write(tmp_path / "pred.jsonl", [dict(r, pred=r["label"]) for r in rows])
    cfg = {
        "predicted_dataset_path": pred,
        "predicted_label_key": "pred",
        "ground_truth_label_key": "label",
    }
    with pytest.raises(ValueError, match=r"pred\.jsonl: no row has the predicted key 'perd'"):
        accuracy_evaluator({**cfg, "predicted_label_key": "perd"})
    no_truth = _write(tmp_path / "gt.jsonl", [rows[0], {"id": "x"}, rows[2]])
    with pytest.raises(ValueError, match=r"gt\.jsonl: row 1 has no key 'label' \(the ground truth"):
        accuracy_evaluator({**cfg, "ground_truth_dataset_path": no_truth})
    short = _write(tmp_path / "short.jsonl", [dict(r, pred="great") for r in rows])
    with pytest.raises(ValueError, match=r"has 3 rows but ground truth .*test\.jsonl' has 1000"):
        accuracy_evaluator(
            {**cfg, "predicted_dataset_path": short, "ground_truth_dataset_path": str(TEST)}
        )
    with pytest.raises(ValueError, match=r"absent\.jsonl' does not exist"):
        accuracy_evaluator({**cfg, "predicted_dataset_path": str(tmp_path / "absent.jsonl")})
    with pytest.raises(ValueError, match="predicted_label_key is required"):
        accuracy_evaluator({"predicted_dataset_path": pred, "ground_truth_label_key": "label"})
    with pytest.raises(ValueError, match="predicted_dataset_path is required"):
        accuracy_evaluator({"predicted_label_key": "a", "ground_truth_label_key": "b"})
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.jsonl' is empty"):
        accuracy_evaluator({**cfg, "predicted_dataset_path": str(empty)})


# --- mse ------------------------------------------------------------------------------------


def test_mse_on_real_rows(tmp_path: Path) -> None:
    rows = _read(TEST)
    # Predict each review's length off by -1, 0 or +1 in turn (as numbers or numeric strings).
    preds = [{"len_pred": len(r["text"]) + (i % 3 - 1)} for i, r in enumerate(rows)]
    preds = [{"len_pred": str(p["len_pred"])} if i % 2 else p for i, p in enumerate(preds)]
    truth = [{"stats": {"len": len(r["text"])}} for r in rows]
    expected = sum((i % 3 - 1) ** 2 for i in range(len(rows))) / len(rows)
    cfg = {
        "predicted_dataset_path": _write(tmp_path / "pred.jsonl", preds),
        "ground_truth_dataset_path": _write(tmp_path / "gt.jsonl", truth),
        "predicted_value_key": "len_pred",
        "ground_truth_value_key": "stats.len",
    }
    records, best = mse_evaluator(cfg)
    assert records == [
        {
            "pred_path": cfg["predicted_dataset_path"],
            "gt_path": cfg["ground_truth_dataset_path"],
            "mse": pytest.approx(expected),
            "format_error": 0,
        }
    ]
    assert best == pytest.approx(expected)
    perfect = _write(tmp_path / "perfect.jsonl", [{"len_pred": len(r["text"])} for r in rows])
    records, best = mse_evaluator(
        {
            **cfg,
            "predicted_dataset_path": [cfg["predicted_dataset_path"], perfect],
            "ground_truth_dataset_path": [cfg["ground_truth_dataset_path"]] * 2,
        }
    )
    assert [r["mse"] for r in records] == pytest.approx([expected, 0.0])
    assert best == 0.0  # the min


def test_mse_counts_unparsable_predictions_as_format_errors_and_skips_them(
    tmp_path: Path,
) -> None:
    rows = [
        {"p": "1", "t": 0},  # (1-0)^2 = 1
        {"p": "high", "t": 1.0},  # words: format error
        {"p": 0.5, "t": 1},  # 0.25
        {"p": None, "t": 1},  # a failed request: format error
        {"t": 1},  # no prediction at all: format error
        {"p": "nan", "t": 1},  # parses, but not finite: format error
        {"p": True, "t": 1},  # a boolean is not a grade: format error
    ]
    path = _write(tmp_path / "m.jsonl", rows)
    records, best = mse_evaluator(
        {"predicted_dataset_path": path, "predicted_value_key": "p", "ground_truth_value_key": "t"}
    )
    assert records == [
        {"pred_path": path, "gt_path": path, "mse": pytest.approx(0.625), "format_error": 5}
    ]
    assert best == pytest.approx(0.625)


def test_mse_file_without_any_number_is_null_and_not_the_best(tmp_path: Path) -> None:
    cfg = {"predicted_value_key": "p", "ground_truth_value_key": "t"}
    words = _write(tmp_path / "words.jsonl", [{"p": "great", "t": 1}, {"p": "bad", "t": 0}])
    nums = _write(tmp_path / "nums.jsonl", [{"p": 0, "t": 1}, {"p": 0, "t": 0}])
    records, best = mse_evaluator({**cfg, "predicted_dataset_path": [words, nums]})
    assert [(r["mse"], r["format_error"]) for r in records] == [(None, 2), (0.5, 0)]
    assert best == 0.5


def test_mse_fails_when_nothing_parses_or_the_key_is_wrong(tmp_path: Path) -> None:
    cfg = {"predicted_value_key": "p", "ground_truth_value_key": "t"}
    words = _write(tmp_path / "words.jsonl", [{"p": "great", "t": 1}, {"p": "bad", "t": 0}])
    with pytest.raises(ValueError, match=r"predicted_value_key 'p': no row of .*words\.jsonl"):
        mse_evaluator({**cfg, "predicted_dataset_path": words})
    nums = _write(tmp_path / "nums.jsonl", [{"p": 0, "t": 1}, {"p": 0, "t": 0}])
    with pytest.raises(ValueError, match=r"nums\.jsonl: no row has the predicted key 'q'"):
        mse_evaluator({**cfg, "predicted_dataset_path": nums, "predicted_value_key": "q"})


def test_mse_errors(tmp_path: Path) -> None:
    rows = [{"p": 1.0, "t": 2.0}, {"p": 2, "t": "high"}]
    cfg = {
        "predicted_dataset_path": _write(tmp_path / "m.jsonl", rows),
        "predicted_value_key": "p",
        "ground_truth_value_key": "t",
    }
    with pytest.raises(ValueError, match=r"m\.jsonl: row 1 key 't' holds 'high', not a finite"):
        mse_evaluator(cfg)
    with pytest.raises(ValueError, match=r"m\.jsonl: row 0 has no key 'q'"):
        mse_evaluator({**cfg, "ground_truth_value_key": "q"})
    with pytest.raises(
        ValueError, match="ground_truth_dataset_path has 2 paths but predicted_dataset_path has 1"
    ):
        mse_evaluator({**cfg, "ground_truth_dataset_path": [cfg["predicted_dataset_path"]] * 2})
