"""A presentation-attack corpus made from still photos (issue 15, ISO/IEC 30107-3 style).

    python -m devtools.pad_corpus ../shared/faces --out .cache/pad/test [--photos 40]

The shared photo sets hold stills, not recordings: every sequence here is **synthesised**
from one photo, deterministically (a seed per sequence; the same photo and seed always
give the same frames). A sequence is ``FRAMES`` camera frames (640x480 JPEG), about what
a door camera sampling a few frames a second sees in 1-2 s.

Bona fide (``bona_fide``): a *model* of a live person, not a recording of one. The photo
is placed so the eyes are 55-85 px apart (a face at a door camera) and warped per frame
by a landmark-driven field: small 3D head rotation (yaw and pitch move each point by its
depth: a head ellipsoid plus a nose bump, so the nose moves relative to the eyes and
mouth), in-plane sway, a blink in most sequences (the upper lid drawn down over the
eyes), a smile coming and going at the mouth corners, sensor noise and lighting flicker.
Motion amplitudes are drawn per sequence, some people standing very still. With a
``prompt`` the person also does what the terminal asked (turn left/right, blink).

Attacks, each of a photo of the same person (their *other* photo where there is one):

* ``print_still``: a print (resampled, CMYK halftone screen, paper texture and gamut,
  white border, a glare spot) on a flat sheet held still before the camera;
* ``print_hand``: the same print held in a hand: the sheet tilts and sways (a
  homography per frame: the face moves and even changes perspective, but stays planar);
* ``screen``: the photo on a phone screen (gamma and backlight, RGB sub-pixel grid and a
  moiré beat, a bezel, a rolling refresh band), held in a hand;
* ``still_photo``: the same camera frame every time plus fresh sensor noise (a photo
  set as the camera's image, as tried on the demo);
* ``replay``: a bona-fide sequence re-rendered frame by frame through the screen model
  (a video of the resident played on a phone): it blinks and moves.

What this cannot represent: a real camera in front of real paper or a real screen (its
optics, auto-exposure, compression and the print's actual texture), real head motion
and real blinks (the warp is a smooth approximation of a rigid head with a nose), masks
and 3D attacks. Figures measured on it are a model's figures; the docs say so.

Only NumPy and Pillow (no OpenCV): the same code runs in the tests. The 5 points of each
source photo come from the gate's own detector (YuNet on ncnn).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
import hashlib
import io
import json
import math
from pathlib import Path
import sys
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

FRAMES: Final = 8
WIDTH: Final = 640
HEIGHT: Final = 480
JPEG_QUALITY: Final = 85
BONA_FIDE: Final = "bona_fide"
ATTACKS: Final = ("print_still", "print_hand", "screen", "still_photo", "replay")
KINDS: Final = (BONA_FIDE, *ATTACKS)
PROMPTS: Final = ("turn_left", "turn_right", "blink")
PHOTO_SUFFIXES: Final = (".jpg", ".jpeg", ".png")

Float = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]
Rng = np.random.Generator


# ---------------------------------------------------------------- sampling helpers
def remap(img: Float, sx: Float, sy: Float, fill: Float | None = None) -> Float:
    """Bilinear sample of ``img`` (H x W x C float) at (sx, sy); outside clamps to the
    edge, or takes ``fill`` (same shape as the output) where given."""
    h, w = img.shape[:2]
    x0 = np.floor(sx)
    y0 = np.floor(sy)
    fx = (sx - x0)[..., None]
    fy = (sy - y0)[..., None]
    xa = np.clip(x0, 0, w - 1).astype(np.intp)
    xb = np.clip(x0 + 1, 0, w - 1).astype(np.intp)
    ya = np.clip(y0, 0, h - 1).astype(np.intp)
    yb = np.clip(y0 + 1, 0, h - 1).astype(np.intp)
    top = img[ya, xa] * (1 - fx) + img[ya, xb] * fx
    bot = img[yb, xa] * (1 - fx) + img[yb, xb] * fx
    out: Float = (top * (1 - fy) + bot * fy).astype(np.float32)
    if fill is not None:
        inside = ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1))[..., None]
        out = np.where(inside, out, fill).astype(np.float32)
    return out


def blur(img: Float, sigma: float) -> Float:
    """Gaussian blur through Pillow (8 bits a channel are plenty for a blur)."""
    if sigma <= 0:
        return img
    from PIL import ImageFilter

    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return np.asarray(pil.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32)


def resize(img: Float, width: int, height: int) -> Float:
    chans = [
        np.asarray(
            Image.fromarray(img[:, :, c].astype(np.float32), mode="F").resize(
                (width, height), Image.Resampling.BILINEAR
            ),
            dtype=np.float32,
        )
        for c in range(img.shape[2])
    ]
    return np.stack(chans, axis=2)


def smooth_walk(rng: Rng, n: int, amplitude: float) -> npt.NDArray[np.float64]:
    """``n`` values of a slow random motion within about +-``amplitude``: two sines of
    random phase and period (1-3 sequences long) - people sway, they do not jitter."""
    t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    out = np.zeros(n)
    for _ in range(2):
        period = rng.uniform(0.8, 2.5)
        out += np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 2


def homography(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """The 3x3 homography mapping 4 ``src`` points exactly onto ``dst`` (DLT)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.asarray(rows, dtype=np.float64))
    h = vt[-1].reshape(3, 3)
    out: npt.NDArray[np.float64] = h / h[2, 2]
    return out


