"""The accounts' forms (storefront.forms): signing in to the admin."""
from __future__ import annotations

from storefront.forms import AdminForm, Secret, Text

MAX_EMAIL = 254  # RFC 5321's longest path
MAX_PASSWORD = 1024  # longer is no stronger, and hashing it costs time an attacker could spend


class SignInForm(AdminForm):
    """Email and password, both required. The address's shape is not checked here: a
    malformed one gets the same "incorrect" answer as an unknown one (``authenticate``), so
    the form tells nothing about which accounts exist."""

    email = Text("Email", required=True, max_length=MAX_EMAIL)
    password = Secret("Password", required=True, max_length=MAX_PASSWORD)


class RetryJobForm(AdminForm):
    """The worker-health screen's "Retry" of one failed job: its RQ id, required, at most 64
    characters (letters, digits, "-" and "_" are checked where the job is looked up)."""

    job_id = Text("Job", required=True, max_length=64)
