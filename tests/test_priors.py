"""Golden tests of the SSD300 default boxes: the Caffe VOC geometry (architecture.md)."""

import math

import pytest
import torch

from ssd_rt.config import COCO_PRIORS, VOC_PRIORS, PriorSpec, SSDConfig, prior_preset
from ssd_rt.errors import ConfigError
from ssd_rt.priors import default_boxes

# First index of each map: 38*38*4, 19*19*6, 10*10*6, 5*5*6, 3*3*4, 1*1*4 boxes.
MAP_STARTS = (0, 5776, 7942, 8542, 8692, 8728, 8732)
R2 = math.sqrt(2.0)
R3 = math.sqrt(3.0)


def test_count_is_8732():
    priors = default_boxes(VOC_PRIORS)
    assert priors.shape == (8732, 4)
    assert priors.dtype == torch.float32
    assert VOC_PRIORS.num_priors == 8732
    assert VOC_PRIORS.boxes_per_location == (4, 6, 6, 6, 4, 4)


# (map, first box, last box) with every number written from the Caffe rules by hand:
# centre (j + 0.5) * step / 300; sizes s, sqrt(s * s_next), s*sqrt(r) x s/sqrt(r), then 1/r.
GOLDEN = [
    # conv4_3: step 8, s 30, s_next 60; first box square s; last is r=1/2 at (37.5*8/300 = 1.0)
    (0, (4 / 300, 4 / 300, 0.1, 0.1), (1.0, 1.0, 30 / R2 / 300, 30 * R2 / 300)),
    # fc7: step 16, s 60, s_next 111; last box r=1/3 at 18.5*16/300
    (1, (8 / 300, 8 / 300, 0.2, 0.2), (296 / 300, 296 / 300, 60 / R3 / 300, 60 * R3 / 300)),
    # conv8_2: step 32, s 111; last centre 9.5*32/300 = 304/300 (beyond the image: no clip)
    (2, (16 / 300, 16 / 300, 0.37, 0.37), (304 / 300, 304 / 300, 111 / R3 / 300, 111 * R3 / 300)),
    # conv9_2: step 64, s 162; last centre 4.5*64/300
    (3, (32 / 300, 32 / 300, 0.54, 0.54), (288 / 300, 288 / 300, 162 / R3 / 300, 162 * R3 / 300)),
    # conv10_2: step 100, s 213, ratios [2] only
    (4, (50 / 300, 50 / 300, 0.71, 0.71), (250 / 300, 250 / 300, 213 / R2 / 300, 213 * R2 / 300)),
    # conv11_2: step 300, s 264
    (5, (0.5, 0.5, 0.88, 0.88), (0.5, 0.5, 264 / R2 / 300, 264 * R2 / 300)),
]


@pytest.mark.parametrize(("fmap", "first", "last"), GOLDEN)
def test_first_and_last_box_of_each_map(fmap, first, last):
    priors = default_boxes(VOC_PRIORS).double()
    start, end = MAP_STARTS[fmap], MAP_STARTS[fmap + 1]
    torch.testing.assert_close(
        priors[start], torch.tensor(first, dtype=torch.float64), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        priors[end - 1], torch.tensor(last, dtype=torch.float64), atol=1e-6, rtol=0
    )


def test_order_within_a_location():
    # conv8_2, first location: [s, sqrt(s*s_next), 2, 1/2, 3, 1/3].
    s, s_next = 111.0, 162.0
    block = default_boxes(VOC_PRIORS)[MAP_STARTS[2] : MAP_STARTS[2] + 6, 2:].double() * 300
    expected = torch.tensor(
        [
            (s, s),
            (math.sqrt(s * s_next),) * 2,
            (s * R2, s / R2),
            (s / R2, s * R2),
            (s * R3, s / R3),
            (s / R3, s * R3),
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(block, expected, atol=1e-4, rtol=0)


def test_row_major_location_order():
    # Second location of conv4_3 is one step to the right (column), same row.
    priors = default_boxes(VOC_PRIORS)
    assert priors[4, 0].item() == pytest.approx(12 / 300, abs=1e-7)
    assert priors[4, 1].item() == pytest.approx(4 / 300, abs=1e-7)
    # Location 38 starts the second row.
    assert priors[38 * 4, 0].item() == pytest.approx(4 / 300, abs=1e-7)
    assert priors[38 * 4, 1].item() == pytest.approx(12 / 300, abs=1e-7)


def test_extra_square_box_of_last_map():
    last_map = default_boxes(VOC_PRIORS)[MAP_STARTS[5] :]
    assert last_map[1, 2].item() == pytest.approx(math.sqrt(264 * 315) / 300, abs=1e-6)
    assert last_map[1, 3].item() == pytest.approx(math.sqrt(264 * 315) / 300, abs=1e-6)


def test_not_clipped():
    priors = default_boxes(VOC_PRIORS)
    assert priors[:, 2:].max().item() > 1.2  # the r=2 box of conv11_2 is 1.24 wide
    assert priors[:, :2].max().item() > 1.0


def test_coco_preset():
    priors = default_boxes(COCO_PRIORS)
    assert priors.shape == (8732, 4)
    assert priors[0, 2].item() == pytest.approx(21 / 300, abs=1e-7)
    assert priors[MAP_STARTS[5] + 1, 2].item() == pytest.approx(
        math.sqrt(261 * 315) / 300, abs=1e-6
    )
    assert prior_preset("coco") is COCO_PRIORS
    assert prior_preset("voc") is VOC_PRIORS


def test_built_once_and_cached():
    assert default_boxes(VOC_PRIORS) is default_boxes(PriorSpec())


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown prior preset 'kitti'"):
        prior_preset("kitti")


def test_spec_counts_must_match_feature_maps():
    with pytest.raises(ConfigError, match="min_sizes has 5 entries but there are 6 feature maps"):
        PriorSpec(min_sizes=(30, 60, 111, 162, 213))


def test_spec_feature_maps_must_match_network():
    spec = PriorSpec(feature_maps=(40, 20, 10, 5, 3, 1))
    with pytest.raises(
        ConfigError, match=r"feature maps \(40, 20, 10, 5, 3, 1\) but SSD300 produces"
    ):
        SSDConfig(num_classes=21, priors=spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": (8, 16, 32, 64, 100, 0)}, "steps must be positive"),
        ({"max_sizes": (20, 111, 162, 213, 264, 315)}, "max size 20 is below min size 30"),
        (
            {"aspect_ratios": ((2,), (2, 3), (2, -3), (2, 3), (2,), (2,))},
            "aspect ratios must be positive",
        ),
    ],
)
def test_bad_spec_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PriorSpec(**kwargs)