def sensor(frame: Float, rng: Rng, t: int, *, noise: float, flicker: float) -> Float:
    """The camera: lighting flicker (a global gain), a soft exposure gradient and
    per-pixel noise."""
    gain = 1.0 + flicker * math.sin(2.1 * t + rng.uniform(0, 0.3))
    grad = np.linspace(-1, 1, frame.shape[1], dtype=np.float32)[None, :, None]
    out = frame * (gain + 0.01 * grad) + rng.normal(0, noise, frame.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.float32)


def to_jpeg(frame: Float, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(frame), 0, 255).astype(np.uint8)).save(
        buf, format="JPEG", quality=quality
    )
    return buf.getvalue()


# ------------------------------------------------------------------- a live person
@dataclass(frozen=True, slots=True)
class Photo:
    """A source photo: pixels (float RGB) and its 5 points (YuNet order: image-left
    eye, image-right eye, nose tip, image-left and image-right mouth corner)."""

    rgb: Float
    points: Points


def _iod(points: Points) -> float:
    return float(np.linalg.norm(points[1] - points[0]))


class LiveModel:
    """One live person in front of the camera, rendered frame by frame."""

    def __init__(self, photo: Photo, rng: Rng, *, frames: int, prompt: str | None = None):
        self.photo = photo
        self.rng = rng
        self.frames = frames
        iod = rng.uniform(55, 85)
        self.scale = iod / _iod(photo.points)
        eye_mid = (photo.points[0] + photo.points[1]) / 2
        centre = np.array([WIDTH / 2 + rng.uniform(-40, 40), HEIGHT * 0.45 + rng.uniform(-20, 20)])
        self.offset = centre - eye_mid * self.scale  # frame = photo * scale + offset
        self.base = photo.points * self.scale + self.offset
        self.iod = iod
        # Motion: most people move a few degrees while they walk up; some barely do.
        still = rng.random() < 0.25
        yaw_amp = rng.uniform(1.5, 3.0) if still else rng.uniform(3.0, 9.0)
        pitch_amp = yaw_amp * rng.uniform(0.4, 0.8)
        self.yaw = np.radians(smooth_walk(rng, frames, yaw_amp))
        self.pitch = np.radians(smooth_walk(rng, frames, pitch_amp))
        self.roll = np.radians(smooth_walk(rng, frames, rng.uniform(0.5, 3.0)))
        self.shift = np.stack(
            [smooth_walk(rng, frames, rng.uniform(2, 12)) for _ in range(2)], axis=1
        )
        self.smile = np.clip(smooth_walk(rng, frames, rng.uniform(0, 1)), 0, None)
        self.blink = np.zeros(frames)
        if prompt in ("turn_left", "turn_right"):
            # Asked to turn: the head turns 12-25 degrees over a few frames and back.
            sign = 1.0 if prompt == "turn_left" else -1.0  # person's left: image right
            turn = np.radians(rng.uniform(12, 25))
            start = int(rng.integers(1, 3))
            ramp = np.clip((np.arange(frames) - start) / 2.0, 0, 1)
            self.yaw = self.yaw * 0.5 + sign * turn * ramp
        if frames >= 3 and (prompt == "blink" or (prompt is None and rng.random() < 0.7)):
            at = int(rng.integers(1, frames - 1))
            self.blink[at] = 1.0
            if at + 1 < frames and rng.random() < 0.5:
                self.blink[at + 1] = 0.5  # eyes half open again
        self.noise = rng.uniform(1.5, 4.0)
        self.flicker = rng.uniform(0.0, 0.03)
        self.background = _background(photo, rng)

    def field(self, xs: Float, ys: Float, t: int) -> tuple[Float, Float]:
        """Frame ``t``'s displacement at (xs, ys): where the head moved that point."""
        pts = self.base
        iod = self.iod
        centre = (pts[0] + pts[1] + pts[3] + pts[4]) / 4
        # Head region: an ellipse around the face; depth as seen from the camera.
        dx, dy = (xs - centre[0]) / (1.35 * iod), (ys - centre[1] + 0.2 * iod) / (1.8 * iod)
        r2 = dx**2 + dy**2
        head = np.sqrt(np.clip(1 - r2, 0, None))
        mask = np.clip(1.0 - np.sqrt(r2), 0, 0.25) / 0.25  # soft head mask
        nose = np.exp(-((xs - pts[2][0]) ** 2 + (ys - pts[2][1]) ** 2) / (2 * (0.32 * iod) ** 2))
        depth = iod * (0.9 * head + 0.55 * nose)
        # Rotation: yaw/pitch move a point by its depth; roll and shift move the head.
        yaw, pitch, roll = self.yaw[t], self.pitch[t], self.roll[t]
        c, s = math.cos(roll), math.sin(roll)
        rx, ry = xs - centre[0], ys - centre[1]
        fx = mask * ((c - 1) * rx - s * ry + self.shift[t, 0]) + depth * math.sin(yaw)
        fy = mask * (s * rx + (c - 1) * ry + self.shift[t, 1]) + depth * math.sin(pitch)
        # A smile: the mouth corners move out and up.
        if self.smile[t] > 0:
            for k, side in ((3, -1.0), (4, 1.0)):
                d2 = (xs - pts[k][0]) ** 2 + (ys - pts[k][1]) ** 2
                g = np.exp(-d2 / (2 * (0.22 * iod) ** 2))
                fx = fx + g * side * 0.08 * iod * self.smile[t]
                fy = fy - g * 0.05 * iod * self.smile[t]
        return fx.astype(np.float32), fy.astype(np.float32)

    def render(self, t: int, *, blink: bool = True) -> Float:
        """Frame ``t`` before the camera's noise."""
        # The head moves only near the face: the field is computed there (speed).
        c = self.base.mean(axis=0)
        x0, x1 = max(int(c[0] - 2.2 * self.iod), 0), min(int(c[0] + 2.2 * self.iod), WIDTH)
        y0, y1 = max(int(c[1] - 2.6 * self.iod), 0), min(int(c[1] + 2.4 * self.iod), HEIGHT)
        # Outside it the photo is only scaled and shifted: Pillow's affine warp.
        inv = np.array(
            [
                [1 / self.scale, 0, -self.offset[0] / self.scale],
                [0, 1 / self.scale, -self.offset[1] / self.scale],
                [0, 0, 1.0],
            ]
        )
        frame = warp_perspective(self.photo.rgb, inv, self.background)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        fx, fy = self.field(xs, ys, t)
        # Backward map: the output pixel p shows the photo at (p - field) / scale.
        sx = (xs - fx - self.offset[0]) / self.scale
        sy = (ys - fy - self.offset[1]) / self.scale
        roi = remap(self.photo.rgb, sx, sy)
        # Beyond the photo: the room behind (the photo's own edge would smear).
        h, w = self.photo.rgb.shape[:2]
        out = (sx < 0) | (sx > w - 1) | (sy < 0) | (sy > h - 1)
        roi[out] = self.background[y0:y1, x0:x1][out]
        frame[y0:y1, x0:x1] = roi
        if blink and self.blink[t] > 0:
            _close_eyes(frame, self.moved_points(t), self.blink[t], self.iod)
        return frame

    def moved_points(self, t: int) -> Points:
        """Where the 5 points land in frame ``t`` (forward, to first order)."""
        xs = self.base[:, 0].astype(np.float32)
        ys = self.base[:, 1].astype(np.float32)
        fx, fy = self.field(xs, ys, t)
        moved: Points = self.base + np.stack([fx, fy], axis=1).astype(np.float64)
        return moved

    def frame(self, t: int) -> Float:
        return sensor(self.render(t), self.rng, t, noise=self.noise, flicker=self.flicker)


