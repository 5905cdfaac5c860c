"""Run localstripe (the test-mode Stripe) bound to 127.0.0.1 only.

localstripe's own entry point listens on every interface; this wraps its aiohttp app.
Usage: ``python -m storefront.payments.localstripe_server [PORT]``. A development tool:
localstripe is a dev dependency.
"""
from __future__ import annotations

import logging
import sys


def main(port: int = 8420) -> None:
    """Serve localstripe's app on 127.0.0.1:``port`` until interrupted."""
    from aiohttp import web
    from localstripe.server import app

    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8420)
