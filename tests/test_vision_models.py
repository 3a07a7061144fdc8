"""fastnn.vision.models against torchvision's definitions (torchvision itself is not installed).

The expected resnet18 state dict is written out from torchvision's resnet.py by hand, so a
renamed module or a wrong shape here means converted torchvision weights would not load.
"""
import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.vision import models
from fastnn.vision.models import (PretrainedWeightsUnavailable, ResNet18_Weights, ResNet34_Weights, ResNet50_Weights,
                                  resnet18, resnet34, resnet50)


def _bn(prefix, c):
    return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
            f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}


def _resnet18_expected():
    """torchvision resnet18: conv1/bn1 stem, layer1..4 of two BasicBlocks, fc; downsample in layer2..4 block 0."""
    exp = {"conv1.weight": (64, 3, 7, 7), **_bn("bn1", 64)}
    cin = 64
    for layer, c in zip((1, 2, 3, 4), (64, 128, 256, 512)):
        for b in (0, 1):
            p = f"layer{layer}.{b}"
            exp[f"{p}.conv1.weight"] = (c, cin if b == 0 else c, 3, 3)
            exp.update(_bn(f"{p}.bn1", c))
            exp[f"{p}.conv2.weight"] = (c, c, 3, 3)
            exp.update(_bn(f"{p}.bn2", c))
            if b == 0 and layer > 1:
                exp[f"{p}.downsample.0.weight"] = (c, cin, 1, 1)
                exp.update(_bn(f"{p}.downsample.1", c))
        cin = c
    exp["fc.weight"], exp["fc.bias"] = (1000, 512), (1000,)
    return exp


def test_resnet18_state_dict_keys_and_shapes_are_torchvisions():
    sd = resnet18().state_dict()
    expected = _resnet18_expected()
    assert len(expected) == 122
    assert sorted(sd) == sorted(expected)
    assert {k: tuple(np.shape(v)) for k, v in sd.items()} == expected