def _background(photo: Photo, rng: Rng) -> Float:
    """A plain room behind the person: a smooth gradient in the photo's own tones."""
    mean = photo.rgb.reshape(-1, 3).mean(axis=0)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    tone = mean * rng.uniform(0.6, 1.1) + rng.uniform(-20, 20, 3)
    grad = 1 + 0.15 * (xs / WIDTH - 0.5)[..., None] - 0.1 * (ys / HEIGHT - 0.5)[..., None]
    room: Float = np.clip(tone[None, None, :] * grad, 0, 255).astype(np.float32)
    return room


def _close_eyes(frame: Float, points: Points, amount: float, iod: float) -> None:
    """Draw the upper lids down over both eyes (``amount`` 1: shut), in place: the eye
    opening is covered with the skin of the upper lid (sampled just above it), feathered
    at its edge, with a thin dark lash line where the lid ends."""
    half_w, half_h = 0.26 * iod, 0.12 * iod
    for eye in points[:2]:
        x0, x1 = int(eye[0] - half_w - 2), int(eye[0] + half_w) + 3
        y0, y1 = int(eye[1] - 2.2 * half_h), int(eye[1] + half_h) + 3
        if x0 < 0 or y0 < 0 or x1 > frame.shape[1] or y1 > frame.shape[0]:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        u, v = (xs - eye[0]) / half_w, (ys - eye[1]) / half_h
        r = np.sqrt(u**2 + v**2)
        lid = -1 + 2 * amount  # the lid's edge, in v units (1: at the lower rim)
        alpha = np.clip((1.15 - r) / 0.3, 0, 1) * np.clip((lid - v) / 0.25 + 0.5, 0, 1)
        band = frame[int(eye[1] - 2.1 * half_h) : int(eye[1] - 1.3 * half_h) + 1, x0:x1]
        skin = band.mean(axis=0)[None]  # the upper lid's skin, per column
        patch = frame[y0:y1, x0:x1]
        patch[:] = patch * (1 - alpha[..., None]) + skin * alpha[..., None]
        lash = np.clip(1 - np.abs(v - lid) / 0.18, 0, 1) * (r < 1.0) * amount
        patch[:] = patch * (1 - 0.45 * lash[..., None])


