"""fastnn.vision: torchvision-shaped data sets, per-sample transforms, make_grid / save_image.

torchvision is not installed, so transforms are checked against hand-written references of
torchvision's documented formulas (and Resize against torch.nn.functional.interpolate, which
torchvision's tensor Resize calls). Real-data tests read $FASTNN_DATA and skip without it,
unless FASTNN_REQUIRE_DATA=1 (see tests/test_data_files.py).
"""
from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import fastnn
from conftest import require_torch
from fastnn.data import CIFAR10 as ArrayCIFAR10
from fastnn.data import DatasetError
from fastnn.data import FashionMNIST as ArrayFashionMNIST
from fastnn.data import _formats, _storage
from fastnn.tensor import Tensor
from fastnn.utils.data import DataLoader
from fastnn.vision import datasets, transforms as T
from fastnn.vision import utils as vutils
from fastnn.vision.transforms import functional as F
from test_data_files import CIFAR_FILES, MNIST_FILES, idx_bytes, md5, real_root, write_mnist_split


@pytest.fixture(autouse=True)
def private_verify_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_storage, "VERIFY_CACHE_DIR", tmp_path / "verified")


def rand_u8(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def arr(t) -> np.ndarray:
    return t.numpy() if isinstance(t, Tensor) else np.asarray(t)


# ---------------------------------------------------------------------------------------------
# ToTensor, Normalize, dtype conversions
# ---------------------------------------------------------------------------------------------
def test_to_tensor_matches_torchvision_formula():
    for img in (rand_u8(5, 7), rand_u8(5, 7, 3)):
        out = T.ToTensor()(img)
        hwc = img if img.ndim == 3 else img[:, :, None]
        expected = hwc.transpose(2, 0, 1).astype(np.float32) / np.float32(255)   # torchvision: .div(255)
        assert isinstance(out, Tensor) and out.numpy().dtype == np.float32 and out.shape == expected.shape
        np.testing.assert_array_equal(out.numpy(), expected)
    f = np.random.default_rng(1).random((4, 3, 2))                              # not uint8: no scaling
    out = T.ToTensor()(f)
    assert out.numpy().dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), f.transpose(2, 0, 1))
    np.testing.assert_array_equal(T.PILToTensor()(rand_u8(3, 4, 3)).numpy(), rand_u8(3, 4, 3).transpose(2, 0, 1))
    with pytest.raises(TypeError):
        T.ToTensor()(Tensor(np.zeros((3, 4, 4), np.float32)))
    with pytest.raises(ValueError):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_to_tensor_of_a_pil_image_equals_the_array_stand_in():
    Image = pytest.importorskip("PIL.Image")   # Pillow is optional; the stand-in must agree with it
    img = rand_u8(6, 5, 3)
    pil = Image.fromarray(img, "RGB")
    np.testing.assert_array_equal(T.ToTensor()(pil).numpy(), T.ToTensor()(img).numpy())
    np.testing.assert_array_equal(arr(T.Grayscale()(img)), np.asarray(pil.convert("L")))
    gray3 = T.Grayscale(3)(img)
    assert gray3.shape == (6, 5, 3) and np.array_equal(gray3[..., 0], np.asarray(pil.convert("L")))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(pil), np.asarray(pil.transpose(Image.FLIP_LEFT_RIGHT)))
    np.testing.assert_array_equal(F.crop(img, 1, 2, 3, 2), np.asarray(pil.crop((2, 1, 4, 4))))


