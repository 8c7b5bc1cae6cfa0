"""Where the face test photos are, and clear skips when they are not.

Two sources, neither committed:

* **package photos** — ``.cache/test-photos/`` in the repository, filled by
  ``scripts/fetch_photos`` (run by ``scripts/setup``) from two PyPI packages: the
  ``face_recognition==1.3.0`` source package's ``tests/test_images/`` (``obama.jpg``,
  ``obama2.jpg``, ``obama3.jpg``: three photos of one person; ``biden.jpg``: another
  person; ``obama_partial_face*.jpg``; ``32bit.png``: an RGBA PNG) and scikit-image's wheel
  (``astronaut.png``: one face and a round mission patch HOG mistakes for a face;
  ``chelsea.png``: a cat, no face). Present on any clone once set up.
* **shared faces** — ``../shared/faces/`` beside the clone (this machine and CI):
  ``<identity>/<n>.jpg|png`` plus ``_multi_face``, ``_no_face``, ``_edge_cases`` and
  ``manifest.csv``. Absent on a user's machine: tests that need it skip.

Helpers: ``package_photos()`` / ``shared_faces()`` return the folder or None;
``package_photo(name)`` / ``require_shared_faces()`` return it or skip the test with the
reason; ``needs_package_photos`` / ``needs_shared_faces`` are skip markers;
``identity_photos()`` lists the shared identities; ``face_engine()`` is one
process-wide ``DlibEngine`` (loading the models takes about a second);
``photo_faces()`` / ``largest_face()`` analyse a photo once per process (an encoding
costs ~0.1-0.15 s); ``import_face_recognition()`` imports the reference library safely.
"""

from __future__ import annotations

import csv
import functools
import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
import warnings

import pytest

if TYPE_CHECKING:
    from custom_components.community_gate.core.faces import DlibEngine, Face

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_PHOTOS_DIR = REPO_ROOT / ".cache" / "test-photos"
SHARED_FACES_DIR = REPO_ROOT.parent / "shared" / "faces"

# What scripts/fetch_photos puts in the cache.
FACE_RECOGNITION_PHOTOS = (
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
    "32bit.png",
)
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png")
PACKAGE_FILES = FACE_RECOGNITION_PHOTOS + SKIMAGE_PHOTOS

NO_PACKAGE_PHOTOS = (
    f"test photos not fetched into {PACKAGE_PHOTOS_DIR}: run scripts/fetch_photos"
    " (downloads the face_recognition source package and a scikit-image wheel from PyPI)"
)
NO_SHARED_FACES = (
    f"shared face set not found at {SHARED_FACES_DIR} (../shared/faces beside the clone:"
    " present on the dev machine and in CI, not on a user's machine)"
)


def package_photos() -> Path | None:
    """The fetched package photos folder, or None if any file is missing."""
    if all((PACKAGE_PHOTOS_DIR / name).is_file() for name in PACKAGE_FILES):
        return PACKAGE_PHOTOS_DIR
    return None


def shared_faces() -> Path | None:
    """``../shared/faces`` relative to the repository root, or None."""
    if (SHARED_FACES_DIR / "manifest.csv").is_file():
        return SHARED_FACES_DIR
    return None


def require_package_photos() -> Path:
    root = package_photos()
    if root is None:
        pytest.skip(NO_PACKAGE_PHOTOS)
    return root


def package_photo(name: str) -> Path:
    """One package photo by file name (e.g. ``"biden.jpg"``), or skip."""
    if name not in PACKAGE_FILES:
        raise ValueError(f"not a fetched package photo: {name}")
    return require_package_photos() / name


def require_shared_faces() -> Path:
    root = shared_faces()
    if root is None:
        pytest.skip(NO_SHARED_FACES)
    return root


def shared_photo(relative: str) -> Path:
    """One shared photo, e.g. ``"barack_obama/4.jpg"``, or skip."""
    path = require_shared_faces() / relative
    if not path.is_file():
        pytest.skip(f"{relative} missing from {SHARED_FACES_DIR}")
    return path


needs_package_photos = pytest.mark.skipif(package_photos() is None, reason=NO_PACKAGE_PHOTOS)
needs_shared_faces = pytest.mark.skipif(shared_faces() is None, reason=NO_SHARED_FACES)


def identity_photos(root: Path | None = None) -> dict[str, list[Path]]:
    """Shared identities (folders not starting with ``_``) -> photos, sorted by number."""
    base = root if root is not None else require_shared_faces()
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("_")):
        photos = [p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}]
        out[folder.name] = sorted(photos, key=lambda p: (int(p.stem) if p.stem.isdigit() else 0, p))
    return out


def shared_manifest(root: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``manifest.csv`` (file, identity, category, expected_faces, hog_faces...)."""
    base = root if root is not None else require_shared_faces()
    with (base / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def face_engine() -> DlibEngine:
    """One engine per test process (HOG, default settings), or skip if the models are
    not installed."""
    from custom_components.community_gate.core.faces import DlibEngine, ModelsMissingError

    try:
        return DlibEngine()
    except ModelsMissingError as err:
        pytest.skip(f"face models not installed: {err}")


@functools.cache
def _photo_faces(path: Path, upsample: int) -> tuple[Face, ...]:
    from custom_components.community_gate.core.images import load_image_file

    return tuple(face_engine().analyse(load_image_file(path), upsample=upsample))


def photo_faces(path: Path, upsample: int = 0) -> list[Face]:
    """``face_engine().analyse`` of a photo file, computed once per process."""
    return list(_photo_faces(path, upsample))


def largest_face(path: Path) -> Face:
    """The largest face of a photo (HOG upsample 1 for photos under 400 px, where faces
    can be under HOG's 80 px window, else 0). Fails the test if there is none."""
    from PIL import Image

    with Image.open(path) as im:
        upsample = 1 if max(im.size) < 400 else 0
    found = photo_faces(path, upsample)
    assert found, f"no face found in {path}"
    return max(found, key=lambda f: f.box.area)


def import_face_recognition() -> ModuleType:
    """The reference ``face_recognition`` package, or skip.

    Its import calls ``quit()`` (SystemExit) when ``face_recognition_models`` cannot be
    imported, and it sets Pillow's process-wide ``LOAD_TRUNCATED_IMAGES`` to True, which
    would make truncated images decode silently in every later test: restored here.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        with warnings.catch_warnings():
            # face_recognition_models: "pkg_resources is deprecated"
            warnings.simplefilter("ignore", UserWarning)
            module = importlib.import_module("face_recognition")
    except (ImportError, SystemExit) as err:
        pytest.skip(f"reference face_recognition not importable: {err!r}")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return module