def test_resnet18_state_dict_order_spot_checks():
    keys = list(resnet18().state_dict())
    assert keys[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    assert keys.index("layer2.0.bn2.num_batches_tracked") < keys.index("layer2.0.downsample.0.weight")


def test_resnet50_bottleneck_names():
    sd = resnet50().state_dict()
    assert tuple(np.shape(sd["layer1.0.conv1.weight"])) == (64, 64, 1, 1)
    assert tuple(np.shape(sd["layer1.0.conv3.weight"])) == (256, 64, 1, 1)
    assert tuple(np.shape(sd["layer1.0.downsample.0.weight"])) == (256, 64, 1, 1)
    assert tuple(np.shape(sd["layer4.2.bn3.running_var"])) == (2048,)
    assert tuple(np.shape(sd["fc.weight"])) == (1000, 2048)


@pytest.mark.parametrize("builder, n", [(resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032)])
def test_parameter_counts_match_torchvision(builder, n):
    assert sum(p.numel() for p in builder().parameters()) == n


def test_resnext_and_wide_variants_match_torchvision_counts():
    # torchvision's resnext50_32x4d and wide_resnet50_2 are resnet50 with these arguments.
    assert sum(p.numel() for p in resnet50(groups=32, width_per_group=4).parameters()) == 25_028_904
    assert sum(p.numel() for p in resnet50(width_per_group=128).parameters()) == 68_883_240


def test_forward_and_backward():
    fastnn.manual_seed(0)
    model = resnet18()
    x = fastnn.randn(2, 3, 64, 64)
    y = model(x)
    assert tuple(y.shape) == (2, 1000)
    y.sum().backward()
    assert all(p.grad is not None and tuple(p.grad.shape) == tuple(p.shape) for p in model.parameters())
    assert np.isfinite(model.conv1.weight.grad.numpy()).all()


def test_num_classes_and_eval_forward():
    model = resnet50(num_classes=10).eval()
    with fastnn.no_grad():
        assert tuple(model(fastnn.randn(1, 3, 32, 32)).shape) == (1, 10)


def test_torchvision_init():
    model = resnet18()
    w = model.conv1.weight.numpy()                 # kaiming_normal_, fan_out = 64 * 7 * 7, relu gain
    assert abs(w.std() - np.sqrt(2 / (64 * 49))) < 0.05 * np.sqrt(2 / (64 * 49))
    assert np.all(model.layer1[0].bn2.weight.numpy() == 1) and np.all(model.bn1.bias.numpy() == 0)
    zero = resnet18(zero_init_residual=True)
    assert np.all(zero.layer1[0].bn2.weight.numpy() == 0) and np.all(zero.layer1[0].bn1.weight.numpy() == 1)
    assert np.all(resnet50(zero_init_residual=True).layer3[1].bn3.weight.numpy() == 0)


def test_basicblock_refuses_groups():
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        resnet18(groups=2)


def test_weights_enums_and_transforms():
    assert ResNet18_Weights.DEFAULT is ResNet18_Weights.IMAGENET1K_V1
    assert ResNet34_Weights.DEFAULT is ResNet34_Weights.IMAGENET1K_V1
    assert ResNet50_Weights.DEFAULT is ResNet50_Weights.IMAGENET1K_V2
    assert ResNet18_Weights.DEFAULT.meta["num_params"] == 11_689_512
    tf = ResNet18_Weights.DEFAULT.transforms()
    assert tf.resize_size == [256] and tf.crop_size == [224]
    img = np.full((300, 400, 3), 128, dtype=np.uint8)          # an HWC uint8 image (fastnn's PIL stand-in)
    out = tf(img)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == fastnn.float32
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(out.numpy()[:, 100, 100], (128 / 255 - mean) / std, rtol=1e-5)
    batch = tf(fastnn.tensor(np.full((2, 3, 256, 300), 255, dtype=np.uint8)))
    assert tuple(batch.shape) == (2, 3, 224, 224)
    np.testing.assert_allclose(batch.numpy()[1, :, 5, 5], (1 - mean) / std, rtol=1e-5)
    assert ResNet50_Weights.IMAGENET1K_V2.transforms().resize_size == [232]


@pytest.mark.parametrize("weights", [ResNet18_Weights.DEFAULT, "IMAGENET1K_V1", "DEFAULT"])
def test_pretrained_weights_raise_with_instructions(weights):
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        resnet18(weights=weights)
    msg = str(info.value)
    for needed in ("weights=None", "load_state_dict(fastnn.load(", "torch.load(", "numpy.savez(", ".pth",
                   "https://download.pytorch.org/models/resnet18-f37072fd.pth"):
        assert needed in msg
    assert isinstance(info.value, RuntimeError)


def test_legacy_pretrained_flag_and_bad_weights():
    with pytest.raises(PretrainedWeightsUnavailable):
        resnet50(pretrained=True)
    assert isinstance(resnet18(pretrained=False), models.ResNet)
    with pytest.raises(ValueError):
        resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(TypeError):
        resnet18(weights=ResNet50_Weights.DEFAULT)


def test_converted_npz_state_dict_loads(tmp_path):
    """The route the error message gives: a state dict saved as .npz loads into a fresh model."""
    src = resnet18(num_classes=10)
    arrays = {k: np.asarray(v) for k, v in src.state_dict().items()}
    np.savez(tmp_path / "plain.npz", **arrays)
    fastnn.save(arrays, tmp_path / "fastnn.npz")
    for loaded in (dict(np.load(tmp_path / "plain.npz")), fastnn.load(tmp_path / "fastnn.npz")):
        dst = resnet18(num_classes=10)
        dst.load_state_dict(loaded)
        np.testing.assert_array_equal(dst.layer3[0].downsample[0].weight.numpy(),
                                      src.layer3[0].downsample[0].weight.numpy())


def test_get_model_and_list_models():
    assert {"resnet18", "resnet34", "resnet50"} <= set(models.list_models())
    assert models.list_models() == sorted(models.list_models())
    m = models.get_model("resnet18", num_classes=7)
    assert isinstance(m, nn.Module) and m.fc.out_features == 7
    with pytest.raises(PretrainedWeightsUnavailable):
        models.get_model("resnet34", weights="DEFAULT")
    with pytest.raises(ValueError, match="Unknown model"):
        models.get_model("resnet9000")


@pytest.fixture(scope="module")
def vgg11_model():
    return models.vgg11()


def test_vgg11_names_count_forward(vgg11_model):
    sd = vgg11_model.state_dict()
    convs = [k for k in sd if k.startswith("features.") and k.endswith(".weight")]
    # torchvision's cfg "A": conv indices skip the ReLUs and MaxPools between them
    assert convs == [f"features.{i}.weight" for i in (0, 3, 6, 8, 11, 13, 16, 18)]
    assert [k for k in sd if k.startswith("classifier.")] == [f"classifier.{i}.{p}" for i in (0, 3, 6)
                                                              for p in ("weight", "bias")]
    assert sum(p.numel() for p in vgg11_model.parameters()) == 132_863_336
    assert abs(float(vgg11_model.classifier[0].weight.numpy().std()) - 0.01) < 1e-3   # torchvision's N(0, 0.01)
    y = vgg11_model(fastnn.randn(2, 3, 64, 64))
    assert tuple(y.shape) == (2, 1000)
    y.sum().backward()
    assert vgg11_model.features[0].weight.grad is not None


def test_vgg_bn_and_alexnet_match_torchvision():
    bn_features = models.vgg.make_layers(models.vgg.cfgs["A"], batch_norm=True)   # vgg11_bn's features
    assert "1.running_var" in bn_features.state_dict() and "4.weight" in bn_features.state_dict()
    net = models.alexnet()
    assert sum(p.numel() for p in net.parameters()) == 61_100_840
    assert [k for k in net.state_dict() if k.endswith("weight")] == [
        "features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight", "features.10.weight",
        "classifier.1.weight", "classifier.4.weight", "classifier.6.weight"]
    y = net(fastnn.randn(2, 3, 64, 64))
    assert tuple(y.shape) == (2, 1000)
    y.sum().backward()
    for builder in (models.alexnet, models.vgg16):
        with pytest.raises(PretrainedWeightsUnavailable, match="numpy.savez"):
            builder(weights="DEFAULT")
    assert models.VGG16_BN_Weights.DEFAULT.meta["num_params"] == 138_365_992
    assert {"alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"} <= set(models.list_models())
