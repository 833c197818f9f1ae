"""Model components run once per item of a list or mapping of inputs, keeping the shape."""

from __future__ import annotations

from pathlib import Path

from djsandbox.shapes import map_structure, split_pairs


def test_map_structure_keeps_shape_and_gives_each_item_its_folder(tmp_path):
    seen = []

    def fn(item, folder: Path):
        seen.append(folder.relative_to(tmp_path).as_posix())
        return item * 10

    out = map_structure({"text_len": [1, 2], "num/words": [3]}, fn, tmp_path)
    assert out == {"text_len": [10, 20], "num/words": [30]}
    assert seen == ["text_len/0", "text_len/1", "num_words/0"]
    assert map_structure(4, fn, tmp_path) == 40


def testsplit_pairs():
    assert split_pairs({"a": [(1, "x"), (2, "y")]}) == ({"a": [1, 2]}, {"a": ["x", "y"]})
    assert split_pairs((1, 2)) == (1, 2)
