"""Face templates at rest: consent-gated, sealed with AES-GCM, bound to their row.

The gallery (``gallery.py``) holds clear float32 vectors in memory for matching; this
module is the only way they reach or leave the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import logging
import time as _time

import numpy as np
import numpy.typing as npt

from . import errors
from .access import new_id
from .crypto import DecryptError, Sealer, derive_key
from .model import CONSENT_FACE, FaceTemplate, FaceVariant, StoredCluster
from .privacy import check_face_consent
from .store import Store

_LOGGER = logging.getLogger(__name__)

ENGINE_DLIB = "dlib_resnet_v1"
DIMS = 128
Vector = npt.NDArray[np.float32]


def template_sealer(master_key: bytes) -> Sealer:
    return Sealer(derive_key(master_key, "community_gate face templates v1"))


@dataclass(frozen=True, slots=True)
class LoadReport:
    loaded: int
    unreadable: int  # rows that failed authentication (wrong key or tampering)


class TemplateVault:
    """Enrol, load and erase face templates. Synchronous: call on the store's thread."""

    def __init__(self, store: Store, sealer: Sealer, engine: str = ENGINE_DLIB) -> None:
        self.store = store
        self._sealer = sealer
        self.engine = engine
        self.last_load = LoadReport(0, 0)

    def rekey(self, sealer: Sealer) -> None:
        """Switch to a rotated sealing key (after the rows were re-sealed)."""
        self._sealer = sealer

    def reseal(self, tpl: FaceTemplate, new: Sealer) -> bytes:
        """The template's blob under ``new`` (key rotation); DecryptError if unreadable."""
        aad = self._aad(tpl.id, tpl.person_id, tpl.engine)
        return new.seal(self._sealer.open(tpl.sealed, aad), aad)

    def reseal_cluster(self, stored: StoredCluster, new: Sealer) -> bytes:
        aad = f"cluster|{stored.id}|{self.engine}"
        return new.seal(self._sealer.open(stored.sealed_centroid, aad), aad)

    @staticmethod
    def _aad(template_id: str, person_id: str, engine: str) -> str:
        return f"tpl|{template_id}|{person_id}|{engine}"

    def seal(self, template_id: str, person_id: str, vector: Vector) -> bytes:
        vec = np.asarray(vector, dtype=np.float32)
        if vec.shape != (DIMS,) or not np.all(np.isfinite(vec)):
            raise errors.InvalidValueError("embedding must be 128 finite numbers", field="vector")
        return self._sealer.seal(vec.tobytes(), self._aad(template_id, person_id, self.engine))

    def open(self, tpl: FaceTemplate) -> Vector:
        raw = self._sealer.open(tpl.sealed, self._aad(tpl.id, tpl.person_id, tpl.engine))
        return np.frombuffer(raw, dtype=np.float32).copy()

    def enroll(
        self,
        person_id: str,
        vector: Vector,
        *,
        variant: FaceVariant = FaceVariant.PLAIN,
        quality: float | None = None,
        template_id: str | None = None,
    ) -> FaceTemplate:
        """Store one reference. Refused without an active face consent."""
        person = self.store.get_person(person_id)
        check_face_consent(person, self.store.active_consent(person_id, CONSENT_FACE))
        tid = template_id or new_id("face")
        tpl = FaceTemplate(
            id=tid,
            person_id=person_id,
            engine=self.engine,
            variant=variant,
            sealed=self.seal(tid, person_id, vector),
            quality=quality,
            created_at=_time.time(),
        )
        return self.store.add_face_template(tpl)

    def _open_all(self) -> Iterator[tuple[FaceTemplate, Vector]]:
        """Every readable template with its vector. A row that fails to open is skipped
        and counted, never fatal: one bad row must not keep every gate shut."""
        loaded = unreadable = 0
        for tpl in self.store.iter_face_templates(self.engine):
            try:
                vec = self.open(tpl)
            except DecryptError:
                unreadable += 1
                continue
            loaded += 1
            yield tpl, vec
        self.last_load = LoadReport(loaded, unreadable)
        if unreadable:
            _LOGGER.error("%d face templates could not be decrypted and were skipped", unreadable)

    def load_all(self) -> Iterator[tuple[str, str, Vector]]:
        """(template id, person id, vector) for the gallery."""
        for tpl, vec in self._open_all():
            yield tpl.id, tpl.person_id, vec

    def load_by_variant(self) -> dict[FaceVariant, list[tuple[str, str, Vector]]]:
        """Like ``load_all``, split by variant (masked references match more strictly),
        in one pass over the table."""
        out: dict[FaceVariant, list[tuple[str, str, Vector]]] = {v: [] for v in FaceVariant}
        for tpl, vec in self._open_all():
            out[tpl.variant].append((tpl.id, tpl.person_id, vec))
        return out

    def withdraw(self, person_id: str, at: float | None = None) -> int:
        """Consent withdrawn: the face data goes now; other credentials keep working."""
        when = at if at is not None else _time.time()
        self.store.withdraw_consent(person_id, CONSENT_FACE, when)
        return self.store.remove_face_templates(person_id)

    # Unknown-face clusters are sealed the same way (a centroid is biometric data too).
    def seal_cluster(
        self,
        cluster_id: str,
        centroid: Vector,
        count: int,
        first: float,
        last: float,
        days: tuple[int, ...],
    ) -> StoredCluster:
        vec = np.asarray(centroid, dtype=np.float32)
        sealed = self._sealer.seal(vec.tobytes(), f"cluster|{cluster_id}|{self.engine}")
        return StoredCluster(cluster_id, sealed, count, first, last, days)

    def open_cluster(self, stored: StoredCluster) -> Vector:
        raw = self._sealer.open(stored.sealed_centroid, f"cluster|{stored.id}|{self.engine}")
        return np.frombuffer(raw, dtype=np.float32).copy()
