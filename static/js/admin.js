/* storefront admin: toasts from HX-Trigger, and a confirmation before destructive actions. */
(function () {
  "use strict";
  document.addEventListener("toast", function (e) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("p");
    item.className = "toast toast-" + (e.detail.level || "info");
    item.textContent = e.detail.message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 3000);
  });
  // Plain forms (JavaScript on, no htmx) ask too; htmx forms use hx-confirm.
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute("data-confirm");
    if (message && !e.target.hasAttribute("hx-post") && !window.confirm(message)) e.preventDefault();
  });
})();
