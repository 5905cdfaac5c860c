"""The portal's forms (storefront.forms kit): each reads and checks one customer action.

They are built with ``AdminForm.of(company)`` (the merchant's currency and timezone) like
every form of the kit; CSRF is checked app-wide before a view runs.
"""
from __future__ import annotations

from datetime import date

from storefront.accounts.services import AccountError, normalise_email
from storefront.billing.lifecycle import MAX_QUANTITY
from storefront.billing.save_flow import CHOICES
from storefront.countries import CHECKOUT_COUNTRIES
from storefront.forms import AdminForm, Choice, Paragraphs, Text, ValidationError, WholeNumber

MAX_EMAIL = 254  # RFC 5321's longest path
CANCEL_REASONS = (
    ("too_much", "I have too much"), ("too_expensive", "It costs too much"), ("not_needed", "I no longer need it"),
    ("quality", "I'm not happy with the product"), ("other", "Something else"),
)


class EmailAddress(Text):
    """An email address, normalised (lower-cased, validated as the accounts do)."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if not self.data:
            return
        if self.max_length and len(self.data) > self.max_length:
            raise ValueError(f"{self.label.text} is too long: at most {self.max_length} characters.")
        try:
            self.data = normalise_email(self.data)
        except AccountError as error:
            raise ValueError("Enter an email address like name@example.com.") from error


class SignInForm(AdminForm):
    """The address to send a sign-in link to. Its shape is not checked here: a malformed
    address gets the same answer as an unknown one (``links.request_sign_in``)."""

    email = Text("Email", required=True, max_length=MAX_EMAIL)


class ConfirmForm(AdminForm):
    """A button only (sign in with this link; confirm this address): the CSRF token is all."""


class QuantityForm(AdminForm):
    quantity = WholeNumber("Quantity", required=True, low=1, high=MAX_QUANTITY)


class SkipForm(AdminForm):
    """The date of the charge the customer chose to skip (what they saw), so a repeated
    click never skips a second one."""

    charge = Text("Charge", required=True, max_length=10)

    def validate_charge(self, field) -> None:
        try:
            field.data = date.fromisoformat(field.data)
        except (TypeError, ValueError) as error:
            raise ValidationError("That charge date is not one we showed.") from error


class DateForm(AdminForm):
    """The next charge's new date, one of ``lifecycle.date_choices`` (set per form)."""

    day = Choice("Next charge on", required=True, coerce=lambda text: _iso_date(text))


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class CancelForm(AdminForm):
    reason = Choice("Why are you cancelling?", required=True, choices=CANCEL_REASONS)
    details = Paragraphs("Anything you'd like to tell us?", max_length=400)


class SaveOfferForm(AdminForm):
    choice = Choice("Your choice", required=True, choices=[(c, c.title()) for c in CHOICES])


class RemoveCardForm(AdminForm):
    card = Text("Card", required=True, max_length=255)


class PreferencesForm(AdminForm):
    emails = Choice("Reminders and offers by email", required=True,
                    choices=[("yes", "Send them to me"), ("no", "Don't send them")])


class DetailsForm(AdminForm):
    first_name = Text("First name", max_length=100)
    last_name = Text("Last name", max_length=100)


class AddressForm(AdminForm):
    address1 = Text("Address", required=True, max_length=200)
    address2 = Text("Apartment, suite (optional)", max_length=200)
    city = Text("City", required=True, max_length=100)
    postcode = Text("Postcode", required=True, max_length=20)
    country = Choice("Country", required=True, choices=CHECKOUT_COUNTRIES)


class EmailChangeForm(AdminForm):
    email = EmailAddress("New email", required=True, max_length=MAX_EMAIL)
