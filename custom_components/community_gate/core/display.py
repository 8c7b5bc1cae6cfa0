"""What a gate terminal shows and says to the person standing at it, per decision.

Every reason code gets its own short screen text and a spoken prompt, in English and
Simplified Chinese, so a resident who is refused learns what to do next: most refusals
point to a way in that does not need a face (card, QR code, PIN) or to the property
office. Texts never name the person or the rule that matched (someone else may be
standing behind them), and they never repeat a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .model import Reason

LANGUAGES: Final = ("en", "zh-Hans")
DEFAULT_LANGUAGE: Final = "en"


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str  # the screen: short enough for a 2-line terminal display
    voice: str  # the speaker: a full sentence


_TEXTS: Final[dict[Reason, dict[str, Prompt]]] = {
    Reason.GRANTED: {
        "en": Prompt("Welcome", "Door open. Welcome home."),
        "zh-Hans": Prompt("欢迎", "门已开，欢迎回家。"),
    },
    Reason.REMOTE_OPEN: {
        "en": Prompt("Opened by staff", "The property office opened the door for you."),
        "zh-Hans": Prompt("物业已开门", "物业工作人员已为您开门。"),
    },
    Reason.EMERGENCY_OPEN: {
        "en": Prompt("Emergency: open", "Emergency. All gates are open. Please leave calmly."),
        "zh-Hans": Prompt("紧急状态，门已打开", "紧急状态，所有门已打开，请有序离开。"),
    },
    Reason.UNKNOWN_CREDENTIAL: {
        "en": Prompt("Not recognised", "Not recognised. Please use your card, QR code or PIN."),
        "zh-Hans": Prompt("未识别", "未能识别，请刷卡、扫码或输入密码。"),
    },
    Reason.MALFORMED_CREDENTIAL: {
        "en": Prompt("Read error, retry", "That could not be read. Please try again."),
        "zh-Hans": Prompt("读取失败，请重试", "读取失败，请重试。"),
    },
    Reason.CREDENTIAL_REVOKED: {
        "en": Prompt(
            "Card not valid", "This card is no longer valid. Please see the property office."
        ),
        "zh-Hans": Prompt("此卡已失效", "此卡已失效，请联系物业。"),
    },
    Reason.CREDENTIAL_NOT_YET_VALID: {
        "en": Prompt("Pass not valid yet", "This pass is not valid yet."),
        "zh-Hans": Prompt("通行证尚未生效", "此通行证尚未生效。"),
    },
    Reason.CREDENTIAL_EXPIRED: {
        "en": Prompt("Pass expired", "This pass has expired. Please ask your host for a new one."),
        "zh-Hans": Prompt("通行证已过期", "此通行证已过期，请联系被访住户重新获取。"),
    },
    Reason.CREDENTIAL_USED_UP: {
        "en": Prompt("Pass already used", "This pass has already been used."),
        "zh-Hans": Prompt("通行证已使用", "此通行证已使用过。"),
    },
    Reason.PERSON_BLOCKED: {
        "en": Prompt("Please see the office", "Please contact the property office."),
        "zh-Hans": Prompt("请联系物业", "请联系物业管理处。"),
    },
    Reason.PERSON_NOT_YET_VALID: {
        "en": Prompt(
            "Access not active yet",
            "Your access is not active yet. Please see the property office.",
        ),
        "zh-Hans": Prompt("通行权限尚未生效", "您的通行权限尚未生效，请联系物业。"),
    },
    Reason.PERSON_EXPIRED: {
        "en": Prompt("Access expired", "Your access has expired. Please see the property office."),
        "zh-Hans": Prompt("通行权限已过期", "您的通行权限已过期，请联系物业。"),
    },
    Reason.LEASE_EXPIRED: {
        "en": Prompt(
            "Please see the office", "Please contact the property office about your lease."
        ),
        "zh-Hans": Prompt("请联系物业", "租约已到期，请联系物业。"),
    },
    Reason.GATE_NOT_ALLOWED: {
        "en": Prompt("Not this door", "Please use the door of your own building."),
        "zh-Hans": Prompt("请走本楼单元门", "请使用您所在楼栋的单元门。"),
    },
    Reason.DIRECTION_NOT_ALLOWED: {
        "en": Prompt("One way only", "This gate is one way. Please use the other gate."),
        "zh-Hans": Prompt("单向通行", "此门为单向通行，请走另一侧。"),
    },
    Reason.METHOD_NOT_ACCEPTED: {
        "en": Prompt(
            "Not accepted here", "This door does not take that. Please use another way in."
        ),
        "zh-Hans": Prompt("此门不支持该方式", "此门不支持该通行方式，请换用其他方式。"),
    },
    Reason.THROTTLED: {
        "en": Prompt(
            "Too many tries, wait", "Too many failed attempts. Please wait and try again."
        ),
        "zh-Hans": Prompt("尝试次数过多，请稍候", "失败次数过多，请稍后再试。"),
    },
    Reason.LOCKDOWN: {
        "en": Prompt(
            "Lockdown: staff only",
            "The estate is locked down for now. Please contact the property office.",
        ),
        "zh-Hans": Prompt("封控中，仅限物业", "小区封控中，暂停通行，请联系物业。"),
    },
    Reason.PRESENTATION_ATTACK: {
        "en": Prompt(
            "Use card, QR or PIN",
            "Face not accepted. Please use your card, QR code or PIN, or ask the property office.",
        ),
        "zh-Hans": Prompt(
            "请刷卡、扫码或输入密码", "人脸未通过验证，请刷卡、扫码或输入密码，或联系物业。"
        ),
    },
    # A card + face gate had the card (or QR, PIN...): the face must follow.
    Reason.SECOND_FACTOR_REQUIRED: {
        "en": Prompt("Now look at the camera", "One more step: please look at the camera."),
        "zh-Hans": Prompt("请看向摄像头", "还差一步：请看向摄像头。"),
    },
    Reason.OUTSIDE_SCHEDULE: {
        "en": Prompt("Not at this time", "Access is not allowed at this time."),
        "zh-Hans": Prompt("当前时段不可通行", "当前时段不可通行。"),
    },
}


# An unrecognised *face*: in the seeds' winter, masked residents were locked out. The
# hub cannot tell a mask from a stranger, so every unrecognised face hears both ways out.
_FACE_UNKNOWN: Final[dict[str, Prompt]] = {
    "en": Prompt(
        "Lower mask or use card",
        "Not recognised. If you wear a mask, lower it for a moment, "
        "or use your card, QR code or PIN.",
    ),
    "zh-Hans": Prompt(
        "请摘下口罩或刷卡", "未能识别。如戴口罩，请稍微拉下口罩；或刷卡、扫码、输入密码。"
    ),
}


# ... and had the face: the card must follow.
_SECOND_AFTER_FACE: Final[dict[str, Prompt]] = {
    "en": Prompt("Now your card or PIN", "One more step: please show your card, QR code or PIN."),
    "zh-Hans": Prompt("请再刷卡或输入密码", "还差一步：请刷卡、扫码或输入密码。"),
}


def pick_language(accept_language: str | None) -> str:
    """``zh-Hans`` for any Chinese preference (``zh``, ``zh-CN``, ``zh-Hans``), else
    English. Only the first preference counts: terminals send one language."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh-Hans" if first.startswith("zh") else DEFAULT_LANGUAGE


def prompt(reason: Reason, language: str = DEFAULT_LANGUAGE, *, face: bool = False) -> Prompt:
    """What to show and say; ``face``: the decision was on a face (not a card)."""
    if face and reason is Reason.UNKNOWN_CREDENTIAL:
        texts = _FACE_UNKNOWN
    elif face and reason is Reason.SECOND_FACTOR_REQUIRED:
        texts = _SECOND_AFTER_FACE
    else:
        texts = _TEXTS[reason]
    return texts.get(language) or texts[DEFAULT_LANGUAGE]
