"""fastnn.vision augmentation: rotate/affine/resized_crop/colour/blur/erase and their random transforms.

torchvision is not installed. The deterministic parts (the functional API with fixed
parameters) are checked against references written here from torchvision's code:

* Tensors: its ``_functional_tensor`` formulas written out with torch operations (torch's
  ``grid_sample``, ``conv2d`` and ``interpolate`` are the oracles torchvision itself calls);
* uint8 arrays (fastnn's stand-in for PIL Images): Pillow itself, running what torchvision's
  ``_functional_pil`` runs (``ImageEnhance``, HSV conversion). Pillow comes with matplotlib;
  those tests skip without it.

The random parts are checked structurally and statistically, and by replaying
``get_params`` under the same seed.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn
from conftest import require_torch
from fastnn.tensor import Tensor
from fastnn.utils.data import DataLoader, Dataset
from fastnn.vision import transforms as T
from fastnn.vision.transforms import functional as F


def rand_u8(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def rand_f32(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def pil():
    return pytest.importorskip("PIL.Image")


# ---------------------------------------------------------------------------------------------
# references: torchvision's tensor formulas, written with torch
# ---------------------------------------------------------------------------------------------
def ref_inverse_affine(center, angle, translate, scale, shear):
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def ref_output_size(torch, matrix, w, h):
    pts = torch.tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, -0.5 * h, 1.0]])
    new_pts = torch.matmul(pts, torch.tensor(matrix, dtype=torch.float).view(2, 3).T)
    min_vals, max_vals = new_pts.min(dim=0)[0] + torch.tensor((w * 0.5, h * 0.5)), \
        new_pts.max(dim=0)[0] + torch.tensor((w * 0.5, h * 0.5))
    tol = 1e-4
    size = torch.ceil((max_vals / tol).trunc_() * tol) - torch.floor((min_vals / tol).trunc_() * tol)
    return int(size[0]), int(size[1])


def ref_grid(torch, matrix, w, h, ow, oh):
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    base = torch.empty(1, oh, ow, 3)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh).unsqueeze_(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])
    return base.view(1, oh * ow, 3).bmm(rescaled).view(1, oh, ow, 2)


def ref_grid_transform(torch, x, matrix, mode, fill, expand=False):
    """torchvision's F_t.rotate/affine + _apply_grid_transform on a (C, H, W) array."""
    c, h, w = x.shape
    ow, oh = ref_output_size(torch, matrix, w, h) if expand else (w, h)
    grid = ref_grid(torch, matrix, w, h, ow, oh)
    img = torch.from_numpy(x.astype(np.float32))[None]
    if fill is not None:
        img = torch.cat((img, torch.ones(1, 1, h, w)), dim=1)
    out = torch.nn.functional.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        mask = mask.expand_as(out)
        fill_img = torch.tensor(fill, dtype=out.dtype).view(1, len(fill), 1, 1).expand_as(out)
        if mode == "nearest":
            out = out.clone()
            out[mask < 0.5] = fill_img[mask < 0.5]
        else:
            out = out * mask + (1.0 - mask) * fill_img
    out = out[0]
    if x.dtype == np.uint8:
        out = torch.round(out).to(torch.uint8)
    return out.numpy()


def ref_rotate(torch, x, angle, mode="nearest", expand=False, center=None, fill=None):
    c, h, w = x.shape
    center_f = [0.0, 0.0] if center is None else [cc - s * 0.5 for cc, s in zip(center, [w, h])]
    return ref_grid_transform(torch, x, ref_inverse_affine(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0]),
                              mode, fill, expand)


def ref_blend(torch, img1, img2, ratio):
    bound = 1.0 if img1.is_floating_point() else 255
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def ref_gray(torch, img):
    r, g, b = img.unbind(dim=-3)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)


def ref_rgb2hsv(torch, img):
    r, g, b = img.unbind(dim=-3)
    maxc, minc = torch.max(img, dim=-3).values, torch.min(img, dim=-3).values
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_divisor = torch.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod(((hr + hg + hb) / 6.0 + 1.0), 1.0)
    return torch.stack((h, s, maxc), dim=-3)


