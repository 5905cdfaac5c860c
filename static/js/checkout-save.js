/* Back-button retention on phones (the in-page save, storefront/recovery/realtime.py): on
   checkout one history entry is added, so the first Back asks for the save and shows it
   instead of leaving; a second Back leaves. Once per visit (sessionStorage), and only
   while the cart has had no save. Without JavaScript, Back simply leaves. */
(function () {
  "use strict";
  var box = document.getElementById("checkout-save"), KEY = "sf-back-save";
  if (!box || !window.htmx || !history.pushState || !box.getAttribute("data-back-url")) return;
  if (!window.matchMedia || !matchMedia("(pointer: coarse)").matches) return;
  try { if (sessionStorage.getItem(KEY)) return; sessionStorage.setItem(KEY, "1"); } catch (e) { return; }
  history.pushState({sfSave: true}, "", location.href);
  window.addEventListener("popstate", function back() {
    window.removeEventListener("popstate", back);
    var target = document.getElementById("checkout-save");
    /* Already showing (the poll brought it): nothing more to show, so this Back leaves. */
    if (!target || document.querySelector(".checkout-save")) { history.back(); return; }
    htmx.ajax("GET", box.getAttribute("data-back-url"), {target: target, swap: "outerHTML"}).then(function () {
      if (!document.querySelector(".checkout-save")) history.back();  /* nothing to show: leave, as asked */
    });
  });
})();
