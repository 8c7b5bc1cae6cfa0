"""The gate's face decision (core/recognition.py) with the default engine's real models
and real photos: a resident's other photo is accepted as them, a person not enrolled is
refused, the bar tightens as more people may pass, a masked face is recognised through a
masked reference. Photos from ../shared/faces (skipped with the reason when absent)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from custom_components.community_gate.core import engines, ncnn_engine
from custom_components.community_gate.core.errors import InvalidValueError
from custom_components.community_gate.core.faces import Encoding, ModelsMissingError
from custom_components.community_gate.core.gallery import AMBIGUOUS, MATCH, NO_MATCH
from custom_components.community_gate.core.images import load_image_file
from custom_components.community_gate.core.model import FaceVariant
from custom_components.community_gate.core.recognition import Recogniser
from devtools.masks import apply_mask
from tests.core.photos import largest_face, needs_shared_faces, shared_photo

SPEC = engines.spec(ncnn_engine.NAME)
DLIB = engines.spec("dlib_resnet_v1")


@functools.cache
def _engine() -> ncnn_engine.NcnnEngine:
    try:
        return ncnn_engine.NcnnEngine()
    except ModelsMissingError as err:
        pytest.skip(f"ncnn engine unavailable: {err}")


@functools.cache
def encoding(relative: str, masked: bool = False) -> Encoding:
    """The camera path's encoding of a shared photo (largest face, upsample 0); masked:
    the synthetic mask drawn from dlib's 68 points first."""
    path: Path = shared_photo(relative)
    rgb = load_image_file(path)
    if masked:
        rgb = apply_mask(rgb, largest_face(path).landmarks)
    faces = _engine().analyse(rgb)
    assert faces, f"no face in {relative}"
    return faces[0].encoding


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, SPEC.dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def at_cosine(ref: np.ndarray, cos: float) -> np.ndarray:
    """A unit vector at exactly ``cos`` from the unit vector ``ref``."""
    other = unit_vectors(1, seed=7)[0]
    other -= (other @ ref) * ref
    other /= np.linalg.norm(other)
    return (cos * ref + np.sqrt(1 - cos**2) * other).astype(np.float32)


def with_distractors(rec: Recogniser, n: int) -> Recogniser:
    for i, v in enumerate(unit_vectors(n, seed=1)):
        rec.plain.add(f"d{i}", f"distractor-{i}", v)
    return rec


# ------------------------------------------------------------- real photos
@needs_shared_faces
def test_a_residents_other_photo_is_accepted_as_them_and_a_stranger_is_refused() -> None:
    rec = Recogniser(SPEC)
    rec.plain.add("r1", "resident", encoding("john_savage/1.jpg"))
    rec.plain.add("r2", "neighbour", encoding("barack_obama/1.jpg"))
    match = rec.classify(encoding("john_savage/2.jpg"))
    assert (match.accepted, match.person_id, match.reason) == (True, "resident", MATCH)
    # Another person of the set, never enrolled.
    stranger = rec.classify(encoding("paul_allen/2.jpg"))
    assert not stranger.accepted
    assert stranger.matched_person is None


@needs_shared_faces
def test_a_masked_resident_is_accepted_through_a_masked_reference() -> None:
    rec = Recogniser(SPEC)
    rec.masked.add("m1", "resident", encoding("john_savage/1.jpg", masked=True))
    rec.plain.add("p2", "neighbour", encoding("barack_obama/1.jpg"))
    match = rec.classify(encoding("john_savage/3.jpg", masked=True))
    assert (match.accepted, match.person_id, match.embedding_id) == (True, "resident", "m1")
    # The masked reference has its own bar, at least as strict as the plain one.
    bars = rec.bars(None)
    assert bars.masked <= bars.plain
    assert not rec.classify(encoding("paul_allen/2.jpg", masked=True)).accepted


# ------------------------------------------------------------------ the bar
@pytest.mark.parametrize("spec", [SPEC, DLIB], ids=lambda s: s.name)
def test_the_bar_tightens_as_more_people_may_pass(spec: engines.EngineSpec) -> None:
    rec = Recogniser(spec)
    for i in range(2000):
        rec.plain.add(f"e{i}", f"p{i}", np.full(spec.dims, i / 2000, np.float32))
    one, everyone = rec.bars(frozenset({"p0"})), rec.bars(None)
    assert (one.people, everyone.people) == (1, 2000)
    assert everyone.plain < one.plain  # a stricter euclidean distance
    assert one.plain <= spec.gallery_threshold  # never looser than the pair threshold
    # People in the scope without a reference do not loosen or tighten it.
    assert rec.bars(frozenset({"p0", "not-enrolled"})) == one


def test_scope_of_one_accepts_what_the_whole_estate_refuses() -> None:
    rec = with_distractors(Recogniser(SPEC), 1999)
    resident = unit_vectors(1, seed=3)[0]
    rec.plain.add("r", "resident", resident)
    one = SPEC.threshold_for(1, engines.STRICTNESS["standard"])
    everyone = SPEC.threshold_for(2000, engines.STRICTNESS["standard"])
    assert one < everyone  # cosine: the bar for 2,000 people is higher
    probe = at_cosine(resident, (one + everyone) / 2)
    accepted = rec.classify(probe, frozenset({"resident"}))
    assert (accepted.accepted, accepted.person_id) == (True, "resident")
    refused = rec.classify(probe, None)
    assert (refused.accepted, refused.person_id, refused.reason) == (False, "resident", NO_MATCH)


