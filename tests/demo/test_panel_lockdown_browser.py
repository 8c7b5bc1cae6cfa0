"""Lockdown and ignoring a stranger as staff use them in the panel (issue 17, items 4 and
5), in Debian's Chromium against the running demo estate: lock the estate down from the
Gates view (a resident's card is refused, the guard's opens), lift it; mark the demo's
stranger "known, do not alert" with a note, see the mark, lift it; the same views in
Chinese. Screenshots go to ``artifacts/screenshots/`` (``1x-*``)."""

from __future__ import annotations

import time
from typing import Any

from tests.demo.conftest import Client
from tests.demo.test_panel_browser import (  # noqa: F401  (the fixture)
    _shot,
    page,
    wait_faces_ready,
)


def _log_in(p: Any, base: str) -> Any:
    p.goto(base + "/")
    p.fill("input[name=username]", "demo")
    p.fill("input[name=password]", "demo-estate")
    p.keyboard.press("Enter")
    p.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url, timeout=60_000)
    p.locator("home-assistant-main").wait_for(timeout=60_000)
    p.goto(base + "/community-gate")
    panel = p.locator("community-gate-panel")
    panel.locator("nav button").first.wait_for(timeout=60_000)
    return panel


def _desk_reader(panel: Any, card: str, *, keep: bool = False) -> str:
    """A card swiped at the East gate's desk reader on the Gates view: the answer shown."""
    form = panel.locator('[data-gate="east_gate"] form[data-form="desk-reader"]')
    form.locator("select[name=kind]").select_option("card")
    form.locator("input[name=value]").fill(card)
    form.get_by_role("button", name="Present").click()
    flash = panel.locator(".flash .msg")
    flash.wait_for(timeout=30_000)
    text: str = flash.inner_text()
    if not keep:  # the next answer is a new one
        panel.locator(".flash").evaluate("el => { el.innerHTML = '' }")
    return text


def _stranger_at_the_door(client: Client) -> None:
    """The demo's door camera shows a stranger until a denied face passage is logged."""
    visitor = {"entity_id": "input_select.building_3_visitor"}
    select = "/api/services/input_select/select_option"
    client.call("POST", select, visitor | {"option": "A stranger"})
    deadline = time.monotonic() + 120
    while True:
        attrs = client.state("event.building_3_door_passage")["attributes"]
        if attrs.get("method") == "face" and attrs.get("event_type") == "denied":
            break
        assert time.monotonic() < deadline, attrs
        time.sleep(0.5)
    client.call("POST", select, visitor | {"option": "Nobody"})


def test_lockdown_and_ignored_stranger_in_the_panel(
    page: tuple[Any, Client, list[str]],  # noqa: F811  (the imported fixture)
) -> None:
    p, client, errors = page
    p.on("dialog", lambda d: d.accept())  # "Lock down the estate?"
    panel = _log_in(p, client.base)
    wait_faces_ready(p, panel)

    # --- lockdown from the Gates view
    panel.get_by_role("button", name="Lockdown: only staff pass").click()
    panel.get_by_text("LOCKDOWN: every gate refuses all but staff").wait_for()
    assert client.state("switch.demo_estate_lockdown")["state"] == "on"
    # At the guard booth's desk reader: a resident's card is refused, the guard's opens.
    assert "Granted: Granted" in _desk_reader(panel, "30001")
    assert "Denied: Lockdown: only staff pass" in _desk_reader(panel, "10001", keep=True)
    _shot(p, "10-lockdown")
    # The refusal reads as such in the log.
    panel.locator('nav button[data-tab="passages"]').click()
    panel.get_by_text("Lockdown: only staff pass").first.wait_for(timeout=30_000)
    panel.locator('nav button[data-tab="gates"]').click()
    panel.get_by_role("button", name="End lockdown").click()
    panel.get_by_role("button", name="Lockdown: only staff pass").wait_for()
    assert panel.get_by_text("LOCKDOWN: every gate").count() == 0
    assert client.state("switch.demo_estate_lockdown")["state"] == "off"
    assert "Granted: Granted" in _desk_reader(panel, "10001")

    # --- a stranger staff know: ignore with a note, then lift it
    _stranger_at_the_door(client)
    panel.locator('nav button[data-tab="strangers"]').click()
    form = panel.locator('form[data-form="ignore"]').first
    form.wait_for(timeout=30_000)
    form.locator("input[name=note]").fill("Postman Li, weekdays about 10:00")
    form.locator("input[name=days]").fill("14")
    form.get_by_role("button", name="Ignore (known)").click()
    marked = panel.get_by_text("Ignored until", exact=False).first
    marked.wait_for(timeout=30_000)
    assert "Postman Li" in marked.inner_text()
    _shot(p, "11-stranger-ignored")

    # --- switched elsewhere (the entity, an automation): the banner follows on any view
    switch = {"entity_id": "switch.demo_estate_lockdown"}
    client.call("POST", "/api/services/switch/turn_on", switch)
    panel.locator('nav button[data-tab="people"]').click()
    panel.get_by_text("LOCKDOWN: every gate refuses all but staff").wait_for(timeout=30_000)
    client.call("POST", "/api/services/switch/turn_off", switch)
    panel.locator('nav button[data-tab="strangers"]').click()
    panel.get_by_text("LOCKDOWN: every gate").wait_for(state="detached", timeout=30_000)

    # --- the same in Chinese
    p.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))")
    p.reload()
    panel = p.locator("community-gate-panel")
    panel.locator('nav button[data-tab="strangers"]').wait_for(timeout=60_000)
    panel.locator('nav button[data-tab="strangers"]').click()
    panel.get_by_text("已忽略，至", exact=False).first.wait_for(timeout=30_000)
    _shot(p, "12-strangers-zh")
    panel.get_by_role("button", name="取消忽略").first.click()
    panel.locator('form[data-form="ignore"]').first.wait_for(timeout=30_000)
    panel.locator('nav button[data-tab="gates"]').click()
    panel.get_by_role("button", name="封控：仅物业人员可通行").wait_for(timeout=30_000)
    _shot(p, "13-gates-zh")

    ours = [e for e in errors if "ViewTransition" not in e]
    assert ours == [], errors
