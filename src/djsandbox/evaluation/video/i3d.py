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
        """(logits ``(N, 400)``, softmax probabilities) as numpy arrays; clips of a batch must
        share their size (the metric's ``height``/``width`` make them so)."""
        import numpy as np
        import torch

        feats = []
        with torch.no_grad():
            for i in range(0, len(clips), batch_size):
                batch = np.stack(clips[i : i + batch_size])  # (B, T, H, W, 3) uint8
                x = torch.from_numpy(batch).permute(0, 4, 1, 2, 3).contiguous().to(self.device)
                out = self.model(x, rescale=True, resize=True, return_features=True)
                feats.append(out.float().cpu().numpy())
        logits = np.concatenate(feats).astype(np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return logits, shifted / shifted.sum(axis=1, keepdims=True)