def ref_hsv2rgb(torch, img):
    h, s, v = img.unbind(dim=-3)
    i = torch.floor(h * 6.0)
    f = (h * 6.0) - i
    i = i.to(dtype=torch.int32)
    p = torch.clamp((v * (1.0 - s)), 0.0, 1.0)
    q = torch.clamp((v * (1.0 - s * f)), 0.0, 1.0)
    t = torch.clamp((v * (1.0 - s * (1.0 - f))), 0.0, 1.0)
    i = i % 6
    mask = i.unsqueeze(dim=-3) == torch.arange(6).view(-1, 1, 1)
    a1 = torch.stack((v, q, p, p, t, v), dim=-3)
    a2 = torch.stack((t, v, v, q, p, p), dim=-3)
    a3 = torch.stack((p, p, t, v, v, q), dim=-3)
    a4 = torch.stack((a1, a2, a3), dim=-4)
    return torch.einsum("...ijk, ...xijk -> ...xjk", mask.to(dtype=img.dtype), a4)


def ref_adjust(torch, x, what, factor):
    img = torch.from_numpy(x)
    if what == "brightness":
        out = ref_blend(torch, img, torch.zeros_like(img), factor)
    elif what == "contrast":
        dtype = img.dtype if img.is_floating_point() else torch.float32
        mean = torch.mean(ref_gray(torch, img).to(dtype), dim=(-3, -2, -1), keepdim=True)
        out = ref_blend(torch, img, mean, factor)
    elif what == "saturation":
        out = ref_blend(torch, img, ref_gray(torch, img), factor)
    else:  # hue
        f = img if img.dtype == torch.float32 else img.to(torch.float32) / 255
        hsv = ref_rgb2hsv(torch, f)
        h, s, v = hsv.unbind(dim=-3)
        rgb = ref_hsv2rgb(torch, torch.stack(((h + factor) % 1.0, s, v), dim=-3))
        out = rgb if img.dtype == torch.float32 else (rgb * (255 + 1.0 - 1e-3)).to(img.dtype)
    return out.numpy()


# ---------------------------------------------------------------------------------------------
# rotate / affine
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("angle", [17.3, -45.0, 90.0, 33.0, 180.0, -123.4, 0.01])
def test_affine_grid_and_grid_sample_are_torchs(angle):
    torch = require_torch()
    x = rand_f32(3, 13, 16, seed=1)
    for w, h, ow, oh in ((16, 13, 16, 13), (16, 13, 21, 19)):
        m = F._get_inverse_affine_matrix([1.5, -2.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
        assert m == pytest.approx(ref_inverse_affine([1.5, -2.0], -angle, [0, 0], 1.0, [0, 0]), abs=1e-15)
        tg = ref_grid(torch, m, w, h, ow, oh)
        np.testing.assert_array_equal(F._affine_grid(m, w, h, ow, oh), tg[0].numpy())
        for mode in ("nearest", "bilinear"):
            ref = torch.nn.functional.grid_sample(torch.from_numpy(x)[None], tg, mode=mode, padding_mode="zeros",
                                                  align_corners=False)[0].numpy()
            got = F._grid_sample(x[None], tg[0].numpy(), mode)[0]
            if mode == "nearest":
                np.testing.assert_array_equal(got, ref)
            else:
                np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(fill=[0.0, 0.0, 0.0]), dict(fill=[0.2, 0.5, 1.0]), dict(expand=True),
                                dict(expand=True, fill=[1.0, 1.0, 1.0]), dict(center=(3, 4)),
                                dict(center=(10.5, 0), fill=[0.3, 0.3, 0.3])])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_matches_torchvision_formula(kw, mode):
    torch = require_torch()
    x = rand_f32(3, 11, 14, seed=2)
    for angle in (25.0, -70.0, 135.0):
        got = F.rotate(Tensor(x), angle, mode, **kw).numpy()
        ref = ref_rotate(torch, x, angle, mode, **kw)
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
    if kw.get("expand"):
        # torchvision's expanded size: the corners' extent, shifted by the INPUT's half size, then
        # ceil/floor -- so 90 degrees of 11 x 14 is 15 x 12, not 14 x 11 (as torchvision's)
        assert F.rotate(Tensor(x), 90.0, expand=True).shape == (3, 15, 12)
        assert F.rotate(Tensor(x), 45.0, expand=True).shape == (3, 19, 18)


