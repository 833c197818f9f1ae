"""The standard FVD detector: the TorchScript I3D (Kinetics-400) that StyleGAN-V and
Data-Juicer's ``tools/mm_eval/inception_metrics`` load, used when ``detector_path`` names the
local file ``i3d_torchscript.pt``.

It is called as that code calls it: ``detector(videos, rescale=True, resize=True,
return_features=True)`` on uint8 clips ``(N, 3, T, H, W)``; the model itself rescales to
[-1, 1] and resizes to 224x224, and returns its 400 logits (the FVD features). IS reads the
softmax of the same logits. Nothing is downloaded: without the file, validation names it and
where it comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

I3D_FILE = "i3d_torchscript.pt"
I3D_SOURCE = (
    "the TorchScript I3D of StyleGAN-V's FVD (https://github.com/universome/stylegan-v), "
    "the file Data-Juicer's inception_metrics download from "
    "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1"
)


class I3DDetector:
    """Logits (features) and Kinetics-400 probabilities of clips, from the TorchScript I3D."""

    name = "i3d"
    classes = None  # Kinetics-400 labels: not a motion, no motion accuracy

    def __init__(self, path: str | Path, device: str | None = None) -> None:
        import torch

        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ConfigError(f"detector_path: {str(self.path)!r} does not exist; {I3D_SOURCE}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.model = torch.jit.load(str(self.path), map_location=self.device).eval()
        except RuntimeError as exc:
            raise ConfigError(
                f"detector_path: {str(self.path)!r} is not a TorchScript model ({exc})"
            ) from None

    def outputs(self, clips: list[np.ndarray], batch_size: int = 4) -> tuple[Any, Any]:
        """(logits ``(N, 400)``, softmax probabilities) as numpy arrays; consecutive clips of
        one shape share a batch (clips may differ in length or size)."""
        import numpy as np
        import torch

        batches: list[list[np.ndarray]] = []
        for clip in clips:
            if batches and len(batches[-1]) < batch_size and batches[-1][0].shape == clip.shape:
                batches[-1].append(clip)
            else:
                batches.append([clip])
        feats = []
        with torch.no_grad():
            for batch in batches:  # each (B, T, H, W, 3) uint8 -> (B, 3, T, H, W)
                x = torch.from_numpy(np.stack(batch)).permute(0, 4, 1, 2, 3).contiguous()
                out = self.model(x.to(self.device), rescale=True, resize=True, return_features=True)
                feats.append(out.float().cpu().numpy())
        logits = np.concatenate(feats).astype(np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return logits, shifted / shifted.sum(axis=1, keepdims=True)
