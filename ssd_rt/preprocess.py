"""Frames in, network input out: the one place that turns BGR uint8 frames into SSD300 input.

frame(s) BGR uint8 [H, W, 3] -> resize to 300x300 (stretch, as SSD trains) -> RGB ->
(x / 255 - mean) / std -> float [B, 3, 300, 300] on the requested device.

On CPU the resize runs on uint8 with OpenCV (4x less memory traffic than float); on CUDA the
uint8 frame is uploaded and resized there, so only H*W*3 bytes cross the bus per frame.
Boxes go back to frame pixels with `Detections.to_pixels(width, height)` of each frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

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

    if device.type == "cpu":
        resized = [
            cv2.resize(_to_numpy(f), (size, size), interpolation=cv2.INTER_LINEAR)
            for f in frame_list
        ]
        batch_bhwc = torch.from_numpy(np.stack(resized))  # uint8 [B, S, S, 3] BGR
    else:
        batch_bhwc = torch.stack(
            [_resize_on_device(_to_tensor(f, device), size) for f in frame_list]
        )

    mean = torch.tensor(normalization.mean_rgb, device=device) * 255.0
    inv_std = 1.0 / (torch.tensor(normalization.std_rgb, device=device) * 255.0)
    # BGR -> RGB by flipping the channel axis, NHWC -> NCHW, then one fused normalize.
    images = batch_bhwc.flip(-1).permute(0, 3, 1, 2).float()
    images = (images - mean.view(1, 3, 1, 1)) * inv_std.view(1, 3, 1, 1)
    return images.to(dtype).contiguous(), sizes


def _to_numpy(frame: Frame) -> np.ndarray:
    return frame.cpu().numpy() if isinstance(frame, torch.Tensor) else frame


def _to_tensor(frame: Frame, device: torch.device) -> torch.Tensor:
    if isinstance(frame, np.ndarray):
        frame = torch.from_numpy(np.ascontiguousarray(frame))
    return frame.to(device, non_blocking=True)


def _resize_on_device(frame_hwc: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [H, W, 3] -> uint8 [size, size, 3] with bilinear resize on the frame's device."""
    x = frame_hwc.permute(2, 0, 1).unsqueeze(0).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return x.round_().clamp_(0, 255).to(torch.uint8)[0].permute(1, 2, 0)