# ---------------------------------------------------------------- planar artefacts
def print_sheet(photo: Photo, rng: Rng) -> tuple[Float, Points]:
    """The photo as a printed sheet: (sheet pixels, the 5 points on the sheet)."""
    img = photo.rgb
    h, w = img.shape[:2]
    # Print resolution: the photo resampled to a sheet ~720 px tall (a 10x15 cm print
    # at ~120 dpi; the camera's optics average it later on).
    scale = 720 / max(h, w)
    sw, sh = round(w * scale), round(h * scale)
    sheet = resize(blur(img, 0.4 / max(scale, 1e-3)), sw, sh)
    # Halftone: CMY(K) dots on screens at the classic angles, ~4 px cells.
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    cmy = 1.0 - sheet / 255.0
    k = cmy.min(axis=2)
    cell = rng.uniform(3.5, 5.0)
    inks = []
    for ch, angle in ((cmy[:, :, 0] - k, 15), (cmy[:, :, 1] - k, 75), (cmy[:, :, 2] - k, 0)):
        inks.append(_screen(ch, xs, ys, angle, cell))
    black = _screen(k, xs, ys, 45, cell)
    rgb = np.stack([(1 - c) * (1 - black) for c in inks], axis=2)
    rgb = blur((rgb * 255.0).astype(np.float32), cell * 0.45)  # ink spreads, dots merge
    # Paper: lifted blacks, dimmer white, a warm tint, fibres and a slow unevenness.
    paper = np.array([246, 242, 232], dtype=np.float32) * rng.uniform(0.9, 1.0)
    rgb = 18 + rgb / 255.0 * (paper - 18)
    fibre = rng.normal(0, 3.0, (sh, sw, 1)).astype(np.float32)
    slow = resize(rng.normal(1.0, 0.03, (8, 8, 1)).astype(np.float32), sw, sh)
    rgb = rgb * slow + fibre
    # White border.
    border = round(rng.uniform(0.04, 0.08) * sw)
    out = np.empty((sh + 2 * border, sw + 2 * border, 3), dtype=np.float32)
    out[:] = paper
    out[border : border + sh, border : border + sw] = rgb
    points = photo.points * scale + border
    # Glare: a soft bright spot where a lamp reflects off the coating.
    gy, gx = rng.uniform(0.1, 0.9) * out.shape[0], rng.uniform(0.1, 0.9) * out.shape[1]
    yy, xx = np.mgrid[0 : out.shape[0], 0 : out.shape[1]].astype(np.float32)
    radius = rng.uniform(0.08, 0.25) * out.shape[1]
    glare = rng.uniform(0.15, 0.5) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2))
    out = out + glare[..., None] * (255 - out)
    return np.clip(out, 0, 255).astype(np.float32), points