def test_normalize_matches_formula_and_inplace():
    x = Tensor(np.random.default_rng(2).random((3, 4, 5)).astype(np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = np.empty_like(x.numpy())
    for c in range(3):
        expected[c] = (x.numpy()[c] - np.float32(mean[c])) / np.float32(std[c])   # sub_ then div_, float32
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out is not x and out.numpy().dtype == np.float32
    batch = Tensor(np.stack([x.numpy(), x.numpy()]))                              # (..., C, H, W)
    np.testing.assert_array_equal(T.Normalize(mean, std)(batch).numpy()[1], expected)
    y = Tensor(x.numpy().copy())
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_array_equal(y.numpy(), expected)
    with pytest.raises(TypeError, match="float"):
        T.Normalize(mean, std)(Tensor(np.zeros((3, 2, 2), np.uint8)))
    with pytest.raises(TypeError, match="Tensor"):
        T.Normalize(mean, std)(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="zero"):
        T.Normalize(mean, (1, 0, 1))(x)
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.1, 0.2), (1, 1))(x)


def test_convert_image_dtype():
    u8 = Tensor(rand_u8(3, 4, 4))
    f = T.ConvertImageDtype(np.float32)(u8)
    np.testing.assert_array_equal(f.numpy(), u8.numpy().astype(np.float32) / np.float32(255))
    back = T.ConvertImageDtype(np.uint8)(f)                       # x * (255 + 1 - 0.001), truncated
    np.testing.assert_array_equal(back.numpy(), (f.numpy() * np.float32(255.999)).astype(np.uint8))
    np.testing.assert_array_equal(back.numpy(), u8.numpy())
    assert T.ToDtype(np.float32)(u8).numpy().max() == u8.numpy().max()      # scale=False: a plain cast
    np.testing.assert_array_equal(T.ToDtype(np.float32, scale=True)(u8).numpy(), f.numpy())
    with pytest.raises(RuntimeError, match="safely"):
        T.ConvertImageDtype(np.int64)(f)


# ---------------------------------------------------------------------------------------------
# geometry: references written from torchvision's code
# ---------------------------------------------------------------------------------------------
def ref_pad(x, ltrb, fill=0, mode="constant"):
    left, top, right, bottom = ltrb
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    kw = {"constant_values": fill} if mode == "constant" else {}
    return np.pad(x, widths, mode=mode, **kw)


def ref_center_crop(x, th, tw):
    h, w = x.shape[-2:]
    if tw > w or th > h:
        x = ref_pad(x, ((tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                        (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0))
        h, w = x.shape[-2:]
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return x[..., top:top + th, left:left + tw]


@pytest.mark.parametrize("size", [(4, 4), (5, 3), (3, 6), (10, 9), (7, 12), 1])
def test_center_crop_matches_reference(size):
    x = rand_u8(2, 7, 8)
    th, tw = (size, size) if isinstance(size, int) else size
    out = T.CenterCrop(size)(Tensor(x))
    np.testing.assert_array_equal(out.numpy(), ref_center_crop(x, th, tw))
    hwc = T.CenterCrop(size)(x.transpose(1, 2, 0))               # the array stand-in: same pixels, HWC
    np.testing.assert_array_equal(hwc, ref_center_crop(x, th, tw).transpose(1, 2, 0))


@pytest.mark.parametrize("padding,ltrb", [(2, (2, 2, 2, 2)), ([1, 3], (1, 3, 1, 3)), ((1, 2, 3, 4), (1, 2, 3, 4))])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_reference(padding, ltrb, mode):
    x = rand_u8(3, 6, 5)
    out = T.Pad(padding, fill=9, padding_mode=mode)(Tensor(x))
    np.testing.assert_array_equal(out.numpy(), ref_pad(x, ltrb, 9, mode))
    np.testing.assert_array_equal(T.Pad(padding, 9, mode)(x.transpose(1, 2, 0)),
                                  ref_pad(x, ltrb, 9, mode).transpose(1, 2, 0))


def test_pad_fill_per_channel_and_negative_padding():
    x = rand_u8(4, 4, 3)                                          # HWC stand-in, RGB fill as for PIL
    out = T.Pad(1, fill=(10, 20, 30))(x)
    assert out.shape == (6, 6, 3) and out[0, 0].tolist() == [10, 20, 30]
    np.testing.assert_array_equal(out[1:-1, 1:-1], x)
    chw = x.transpose(2, 0, 1)
    np.testing.assert_array_equal(F.pad(Tensor(chw), [-1, 0]).numpy(), chw[:, :, 1:-1])   # negative: crops
    with pytest.raises(ValueError):
        T.Pad([1, 2, 3])


def torch_interpolate(x, size, mode, antialias=False):
    torch = require_torch()
    t = torch.from_numpy(x.astype(np.float32))[None]
    kw = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    return torch.nn.functional.interpolate(t, size=size, mode=mode, **kw)[0].numpy()


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(7, 9), (3, 4), (12, 5), (16, 16), (8, 10), (5, 23), (2, 3), (1, 4)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "nearest-exact"])
def test_resize_matches_torch_interpolate(size, mode, antialias):
    """torchvision's tensor Resize is interpolate(antialias=antialias) for bilinear (antialias=True by default)."""
    x = np.random.default_rng(3).random((3, 8, 10)).astype(np.float32)
    out = T.Resize(size, interpolation=mode, antialias=antialias)(Tensor(x)).numpy()
    np.testing.assert_allclose(out, torch_interpolate(x, size, mode, antialias), rtol=1e-5, atol=1e-6)
    u8 = rand_u8(3, 8, 10)
    got = T.Resize(size, interpolation=T.InterpolationMode(mode), antialias=antialias)(Tensor(u8)).numpy()
    expected = np.round(torch_interpolate(u8, size, mode, antialias)).astype(np.uint8)   # torchvision rounds back
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - expected).max() <= (0 if mode != "bilinear" else 1)
    if mode == "bilinear":   # arrays (PIL Images in torchvision) are always antialiased
        hwc = T.Resize(size, antialias=antialias)(u8.transpose(1, 2, 0))
        aa = np.round(torch_interpolate(u8, size, mode, True)).astype(np.uint8).transpose(1, 2, 0)
        assert np.abs(hwc.astype(int) - aa).max() <= 1


