"""What the channels tell the domains above them, without importing them (ARCHITECTURE §2).

Notifications sits low in the layers; recovery and billing register their functions here
at start-up (as ``checkout.hooks`` is filled by ``leads.hooks``), and the webhooks call
whatever is registered, inside their own transaction (before its commit).

- ``gather[name](message, digit) -> str | None``: a callee pressed ``digit`` ("1", "2"...)
  on the call ``message`` (an OutboundMessage whose ``hook`` is ``name``). Returns the
  sentence to say back ("We've texted you the link."), or None for a plain goodbye. The
  caller of ``voice.place_call`` names the handler, and so decides what each digit does.
- ``status_changed(message)``: a provider's callback moved ``message`` on (DELIVERED,
  UNDELIVERED, FAILED, COMPLETED, NO_ANSWER, BUSY...): upper domains mirror it.
- ``opted_out(company_id, phone, channel)``: the person withdrew consent to ``channel``
  (SMS by keyword, VOICE by keypad) at that merchant: cancel what is pending for them.
"""
from __future__ import annotations

from collections.abc import Callable

gather: dict[str, Callable] = {}
status_changed: list[Callable] = []
opted_out: list[Callable] = []


def register_gather(name: str, func: Callable) -> None:
    """Name ``func`` as the handler of a call's digits (at most 40 characters; the same name
    again replaces it: the factory may build several apps)."""
    if not name or len(name) > 40:
        raise ValueError("a gather hook name is 1 to 40 characters")
    gather[name] = func


def register(table: list[Callable], func: Callable) -> None:
    """Add ``func`` to a hook list once."""
    if func not in table:
        table.append(func)


def call(table: list[Callable], *args) -> None:
    """Call every function of ``table`` with ``args``."""
    for func in table:
        func(*args)