def _screen(amount: Float, xs: Float, ys: Float, angle: float, cell: float) -> Float:
    """Amplitude-modulated halftone: ink where the dot of that cell covers the pixel."""
    a = math.radians(angle)
    u = (xs * math.cos(a) + ys * math.sin(a)) * 2 * math.pi / cell
    v = (-xs * math.sin(a) + ys * math.cos(a)) * 2 * math.pi / cell
    dot = (np.cos(u) * np.cos(v) + 1) / 2  # 1 at a dot's centre
    inked: Float = (dot > 1 - np.clip(amount, 0, 1)).astype(np.float32)
    return inked


def screen_sheet(content: Float, points: Points, rng: Rng, t: int = 0) -> tuple[Float, Points]:
    """Content shown on a phone screen: (screen + bezel pixels, the points on it)."""
    h, w = content.shape[:2]
    # A phone shows it ~640 px tall; each pixel is an R, G, B stripe triple.
    scale = 640 / max(h, w)
    sw, sh = round(w * scale), round(h * scale)
    img = resize(content, sw, sh) / 255.0
    gamma = rng.uniform(0.75, 1.3)
    img = np.power(np.clip(img, 0, 1), gamma)
    backlight = np.array([0.93, 0.97, 1.0], dtype=np.float32) * rng.uniform(0.85, 1.0)
    img = 0.06 + img * (backlight - 0.06)  # a screen's black glows
    xs = np.arange(sw, dtype=np.float32)
    stripes = np.stack([(xs % 3 == c).astype(np.float32) for c in range(3)], axis=1)
    img = img * (0.6 + 1.2 * stripes[None, :, :])  # mean gain 1: each column one colour
    # Moire: the camera's pixel grid beating with the screen's, a slow wave.
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    fx, fy = rng.uniform(0.004, 0.02), rng.uniform(0.004, 0.02)
    moire = 1 + rng.uniform(0.04, 0.12) * np.cos(2 * np.pi * (fx * xx + fy * yy) + t * 0.7)
    # Refresh banding: a darker band rolling down the screen frame by frame.
    band = (t * 0.37 + rng.uniform(0, 1)) % 1.0
    banding = 1 - 0.1 * np.exp(-(((yy / sh) - band) ** 2) / (2 * 0.05**2))
    img = img * moire[..., None] * banding[..., None]
    bezel = round(0.06 * sw)
    out = np.full((sh + 2 * bezel, sw + 2 * bezel, 3), 18.0, dtype=np.float32)
    out[bezel : bezel + sh, bezel : bezel + sw] = np.clip(img, 0, 1) * 255
    return out, points * scale + bezel


