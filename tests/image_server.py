"""A real HTTP server on 127.0.0.1 serving images, redirects and hostile answers, for the
image fetcher's tests. Paths:

- /photo.jpg            the real beanie photo (and any /wp-content/... path)
- /text.jpg             a text file named .jpg
- /hop/<n>              redirects n times (relative Location), then the photo
- /to/<url>             one redirect to <url> (e.g. http://169.254.169.254/latest/meta-data/)
- /huge                 declares 21 MB in Content-Length
- /endless              streams zeros without a length, past any cap
- /superscript-length   declares a Content-Length of "²" (isdigit() but not int()), then streams
- /slow                 waits 3 s before answering
- /missing              404
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from images import TEXT_AS_JPG, photo


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name == "Content-Length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        self.server.requests.append(self.path)
        path = self.path
        if path == "/photo.jpg" or path.startswith("/wp-content/"):
            self._send(200, photo(), [("Content-Type", "image/jpeg")])
        elif path == "/text.jpg":
            self._send(200, TEXT_AS_JPG, [("Content-Type", "image/jpeg")])
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            self._send(302, headers=[("Location", f"/hop/{left - 1}" if left > 1 else "/photo.jpg")])
        elif path.startswith("/to/"):
            self._send(302, headers=[("Location", unquote(path[4:]))])
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(21 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
        elif path in ("/endless", "/superscript-length"):
            self.send_response(200)
            if path == "/superscript-length":
                self.send_header("Content-Length", "²")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(30 * 16):  # 30 MB in 64 KB writes
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
        elif path == "/slow":
            time.sleep(3)
            try:
                self._send(200, photo())
            except OSError:  # the fetcher gave up, as it should
                pass
        else:
            self._send(404, b"not here")


class ImageServer:
    """Starts on a free loopback port; ``url(path)``; ``requests`` lists the paths asked."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def url(self, path: str) -> str:
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
