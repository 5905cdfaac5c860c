"""The recovery admin's form (storefront.forms): the flow on or off, the sending window of
texts and calls, the real-time save on checkout (on or off, the risk threshold, which save,
its offer and code lifetime, the help or reassurance text), and for each sending stage: on
or off, delay, channel, offer, the code's lifetime and the minimum cart value. ``stages()`` gives the stage list that
``services.save_settings`` validates again (``stages.validate_stages``) before saving;
its errors come back to the inputs with ``show_errors``."""
from __future__ import annotations

from storefront.forms import AdminForm, Choice, Flag, Money, Text, WholeNumber
from storefront.notifications.quiet_hours import SendingWindow
from storefront.recovery import stages as flow

CHANNEL_CHOICES = [("EMAIL", "Email"), ("SMS", "Text (SMS)"), ("VOICE", "Call")]
FIELD_NAMES = {"enabled": "enabled", "delay_minutes": "delay", "channel": "channel", "offer_percent": "offer",
               "offer_hours": "offer_hours", "min_cart_cents": "minimum"}
REALTIME_NAMES = {"enabled": "enabled", "threshold": "threshold", "save": "save", "offer_percent": "offer",
                  "offer_hours": "offer_hours", "text": "text"}
SAVE_CHOICES = [(flow.SAVE_AUTO, "Automatic: payment help when the card holds them up, else the offer "
                                 "(or reassurance without one)"),
                (flow.SAVE_OFFER, "Always the offer"), (flow.SAVE_HELP, "Help text"),
                (flow.SAVE_REASSURANCE, "Reassurance"), (flow.SAVE_PAYMENT, "Payment alternative (another card)")]


class RecoverySettingsForm(AdminForm):
    """The merchant's cart-save flow. Inputs per stage are named "<stage>_<field>", e.g.
    "incentive_email_offer"."""

    enabled = Flag("Send cart recovery messages")
    window_start = Text("Texts and calls from", required=True, max_length=5)
    window_end = Text("Texts and calls until", required=True, max_length=5)
    realtime_enabled = Flag("Real-time save on checkout: on")
    realtime_threshold = WholeNumber("Real-time save: from a churn risk of", low=1, high=100, required=True)
    realtime_save = Choice("Real-time save: which save", choices=SAVE_CHOICES, required=True)
    realtime_offer = WholeNumber("Real-time save: discount %", low=0, high=flow.MAX_OFFER_PERCENT, required=True)
    realtime_offer_hours = WholeNumber("Real-time save: code valid for hours", low=0, high=flow.MAX_OFFER_HOURS,
                                       required=True)
    realtime_text = Text("Real-time save: help or reassurance text", max_length=flow.MAX_SAVE_TEXT)

    def check(self) -> None:
        if self.ok("window_start", "window_end"):
            try:
                SendingWindow.parse(self.window_start.data, self.window_end.data)
            except ValueError as error:
                self.fail("window_end", str(error))

    def stage_fields(self, stage: str) -> dict:
        """The bound inputs of ``stage`` by setting name."""
        return {setting: self[f"{stage.lower()}_{name}"] for setting, name in FIELD_NAMES.items()}

    def realtime_fields(self) -> dict:
        """The bound inputs of the REALTIME stage by setting name."""
        return {setting: self[f"realtime_{name}"] for setting, name in REALTIME_NAMES.items()}

    def stages(self) -> list[dict]:
        """The stage list as typed, in the normal form's keys."""
        realtime = {"stage": flow.REALTIME, **{setting: f.data for setting, f in self.realtime_fields().items()}}
        return [realtime, *({"stage": stage, **{setting: f.data for setting, f in self.stage_fields(stage).items()}}
                            for stage in flow.SENDING_STAGES)]

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put ``stages.StageConfigError.errors`` on their inputs."""
        for key, message in errors.items():
            stage, _, setting = key.partition(".")
            names = REALTIME_NAMES if stage == flow.REALTIME else FIELD_NAMES
            name = f"{stage.lower()}_{names.get(setting, '')}"
            known = stage == flow.REALTIME or stage in flow.SENDING_STAGES
            self.fail(name if known and name in self else None, message)


for _stage in flow.SENDING_STAGES:
    _label = flow.STAGE_LABELS[_stage]
    _prefix = _stage.lower()
    setattr(RecoverySettingsForm, f"{_prefix}_enabled", Flag(f"{_label}: on"))
    setattr(RecoverySettingsForm, f"{_prefix}_delay",
            WholeNumber(f"{_label}: minutes after the shopper left", low=0, high=flow.MAX_DELAY_MINUTES, required=True))
    setattr(RecoverySettingsForm, f"{_prefix}_channel", Choice(f"{_label}: channel", choices=CHANNEL_CHOICES,
                                                                required=True))
    setattr(RecoverySettingsForm, f"{_prefix}_offer",
            WholeNumber(f"{_label}: discount %", low=0, high=flow.MAX_OFFER_PERCENT, required=True))
    setattr(RecoverySettingsForm, f"{_prefix}_offer_hours",
            WholeNumber(f"{_label}: code valid for hours", low=0, high=flow.MAX_OFFER_HOURS, required=True))
    setattr(RecoverySettingsForm, f"{_prefix}_minimum", Money(f"{_label}: minimum cart value", required=True))


def form_data(enabled: bool, stages: list[dict], window_start: str, window_end: str) -> dict:
    """The stored settings by input name, for ``RecoverySettingsForm.of``."""
    data = {"enabled": enabled, "window_start": window_start, "window_end": window_end}
    realtime = flow.stage_config(stages, flow.REALTIME)
    data.update({f"realtime_{name}": realtime[setting] for setting, name in REALTIME_NAMES.items()})
    for stage in stages:
        if stage["stage"] in flow.SENDING_STAGES:
            for setting, name in FIELD_NAMES.items():
                data[f"{stage['stage'].lower()}_{name}"] = stage[setting]
    return data


class SendTestForm(AdminForm):
    """"Send me a test": the email ``stage`` to preview (``previews.send_test_email`` says
    when it is not one)."""

    stage = Text("Stage", filters=[lambda text: (text or "")[:32]])
