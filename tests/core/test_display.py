"""Terminal texts: every decision has a screen text and a voice prompt in both languages."""

from __future__ import annotations

import pytest

from custom_components.community_gate.core.display import LANGUAGES, pick_language, prompt
from custom_components.community_gate.core.model import ALLOWING_REASONS, Reason


@pytest.mark.parametrize("reason", list(Reason))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_has_short_text_and_voice(reason: Reason, language: str) -> None:
    p = prompt(reason, language)
    assert p.text.strip()
    assert p.voice.strip()
    # Fits a two-line terminal display (16-20 columns; CJK glyphs are double width).
    width = sum(2 if ord(c) > 0x2E80 else 1 for c in p.text)
    assert width <= 24, p.text
    if language == "zh-Hans":
        assert any(ord(c) > 0x4E00 for c in p.text + p.voice)


def test_texts_differ_between_languages_and_reasons() -> None:
    for language in LANGUAGES:
        voices = [prompt(r, language).voice for r in Reason]
        # Each refusal says something of its own (two office referrals may share a screen).
        assert len(set(voices)) == len(voices)
    assert prompt(Reason.GRANTED, "en") != prompt(Reason.GRANTED, "zh-Hans")


def test_an_unrecognised_face_hears_lower_the_mask_or_use_a_card() -> None:
    """The seeds' winter: masked residents were refused with nothing to do. A face that
    is not recognised (masked or not: the hub cannot tell) hears both ways out; a card
    that is not recognised does not hear about masks."""
    en, zh = (prompt(Reason.UNKNOWN_CREDENTIAL, lang, face=True) for lang in LANGUAGES)
    for words, shown in ((("mask", "card"), en), (("口罩", "刷卡"), zh)):
        for word in words:
            assert word in shown.text.lower()
            assert word in shown.voice
    assert "mask" not in prompt(Reason.UNKNOWN_CREDENTIAL, "en").voice
    # Other reasons read the same for faces and cards.
    assert prompt(Reason.GATE_NOT_ALLOWED, "en", face=True) == prompt(Reason.GATE_NOT_ALLOWED)


def test_a_stranger_is_offered_a_way_in_without_a_face() -> None:
    assert "card" in prompt(Reason.UNKNOWN_CREDENTIAL, "en").voice
    assert "刷卡" in prompt(Reason.UNKNOWN_CREDENTIAL, "zh-Hans").voice
    # Refusals never sound like a welcome.
    for reason in set(Reason) - ALLOWING_REASONS:
        assert "Welcome" not in prompt(reason, "en").voice


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("ZH-tw", "zh-Hans"),
        ("en-US,zh;q=0.5", "en"),
        ("", "en"),
        (None, "en"),
        ("fr", "en"),
    ],
)
def test_language_from_accept_language(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_unknown_language_falls_back_to_english() -> None:
    assert prompt(Reason.GRANTED, "de") == prompt(Reason.GRANTED, "en")
