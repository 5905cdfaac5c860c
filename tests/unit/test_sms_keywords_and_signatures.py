"""SMS keywords (notifications.consent.keyword), the local Twilio server's signature against
the SDK's RequestValidator, TwiML of a call, and phone numbers."""
from __future__ import annotations

from xml.etree import ElementTree

import pytest
from twilio.request_validator import RequestValidator

from storefront.notifications.consent import HELP, OPT_IN, OPT_OUT, keyword
from storefront.notifications.phones import PhoneError, normalise_phone
from storefront.notifications.twilio_server import sign
from storefront.notifications.voice import call_twiml, reply_twiml


@pytest.mark.parametrize("word", ["STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"])
def test_every_opt_out_word_in_any_case(word):
    for body in (word, word.lower(), word.title(), f"  {word}  ", f"{word}.", f"{word}!", f"{word}\n"):
        assert keyword(body) == OPT_OUT, body


@pytest.mark.parametrize("word", ["START", "YES", "UNSTOP"])
def test_opt_in_words(word):
    assert keyword(word) == OPT_IN and keyword(word.lower()) == OPT_IN


def test_help_and_info():
    assert keyword("help") == HELP and keyword("INFO") == HELP


@pytest.mark.parametrize("body", ["", None, "stop sending me these", "STOP IT", "S T O P", "stopp", "yes please",
                                  "Help me find my cart", "ÉND", "STOP?"])
def test_sentences_and_near_misses_are_not_keywords(body):
    assert keyword(body) is None


def test_the_local_server_signs_exactly_as_the_sdk_validates():
    token = "12345678abcdef"
    url = "https://shop.example/webhooks/twilio/status?m=42"
    params = {"MessageSid": ["SM1"], "MessageStatus": ["delivered"], "To": ["+15125550100"], "Body": ["Hi, über"]}
    signature = sign(token, url, params)
    validator = RequestValidator(token)
    assert signature == validator.compute_signature(url, {k: v[0] for k, v in params.items()})
    assert validator.validate(url, {k: v[0] for k, v in params.items()}, signature)
    assert not validator.validate(url, {**{k: v[0] for k, v in params.items()}, "MessageStatus": "failed"}, signature)
    assert not validator.validate(url.replace("42", "43"), {k: v[0] for k, v in params.items()}, signature)
    assert not RequestValidator("another token").validate(url, {k: v[0] for k, v in params.items()}, signature)


def test_twilio_documented_signature_example():
    # Twilio's security docs' example: this URL, these parameters and this token sign as below.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+12349013030"], "Digits": ["1234"],
              "From": ["+12349013030"], "To": ["+18005551212"]}
    assert sign("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_call_twiml_says_the_script_then_gathers_one_digit():
    xml = call_twiml("Hello from Acme, you left items in your cart.", "Press 1 for a text, press 2 for no more calls.",
                     "https://shop.example/webhooks/twilio/gather?m=7")
    root = ElementTree.fromstring(xml)
    assert [child.tag for child in root] == ["Say", "Gather", "Say"]
    gather = root[1]
    assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
    assert gather.get("action") == "https://shop.example/webhooks/twilio/gather?m=7"
    assert gather[0].tag == "Say" and gather[0].text.startswith("Press 1")
    assert root[0].text == "Hello from Acme, you left items in your cart."
    reply = ElementTree.fromstring(reply_twiml("We've texted you the link."))
    assert [child.tag for child in reply] == ["Say", "Hangup"]


def test_phone_numbers_are_e164_or_refused():
    assert normalise_phone("(512) 555-0100", "US") == "+15125550100"
    assert normalise_phone("+44 20 7946 0123") == "+442079460123"
    for bad in ("", "12", "not a number", "+1 555", "5125550100"):
        with pytest.raises(PhoneError):
            normalise_phone(bad)
