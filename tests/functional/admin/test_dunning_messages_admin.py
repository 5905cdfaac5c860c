"""The merchant's dunning message variants in the admin (/admin/billing/messages): listed,
created, edited and deleted with and without htmx; refused field by field (NUL, too long,
an unknown placeholder, another merchant's plan); another merchant's variant answers 404;
the screen says the words are the merchant's and no outside AI service is called."""
from __future__ import annotations

import html

import pytest
from billing_kit import make_plan
from factories import csrf_token

from storefront.accounts.models import Company
from storefront.billing.message_variants import MessageVariant

HX = {"HX-Request": "true"}
NEW = "/admin/billing/messages/new"


def _form(**changes):
    return {"name": "Gentle", "notice": "first_failure", "decline_class": "SOFT", "history": "FIRST",
            "plan": "0", "subject": "{customer_name}, about {plan}", "body": "Hi {customer_name}.\n\nPay {amount}.",
            "active": "1", **changes}


def _post(admin, path, data, headers=None):
    return admin.post(path, data={"csrf_token": csrf_token(admin, "/admin/billing/messages"), **data},
                      headers=headers or {})


def _count(db):
    return db.session.execute(db.select(db.func.count(MessageVariant.id))).scalar()


def test_create_edit_and_delete_without_and_with_htmx(admin, db, company):
    plan = make_plan(company)
    page = admin.get("/admin/billing/messages").get_data(as_text=True)
    assert "written by you" in page and "No outside AI service is called" in page
    assert "No outside AI service is called" in admin.get(NEW).get_data(as_text=True)

    created = _post(admin, NEW, _form(plan=str(plan.id)))
    assert created.status_code == 303 and created.headers["Location"].endswith("/admin/billing/messages")
    variant = db.session.execute(db.select(MessageVariant)).scalar_one()
    assert (variant.company_id, variant.plan_id, variant.notice, variant.decline_class, variant.history,
            variant.body, variant.active) == (company.id, plan.id, "first_failure", "SOFT", "FIRST",
                                              "Hi {customer_name}.\n\nPay {amount}.", True)
    listed = admin.get("/admin/billing/messages").get_data(as_text=True)
    assert "Gentle" in listed and "Coffee every month" in listed

    path = f"/admin/billing/messages/{variant.id}"
    assert "Gentle" in admin.get(path).get_data(as_text=True)
    edited = _post(admin, path, _form(name="Firm", plan="0", history="ANY", active=""), HX)  # unticked
    assert edited.status_code == 204 and edited.headers["HX-Redirect"].endswith("/admin/billing/messages")
    db.session.expire_all()
    variant = db.session.get(MessageVariant, variant.id)
    assert (variant.name, variant.plan_id, variant.history, variant.active) == ("Firm", None, "ANY", False)

    question = admin.get(f"{path}/delete")
    assert question.status_code == 200 and "Delete the message" in question.get_data(as_text=True)
    assert _post(admin, f"{path}/delete", {}).status_code == 200 and _count(db) == 1  # not confirmed
    gone = _post(admin, f"{path}/delete", {"confirmed": "yes"})
    assert gone.status_code == 303 and _count(db) == 0


@pytest.mark.parametrize("changes,says", [
    ({"body": "Pay {amount} or {discount}"}, "Unknown placeholder {discount}"),
    ({"subject": "About {plan"}, "A brace opens or closes no placeholder"),
    ({"subject": "x" * 151}, "Subject is too long"),
    ({"body": "y" * 2001}, "Message is too long"),
    ({"name": ""}, "Name (for you) is required"),
    ({"notice": "spam"}, "Choose a sent as from the list"),
    ({"decline_class": "MAYBE"}, "Choose a decline reason from the list"),
    ({"plan": "99999"}, "Choose a plan from the list"),
    ({"plan": "abc"}, "Choose a plan from the list"),
    ({"notice": "final_notice"}, "A final notice must say what happened to the subscription"),
])
def test_bad_input_is_refused_field_by_field(admin, db, company, changes, says):
    for headers in ({}, HX):
        refused = _post(admin, NEW, _form(**changes), headers)
        assert refused.status_code == 422 and says in html.unescape(refused.get_data(as_text=True)), says
    assert _count(db) == 0


def test_nul_is_refused_before_the_form(admin, db, company):
    for name in ("subject", "body", "name"):
        assert _post(admin, NEW, _form(**{name: "a\x00b"})).status_code == 400
    assert _count(db) == 0


def test_another_merchants_variant_and_plan_are_out_of_reach(admin, db, company):
    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    db.session.add(other)
    db.session.commit()
    their_plan = make_plan(other)
    theirs = MessageVariant(company_id=other.id, name="THEIRS", notice="first_failure", subject="s", body="b")
    db.session.add(theirs)
    db.session.commit()
    assert "THEIRS" not in admin.get("/admin/billing/messages").get_data(as_text=True)
    assert f'<option value="{their_plan.id}"' not in admin.get(NEW).get_data(as_text=True)
    edit, delete = f"/admin/billing/messages/{theirs.id}", f"/admin/billing/messages/{theirs.id}/delete"
    assert admin.get(edit).status_code == admin.get(delete).status_code == 404
    assert _post(admin, edit, _form()).status_code == 404
    assert _post(admin, delete, {"confirmed": "yes"}, HX).status_code == 404
    refused = _post(admin, NEW, _form(plan=str(their_plan.id)))
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(MessageVariant, theirs.id).name == "THEIRS" and _count(db) == 1


def test_the_list_is_paged(admin, db, company):
    db.session.add_all(MessageVariant(company_id=company.id, name=f"V{n:02}", notice="first_failure", subject="s",
                                      body="b") for n in range(30))
    db.session.commit()
    first = admin.get("/admin/billing/messages").get_data(as_text=True)
    assert "Showing 1–25 of 30" in first and "V24" in first and "V25" not in first
    second = admin.get("/admin/billing/messages?page=2", headers=HX)
    text = second.get_data(as_text=True)
    assert second.status_code == 200 and "V29" in text and "<html" not in text
    assert "HX-Request" in second.headers.get("Vary", "")


def test_signed_out_is_sent_to_sign_in(client, db, company):
    assert client.get("/admin/billing/messages").status_code in (302, 303)
