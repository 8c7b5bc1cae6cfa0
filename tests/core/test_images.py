"""core.images: untrusted bytes in, RGB uint8 out, or a refusal with a stable ``why``.

Every image here is generated in the test (no photos needed), including the
50-megapixel PNG and the decompression bomb.
"""

from __future__ import annotations

import io
from pathlib import Path
import struct
import zlib

import numpy as np
from PIL import Image, ImageFile, features
import pytest

from custom_components.community_gate.core import images
from custom_components.community_gate.core.errors import CoreError, InvalidValueError
from custom_components.community_gate.core.images import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    ImageError,
    decode_image,
    load_image_file,
    resize_max,
)
from tests.core.photos import needs_package_photos, package_photo


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header that claims ``width`` x ``height`` RGB pixels,
    followed by a few bytes of pixel data: decoding it for real would allocate
    width * height * 3 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def refused(data: bytes, **limits: int) -> ImageError:
    with pytest.raises(ImageError) as info:
        decode_image(data, **limits)
    return info.value


@pytest.fixture
def strict_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's default. Importing face_recognition flips it process-wide; pin it so the
    truncation tests do not depend on which tests ran before."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)


# ---------------------------------------------------------------- refusals
def test_error_is_a_translatable_invalid_value() -> None:
    err = refused(b"")
    assert isinstance(err, InvalidValueError)
    assert isinstance(err, CoreError)
    assert err.code == "image_invalid"
    assert err.why == "empty"
    assert err.placeholders["why"] == "empty"
    assert "detail" in err.placeholders


def test_error_takes_core_error_arguments() -> None:
    err = ImageError("image file too large", why="too_large_bytes")
    assert str(err) == "image file too large"
    assert err.placeholders == {"why": "too_large_bytes", "detail": ""}


def test_empty() -> None:
    assert refused(b"").why == "empty"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is text and not an image\n" * 10,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b"\x00" * 512,
        bytes(range(256)) * 4,
    ],
    ids=["text", "pdf", "zeros", "noise"],
)
def test_not_an_image(data: bytes) -> None:
    assert refused(data).why == "not_an_image"


def test_formats_outside_the_allow_list_are_not_parsed() -> None:
    tiff = encode(Image.new("RGB", (8, 8), (10, 20, 30)), "TIFF")
    assert refused(tiff).why == "not_an_image"


