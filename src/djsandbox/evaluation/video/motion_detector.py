"""Our own video detector (``detector_path: motion``): the camera-motion classifier trained
with Lightning on the clipart clips, built once per config and kept in the cache.

The training rows are a clipart ``clips.jsonl`` (the packaged subset unless
``detector_data`` names another, e.g. the full set), its ``train`` split only; each clip's
label is the motion its *caption* asks for (``motions.motion_of_caption``), never the
dataset's ``shown_motion``/``defect`` fields, so defective training clips stay label noise
as they would be for any model. The cache key hashes the training settings and the dataset
file's bytes: another dataset or setting trains another detector, the same ones reuse it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...atomic import atomic_write_bytes, atomic_write_text
from ...errors import ConfigError
from ...paths import cache_base
from .clips import load_clips, resolve_clips
from .motions import MOTIONS, motion_index

if TYPE_CHECKING:
    import numpy as np

NAME = "motion"
VERSION = 1  # bump when the network or its input changes: old caches are then not read
log = logging.getLogger(__name__)


def packaged_clips() -> Path:
    """The packaged clipart subset's ``clips.jsonl``."""
    return Path(str(resources.files("djsandbox.resources") / "clipart_videos" / "clips.jsonl"))


@dataclass(frozen=True)
class MotionSettings:
    """What builds one detector (all of it goes into the cache key)."""

    data: str
    split: str = "train"
    frames: int = 8  # clips are resampled to this many frame steps
    size: int = 32  # and downsampled to size x size
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3
    width: int = 8
    feature_dim: int = 64
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> MotionSettings:
        options = dict(cfg.get("detector_options") or {})
        unknown = sorted(set(options) - set(cls.__dataclass_fields__) - {"data"})
        if unknown:
            raise ConfigError(
                f"detector_options: unknown key(s) {unknown}; expected some of "
                f"{sorted(set(cls.__dataclass_fields__) - {'data'})}"
            )
        data = cfg.get("detector_data") or str(packaged_clips())
        return cls(data=str(Path(data).expanduser().resolve()), **options)

    def key(self) -> str:
        body = Path(self.data).read_bytes() if Path(self.data).is_file() else b""
        text = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode() + hashlib.sha256(body).digest()).hexdigest()[:16]


def grey_tensor(clips: list[np.ndarray], frames: int, size: int) -> Any:
    """Clips ``(T, H, W, 3)`` uint8 -> grey ``(N, frames + 1, size, size)`` float in [-1, 1]:
    time resampled to ``frames + 1`` evenly spaced frames (so a pan moves a few pixels from
    one to the next), space area-averaged to ``size``."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    out = []
    for clip in clips:
        idx = np.linspace(0, len(clip) - 1, frames + 1).round().astype(int)
        grey = clip[idx].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        x = F.interpolate(torch.from_numpy(grey)[None], size=(size, size), mode="area")[0]
        out.append(x / 127.5 - 1.0)
    return torch.stack(out)


def _training_set(settings: MotionSettings) -> tuple[Any, Any]:
    import torch

    clips = resolve_clips(settings.data, "detector_data", split=settings.split)
    labelled = [(c, motion_index(c.text or "")) for c in clips]
    labelled = [(c, y) for c, y in labelled if y is not None]
    if not labelled:
        raise ConfigError(
            f"detector_data: no clip of split {settings.split!r} in {settings.data!r} has a "
            "caption naming a camera motion ('..., the camera pans left')"
        )
    x = grey_tensor(load_clips([c for c, _ in labelled]), settings.frames, settings.size)
    return x, torch.tensor([y for _, y in labelled])


def train(settings: MotionSettings, folder: Path) -> dict[str, Any]:
    """Train the classifier with Lightning and write ``detector.pt`` and ``meta.json`` (both
    atomically) into ``folder``; returns the meta."""
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    from ...models.lightning_trainer import make_trainer
    from .motion_net import MotionModule, with_differences

    start, cpu = time.monotonic(), time.process_time()
    L.seed_everything(settings.seed, workers=True, verbose=False)
    x, y = _training_set(settings)
    module = MotionModule(settings.width, settings.feature_dim, settings.lr, settings.seed)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=settings.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(settings.seed),
    )
    trainer = make_trainer(
        {"max_epochs": settings.epochs, "log_every_n_steps": 1},
        folder,
        overrides={"logger": CSVLogger(save_dir=str(folder), name="logs")},
    )
    trainer.fit(module, loader)
    net = module.net.eval()
    with torch.no_grad():
        acc = float((net(with_differences(x))[1].argmax(1) == y).float().mean())
    meta = {
        "settings": asdict(settings),
        "version": VERSION,
        "classes": list(MOTIONS),
        "train_clips": len(y),
        "train_accuracy": acc,
        "seconds": round(time.monotonic() - start, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),  # all threads: load-independent
    }
    buf = io.BytesIO()
    torch.save({"state_dict": net.state_dict(), "meta": meta}, buf)
    atomic_write_bytes(folder / "detector.pt", buf.getvalue())
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=1))
    return meta


def cache_folder(settings: MotionSettings) -> Path:
    return cache_base() / "video_motion_detector" / settings.key()


class MotionDetector:
    """Features and motion probabilities of clips, from the cached (or newly trained) net."""

    name = NAME
    classes: tuple[str, ...] = MOTIONS

    def __init__(self, settings: MotionSettings, replace_cache: bool = False) -> None:
        import torch

        from .motion_net import MotionNet, with_differences

        self._input = with_differences
        self._shape = (settings.frames, settings.size)
        self.settings = settings
        self.folder = cache_folder(settings)
        weights = self.folder / "detector.pt"
        if replace_cache or not weights.is_file():
            log.info("training the motion detector on %s into %s", settings.data, self.folder)
            self.meta = train(settings, self.folder)
        saved = torch.load(weights, map_location="cpu", weights_only=True)
        self.meta = saved["meta"]
        self.net = MotionNet(settings.width, settings.feature_dim)
        self.net.load_state_dict(saved["state_dict"])
        self.net.eval()

    def outputs(self, clips: list[np.ndarray], batch_size: int = 64) -> tuple[Any, Any]:
        """(features ``(N, feature_dim)``, class probabilities ``(N, 6)``) as numpy arrays."""
        import numpy as np
        import torch

        feats, probs = [], []
        with torch.no_grad():
            for i in range(0, len(clips), batch_size):
                grey = grey_tensor(clips[i : i + batch_size], *self._shape)
                f, logits = self.net(self._input(grey))
                feats.append(f.numpy())
                probs.append(torch.softmax(logits, 1).numpy())
        return np.concatenate(feats).astype(np.float64), np.concatenate(probs)
