"""The seven stages of the cart-save flow, their per-merchant settings and the schedule:
pure functions, no database (unit-tested in tests/unit/test_recovery_schedule.py).

The default flow (issue "The default flow"; timings as CartFlows' defaults, offers as the
issue's):

=====================  ========  =======  ======  ================================
Stage                  Delay     Channel  Offer   Condition
=====================  ========  =======  ======  ================================
REALTIME               —         PAGE     5 %     churn risk above the threshold (churn.py)
DIAGNOSIS              —         —        —       picks each message's angle
REMINDER_EMAIL         1 h       EMAIL    none
SMS_NUDGE              4 h       SMS      none    SMS consent, inside quiet hours
INCENTIVE_EMAIL        24 h      EMAIL    10 %    unique single-use code
VOICE_CALL             48 h      VOICE    none    cart >= 100.00, voice consent
FINAL_OFFER_EMAIL      72 h      EMAIL    15 %    code expires 24 h after sending
=====================  ========  =======  ======  ================================

Delays count from the shopper's last activity on the cart, not from the moment the cart
was marked abandoned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storefront.notifications.quiet_hours import DEFAULT_WINDOW, SendingWindow, next_send_time
from storefront.recovery.churn import DEFAULT_THRESHOLD

REALTIME, DIAGNOSIS = "REALTIME", "DIAGNOSIS"
REMINDER_EMAIL, SMS_NUDGE, INCENTIVE_EMAIL = "REMINDER_EMAIL", "SMS_NUDGE", "INCENTIVE_EMAIL"
VOICE_CALL, FINAL_OFFER_EMAIL = "VOICE_CALL", "FINAL_OFFER_EMAIL"
STAGE_NAMES = (REALTIME, DIAGNOSIS, REMINDER_EMAIL, SMS_NUDGE, INCENTIVE_EMAIL, VOICE_CALL, FINAL_OFFER_EMAIL)
SENDING_STAGES = STAGE_NAMES[2:]
STAGE_LABELS = {
    REALTIME: "Real-time save on checkout", DIAGNOSIS: "Diagnosis", REMINDER_EMAIL: "Reminder email",
    SMS_NUDGE: "SMS nudge", INCENTIVE_EMAIL: "Incentive email", VOICE_CALL: "Voice call",
    FINAL_OFFER_EMAIL: "Final offer email",
}
STAGE_TYPES = {REALTIME: "REALTIME", REMINDER_EMAIL: "REMINDER", SMS_NUDGE: "NUDGE", INCENTIVE_EMAIL: "INCENTIVE",
               VOICE_CALL: "CALL", FINAL_OFFER_EMAIL: "FINAL"}
MESSAGE_CHANNELS = ("EMAIL", "SMS", "VOICE")
MAX_DELAY_MINUTES = 30 * 24 * 60
MAX_OFFER_PERCENT = 50
MAX_OFFER_HOURS = 30 * 24
MAX_CART_CENTS = 10_000_000_00
RESUME_DAYS = 7  # abandoned again within this many days of a pause, the same attempt resumes

# The REALTIME stage's own settings (issue 11, §6: "above a merchant threshold ... the
# merchant chooses which"): the churn score (0–100) from which the save shows, which save
# (AUTO: the rule of ``realtime.choose_kind``), and the merchant's help or reassurance text.
SAVE_AUTO, SAVE_OFFER, SAVE_HELP, SAVE_REASSURANCE, SAVE_PAYMENT = "AUTO", "OFFER", "HELP", "REASSURANCE", "PAYMENT"
SAVE_KINDS = (SAVE_AUTO, SAVE_OFFER, SAVE_HELP, SAVE_REASSURANCE, SAVE_PAYMENT)
DEFAULT_SAVE_THRESHOLD = DEFAULT_THRESHOLD  # churn.py says where 50 comes from
MAX_SAVE_TEXT = 300  # two or three short sentences: a note on a checkout, not a page

DEFAULT_STAGES: tuple[dict, ...] = (
    {"stage": REALTIME, "enabled": True, "delay_minutes": 0, "channel": "PAGE", "offer_percent": 5,
     "offer_hours": 24, "min_cart_cents": 0, "threshold": DEFAULT_SAVE_THRESHOLD, "save": SAVE_AUTO, "text": ""},
    {"stage": DIAGNOSIS, "enabled": True, "delay_minutes": 0, "channel": "", "offer_percent": 0,
     "offer_hours": 0, "min_cart_cents": 0},
    {"stage": REMINDER_EMAIL, "enabled": True, "delay_minutes": 60, "channel": "EMAIL", "offer_percent": 0,
     "offer_hours": 0, "min_cart_cents": 0},
    {"stage": SMS_NUDGE, "enabled": True, "delay_minutes": 4 * 60, "channel": "SMS", "offer_percent": 0,
     "offer_hours": 0, "min_cart_cents": 0},
    {"stage": INCENTIVE_EMAIL, "enabled": True, "delay_minutes": 24 * 60, "channel": "EMAIL", "offer_percent": 10,
     "offer_hours": 0, "min_cart_cents": 0},
    {"stage": VOICE_CALL, "enabled": True, "delay_minutes": 48 * 60, "channel": "VOICE", "offer_percent": 0,
     "offer_hours": 0, "min_cart_cents": 100_00},
    {"stage": FINAL_OFFER_EMAIL, "enabled": True, "delay_minutes": 72 * 60, "channel": "EMAIL", "offer_percent": 15,
     "offer_hours": 24, "min_cart_cents": 0},
)


class StageConfigError(ValueError):
    """Stage settings that cannot be saved; ``errors`` maps "<STAGE>.<field>" to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {text}" for key, text in errors.items()))
        self.errors = errors