def test_antialiased_resize_to_width_one():
    """torch 2.13's contiguous antialias kernel repeats rows when the output width is 1; its
    channels-last kernel does not, and is the reference here."""
    torch = require_torch()
    x = np.random.default_rng(3).random((3, 8, 10)).astype(np.float32)
    for size in ((2, 1), (5, 1)):
        t = torch.from_numpy(x)[None].contiguous(memory_format=torch.channels_last)
        ref = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
        np.testing.assert_allclose(F.resize(Tensor(x), list(size)).numpy(), ref[0].numpy(), rtol=1e-5, atol=1e-6)


def test_antialiased_resize_against_pillow():
    """Pillow's bilinear resize (what torchvision runs on a PIL Image) is the same filter in fixed point."""
    Image = pytest.importorskip("PIL.Image")
    img = rand_u8(37, 29, 3, seed=5)
    for size in ((12, 9), (37, 10), (20, 29), (50, 40)):
        ours = F.resize(img, list(size))
        pil = np.asarray(Image.fromarray(img).resize(size[::-1], Image.BILINEAR))
        assert np.abs(ours.astype(int) - pil).max() <= 1, size


def test_resize_shorter_edge_and_max_size():
    x = Tensor(np.zeros((1, 20, 30), np.float32))
    assert T.Resize(10)(x).shape == (1, 10, 15)                    # shorter edge -> 10, aspect kept
    assert T.Resize([10])(x).shape == (1, 10, 15)
    assert T.Resize(10, max_size=12)(x).shape == (1, 8, 12)        # longer edge capped
    assert T.Resize((5, 7))(x).shape == (1, 5, 7)
    assert T.Resize(20)(x) is x                                     # already the size
    assert T.Resize(14)(rand_u8(28, 21, 3)).shape == (18, 14, 3)    # the HWC stand-in stays HWC
    with pytest.raises(ValueError, match="bicubic"):
        T.Resize(5, interpolation="bicubic")(x)


