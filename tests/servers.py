"""Small helpers for tests that start local servers: a free loopback port, waiting for a URL."""
from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_url(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as error:
            if hasattr(error, "code"):
                return
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds} s")