def default_stages() -> list[dict]:
    """A fresh copy of the default flow, in normal form."""
    return [dict(stage) for stage in DEFAULT_STAGES]


def _bounded(value, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def validate_stages(raw) -> list[dict]:
    """The normal form of a merchant's stage settings: a list of the seven stages in flow
    order, each {"stage", "enabled" (bool), "delay_minutes" (0–43200), "channel",
    "offer_percent" (0–50), "offer_hours" (0–720, 0: no expiry), "min_cart_cents"
    (integer cents)}; REALTIME also {"threshold" (1–100), "save" (SAVE_KINDS), "text"}
    (``_realtime_settings``). Stages (and keys) missing from ``raw`` take their defaults;
    REALTIME and DIAGNOSIS keep their fixed channels and send nothing themselves.

    Raises StageConfigError (every problem at once) for an unknown stage, a repeated one, a
    value of the wrong type or out of bounds, a message channel other than EMAIL, SMS or
    VOICE, or enabled sending stages whose delays go backwards (a later stage must not be
    due before an earlier one).
    """
    if not isinstance(raw, list):
        raise StageConfigError({"stages": "Stage settings are a list."})
    errors: dict[str, str] = {}
    given: dict[str, dict] = {}
    for item in raw:
        name = item.get("stage") if isinstance(item, dict) else None
        if name not in STAGE_NAMES:
            errors[f"{name}.stage"] = "Unknown stage."
        elif name in given:
            errors[f"{name}.stage"] = "This stage appears twice."
        else:
            given[name] = item
    result = []
    for default in DEFAULT_STAGES:
        name = default["stage"]
        item = {**default, **given.get(name, {})}
        clean = {"stage": name}
        if not isinstance(item["enabled"], bool):
            errors[f"{name}.enabled"] = "On or off."
        clean["enabled"] = bool(item["enabled"])
        for field, high, text in (("delay_minutes", MAX_DELAY_MINUTES, "0 to 43200 minutes (30 days)."),
                                  ("offer_percent", MAX_OFFER_PERCENT, "0 to 50 %."),
                                  ("offer_hours", MAX_OFFER_HOURS, "0 to 720 hours (0: no expiry)."),
                                  ("min_cart_cents", MAX_CART_CENTS, "A whole number of cents, 0 or more.")):
            value = _bounded(item[field], 0, high)
            if value is None:
                errors[f"{name}.{field}"] = text
            clean[field] = value if value is not None else default[field]
        if name in SENDING_STAGES:
            if item["channel"] not in MESSAGE_CHANNELS:
                errors[f"{name}.channel"] = "Email, SMS or voice."
            clean["channel"] = item["channel"] if item["channel"] in MESSAGE_CHANNELS else default["channel"]
        else:
            clean["channel"] = default["channel"]
        if name == REALTIME:
            clean.update(_realtime_settings(item, errors))
        result.append(clean)
    previous = None
    for stage in result:
        if stage["stage"] in SENDING_STAGES and stage["enabled"]:
            if previous is not None and stage["delay_minutes"] < previous["delay_minutes"]:
                errors.setdefault(f"{stage['stage']}.delay_minutes",
                                  f"Must not be earlier than {STAGE_LABELS[previous['stage']]} "
                                  f"({previous['delay_minutes']} minutes).")
            previous = stage
    if errors:
        raise StageConfigError(errors)
    return result


def _realtime_settings(item: dict, errors: dict[str, str]) -> dict:
    """The REALTIME stage's threshold (1–100), save (one of SAVE_KINDS) and text (plain,
    one line, at most MAX_SAVE_TEXT characters; required for HELP), adding to ``errors``."""
    clean = {}
    threshold = _bounded(item["threshold"], 1, 100)
    if threshold is None:
        errors["REALTIME.threshold"] = "A churn risk from 1 to 100."
    clean["threshold"] = threshold or DEFAULT_SAVE_THRESHOLD
    if item["save"] not in SAVE_KINDS:
        errors["REALTIME.save"] = "Automatic, offer, help text, reassurance or payment alternative."
    clean["save"] = item["save"] if item["save"] in SAVE_KINDS else SAVE_AUTO
    text = item["text"].strip() if isinstance(item["text"], str) else None
    if text is None or len(text) > MAX_SAVE_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in text):
        errors["REALTIME.text"] = f"Plain text of at most {MAX_SAVE_TEXT} characters, on one line."
        text = ""
    clean["text"] = text
    if clean["save"] == SAVE_HELP and not clean["text"]:
        errors.setdefault("REALTIME.text", "Help text needs its words.")
    if clean["save"] == SAVE_OFFER and item["offer_percent"] == 0:
        errors.setdefault("REALTIME.offer_percent", "An offer needs 1 to 50 %.")
    return clean