def test_flips_and_grayscale():
    x = rand_u8(3, 4, 5)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(Tensor(x)).numpy(), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(Tensor(x)).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x.transpose(1, 2, 0)), x.transpose(1, 2, 0))
    fastnn.manual_seed(0)
    flipped = sum(T.RandomHorizontalFlip()(np.arange(2)[None])[0, 0] == 1 for _ in range(400))
    assert 150 < flipped < 250
    rgb = np.random.default_rng(4).random((3, 4, 4)).astype(np.float32)
    gray = T.Grayscale()(Tensor(rgb)).numpy()
    expected = (np.float32(0.2989) * rgb[0] + np.float32(0.587) * rgb[1] + np.float32(0.114) * rgb[2])[None]
    np.testing.assert_allclose(gray, expected, rtol=1e-6)
    u8 = T.Grayscale(3)(Tensor(x)).numpy()
    lum = (0.2989 * x[0].astype(np.float32) + 0.587 * x[1] + 0.114 * x[2]).astype(np.uint8)  # truncated
    assert u8.shape == (3, 4, 5) and np.array_equal(u8[2], lum)


def test_random_crop_steps_and_reproducibility():
    img = rand_u8(3, 8, 8)
    crop = T.RandomCrop(8, padding=4, fill=0)
    fastnn.manual_seed(5)
    out = crop(Tensor(img)).numpy()
    fastnn.manual_seed(5)
    top, left, h, w = T.RandomCrop.get_params(Tensor(ref_pad(img, (4,) * 4)), (8, 8))
    np.testing.assert_array_equal(out, ref_pad(img, (4,) * 4)[:, top:top + 8, left:left + 8])
    fastnn.manual_seed(5)
    np.testing.assert_array_equal(crop(img.transpose(1, 2, 0)), out.transpose(1, 2, 0))   # same draws, HWC
    positions = set()
    for _ in range(50):
        positions.add(T.RandomCrop.get_params(Tensor(np.zeros((1, 16, 16))), (8, 8))[:2])
    assert len(positions) > 10 and all(0 <= t <= 8 and 0 <= l <= 8 for t, l in positions)
    # pad_if_needed pads the missing width on both sides (torchvision's rule), then crops
    small = Tensor(rand_u8(1, 5, 3))
    fastnn.manual_seed(1)
    got = T.RandomCrop((5, 6), pad_if_needed=True, fill=7)(small).numpy()
    fastnn.manual_seed(1)
    padded = ref_pad(small.numpy(), (3, 0, 3, 0), 7)
    top, left, _, _ = T.RandomCrop.get_params(Tensor(padded), (5, 6))
    np.testing.assert_array_equal(got, padded[:, top:top + 5, left:left + 6])
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(9)(Tensor(img))


def test_crop_outside_the_image_is_zero_padded():
    x = Tensor(rand_u8(1, 4, 4) + 1)
    out = F.crop(x, -1, 2, 3, 4).numpy()
    assert out.shape == (1, 3, 4)
    np.testing.assert_array_equal(out[0, 0], 0)           # the row above the image
    np.testing.assert_array_equal(out[0, 1:, 2:], 0)      # right of the image
    np.testing.assert_array_equal(out[0, 1:, :2], x.numpy()[0, :2, 2:])


def test_compose_lambda_and_repr():
    tf = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize((0.5,), (0.5,))])
    out = tf(rand_u8(3, 3))
    np.testing.assert_allclose(out.numpy(), (rand_u8(3, 3)[None] / np.float32(255) * 2 - 0.5) / 0.5, rtol=1e-6)
    assert "ToTensor()" in repr(tf) and "Normalize(mean=(0.5,), std=(0.5,))" in repr(tf)
    with pytest.raises(TypeError):
        T.Lambda(3)


