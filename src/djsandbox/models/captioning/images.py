"""Image loading for the captioner: PNG/JPEG -> normalised (3, S, S) float tensor.

One square tile per image, resized to `image_size`, with ImageNet mean/std (what InternVL's
vision encoder was trained with). The real InternVL2 recipe also tiles large images
dynamically (up to 6 tiles of 448 px plus a thumbnail); a single 448 px tile is a valid input
for those models too (it is their thumbnail path) and keeps one image = one tile, which is
all the small clipart drawings need.

Decoded tensors are cached per process (bounded by bytes): a sandbox run trains and evaluates
many models on pools drawn from the same images, and decoding dominates small runs.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CACHE_BYTES = 512 * 2**20

_cache: OrderedDict[tuple[str, int], torch.Tensor] = OrderedDict()
_cache_bytes = 0


def _decode(path: Path, image_size: int) -> torch.Tensor:
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "P"):  # drawings: transparent areas become white
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            rgb = img.convert("RGB").resize((image_size, image_size), Image.Resampling.BICUBIC)
    except FileNotFoundError:
        raise ValueError(f"image file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"image file {str(path)!r} cannot be read as an image ({exc})") from None
    data = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    tensor = data.view(image_size, image_size, 3).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (tensor - mean) / std


def load_image(path: str | Path, image_size: int) -> torch.Tensor:
    """The normalised (3, image_size, image_size) tensor of an image file, cached."""
    global _cache_bytes
    key = (os.path.abspath(path), int(image_size))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    tensor = _decode(Path(path), int(image_size))
    size = tensor.numel() * tensor.element_size()
    if size <= CACHE_BYTES:
        _cache[key] = tensor
        _cache_bytes += size
        while _cache_bytes > CACHE_BYTES:
            _, old = _cache.popitem(last=False)
            _cache_bytes -= old.numel() * old.element_size()
    return tensor


def clear_cache() -> None:
    """Forget every decoded image (tests; or to free memory between large runs)."""
    global _cache_bytes
    _cache.clear()
    _cache_bytes = 0
