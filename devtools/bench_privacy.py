"""Benchmark of the privacy operations on a production-shaped store.

    python -m devtools.bench privacy --json

Builds a fresh estate in ``--dir`` with ``--people`` people, one sealed face template
each and ``--passages`` passages spread over 360 days, opened as production opens it
(WAL, ``synchronous=FULL``, ``secure_delete``), then times:

* ``rotate``: re-sealing every template (and the key-file dance) in one transaction;
* ``erase``: ``erase_person`` for people with a typical history (p50/max over a sample);
* ``export``: ``export_person`` for the same kind of people;
* ``purge``: the nightly passage sweep at 180 days (half the log goes);
* ``audit``: audit rows written one durable commit each.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import os
from pathlib import Path
import platform
import random
import shutil
import statistics
import sys
import time
from typing import Any

import numpy as np

from custom_components.community_gate.core.crypto import load_or_create_key
from custom_components.community_gate.core.keys import load_sealing_root, rotate_sealing_key
from custom_components.community_gate.core.model import (
    CONSENT_FACE,
    Direction,
    FaceVariant,
    Method,
    Passage,
    Person,
    Reason,
    Role,
    Unit,
)
from custom_components.community_gate.core.privacy import (
    DAY,
    PhotoVault,
    Retention,
    audit_entry,
    erase_person,
    export_person,
    photo_sealer,
    purge,
)
from custom_components.community_gate.core.store import Store
from custom_components.community_gate.core.templates import (
    ENGINE_DLIB,
    TemplateVault,
    template_sealer,
)
from devtools.benchlib import REPO_ROOT, Command


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _build(db: Path, people: int, passages: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    store = Store.open(db, durable=False)
    root = load_sealing_root(db, store, load_or_create_key(db.with_name(db.name + ".key")))
    vault = TemplateVault(store, template_sealer(root))
    store.add_unit(Unit("u0", "1", "101"))
    store.add_people(Person(f"p{i}", Role.TENANT, f"Name {i}", "u0") for i in range(people))
    now = time.time()
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO consents (person_id, purpose, notice_version, given_at, operator)"
            " VALUES (?,?,?,?,?)",
            ((f"p{i}", CONSENT_FACE, "v1", now, "bench") for i in range(people)),
        )
        vecs = rng.normal(0, 0.1, (people, 128)).astype(np.float32)
        c.executemany(
            "INSERT INTO face_templates VALUES (?,?,?,?,?,?,?)",
            (
                (
                    f"face{i}",
                    f"p{i}",
                    ENGINE_DLIB,
                    FaceVariant.PLAIN.value,
                    vault.seal(f"face{i}", f"p{i}", vecs[i]),
                    None,
                    now,
                )
                for i in range(people)
            ),
        )
    pick = random.Random(seed)
    batch: list[Passage] = []
    for n in range(passages):
        pid = f"p{pick.randrange(people)}"
        batch.append(
            Passage(
                ts=now - pick.random() * 360 * DAY,
                gate_id="east_gate",
                direction=Direction.IN,
                method=Method.FACE,
                allowed=True,
                reason=Reason.GRANTED,
                person_id=pid,
                unit_id="u0",
            )
        )
        if len(batch) == 100_000 or n == passages - 1:
            store.add_passages(batch)
            batch.clear()
    store.close()


def run_privacy(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.dir) / "privacy"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "estate.db"
    t0 = time.perf_counter()
    _log(f"building {args.people} people / {args.passages} passages ...")
    _build(db, args.people, args.passages, args.seed)
    build_s = time.perf_counter() - t0

    store = Store.open(db)  # durable, secure_delete: as production
    hash_key = load_or_create_key(db.with_name(db.name + ".key"))
    root = load_sealing_root(db, store, hash_key)
    vault = TemplateVault(store, template_sealer(root))
    photos = PhotoVault(store, photo_sealer(root))
    out: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "date": datetime.now(UTC).date().isoformat(),
        "people": args.people,
        "passages": args.passages,
        "build_s": round(build_s, 1),
    }

    _log("rotate ...")
    t = time.perf_counter()
    _root, report = rotate_sealing_key(db, store, vault, photos, now=time.time())
    out["rotate"] = {
        "templates": report.templates,
        "seconds": round(time.perf_counter() - t, 2),
    }

    sample = random.Random(args.seed + 1).sample(range(args.people), args.sample)
    times: list[float] = []
    for i in sample[: args.sample // 2]:
        t = time.perf_counter()
        export_person(store, f"p{i}")
        times.append((time.perf_counter() - t) * 1000)
    out["export_ms"] = {"p50": round(statistics.median(times), 1), "max": round(max(times), 1)}

    _log("erase ...")
    times = []
    for i in sample[args.sample // 2 :]:
        t = time.perf_counter()
        erase_person(store, f"p{i}")
        times.append((time.perf_counter() - t) * 1000)
    out["erase_ms"] = {"p50": round(statistics.median(times), 1), "max": round(max(times), 1)}

    _log("audit ...")
    t = time.perf_counter()
    for n in range(args.audit):
        store.add_audit(audit_entry("bench", "update_person", f"p{n}"))
    out["audit_rows_per_s"] = round(args.audit / (time.perf_counter() - t))

    _log("purge ...")
    t = time.perf_counter()
    removed = purge(store, Retention(), time.time())
    seconds = time.perf_counter() - t
    out["purge"] = {
        "passages_removed": removed["passages"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(removed["passages"] / seconds) if seconds else None,
    }
    store.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


def format_privacy(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['machine']}, Python {r['python']}, {r['date']}",
            f"estate: {r['people']} people with a sealed template, {r['passages']} passages",
            f"rotate sealing key: {r['rotate']['templates']} templates in"
            f" {r['rotate']['seconds']} s",
            f"export_person: p50 {r['export_ms']['p50']} ms, max {r['export_ms']['max']} ms",
            f"erase_person: p50 {r['erase_ms']['p50']} ms, max {r['erase_ms']['max']} ms",
            f"audit rows (durable, one commit each): {r['audit_rows_per_s']}/s",
            f"retention purge: {r['purge']['passages_removed']} passages in"
            f" {r['purge']['seconds']} s ({r['purge']['rows_per_s']}/s)",
        ]
    )


def add_privacy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=str(REPO_ROOT / ".bench"), help="work dir [%(default)s]")
    p.add_argument("--people", type=int, default=100_000, help="[%(default)s]")
    p.add_argument("--passages", type=int, default=1_000_000, help="[%(default)s]")
    p.add_argument("--sample", type=int, default=40, help="people exported+erased")
    p.add_argument("--audit", type=int, default=2_000, help="audit rows to write")
    p.add_argument("--seed", type=int, default=20261125)
    p.add_argument("--keep", action="store_true", help="keep the built estate")


PRIVACY_COMMAND: Command = (
    "privacy: key rotation, erasure, export, audit and retention on a large estate",
    add_privacy_args,
    run_privacy,
    format_privacy,
)
