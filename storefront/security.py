"""Security headers and the IP hash (ARCHITECTURE §3 privacy)."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Flask, current_app


def hash_ip(ip: str | None) -> str | None:
    """HMAC-SHA256 of ``ip`` with the server's IP_HASH_SECRET, as 64 hex characters."""
    if not ip:
        return None
    key = current_app.config["IP_HASH_SECRET"].encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(app: Flask) -> str:
    """Our own origin plus Stripe's JavaScript, API and frames; localstripe in test mode."""
    stripe_js = _origin(app.config["STRIPE_JS_URL"])
    stripe_api = _origin(app.config["STRIPE_API_BASE"]) if app.config["STRIPE_API_BASE"] else "https://api.stripe.com"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {stripe_js}",
            "style-src 'self'",
            "img-src 'self' data: https:",
            f"connect-src 'self' {stripe_api} {stripe_js}",
            f"frame-src {stripe_js} https://hooks.stripe.com",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def install_security_headers(app: Flask) -> None:
    """Add the CSP and the usual hardening headers to every response."""
    csp = content_security_policy(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["PRODUCTION"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