def test_dataloader_makes_per_sample_augmentation_reproducible_with_or_without_workers():
    class Images(fastnn.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            img = np.full((6, 6, 3), i, np.uint8)
            return T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.ToTensor()])(img), i

    def epoch(**kw):
        return [(x.numpy(), y.numpy()) for x, y in DataLoader(Images(), batch_size=5, shuffle=True, **kw)]

    a, b, c = epoch(seed=3), epoch(seed=3, num_workers=2), epoch(seed=3, prefetch=True)
    for (xa, ya), (xb, yb), (xc, yc) in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(xa, xc)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, epoch(seed=4)[0][0]) for xa, _ in a[:1])
    fastnn.manual_seed(8)
    g1 = epoch()
    fastnn.manual_seed(8)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(g1, epoch()))


# ---------------------------------------------------------------------------------------------
# make_grid / save_image
# ---------------------------------------------------------------------------------------------
def ref_make_grid(x, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid, transcribed to NumPy."""
    x = np.array(x)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        if x.shape[0] == 1:
            x = np.concatenate((x, x, x), 0)
        x = x[None]
    if x.ndim == 4 and x.shape[1] == 1:
        x = np.concatenate((x, x, x), 1)
    if normalize:
        def norm_ip(img, low, high):
            img[...] = np.clip(img, low, high)
            img[...] = (img - low) / max(high - low, 1e-5)

        def norm_range(t):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))
        if scale_each:
            for t in x:
                norm_range(t)
        else:
            norm_range(x)
    if x.shape[0] == 1:
        return x[0]
    nmaps = x.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(x.shape[2] + padding), int(x.shape[3] + padding)
    grid = np.full((x.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value, dtype=x.dtype)
    k = 0
    for y in range(ymaps):
        for xx in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding:(y + 1) * height, xx * width + padding:(xx + 1) * width] = x[k]
            k += 1
    return grid


@pytest.mark.parametrize("kwargs", [dict(), dict(nrow=3), dict(nrow=2, padding=0), dict(padding=3, pad_value=0.5),
                                    dict(normalize=True), dict(normalize=True, scale_each=True),
                                    dict(normalize=True, value_range=(-1.0, 0.5))])
@pytest.mark.parametrize("shape", [(7, 3, 4, 5), (5, 1, 3, 3), (1, 3, 4, 4), (3, 6, 6), (1, 6, 6), (4, 4)])
def test_make_grid_matches_reference(kwargs, shape):
    x = (np.random.default_rng(5).random(shape) * 3 - 1).astype(np.float32)
    got = vutils.make_grid(Tensor(x), **kwargs)
    expected = ref_make_grid(x, **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)
    if len(shape) == 4:   # a list of images is the same as the stacked batch
        listed = vutils.make_grid([Tensor(im) for im in x], **kwargs)
        np.testing.assert_array_equal(listed.numpy(), got.numpy())
    np.testing.assert_array_equal(Tensor(x).numpy(), x)        # the input is never modified


def read_png(data: bytes) -> np.ndarray:
    """A minimal PNG decoder for the files fastnn writes (8-bit, filter 0), checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    w, h, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    c = {0: 1, 2: 3, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * c)
    assert depth == 8 and (rows[:, 0] == 0).all() and b"IEND" in chunks
    return rows[:, 1:].reshape(h, w, c)


def test_save_image_writes_torchvision_pixels(tmp_path):
    x = np.random.default_rng(6).random((5, 3, 4, 6)).astype(np.float32) * 1.2 - 0.1
    path = tmp_path / "out" / "grid.png"
    vutils.save_image(Tensor(x), path, nrow=2)
    grid = ref_make_grid(x, nrow=2)
    expected = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)   # mul, add_, clamp_, to uint8
    np.testing.assert_array_equal(read_png(path.read_bytes()), expected)
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.png"]              # no temporary left over
    buf = io.BytesIO()
    vutils.save_image(Tensor(x[0]), buf, format="PNG")
    np.testing.assert_array_equal(read_png(buf.getvalue()),
                                  np.clip(x[0] * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0))
    with pytest.raises(ValueError, match="PNG"):
        vutils.save_image(Tensor(x), tmp_path / "grid.jpg")
    try:  # any PNG reader decodes it; Pillow, where installed, is one
        from PIL import Image
    except ImportError:
        return
    np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


