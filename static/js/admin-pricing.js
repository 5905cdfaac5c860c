/* Promotion and shipping-method forms: show only the inputs the chosen type (and, for
   promotions, scope) uses. Without JavaScript every input shows, each with a hint saying
   which type it is for, and the server ignores the others. A form opts in with
   data-type-form; inputs name their types in data-types and their scopes in data-scopes.
   Re-runs after htmx swaps a form in. */
(function () {
  "use strict";
  var FIXED_SCOPE = { FREE_SHIPPING: "SHIPPING", FREE_GIFT: "CART" };
  function words(el, name) { return el.getAttribute(name).split(" "); }
  function syncForm(form) {
    var type = form.querySelector("select[name=type]");
    if (!type) return;
    var scope = form.querySelector("select[name=scope]");
    var fixed = FIXED_SCOPE[type.value];
    if (scope) scope.closest(".field").hidden = Boolean(fixed);
    var effective = fixed || (scope && scope.value);
    form.querySelectorAll("[data-types]").forEach(function (el) {
      el.hidden = words(el, "data-types").indexOf(type.value) < 0;
    });
    form.querySelectorAll("[data-scopes]").forEach(function (el) {
      el.hidden = words(el, "data-scopes").indexOf(effective) < 0;
    });
  }
  function syncAll() { document.querySelectorAll("form[data-type-form]").forEach(syncForm); }
  document.addEventListener("change", function (e) {
    var form = e.target && e.target.closest && e.target.closest("form[data-type-form]");
    if (form && (e.target.name === "type" || e.target.name === "scope")) syncForm(form);
  });
  document.addEventListener("htmx:afterSettle", syncAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncAll);
  else syncAll();
})();
