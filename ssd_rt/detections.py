"""Detections of one image, and their scaling from network coordinates to frame pixels."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ssd_rt.errors import ShapeError


@dataclass(frozen=True)
class Detections:
    """Boxes of one image, sorted by score (highest first).

    boxes_xyxy  # [K, 4] float; fractions of the input from `postprocess`, pixels after `to_pixels`
    scores      # [K] float, softmax probability of the label
    labels      # [K] int64, 1..C-1 (0 is background and never appears)
    """

    boxes_xyxy: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        k = self.scores.shape[0] if self.scores.ndim == 1 else -1
        if (
            self.boxes_xyxy.ndim != 2
            or self.boxes_xyxy.shape[1] != 4
            or k != self.boxes_xyxy.shape[0]
            or self.labels.shape != self.scores.shape
        ):
            raise ShapeError(
                f"Detections need boxes [K, 4], scores [K], labels [K]; got "
                f"{tuple(self.boxes_xyxy.shape)}, {tuple(self.scores.shape)}, "
                f"{tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls, device: torch.device | str = "cpu") -> Detections:
        return cls(
            boxes_xyxy=torch.zeros((0, 4), device=device),
            scores=torch.zeros((0,), device=device),
            labels=torch.zeros((0,), dtype=torch.int64, device=device),
        )

    def to_pixels(self, width: int, height: int) -> Detections:
        """Boxes from fractions of the input to pixels of a width x height frame.

        Preprocessing stretches the whole frame to 300x300 (no letterbox, as SSD is trained), so
        the inverse is a per-axis scale.
        """
        scale = torch.tensor(
            [width, height, width, height],
            dtype=self.boxes_xyxy.dtype,
            device=self.boxes_xyxy.device,
        )
        return Detections(self.boxes_xyxy * scale, self.scores, self.labels)

    def to(self, device: torch.device | str) -> Detections:
        return Detections(
            self.boxes_xyxy.to(device), self.scores.to(device), self.labels.to(device)
        )

    def filter(self, keep: torch.Tensor) -> Detections:
        """The detections selected by a boolean mask or an index tensor."""
        return Detections(self.boxes_xyxy[keep], self.scores[keep], self.labels[keep])
