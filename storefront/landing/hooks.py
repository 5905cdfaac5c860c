"""What the landing page asks the domains above it, without importing them (ARCHITECTURE §2).

Landing sits below analytics. When a page is viewed, a running A/B experiment may show the
visitor another version of it; analytics registers its function here at start-up
(``create_app`` calls ``storefront.analytics.hooks.install``) and the landing view calls
whatever is registered.

- ``page_version(page, visitor_id, user_agent, new_visit)``: returns None (the page as it
  is) or an object with ``page_id``: the version of the page to render (its sections,
  products and theme, ``landing.versions``; None: the page itself). The first non-None
  answer wins.
"""
from __future__ import annotations

from collections.abc import Callable

page_version: list[Callable] = []


def register(table: list[Callable], func: Callable) -> None:
    """Add ``func`` to a hook table once (the factory may build several apps)."""
    if func not in table:
        table.append(func)


def first(table: list[Callable], *args):
    """The first non-None answer of the functions of ``table`` for ``args``, else None."""
    for func in table:
        answer = func(*args)
        if answer is not None:
            return answer
    return None
