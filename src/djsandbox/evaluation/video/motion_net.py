"""The camera-motion video classifier: a small 3D-conv network and its LightningModule.

Small enough to train in seconds on two CPU cores at 32x32x16, yet it must tell a pan left
from a pan right, so every layer convolves over time too. Its penultimate layer (after
global pooling and one hidden layer) gives the features FVD/KVD compare; its softmax gives the
class probabilities motion accuracy and IS read. Training augments with flips and time
reversal, swapping the labels they mirror (a left pan flipped is a right pan, a zoom in
played backwards a zoom out).

Imports torch and lightning at module level: only ``motion_detector`` imports this module,
inside its functions.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from .motions import MOTIONS

# Label permutations of the augmentations (indices into MOTIONS).
_IDX = {m: i for i, m in enumerate(MOTIONS)}


def _swap(pairs: list[tuple[str, str]]) -> list[int]:
    perm = list(range(len(MOTIONS)))
    for a, b in pairs:
        perm[_IDX[a]], perm[_IDX[b]] = _IDX[b], _IDX[a]
    return perm


HFLIP = _swap([("pan_left", "pan_right")])
VFLIP = _swap([("pan_up", "pan_down")])
IN_CHANNELS = 2  # grey frame, difference to the next frame
REVERSE = _swap([("pan_left", "pan_right"), ("pan_up", "pan_down"), ("zoom_in", "zoom_out")])


class MotionNet(nn.Module):
    """Three strided 3D convolutions (batch-normalised) over [grey frame, temporal
    difference], pooled to a 2x2 grid (a zoom moves each quadrant another way), a hidden layer
    (the features) and a linear classifier over the motion classes."""

    def __init__(self, width: int = 16, feature_dim: int = 64, classes: int = len(MOTIONS)):
        super().__init__()

        def block(cin: int, cout: int, stride: tuple[int, int, int]) -> list[nn.Module]:
            return [
                nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm3d(cout),
                nn.ReLU(inplace=True),
            ]

        self.body = nn.Sequential(
            *block(IN_CHANNELS, width, (1, 2, 2)),
            *block(width, 2 * width, (2, 2, 2)),
            *block(2 * width, 2 * width, (2, 2, 2)),
            nn.AdaptiveAvgPool3d((1, 2, 2)),
            nn.Flatten(),
            nn.Linear(8 * width, feature_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(feature_dim, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, logits) of clips ``(B, 2, T, H, W)`` (see ``motion_detector.to_tensor``)."""
        features = self.body(x)
        return features, self.head(features)


def with_differences(grey: torch.Tensor) -> torch.Tensor:
    """Grey clips ``(B, T + 1, H, W)`` in [-1, 1] -> the net's input ``(B, 2, T, H, W)``:
    each frame and its difference to the next (the temporal gradient motion shows in)."""
    return torch.stack([grey[:, :-1], grey[:, 1:] - grey[:, :-1]], dim=1)


def augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[Any, Any]:
    """Random horizontal/vertical flips and time reversal of grey clips ``(B, T, H, W)``,
    labels mirrored."""
    x, y = x.clone(), y.clone()
    for dims, perm in (((3,), HFLIP), ((2,), VFLIP), ((1,), REVERSE)):
        pick = torch.rand(len(x), generator=gen) < 0.5
        if pick.any():
            x[pick] = x[pick].flip(dims)
            y[pick] = torch.tensor(perm)[y[pick]]
    return x, y


class MotionModule(L.LightningModule):
    """Cross-entropy training of ``MotionNet`` with AdamW."""

    def __init__(self, width: int, feature_dim: int, lr: float, seed: int) -> None:
        super().__init__()
        self.net = MotionNet(width, feature_dim)
        self.lr = lr
        self.gen = torch.Generator().manual_seed(seed)
        self.loss = nn.CrossEntropyLoss()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = augment(*batch, self.gen)
        _, logits = self.net(with_differences(x))
        loss = self.loss(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train_acc", acc, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=1e-4)
