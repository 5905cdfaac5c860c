"""The sending window for texts and calls (quiet hours): pure functions, no database.

Rule (issue "Channels"): an SMS or a call goes out only between 08:00 and 21:00 in the
recipient's local time; a merchant may narrow that window, never widen it. The local time
comes from the number, with ``phonenumbers``' timezone data:

- one zone: that zone's 08:00–21:00, through daylight-saving changes (each day's wall
  clock, so the window is the same local hours on the day the clocks change);
- several zones (a US toll-free number, a Russian or Australian mobile): the hours inside
  the window in every one of them, i.e. the latest start and the earliest end;
- no zone known, or no hour common to all of the number's zones (a +1 800 number spans Guam
  to Pago Pago): the fallback zone the caller gives (the merchant's), and the reason says so.

``next_send_time`` answers with the time and the reason in words, which the caller stores
with the schedule (ARCHITECTURE §5: every schedule stores its reason).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storefront.notifications.phones import number_zones

LEGAL_START, LEGAL_END = time(8, 0), time(21, 0)
HORIZON_DAYS = 8  # a window recurs daily: a week and a day always finds the next one


@dataclass(frozen=True)
class SendingWindow:
    """Local hours ``start`` (inclusive) to ``end`` (exclusive). Raises ValueError unless
    08:00 <= start < end <= 21:00."""

    start: time = LEGAL_START
    end: time = LEGAL_END

    def __post_init__(self) -> None:
        if not (LEGAL_START <= self.start < self.end <= LEGAL_END):
            raise ValueError("The sending window must lie within 08:00–21:00 and start before it ends.")

    @classmethod
    def parse(cls, start: str, end: str) -> SendingWindow:
        """A window from "HH:MM" texts (a merchant's setting). Raises ValueError."""
        try:
            return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except (AttributeError, TypeError) as error:
            raise ValueError("Enter the window's hours as HH:MM.") from error

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


DEFAULT_WINDOW = SendingWindow()


@dataclass(frozen=True)
class SendSlot:
    """When a text or call may go out: ``at`` (aware UTC), ``moved`` when that is not the
    wanted time, ``zone`` the zone the time is told in, and ``reason`` in words."""

    at: datetime
    moved: bool
    zone: str
    reason: str


class OutsideSendingWindow(Exception):
    """A text or call asked for during quiet hours; ``slot`` is the next allowed time (the
    caller reschedules to ``slot.at`` and stores ``slot.reason``)."""

    def __init__(self, slot: SendSlot) -> None:
        super().__init__(slot.reason)
        self.slot = slot


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # An ambiguous wall time (clocks going back) is its first occurrence.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _intervals(zone: ZoneInfo, window: SendingWindow, first: date, days: int) -> list[tuple[datetime, datetime]]:
    return [(_utc(first + timedelta(days=n), window.start, zone), _utc(first + timedelta(days=n), window.end, zone))
            for n in range(days)]


def _intersect(a: list, b: list) -> list[tuple[datetime, datetime]]:
    found, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low < high:
            found.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found


def _first_slot(zones: list[ZoneInfo], window: SendingWindow, wanted: datetime) -> datetime | None:
    first = (wanted - timedelta(days=2)).date()
    common = _intervals(zones[0], window, first, HORIZON_DAYS + 4)
    for zone in zones[1:]:
        common = _intersect(common, _intervals(zone, window, first, HORIZON_DAYS + 4))
    for start, end in common:
        if end > wanted:
            return max(start, wanted)
    return None


def _stamp(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} ({zone.key})"


def next_send_time(phone: str, wanted: datetime, window: SendingWindow = DEFAULT_WINDOW,
                   fallback_zone: str = "UTC") -> SendSlot:
    """The first time at or after ``wanted`` (aware) that ``phone`` (E.164) may get a text or
    call, inside ``window`` in the number's local time (rules in the module docstring).
    ``fallback_zone`` (IANA; UTC when unknown) serves numbers whose zone is unknown.
    Raises ValueError for a naive ``wanted``."""
    if wanted.tzinfo is None:
        raise ValueError("naive datetime: times are timezone-aware UTC")
    wanted = wanted.astimezone(UTC)
    fallback = _zone(fallback_zone) or ZoneInfo("UTC")
    zones = [zone for zone in map(_zone, number_zones(phone)) if zone is not None]
    note = ""
    if not zones:
        zones, note = [fallback], f"the number's time zone is unknown, so {fallback.key} is used; "
    at = _first_slot(zones, window, wanted)
    if at is None:
        note = (f"no hour lies inside {window.label} in all {len(zones)} of the number's time zones "
                f"({zones[0].key} … {zones[-1].key}), so {fallback.key} is used; ")
        zones = [fallback]
        at = _first_slot(zones, window, wanted)
    if len(zones) > 1 and not note:
        note = (f"the number has {len(zones)} time zones ({zones[0].key} … {zones[-1].key}): the window must "
                "hold in all of them (latest start, earliest end); ")
    moved = at != wanted
    # Tell the time in the zone that decided it: where the moved time is the window's start.
    zone = next((z for z in zones if at.astimezone(z).time() == window.start), zones[0]) if moved else zones[0]
    if moved:
        reason = (f"{note}quiet hours: {_stamp(wanted, zone)} is outside the sending window {window.label}; "
                  f"moved to {_stamp(at, zone)}")
    else:
        reason = f"{note}{_stamp(wanted, zone)} is inside the sending window {window.label}"
    return SendSlot(at=at, moved=moved, zone=zone.key, reason=reason)


def check_window(phone: str, now: datetime, window: SendingWindow = DEFAULT_WINDOW,
                 fallback_zone: str = "UTC") -> SendSlot:
    """The slot for sending at ``now``; raises OutsideSendingWindow when ``now`` is in quiet
    hours (the channels call this at the moment of sending)."""
    slot = next_send_time(phone, now, window, fallback_zone)
    if slot.moved:
        raise OutsideSendingWindow(slot)
    return slot
