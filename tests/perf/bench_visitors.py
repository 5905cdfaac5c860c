"""The bench's visitors (cookies, CSRF token, carts made over HTTP), the wrk scripts that
replay them, and the landing page's weight."""
from __future__ import annotations

import gzip
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from benchkit import STATS_LUA, THREADS, http_request

SLUG = "bench-sale"
# Visitors per role. Add-to-cart visitors cycle over 3 untracked variants each, so a line
# reaches the 99 limit only after 3 * 99 * ADD_VISITORS adds in one run.
ADD_VISITORS = 128
ADD_WARM_VISITORS = 32
CART_VISITORS = 64
ADD_VARIANTS_PER_VISITOR = 3
CART_LINES = 3
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")


@dataclass
class Visitor:
    cookies: dict
    csrf: str
    variants: tuple[int, ...] = ()

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def keep_cookies(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = val.strip()

    def post(self, base: str, path: str, data: dict) -> tuple[int, bytes]:
        status, headers, body = http_request(base, "POST", path, {
            "Cookie": self.cookie_header, "X-CSRFToken": self.csrf, "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }, urlencode(data))
        self.keep_cookies(headers)
        if status != 200:
            raise RuntimeError(f"POST {path} {data} answered {status}: {body[:300]!r}")
        return status, body


def new_visitor(base: str) -> Visitor:
    status, headers, body = http_request(base, "GET", f"/lp/{SLUG}", {"User-Agent": "bench-setup"})
    if status != 200:
        raise RuntimeError(f"landing page answered {status}")
    match = re.search(rb'"X-CSRFToken": "([^"]+)"', body)
    if not match:
        raise RuntimeError("no CSRF token on the landing page")
    visitor = Visitor(cookies={}, csrf=match.group(1).decode())
    visitor.keep_cookies(headers)
    return visitor


def add_visitor(base: str, variants: tuple[int, ...]) -> Visitor:
    """A visitor whose own cart already holds one line."""
    visitor = new_visitor(base)
    visitor.variants = variants
    visitor.post(base, "/cart/add", {"variant_id": variants[0], "quantity": 1})
    if "sf_cart" not in visitor.cookies:
        raise RuntimeError("add to cart set no cart cookie")
    return visitor


def cart_visitor(base: str, variants: tuple[int, ...], k: int) -> Visitor:
    """A visitor at checkout: a cart of a few lines and a captured email (so a Lead exists)."""
    visitor = new_visitor(base)
    for variant in variants:
        visitor.post(base, "/cart/add", {"variant_id": variant, "quantity": 1})
    visitor.post(base, "/checkout/field/email", {"email": f"shopper{k}@example.com"})
    return visitor


def prepare_visitors(base: str, untracked: list[int]) -> dict[str, list[Visitor]]:
    def variants_for(k: int, n: int) -> tuple[int, ...]:
        return tuple(untracked[(k * n + j) % len(untracked)] for j in range(n))

    with ThreadPoolExecutor(max_workers=6) as pool:
        add = list(pool.map(lambda k: add_visitor(base, variants_for(k, ADD_VARIANTS_PER_VISITOR)),
                            range(ADD_VISITORS)))
        warm = list(pool.map(lambda k: add_visitor(base, variants_for(k + 7, ADD_VARIANTS_PER_VISITOR)),
                             range(ADD_WARM_VISITORS)))
        carts = list(pool.map(lambda k: cart_visitor(base, variants_for(k + 3, CART_LINES), k),
                              range(CART_VISITORS)))
    return {"add": add, "add-warm": warm, "cart": carts}


# --------------------------------------------------------------------------- wrk scripts

VISITOR_REQUEST_LUA = """
local mine = {}
local k = 0
function init(args)
  for i, v in ipairs(visitors) do
    if (i - 1) % __THREADS__ == id - 1 then table.insert(mine, v) end
  end
end

function request()
  k = k + 1
  local v = mine[(k - 1) % #mine + 1]
  local round = math.floor((k - 1) / #mine)
  local headers = {["Cookie"] = v.cookie, ["HX-Request"] = "true", ["User-Agent"] = "wrk"}
  if method == "GET" then
    return wrk.format("GET", path, headers)
  end
  headers["X-CSRFToken"] = v.csrf
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", path, headers, body(v, round))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def visitors_lua(visitors: list[Visitor]) -> str:
    rows = []
    for v in visitors:
        variants = ", ".join(str(x) for x in v.variants)
        rows.append(f"  {{cookie = {lua_string(v.cookie_header)}, csrf = {lua_string(v.csrf)}, "
                    f"variants = {{{variants}}}}},")
    return "visitors = {\n" + "\n".join(rows) + "\n}\n"


def write_scripts(directory: Path, visitors: dict[str, list[Visitor]]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    request_lua = VISITOR_REQUEST_LUA.replace("__THREADS__", str(THREADS))
    names = ", ".join(lua_string(n) for n in FIRST_NAMES)
    add_body = ('method, path = "POST", "/cart/add"\n'
                'function body(v, round)\n'
                '  return "variant_id=" .. v.variants[round % #v.variants + 1] .. "&quantity=1"\n'
                'end\n')
    scripts = {
        "plain": STATS_LUA + 'wrk.headers["User-Agent"] = "wrk"\n',
        "add": STATS_LUA + visitors_lua(visitors["add"]) + request_lua + add_body,
        "add-warm": STATS_LUA + visitors_lua(visitors["add-warm"]) + request_lua + add_body,
        "capture": (STATS_LUA + visitors_lua(visitors["cart"]) + request_lua
                    + 'method, path = "POST", "/checkout/field/first_name"\n'
                    + f"local names = {{{names}}}\n"
                    + 'function body(v, round) return "first_name=" .. names[round % #names + 1] end\n'),
        "drawer": (STATS_LUA + visitors_lua(visitors["cart"]) + request_lua
                   + 'method, path = "GET", "/cart/drawer"\n'),
    }
    paths = {}
    for name, text in scripts.items():
        path = directory / f"{name}.lua"
        path.write_text(text)
        paths[name] = path
    return paths


# --------------------------------------------------------------------------- page weight

class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").lower().split() and a.get("href"):
            self.styles.append(a["href"])


def page_weight(base: str) -> dict:
    """The landing page's HTML and its own JS and CSS: raw and gzip -9 bytes."""
    status, _, html = http_request(base, "GET", f"/lp/{SLUG}")
    if status != 200:
        raise RuntimeError(f"landing page answered {status}")
    parser = _Assets()
    parser.feed(html.decode())
    origin = urlsplit(base).netloc

    def fetch_gz(refs: list[str]) -> list[tuple[str, int, int]]:
        out = []
        for ref in refs:
            url = urljoin(base + f"/lp/{SLUG}", ref)
            parts = urlsplit(url)
            if parts.netloc != origin:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            code, _, body = http_request(base, "GET", path)
            if code != 200:
                raise RuntimeError(f"{path} answered {code}")
            out.append((parts.path, len(body), len(gzip.compress(body, 9))))
        return out

    return {"js": fetch_gz(parser.scripts), "css": fetch_gz(parser.styles),
            "html": (len(html), len(gzip.compress(html, 9)))}
