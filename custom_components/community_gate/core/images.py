"""Untrusted image bytes in, an RGB ``uint8`` array out (or a clear refusal).

Photos arrive from uploads, files and camera snapshots. Every one is treated as hostile:
the byte size is checked before anything is parsed, the pixel count is read from the
header and checked *before* the pixels are decoded (a 100 KB PNG can claim 100,000 x
100,000 pixels: a decompression bomb), only the common photo formats are parsed, and
every decoder failure becomes an :class:`ImageError` with a stable ``why``.

Truncated files are refused as ``corrupt`` as long as Pillow's process-wide
``ImageFile.LOAD_TRUNCATED_IMAGES`` stays ``False`` (its default). Importing the
``face_recognition`` package flips it to ``True`` for the whole process, which is one more
reason runtime code never imports it.

OpenCV is used for resizing when importable (it has no musllinux wheels, so HA OS may not
have it); Pillow, which Home Assistant always ships, is the fallback.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from .errors import InvalidValueError

_cv2: Any
try:  # optional accelerator
    import cv2 as _cv2
except ImportError:  # pragma: no cover - depends on the install
    _cv2 = None

RGBImage = npt.NDArray[np.uint8]
"""An H x W x 3 RGB image, uint8, C-contiguous."""

MAX_IMAGE_BYTES: Final = 20 * 2**20
# What a face needs, not what a sensor can make: a phone's 12 MP photo (4032 x 3024) and
# a 16 MP camera's (4608 x 3456) pass; a face needs 80 px (faces.MIN_FACE_PX). Detection
# time and memory grow with the pixels (a 40 MP PNG held the worker 40 s at 2.5 GiB), so
# this bound is also the bound on how long one photo can keep gate frames waiting.
MAX_PIXELS: Final = 16_000_000
# Photo formats only: every other Pillow plugin is attack surface we do not need.
# Phones' MPO files (a JPEG with extra frames) open through the JPEG plugin; the first
# frame is used.
ALLOWED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
# Importing a plugin registers it; ``Image.open(formats=...)`` does not load them itself.
_PLUGINS: Final = (
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

# Why an image was refused (the ``why`` placeholder of ImageError).
EMPTY: Final = "empty"
NOT_AN_IMAGE: Final = "not_an_image"
CORRUPT: Final = "corrupt"
TOO_LARGE_BYTES: Final = "too_large_bytes"
TOO_MANY_PIXELS: Final = "too_many_pixels"
UNSUPPORTED_MODE: Final = "unsupported_mode"

_EIGHT_BIT_MODES: Final = frozenset({"1", "L", "P", "RGB", "CMYK", "YCbCr", "LAB", "RGBX"})
_ALPHA_MODES: Final = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
_SIXTEEN_BIT_MODES: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


class ImageError(InvalidValueError):
    """An image that cannot be used. ``why`` is one of the constants above; ``detail``
    is ours (sizes and limits), never file content."""

    code = "image_invalid"

    def __init__(self, message: str = "", *, why: str, detail: str = "", **more: str) -> None:
        self.why = why
        text = message or f"image refused: {why}" + (f" ({detail})" if detail else "")
        super().__init__(text, why=why, detail=detail, **more)


def decode_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_PIXELS
) -> RGBImage:
    """Decode image bytes to an H x W x 3 ``uint8`` RGB array.

    EXIF orientation is applied; RGBA / greyscale / palette / CMYK / 16-bit greyscale are
    converted (transparent pixels over white). The pixel count comes from the header and is
    checked before the pixels are decoded. Raises :class:`ImageError`.
    """
    if not data:
        raise ImageError(why=EMPTY)
    if len(data) > max_bytes:
        raise ImageError(why=TOO_LARGE_BYTES, detail=f"{len(data)} > {max_bytes} bytes")
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as err:
        raise ImageError(why=TOO_MANY_PIXELS, detail="refused by the decoder") from err
    except UnidentifiedImageError as err:
        raise ImageError(why=NOT_AN_IMAGE) from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(why=CORRUPT) from err
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageError(why=CORRUPT, detail=f"{width}x{height}")
        if width * height > max_pixels:
            raise ImageError(why=TOO_MANY_PIXELS, detail=f"{width}x{height} > {max_pixels} pixels")
        try:
            im.load()
            return _to_rgb(_oriented(im))
        except ImageError:
            raise
        except Image.DecompressionBombError as err:
            raise ImageError(why=TOO_MANY_PIXELS, detail="refused by the decoder") from err
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as err:
            # Truncated data, a broken zlib/JPEG stream, bad EXIF tables...
            raise ImageError(why=CORRUPT) from err


def load_image_file(
    path: Path, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_PIXELS
) -> RGBImage:
    """Read and decode a file; its size is checked before it is read."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageError(why=TOO_LARGE_BYTES, detail=f"{size} > {max_bytes} bytes")
    return decode_image(path.read_bytes(), max_bytes=max_bytes, max_pixels=max_pixels)


def resize_max(rgb: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    """Shrink so the longest side is at most ``max_side`` (never enlarges).

    Returns the image and the scale applied (new / old; 1.0 when unchanged), so a box
    found on the result maps back to the original by dividing by the scale.
    """
    if max_side <= 0:
        raise ValueError("max_side must be positive")
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return rgb, 1.0
    scale = max_side / longest
    new_w = max(1, round(width * scale))
    new_h = max(1, round(height * scale))
    if _cv2 is not None:
        # INTER_AREA: proper anti-aliasing when shrinking.
        out = _cv2.resize(rgb, (new_w, new_h), interpolation=_cv2.INTER_AREA)
    else:
        pil = Image.fromarray(rgb).resize((new_w, new_h), Image.Resampling.BOX)
        out = np.asarray(pil)
    return np.ascontiguousarray(out, dtype=np.uint8), new_w / width


def _oriented(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phones store portrait photos rotated). A broken
    EXIF block leaves the photo as stored rather than refusing it."""
    try:
        orientation = im.getexif().get(0x0112, 1)
        if orientation in (None, 1):
            return im
        out = ImageOps.exif_transpose(im)
    except OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError:
        return im
    return out if out is not None else im


def _to_rgb(im: Image.Image) -> RGBImage:
    mode = im.mode
    if mode == "RGB":
        arr: npt.NDArray[Any] = np.asarray(im)
    elif mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        alpha = rgba.getchannel("A")
        lo, _hi = alpha.getextrema()
        if isinstance(lo, (int, float)) and lo < 255:
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgba = Image.alpha_composite(white, rgba)
        arr = np.asarray(rgba.convert("RGB"))
    elif mode in _EIGHT_BIT_MODES:
        arr = np.asarray(im.convert("RGB"))
    elif mode in _SIXTEEN_BIT_MODES:
        # 16-bit greyscale: Pillow's own conversion clips at 255, so scale here.
        grey = np.asarray(im).astype(np.float32)
        peak = float(grey.max()) if grey.size else 0.0
        grey = grey / 257.0 if peak > 255 else grey
        grey8 = np.clip(grey + 0.5, 0, 255).astype(np.uint8)
        arr = np.repeat(grey8[:, :, None], 3, axis=2)
    else:
        raise ImageError(why=UNSUPPORTED_MODE, detail=mode)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ImageError(why=UNSUPPORTED_MODE, detail=f"{mode} -> {arr.dtype}{arr.shape}")
    # np.asarray over a Pillow image is read-only; callers (dlib, OpenCV) want a plain,
    # writable, C-contiguous array.
    return np.array(arr, dtype=np.uint8, order="C", copy=True)
