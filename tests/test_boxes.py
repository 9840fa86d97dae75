"""encode/decode: golden values, round trip, decode clamp, parity with torchvision's BoxCoder."""

import math

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import box_convert

from ssd_rt.boxes import LOG_SIZE_CLAMP, decode, encode
from ssd_rt.config import VOC_PRIORS
from ssd_rt.errors import ShapeError
from ssd_rt.priors import default_boxes


def test_encode_golden():
    prior = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    # centre (0.52, 0.54), size (0.2, 0.4):
    # t = (0.02/(0.1*0.2), 0.04/(0.1*0.2), ln(1)/0.2, ln(2)/0.2)
    gt = torch.tensor([[0.42, 0.34, 0.62, 0.74]])
    expected = torch.tensor([[1.0, 2.0, 0.0, math.log(2.0) / 0.2]])
    torch.testing.assert_close(encode(gt, prior), expected, atol=1e-5, rtol=0)


def test_decode_golden():
    prior = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    loc = torch.tensor([[1.0, 2.0, 0.0, math.log(2.0) / 0.2]])
    torch.testing.assert_close(
        decode(loc, prior), torch.tensor([[0.42, 0.34, 0.62, 0.74]]), atol=1e-6, rtol=0
    )


def test_round_trip_on_real_priors():
    generator = torch.Generator().manual_seed(0)
    priors = default_boxes(VOC_PRIORS)
    centres = torch.rand(priors.shape[0], 2, generator=generator)
    sizes = torch.rand(priors.shape[0], 2, generator=generator) * 0.9 + 0.01
    gt = box_convert(torch.cat([centres, sizes], dim=1), "cxcywh", "xyxy")
    torch.testing.assert_close(decode(encode(gt, priors), priors), gt, atol=1e-5, rtol=0)


def test_batched_decode_matches_per_image():
    priors = default_boxes(VOC_PRIORS)
    loc = torch.randn(3, priors.shape[0], 4, generator=torch.Generator().manual_seed(1))
    batched = decode(loc, priors)
    for b in range(3):
        torch.testing.assert_close(batched[b], decode(loc[b], priors))


def test_decode_clamps_size_so_nothing_overflows():
    prior = torch.tensor([[0.5, 0.5, 0.1, 0.1]])
    loc = torch.tensor([[0.0, 0.0, 1e4, 1e4]])  # exp(2000) would be inf
    boxes = decode(loc, prior)
    assert torch.isfinite(boxes).all()
    width = (boxes[0, 2] - boxes[0, 0]).item()
    assert width == pytest.approx(0.1 * math.exp(LOG_SIZE_CLAMP), rel=1e-5)
    assert math.exp(LOG_SIZE_CLAMP) == pytest.approx(1000 / 16)


def test_parity_with_torchvision_boxcoder():
    """Variances (0.1, 0.2) are torchvision's BoxCoder weights (10, 10, 5, 5)."""
    priors = default_boxes(VOC_PRIORS)
    anchors_px = box_convert(priors, "cxcywh", "xyxy") * 300
    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    loc = torch.randn(priors.shape[0], 4, generator=torch.Generator().manual_seed(2))
    ours_px = decode(loc, priors) * 300
    theirs_px = coder.decode_single(loc, anchors_px)
    torch.testing.assert_close(ours_px, theirs_px, atol=1e-3, rtol=1e-5)

    gt_px = theirs_px.clamp(0, 300)
    gt_px[:, 2:] = torch.maximum(gt_px[:, 2:], gt_px[:, :2] + 1)
    torch.testing.assert_close(
        encode(gt_px / 300, priors), coder.encode_single(gt_px, anchors_px), atol=1e-3, rtol=1e-4
    )


@pytest.mark.parametrize(
    ("loc", "priors", "message"),
    [
        (torch.zeros(10, 3), torch.zeros(10, 4), "loc must have 4 values"),
        (torch.zeros(10, 4), torch.zeros(10, 5), "priors_cxcywh must have 4 values"),
        (torch.zeros(2, 9, 4), torch.zeros(10, 4), "loc has 9 boxes but there are 10 priors"),
    ],
)
def test_decode_rejects_bad_shapes(loc, priors, message):
    with pytest.raises(ShapeError, match=message):
        decode(loc, priors)


def test_encode_rejects_bad_shapes():
    with pytest.raises(ShapeError, match="gt_xyxy must have 4 values"):
        encode(torch.zeros(5, 2), torch.zeros(5, 4))
