"""Phone numbers for the SMS and voice channels: E.164 form and the number's time zones
(``phonenumbers`` and its timezone data)."""
from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as number_timezones


class PhoneError(ValueError):
    """Not a phone number we can text or call; ``str(error)`` says why."""


def normalise_phone(raw: str, region: str | None = None) -> str:
    """``raw`` as E.164 ("+15125550100"). A number without "+" is read in ``region`` (ISO
    3166 alpha-2; none given: it must carry its country code). Raises PhoneError when it is
    not a valid number."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise PhoneError("That is not a phone number.") from error
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("That phone number is not valid.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def number_zones(phone: str) -> tuple[str, ...]:
    """The IANA time zones ``phonenumbers`` gives for an E.164 number, sorted; empty when it
    knows none (its "Etc/Unknown") or the number cannot be read."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_timezones.time_zones_for_number(number)
    return tuple(sorted(zone for zone in zones if zone != "Etc/Unknown"))
