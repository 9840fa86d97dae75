"""SSD300 network: shapes, parameter parity with torchvision, FP16 numerics, backbone loading."""

import pytest
import torch
from torch import nn
from torchvision.models import resnet18, vgg16, vgg16_bn
from torchvision.models.detection import ssd300_vgg16

from ssd_rt.config import SSDConfig
from ssd_rt.data.synthetic import random_scene
from ssd_rt.errors import ConfigError, ShapeError, WeightsError
from ssd_rt.model import SSD300, L2Norm
from ssd_rt.preprocess import preprocess


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def slim_model():
    torch.manual_seed(0)
    return SSD300(SSDConfig(num_classes=21, width=0.125)).eval()


@pytest.fixture(scope="module")
def realistic_batch():
    images, _ = preprocess([random_scene(seed) for seed in range(4)])
    return images


def test_output_shapes(slim_model, realistic_batch):
    with torch.no_grad():
        loc, logits = slim_model(realistic_batch[:2])
    assert loc.shape == (2, 8732, 4)
    assert logits.shape == (2, 8732, 21)


def test_full_width_output_shapes():
    model = SSD300(SSDConfig(num_classes=5, norm="none")).eval()
    with torch.no_grad():
        loc, logits = model(torch.zeros(1, 3, 300, 300))
    assert loc.shape == (1, 8732, 4)
    assert logits.shape == (1, 8732, 5)


def test_parameter_count_equals_torchvision_ssd300_vgg16():
    ours = count(SSD300(SSDConfig(num_classes=21, norm="none")))
    ours_bn = count(SSD300(SSDConfig(num_classes=21, norm="bn")))
    theirs = count(ssd300_vgg16(weights=None, weights_backbone=None, num_classes=21))
    print(
        f"ssd-rt SSD300 (VGG16): {ours:,}  (VGG16-BN: {ours_bn:,})  "
        f"torchvision ssd300_vgg16: {theirs:,}"
    )
    # Both carry a 512-channel L2Norm scale; "within the L2Norm weights" allows 512 either way.
    assert abs(ours - theirs) <= 512
    assert ours == theirs == 26_285_486
    # BatchNorm adds a weight and bias per channel of the base, conv6/7 and extra layers,
    # and drops the biases of the convs it follows (conv6/7 and extras; VGG-BN convs keep theirs).
    assert ours_bn > ours


def test_width_multiplier_slims_the_network():
    full = count(SSD300(SSDConfig(num_classes=21)))
    slim = count(SSD300(SSDConfig(num_classes=21, width=0.25)))
    assert slim < full / 8


def test_heads_follow_prior_order(slim_model):
    """Output row i belongs to prior i: map by map, row-major, box order per location."""
    model = slim_model
    x = torch.zeros(1, 3, 300, 300)
    captured = {}
    handle = model.loc_heads[1].register_forward_hook(lambda m, i, o: captured.update(fc7=o))
    with torch.no_grad():
        loc, _ = model(x)
    handle.remove()
    fc7 = captured["fc7"]  # [1, 6*4, 19, 19]
    # fc7 prior index for row 2, column 5, box 3 (the r=1/2 box).
    index = 5776 + (2 * 19 + 5) * 6 + 3
    torch.testing.assert_close(loc[0, index], fc7[0, 3 * 4 : 4 * 4, 2, 5])


def test_fp16_forward_agrees_with_fp32(slim_model, realistic_batch):
    model32 = slim_model
    model16 = SSD300(model32.config).eval()
    model16.load_state_dict(model32.state_dict())
    model16 = model16.half()
    with torch.no_grad():
        loc32, logits32 = model32(realistic_batch)
        loc16, logits16 = model16(realistic_batch.half())
    assert loc16.dtype == torch.float16
    assert torch.isfinite(loc16).all() and torch.isfinite(logits16).all()
    for out16, out32 in ((loc16, loc32), (logits16, logits32)):
        error = (out16.float() - out32).abs()
        scale = out32.abs().max()
        print(f"fp16 max abs error {error.max():.4f} of range {scale:.2f}")
        assert error.max() <= 0.01 * scale
        assert error.mean() <= 0.001 * scale


@pytest.mark.gpu
def test_fp16_forward_agrees_with_fp32_on_cuda(realistic_batch):
    model32 = SSD300(SSDConfig(num_classes=21)).eval().cuda()
    model16 = SSD300(model32.config).eval().cuda()
    model16.load_state_dict(model32.state_dict())
    model16 = model16.half()
    images = realistic_batch.cuda()
    with torch.no_grad():
        loc32, logits32 = model32(images)
        loc16, logits16 = model16(images.half())
    assert torch.isfinite(loc16).all() and torch.isfinite(logits16).all()
    for out16, out32 in ((loc16, loc32), (logits16, logits32)):
        assert (out16.float() - out32).abs().max() <= 0.01 * out32.abs().max()


