"""Synthetic face masks drawn from the 68 dlib landmarks, for measuring masked faces.

The shared photo set has no photo of anyone wearing a mask, so the accuracy tool
(``eval_faces``) makes masked probes itself. The method is deterministic — no random
numbers, the same photo and landmarks always give the same bytes — so a figure can be
reproduced exactly:

1. **Region**: the polygon through the jaw points 2..14 (0-based, iBUG 300-W numbering:
   from one cheek at about the nostrils' height, round the chin, to the other cheek)
   closed by the nose-bridge point 29 (two thirds of the way down the nose). It covers the
   mouth (48..67), the chin and the lower nose (30..35), and leaves the eyes (36..47) and
   brows bare, like a surgical mask worn over the nose.
2. **Colour**: the region is filled with a flat light blue (``MASK_RGB``), the colour of a
   common disposable mask.
3. **Texture** (on by default): three horizontal pleats — lines in a darker blue
   (``PLEAT_RGB``) at 30 %, 50 % and 70 % of the way from point 29 down to the chin point
   8, as thick as 1/60 of the face height (at least 1 px), clipped to the region.

Only Pillow and NumPy are used (both ship with Home Assistant). Polygon filling is
Pillow's ``ImageDraw.polygon`` without anti-aliasing, so the output can differ between
Pillow versions by edge pixels; it never differs between runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

MASK_RGB = (168, 198, 222)
PLEAT_RGB = (128, 158, 186)
MASK_POINTS = (*range(2, 15), 29)  # jaw 2..14, then the nose bridge point 29
PLEATS = (0.30, 0.50, 0.70)  # fractions of the way from point 29 down to the chin (8)
NOSE_BRIDGE = 29
CHIN = 8
LANDMARKS = 68

Point = tuple[float, float]


def mask_polygon(landmarks: Sequence[Point]) -> list[Point]:
    """The mask's outline in image coordinates (x, y): jaw points 2..14, then point 29."""
    if len(landmarks) != LANDMARKS:
        raise ValueError(f"expected {LANDMARKS} landmarks, got {len(landmarks)}")
    return [(float(landmarks[i][0]), float(landmarks[i][1])) for i in MASK_POINTS]


def mask_region(shape: tuple[int, ...], landmarks: Sequence[Point]) -> NDArray[np.bool_]:
    """Boolean (height, width) array: True where the mask covers the image."""
    height, width = int(shape[0]), int(shape[1])
    layer = Image.new("L", (width, height), 0)
    ImageDraw.Draw(layer).polygon(mask_polygon(landmarks), fill=255)
    return np.asarray(layer) > 0


def apply_mask(
    rgb: NDArray[np.uint8], landmarks: Sequence[Point], *, texture: bool = True
) -> NDArray[np.uint8]:
    """A copy of ``rgb`` (H×W×3 uint8) with a mask drawn over the face of ``landmarks``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image (height, width, 3)")
    height, width = rgb.shape[:2]
    region = mask_region(rgb.shape, landmarks)
    paint = Image.new("RGB", (width, height), MASK_RGB)
    if texture:
        top = landmarks[NOSE_BRIDGE]
        chin = landmarks[CHIN]
        face_height = max(float(chin[1]) - float(landmarks[27][1]), 1.0)
        thick = max(1, round(face_height / 60))
        draw = ImageDraw.Draw(paint)
        for frac in PLEATS:
            y = round(float(top[1]) + frac * (float(chin[1]) - float(top[1])))
            draw.line([(0, y), (width - 1, y)], fill=PLEAT_RGB, width=thick)
    out = rgb.copy()
    out[region] = np.asarray(paint)[region]
    return out