# ---------------------------------------------------------------------------------------------
# data sets: the real files
# ---------------------------------------------------------------------------------------------
def test_real_mnist_items_are_torchvision_items():
    root = real_root("mnist", MNIST_FILES)
    train = datasets.MNIST(root, train=True)
    test = datasets.MNIST(root, train=False, transform=T.ToTensor())
    assert len(train) == 60000 and len(test) == 10000
    img, label = train[0]
    assert type(label) is int and label == 5
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and img.dtype == np.uint8
    assert isinstance(train.data, Tensor) and train.data.shape == (60000, 28, 28)
    assert train.targets.numpy()[:5].tolist() == [5, 0, 4, 1, 9] and train.classes[0] == "0 - zero"
    x, y = test[0]
    assert x.shape == (1, 28, 28) and y == 7
    np.testing.assert_array_equal(x.numpy()[0], test.data.numpy()[0].astype(np.float32) / np.float32(255))
    assert train.class_to_idx["9 - nine"] == 9 and "Split: Train" in repr(train)
    xb, yb = next(iter(DataLoader(test, batch_size=16)))
    assert xb.shape == (16, 1, 28, 28) and yb.numpy().dtype == np.int64


def test_real_mnist_in_torchvision_layout(tmp_path):
    root = real_root("mnist", MNIST_FILES)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES[2:]:
        (raw / name).symlink_to(root / "mnist" / name)
    ds = datasets.MNIST(tmp_path, train=False)
    assert len(ds) == 10000 and "MNIST/raw" in str(ds.files[0])


def test_real_cifar_items_are_torchvision_items(tmp_path):
    root = real_root("cifar-10", CIFAR_FILES)
    train = datasets.CIFAR10(root, train=True)
    assert train.data.shape == (50000, 32, 32, 3) and train.data.dtype == np.uint8
    assert isinstance(train.targets, list) and type(train.targets[0]) is int
    img, label = train[0]
    assert img.shape == (32, 32, 3) and img.flags.c_contiguous and train.classes[label] == "frog"
    chw = ArrayCIFAR10(root, train=True).data[0]
    np.testing.assert_array_equal(T.ToTensor()(img).numpy(), chw.astype(np.float32) / np.float32(255))
    # torchvision's binary-folder name directly under root
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").symlink_to(root / "cifar-10" / "test_batch.bin")
    test = datasets.CIFAR10(tmp_path, train=False, transform=T.Compose([T.RandomCrop(32, padding=4), T.ToTensor()]))
    assert len(test) == 10000 and test[0][0].shape == (3, 32, 32) and test.classes[test[0][1]] == "cat"


# ---------------------------------------------------------------------------------------------
# CIFAR-10 python version: pickles, read data-only
# ---------------------------------------------------------------------------------------------
def cifar_batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"batch_label": "testing batch 1 of 1", "labels": rng.integers(0, 10, n).tolist(),
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "filenames": [f"img_{i}.png" for i in range(n)]}