def test_rotate_uint8_tensor_and_array_round_back():
    torch = require_torch()
    x = rand_u8(3, 12, 9, seed=3)
    for mode, fill in (("nearest", None), ("bilinear", None), ("bilinear", [10.0, 20.0, 30.0])):
        ref = ref_rotate(torch, x, 31.0, mode, fill=fill)
        got = F.rotate(Tensor(x), 31.0, mode, fill=fill).numpy()
        assert got.dtype == np.uint8 and np.abs(got.astype(int) - ref).max() <= (0 if mode == "nearest" else 1)
        hwc = F.rotate(x.transpose(1, 2, 0), 31.0, mode, fill=fill)       # the array stand-in: same algorithm
        assert hwc.shape == (12, 9, 3)
        np.testing.assert_array_equal(hwc, got.transpose(1, 2, 0))
    batch = np.stack([x, x[:, ::-1].copy()]).astype(np.float32)            # (..., C, H, W): the same per image
    out = F.rotate(Tensor(batch), 31.0, "bilinear").numpy()
    np.testing.assert_array_equal(out[1], F.rotate(Tensor(batch[1]), 31.0, "bilinear").numpy())


@pytest.mark.parametrize("h,w", [(5, 5), (6, 6), (7, 4)])
def test_right_angle_rotations_are_exact(h, w):
    x = rand_u8(2, h, w, seed=4)
    np.testing.assert_array_equal(F.rotate(Tensor(x), 180.0).numpy(), x[:, ::-1, ::-1])
    np.testing.assert_array_equal(F.rotate(Tensor(x), 0.0).numpy(), x)
    if h == w:
        np.testing.assert_array_equal(F.rotate(Tensor(x), 90.0).numpy(), np.rot90(x, 1, axes=(1, 2)))  # counter-
        np.testing.assert_array_equal(F.rotate(Tensor(x), -90.0, expand=True).numpy(),                  # clockwise
                                      np.rot90(x, -1, axes=(1, 2)))


def test_rotate_arrays_close_to_pillow():
    """torchvision rotates a PIL Image with Pillow; fastnn runs the tensor algorithm on the array."""
    Image = pil()
    img = rand_u8(20, 24, 3, seed=5)
    for angle in (10.0, 45.0, -77.0):
        ours = F.rotate(img, angle)
        theirs = np.asarray(Image.fromarray(img).rotate(angle, resample=Image.NEAREST))
        assert (ours == theirs).all(axis=-1).mean() > 0.9, angle


@pytest.mark.parametrize("params", [
    (0.0, [0, 0], 1.0, [0.0, 0.0]), (30.0, [2, -3], 1.0, [0.0, 0.0]), (-20.0, [0, 0], 0.7, [0.0, 0.0]),
    (0.0, [0, 0], 1.0, [15.0, 0.0]), (12.0, [1, 1], 1.2, [-10.0, 8.0]), (45.0, [-2, 4], 0.9, [5.0, 5.0])])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_affine_matches_torchvision_formula(params, mode):
    torch = require_torch()
    x = rand_f32(3, 10, 13, seed=6)
    angle, translate, scale, shear = params
    for center, fill in ((None, None), ((2, 7), [0.5, 0.5, 0.5])):
        got = F.affine(Tensor(x), angle, translate, scale, shear, mode, fill=fill, center=center).numpy()
        center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, [13, 10])]
        matrix = ref_inverse_affine(center_f, angle, [float(t) for t in translate], scale, shear)
        np.testing.assert_allclose(got, ref_grid_transform(torch, x, matrix, mode, fill), rtol=0, atol=2e-6)
    # a pure translation by whole pixels moves the image
    moved = F.affine(Tensor(x), 0.0, [2, 1], 1.0, 0.0).numpy()
    np.testing.assert_array_equal(moved[:, 1:, 2:], x[:, :-1, :-2])
    np.testing.assert_array_equal(moved[:, 0], 0)


def test_rotate_affine_argument_errors():
    x = Tensor(rand_f32(3, 4, 4))
    with pytest.raises(TypeError, match="angle"):
        F.rotate(x, "10")
    with pytest.raises(ValueError, match="unsupported"):
        F.rotate(x, 10.0, "bicubic")
    with pytest.raises(ValueError, match="fill"):
        F.rotate(x, 10.0, fill=[1.0, 2.0])
    with pytest.raises(ValueError, match="translate"):
        F.affine(x, 0.0, [1], 1.0, 0.0)
    with pytest.raises(ValueError, match="scale"):
        F.affine(x, 0.0, [0, 0], 0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# colour
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what,factors", [("brightness", [0.0, 0.4, 1.0, 1.7]), ("contrast", [0.0, 0.5, 1.0, 2.2]),
                                          ("saturation", [0.0, 0.3, 1.0, 3.0]), ("hue", [-0.5, -0.21, 0.0, 0.1, 0.5])])
