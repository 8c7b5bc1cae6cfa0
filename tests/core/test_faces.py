"""core.faces on real photos and the real dlib models: no mocks.

Package photos (``scripts/fetch_photos``) drive the core cases on any clone; the shared
set (``../shared/faces``) adds detection counts, the known HOG false positives and more
agreement checks where it exists. Encoding costs ~0.1-0.15 s per face, so analyses are
cached per test session and each test encodes as little as it can.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
import subprocess
import sys

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter
import pytest

from custom_components.community_gate.core import faces as faces_mod
from custom_components.community_gate.core.errors import CoreError, InvalidValueError
from custom_components.community_gate.core.faces import (
    DEFAULT_THRESHOLD,
    MAX_LANDMARK_DISAGREEMENT,
    MIN_DETAIL,
    MODEL_FILES,
    DlibEngine,
    Face,
    FaceBox,
    FaceEngine,
    FaceQualityError,
    ModelsMissingError,
    check_enrollment,
    enrollment_face,
    face_brightness,
    face_detail,
    face_distance,
    face_sharpness,
    landmark_disagreement,
    models_dir,
    plausible_face,
)
from custom_components.community_gate.core.images import load_image_file, resize_max
from tests.core.photos import (
    REPO_ROOT,
    face_engine,
    import_face_recognition,
    needs_package_photos,
    needs_shared_faces,
    package_photo,
    photo_faces,
    require_shared_faces,
    shared_manifest,
    shared_photo,
)

RGB = npt.NDArray[np.uint8]


@pytest.fixture(scope="session")
def engine() -> DlibEngine:
    return face_engine()


def transformed(path: Path, change: Callable[[RGB], RGB]) -> RGB:
    return np.ascontiguousarray(change(load_image_file(path)), dtype=np.uint8)


# ------------------------------------------------------------------ basics
def test_core_modules_never_import_homeassistant_or_face_recognition() -> None:
    core = REPO_ROOT / "custom_components" / "community_gate" / "core"
    for name in ("faces.py", "images.py", "gallery.py"):
        tree = ast.parse((core / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & {"homeassistant", "face_recognition", "face_recognition_models"}


def test_engine_loads_without_the_reference_packages() -> None:
    """In a fresh process, with core/ loaded as a bare package (no integration
    ``__init__``): the engine works, and neither Home Assistant nor face_recognition
    nor face_recognition_models (whose import needs pkg_resources) is imported."""
    core = REPO_ROOT / "custom_components" / "community_gate" / "core"
    code = (
        "import importlib, sys, types\n"
        "import numpy as np\n"
        "pkg = types.ModuleType('cg_core')\n"
        "pkg.__path__ = [sys.argv[1]]\n"
        "sys.modules['cg_core'] = pkg\n"
        "faces = importlib.import_module('cg_core.faces')\n"
        "importlib.import_module('cg_core.gallery')\n"
        "e = faces.DlibEngine()\n"
        "assert e.detect(np.zeros((64, 64, 3), np.uint8)) == []\n"
        "bad = [m for m in ('homeassistant', 'face_recognition', 'face_recognition_models')\n"
        "       if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(core)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_models_dir() -> None:
    folder = models_dir()
    for name in MODEL_FILES:
        assert (folder / name).is_file()


def test_models_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelsMissingError) as info:
        DlibEngine(models=tmp_path)
    err = info.value
    assert isinstance(err, CoreError)
    assert err.code == "face_models_missing"
    assert "shape_predictor_68_face_landmarks.dat" in err.placeholders["files"]


def test_engine_settings_validated() -> None:
    with pytest.raises(ValueError, match="num_jitters"):
        DlibEngine(num_jitters=0)


def test_engine_refuses_arrays_that_are_not_rgb(engine: DlibEngine) -> None:
    with pytest.raises(ValueError, match="RGB"):
        engine.detect(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        engine.detect(np.zeros((10, 10, 3), dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="upsample"):
        engine.detect(np.zeros((10, 10, 3), dtype=np.uint8), upsample=-1)


def test_engine_satisfies_the_protocol(engine: DlibEngine) -> None:
    assert isinstance(engine, FaceEngine)
    assert engine.dims == 128
    assert engine.name == "dlib_resnet_v1"


def test_facebox() -> None:
    box = FaceBox(top=10, right=110, bottom=130, left=20)
    assert (box.width, box.height, box.area) == (90, 120, 10800)
    assert box.rescaled(2.0) == FaceBox(20, 220, 260, 40)
    assert box.rescaled(0.5).rescaled(2.0) == box
    assert FaceBox(5, 0, 0, 5).area == 0


def test_face_distance() -> None:
    a = np.zeros(128, dtype=np.float32)
    b = np.zeros(128, dtype=np.float32)
    b[0], b[1] = 0.3, 0.4
    assert face_distance(a, b) == pytest.approx(0.5)
    assert face_distance(b, a) == face_distance(a, b)
    assert face_distance(b, b) == 0.0


def test_threshold_is_stricter_than_dlibs_default() -> None:
    assert 0.4 < DEFAULT_THRESHOLD < 0.6


# ----------------------------------------------------- agreement with reference
AGREEMENT_PACKAGE = [("obama.jpg", 0), ("biden.jpg", 0), ("32bit.png", 0), ("astronaut.png", 1)]
AGREEMENT_SHARED = [
    ("steve_wozniak/5.jpg", 0),  # low light
    ("kit_harington/3.jpg", 0),  # nearly monochrome, costume
    ("john_simm/1.jpg", 1),  # 150 px face chip
    ("_edge_cases/4.jpg", 1),  # letterboxed 427x240, small face
]


def _assert_agrees(engine: DlibEngine, path: Path, upsample: int) -> None:
    fr = import_face_recognition()
    rgb = load_image_file(path)
    ref_img = fr.load_image_file(str(path))
    assert np.array_equal(rgb, ref_img), "decoders disagree"
    boxes = engine.detect(rgb, upsample=upsample)
    ref_boxes = fr.face_locations(ref_img, number_of_times_to_upsample=upsample)
    assert sorted((b.top, b.right, b.bottom, b.left) for b in boxes) == sorted(ref_boxes)
    assert boxes, "no face to compare"
    box = max(boxes, key=lambda b: b.area)
    css = (box.top, box.right, box.bottom, box.left)
    ours = engine.encode(rgb, box)
    ref = fr.face_encodings(ref_img, known_face_locations=[css])[0]
    assert ours.dtype == np.float32
    assert ours.shape == (128,)
    assert np.abs(ours.astype(np.float64) - ref).max() < 1e-5
    assert face_distance(ours, ref) < 1e-4
    points = engine.landmarks(rgb, box)
    ref_points = fr.face_landmarks(ref_img, face_locations=[css])[0]
    assert list(points[0:17]) == ref_points["chin"]
    assert list(points[31:36]) == ref_points["nose_tip"]
    assert list(points[36:42]) == ref_points["left_eye"]
    assert list(points[42:48]) == ref_points["right_eye"]
    five = engine.landmarks5(rgb, box)
    ref_five = fr.face_landmarks(ref_img, face_locations=[css], model="small")[0]
    assert list(five[0:2]) == ref_five["right_eye"]
    assert list(five[4:5]) == ref_five["nose_tip"]


@needs_package_photos
@pytest.mark.parametrize(("name", "upsample"), AGREEMENT_PACKAGE)
def test_encodings_agree_with_face_recognition_package_photos(
    engine: DlibEngine, name: str, upsample: int
) -> None:
    _assert_agrees(engine, package_photo(name), upsample)


@needs_shared_faces
@pytest.mark.parametrize(("relative", "upsample"), AGREEMENT_SHARED)
def test_encodings_agree_with_face_recognition_shared_photos(
    engine: DlibEngine, relative: str, upsample: int
) -> None:
    _assert_agrees(engine, shared_photo(relative), upsample)


# ------------------------------------------------------------------ detection
@needs_shared_faces
def test_detection_counts_match_the_manifest(engine: DlibEngine) -> None:
    """_multi_face and _no_face at upsample 1 (as the manifest's sanity check), and the
    false-positive filter keeps every face of the group photos."""
    root = require_shared_faces()
    rows = [r for r in shared_manifest(root) if r["category"] in {"multi_face", "no_face"}]
    assert len(rows) == 15
    for row in rows:
        rgb = load_image_file(root / row["file"])
        scored = engine.detect_scored(rgb, upsample=1)
        assert len(scored) == int(row["hog_faces"]), row["file"]
        for box, _score in scored:
            points = engine.landmarks(rgb, box)
            assert plausible_face(rgb, box, points, engine.landmarks5(rgb, box)), row["file"]


@needs_shared_faces
def test_no_face_photos_give_no_faces(engine: DlibEngine) -> None:
    root = require_shared_faces()
    for path in sorted((root / "_no_face").iterdir()):
        assert engine.analyse(load_image_file(path)) == [], path.name


@needs_shared_faces
@pytest.mark.parametrize("relative", ["barack_obama/4.jpg", "paul_allen/2.jpg"])
def test_false_positive_on_lights_filtered(engine: DlibEngine, relative: str) -> None:
    """HOG at upsample 1 also fires on a blurred chandelier / bokeh light spot."""
    rgb = load_image_file(shared_photo(relative))
    boxes = engine.detect(rgb, upsample=1)
    assert len(boxes) == 2
    real, fake = sorted(boxes, key=lambda b: b.area, reverse=True)
    assert plausible_face(rgb, real, engine.landmarks(rgb, real), engine.landmarks5(rgb, real))
    assert not plausible_face(rgb, fake, engine.landmarks(rgb, fake), engine.landmarks5(rgb, fake))
    assert face_detail(rgb, fake) < MIN_DETAIL <= face_detail(rgb, real)


@needs_shared_faces
def test_analyse_encodes_only_the_real_face(engine: DlibEngine) -> None:
    found = photo_faces(shared_photo("paul_allen/2.jpg"), upsample=1)
    assert len(found) == 1
    assert found[0].box.width > 400


@needs_package_photos
def test_false_positive_on_a_badge_filtered(engine: DlibEngine) -> None:
    """astronaut.png: HOG at upsample 1 also fires on the round mission patch (sharp,
    so detail does not catch it; the two landmark models disagree on it)."""
    rgb = load_image_file(package_photo("astronaut.png"))
    boxes = sorted(engine.detect(rgb, upsample=1), key=lambda b: b.top)
    assert len(boxes) == 2
    face, patch = boxes
    assert (
        landmark_disagreement(engine.landmarks(rgb, patch), engine.landmarks5(rgb, patch))
        > MAX_LANDMARK_DISAGREEMENT
    )
    assert (
        landmark_disagreement(engine.landmarks(rgb, face), engine.landmarks5(rgb, face))
        < MAX_LANDMARK_DISAGREEMENT / 2
    )
    found = photo_faces(package_photo("astronaut.png"), upsample=1)
    assert [f.box for f in found] == [face]


@needs_package_photos
def test_face_record(engine: DlibEngine) -> None:
    (face,) = photo_faces(package_photo("obama.jpg"))
    assert len(face.landmarks) == 68
    assert all(isinstance(c, int) for point in face.landmarks for c in point)
    assert face.encoding.dtype == np.float32
    assert face.encoding.shape == (128,)
    assert not face.encoding.flags.writeable
    assert face.score > 0
    # identity semantics: comparing arrays field by field would raise
    assert face != Face(face.box, face.landmarks, face.encoding, face.score)
    assert len({face, face}) == 1
    assert face.box.left < face.landmarks[30][0] < face.box.right


@needs_shared_faces
def test_max_faces_keeps_the_largest(engine: DlibEngine) -> None:
    rgb = load_image_file(shared_photo("_multi_face/5.jpg"))
    boxes = engine.detect(rgb)
    assert len(boxes) == 3
    (only,) = engine.analyse(rgb, max_faces=1)
    assert only.box == max(boxes, key=lambda b: b.area)


@needs_package_photos
def test_faces_from_a_downscaled_detection(engine: DlibEngine) -> None:
    """Detect on a small frame (cheap), encode on the full one: same face."""
    path = package_photo("obama.jpg")
    rgb = load_image_file(path)
    small, scale = resize_max(rgb, 480)
    candidates = [(b.rescaled(1 / scale), s) for b, s in engine.detect_scored(small)]
    (face,) = engine.faces_from(rgb, candidates)
    (direct,) = photo_faces(path)
    assert face_distance(face.encoding, direct.encoding) < 0.1


@needs_package_photos
def test_cnn_detector(engine: DlibEngine) -> None:
    cnn = DlibEngine(use_cnn=True)
    rgb, _scale = resize_max(load_image_file(package_photo("obama.jpg")), 320)
    (box,) = cnn.detect(rgb)
    (hog_box,) = engine.detect(rgb)
    overlap_x = min(box.right, hog_box.right) - max(box.left, hog_box.left)
    assert overlap_x > 0.5 * hog_box.width
    assert face_distance(cnn.encode(rgb, box), engine.encode(rgb, hog_box)) < 0.15


# ------------------------------------------------------------- enrollment
def _reason(rgb: RGB, found: list[Face]) -> str:
    with pytest.raises(FaceQualityError) as info:
        check_enrollment(rgb, found)
    err = info.value
    assert isinstance(err, InvalidValueError)
    assert err.code == "face_quality"
    assert err.placeholders["why"] == err.why
    return err.why


@needs_package_photos
def test_enrollment_accepts_a_good_photo() -> None:
    path = package_photo("obama.jpg")
    rgb = load_image_file(path)
    found = photo_faces(path)
    assert check_enrollment(rgb, found) is found[0]
    # the measurements behind the checks, for the record
    box = found[0].box
    assert face_sharpness(rgb, box) > faces_mod.MIN_SHARPNESS
    assert faces_mod.MIN_BRIGHTNESS < face_brightness(rgb, box) < faces_mod.MAX_BRIGHTNESS


@needs_package_photos
def test_enrollment_no_face() -> None:
    path = package_photo("chelsea.png")  # a cat
    found = photo_faces(path, upsample=1)
    assert found == []
    assert _reason(load_image_file(path), found) == "no_face"


@needs_package_photos
def test_enrollment_several_faces(engine: DlibEngine) -> None:
    left = Image.open(package_photo("obama.jpg")).convert("RGB")
    right = Image.open(package_photo("biden.jpg")).convert("RGB")
    height = 600
    left = left.resize((round(left.width * height / left.height), height))
    right = right.resize((round(right.width * height / right.height), height))
    both = Image.new("RGB", (left.width + right.width, height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    rgb = np.asarray(both).copy()
    found = engine.analyse(rgb, max_faces=2)
    assert len(found) == 2
    assert _reason(rgb, found) == "several_faces"


@needs_shared_faces
def test_enrollment_several_faces_in_a_real_photo() -> None:
    path = shared_photo("_multi_face/1.jpg")  # Kit Harington and Rose Leslie
    found = photo_faces(path)
    assert len(found) == 2
    assert _reason(load_image_file(path), found) == "several_faces"


@needs_package_photos
def test_enrollment_face_too_small(engine: DlibEngine) -> None:
    rgb = transformed(
        package_photo("obama.jpg"),
        lambda a: np.asarray(Image.fromarray(a).resize((a.shape[1] // 5, a.shape[0] // 5))),
    )
    found = engine.analyse(rgb, upsample=1)
    assert len(found) == 1
    assert found[0].box.width < faces_mod.MIN_FACE_PX
    assert _reason(rgb, found) == "face_too_small"


@needs_package_photos
def test_enrollment_face_too_small_is_configurable() -> None:
    path = package_photo("obama.jpg")
    with pytest.raises(FaceQualityError) as info:
        check_enrollment(load_image_file(path), photo_faces(path), min_face_px=1000)
    assert info.value.why == "face_too_small"
    assert "1000" in info.value.placeholders["detail"]


@needs_package_photos
def test_enrollment_too_dark(engine: DlibEngine) -> None:
    rgb = transformed(package_photo("obama.jpg"), lambda a: (a * 0.12).astype(np.uint8))
    found = engine.analyse(rgb)
    assert len(found) == 1
    assert _reason(rgb, found) == "too_dark"


@needs_package_photos
def test_enrollment_too_bright(engine: DlibEngine) -> None:
    rgb = transformed(
        package_photo("obama.jpg"), lambda a: 255 - (255 - a.astype(np.float32)) * 0.3
    )
    with pytest.raises(FaceQualityError) as info:
        enrollment_face(engine, rgb, upsample=0)
    assert info.value.why == "too_bright"


def _blurred(path: Path, fraction: float) -> RGB:
    (sharp,) = photo_faces(path)
    radius = fraction * sharp.box.width  # Gaussian sigma as a fraction of the face width
    return transformed(
        path, lambda a: np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(radius)))
    )


@needs_package_photos
def test_enrollment_too_blurred(engine: DlibEngine) -> None:
    rgb = _blurred(package_photo("obama.jpg"), 0.02)
    found = engine.analyse(rgb)
    assert len(found) == 1
    assert _reason(rgb, found) == "too_blurred"


@needs_package_photos
def test_enrollment_says_blurred_when_the_filter_dropped_the_face(engine: DlibEngine) -> None:
    """A face blurred this much is not worth an encoding at a gate, so analyse drops it;
    enrollment still names the reason instead of "no face"."""
    rgb = _blurred(package_photo("obama.jpg"), 0.04)
    assert engine.analyse(rgb) == []
    (box,) = engine.detect(rgb)
    assert _reason(rgb, []) == "no_face"
    with pytest.raises(FaceQualityError) as info:
        check_enrollment(rgb, [], candidates=[box])
    assert info.value.why == "too_blurred"
    with pytest.raises(FaceQualityError) as info:
        enrollment_face(engine, rgb, upsample=0)
    assert info.value.why == "too_blurred"


@needs_package_photos
def test_enrollment_face_helper_accepts_a_good_photo(engine: DlibEngine) -> None:
    path = package_photo("biden.jpg")
    face = enrollment_face(engine, load_image_file(path), upsample=0)
    (direct,) = photo_faces(path)
    assert face.box == direct.box
    assert np.array_equal(face.encoding, direct.encoding)


@needs_package_photos
def test_enrollment_dark_face_still_photo_faces(engine: DlibEngine) -> None:
    """The false-positive filter is exposure-independent: a dim face at a gate at night
    is still encoded (and still matches)."""
    path = package_photo("obama.jpg")
    rgb = transformed(path, lambda a: (a * 0.3).astype(np.uint8))
    (dim,) = engine.analyse(rgb)
    (bright,) = photo_faces(path)
    assert face_distance(dim.encoding, bright.encoding) < DEFAULT_THRESHOLD / 2