def test_card_and_face_verifies_one_to_one_whatever_the_scope() -> None:
    """At a card + face gate the card names the person: the face is held to the bar of
    one candidate, not of everyone who may pass (a masked or tired face gets through
    with its card where the 1:N bar of a large estate refuses it)."""
    rec = with_distractors(Recogniser(SPEC), 1999)
    resident = unit_vectors(1, seed=3)[0]
    rec.plain.add("r", "resident", resident)
    verify, everyone = rec.bars(None, verify=True), rec.bars(None)
    assert (verify.people, everyone.people) == (1, 2000)
    assert verify == rec.bars(frozenset({"resident"}))
    one = SPEC.threshold_for(1, engines.STRICTNESS["standard"])
    everyone_cos = SPEC.threshold_for(2000, engines.STRICTNESS["standard"])
    probe = at_cosine(resident, (one + everyone_cos) / 2)
    assert rec.classify_with(probe, verify).person_id == "resident"
    assert rec.classify_with(probe, verify).accepted
    assert not rec.classify_with(probe, everyone).accepted


def test_a_card_named_resident_is_verified_one_to_one_past_a_look_alike() -> None:
    """Card first at a card + face gate: the face is checked against the card holder
    alone. A sibling within the margin makes the 1:N search ambiguous (refused); the
    1:1 check has no second person to be ambiguous with."""
    rec = with_distractors(Recogniser(SPEC), 200)
    a = unit_vectors(1, seed=4)[0]
    rec.plain.add("a", "resident", a)
    rec.plain.add("b", "sibling", at_cosine(a, 0.999))
    bars = rec.bars(None, verify=True)
    probe = at_cosine(a, 0.9)
    assert rec.classify_with(probe, bars).reason == AMBIGUOUS
    match = rec.verify_with(probe, "resident", bars)
    assert (match.accepted, match.person_id, match.embedding_id, match.reason) == (
        True,
        "resident",
        "a",
        MATCH,
    )
    assert match.second_person_id is None
    # Still a bar: a stranger with the resident's card is refused, and a card holder
    # without a face reference cannot be verified at all.
    stranger = rec.verify_with(unit_vectors(1, seed=9)[0], "resident", bars)
    assert (stranger.accepted, stranger.reason) == (False, NO_MATCH)
    assert not rec.verify_with(probe, "nobody", bars).accepted


@needs_shared_faces
def test_a_masked_card_holder_is_verified_against_their_masked_reference() -> None:
    rec = Recogniser(SPEC)
    rec.plain.add("p1", "resident", encoding("john_savage/1.jpg"))
    rec.masked.add("m1", "resident", encoding("john_savage/1.jpg", masked=True))
    rec.plain.add("p2", "neighbour", encoding("barack_obama/1.jpg"))
    bars = rec.bars(None, verify=True)
    match = rec.verify_with(encoding("john_savage/3.jpg", masked=True), "resident", bars)
    assert (match.accepted, match.person_id) == (True, "resident")
    other = rec.verify_with(encoding("paul_allen/2.jpg", masked=True), "resident", bars)
    assert not other.accepted


def test_a_look_alike_within_the_margin_is_ambiguous() -> None:
    rec = Recogniser(SPEC)
    a = unit_vectors(1, seed=4)[0]
    rec.plain.add("a", "resident", a)
    rec.plain.add("b", "sibling", at_cosine(a, 0.999))
    match = rec.classify(a)
    assert (match.accepted, match.reason) == (False, AMBIGUOUS)


def test_strictness_is_validated_and_orders_the_bars() -> None:
    with pytest.raises(InvalidValueError):
        Recogniser(SPEC, "lax")
    bars = {
        level: with_distractors(Recogniser(SPEC, level), 200).bars(None).plain
        for level in engines.STRICTNESS
    }
    assert bars["strict"] <= bars["standard"] <= bars["relaxed"]
    assert bars["strict"] < bars["relaxed"]


def test_masked_references_only_after_plain_ones_refuse() -> None:
    rec = Recogniser(SPEC)
    a = unit_vectors(1, seed=5)[0]
    rec.plain.add("p", "resident", a)
    rec.gallery(FaceVariant.MASKED).add("m", "resident", a)
    assert rec.classify(a).embedding_id == "p"
    assert rec.enrolled() == {"resident"}
    assert rec.remove_person("resident") == 2
    assert rec.people == 0


def test_the_masked_bar_reads_its_own_tail() -> None:
    standard = engines.STRICTNESS["standard"]
    for people in (1, 200, 2000):
        masked = SPEC.masked_threshold_for(people, standard)
        assert masked >= SPEC.masked_threshold
        assert masked >= SPEC.threshold_for(people, standard)  # cosine: never looser
    assert SPEC.masked_threshold_for(2000, standard) > SPEC.masked_threshold_for(1, standard)
