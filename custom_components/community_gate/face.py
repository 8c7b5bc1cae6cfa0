"""Faces on the hub: the engine, the gallery and the stranger clusters of one estate.

All CPU-heavy work (decoding, detection, encoding, matching, clustering) runs on one
dedicated "face" thread, so the gallery and clusters are only ever touched from that
thread and the event loop never waits on them. Database work goes through the hub's
own database thread. A recognised face becomes one more presentation on the hub's
single decision path (``EstateHub.async_present_face``).

Enrollment and gate frames share that thread (and the one face process). An enrollment
photo is the slow job (up to ``images.MAX_PIXELS``, detected with upsampling), so only
one enrollment at a time is handed to the thread: a gate frame waits for at most the
enrollment in progress, never for a queue of uploads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import numpy as np

from .const import DOMAIN, EVENT_CHALLENGE
from .core import errors
from .core.clusters import Cluster, StrangerClusters
from .core.display import LANGUAGES, challenge_prompt
from .core.engines import engine_factory, spec
from .core.face_worker import FaceWorker
from .core.faces import Face, FaceBox
from .core.gallery import Match
from .core.liveness import Challenge, Sample
from .core.model import (
    CONSENT_FACE,
    Consent,
    Direction,
    FaceMode,
    FaceVariant,
    Method,
    PadLevel,
    Person,
)
from .core.options import EstateOptions
from .core.privacy import PhotoVault, check_face_consent, record_face_consent
from .core.recognition import Recogniser
from .core.scope import Roster, ScopeCache
from .core.templates import TemplateVault, Vector
from .core.throttle import FACE_FLOOD, UNKNOWN_FACE_BUDGET, Throttle
from .core.tracks import FrameFusion, Verdict
from .core.two_factor import OTHER_FACTOR, mismatched
from .hub import async_join_executor

if TYPE_CHECKING:
    from .hub import EstateHub, PassageOutcome

_LOGGER = logging.getLogger(__name__)

REENROLL_ISSUE = "face_reenroll"
# People: up to this many, a changed roster is re-read before the next face is decided.
ROSTER_INLINE = 5_000
ROSTER_PAGE = 5_000  # rows per database job when reading the roster


@dataclass(frozen=True, slots=True)
class EnrollResult:
    template_id: str
    variant: FaceVariant
    face_px: int
    # The other person this face was near, enrolled anyway because staff confirmed they
    # are different people (siblings, twins): the caller audits it.
    look_alike: str | None = None


# The engine whose numbers the stored stranger clusters are.
SETTING_CLUSTERS_ENGINE = "clusters_engine"


def enroll_answer(result: EnrollResult) -> dict[str, Any]:
    """What the action, the upload endpoint and the panel answer (ids only)."""
    return {
        "template_id": result.template_id,
        "variant": result.variant.value,
        "face_px": result.face_px,
        "look_alike": result.look_alike,
    }


_WORKERS: dict[str, FaceWorker] = {}


def shared_worker(engine: str) -> FaceWorker:
    """One face process per engine per Home Assistant: the models load once, and a
    reloaded estate reuses them. Its pipe is only used from face threads."""
    worker = _WORKERS.get(engine)
    if worker is None:
        worker = _WORKERS[engine] = FaceWorker(engine_factory(engine))
    return worker


def stop_shared_worker() -> None:
    """End the face processes for good: Home Assistant is stopping (a later start, as
    in tests, gets new ones). Blocking: call from an executor."""
    workers = list(_WORKERS.values())
    _WORKERS.clear()
    for worker in workers:
        worker.close()


def stop_unused_workers(in_use: set[str]) -> None:
    """End the processes of engines no estate runs any more. Blocking: an executor."""
    for engine in [e for e in _WORKERS if e not in in_use]:
        _WORKERS.pop(engine).close()


class FaceService:
    """Recognition for one estate. Create, ``async_start`` in the background, use."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: EstateHub,
        vault: TemplateVault,
        photos: PhotoVault,
        options: EstateOptions,
        *,
        worker: FaceWorker | None = None,
    ) -> None:
        self.hass = hass
        self.hub = hub
        self.vault = vault
        self.photos = photos
        self.options = options
        self.spec = spec(options.face_engine)
        self.debounce_s = options.face_debounce
        self.worker = worker or shared_worker(self.spec.name)
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="community_gate_face")
        self.engine: str | None = None  # the engine's name once the worker answered
        self.recogniser = Recogniser(self.spec, options.face_strictness)
        self.gallery = self.recogniser.plain
        self.masked = self.recogniser.masked
        # Radii in the engine's own gallery units: dlib's would split every SFace stranger.
        self.clusters = StrangerClusters(
            self.spec.dims,
            threshold=self.spec.cluster_threshold,
            sighting_var=self.spec.cluster_var,
        )
        # Who may pass each gate now (the face threshold is set for that many people);
        # the people and units are read once per store generation.
        self.scopes = ScopeCache()
        # Camera frames: one bad frame neither opens a gate nor makes a stranger.
        self.fusion = FrameFusion()
        # Gates where a face's liveness is still being judged (PAD): their capture loop
        # samples faster meanwhile. Written after each frame, on the event loop.
        self.pad_pending: dict[str, bool] = {}
        self._roster: Roster | None = None
        self._roster_lock = asyncio.Lock()
        self._roster_task: asyncio.Task[Roster] | None = None
        # People enrolled only with another engine (after a switch) and not re-encoded.
        self.stale_people = 0
        self.error: str | None = None
        # Set when start-up finished, loaded or not (tests and the panel wait on it).
        self.loaded = asyncio.Event()
        self._stopped = False
        self._seen: dict[tuple[str, str], float] = {}
        # Unknown faces per (gate, terminal): past the budget no new stranger or alert.
        self.unknown_budget = Throttle(UNKNOWN_FACE_BUDGET)
        # One change to a person's face data at a time: loading, enrolling, re-encoding
        # and erasing. An erasure (or consent withdrawn) that slipped between a consent
        # check and the template's write would be outlived by that template. Enrollments
        # also wait here, on the event loop, not in the face thread's queue.
        self._biometrics = asyncio.Lock()

    @property
    def ready(self) -> bool:
        return self.engine is not None

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        return await self.hass.loop.run_in_executor(self._exec, func, *args)

    # --------------------------------------------------------------- lifecycle
    async def async_start(self) -> None:
        """Load the models and the enrolled faces. Runs as a background task: the
        estate (cards, PINs, QR) works while this is still loading or if it fails."""
        try:
            await self._start()
        except Exception as err:
            if self._stopped:
                _LOGGER.debug("Face start-up ended by unload: %s", type(err).__name__)
            else:
                # Whatever broke (a broken engine install, a bug), face access is off
                # with a reason the panel, diagnostics and actions show, not "loading"
                # forever; the rest of the estate and Home Assistant run on.
                self.engine = None
                self.error = (
                    err.code
                    if isinstance(err, errors.CoreError)
                    else errors.FaceEngineFailedError.code
                )
                _LOGGER.exception("Face recognition is off: start-up failed (%s)", self.error)
        finally:
            self.loaded.set()

    async def _start(self) -> None:
        if not self.options.keep_stranger_snapshots:
            # The estate turned stranger snapshots off: none stays a night longer.
            dropped = await self.hub.db(self.hub.store.remove_snapshots)
            if dropped:
                _LOGGER.info("Stranger snapshots are off: %d deleted", dropped)
        try:
            engine = await self._run(self.worker.ping)
        except errors.CoreError as err:
            self.error = err.code
            _LOGGER.error("Face recognition is off: %s", err.code)
            return
        if engine != self.spec.name:  # a worker from a test or a bad factory
            self.error = "face_engine_mismatch"
            _LOGGER.error("Face recognition is off: the worker runs %s", engine)
            return
        async with self._biometrics:  # an erasure meanwhile forgets after the load
            templates = await self.hub.db(self.vault.load_by_variant)
            await self._run(self.gallery.add_many, templates[FaceVariant.PLAIN])
            await self._run(self.masked.add_many, templates[FaceVariant.MASKED])
        await self._forget_other_engines_strangers()
        stored = await self.hub.db(lambda: list(self.hub.store.iter_clusters()))
        # A stranger past retention is not brought back to memory: the nightly sweep
        # may delete its row while this loads, and a copy here would live on (and be
        # saved again) until the next night.
        cutoff = time.time() - self.options.cluster_retention_days * 86400
        restored = []
        for sc in stored:
            if sc.last_seen < cutoff:
                continue
            try:
                centroid = self.vault.open_cluster(sc)
            except ValueError:
                continue  # unreadable: forget that stranger rather than fail
            restored.append(
                Cluster(sc.id, centroid, sc.count, sc.first_seen, sc.last_seen, set(sc.days))
            )
        self.clusters = StrangerClusters.restore(
            restored,
            dims=self.spec.dims,
            threshold=self.spec.cluster_threshold,
            sighting_var=self.spec.cluster_var,
        )
        self.engine = engine
        await self._reencode_stale()
        # Read at start-up, not by the first face at a gate (seconds at 100,000 people).
        await self._refresh_roster()
        _LOGGER.info(
            "Face recognition ready: %d references of %d people, %d stranger clusters",
            len(self.gallery),
            self.gallery.persons,
            len(self.clusters),
        )

    async def _forget_other_engines_strangers(self) -> None:
        """Stranger clusters are one engine's numbers (and radii): after a switch they
        would be compared with the other engine's faces. Strangers have no kept photo to
        re-encode, so they are forgotten; their passages keep the old ids. An estate from
        before the engine was recorded keeps its clusters as the current engine's."""
        store = self.hub.store
        engine = self.spec.name
        was = await self.hub.db(store.get_setting, SETTING_CLUSTERS_ENGINE)
        if was is not None and was != engine:
            dropped = await self.hub.db(store.purge_clusters, float("inf"))
            _LOGGER.warning(
                "Face engine changed from %s to %s: %d stranger clusters forgotten",
                was,
                engine,
                dropped,
            )
        if was != engine:
            await self.hub.db(store.set_setting, SETTING_CLUSTERS_ENGINE, engine)

    async def _reencode_stale(self) -> None:
        """After an engine switch: people enrolled only with another engine are
        re-encoded from their kept photos (when the estate keeps photos), and their old
        templates dropped; the rest are counted for the repair issue and the panel, and
        still get in with their other credentials. Encodings are never compared across
        engines (``engines.compare``)."""
        engine = self.spec.name
        by_person = await self.hub.db(self.hub.store.template_engines)
        stale = [pid for pid, engines in by_person.items() if engine not in engines]
        left = 0
        for pid in stale:
            async with self._biometrics:
                if not await self._reencode(pid):
                    left += 1
        self.stale_people = left
        self._report_stale(left)
        if stale:
            _LOGGER.warning(
                "Face engine %s: %d people re-encoded from kept photos, %d need a new photo",
                engine,
                len(stale) - left,
                left,
            )

    async def _recount_stale(self) -> None:
        by_person = await self.hub.db(self.hub.store.template_engines)
        self.stale_people = sum(1 for e in by_person.values() if self.spec.name not in e)
        self._report_stale(self.stale_people)

    def _report_stale(self, count: int) -> None:
        """A repair issue while people need a new photo for this engine."""
        issue_id = f"{REENROLL_ISSUE}_{self.hub.entry.entry_id}"
        if not count:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=REENROLL_ISSUE,
            translation_placeholders={"count": str(count), "engine": self.spec.name},
        )

    async def _reencode(self, person_id: str) -> bool:
        photos = await self.hub.db(self.hub.store.list_photos, person_id)
        encoded = False
        for photo in photos:
            try:
                image = await self.hub.db(self.photos.open, photo)
                face = await self._run(self.worker.enroll, image)
                tpl = await self.hub.db(lambda f=face: self.vault.enroll(person_id, f.encoding))
            except errors.CoreError as err:
                _LOGGER.debug("Kept photo not re-encoded: %s", err.code)
                continue
            except ValueError:  # unreadable seal
                continue
            await self._run(self.gallery.add, tpl.id, person_id, face.encoding)
            encoded = True
        if encoded:
            await self.hub.db(
                partial(self.hub.store.remove_face_templates, person_id, other_than=self.spec.name)
            )
        return encoded

    async def async_stop(self) -> None:
        self._stopped = True
        if self.ready:
            await self.async_save_clusters()
        await async_join_executor(self.hass, self._exec, "face")

    async def async_save_clusters(self, relabel: Sequence[tuple[str, str]] = ()) -> int:
        changed, removed = await self._run(self.clusters.drain_changes)
        if not changed and not removed:
            return 0

        def _seal_and_save() -> int:
            # Sealed on the database thread: a key rotation (same thread) can never
            # slip between sealing and writing.
            sealed = [
                self.vault.seal_cluster(
                    c.id, c.centroid, c.count, c.first_seen, c.last_seen, tuple(sorted(c.days))
                )
                for c in changed
            ]
            return self.hub.store.save_clusters(sealed, removed, relabel)

        return await self.hub.db(_seal_and_save)

    async def async_merge_clusters(self, *, all_pairs: bool = False) -> list[tuple[str, str]]:
        """Join stranger clusters whose centroids drifted together (one person first seen
        in two very different lights) and relabel their passages, so the tailgating and
        frequent-stranger rules count one stranger once."""
        merged = await self._run(lambda: self.clusters.merge_close(all_pairs=all_pairs))
        if merged:
            moved = await self.async_save_clusters(merged)
            _LOGGER.info("Merged %d stranger clusters, %d passages relabelled", len(merged), moved)
        return merged

    def _require_engine(self) -> str:
        if self.engine is None:
            if self.error == errors.FaceEngineFailedError.code:
                raise errors.FaceEngineFailedError("face engine failed to load")
            raise errors.FaceUnavailableError(
                "face recognition not running", why=self.error or "loading"
            )
        return self.engine

    # -------------------------------------------------------------- enrollment
    async def async_record_consent(
        self, person_id: str, *, notice_version: str, operator: str, guardian: bool
    ) -> Consent:
        # A child under 14: only a guardian's consent is accepted.
        return await self.hub.db(
            partial(
                record_face_consent,
                self.hub.store,
                person_id,
                notice_version=notice_version,
                operator=operator,
                guardian=guardian,
            )
        )

    async def async_withdraw_consent(self, person_id: str) -> int:
        """Erase the person's face data now; cards, PINs and QR passes stay."""

        async def _withdraw() -> int:
            await self.hub.db(self.hub.store.get_person, person_id)
            removed = await self.hub.db(self.vault.withdraw, person_id)
            await self.hub.db(self.hub.store.remove_photos, person_id)
            return removed

        return await self.async_erase(person_id, _withdraw)

    async def async_erase[T](self, person_id: str, erase: Callable[[], Awaitable[T]]) -> T:
        """Run ``erase`` (the rows: withdrawal, erasure, removal), then drop the
        person's references from the in-memory galleries, so the face stops matching at
        once, not at the next start. Never alongside an enrollment or re-encoding of
        the same data: what they write is either erased here or never written."""
        async with self._biometrics:
            out = await erase()
            await self._run(self.recogniser.remove_person, person_id)
        if self.stale_people:
            await self._recount_stale()
        return out

    async def async_enroll(
        self,
        person_id: str,
        image: bytes,
        *,
        variant: FaceVariant = FaceVariant.PLAIN,
        dry_run: bool = False,
        different_from: str | None = None,
    ) -> EnrollResult:
        """One reference photo: quality gate, 1:N duplicate check, consent, sealed store.

        ``dry_run`` runs every check and stores nothing: the panel's live quality
        feedback. Consent is still required first: no biometric processing without it.

        A face near someone else's is refused naming that person (a duplicate is far more
        often a mistake than a twin). Families live together, so staff who checked may
        name the look-alike in ``different_from``: the face is then enrolled beside
        theirs, and the gate's margin rule refuses a probe that is near both (each
        then uses a card) instead of guessing between them."""
        self._require_engine()
        async with self._biometrics:
            return await self._enroll(person_id, image, variant, dry_run, different_from)

    async def _enroll(
        self,
        person_id: str,
        image: bytes,
        variant: FaceVariant,
        dry_run: bool,
        different_from: str | None,
    ) -> EnrollResult:
        person = await self.hub.db(self.hub.store.get_person, person_id)
        consent = await self.hub.db(self.hub.store.active_consent, person_id, CONSENT_FACE)
        check_face_consent(person, consent)

        def _analyse() -> tuple[Face, list[tuple[str, float]]]:
            face = self.worker.enroll(image)
            return face, self.gallery.nearest_people(face.encoding, k=3)

        face, nearest = await self._run(_analyse)
        look_alike = None
        for other, distance in nearest:
            if other == person_id or distance > self.gallery.threshold:
                continue
            if other != different_from:
                raise errors.FaceDuplicateError(
                    "face belongs to another person",
                    other_person_id=other,
                    distance=f"{distance:.3f}",
                )
            look_alike = other
        if dry_run:
            return EnrollResult("", variant, face.box.height, look_alike)
        tpl = await self.hub.db(
            lambda: self.vault.enroll(person_id, face.encoding, variant=variant)
        )
        await self._run(self.recogniser.gallery(variant).add, tpl.id, person_id, face.encoding)
        # The person is enrolled for this engine now: templates only another engine
        # could read are biometric data with no use left.
        await self.hub.db(
            partial(self.hub.store.remove_face_templates, person_id, other_than=self.spec.name)
        )
        if self.stale_people:
            await self._recount_stale()
        await self.async_keep_photo(person_id, image)
        return EnrollResult(tpl.id, variant, face.box.height, look_alike)

    # ------------------------------------------------------------- recognition
    async def async_keep_photo(self, person_id: str, image: bytes) -> str | None:
        """Keep an enrollment photo (sealed) when the estate opted in; else nothing."""
        if not self.options.keep_photos:
            return None
        days = self.options.photo_retention_days
        photo = await self.hub.db(partial(self.photos.keep, person_id, image, days=days))
        return photo.id

    def _debounced(self, gate_id: str, subject: str) -> bool:
        now = time.monotonic()
        key = (gate_id, subject)
        last = self._seen.get(key)
        if last is not None and now - last < self.debounce_s:
            return True
        self._seen[key] = now
        if len(self._seen) > 10_000:  # never grows without bound
            cutoff = now - self.debounce_s
            self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
        return False

    def _classify(
        self,
        vector: Vector,
        scope: frozenset[str] | None,
        cluster: bool = True,
        track: tuple[str, FaceBox] | None = None,
        sample: Sample | None = None,
        pad: PadLevel = PadLevel.OFF,
        verify: bool = False,
        claimed: frozenset[str] = frozenset(),
    ) -> tuple[Match, str | None, Verdict, Challenge | None]:
        """The match, the stranger cluster (unknown faces, and attacks nobody matched),
        for a camera frame's face (``track``: gate and box) whether its track has decided
        yet (``tracks.py``; with ``pad`` on, its liveness from ``sample``), and the
        challenge a new track at a challenge gate was asked. ``verify``: a card + face
        gate, where the face need only be the card holder's (the 1:1 bar); ``claimed``:
        the holders whose card is already in there, each checked 1:1 before the 1:N
        search (a nearer look-alike must not stand between a resident and their card)."""
        bars = self.recogniser.bars(scope, verify=verify)
        verified = [self.recogniser.verify_with(vector, person, bars) for person in claimed]
        accepted = [m for m in verified if m.accepted]
        if accepted:
            match = min(accepted, key=lambda m: m.distance)
        else:
            match = self.recogniser.classify_with(vector, bars)
        verdict = Verdict.OPEN if match.accepted else Verdict.UNKNOWN
        issued = None
        if track is not None:
            verdict = self.fusion.vote(
                track[0],
                track[1],
                time.monotonic(),
                match.person_id if match.accepted else None,
                confident=self.recogniser.confident(match, bars),
                sample=sample,
                pad=pad.value,
            )
            issued = self.fusion.issued
        stranger = verdict is Verdict.UNKNOWN or (verdict is Verdict.ATTACK and not match.accepted)
        if not stranger or not cluster:
            return match, None, verdict, issued
        return match, self.clusters.assign(vector, time.time()).cluster_id, verdict, issued

    async def async_scope(self, gate_id: str) -> frozenset[str]:
        """Who may pass ``gate_id`` now (cached per minute and roster generation)."""
        rt = self.hub.gate_runtime(gate_id)
        now = dt_util.now()
        roster = await self._current_roster()
        cached = self.scopes.get(gate_id, roster.generation, now.timestamp())
        if cached is not None:
            return cached.people
        # On the face thread: a large estate's policy pass must not hold the loop.
        allowed = await self._run(roster.who_may_pass, rt.gate, now)
        return self.scopes.put(gate_id, allowed, roster.generation, now.timestamp()).people

    async def _current_roster(self) -> Roster:
        """The roster of the store's generation. A small estate's is re-read before the
        frame is decided (a change is seen at once); a large one keeps deciding on the
        previous roster while the new one is read in the background (reading 100,000
        people takes seconds). A stale roster only shifts how many people the bar is set
        for: who is let in is decided by the policy on the person's current row."""
        roster = self._roster
        if roster is not None and roster.generation == self.hub.store.generation:
            return roster
        if roster is None or len(roster) <= ROSTER_INLINE:
            return await self._refresh_roster()
        task = self._roster_task
        if task is None or task.done():
            self._roster_task = self.hub.entry.async_create_background_task(
                self.hass, self._refresh_roster(), f"{DOMAIN} face roster"
            )
        return roster

    async def _refresh_roster(self) -> Roster:
        async with self._roster_lock:
            generation = self.hub.store.generation  # before the read: a later change re-reads
            roster = self._roster
            if roster is not None and roster.generation == generation:
                return roster  # another caller refreshed it while this one waited
            people: list[Person] = []
            after: str | None = None
            while True:
                page = await self.hub.db(self.hub.store.people_page, after, ROSTER_PAGE)
                people.extend(page)
                if len(page) < ROSTER_PAGE:
                    break
                after = page[-1].id
            units = {u.id: u for u in await self.hub.db(self.hub.store.list_units)}
            roster = self._roster = await self._run(Roster, generation, people, units)
            return roster

    def _spend(self, key: tuple[str, str], unknown: bool) -> None:
        until = self.unknown_budget.done(key, time.time(), failed=unknown)
        if until is not None:
            # Ids only: the gate and the terminal.
            _LOGGER.warning(
                "Gate %s: too many unknown faces from %s; no new strangers for %.0f s",
                key[0],
                key[1],
                until - time.time(),
            )

    async def async_present_embedding(
        self,
        gate_id: str,
        vector: Vector,
        *,
        context: Context | None = None,
        debounce: bool = False,
        direction: Direction | None = None,
        caller: str | None = None,
        box: FaceBox | None = None,
        crop: tuple[bytes, float] | None = None,
        sample: Sample | None = None,
    ) -> PassageOutcome | None:
        """An embedding (from a camera frame or an edge terminal) at a gate. Returns
        None when debounced (the same person or stranger moments ago) or, for a camera
        frame's face (``box``), while its track waits for a frame that agrees.

        ``crop`` (a camera frame's face, only with stranger snapshots on): its JPEG crop
        and quality, kept sealed for the stranger cluster when better than the kept one.

        ``caller`` is the terminal that sent it (``device:<id>``): its unknown faces
        are held to ``UNKNOWN_FACE_BUDGET``.

        ``sample`` (a camera frame's face): its liveness evidence. At a gate with PAD on
        (``pad_level``) the track opens only once it is live, and a track judged a
        presentation attack is refused ``presentation_attack`` (debounced like any
        face). An edge terminal's embedding has no track: its own PAD answers for it."""
        self._require_engine()
        rt = self.hub.gate_runtime(gate_id)
        vec = np.asarray(vector, dtype=np.float32)
        if vec.shape != (self.spec.dims,) or not np.all(np.isfinite(vec)):
            raise errors.InvalidValueError(
                f"embedding must be {self.spec.dims} finite numbers", field="embedding"
            )
        if self.hub.refuses(rt, Method.FACE.value):
            # A gate that takes no faces: a face sent there is neither matched nor made
            # a stranger. A terminal that asks is refused (and logged); a camera's frame
            # is nobody asking, and logging every frame would flood the passage log.
            if debounce:
                return None
            return await self.hub.async_present_face(
                gate_id,
                person_id=None,
                template_id=None,
                distance=None,
                cluster_id=None,
                direction=direction,
                context=context,
            )
        key = (gate_id, caller) if caller else None
        # Within budget (or no terminal behind it: a camera's frames are debounced).
        within = key is None or self.unknown_budget.admit(key, time.time())
        unknown = False
        scope = await self.async_scope(gate_id)
        track = (gate_id, box) if box is not None else None
        pad = rt.pad_level if track is not None else PadLevel.OFF
        verify = rt.face_mode is FaceMode.CARD_AND_FACE
        # A card (or PIN, QR...) already in at a card + face gate names its holder: the
        # face is checked against them alone first (read here: the loop owns pairing).
        claimed = (
            self.hub.pairing.waiting(gate_id, OTHER_FACTOR, dt_util.now().timestamp())
            if verify
            else frozenset()
        )
        try:
            match, cluster_id, verdict, issued = await self._run(
                self._classify,
                vec,
                scope,
                within,
                track,
                sample,
                pad,
                verify,
                claimed,
            )
            unknown = not match.accepted
        finally:
            if key is not None and within:
                self._spend(key, unknown)
        if issued is not None:
            self._ask(gate_id, issued, context)
        if verdict is Verdict.WAIT:
            return None
        if verdict is Verdict.ATTACK:
            return await self._refuse_attack(gate_id, match, cluster_id, direction, context)
        if cluster_id is not None and crop is not None and self.options.keep_stranger_snapshots:
            # Before the debounce: a better look a moment later replaces the first one.
            await self.async_keep_snapshot(cluster_id, *crop)
        subject = match.person_id if match.accepted else cluster_id
        if debounce and subject is not None and self._debounced(gate_id, subject):
            return None
        flags: tuple[str, ...] = ("face_ambiguous",) if match.reason == "ambiguous" else ()
        if not within and not match.accepted:
            flags = (*flags, FACE_FLOOD)
        outcome = await self.hub.async_present_face(
            gate_id,
            person_id=match.person_id if match.accepted else None,
            template_id=match.embedding_id if match.accepted else None,
            distance=match.distance if np.isfinite(match.distance) else None,
            cluster_id=cluster_id,
            extra_flags=flags,
            direction=direction,
            context=context,
            card_holders=mismatched(claimed, match.person_id if match.accepted else None),
        )
        if cluster_id is not None:
            await self.async_save_clusters()
        return outcome

    @callback
    def _ask(self, gate_id: str, challenge: Challenge, context: Context | None) -> None:
        """A new face at a challenge gate: the terminal shows and says the prompt (an
        event with the texts in every language; ids only)."""
        texts = {lang: challenge_prompt(challenge.value, lang) for lang in LANGUAGES}
        self.hass.bus.async_fire(
            EVENT_CHALLENGE,
            {
                "entry_id": self.hub.entry.entry_id,
                "gate_id": gate_id,
                "challenge": challenge.value,
                "display": {lang: p.text for lang, p in texts.items()},
                "voice": {lang: p.voice for lang, p in texts.items()},
            },
            context=context,
        )

    async def _refuse_attack(
        self,
        gate_id: str,
        match: Match,
        cluster_id: str | None,
        direction: Direction | None,
        context: Context | None,
    ) -> PassageOutcome | None:
        """A track judged a presentation attack: logged (never silent), once per
        debounce window per subject, naming whom the picture matched or the stranger."""
        person_id = match.person_id if match.accepted else None
        subject = person_id or cluster_id
        if subject is not None and self._debounced(gate_id, f"attack:{subject}"):
            return None
        outcome = await self.hub.async_present_face(
            gate_id,
            person_id=person_id,
            template_id=None,
            distance=match.distance if np.isfinite(match.distance) else None,
            cluster_id=cluster_id,
            direction=direction,
            context=context,
            attack=True,
        )
        if cluster_id is not None:
            await self.async_save_clusters()
        return outcome

    async def async_present_frame(
        self, gate_id: str, image: bytes, *, context: Context | None = None
    ) -> list[PassageOutcome]:
        """A camera frame: every face in it, largest first, each decided with the
        frames of its track before it (``tracks.py``), debounced per subject. At a gate
        with PAD on each face also brings its liveness sample (``liveness.py``)."""
        self._require_engine()
        keep = self.options.keep_stranger_snapshots
        found: list[tuple[Face, tuple[bytes, float] | None, Sample | None]]
        pad = self.hub.gate_runtime(gate_id).pad_level is not PadLevel.OFF
        if pad:
            found = list(await self._run(partial(self.worker.analyse_live, image, crops=keep)))
        elif keep:
            found = [(f, c, None) for f, c in await self._run(self.worker.analyse_crops, image)]
        else:  # nothing is cropped, so nothing can be kept
            found = [(f, None, None) for f in await self._run(self.worker.analyse, image)]
        found.sort(key=lambda fc: fc[0].box.area, reverse=True)
        out = []
        for face, crop, sample in found:
            outcome = await self.async_present_embedding(
                gate_id,
                face.encoding,
                context=context,
                debounce=True,
                box=face.box,
                crop=crop,
                sample=sample,
            )
            if outcome is not None:
                out.append(outcome)
        if pad:
            pending = await self._run(self.fusion.pending, gate_id, time.monotonic())
            self.pad_pending[gate_id] = pending
        return out

    async def async_keep_snapshot(self, cluster_id: str, crop: bytes, quality: float) -> bool:
        """Keep a stranger's face crop, sealed, when it is better than the one kept.
        The cluster is saved first, so the crop never outlives a cluster it names."""
        await self.async_save_clusters()
        days = self.options.stranger_snapshot_days
        return await self.hub.db(
            partial(self.photos.keep_snapshot, cluster_id, crop, quality, days=days)
        )

    async def async_snapshot(self, cluster_id: str) -> bytes | None:
        """The stranger's kept crop (JPEG), for the admin panel only; None if none."""
        if not self.options.keep_stranger_snapshots:
            return None
        return await self.hub.db(self.photos.open_snapshot, cluster_id)

    async def async_assign_stranger(self, cluster_id: str, person_id: str) -> tuple[int, bool]:
        """Staff say who a stranger was: the cluster's passages take that person's id and
        the cluster is forgotten. If the person consented to face recognition, the
        cluster's centroid becomes a face reference (unless it matches someone else), so
        they are recognised next time; without consent they are not. Returns
        ``(passages relabelled, enrolled)``."""
        self._require_engine()
        async with self._biometrics:
            return await self._assign_stranger(cluster_id, person_id)

    async def _assign_stranger(self, cluster_id: str, person_id: str) -> tuple[int, bool]:
        person = await self.hub.db(self.hub.store.get_person, person_id)
        cluster = await self._run(self.clusters.get, cluster_id)
        if cluster is None:
            raise errors.UnknownStrangerError("no such stranger", cluster_id=cluster_id)
        consent = await self.hub.db(self.hub.store.active_consent, person_id, CONSENT_FACE)
        try:
            check_face_consent(person, consent)  # a minor needs a guardian's consent
            may_enroll = True
        except errors.CoreError:
            may_enroll = False
        enrolled = False
        if may_enroll:
            nearest = await self._run(self.gallery.nearest_people, cluster.centroid, 3)
            if not any(o != person_id and d <= self.gallery.threshold for o, d in nearest):
                tpl = await self.hub.db(lambda: self.vault.enroll(person_id, cluster.centroid))
                await self._run(self.gallery.add, tpl.id, person_id, cluster.centroid)
                enrolled = True
        await self._run(self.clusters.remove, cluster_id)
        moved = await self.hub.db(
            self.hub.store.assign_cluster, cluster_id, person_id, person.unit_id
        )
        await self.async_save_clusters()
        return moved, enrolled

    async def async_cluster_summaries(self) -> list[dict[str, Any]]:
        """Each stranger cluster's id, sightings and dates: never its centroid."""

        def summarise() -> list[dict[str, Any]]:
            return [
                {
                    "cluster_id": c.id,
                    "sightings": c.count,
                    "days_seen": len(c.days),
                    "first_seen": c.first_seen,
                    "last_seen": c.last_seen,
                }
                for c in self.clusters.export()
            ]

        return await self._run(summarise)

    async def async_expire_clusters(
        self, now: float | None = None, *, days: int | None = None
    ) -> int:
        days = self.options.cluster_retention_days if days is None else days
        cutoff = (now or time.time()) - days * 86400
        removed = await self._run(self.clusters.expire, cutoff)
        await self.async_save_clusters()
        return len(removed)
