"""The image fetcher against a real HTTP server on 127.0.0.1: redirects, caps, timeouts and
the addresses it must never reach (server-side request forgery through a CSV)."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from image_server import ImageServer
from images import photo

from storefront.media.fetch import FetchRefused, address_allowed, fetch


@pytest.fixture(scope="module")
def server():
    srv = ImageServer()
    yield srv
    srv.close()


def test_an_image_is_fetched_through_a_few_redirects(server):
    assert fetch(server.url("/hop/3"), allow_loopback=True) == photo()


def test_loopback_is_refused_unless_the_test_setting_allows_it(server):
    before = len(server.requests)
    with pytest.raises(FetchRefused, match="127.0.0.1: private, loopback and link-local"):
        fetch(server.url("/photo.jpg"))
    with pytest.raises(FetchRefused, match="private, loopback and link-local"):
        fetch(server.url("/photo.jpg").replace("127.0.0.1", "localhost"))
    assert len(server.requests) == before  # never connected


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/x.jpg", "http://192.168.1.1/x.jpg",
    "http://[::1]/x.jpg", "http://[::ffff:169.254.169.254]/x.jpg", "http://100.64.0.1/x.jpg", "http://0.0.0.0/x.jpg",
])
def test_private_and_link_local_addresses_are_refused_even_via_a_redirect(server, target):
    with pytest.raises(FetchRefused, match="never fetched"):
        fetch(target, allow_loopback=True) if "::1" not in target else fetch(target)
    with pytest.raises(FetchRefused, match="never fetched"):
        fetch(server.url("/to/" + quote(target, safe="")), allow_loopback="::1" not in target)


def test_a_name_that_resolves_to_any_private_address_is_refused():
    # DNS answers are checked all together: one private answer refuses the host.
    with pytest.raises(FetchRefused, match="10.1.2.3"):
        fetch("http://images.example/x.jpg", resolver=lambda host, port: ["93.184.215.14", "10.1.2.3"])


def test_ten_redirects_are_refused(server):
    with pytest.raises(FetchRefused, match="more than 5 redirects"):
        fetch(server.url("/hop/10"), allow_loopback=True)


@pytest.mark.parametrize("url,message", [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/x.jpg", "only http and https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
    ("http:///x.jpg", "has no host"),
])
def test_other_schemes_are_refused(url, message):
    with pytest.raises(FetchRefused, match=message):
        fetch(url, allow_loopback=True)


def test_a_redirect_to_another_scheme_is_refused(server):
    with pytest.raises(FetchRefused, match="only http and https"):
        fetch(server.url("/to/" + quote("file:///etc/passwd", safe="")), allow_loopback=True)


@pytest.mark.parametrize("path,message", [
    ("/huge", "21.0 MB; the limit is 20 MB"),
    ("/endless", "over the 20 MB limit"),
    ("/superscript-length", "over the 20 MB limit"),
    ("/missing", "answered HTTP 404"),
])
def test_oversized_and_missing_answers_are_refused(server, path, message):
    with pytest.raises(FetchRefused, match=message):
        fetch(server.url(path), allow_loopback=True)


def test_a_server_that_does_not_answer_times_out(server):
    with pytest.raises(FetchRefused, match="timed out"):
        fetch(server.url("/slow"), allow_loopback=True, read_timeout=0.5)


def test_address_rules():
    assert address_allowed("93.184.215.14") and address_allowed("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    for address in ("169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.0.1", "fe80::1", "fc00::1",
                    "224.0.0.1", "::ffff:10.0.0.1", "0.0.0.0"):
        assert not address_allowed(address, allow_loopback=True), address
    assert not address_allowed("127.0.0.1") and address_allowed("127.0.0.1", allow_loopback=True)
