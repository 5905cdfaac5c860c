"""Admin sign-in: same answer for unknown email and wrong password, rate limits per IP and
per account, session rotation, safe redirects, sign-out everywhere."""
from __future__ import annotations

import re

import pytest
from factories import make_user, sign_in

from storefront.accounts.models import User


@pytest.fixture()
def owner(db, company):
    return make_user(company)


def test_sign_in_and_home(client, owner):
    response = sign_in(client)

    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200 and "Last 7 days" in home.get_data(as_text=True)


def test_admin_needs_sign_in(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_unknown_email_and_wrong_password_get_the_same_answer(client, owner):
    wrong = sign_in(client, password="wrong password!!")
    unknown = sign_in(client, email="nobody@acme.test")

    assert wrong.status_code == unknown.status_code == 422
    assert "Email or password is incorrect." in wrong.get_data(as_text=True)
    assert "Email or password is incorrect." in unknown.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_session_rotates_on_sign_in(client, owner):
    client.get("/admin/login")
    with client.session_transaction() as session:
        before = dict(session)
    sign_in(client)
    with client.session_transaction() as session:
        after = dict(session)
    assert after.get("sid") and after.get("sid") != before.get("sid")
    assert after.get("csrf_token") != before.get("csrf_token")


def test_sign_out_ends_every_copy_of_the_session(app, client, owner):
    sign_in(client)
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/admin/").status_code == 200

    html = client.get("/admin/").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/admin/logout", data={"csrf_token": token})

    assert copied.get("/admin/").status_code == 302


def test_signing_in_elsewhere_keeps_the_first_session(app, client, owner):
    sign_in(client)
    sign_in(app.test_client())
    assert client.get("/admin/").status_code == 200


def test_planted_session_values_do_not_survive_sign_in(client, owner):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_ends_the_session(client, owner):
    sign_in(client)
    token = client.get("/admin/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/admin/logout", data={"csrf_token": token})

    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/admin/", "/admin/"), ("https://evil.example/", "/admin/"), ("//evil.example/x", "/admin/"),
])
def test_next_parameter_stays_on_the_admin(client, owner, target, expected):
    client.get("/admin/login")
    html = client.get("/admin/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/admin/login?next={target}", data={
        "email": owner.email, "password": "correct horse battery", "csrf_token": token})
    assert response.headers["Location"] == expected


def test_login_is_rate_limited_per_account_across_ips(app, client, owner):
    app.config["RATELIMIT_LOGIN"] = "3/minute"
    statuses = []
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = ip
        statuses.append(sign_in(other, password="wrong password!!").status_code)
    assert statuses == [422, 422, 422, 429]


def test_cli_creates_users_and_refuses_bad_input(app, db, company):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["users", "create", "--company", "acme", "--email", "Staff@Acme.test",
                             "--role", "staff", "--password", "long enough pw"])
    weak = runner.invoke(args=["users", "create", "--company", "acme", "--email", "x@acme.test",
                               "--password", "short"])
    again = runner.invoke(args=["users", "create", "--company", "acme", "--email", "staff@acme.test",
                                "--password", "long enough pw"])
    nowhere = runner.invoke(args=["users", "create", "--company", "nope", "--email", "y@acme.test",
                                  "--password", "long enough pw"])

    assert ok.exit_code == 0, ok.output
    assert db.session.execute(db.select(User).filter_by(email="staff@acme.test")).scalar_one().role == "staff"
    assert weak.exit_code != 0 and "10 characters" in weak.output
    assert again.exit_code != 0 and "already" in again.output
    assert nowhere.exit_code != 0 and "No merchant" in nowhere.output


# ---------------------------------------------------------------------------- the sign-in form

HX = {"HX-Request": "true"}


def _token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").get_data(as_text=True)).group(1)


def test_sign_in_names_the_missing_inputs_and_keeps_the_email(client, owner):
    token = _token(client)
    nothing = client.post("/admin/login", data={"csrf_token": token})
    html = nothing.get_data(as_text=True)
    assert nothing.status_code == 422
    assert "Email is required." in html and "Password is required." in html
    assert 'href="#email"' in html and 'aria-invalid="true"' in html  # the summary links to the input

    no_password = client.post("/admin/login", data={"csrf_token": token, "email": " owner@acme.test ",
                                                     "password": ""})
    html = no_password.get_data(as_text=True)
    assert no_password.status_code == 422 and "Password is required." in html
    assert 'value="owner@acme.test"' in html and "Email is required." not in html
    assert client.get("/admin/").status_code == 302


def test_sign_in_never_shows_the_password_again(client, owner):
    response = client.post("/admin/login", data={"csrf_token": _token(client), "email": "owner@acme.test",
                                                  "password": "wrong password!!"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Email or password is incorrect." in html
    assert "wrong password!!" not in html and 'value="owner@acme.test"' in html


def test_sign_in_refuses_huge_nul_and_unforged_posts(client, owner):
    token = _token(client)
    huge = client.post("/admin/login", data={"csrf_token": token, "email": "a" * 300 + "@acme.test",
                                             "password": "x" * 5000})
    html = huge.get_data(as_text=True)
    assert huge.status_code == 422
    assert "Email is too long: at most 254 characters." in html
    assert "Password is too long: at most 1024 characters." in html
    nul = client.post("/admin/login", data={"csrf_token": token, "email": "owner@acme.test\x00",
                                            "password": "correct horse battery"})
    assert nul.status_code == 400
    forged = client.post("/admin/login", data={"email": "owner@acme.test", "password": "correct horse battery"})
    assert forged.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_sign_in_over_htmx(client, owner):
    token = _token(client)
    wrong = client.post("/admin/login", headers=HX, data={"csrf_token": token, "email": "owner@acme.test",
                                                         "password": "wrong password!!"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and html.lstrip().startswith('<section class="login-card" id="login-card">')
    assert "<html" not in html and "Email or password is incorrect." in html

    missing = client.post("/admin/login", headers=HX, data={"csrf_token": token, "email": "owner@acme.test"})
    assert missing.status_code == 422 and "Password is required." in missing.get_data(as_text=True)

    done = client.post("/admin/login?next=/admin/leads", headers=HX, data={
        "csrf_token": token, "email": "owner@acme.test", "password": "correct horse battery"})
    assert done.status_code == 204 and done.headers["HX-Redirect"] == "/admin/leads"
    assert client.get("/admin/").status_code == 200