@dataclass(slots=True)
class Pose:
    """A flat object in front of the camera: centre, eye distance it shows at, roll and
    out-of-plane tilts (radians)."""

    cx: float
    cy: float
    iod: float
    roll: float = 0.0
    tilt_x: float = 0.0
    tilt_y: float = 0.0


def place(
    sheet: Float, points: Points, pose: Pose, background: Float, *, lens: Float | None = None
) -> Float:
    """The camera's view of ``sheet`` at ``pose`` over ``background`` (a perspective
    projection of the tilted plane, focal length 600 px)."""
    sh, sw = sheet.shape[:2]
    scale = pose.iod / _iod(points)
    eye_mid = (points[0] + points[1]) / 2
    corners = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float64)
    local = (corners - eye_mid) * scale  # pixels at the sheet's distance
    focal, dist = 600.0, 600.0
    cr, sr = math.cos(pose.roll), math.sin(pose.roll)
    cx_, sx_ = math.cos(pose.tilt_x), math.sin(pose.tilt_x)
    cy_, sy_ = math.cos(pose.tilt_y), math.sin(pose.tilt_y)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cx_, -sx_], [0, sx_, cx_]])
    ry = np.array([[cy_, 0, sy_], [0, 1, 0], [-sy_, 0, cy_]])
    p3 = np.hstack([local, np.zeros((4, 1))]) @ (rz @ rx @ ry).T
    z = dist + p3[:, 2]
    dst = np.stack([pose.cx + focal * p3[:, 0] / z, pose.cy + focal * p3[:, 1] / z], axis=1)
    h = homography(corners, dst)
    src = lens if lens is not None else optics(sheet, scale)
    inv: npt.NDArray[np.float64] = np.linalg.inv(h).astype(np.float64)
    return warp_perspective(src, inv, background)


