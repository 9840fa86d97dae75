"""preprocess: colour order, normalization, resizing, batching, device path and bad frames."""

import cv2
import numpy as np
import pytest
import torch

from ssd_rt.config import Normalization
from ssd_rt.data.synthetic import random_scene
from ssd_rt.errors import ShapeError
from ssd_rt.preprocess import preprocess, resize_uint8

MEAN = np.array(Normalization().mean_rgb)
STD = np.array(Normalization().std_rgb)


def test_constant_blue_frame_becomes_normalized_rgb():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR
    images, sizes = preprocess(frame)
    assert images.shape == (1, 3, 300, 300)
    assert images.dtype == torch.float32
    assert sizes == [(640, 480)]
    expected = (np.array([0.0, 0.0, 1.0]) - MEAN) / STD  # R, G, B channels
    torch.testing.assert_close(
        images[0, :, 150, 150], torch.tensor(expected, dtype=torch.float32), atol=1e-5, rtol=0
    )


def _pil_resize(frame_bgr, size=300):
    """The reference antialiased bilinear resize (PIL), as RGB uint8."""
    from PIL import Image

    rgb = Image.fromarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
    return np.asarray(rgb.resize((size, size), Image.Resampling.BILINEAR))


def test_matches_antialiased_resize_then_normalize():
    """Resize is bilinear with antialiasing (PIL's filter) then (x/255 - mean)/std, RGB."""
    frame = random_scene(3, 720, 1280)
    images, _ = preprocess(frame)
    expected = ((_pil_resize(frame).astype(np.float64) / 255 - MEAN) / STD).transpose(2, 0, 1)
    # torchvision's uint8 kernel rounds within 1 of PIL.
    np.testing.assert_allclose(images[0].numpy(), expected, atol=1.01 / 255 / STD.min())


def test_batch_of_frames_of_different_sizes():
    frames = [random_scene(0, 480, 640), random_scene(1, 1080, 1920), random_scene(2)]
    images, sizes = preprocess(frames)
    assert images.shape == (3, 3, 300, 300)
    assert sizes == [(640, 480), (1920, 1080), (300, 300)]
    single, _ = preprocess(frames[1])
    torch.testing.assert_close(images[1], single[0])


def test_four_dimensional_array_is_a_batch():
    frames = np.stack([random_scene(0), random_scene(1)])
    images, sizes = preprocess(frames)
    assert images.shape == (2, 3, 300, 300)
    assert sizes == [(300, 300), (300, 300)]


def test_half_precision_output():
    images, _ = preprocess(random_scene(0), dtype=torch.float16)
    assert images.dtype == torch.float16


def test_resize_is_the_one_of_training():
    """Inference and the training transforms share resize_uint8 (not plain bilinear)."""
    from ssd_rt.data.sample import Sample
    from ssd_rt.data.transforms import SSDEvalTransform

    frame = random_scene(5, 720, 1280)
    rgb_chw = torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1)
    sample = Sample(rgb_chw, torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64),
                    torch.zeros(0, dtype=torch.bool), 0, "f", (720, 1280))  # fmt: skip
    trained_on = SSDEvalTransform(300)(sample).image
    ours = resize_uint8(torch.from_numpy(frame).permute(2, 0, 1), 300).flip(0)
    assert torch.equal(ours, trained_on)
    assert np.abs(ours.permute(1, 2, 0).numpy().astype(int) - _pil_resize(frame)).max() <= 1
    plain = cv2.resize(frame, (300, 300), interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(int)
    assert np.abs(ours.permute(1, 2, 0).numpy().astype(int) - plain).max() > 10  # it aliases


@pytest.mark.gpu
def test_cuda_path_matches_cpu_path():
    frames = [random_scene(0, 480, 640), random_scene(1, 720, 1280)]
    cpu, _ = preprocess(frames)
    cuda, _ = preprocess(frames, device="cuda")
    assert cuda.is_cuda
    assert (cuda.cpu() - cpu).abs().max() <= 2 / 255 / min(STD)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((300, 300, 3), np.float32), "must be uint8 BGR"),
        (np.zeros((300, 300, 4), np.uint8), r"must be BGR \[H, W, 3\], got shape \(300, 300, 4\)"),
        (np.zeros((300, 300), np.uint8), r"must be BGR \[H, W, 3\]"),
        (np.zeros((0, 300, 3), np.uint8), "is empty"),
        ("frame.jpg", "must be a numpy array or tensor, got str"),
    ],
)
def test_bad_frames(frame, message):
    with pytest.raises(ShapeError, match=message):
        preprocess([frame])


def test_no_frames():
    with pytest.raises(ShapeError, match="at least one frame"):
        preprocess([])