def test_color_adjustments_on_tensors_match_torchvision_formula(what, factors):
    torch = require_torch()
    fn = getattr(F, f"adjust_{what}")
    for factor in factors:
        x = rand_f32(3, 9, 11, seed=7)
        np.testing.assert_allclose(fn(Tensor(x), factor).numpy(), ref_adjust(torch, x, what, factor),
                                   rtol=0, atol=1e-6)
        batch = rand_f32(2, 3, 5, 4, seed=8)                                  # (..., C, H, W)
        np.testing.assert_allclose(fn(Tensor(batch), factor).numpy(), ref_adjust(torch, batch, what, factor),
                                   rtol=0, atol=1e-6)
        u8 = rand_u8(3, 9, 11, seed=9)                                       # uint8 tensors: truncated back
        got = fn(Tensor(u8), factor).numpy()
        assert got.dtype == np.uint8
        assert np.abs(got.astype(int) - ref_adjust(torch, u8, what, factor)).max() <= 1
        assert (got == ref_adjust(torch, u8, what, factor)).mean() > 0.99


def test_color_adjustments_of_one_channel_tensors():
    torch = require_torch()
    x = rand_f32(1, 6, 7, seed=10)
    np.testing.assert_allclose(F.adjust_brightness(Tensor(x), 0.5).numpy(), x * np.float32(0.5), rtol=1e-6)
    mean = x.mean()
    np.testing.assert_allclose(F.adjust_contrast(Tensor(x), 0.25).numpy(),
                               np.clip(np.float32(0.25) * x + np.float32(0.75) * mean, 0, 1), rtol=1e-5)
    assert F.adjust_saturation(Tensor(x), 0.0).numpy() is not None
    np.testing.assert_array_equal(F.adjust_saturation(Tensor(x), 0.0).numpy(), x)   # gray images unchanged
    np.testing.assert_array_equal(F.adjust_hue(Tensor(x), 0.3).numpy(), x)
    with pytest.raises(TypeError, match="channel"):
        F.adjust_brightness(Tensor(rand_f32(4, 3, 3)), 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        F.adjust_contrast(Tensor(x), -0.1)
    with pytest.raises(ValueError, match=r"\[-0.5, 0.5\]"):
        F.adjust_hue(Tensor(x), 0.6)
    del torch


def pil_hue(Image, img, hue_factor):
    """torchvision's _functional_pil.adjust_hue, with the uint8 wrap written out."""
    h, s, v = Image.fromarray(img).convert("HSV").split()
    np_h = (np.array(h, dtype=np.int64) + int(hue_factor * 255)) % 256
    return np.asarray(Image.merge("HSV", (Image.fromarray(np_h.astype(np.uint8), "L"), s, v)).convert("RGB"))


def test_color_adjustments_on_arrays_are_pillows():
    """uint8 arrays stand for PIL Images: torchvision runs ImageEnhance / HSV on those."""
    Image = pil()
    from PIL import ImageEnhance
    img = rand_u8(23, 17, 3, seed=11)
    gray = rand_u8(9, 8, seed=12)
    enhancers = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast,
                 "saturation": ImageEnhance.Color}
    for what, enhancer in enhancers.items():
        for factor in (0.0, 0.35, 1.0, 1.6, 2.5):
            np.testing.assert_array_equal(getattr(F, f"adjust_{what}")(img, factor),
                                          np.asarray(enhancer(Image.fromarray(img)).enhance(factor)))
            np.testing.assert_array_equal(getattr(F, f"adjust_{what}")(gray, factor),
                                          np.asarray(enhancer(Image.fromarray(gray)).enhance(factor)))
            pil_in = F.adjust_brightness(Image.fromarray(img), factor) if what == "brightness" else None
            if pil_in is not None:                                              # a PIL Image in, an array out
                np.testing.assert_array_equal(pil_in, np.asarray(enhancer(Image.fromarray(img)).enhance(factor)))
    for factor in (-0.5, -0.3, -0.01, 0.0, 0.2, 0.5):
        np.testing.assert_array_equal(F.adjust_hue(img, factor), pil_hue(Image, img, factor))
    np.testing.assert_array_equal(F.adjust_hue(gray, 0.3), gray)


