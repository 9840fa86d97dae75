"""Frames in, network input out: the one place that turns BGR uint8 frames into SSD300 input.

frame(s) BGR uint8 [H, W, 3] -> resize to 300x300 (stretch, as SSD trains) -> RGB ->
(x / 255 - mean) / std -> float [B, 3, 300, 300] on the requested device.

`resize_uint8` is the one resize of training, evaluation and inference: bilinear with
antialiasing (torchvision's kernel, PIL's filter), so a 1080p frame shrunk to 300x300 looks to
the network as the training images did (plain bilinear would alias: it samples 2 of every ~6
pixels). On CPU it runs on uint8 in channels-last layout (~0.3 ms for 720p on one core); on CUDA
the uint8 frame is uploaded and resized there, so only H*W*3 bytes cross the bus per frame.
Boxes go back to frame pixels with `Detections.to_pixels(width, height)` of each frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torchvision.transforms.v2.functional import resize

from ssd_rt.config import Normalization
from ssd_rt.errors import ShapeError

Frame = np.ndarray | torch.Tensor  # BGR uint8 [H, W, 3]


def _check_frame(frame: Frame, index: int) -> None:
    if not isinstance(frame, (np.ndarray, torch.Tensor)):
        raise ShapeError(
            f"frame {index} must be a numpy array or tensor, got {type(frame).__name__}"
        )
    if frame.dtype not in (np.uint8, torch.uint8):
        raise ShapeError(f"frame {index} must be uint8 BGR [H, W, 3], got dtype {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ShapeError(f"frame {index} must be BGR [H, W, 3], got shape {tuple(frame.shape)}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ShapeError(f"frame {index} is empty: shape {tuple(frame.shape)}")


def _as_list(frames: Frame | Sequence[Frame]) -> list[Frame]:
    if isinstance(frames, (np.ndarray, torch.Tensor)) and frames.ndim == 4:
        return list(frames)
    if isinstance(frames, (np.ndarray, torch.Tensor)):
        return [frames]
    frames = list(frames)
    if not frames:
        raise ShapeError("preprocess needs at least one frame")
    return frames


def preprocess(
    frames: Frame | Sequence[Frame],
    *,
    size: int = 300,
    normalization: Normalization = Normalization(),  # noqa: B008 (frozen, safe default)
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """BGR uint8 frame(s) -> (images [B, 3, size, size] normalized, [(width, height)] per frame)."""
    frame_list = _as_list(frames)
    for i, frame in enumerate(frame_list):
        _check_frame(frame, i)
    sizes = [(int(f.shape[1]), int(f.shape[0])) for f in frame_list]
    device = torch.device(device)

    # uint8 [B, 3, S, S] BGR; permute of an HWC frame is the channels-last layout resize wants.
    batch_bchw = torch.stack(
        [resize_uint8(_to_tensor(f, device).permute(2, 0, 1), size) for f in frame_list]
    )

    # BGR -> RGB by flipping the channel axis, then one fused normalize.
    return normalize_uint8(batch_bchw.flip(1), normalization, dtype).contiguous(), sizes


def normalize_uint8(
    images_rgb: torch.Tensor,
    normalization: Normalization,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 RGB [B, 3, S, S] (a training batch, already resized) -> normalized float."""
    mean = torch.tensor(normalization.mean_rgb, device=images_rgb.device) * 255.0
    inv_std = 1.0 / (torch.tensor(normalization.std_rgb, device=images_rgb.device) * 255.0)
    images = (images_rgb.float() - mean.view(1, 3, 1, 1)) * inv_std.view(1, 3, 1, 1)
    return images.to(dtype)


def resize_uint8(image_chw: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """uint8 [..., 3, H, W] -> uint8 [..., 3, size, size]: bilinear with antialiasing."""
    out_hw = [size, size] if isinstance(size, int) else list(size)
    return resize(image_chw, out_hw, antialias=True)


def _to_tensor(frame: Frame, device: torch.device) -> torch.Tensor:
    if isinstance(frame, np.ndarray):
        frame = torch.from_numpy(np.ascontiguousarray(frame))
    return frame.to(device, non_blocking=True)
