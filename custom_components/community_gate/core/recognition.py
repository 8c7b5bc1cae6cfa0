"""The gate's face decision: one engine's galleries, its calibrated thresholds, the
scope of the gate. The hub (``face.py``) and the evaluator (``devtools/eval_faces.py``)
both decide through :meth:`Recogniser.classify`, so what is measured is what runs.

* The probe is searched against every enrolled person (plain references first, then
  masked ones): the nearest person and the margin to the second come from the whole
  estate, so a resident at another building's door is named (and refused by the policy),
  and a look-alike anywhere in the estate makes the match ambiguous.
* The bar the nearest person must clear is the engine's threshold for the number of
  enrolled people who may pass this gate now (``scope.py``) at the estate's strictness
  (``engines.STRICTNESS``): the chance that a stranger is taken for one of them stays
  at the target however many people live in the estate.
* Masked references are compared with their own, stricter threshold (everyone's lower
  face is the same mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engines import DEFAULT_STRICTNESS, STRICTNESS, EngineSpec
from .errors import InvalidValueError
from .gallery import Gallery, Match
from .model import FaceVariant

# How much stricter (in the stranger-accept target) a single frame must be to open alone.
CONFIDENT_FACTOR = 10
_MAX_COUNTS = 256  # cached scope counts (a few per gate)


@dataclass(frozen=True, slots=True)
class Bars:
    """The thresholds used for one decision (gallery, euclidean units) and why."""

    people: int  # enrolled people who may pass
    plain: float
    masked: float
    # A frame this close opens alone; between it and the bar, a camera gate waits for a
    # second frame that agrees (``tracks.py``). Set at a ten times stricter target.
    confident_plain: float
    confident_masked: float


class Recogniser:
    """Galleries and thresholds of one engine for one estate. Not thread-safe beyond
    what ``Gallery`` is: the hub uses it from its face thread only."""

    def __init__(self, spec: EngineSpec, strictness: str = DEFAULT_STRICTNESS) -> None:
        if strictness not in STRICTNESS:
            raise InvalidValueError("unknown face strictness", field="face_strictness")
        self.spec = spec
        self.target = STRICTNESS[strictness]
        base = spec.to_gallery(spec.threshold)
        self.plain = Gallery(spec.dims, threshold=base, margin=spec.margin)
        masked = spec.to_gallery(spec.stricter(spec.masked_threshold, spec.threshold))
        self.masked = Gallery(spec.dims, threshold=masked, margin=spec.margin)
        # id(scope) -> (the scope itself, gallery versions, enrolled people in it)
        self._counts: dict[int, tuple[frozenset[str], tuple[int, int], int]] = {}

    def gallery(self, variant: FaceVariant) -> Gallery:
        return self.masked if variant is FaceVariant.MASKED else self.plain

    @property
    def people(self) -> int:
        return len(self.enrolled())

    def enrolled(self) -> set[str]:
        """Everyone with a reference (plain or masked)."""
        return set(self.plain.person_ids() | self.masked.person_ids())

    def enrolled_in(self, scope: frozenset[str] | None) -> int:
        """How many of ``scope`` have a reference (None: everyone enrolled). Set
        operations in C: at 100,000 people a Python loop here cost 140 ms a frame."""
        if scope is None:
            return self.people
        # A scope object lives for a minute (``ScopeCache``); the galleries change only
        # with enrollments: count once per pair, not once per frame (36+ ms at 100k).
        key = (self.plain.version, self.masked.version)
        cached = self._counts.get(id(scope))
        if cached is not None and cached[0] is scope and cached[1] == key:
            return cached[2]
        if len(self._counts) > _MAX_COUNTS:
            self._counts.clear()
        plain = scope.intersection(self.plain.person_ids())
        count = len(plain.union(scope.intersection(self.masked.person_ids())))
        self._counts[id(scope)] = (scope, key, count)
        return count

    def bars(self, scope: frozenset[str] | None, *, verify: bool = False) -> Bars:
        """The bars for a gate whose scope is ``scope``. ``verify``: a card + face gate,
        where the card names the person and the face only has to be *that* person's:
        the 1:1 bar (one candidate), the pair opening only for the card's holder."""
        people = 1 if verify else self.enrolled_in(scope)
        spec = self.spec
        own = spec.threshold_for(people, self.target)
        sure = spec.threshold_for(people, self.target / CONFIDENT_FACTOR)
        # Masks make strangers alike: masked references have a tail of their own, read
        # for the same number of people (never looser than the plain bar).
        masked = spec.masked_threshold_for(people, self.target)
        masked_sure = spec.masked_threshold_for(people, self.target / CONFIDENT_FACTOR)
        return Bars(
            people,
            spec.to_gallery(own),
            spec.to_gallery(masked),
            spec.to_gallery(sure),
            spec.to_gallery(masked_sure),
        )

    def confident(self, match: Match, bars: Bars) -> bool:
        """Whether an accepted match is close enough to open on one frame."""
        if not match.accepted:
            return False
        masked = match.embedding_id is not None and match.embedding_id in self.masked
        return match.distance <= (bars.confident_masked if masked else bars.confident_plain)

    def classify(
        self, vector: npt.NDArray[np.floating], scope: frozenset[str] | None = None
    ) -> Match:
        """The gate's match for one probe; ``scope`` is who may pass (None: everyone)."""
        return self.classify_with(vector, self.bars(scope))

    def classify_with(self, vector: npt.NDArray[np.floating], bars: Bars) -> Match:
        match = self.plain.match(vector, threshold=bars.plain)
        if match.accepted or not len(self.masked):
            return match
        masked = self.masked.match(vector, threshold=bars.masked)
        return masked if masked.accepted else match

    def verify_with(self, vector: npt.NDArray[np.floating], person_id: str, bars: Bars) -> Match:
        """1:1 against one person's references (a card + face gate whose card came
        first): plain at the plain bar, else masked at the masked bar."""
        match = self.plain.verify(vector, person_id, threshold=bars.plain)
        if match.accepted or not self.masked.has_person(person_id):
            return match
        masked = self.masked.verify(vector, person_id, threshold=bars.masked)
        return masked if masked.accepted or match.person_id is None else match

    def remove_person(self, person_id: str) -> int:
        return self.plain.remove_person(person_id) + self.masked.remove_person(person_id)

    def clear(self) -> None:
        self.plain.clear()
        self.masked.clear()
