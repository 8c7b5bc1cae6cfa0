"""The ncnn engine on real photos with its shipped models: it finds faces (masked ones
too), its encodings put the same person closer than different people, every encoding
names its engine, encodings of two engines are never compared, and the face process can
run it. No timing assertions: speed is measured in docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Iterator
import functools
import hashlib
from pathlib import Path

import numpy as np
import pytest

from custom_components.community_gate.core import engines, ncnn_engine
from custom_components.community_gate.core.engines import (
    EngineMismatchError,
    TaggedEncoding,
    compare,
    engine_factory,
)
from custom_components.community_gate.core.face_worker import FaceWorker
from custom_components.community_gate.core.faces import (
    DlibEngine,
    Face,
    FaceBox,
    FaceEngine,
    FaceQualityError,
    ModelsMissingError,
    enrollment_face,
)
from custom_components.community_gate.core.gallery import Gallery
from custom_components.community_gate.core.images import load_image_file
from custom_components.community_gate.core.ncnn_engine import (
    NAME,
    TEMPLATE,
    NcnnEngine,
    similarity_transform,
    warp_affine,
)
from devtools.masks import apply_mask
from tests.core.photos import (
    face_engine,
    identity_photos,
    needs_package_photos,
    needs_shared_faces,
    package_photo,
)

SPEC = engines.spec(NAME)


@functools.cache
def ncnn() -> NcnnEngine:
    return NcnnEngine()


@functools.cache
def _faces(path: Path, upsample: int = 0) -> tuple[Face, ...]:
    return tuple(ncnn().analyse(load_image_file(path), upsample=upsample))


def largest(path: Path) -> Face:
    faces = _faces(path)
    assert faces, f"no face in {path.name}"
    return faces[0]


def cos(a: Face, b: Face) -> float:
    return float(a.encoding @ b.encoding)


# ------------------------------------------------------------------ the models
def test_shipped_models_match_their_provenance() -> None:
    text = (ncnn_engine.MODELS_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in ncnn_engine.MODEL_FILES:
        digest = hashlib.sha256((ncnn_engine.MODELS_DIR / name).read_bytes()).hexdigest()
        assert f"| `{name}` | `{digest}` |" in text, name
    for licence in ("LICENSE-YuNet-MIT.txt", "LICENSE-SFace-Apache-2.0.txt"):
        assert (ncnn_engine.MODELS_DIR / licence).is_file()


def test_missing_models_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelsMissingError) as err:
        NcnnEngine(models=tmp_path)
    assert "yunet.ncnn.param" in err.value.placeholders["files"]


def test_it_is_a_face_engine() -> None:
    engine: FaceEngine = ncnn()
    assert isinstance(engine, FaceEngine)
    assert (engine.name, engine.dims) == (NAME, 128)
    with pytest.raises(ValueError, match="upsample"):
        ncnn().detect(np.zeros((64, 64, 3), np.uint8), upsample=-1)


# ------------------------------------------------------------------ alignment (numpy)
def test_alignment_maps_the_template_onto_itself_and_warps_exactly() -> None:
    matrix = similarity_transform(TEMPLATE, TEMPLATE)
    assert np.allclose(matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    shifted = similarity_transform(TEMPLATE * 2 + 10, TEMPLATE)
    assert np.allclose(shifted, [[0.5, 0, -5], [0, 0.5, -5]], atol=1e-9)
    rng = np.random.default_rng(14)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    shift = np.array([[1.0, 0.0, -40.0], [0.0, 1.0, -30.0]])  # chip (x, y) = image (x+40, y+30)
    chip = warp_affine(image, shift, 112)
    assert np.array_equal(chip, image[30:142, 40:152])
    # Outside the image reads black.
    assert not warp_affine(image, np.array([[1.0, 0, 400.0], [0, 1.0, 0]]), 16).any()


# ------------------------------------------------------------------ detection + encoding
@needs_package_photos
@pytest.mark.parametrize("name", ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"])
def test_one_face_with_five_points_and_a_unit_encoding(name: str) -> None:
    face = largest(package_photo(name))
    assert len(_faces(package_photo(name))) == 1
    assert face.engine == NAME
    assert len(face.landmarks) == 5
    box = face.box
    for x, y in face.landmarks:
        assert box.left <= x <= box.right
        assert box.top <= y <= box.bottom
    (lx, _ly), (rx, _ry) = face.landmarks[:2]
    assert lx < rx  # image-left eye first, as the template expects
    assert face.encoding.shape == (128,)
    assert face.encoding.dtype == np.float32
    assert not face.encoding.flags.writeable
    assert abs(float(np.linalg.norm(face.encoding)) - 1.0) < 1e-5
    assert 0.6 <= face.score <= 1.0


@needs_package_photos
def test_a_cat_has_no_face_and_a_badge_is_not_one() -> None:
    assert _faces(package_photo("chelsea.png")) == ()
    assert len(_faces(package_photo("astronaut.png"))) == 1


@needs_package_photos
def test_encode_and_landmarks_from_a_given_box_agree_with_analyse() -> None:
    path = package_photo("obama.jpg")
    rgb = load_image_file(path)
    face = largest(path)
    # Found again on a margin around the box, so at another scale: close, not equal.
    again = np.array(ncnn().landmarks(rgb, face.box), dtype=float)
    first = np.array(face.landmarks, dtype=float)
    eyes = float(np.linalg.norm(first[1] - first[0]))
    assert np.linalg.norm(again - first, axis=1).max() < 0.1 * eyes
    assert float(ncnn().encode(rgb, face.box) @ face.encoding) > 0.95
    with pytest.raises(ValueError, match="no face"):
        ncnn().encode(rgb, FaceBox(0, 60, 60, 0))  # a corner of the background


@needs_package_photos
def test_same_person_closer_than_different_people() -> None:
    obamas = [largest(package_photo(n)) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    biden = largest(package_photo("biden.jpg"))
    same = [cos(a, b) for i, a in enumerate(obamas) for b in obamas[i + 1 :]]
    other = [cos(a, biden) for a in obamas]
    assert min(same) > max(other)
    assert all(SPEC.accepts(s) for s in same)
    assert not any(SPEC.accepts(s) for s in other)


@needs_shared_faces
def test_shared_identities_same_person_closer_than_different_people() -> None:
    people = identity_photos()
    encoded = {
        person: [largest(p) for p in paths] for person, paths in people.items() if len(paths) >= 3
    }
    genuine = [
        cos(a, b) for faces in encoded.values() for i, a in enumerate(faces) for b in faces[i + 1 :]
    ]
    names = list(encoded)
    impostor = [
        cos(a, b)
        for i, p in enumerate(names)
        for q in names[i + 1 :]
        for a in encoded[p]
        for b in encoded[q]
    ]
    assert np.median(genuine) > np.percentile(impostor, 99.9)
    # Each photo's nearest other photo is of the same person (1:N over the whole set).
    flat = [(p, f) for p, faces in encoded.items() for f in faces]
    right = sum(
        max(
            ((cos(f, g), q) for j, (q, g) in enumerate(flat) if j != i),
            key=lambda item: item[0],
        )[1]
        == p
        for i, (p, f) in enumerate(flat)
    )
    assert right / len(flat) >= 0.97


# ------------------------------------------------------------------ masks
MASKED_PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")


@functools.cache
def _masked(name: str) -> tuple[Face, ...]:
    """The photo with a synthetic surgical mask drawn from dlib's 68 points (the same
    deterministic masks as the accuracy tool), analysed by the ncnn engine."""
    rgb = load_image_file(package_photo(name))
    box = max(face_engine().detect(rgb, upsample=1), key=lambda b: b.area)
    masked = apply_mask(rgb, face_engine().landmarks(rgb, box))
    return tuple(ncnn().analyse(masked))


@needs_package_photos
@pytest.mark.parametrize("name", MASKED_PHOTOS)
def test_masked_faces_are_found(name: str) -> None:
    faces = _masked(name)
    assert len(faces) == 1
    plain = largest(package_photo(name))
    overlap = FaceBox(
        max(faces[0].box.top, plain.box.top),
        min(faces[0].box.right, plain.box.right),
        min(faces[0].box.bottom, plain.box.bottom),
        max(faces[0].box.left, plain.box.left),
    ).area
    assert overlap > 0.6 * plain.box.area


@needs_package_photos
def test_a_masked_face_is_still_closer_to_its_own_person() -> None:
    obama = [largest(package_photo(n)) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    biden = largest(package_photo("biden.jpg"))
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
        probe = _masked(name)[0]
        others = [f for f, n in zip(obama, MASKED_PHOTOS, strict=False) if n != name]
        assert min(cos(probe, f) for f in others) > cos(probe, biden)
    masked_biden = _masked("biden.jpg")[0]
    assert cos(masked_biden, biden) > max(cos(masked_biden, f) for f in obama)


# ------------------------------------------------------------------ engines never mix
@needs_package_photos
def test_encodings_are_tagged_and_engines_never_compared() -> None:
    path = package_photo("obama.jpg")
    mine = largest(path)
    dlib_face = face_engine().analyse(load_image_file(path))[0]
    assert (mine.engine, dlib_face.engine) == (NAME, DlibEngine.name)
    with pytest.raises(EngineMismatchError) as err:
        compare(
            TaggedEncoding(mine.engine, mine.encoding),
            TaggedEncoding(dlib_face.engine, dlib_face.encoding),
        )
    assert err.value.code == "face_engine_mismatch"
    score, accepted = compare(
        TaggedEncoding(NAME, mine.encoding), TaggedEncoding(NAME, mine.encoding)
    )
    assert accepted
    assert score == pytest.approx(1.0, abs=1e-6)
    dlib_score, dlib_accepted = compare(
        TaggedEncoding(dlib_face.engine, dlib_face.encoding),
        TaggedEncoding(dlib_face.engine, dlib_face.encoding),
    )
    assert dlib_accepted
    assert dlib_score == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(EngineMismatchError):
        engines.spec("no_such_engine")
    with pytest.raises(EngineMismatchError):
        SPEC.score(mine.encoding[:64], mine.encoding[:64])


def test_per_engine_metric_and_threshold() -> None:
    dlib_spec = engines.spec(DlibEngine.name)
    assert (dlib_spec.metric, dlib_spec.threshold) == (engines.EUCLIDEAN, 0.55)
    assert dlib_spec.gallery_threshold == 0.55
    assert SPEC.metric == engines.COSINE
    assert SPEC.accepts(SPEC.threshold)
    assert not SPEC.accepts(SPEC.threshold - 0.01)
    # On unit vectors the gallery's euclidean cut decides exactly like the cosine one.
    rng = np.random.default_rng(3)
    for _ in range(200):
        a, b = rng.normal(size=(2, 128))
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        assert (np.linalg.norm(a - b) <= SPEC.gallery_threshold) == SPEC.accepts(float(a @ b))


@needs_package_photos
def test_the_gallery_matches_ncnn_encodings_with_the_equivalent_threshold() -> None:
    gallery = Gallery(SPEC.dims, threshold=SPEC.gallery_threshold)
    gallery.add("t-obama", "obama", largest(package_photo("obama.jpg")).encoding)
    gallery.add("t-biden", "biden", largest(package_photo("biden.jpg")).encoding)
    match = gallery.match(largest(package_photo("obama2.jpg")).encoding)
    assert match.accepted
    assert match.person_id == "obama"
    stranger = _faces(package_photo("astronaut.png"))[0]
    assert not gallery.match(stranger.encoding).accepted


# ------------------------------------------------------------------ enrollment + worker
@needs_package_photos
def test_enrollment_quality_gate_runs_on_the_ncnn_engine() -> None:
    face = enrollment_face(ncnn(), load_image_file(package_photo("obama.jpg")))
    assert face.engine == NAME
    with pytest.raises(FaceQualityError) as err:
        enrollment_face(ncnn(), load_image_file(package_photo("chelsea.png")))
    assert err.value.why == "no_face"


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    w = FaceWorker(engine_factory(NAME))
    yield w
    w.stop()


@needs_package_photos
def test_the_face_process_runs_the_ncnn_engine(worker: FaceWorker) -> None:
    assert worker.ping() == NAME
    faces = worker.analyse(package_photo("obama.jpg").read_bytes())
    assert len(faces) == 1
    assert faces[0].engine == NAME
    assert float(faces[0].encoding @ largest(package_photo("obama.jpg")).encoding) > 0.999
    enrolled = worker.enroll(package_photo("obama2.jpg").read_bytes())
    assert enrolled.engine == NAME
    with pytest.raises(FaceQualityError):
        worker.enroll(package_photo("chelsea.png").read_bytes())


def test_an_unknown_engine_name_fails_in_the_parent() -> None:
    with pytest.raises(EngineMismatchError):
        engine_factory("ncnn_typo")
