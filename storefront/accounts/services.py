"""Admin accounts: creating users and checking passwords.

Passwords are hashed with scrypt (werkzeug's default). A failed login never says whether
the email exists, and takes the same time either way.
"""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from storefront.accounts.models import Company, User
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.types import new_token, utcnow

ROLES = ("owner", "staff")
MIN_PASSWORD_LENGTH = 10
# Compared against when the email is unknown, so both paths cost one scrypt check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A refusal to show as is: bad email, weak password, unknown company or role."""


def normalise_email(raw: str) -> str:
    """Lower-cased, validated email. Raises AccountError."""
    try:
        # test_environment: the reserved .test domain is allowed for staff (owner@demo.test).
        checked = validate_email((raw or "").strip(), check_deliverability=False, test_environment=True)
        return checked.normalized.lower()
    except EmailNotValidError as error:
        raise AccountError("Enter a valid email address.") from error


def create_user(company_slug: str, email: str, password: str, role: str = "staff") -> User:
    """Create a user of the company with ``company_slug``. Commits.

    Raises AccountError for an unknown company, a role other than owner/staff, an email in
    use, or a password shorter than 10 characters.
    """
    company = db.session.execute(db.select(Company).filter_by(slug=company_slug)).scalar_one_or_none()
    if company is None:
        raise AccountError(f"No merchant with slug {company_slug!r}.")
    if role not in ROLES:
        raise AccountError("Role must be owner or staff.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    address = normalise_email(email)
    if db.session.execute(db.select(User.id).filter_by(email=address)).first():
        raise AccountError("That email already has an account.")
    user = User(company_id=company.id, email=address, password_hash=generate_password_hash(password),
                role=role, session_nonce=new_token())
    db.session.add(user)
    db.session.commit()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the password and end every session of the user. Commits."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    user.password_hash = generate_password_hash(password)
    user.session_nonce = new_token()
    db.session.commit()


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, else None. Records the sign-in time. Commits."""
    address = (email or "").strip().lower()
    user = None
    if address and len(address) <= 254 and re.fullmatch(r"[^@\s]+@[^@\s]+", address):
        user = db.session.execute(db.select(User).filter_by(email=address)).scalar_one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Rotate the nonce so every session cookie of the user stops working. Commits."""
    user.session_nonce = new_token()
    db.session.commit()


def load_user(user_id: str) -> User | None:
    """Flask-Login loader for ids of the form "<id>:<nonce>"."""
    raw_id, _, nonce = (user_id or "").partition(":")
    user_key = optional_int(raw_id, 1)
    if user_key is None or not nonce:
        return None
    user = db.session.get(User, user_key)
    return user if user is not None and user.session_nonce == nonce else None
