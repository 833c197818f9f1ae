"""The caption -> camera motion parser every text-to-video component shares."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from djsandbox.evaluation.video.motions import MOTIONS, motion_index, motion_of_caption


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gramastar, the camera zooms in", "zoom_in"),
        ("Lemon SVG theme, the camera pans down", "pan_down"),
        ("<__dj__video> a cat, the camera pans left <|__dj__eoc|>", "pan_left"),
        ("A Cat The Camera Pans Right-0.mp4", "pan_right"),
        ("the camera pans up over a map, the camera zooms out", "zoom_out"),
        ("a cat", None),
        ("the camera pans in", None),
        ("the camera zooms left", None),
        ("", None),
    ],
)
def test_motion_of_caption(text: str, expected: str | None) -> None:
    assert motion_of_caption(text) == expected


def test_motion_index_follows_motions() -> None:
    assert motion_index("x, the camera zooms out") == MOTIONS.index("zoom_out") == 5
    assert motion_index("no motion here") is None


def test_packaged_captions_agree_with_their_motion_field() -> None:
    """Every packaged clip's caption parses to its recorded (asked-for) motion."""
    clips = resources.files("djsandbox.resources") / "clipart_videos" / "clips.jsonl"
    rows = [json.loads(line) for line in clips.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 420
    assert all(motion_of_caption(r["caption"]) == r["motion"] for r in rows)
    assert {r["motion"] for r in rows} == set(MOTIONS)
