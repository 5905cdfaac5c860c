/* storefront: cart drawer (dialog, focus trap, Esc, overlay, focus return), toasts,
   cart refresh on Back/Forward, image placeholders. No framework. */
(function () {
  "use strict";
  var drawer, overlay, opener = null;
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])';

  function focusables() {
    return Array.prototype.filter.call(drawer.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null;
    });
  }
  function openDrawer(from) {
    if (!drawer || !drawer.hidden) return;
    opener = from || document.activeElement;
    drawer.hidden = false; overlay.hidden = false;
    document.documentElement.classList.add("drawer-open");
    requestAnimationFrame(function () { drawer.classList.add("is-open"); });
    var first = focusables()[0];
    if (first) first.focus();
  }
  function closeDrawer() {
    if (!drawer || drawer.hidden) return;
    drawer.classList.remove("is-open");
    drawer.hidden = true; overlay.hidden = true;
    document.documentElement.classList.remove("drawer-open");
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }
  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("p");
    item.className = "toast toast-" + (level || "info");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.classList.add("is-leaving"); }, 2600);
    setTimeout(function () { item.remove(); }, 3000);
  }

  /* A countdown (e.g. the drawer's sale timer) loads countdown.js, once. */
  function countdowns() {
    if (!document.querySelector("[data-countdown]") || document.querySelector('script[src$="countdown.js"]')) return;
    var s = document.createElement("script");
    s.src = "/static/js/countdown.js";
    document.head.appendChild(s);
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdowns();
    drawer = document.getElementById("cart-drawer");
    overlay = document.getElementById("cart-overlay");
    if (!drawer) return;
    document.body.addEventListener("click", function (e) {
      var open = e.target.closest("[data-cart-open]");
      if (open) { e.preventDefault(); openDrawer(open); return; }
      if (e.target.closest("[data-cart-close]") || e.target === overlay) closeDrawer();
    });
    document.addEventListener("keydown", function (e) {
      if (drawer.hidden) return;
      if (e.key === "Escape") { closeDrawer(); return; }
      if (e.key !== "Tab") return;
      var items = focusables();
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) { last.focus(); e.preventDefault(); }
      else if (!e.shiftKey && document.activeElement === last) { first.focus(); e.preventDefault(); }
      else if (!drawer.contains(document.activeElement)) { first.focus(); e.preventDefault(); }
    });
  });

  document.addEventListener("cart-opened", function (e) {
    var source = e.target && e.target.querySelector ? e.target.querySelector("button[type=submit]") : null;
    openDrawer(source);
  });
  document.addEventListener("toast", function (e) {
    // The open drawer already shows (and the live region announces) the change.
    if (drawer && !drawer.hidden && e.detail.level !== "error") return;
    toast(e.detail.message, e.detail.level);
  });
  var refocusLabel = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var active = document.activeElement;
    refocusLabel = drawer && e.detail.target && e.detail.target.id === "cart-drawer-body" &&
      drawer.contains(active) ? active.getAttribute("aria-label") : null;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    countdowns();
    // Keep focus inside the drawer when a swap replaced the focused control: on the same
    // control (e.g. the + of that line) when it is still there, else on the first one.
    if (drawer && !drawer.hidden && e.detail.target && e.detail.target.id === "cart-drawer-body" &&
        !drawer.contains(document.activeElement)) {
      var items = focusables(), same = null;
      for (var i = 0; refocusLabel && i < items.length; i++) {
        if (items[i].getAttribute("aria-label") === refocusLabel) { same = items[i]; break; }
      }
      if (same || items[0]) (same || items[0]).focus();
    }
    refocusLabel = null;
  });
  document.addEventListener("htmx:responseError", function () {
    toast("Something went wrong. Please try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("You seem to be offline. Please try again.", "error");
  });

  /* Back/Forward from the bfcache: the cart may have changed on another page. */
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted || !window.htmx) return;
    if (document.getElementById("cart-badge")) htmx.ajax("GET", "/cart/badge", {target: "#cart-badge", swap: "outerHTML"});
    if (document.getElementById("cart-drawer-body") && drawer) htmx.ajax("GET", "/cart/drawer", {target: "#cart-drawer-body", swap: "innerHTML"});
  });

  /* A product image that cannot load shows the styled placeholder behind it. */
  document.addEventListener("error", function (e) {
    if (e.target.tagName === "IMG") e.target.classList.add("img-failed");
  }, true);
})();
