"""Fixtures shared by the admin screens' tests."""
from __future__ import annotations

import pytest
from factories import make_user, sign_in


@pytest.fixture()
def admin(client, company):
    """The test client signed in as the owner of ``company`` (a screen's test may define its own)."""
    make_user(company)
    assert sign_in(client).status_code == 303
    return client