def stage_config(stages: list[dict], name: str) -> dict:
    """The settings of stage ``name`` in normal-form ``stages``."""
    return next(stage for stage in stages if stage["stage"] == name)


@dataclass(frozen=True)
class PlannedStep:
    """One message of an attempt's plan: its stage, channel, type, when and why, and the
    offer (percent, hours the code lives after sending; 0: no expiry)."""

    stage: str
    channel: str
    type: str
    at: datetime
    reason: str
    offer_percent: int
    offer_hours: int


@dataclass(frozen=True)
class SkippedStep:
    stage: str
    reason: str


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def plan(stages: list[dict], last_activity: datetime, now: datetime, *, cart_cents: int, email: str | None,
         phone: str | None, window: SendingWindow = DEFAULT_WINDOW,
         fallback_zone: str = "UTC") -> tuple[list[PlannedStep], list[SkippedStep]]:
    """The messages to schedule for a cart whose shopper last acted at ``last_activity``
    (aware UTC), planned at ``now``, and the stages left out with their reason.

    Each enabled sending stage is due ``delay_minutes`` after ``last_activity``. Left out:
    a stage whose channel has no address (no email; no phone for SMS or voice), a cart
    worth less than the stage's ``min_cart_cents``, and a stage already overtaken (the next
    planned stage is also due by ``now``: a shopper who left days ago gets the latest
    message, not every one at once). A text or call due in quiet hours moves to the next
    window (``quiet_hours.next_send_time``), and its reason says so. Consent is checked
    when sending, not here.
    """
    candidates: list[PlannedStep] = []
    skipped: list[SkippedStep] = []
    for stage in stages:
        name = stage["stage"]
        if name not in SENDING_STAGES:
            continue
        if not stage["enabled"]:
            skipped.append(SkippedStep(name, "turned off by the merchant"))
            continue
        channel = stage["channel"]
        if channel == "EMAIL" and not email:
            skipped.append(SkippedStep(name, "no email address"))
            continue
        if channel in ("SMS", "VOICE") and not phone:
            skipped.append(SkippedStep(name, "no phone number"))
            continue
        if cart_cents < stage["min_cart_cents"]:
            skipped.append(SkippedStep(name, f"cart below the stage's minimum of {stage['min_cart_cents']} cents"))
            continue
        at = last_activity + timedelta(minutes=stage["delay_minutes"])
        reason = f"{_hours(stage['delay_minutes'])} after the shopper's last activity"
        if channel in ("SMS", "VOICE"):
            slot = next_send_time(phone, max(at, now), window, fallback_zone)
            if slot.moved:
                at, reason = slot.at, f"{reason}; {slot.reason}"
        candidates.append(PlannedStep(name, channel, STAGE_TYPES[name], at, reason, stage["offer_percent"],
                                      stage["offer_hours"]))
    planned: list[PlannedStep] = []
    for index, step in enumerate(candidates):
        following = candidates[index + 1] if index + 1 < len(candidates) else None
        if following is not None and following.at <= now:
            skipped.append(SkippedStep(step.stage, f"overtaken: {STAGE_LABELS[following.stage]} is already due"))
            continue
        planned.append(step)
    return planned, skipped
