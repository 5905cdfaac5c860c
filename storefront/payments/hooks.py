"""What payments tells the domains above it, without importing them (ARCHITECTURE §2).

- ``intent_settled(intent: dict) -> str | None``: the webhook's verified copy of a
  PaymentIntent that names no cart (``payment_intent.succeeded`` or ``.payment_failed``).
  A domain that made the intent (billing, by ``metadata.attempt_key``) applies it and
  returns its outcome; others return None. Filled at start-up (``billing.hooks.install``).
"""
from __future__ import annotations

from collections.abc import Callable

intent_settled: list[Callable] = []


def register(table: list[Callable], func: Callable) -> None:
    """Add ``func`` to a hook table once (the factory may build several apps)."""
    if func not in table:
        table.append(func)


def first_answer(table: list[Callable], *args) -> str | None:
    """The first non-None answer of the table's functions for ``args``, else None."""
    for func in table:
        answer = func(*args)
        if answer is not None:
            return answer
    return None
