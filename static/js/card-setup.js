/* storefront card update: confirms the page's SetupIntent with Stripe's Card Element in the
   browser (card numbers never reach our server), then posts the SetupIntent id. */
(function () {
  "use strict";
  /* localstripe's fake Stripe.js shadows the DOM's Element (see checkout.js). */
  var FakeElement = typeof Element === "function" && Element !== window.Element ? Element : null;
  if (FakeElement) Element = window.Element;
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("card-form");
    if (!form || typeof window.Stripe !== "function") return;
    var stripe = window.Stripe(form.dataset.stripeKey);
    if (FakeElement) Element = FakeElement;
    var card;
    try { card = stripe.elements().create("card"); } finally { if (FakeElement) Element = window.Element; }
    card.mount("#card-element");
    var errors = document.getElementById("card-errors");
    form.addEventListener("submit", async function (event) {
      if (form.elements.setup_intent.value) return;
      event.preventDefault();
      if (FakeElement) Element = FakeElement;
      var result;
      try { result = await stripe.confirmCardSetup(form.dataset.clientSecret, {payment_method: {card: card}}); }
      finally { if (FakeElement) Element = window.Element; }
      if (result.error) { errors.textContent = result.error.message || "The card was refused."; return; }
      form.elements.setup_intent.value = result.setupIntent.id;
      form.submit();
    });
  });
})();