def warp_perspective(src: Float, inv: npt.NDArray[np.float64], background: Float) -> Float:
    """The frame showing ``src`` through the homography whose inverse (frame -> src)
    is ``inv``, over ``background`` (Pillow's bilinear perspective warp: fast C)."""
    inv = inv / inv[2, 2]
    coeffs = tuple(float(c) for c in inv.reshape(-1)[:8])
    pil = Image.fromarray(np.clip(np.rint(src), 0, 255).astype(np.uint8))
    warped = pil.transform(
        (WIDTH, HEIGHT), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    cover = Image.new("L", pil.size, 255).transform(
        (WIDTH, HEIGHT), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    alpha = np.asarray(cover, dtype=np.float32)[..., None] / 255.0
    return (np.asarray(warped, dtype=np.float32) * alpha + background * (1 - alpha)).astype(
        np.float32
    )


def optics(sheet: Float, scale: float) -> Float:
    """The camera's lens: a sheet much finer than the frame (``scale`` frame pixels per
    sheet pixel) is averaged, not aliased."""
    shrink = 1.0 / (scale * 1.3)
    return blur(sheet, 0.5 * shrink) if shrink > 1.2 else sheet


def hand_poses(rng: Rng, frames: int, base: Pose, *, steady: bool) -> list[Pose]:
    """A sheet held still (a stand, a wall: sub-pixel drift) or in a hand (sway and
    tilt: up to ~10 degrees out of plane, a few pixels to tens of pixels)."""
    if steady:
        return [base] * frames
    tilt = rng.uniform(3, 10)
    tx = np.radians(smooth_walk(rng, frames, tilt))
    ty = np.radians(smooth_walk(rng, frames, tilt))
    roll = np.radians(smooth_walk(rng, frames, rng.uniform(1, 4)))
    dx = smooth_walk(rng, frames, rng.uniform(3, 15))
    dy = smooth_walk(rng, frames, rng.uniform(3, 15))
    return [
        Pose(base.cx + dx[t], base.cy + dy[t], base.iod, roll[t], tx[t], ty[t])
        for t in range(frames)
    ]


# --------------------------------------------------------------------- sequences
def sequence(
    kind: str,
    photo: Photo,
    seed: int,
    *,
    other: Photo | None = None,
    frames: int = FRAMES,
    prompt: str | None = None,
) -> list[Float]:
    """The ``frames`` camera frames of one presentation. ``photo`` is the person's
    photo; an attack uses ``other`` (another photo of them) where given."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    rng = np.random.default_rng(seed)
    if kind == BONA_FIDE:
        live = LiveModel(photo, rng, frames=frames, prompt=prompt)
        return [live.frame(t) for t in range(frames)]
    source = other if other is not None else photo
    if kind == "still_photo":
        live = LiveModel(source, rng, frames=frames)
        still = live.render(0, blink=False)
        noise, flicker = live.noise, live.flicker
        return [sensor(still, rng, t, noise=noise, flicker=flicker) for t in range(frames)]
    background = _background(source, rng)
    base = Pose(
        WIDTH / 2 + rng.uniform(-40, 40),
        HEIGHT * 0.45 + rng.uniform(-20, 20),
        rng.uniform(55, 85),
        float(np.radians(rng.uniform(-3, 3))),
        float(np.radians(rng.uniform(-6, 6))),
        float(np.radians(rng.uniform(-6, 6))),
    )
    noise, flicker = rng.uniform(1.5, 4.0), rng.uniform(0.0, 0.03)
    out: list[Float] = []
    if kind in ("print_still", "print_hand"):
        sheet, pts = print_sheet(source, rng)
        lens = optics(sheet, base.iod / _iod(pts))  # once: the sheet does not change
        for t, pose in enumerate(hand_poses(rng, frames, base, steady=kind == "print_still")):
            frame = place(sheet, pts, pose, background, lens=lens)
            out.append(sensor(frame, rng, t, noise=noise, flicker=flicker))
        return out
    poses = hand_poses(rng, frames, base, steady=False)
    if kind == "screen":
        screen_rng = np.random.default_rng(seed + 1)
        for t, pose in enumerate(poses):
            sheet, pts = screen_sheet(source.rgb, source.points, np.random.default_rng(seed + 1), t)
            frame = place(sheet, pts, pose, background)
            out.append(sensor(frame, screen_rng, t, noise=noise, flicker=flicker))
        return out
    # replay: the attacker filmed the resident (a live sequence) and plays it back.
    video = LiveModel(source, np.random.default_rng(seed + 2), frames=frames)
    crop = _face_crop(video.base, video.iod)
    for t, pose in enumerate(poses):
        shot = video.render(t)
        x0, y0, x1, y1 = crop
        content = shot[y0:y1, x0:x1]
        pts = video.moved_points(t) - np.array([x0, y0])
        sheet, spts = screen_sheet(content, pts, np.random.default_rng(seed + 1), t)
        frame = place(sheet, spts, pose, background)
        out.append(sensor(frame, rng, t, noise=noise, flicker=flicker))
    return out


def _face_crop(points: Points, iod: float) -> tuple[int, int, int, int]:
    """A portrait crop around the face (what a phone video of someone frames)."""
    c = points.mean(axis=0)
    half_w, half_h = 2.2 * iod, 2.9 * iod
    x0, y0 = max(int(c[0] - half_w), 0), max(int(c[1] - half_h), 0)
    return x0, y0, min(int(c[0] + half_w), WIDTH), min(int(c[1] + half_h), HEIGHT)


# -------------------------------------------------------------------- the corpus
@dataclass(frozen=True, slots=True)
class Entry:
    """One presentation on disk: its frames (JPEG paths relative to the corpus root)."""

    kind: str
    identity: str
    seed: int
    frames: tuple[str, ...]
    prompt: str | None = None

    @property
    def attack(self) -> bool:
        return self.kind != BONA_FIDE


Locate = Callable[[npt.NDArray[np.uint8]], Points | None]


def ncnn_locator() -> Locate:
    """The gate's detector (YuNet on ncnn) giving a photo's 5 points (largest face)."""
    from custom_components.community_gate.core.ncnn_engine import NcnnEngine

    engine = NcnnEngine()

    def locate(rgb: npt.NDArray[np.uint8]) -> Points | None:
        found = engine.detections(rgb, upsample=1)
        if not found:
            return None
        best = max(found, key=lambda d: d.box.area)
        return np.asarray(best.points, dtype=np.float64)

    return locate


def identity_photos(root: Path) -> dict[str, list[Path]]:
    """``<identity>/<photo>`` folders (those starting with ``_`` are not people)."""
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        if photos:
            out[folder.name] = photos
    return out


def load_photo(path: Path, locate: Locate) -> Photo | None:
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    points = locate(rgb)
    if points is None:
        return None
    return Photo(rgb.astype(np.float32), points)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def build(
    source: Path,
    out: Path,
    *,
    people: int | None = None,
    photos_per_person: int | None = 2,
    kinds: Sequence[str] = KINDS,
    repeats: int = 1,
    frames: int = FRAMES,
    prompts: bool = False,
    seed: int = 0,
    locate: Locate | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Entry]:
    """Write the corpus of ``source`` (identity folders) under ``out`` and return its
    entries; an existing corpus with the same parameters is reused (``index.json``).
    ``photos_per_person`` None: all; ``repeats``: bona-fide sequences per photo (other
    seeds: other motions). With ``prompts`` every sequence carries a random prompt
    (the active challenge the gate asks): the live person does it, attacks do not know
    it."""
    params = {
        "source": str(source.resolve()),
        "people": people,
        "photos_per_person": photos_per_person,
        "kinds": list(kinds),
        "repeats": repeats,
        "frames": frames,
        "prompts": prompts,
        "seed": seed,
        "version": 2,
    }
    index = out / "index.json"
    if index.is_file():
        cached = json.loads(index.read_text())
        if cached.get("params") == params:
            return [Entry(**{**e, "frames": tuple(e["frames"])}) for e in cached["entries"]]
    locate = locate or ncnn_locator()
    entries: list[Entry] = []
    chosen = list(identity_photos(source).items())
    if people is not None:
        chosen = chosen[:people]
    for identity, paths in chosen:
        take = paths if photos_per_person is None else paths[: photos_per_person + 1]
        loaded = [(p, load_photo(p, locate)) for p in take]
        usable = [(p, ph) for p, ph in loaded if ph is not None]
        count = len(usable) if photos_per_person is None else photos_per_person
        for i, (path, photo) in enumerate(usable[:count]):
            # The attacker's photo: another one of the same person where there is one.
            other = usable[(i + 1) % len(usable)][1] if len(usable) > 1 else None
            for kind in kinds:
                for rep in range(repeats if kind == BONA_FIDE else 1):
                    s = _seed(seed, identity, path.name, kind, rep)
                    prompt = PROMPTS[s % len(PROMPTS)] if prompts else None
                    live_prompt = prompt if kind == BONA_FIDE else None
                    seq = sequence(kind, photo, s, other=other, frames=frames, prompt=live_prompt)
                    rel = Path(identity) / f"{path.stem}-{kind}-{rep}"
                    (out / rel).mkdir(parents=True, exist_ok=True)
                    names = []
                    for t, frame in enumerate(seq):
                        name = rel / f"{t:02d}.jpg"
                        (out / name).write_bytes(to_jpeg(frame))
                        names.append(str(name))
                    entries.append(Entry(kind, identity, s, tuple(names), prompt))
            if progress:
                progress(f"{identity}/{path.name}")
    out.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps({"params": params, "entries": [asdict(e) for e in entries]}))
    return entries


def read_frames(root: Path, entry: Entry) -> Iterable[bytes]:
    for name in entry.frames:
        yield (root / name).read_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devtools.pad_corpus", description=__doc__)
    p.add_argument("source", type=Path, help="identity folders (../shared/faces)")
    p.add_argument("--out", type=Path, required=True, help="corpus directory")
    p.add_argument("--people", type=int, default=None)
    p.add_argument("--photos", type=int, default=2, help="photos per person (0: all)")
    p.add_argument("--repeats", type=int, default=1, help="bona-fide sequences per photo")
    p.add_argument("--frames", type=int, default=FRAMES)
    p.add_argument("--prompts", action="store_true", help="bona fide answers a challenge")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    entries = build(
        args.source,
        args.out,
        people=args.people,
        photos_per_person=args.photos or None,
        repeats=args.repeats,
        frames=args.frames,
        prompts=args.prompts,
        seed=args.seed,
        progress=lambda s: print(s, file=sys.stderr),
    )
    print(f"{len(entries)} sequences in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
