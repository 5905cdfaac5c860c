/* storefront checkout: mounts Stripe's Card Element and pays. With localstripe (test mode)
   the card is tokenised and confirmed by our server; with real Stripe, confirmCardPayment
   confirms in the browser. A refusal that names fields marks them, focuses the first and
   announces it. Without JavaScript the form just saves the details. */
(function () {
  "use strict";
  /* localstripe's fake Stripe.js declares a global `class Element`, which shadows the DOM's
     Element for every script: htmx's `instanceof Element` checks then fail and htmx ignores
     the page. Give scripts the DOM's Element back now (before htmx processes the page on
     DOMContentLoaded) and lend the fake its class only while it creates the card. */
  var FakeElement = typeof Element === "function" && Element !== window.Element ? Element : null;
  if (FakeElement) Element = window.Element;
  function createCard(stripe) {
    if (!FakeElement) return stripe.elements().create("card");
    Element = FakeElement;
    try { return stripe.elements().create("card"); } finally { Element = window.Element; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("checkout-form");
    if (!form || typeof window.Stripe !== "function") return;
    var local = form.dataset.stripeLocal === "true";
    var stripe = window.Stripe(form.dataset.stripeKey);
    var card = createCard(stripe);
    card.mount("#card-element");
    var label = form.querySelector("[data-pay-label]");
    if (label) label.textContent = label.dataset.payText;
    var button = document.getElementById("pay-button");
    var errors = document.getElementById("payment-errors");
    var live = document.getElementById("cart-status");  /* the page's role=status region */

    function ready() { button.disabled = false; button.removeAttribute("aria-busy"); }
    function fail(message) {
      errors.textContent = message || "The payment failed. Please try again.";
      errors.hidden = false;
      ready();
    }
    /* A refusal naming fields ({name: message}): mark each one as the server's field template
       does (components/_checkout_field.html), so both paths look and read the same. Fixing a
       field fires its htmx capture, whose answer replaces the whole .field, mark included. */
    function refuse(fields) {
      var first = null, said = [];
      Array.prototype.forEach.call(form.elements, function (input) {
        var name = input.name, box = document.getElementById("field-" + name);
        if (!box || typeof fields[name] !== "string") return;
        var id = "error-" + name, note = document.getElementById(id), ok = box.querySelector(".field-ok");
        if (ok) ok.remove();
        if (!note) {
          note = document.createElement("p");
          note.className = "field-error";
          note.id = id;
          box.appendChild(note);
        }
        note.textContent = fields[name];
        box.classList.remove("is-valid");
        box.classList.add("is-invalid");
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id);
        said.push(fields[name]);
        first = first || input;
      });
      if (!first) return false;
      ready();
      first.focus({preventScroll: true});
      first.scrollIntoView({block: "center"});  /* clear of the sticky header */
      if (live) {  /* emptied first, so the same refusal twice is announced twice */
        live.textContent = "";
        setTimeout(function () { live.textContent = said.join(" "); }, 100);
      }
      return true;
    }
    function value(name) { var el = form.elements[name]; return el ? el.value : ""; }
    function finish(intentId) {
      window.location.assign(form.dataset.completeUrl + "?payment_intent=" + encodeURIComponent(intentId));
    }

    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      errors.hidden = true;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        var data = new FormData(form);
        if (local) {
          var tokenResult = await stripe.createToken(card);
          if (tokenResult.error) return fail(tokenResult.error.message);
          data.set("card_id", tokenResult.token.card.id);
        }
        var response = await fetch(form.dataset.payUrl, {
          method: "POST", body: data, credentials: "same-origin",
          headers: {"Accept": "application/json", "X-CSRFToken": value("csrf_token")}
        });
        var body = await response.json().catch(function () { return {error: "The payment service did not answer. Please try again."}; });
        if (body.status === "requires_setup") {
          /* Test mode, a card to keep (subscribe and save): save it through the SetupIntent
             (card numbers go to Stripe only), then Pay again with it. */
          if (FakeElement) Element = FakeElement;
          var setup;
          try { setup = await stripe.confirmCardSetup(body.client_secret, {payment_method: {card: card}}); }
          finally { if (FakeElement) Element = window.Element; }
          if (setup.error) return fail(setup.error.message);
          data.set("setup_intent", setup.setupIntent.id);
          response = await fetch(form.dataset.payUrl, {
            method: "POST", body: data, credentials: "same-origin",
            headers: {"Accept": "application/json", "X-CSRFToken": value("csrf_token")}
          });
          body = await response.json().catch(function () { return {error: "The payment service did not answer. Please try again."}; });
        }
        if (body.fields && refuse(body.fields)) return;
        if (body.error) return fail(body.error);
        if (body.status === "succeeded") { window.location.assign(body.redirect); return; }
        var result = local
          ? await stripe.confirmCardPayment(body.client_secret)
          : await stripe.confirmCardPayment(body.client_secret, {payment_method: {card: card, billing_details: {
              name: (value("first_name") + " " + value("last_name")).trim(), email: value("email"),
              address: {postal_code: value("postcode"), country: value("country")}}}});
        if (result.error) return fail(result.error.message);
        finish(body.payment_intent);
      } catch (err) {
        fail(err && err.message);
      }
    });
  });
})();
