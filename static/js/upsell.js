/* storefront one-click upsell: when the bank asks the shopper to confirm the off-session
   charge, Stripe.js confirms it on the page, then the form tells our server to settle it. */
(function () {
  "use strict";
  /* localstripe's fake Stripe.js shadows the DOM's Element (see checkout.js). */
  var FakeElement = typeof Element === "function" && Element !== window.Element ? Element : null;
  if (FakeElement) Element = window.Element;
  var form = document.getElementById("upsell-confirm");
  if (!form || typeof window.Stripe !== "function" || !form.dataset.clientSecret) return;
  var stripe = window.Stripe(form.dataset.stripeKey);
  var errors = document.getElementById("upsell-errors");
  form.addEventListener("submit", async function (event) {
    if (form.dataset.confirmed) return;
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    var result = await stripe.confirmCardPayment(form.dataset.clientSecret);
    if (result.error) {
      errors.textContent = result.error.message || "The payment was not confirmed.";
      errors.hidden = false;
    }
    /* Either way the server reads Stripe's copy and says what happened. */
    form.dataset.confirmed = "1";
    form.submit();
  });
})();
