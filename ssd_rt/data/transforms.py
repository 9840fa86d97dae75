"""The SSD training augmentation (Liu et al. 2016, section 2.2) and the evaluation resize.

torchvision.transforms.v2 decides the geometry and moves the boxes: `RandomZoomOut` (up to 4x,
filled with the data set mean), `RandomIoUCrop` (min IoU in {none, 0.1, 0.3, 0.5, 0.7, 0.9} or
the whole image; scale 0.3-1, aspect 0.5-2; boxes kept by centre), horizontal flip, resize and
sanitize, all through v2's own parameter sampling and box kernels. Only the pixels are made
differently, for speed: instead of padding the image onto a canvas up to 16x its area, cropping
it and resizing the crop, the crop of the virtual canvas is composed directly at 300x300 (one
resize of the visible part of the image, the rest is the fill). Photometric distortion then runs
on the 300x300 result instead of the full image: the same pointwise operations on fewer pixels
(contrast uses the crop's mean instead of the whole image's). `benchmarks/dataloader.py` times
this against the plain v2 preset.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torchvision.transforms.v2 as v2
import torchvision.transforms.v2.functional as F
from torchvision import tv_tensors

from ssd_rt.config import Normalization
from ssd_rt.data.sample import Sample
from ssd_rt.preprocess import resize_uint8

IOU_CROP_OPTIONS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)  # 0.0: any patch; 1.0: the whole image


class TrainSample(NamedTuple):
    image: torch.Tensor  # [3, S, S] uint8 RGB
    boxes_xyxy: torch.Tensor  # [N, 4] float32 pixels of the S x S image
    labels: torch.Tensor  # [N] int64 1..C


class Batch(NamedTuple):
    images: torch.Tensor  # [B, 3, S, S] uint8 RGB; normalized on the training device
    boxes: list[torch.Tensor]  # B x [N_i, 4] float32 fractions of the image (the priors' units)
    labels: list[torch.Tensor]  # B x [N_i] int64 1..C


def mean_fill(normalization: Normalization) -> list[int]:
    """The data set mean as uint8 RGB: zoom-out fills with it, which normalizes to ~0."""
    return [round(m * 255) for m in normalization.mean_rgb]


def _compose_crop(
    image: torch.Tensor,
    offset_xy: tuple[int, int],
    crop_ltwh: tuple[int, int, int, int],
    size: int,
    fill: list[int],
) -> torch.Tensor:
    """[3, H, W] placed at `offset_xy` on a fill-coloured canvas, cropped, resized to size^2."""
    _, height, width = image.shape
    ox, oy = offset_xy
    left, top, crop_w, crop_h = crop_ltwh
    if (ox, oy) == (0, 0) and (left, top, crop_w, crop_h) == (0, 0, width, height):
        return resize_uint8(image, size)  # the common whole-image case
    out = torch.tensor(fill, dtype=torch.uint8).view(3, 1, 1).expand(3, size, size).clone()
    x1, y1 = max(left, ox), max(top, oy)
    x2, y2 = min(left + crop_w, ox + width), min(top + crop_h, oy + height)
    if x2 <= x1 or y2 <= y1:
        return out
    sx, sy = size / crop_w, size / crop_h
    dx1, dx2 = round((x1 - left) * sx), round((x2 - left) * sx)
    dy1, dy2 = round((y1 - top) * sy), round((y2 - top) * sy)
    if dx2 > dx1 and dy2 > dy1:
        visible = image[:, y1 - oy : y2 - oy, x1 - ox : x2 - ox]
        out[:, dy1:dy2, dx1:dx2] = resize_uint8(visible, (dy2 - dy1, dx2 - dx1))
    return out


class SSDTrainTransform:
    """Sample -> TrainSample with the paper's augmentation. Runs in DataLoader workers."""

    def __init__(
        self,
        size: int = 300,
        normalization: Normalization = Normalization(),  # noqa: B008 (frozen)
        *,
        zoom_out_p: float = 0.5,
        max_zoom: float = 4.0,
        flip_p: float = 0.5,
        photometric: bool = True,
    ) -> None:
        self.size = size
        self.fill = mean_fill(normalization)
        self.zoom_out_p, self.flip_p = zoom_out_p, flip_p
        self.zoom_out = v2.RandomZoomOut(fill=self.fill, side_range=(1.0, max_zoom))
        self.iou_crop = v2.RandomIoUCrop(sampler_options=list(IOU_CROP_OPTIONS))
        self.photometric = v2.RandomPhotometricDistort(p=0.5) if photometric else None

    def __call__(self, sample: Sample) -> TrainSample:
        image = sample.image
        height, width = int(image.shape[1]), int(image.shape[2])
        boxes = tv_tensors.BoundingBoxes(
            sample.boxes_xyxy, format="XYXY", canvas_size=(height, width)
        )
        offset = (0, 0)
        if torch.rand(1).item() < self.zoom_out_p:
            padding = self.zoom_out.make_params([boxes])["padding"]  # [left, top, right, bottom]
            boxes = F.pad(boxes, padding)
            offset = (padding[0], padding[1])
        canvas_h, canvas_w = boxes.canvas_size
        crop = self.iou_crop.make_params([boxes])
        if crop:
            boxes = self.iou_crop.transform(boxes, crop)  # out-of-crop centres -> empty boxes
            crop_ltwh = (crop["left"], crop["top"], crop["width"], crop["height"])
        else:
            crop_ltwh = (0, 0, canvas_w, canvas_h)
        out = _compose_crop(image, offset, crop_ltwh, self.size, self.fill)
        boxes = F.resize(boxes, [self.size, self.size])
        if torch.rand(1).item() < self.flip_p:
            out = out.flip(-1)
            boxes = F.horizontal_flip(boxes)
        boxes, valid = F.sanitize_bounding_boxes(boxes, min_size=1.0)
        if self.photometric is not None:
            out = self.photometric(tv_tensors.Image(out)).as_subclass(torch.Tensor)
        # sanitize returns the kept boxes and the mask that keeps their labels.
        return TrainSample(out, boxes.as_subclass(torch.Tensor), sample.labels[valid])


class SSDEvalTransform:
    """Sample -> TrainSample with the whole image resized to size x size (no augmentation)."""

    def __init__(self, size: int = 300) -> None:
        self.size = size

    def __call__(self, sample: Sample) -> TrainSample:
        height, width = sample.orig_size
        scale = torch.tensor([self.size / width, self.size / height] * 2)
        image = resize_uint8(sample.image, self.size)
        return TrainSample(image, sample.boxes_xyxy * scale, sample.labels)


def collate(samples: list[TrainSample]) -> Batch:
    """Stack images (uint8: 4x less to copy and pin than float) and turn boxes into fractions."""
    images = torch.stack([s.image for s in samples])
    size = images.shape[-1]
    return Batch(images, [s.boxes_xyxy / size for s in samples], [s.labels for s in samples])


class TransformedDataset(torch.utils.data.Dataset):
    """`dataset[i]` through `transform`, for a DataLoader."""

    def __init__(self, dataset, transform) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> TrainSample:
        return self.transform(self.dataset[index])