@pytest.fixture
def small_cifar_python(monkeypatch):
    table = dict(ArrayCIFAR10.python_checksums)
    monkeypatch.setattr(ArrayCIFAR10, "records_per_file", 5)
    monkeypatch.setattr(ArrayCIFAR10, "python_checksums", table)
    return table


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar_python_folder(tmp_path, small_cifar_python, protocol):
    batch = cifar_batch(5, seed=protocol)
    raw = pickle.dumps(batch, protocol=protocol)
    small_cifar_python["test_batch"] = md5(raw)
    folder = tmp_path / "cifar-10-batches-py"               # torchvision's layout
    folder.mkdir()
    (folder / "test_batch").write_bytes(raw)
    ds = datasets.CIFAR10(tmp_path, train=False)
    assert ds.targets == batch["labels"] and ds.files == [folder / "test_batch"]
    np.testing.assert_array_equal(ds.data, batch["data"].reshape(5, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(ArrayCIFAR10(tmp_path, train=False).data, batch["data"].reshape(5, 3, 32, 32))


def test_cifar_python_archive(tmp_path, small_cifar_python, monkeypatch):
    raw = pickle.dumps(cifar_batch(5, seed=9), protocol=2)
    small_cifar_python["test_batch"] = md5(raw)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    monkeypatch.setattr(ArrayCIFAR10, "python_archive_md5", md5(buf.getvalue()))
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    ds = datasets.CIFAR10(tmp_path, train=False)
    assert ds.targets == cifar_batch(5, seed=9)["labels"]
    assert (tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes() == raw   # extracted for next time


class RunsCode:
    """Unpickling this calls ``func(*args)`` — how a malicious pickle runs code."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("payload,name", [
    (lambda marker: RunsCode(os.system, f"touch {marker}"), "system"),
    (lambda marker: RunsCode(eval, f"open({str(marker)!r}, 'w').close()"), r"builtin\w*\.eval"),
    (lambda marker: {"data": np.zeros((1, 3072), np.uint8), "labels": [RunsCode(exec, f"open({str(marker)!r}, 'w')")]},
     r"builtin\w*\.exec"),
    (lambda marker: {"data": np.zeros(1, dtype=object), "labels": [Path(marker)]}, "pathlib"),
])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickles_are_refused(tmp_path, small_cifar_python, payload, name, protocol):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(payload(marker), protocol=protocol)
    with pytest.raises(_formats.UnsafePickleError, match=f"refusing to load .*{name}") as e:
        _formats.parse_cifar_python(evil, "evil_batch", count=None)
    assert "evil_batch" in str(e.value) and isinstance(e.value, DatasetError)
    assert not marker.exists()
    # through the data set (a file whose checksum was trusted): the same refusal, naming the file
    small_cifar_python["test_batch"] = md5(evil)
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
    with pytest.raises(_formats.UnsafePickleError, match="test_batch"):
        datasets.CIFAR10(tmp_path, train=False)
    assert not marker.exists()


def test_python_batches_are_checksummed_before_unpickling(tmp_path, small_cifar_python, monkeypatch):
    evil = pickle.dumps(RunsCode(os.system, "true"), protocol=2)
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(evil)   # not the official file
    unpickled = []
    monkeypatch.setattr(_formats, "load_data_pickle", lambda *a: unpickled.append(a))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        datasets.CIFAR10(tmp_path, train=False)
    assert unpickled == []
    monkeypatch.undo()   # the real unpickler again: a truncated pickle is a DatasetError naming the file
    with pytest.raises(DatasetError, match="cut: not a readable pickle"):
        _formats.parse_cifar_python(pickle.dumps(cifar_batch(2))[:-20], "cut", count=None)


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST: official-format files in torchvision's layout
# ---------------------------------------------------------------------------------------------
def test_fashion_mnist_torchvision_layout(tmp_path, monkeypatch):
    table = dict(ArrayFashionMNIST.checksums)
    monkeypatch.setattr(ArrayFashionMNIST, "checksums", table)
    monkeypatch.setattr(ArrayFashionMNIST, "counts", {True: 6, False: 4})
    images = np.random.default_rng(7).integers(0, 256, (4, 28, 28))
    written = write_mnist_split(tmp_path / "FashionMNIST" / "raw", images=idx_bytes(images),
                                labels=idx_bytes(np.array([9, 0, 3, 3])))
    for stem, data in written.items():
        table[stem] = (md5(data), None)
    ds = datasets.FashionMNIST(tmp_path, train=False, target_transform=lambda y: ds.classes[y])
    img, name = ds[0]
    assert name == "Ankle boot" and img.shape == (28, 28)
    np.testing.assert_array_equal(img, images[0])
    assert gzip.decompress(written["t10k-labels-idx1-ubyte"])[8:] == bytes([9, 0, 3, 3])
