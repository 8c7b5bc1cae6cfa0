"""Stranger snapshots and the face-engine bits of the panel (issues 17 and 14), in Debian's
Chromium against the running demo estate (which turns the snapshot option on; the
product default is off), in English and Chinese:

- the Strangers view shows the stranger's face crop, fetched with the admin's token
  into a ``blob:`` URL (no address anyone else could open);
- enrolling a face close to someone else's names that person and offers "They are
  different people (siblings, twins)", which retries with ``different_from`` and is
  audited;
- after a face-engine switch, the Gates view names the engine and counts the people who
  need a new face photo, and their record says so.

Screenshots go to ``artifacts/screenshots/`` (``4x-*``)."""

from __future__ import annotations

import time
from typing import Any

from tests.demo.conftest import Client
from tests.demo.test_panel_browser import (  # noqa: F401  (the fixture)
    PHOTOS,
    _shot,
    page,
    wait_faces_ready,
)
from tests.demo.test_panel_lockdown_browser import _log_in, _stranger_at_the_door

SERVICES = "/api/services/community_gate"


def _switch_engine(client: Client, engine: str) -> None:
    """The options flow, as staff would run it in Settings."""
    [entry] = [
        e
        for e in client.call("GET", "/api/config/config_entries/entry")
        if e["domain"] == "community_gate"
    ]
    flow = client.call(
        "POST", "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
    )
    done = client.call(
        "POST",
        f"/api/config/config_entries/options/flow/{flow['flow_id']}",
        {"face_engine": engine},
    )
    assert done["type"] == "create_entry", done


def _audit(client: Client, action: str) -> list[dict[str, Any]]:
    out = client.call("POST", f"{SERVICES}/query_audit_log?return_response", {"action": action})
    return list(out["service_response"]["entries"])


def test_snapshot_look_alike_and_engine_switch_in_the_panel(
    page: tuple[Any, Client, list[str]],  # noqa: F811  (the imported fixture)
) -> None:
    p, client, errors = page
    panel = _log_in(p, client.base)
    wait_faces_ready(p, panel)
    assert panel.get_by_text("Engine: ncnn (YuNet + SFace)", exact=False).count() == 1
    assert panel.get_by_text("need a new face photo", exact=False).count() == 0

    # --- the stranger's snapshot
    _stranger_at_the_door(client)
    panel.locator('nav button[data-tab="strangers"]').click()
    row = panel.locator("tr[data-cluster]").first
    row.wait_for(timeout=30_000)
    img = row.locator("td.snap img")
    img.wait_for(timeout=30_000)
    p.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=30_000
    )
    size = img.evaluate("el => [el.naturalWidth, el.naturalHeight]")
    assert 48 <= max(size) <= 128, size
    assert img.get_attribute("src").startswith("blob:")  # fetched with the token, no URL
    assert "encrypted, only for administrators" in panel.locator(".view").inner_text()
    cluster = row.get_attribute("data-cluster")
    _shot(p, "40-stranger-snapshot")
    viewed = _audit(client, "view_stranger_snapshot")
    assert any(a["subject"] == cluster and a["outcome"] == "ok" for a in viewed), viewed
    # The same view in Chinese, then back to English.
    for lang in ("zh-Hans", "en"):
        p.evaluate(f"localStorage.setItem('selectedLanguage', JSON.stringify('{lang}'))")
        p.reload()
        panel = p.locator("community-gate-panel")
        panel.locator('nav button[data-tab="strangers"]').wait_for(timeout=60_000)
        panel.locator('nav button[data-tab="strangers"]').click()
        img = panel.locator("tr[data-cluster] td.snap img").first
        img.wait_for(timeout=30_000)
        p.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=30_000
        )
        if lang == "zh-Hans":
            assert "快照加密保存" in panel.locator(".view").inner_text()
            _shot(p, "47-stranger-snapshot-zh")

    # --- a look-alike: Zhao Lan's photo is close to Wang Fang's enrolled face
    panel.locator('nav button[data-tab="enroll"]').click()
    consent = panel.locator('form[data-form="consent"]')
    consent.locator("input[name=person_id]").fill("p-zhao")
    consent.locator("input[name=agreed]").check()
    consent.get_by_role("button", name="Record consent").click()
    panel.get_by_text("Consent recorded.").wait_for()
    panel.locator('input[type=file][data-action="photo"]').set_input_files(
        str(PHOTOS / "obama3.jpg")
    )
    refusal = panel.locator('.quality .msg.error[data-error="face_duplicate"]')
    refusal.wait_for(timeout=60_000)
    assert "very close to the face of Wang Fang (p-wang)" in refusal.inner_text()
    _shot(p, "41-enroll-look-alike")
    refusal.get_by_role("button", name="They are different people (siblings, twins)").click()
    ok = panel.locator(".quality [data-ok][data-look-alike]")
    ok.wait_for(timeout=60_000)
    assert "You confirmed they are different people" in ok.inner_text()
    panel.get_by_role("button", name="Enroll", exact=True).click()
    panel.get_by_text("Recorded in the audit log that they are different people.").wait_for(
        timeout=60_000
    )
    _shot(p, "42-enrolled-look-alike")
    [confirmed] = _audit(client, "confirm_different_person")
    assert confirmed["subject"] == "p-zhao|p-wang"

    # --- the estate switches to the dlib engine: nobody has a kept photo to re-encode
    _switch_engine(client, "dlib_resnet_v1")
    time.sleep(2)  # the entry reloads
    p.goto(client.base + "/community-gate")
    panel = p.locator("community-gate-panel")
    panel.locator("nav button").first.wait_for(timeout=60_000)
    wait_faces_ready(p, panel)
    text = panel.locator(".view").inner_text()
    assert "Engine: dlib (face_recognition)" in text
    assert "2 people need a new face photo" in text
    _shot(p, "43-gates-reenroll")
    panel.locator('nav button[data-tab="people"]').click()
    panel.locator('tr[data-person="p-wang"]').click()
    notice = panel.locator('[data-detail="p-wang"] [data-reenroll]')
    notice.wait_for(timeout=30_000)
    assert "Needs a new face photo (face engine changed)" in notice.inner_text()
    notice.scroll_into_view_if_needed()
    _shot(p, "44-person-reenroll")

    # --- in Chinese
    p.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))")
    p.reload()
    panel = p.locator("community-gate-panel")
    panel.locator('nav button[data-tab="gates"]').wait_for(timeout=60_000)
    wait_faces_ready(p, panel, "人脸识别已就绪")
    text = panel.locator(".view").inner_text()
    assert "引擎：dlib 引擎（face_recognition）" in text
    assert "2 人需要重新录入人脸照片" in text
    _shot(p, "45-gates-reenroll-zh")
    panel.locator('nav button[data-tab="people"]').click()
    panel.locator('tr[data-person="p-wang"]').click()
    notice = panel.locator('[data-detail="p-wang"] [data-reenroll]')
    notice.wait_for(timeout=30_000)
    assert "需要重新录入人脸照片（人脸引擎已更换）" in notice.inner_text()
    notice.scroll_into_view_if_needed()
    _shot(p, "46-person-reenroll-zh")
    ours = [e for e in errors if "ViewTransition" not in e]
    assert ours == [], errors
