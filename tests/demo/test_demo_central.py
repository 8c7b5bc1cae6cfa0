"""The demo pointed at a PostgreSQL (``scripts/demo --central DSN``): the demo estate
replicates to it and the command centre entry, reading the same database, shows the
estate with its passages in the panel's centre view (over the websocket, and where
Chromium is installed in the real panel: the estate picker's "Command centre", the
estates table, an estate's passages at the centre). Screenshot:
``artifacts/screenshots/centre-view.png``."""

from __future__ import annotations

from pathlib import Path
import time
from typing import Any

from tests.demo.conftest import Client, running_demo
from tests.demo.test_panel_browser import CHROMIUM, SHOTS, TABLET, record_page_errors
from tests.demo.test_panel_lockdown_browser import _log_in

CODE = "demo-estate"
DEADLINE_S = 180.0  # the centre polls every 30 s; a stuck test fails after this


def _estate_at_centre(client: Client) -> dict[str, Any] | None:
    """The demo estate as the centre shows it; None until it does (the centre entry
    may still be starting)."""
    answer = client.ws({"type": "community_gate/centre"})
    if not answer["success"]:
        return None
    return next((e for e in answer["result"]["estates"] if e["estate"] == CODE), None)


def test_demo_replicates_and_the_centre_shows_it(
    tmp_path: Path, postgres_dsn: str, socket_enabled: None
) -> None:
    with running_demo(tmp_path, mqtt=False, central=postgres_dsn) as demo:
        client = demo.client
        out = client.present("east_gate", "card", "10001")
        assert out["allowed"] is True
        deadline = time.monotonic() + DEADLINE_S
        while True:
            seen = _estate_at_centre(client)
            if seen is not None and seen["passages_today"] >= 1:
                break
            assert time.monotonic() < deadline, seen
            time.sleep(1)
        answer = client.ws({"type": "community_gate/centre/passages", "estate": CODE, "limit": 5})
        assert answer["success"], answer
        passages = answer["result"]["passages"]
        assert passages[0]["gate_id"] == "east_gate"
        assert passages[0]["method"] == "card"
        assert passages[0]["person_id"] == "p-wang"
        # The demo's people have names; none crosses to the centre by default. The
        # gate is equipment: the centre names it as the estate does.
        assert passages[0]["person_name"] is None
        assert passages[0]["gate_name"] == "East gate"
        if Path(CHROMIUM).exists():
            _centre_in_the_panel(client)
    # The password given on the command line is stored apart from the address.
    entries = (demo.config / ".storage" / "core.config_entries").read_text()
    password = postgres_dsn.split("@", maxsplit=1)[0].rsplit(":", 1)[1]
    assert postgres_dsn not in entries
    assert entries.count(password) == 2  # the estate's option and the centre's entry


def _centre_in_the_panel(client: Client) -> None:
    """Staff pick "Command centre" in the panel's estate picker and open an estate."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport=TABLET, locale="en-US").new_page()
            errors: list[str] = []
            record_page_errors(page, errors)
            panel = _log_in(page, client.base)
            picker = panel.locator("select.estate")
            picker.select_option(label="Command centre")
            row = panel.locator(f'tr[data-centre-estate="{CODE}"]')
            row.wait_for(timeout=60_000)
            assert panel.get_by_text("Alerts across estates").count() == 1
            row.click()
            box = panel.locator(".centre-passages")
            box.get_by_text(f"Passages of {CODE} at the centre").wait_for(timeout=30_000)
            assert "East gate" in box.inner_text()
            assert "p-wang" in box.inner_text()  # an id: this estate shares no names
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "centre-view.png"))
            # Back to the estate: its own views again.
            picker.select_option(label="Demo estate")
            panel.locator('nav button[data-tab="people"]').wait_for(timeout=30_000)
            assert errors == []
        finally:
            browser.close()