@pytest.mark.usefixtures("strict_pillow")
def test_truncated_jpeg_is_corrupt() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "JPEG", quality=90)
    assert refused(data[: len(data) // 2]).why == "corrupt"


@pytest.mark.usefixtures("strict_pillow")
def test_png_with_a_broken_pixel_stream_is_corrupt() -> None:
    good = encode(Image.new("RGB", (64, 64), (200, 10, 10)), "PNG")
    ihdr_end = 8 + 4 + 4 + 13 + 4
    broken = good[:ihdr_end] + _chunk(b"IDAT", b"this is not zlib data") + _chunk(b"IEND", b"")
    assert refused(broken).why == "corrupt"


def test_too_many_bytes_refused_before_parsing() -> None:
    small = encode(Image.new("RGB", (32, 32)), "PNG")
    err = refused(small, max_bytes=len(small) - 1)
    assert err.why == "too_large_bytes"
    # The default limit: 20 MiB, checked on the length alone.
    assert refused(b"\xff\xd8" + b"\0" * MAX_IMAGE_BYTES).why == "too_large_bytes"


def test_fifty_megapixel_png_refused_from_its_header() -> None:
    data = encode(Image.new("1", (8000, 6250)), "PNG")  # 50,000,000 pixels
    assert len(data) < 1_000_000  # small on the wire: only the header tells
    err = refused(data)
    assert err.why == "too_many_pixels"
    assert "8000x6250" in err.placeholders["detail"]
    assert MAX_PIXELS < 8000 * 6250


def test_pixel_limit_is_checked_before_decoding() -> None:
    # 60 MP claimed by a header whose pixel data is a 1 KiB stub: decoding it would fail
    # as corrupt, so "too_many_pixels" proves nothing was decoded.
    assert refused(png_claiming(10_000, 6_000)).why == "too_many_pixels"
    # and a configured limit is honoured exactly
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    assert decode_image(data, max_pixels=10_000).shape == (100, 100, 3)
    assert refused(data, max_pixels=9_999).why == "too_many_pixels"


def test_decompression_bomb() -> None:
    bomb = png_claiming(100_000, 100_000)  # 10^10 pixels, 30 GB decoded
    assert len(bomb) < 200
    assert refused(bomb).why == "too_many_pixels"
    # Even with our own limit lifted, Pillow's DecompressionBombError is mapped.
    err = refused(bomb, max_pixels=10**12)
    assert err.why == "too_many_pixels"
    assert err.placeholders["detail"] == "refused by the decoder"


def test_zero_sized_header_is_refused() -> None:
    assert refused(png_claiming(0, 10)).why in {"corrupt", "not_an_image"}


# ------------------------------------------------------------- conversions
def test_rgb_jpeg() -> None:
    rgb = decode_image(encode(Image.new("RGB", (40, 30), (0, 128, 255)), "JPEG", quality=95))
    assert rgb.shape == (30, 40, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags.c_contiguous
    assert rgb.flags.writeable
    assert np.abs(rgb.astype(int) - (0, 128, 255)).max() <= 3


def test_rgba_png_opaque_and_transparent() -> None:
    rgba = np.zeros((10, 20, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 200, 30)
    rgba[..., 3] = 255
    rgba[:, 10:, 3] = 0  # right half fully transparent (its colour is hidden)
    rgb = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert rgb.shape == (10, 20, 3)
    assert (rgb[:, :10] == (10, 200, 30)).all()
    assert (rgb[:, 10:] == 255).all()  # composited over white, not the hidden colour


def test_fully_opaque_rgba_keeps_its_colours() -> None:
    rgba = np.random.default_rng(2).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgb = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert np.array_equal(rgb, rgba[..., :3])


def test_greyscale() -> None:
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = decode_image(encode(Image.fromarray(grey, "L"), "PNG"))
    assert rgb.shape == (16, 16, 3)
    for channel in range(3):
        assert np.array_equal(rgb[..., channel], grey)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    grey16 = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(grey16), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    rgb = decode_image(data)
    assert rgb[0, :, 0].tolist() == [0, 1, 128, 255]


def test_palette_and_one_bit() -> None:
    pal = Image.new("RGB", (8, 8), (0, 128, 255)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert (decode_image(encode(pal, "PNG")) == (0, 128, 255)).all()
    one = Image.new("1", (8, 8), 1)
    assert (decode_image(encode(one, "PNG")) == 255).all()


def test_cmyk_jpeg() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red
    rgb = decode_image(encode(cmyk, "JPEG", quality=95)).astype(int)
    assert rgb[..., 0].mean() > 200
    assert rgb[..., 1].mean() < 60


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_other_allowed_formats(fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    data = encode(Image.new("RGB", (12, 10), (250, 250, 250)), fmt)
    assert decode_image(data).shape == (10, 12, 3)


def _two_tone(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    arr[:, : width // 2] = (255, 0, 0)
    arr[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(arr)


def _jpeg_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(_two_tone(), "JPEG", quality=95, exif=exif.tobytes())


def _is_red(px: np.ndarray) -> bool:
    return bool(px[0] > 200 and px[2] < 60)


def _is_blue(px: np.ndarray) -> bool:
    return bool(px[2] > 200 and px[0] < 60)


def test_exif_orientation_rotate_90_cw() -> None:
    # Orientation 6: the stored 40x20 picture is shown rotated 90° clockwise, so the
    # stored left (red) half ends up on top.
    rgb = decode_image(_jpeg_with_orientation(6))
    assert rgb.shape == (40, 20, 3)
    assert _is_red(rgb[5, 10])
    assert _is_blue(rgb[35, 10])


def test_exif_orientation_rotate_180_and_none() -> None:
    flipped = decode_image(_jpeg_with_orientation(3))
    assert flipped.shape == (20, 40, 3)
    assert _is_blue(flipped[10, 5])
    assert _is_red(flipped[10, 35])
    plain = decode_image(_jpeg_with_orientation(1))
    assert _is_red(plain[10, 5])


# ------------------------------------------------------------------ files
def test_load_image_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode(Image.new("RGB", (5, 7), (1, 2, 3)), "PNG"))
    assert load_image_file(path).shape == (7, 5, 3)
    assert load_image_file(path, max_pixels=35).shape == (7, 5, 3)
    with pytest.raises(ImageError) as info:
        load_image_file(path, max_pixels=34)
    assert info.value.why == "too_many_pixels"


def test_load_image_file_checks_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as fh:  # sparse: 21 MiB on paper, nothing on disk
        fh.truncate(MAX_IMAGE_BYTES + 2**20)
    with pytest.raises(ImageError) as info:
        load_image_file(path)
    assert info.value.why == "too_large_bytes"


@needs_package_photos
def test_package_rgba_png_decodes_like_its_jpeg() -> None:
    # 32bit.png is the RGBA PNG of the obama2.jpg photo (same size).
    rgba = load_image_file(package_photo("32bit.png"))
    jpeg = load_image_file(package_photo("obama2.jpg"))
    assert rgba.shape == jpeg.shape == (1200, 626, 3)


# ----------------------------------------------------------------- resize
def test_resize_max_leaves_small_images_alone() -> None:
    rgb = np.zeros((480, 640, 3), dtype=np.uint8)
    out, scale = resize_max(rgb, 640)
    assert out is rgb
    assert scale == 1.0


@pytest.mark.parametrize("use_cv2", [True, False], ids=["opencv", "pillow"])
def test_resize_max_shrinks(monkeypatch: pytest.MonkeyPatch, use_cv2: bool) -> None:
    if use_cv2 and images._cv2 is None:
        pytest.skip("OpenCV not installed")
    if not use_cv2:
        monkeypatch.setattr(images, "_cv2", None)  # the HA OS path (no musllinux wheel)
    rgb = np.zeros((1200, 1600, 3), dtype=np.uint8)
    rgb[:, 800:] = 200
    out, scale = resize_max(rgb, 640)
    assert out.shape == (480, 640, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous
    assert scale == pytest.approx(0.4)
    assert out[:, :300].max() == 0
    assert out[:, 340:].min() == 200
    portrait, s2 = resize_max(np.zeros((1000, 10, 3), dtype=np.uint8), 100)
    assert portrait.shape == (100, 1, 3)
    assert s2 == pytest.approx(0.1)


def test_resize_max_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_side"):
        resize_max(np.zeros((4, 4, 3), dtype=np.uint8), 0)


def test_6300_square_png_refused_before_decoding() -> None:
    """Issue 13 f: a 51 kB PNG of 6300 x 6300 pixels held the face worker 40 s at
    2.5 GiB. It is refused from its header: far more than a face needs."""
    data = png_claiming(6300, 6300)  # a stub body: decoding would fail as corrupt
    assert refused(data).why == "too_many_pixels"
    real = encode(Image.new("1", (6300, 6300)), "PNG")
    assert len(real) < 100_000
    err = refused(real)
    assert err.why == "too_many_pixels"
    assert "6300x6300" in err.placeholders["detail"]
    # A phone's 12 MP photo (4032 x 3024) and a 16 MP camera's still pass the check.
    assert 4608 * 3456 <= MAX_PIXELS <= 16_000_000
