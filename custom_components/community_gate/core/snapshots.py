"""Stranger snapshots (an estate option, off by default): a small face crop from a
camera frame, and how good it is, so the hub keeps the best one per stranger cluster.

Runs in the face process (``face_worker``), where the frame is decoded: only the crop
(a few kilobytes of JPEG, never the frame) travels back to the hub, which seals it.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image

from .faces import Face, FaceBox, face_sharpness
from .images import RGBImage

CROP_PX: Final = 128  # the longest side of a kept crop: recognisable, not a portrait
CROP_MARGIN: Final = 0.25  # of the box, on each side: hair and chin, not the street
JPEG_QUALITY: Final = 80
_FULL_SIZE_PX: Final = 160.0  # faces this tall or taller count as full size


def crop_box(box: FaceBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around the face with a margin, trimmed to the image (left, top, right,
    bottom)."""
    side = max(box.width, box.height) * (1 + 2 * CROP_MARGIN)
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    left, top = max(round(cx - side / 2), 0), max(round(cy - side / 2), 0)
    right, bottom = min(round(cx + side / 2), width), min(round(cy + side / 2), height)
    return left, top, right, bottom


def face_crop(rgb: RGBImage, box: FaceBox) -> bytes:
    """The face as a JPEG at most ``CROP_PX`` on its longest side."""
    left, top, right, bottom = crop_box(box, rgb.shape[1], rgb.shape[0])
    if right - left < 2 or bottom - top < 2:
        raise ValueError("face box outside the image")
    im = Image.fromarray(rgb[top:bottom, left:right])
    im.thumbnail((CROP_PX, CROP_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def crop_quality(rgb: RGBImage, face: Face) -> float:
    """How good a picture of the stranger this face makes, to keep the best one: its
    size (up to full size), its sharpness (``face_sharpness``, blur lowers it) and the
    detector's confidence. Only compared between crops of one engine's faces."""
    size = min(face.box.width, face.box.height, _FULL_SIZE_PX) / _FULL_SIZE_PX
    confidence = min(max(face.score, 0.1), 2.0)
    return round(size * face_sharpness(rgb, face.box) * confidence, 6)


def snapshot(rgb: RGBImage, face: Face) -> tuple[bytes, float] | None:
    """The crop and its quality, or None when the face cannot be cropped."""
    try:
        return face_crop(rgb, face.box), crop_quality(rgb, face)
    except ValueError:
        return None