def test_l2norm_in_fp16_does_not_overflow():
    norm = L2Norm(512)
    # conv4_3 activations in the hundreds: 512 * 300^2 = 4.6e7 overflows FP16's 65504.
    x = torch.full((1, 512, 4, 4), 300.0)
    out16 = norm.half()(x.half())
    assert out16.dtype == torch.float16
    assert torch.isfinite(out16).all()
    out32 = L2Norm(512)(x)
    torch.testing.assert_close(out16.float(), out32, atol=1e-2, rtol=1e-3)
    assert out32[0, 0, 0, 0].item() == pytest.approx(20.0 / 512**0.5, rel=1e-5)


def test_l2norm_of_zeros_is_zero_not_nan():
    out = L2Norm(8)(torch.zeros(1, 8, 2, 2))
    assert torch.equal(out, torch.zeros_like(out))


@pytest.mark.parametrize("shape", [(3, 300, 300), (1, 3, 224, 224), (1, 1, 300, 300)])
def test_forward_rejects_wrong_shapes(slim_model, shape):
    with pytest.raises(ShapeError, match=r"SSD300 takes images \[B, 3, 300, 300\]"):
        slim_model(torch.zeros(shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 1}, "num_classes must be an integer >= 2"),
        ({"num_classes": 21, "norm": "gn"}, "unknown norm 'gn'; choose one of bn, none"),
        ({"num_classes": 21, "width": 0}, "width must be a positive number"),
        ({"num_classes": 21, "input_size": 512}, "SSD300 takes 300x300 inputs"),
    ],
)
def test_bad_config(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SSDConfig(**kwargs)


# --- ImageNet backbone loading ---------------------------------------------------------------


@pytest.fixture(scope="module")
def vgg16_state_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "vgg16.pth"
    torch.save(vgg16(weights=None).state_dict(), path)
    return path


def test_load_vgg16_backbone_decimates_fc6_fc7(vgg16_state_path):
    state = torch.load(vgg16_state_path, weights_only=True)
    model = SSD300(SSDConfig(num_classes=21, norm="none"))
    model.load_backbone_weights(vgg16_state_path)
    torch.testing.assert_close(model.features[28].weight, state["features.28.weight"])  # conv5_3
    conv6, conv7 = model.fc[0], model.fc[2]
    fc6 = state["classifier.0.weight"].view(4096, 512, 7, 7)
    torch.testing.assert_close(conv6.weight, fc6[::4, :, ::3, ::3])
    torch.testing.assert_close(conv6.bias, state["classifier.0.bias"][::4])
    torch.testing.assert_close(conv7.weight[:, :, 0, 0], state["classifier.3.weight"][::4, ::4])
    assert conv6.weight.shape == (1024, 512, 3, 3)


def test_load_vgg16_bn_backbone(tmp_path):
    path = tmp_path / "vgg16_bn.pth"
    state = vgg16_bn(weights=None).state_dict()
    state["features.1.running_mean"].fill_(0.25)
    torch.save(state, path)
    model = SSD300(SSDConfig(num_classes=21, norm="bn"))
    model.load_backbone_weights(path)
    assert torch.all(model.features[1].running_mean == 0.25)


def test_plain_vgg16_weights_into_bn_model_is_a_clear_error(vgg16_state_path):
    model = SSD300(SSDConfig(num_classes=21, norm="bn"))
    with pytest.raises(WeightsError, match=r"not a torchvision VGG16-BN state_dict \(norm='bn'\)"):
        model.load_backbone_weights(vgg16_state_path)


def test_backbone_weights_need_full_width(vgg16_state_path):
    model = SSD300(SSDConfig(num_classes=21, norm="none", width=0.5))
    with pytest.raises(WeightsError, match=r"fit only width 1\.0"):
        model.load_backbone_weights(vgg16_state_path)


def test_wrong_backbone_files(tmp_path):
    model = SSD300(SSDConfig(num_classes=21, norm="none"))
    with pytest.raises(WeightsError, match="backbone weights not found"):
        model.load_backbone_weights(tmp_path / "missing.pth")
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(WeightsError, match="cannot read backbone weights"):
        model.load_backbone_weights(text)
    resnet = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), resnet)
    with pytest.raises(WeightsError, match="is not a torchvision VGG16 state_dict"):
        model.load_backbone_weights(resnet)
    whole_model = tmp_path / "model.pth"
    torch.save({"model": torch.zeros(1), "epoch": 3}, whole_model)
    with pytest.raises(WeightsError, match=r"is not a state_dict \(a dict of tensors\)"):
        model.load_backbone_weights(whole_model)