def test_pil_hsv_conversions_are_pillows():
    Image = pil()
    img = rand_u8(40, 40, 3, seed=13)
    img[0, :6] = [[0, 0, 0], [255, 255, 255], [7, 7, 7], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
    np.testing.assert_array_equal(F._pil_rgb2hsv(img.transpose(2, 0, 1)).transpose(1, 2, 0),
                                  np.asarray(Image.fromarray(img).convert("HSV")))
    hsv = rand_u8(40, 40, 3, seed=14)
    hsv[0, :3, 1] = 0
    np.testing.assert_array_equal(F._pil_hsv2rgb(hsv.transpose(2, 0, 1)).transpose(1, 2, 0),
                                  np.asarray(Image.fromarray(hsv, "HSV").convert("RGB")))


# ---------------------------------------------------------------------------------------------
# resized_crop, gaussian_blur, erase
# ---------------------------------------------------------------------------------------------
def test_resized_crop_is_crop_then_antialiased_resize():
    torch = require_torch()
    x = rand_f32(3, 20, 24, seed=15)
    for (top, left, h, w), size in (((2, 3, 15, 17), [8, 8]), ((0, 0, 20, 24), [30, 11]), ((5, 1, 4, 9), [12, 12])):
        got = F.resized_crop(Tensor(x), top, left, h, w, size).numpy()
        ref = torch.nn.functional.interpolate(torch.from_numpy(x[:, top:top + h, left:left + w].copy())[None],
                                              size=size, mode="bilinear", align_corners=False, antialias=True)[0]
        np.testing.assert_allclose(got, ref.numpy(), rtol=1e-5, atol=1e-6)
    nearest = F.resized_crop(Tensor(x), 2, 3, 10, 12, [5, 6], "nearest").numpy()
    np.testing.assert_array_equal(nearest, x[:, 2:12:2, 3:15:2])


@pytest.mark.parametrize("ksize,sigma", [(3, None), ((5, 3), (1.5, 0.7)), (7, 2.0), ((1, 5), [0.8])])
def test_gaussian_blur_matches_torchvision_formula(ksize, sigma):
    torch = require_torch()
    x = rand_f32(3, 10, 12, seed=16)
    ks = [ksize, ksize] if isinstance(ksize, int) else list(ksize)
    sig = [k * 0.15 + 0.35 for k in ks] if sigma is None else (
        [float(sigma)] * 2 if isinstance(sigma, float) else (list(sigma) * 2)[:2])

    def kernel1d(k, s):
        x1 = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, steps=k)
        pdf = torch.exp(-0.5 * (x1 / s).pow(2))
        return pdf / pdf.sum()

    kernel = torch.mm(kernel1d(ks[1], sig[1])[:, None], kernel1d(ks[0], sig[0])[None, :])
    kernel = kernel.expand(3, 1, ks[1], ks[0])
    padded = torch.nn.functional.pad(torch.from_numpy(x)[None], [ks[0] // 2, ks[0] // 2, ks[1] // 2, ks[1] // 2],
                                     mode="reflect")
    ref = torch.nn.functional.conv2d(padded, kernel, groups=3)[0].numpy()
    np.testing.assert_allclose(F.gaussian_blur(Tensor(x), ksize, sigma).numpy(), ref, rtol=1e-5, atol=1e-6)
    u8 = rand_u8(10, 12, 3, seed=17)                       # an array (PIL Image): through the tensor path
    out = F.gaussian_blur(u8, ksize, sigma)
    assert out.shape == u8.shape and out.dtype == np.uint8
    kern = kernel.clone()
    padded8 = torch.nn.functional.pad(torch.from_numpy(u8.transpose(2, 0, 1).astype(np.float32))[None],
                                      [ks[0] // 2, ks[0] // 2, ks[1] // 2, ks[1] // 2], mode="reflect")
    ref8 = torch.round(torch.nn.functional.conv2d(padded8, kern, groups=3)[0]).numpy().transpose(1, 2, 0)
    assert np.abs(out.astype(int) - ref8).max() <= 1
    with pytest.raises(ValueError, match="odd"):
        F.gaussian_blur(Tensor(x), 4)
    with pytest.raises(ValueError, match="positive"):
        F.gaussian_blur(Tensor(x), 3, 0.0)


def test_erase():
    x = Tensor(rand_f32(3, 6, 7))
    out = F.erase(x, 1, 2, 3, 4, 0.5)
    expected = x.numpy().copy()
    expected[:, 1:4, 2:6] = 0.5
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out is not x and not np.array_equal(x.numpy(), expected)
    v = np.arange(3, dtype=np.float32)[:, None, None]
    same = F.erase(x, 0, 0, 2, 2, Tensor(v), inplace=True)
    assert same is x and x.numpy()[2, 1, 1] == 2.0 and x.numpy()[0, 0, 0] == 0.0
    with pytest.raises(TypeError, match="Tensor"):
        F.erase(rand_u8(4, 4, 3), 0, 0, 1, 1, 0)


# ---------------------------------------------------------------------------------------------
# the random transforms: same seed -> same draws as get_params; statistics of the draws
# ---------------------------------------------------------------------------------------------
def test_random_rotation_replays_get_params_and_draws_uniformly():
    x = rand_f32(3, 9, 9, seed=18)
    t = T.RandomRotation((-30, 10), interpolation=T.InterpolationMode.BILINEAR, fill=0.25)
    fastnn.manual_seed(4)
    out = t(Tensor(x)).numpy()
    fastnn.manual_seed(4)
    angle = T.RandomRotation.get_params(t.degrees)
    np.testing.assert_array_equal(out, F.rotate(Tensor(x), angle, "bilinear", fill=[0.25] * 3).numpy())
    angles = np.array([T.RandomRotation.get_params([-30.0, 10.0]) for _ in range(4000)])
    assert angles.min() >= -30 and angles.max() <= 10 and abs(angles.mean() + 10) < 0.7
    assert abs(angles.std() - 40 / math.sqrt(12)) < 0.6
    assert T.RandomRotation(15).degrees == [-15.0, 15.0]
    hwc = T.RandomRotation(20, fill=(1, 2, 3))(rand_u8(8, 8, 3))           # arrays keep the fill as given
    assert hwc.shape == (8, 8, 3) and hwc.dtype == np.uint8
    with pytest.raises(ValueError, match="positive"):
        T.RandomRotation(-5)
    with pytest.raises(ValueError):
        T.RandomRotation((1, 2, 3))
    assert "RandomRotation(degrees=[-15.0, 15.0], interpolation=nearest, expand=False, fill=0)" == \
        repr(T.RandomRotation(15))


def test_random_affine_params():
    fastnn.manual_seed(0)
    for _ in range(300):
        angle, (tx, ty), scale, (sx, sy) = T.RandomAffine.get_params([-10.0, 20.0], (0.1, 0.3), (0.8, 1.2),
                                                                     [-5.0, 5.0, 2.0, 4.0], [50, 20])
        assert -10 <= angle <= 20 and abs(tx) <= 5 and abs(ty) <= 6 and 0.8 <= scale <= 1.2
        assert -5 <= sx <= 5 and 2 <= sy <= 4 and isinstance(tx, int)
    assert T.RandomAffine.get_params([0.0, 0.0], None, None, None, [5, 5]) == (0.0, (0, 0), 1.0, (0.0, 0.0))
    x = rand_f32(3, 10, 12, seed=19)
    t = T.RandomAffine(15, translate=(0.2, 0.1), scale=(0.9, 1.1), shear=8, fill=0.5)
    assert t.shear == [-8.0, 8.0]
    fastnn.manual_seed(9)
    out = t(Tensor(x)).numpy()
    fastnn.manual_seed(9)
    params = T.RandomAffine.get_params(t.degrees, t.translate, t.scale, t.shear, [12, 10])
    np.testing.assert_array_equal(out, F.affine(Tensor(x), *params, fill=[0.5] * 3).numpy())
    with pytest.raises(ValueError, match="translation"):
        T.RandomAffine(0, translate=(0.2, 1.5))
    with pytest.raises(ValueError, match="scale"):
        T.RandomAffine(0, scale=(0.0, 1.0))


def test_random_resized_crop_params_and_output():
    img = Tensor(rand_f32(3, 40, 60, seed=20))
    fastnn.manual_seed(1)
    areas, ratios = [], []
    for _ in range(2000):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 40 - h and 0 <= j <= 60 - w and h > 0 and w > 0
        areas.append(h * w / 2400)
        ratios.append(w / h)
    areas, ratios = np.array(areas), np.array(ratios)
    assert areas.min() > 0.06 and areas.max() <= 1.0
    assert 0.70 < ratios.min() and ratios.max() < 1.45                   # 3/4..4/3 up to rounding
    square = Tensor(np.zeros((1, 50, 50), np.float32))                   # log-uniform ratio: symmetric in log
    logs = [math.log(w / h) for _, _, h, w in (T.RandomResizedCrop.get_params(square, (0.08, 1.0), (3 / 4, 4 / 3))
                                               for _ in range(2000))]
    assert abs(np.mean(logs)) < 0.02
    # no sample fits: the central fallback crop, clamped to the ratio range
    wide = Tensor(np.zeros((1, 10, 100), np.float32))
    assert T.RandomResizedCrop.get_params(wide, (1.0, 1.0), (0.9, 1.1)) == (0, 44, 10, 11)
    square = Tensor(np.zeros((1, 10, 10), np.float32))
    assert T.RandomResizedCrop.get_params(square, (2.0, 2.0), (1.0, 1.0)) == (0, 0, 10, 10)
    t = T.RandomResizedCrop((16, 20))
    fastnn.manual_seed(2)
    out = t(img).numpy()
    fastnn.manual_seed(2)
    i, j, h, w = T.RandomResizedCrop.get_params(img, t.scale, t.ratio)
    np.testing.assert_array_equal(out, F.resized_crop(img, i, j, h, w, [16, 20]).numpy())
    assert T.RandomResizedCrop(24)(rand_u8(40, 60, 3)).shape == (24, 24, 3)
    assert repr(T.RandomResizedCrop(8)) == ("RandomResizedCrop(size=(8, 8), scale=(0.08, 1.0), "
                                            "ratio=(0.75, 1.3333), interpolation=bilinear, antialias=True)")


def test_color_jitter_params_and_replay():
    cj = T.ColorJitter(brightness=0.4, contrast=(0.5, 1.5), saturation=0, hue=0.1)
    assert cj.brightness == (0.6, 1.4) and cj.contrast == (0.5, 1.5) and cj.saturation is None
    assert cj.hue == (-0.1, 0.1)
    assert T.ColorJitter(brightness=2).brightness == (0.0, 3.0)              # clipped at 0
    x = rand_u8(12, 10, 3, seed=21)
    fastnn.manual_seed(6)
    out = cj(x)
    fastnn.manual_seed(6)
    order, b, c, s, h = T.ColorJitter.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and s is None
    ref = x
    for k in order:
        ref = {0: lambda im: F.adjust_brightness(im, b), 1: lambda im: F.adjust_contrast(im, c),
               2: lambda im: im, 3: lambda im: F.adjust_hue(im, h)}[int(k)](ref)
    np.testing.assert_array_equal(out, ref)
    draws = np.array([T.ColorJitter.get_params((0.6, 1.4), None, None, (-0.1, 0.1))[1] for _ in range(2000)])
    assert draws.min() >= 0.6 and draws.max() <= 1.4 and abs(draws.mean() - 1.0) < 0.02
    firsts = [int(T.ColorJitter.get_params(None, None, None, None)[0][0]) for _ in range(2000)]
    assert all(300 < firsts.count(k) < 700 for k in range(4))               # uniform order
    assert T.ColorJitter()(x) is x
    out_t = T.ColorJitter(0.5, 0.5, 0.5, 0.2)(Tensor(rand_f32(3, 6, 6)))
    assert out_t.shape == (3, 6, 6) and 0 <= out_t.numpy().min() and out_t.numpy().max() <= 1
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)
    assert repr(cj) == "ColorJitter(brightness=(0.6, 1.4), contrast=(0.5, 1.5), saturation=None, hue=(-0.1, 0.1))"


def test_gaussian_blur_transform():
    x = Tensor(rand_f32(3, 9, 9, seed=22))
    t = T.GaussianBlur(5, sigma=(0.5, 1.5))
    fastnn.manual_seed(3)
    out = t(x).numpy()
    fastnn.manual_seed(3)
    sigma = T.GaussianBlur.get_params(0.5, 1.5)
    assert 0.5 <= sigma <= 1.5
    np.testing.assert_array_equal(out, F.gaussian_blur(x, [5, 5], [sigma, sigma]).numpy())
    assert T.GaussianBlur(3, 1.0).sigma == (1.0, 1.0)
    with pytest.raises(ValueError, match="odd"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma"):
        T.GaussianBlur(3, (2.0, 1.0))


def test_random_erasing():
    img = Tensor(np.ones((3, 20, 30), np.float32))
    fastnn.manual_seed(0)
    erased = [T.RandomErasing(p=0.3)(img) for _ in range(1000)]
    changed = sum(not np.array_equal(e.numpy(), img.numpy()) for e in erased)
    assert 240 < changed < 360                                                    # p = 0.3
    assert np.array_equal(img.numpy(), np.ones((3, 20, 30)))                      # not in place
    fastnn.manual_seed(1)
    for _ in range(300):
        i, j, h, w, v = T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value=[0.0])
        assert 0 <= i <= 20 - h and 0 <= j <= 30 - w and h < 20 and w < 30
        assert 0.02 * 600 * 0.5 <= h * w <= 0.33 * 600 * 1.6
    t = T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))
    fastnn.manual_seed(5)
    out = t(img).numpy()
    fastnn.manual_seed(5)
    assert fastnn.random.generator().random() < 1.0
    i, j, h, w, v = T.RandomErasing.get_params(img, t.scale, t.ratio, [0.1, 0.2, 0.3])
    expected = img.numpy().copy()
    expected[:, i:i + h, j:j + w] = np.array([0.1, 0.2, 0.3], np.float32)[:, None, None]
    np.testing.assert_array_equal(out, expected)
    noisy = T.RandomErasing(p=1.0, scale=(0.3, 0.3), ratio=(1.0, 1.0), value="random")(img).numpy()
    region = noisy[noisy != 1.0]
    assert region.size > 0.25 * noisy.size and abs(region.mean()) < 0.2 and 0.8 < region.std() < 1.2
    inplace = Tensor(np.ones((1, 10, 10), np.float32))
    assert T.RandomErasing(p=1.0, inplace=True)(inplace) is inplace and (inplace.numpy() == 0).any()
    whole = Tensor(rand_f32(1, 3, 4))                  # nothing fits: the image, erased by itself (a copy)
    kept = T.RandomErasing(p=1.0, scale=(1.0, 1.0), ratio=(1.0, 1.0))(whole)
    assert kept is not whole and np.array_equal(kept.numpy(), whole.numpy())
    with pytest.raises(TypeError, match="Tensor"):
        T.RandomErasing(p=1.0)(rand_u8(8, 8, 3))
    with pytest.raises(ValueError, match="random"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="probability"):
        T.RandomErasing(p=1.5)
    with pytest.raises(ValueError, match="number of input channels"):
        T.RandomErasing(p=1.0, value=(1, 2))(img)


