"""Routes a module declares and a blueprint receives when the app factory registers it.

A screen module (``admin/pages.py``) writes ``routes = Routes()`` and decorates its views
with ``@routes.get(...)`` as it would with a Blueprint's; ``register_admin`` then calls
``pages.routes.register(bp)``. So registering is explicit, in the factory's call chain,
never a side effect of importing a module, and modules that share one blueprint (one
endpoint prefix, e.g. ``admin.``) need not import each other or the blueprint.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint


class Routes:
    """Deferred blueprint calls: ``route``/``get``/``post``, ``url_value_preprocessor``,
    ``errorhandler``, ``context_processor`` and ``app_template_global``; replayed in order by
    ``register(bp)``."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, tuple, dict, Callable]] = []

    def _defer(self, name: str, *args, **kwargs) -> Callable:
        def decorator(func: Callable) -> Callable:
            self._calls.append((name, args, kwargs, func))
            return func

        return decorator

    def route(self, rule: str, **options) -> Callable:
        return self._defer("route", rule, **options)

    def get(self, rule: str, **options) -> Callable:
        return self._defer("get", rule, **options)

    def post(self, rule: str, **options) -> Callable:
        return self._defer("post", rule, **options)

    def errorhandler(self, code_or_exception) -> Callable:
        return self._defer("errorhandler", code_or_exception)

    def app_template_global(self, name: str | None = None) -> Callable:
        return self._defer("app_template_global", name)

    def url_value_preprocessor(self, func: Callable) -> Callable:
        self._calls.append(("url_value_preprocessor", (), {}, func))
        return func

    def context_processor(self, func: Callable) -> Callable:
        self._calls.append(("context_processor", (), {}, func))
        return func

    def app_context_processor(self, func: Callable) -> Callable:
        self._calls.append(("app_context_processor", (), {}, func))
        return func

    def register(self, bp: Blueprint) -> None:
        """Add every declared view and hook to ``bp`` (before ``bp`` is registered on the app)."""
        for name, args, kwargs, func in self._calls:
            method = getattr(bp, name)
            if name in ("url_value_preprocessor", "context_processor", "app_context_processor"):
                method(func)
            else:
                method(*args, **kwargs)(func)