def test_random_apply_choice_order():
    add = [T.Lambda(lambda v, k=k: v * 10 + k) for k in range(1, 4)]
    fastnn.manual_seed(0)
    applied = sum(T.RandomApply(add[:2], p=0.25)(0) == 12 for _ in range(2000))  # both, in order, or none
    assert 400 < applied < 600
    assert T.RandomApply(add, p=1.0)(0) == 123 and T.RandomApply(add, p=0.0)(0) == 0
    picks = [T.RandomChoice(add, p=[1, 0, 3])(0) for _ in range(2000)]
    assert picks.count(2) == 0 and 400 < picks.count(1) < 600 and 1400 < picks.count(3) < 1600
    uniform = [T.RandomChoice(add)(0) for _ in range(3000)]
    assert all(850 < uniform.count(k) < 1150 for k in (1, 2, 3))
    orders = [T.RandomOrder(add)(0) for _ in range(3000)]
    assert set(orders) == {123, 132, 213, 231, 312, 321}
    assert all(400 < orders.count(o) < 600 for o in set(orders))
    with pytest.raises(TypeError):
        T.RandomOrder(lambda v: v)
    with pytest.raises(TypeError):
        T.RandomChoice(add, p=0.5)
    assert repr(T.RandomApply([T.ToTensor()], p=0.3)) == "RandomApply(\n    p=0.3\n    ToTensor()\n)"
    assert repr(T.RandomChoice([T.ToTensor()])) == "RandomChoice(\n    ToTensor()\n)(p=None)"


class Images(Dataset):
    def __init__(self):
        self.x = rand_u8(16, 20, 20, 3, seed=23)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.tf(self.x[i]), i


def test_augmentation_pipeline_is_reproducible_through_a_seeded_loader():
    ds = Images()
    ds.tf = T.Compose([T.RandomResizedCrop(16), T.RandomRotation(20), T.ColorJitter(0.3, 0.3, 0.3, 0.05),
                       T.RandomApply([T.GaussianBlur(3)], p=0.5), T.ToTensor(), T.RandomErasing(p=0.5)])
    runs = []
    for workers in (0, 1, 0):
        loader = DataLoader(ds, batch_size=4, shuffle=True, seed=11, num_workers=workers)
        runs.append(np.concatenate([xb.numpy() for xb, _ in loader]))
    assert runs[0].shape == (16, 3, 16, 16)
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
