/* storefront field events: how the shopper moves through the checkout form, never what
   they type (only whether a field has a value, and its length).
   Form fields: FOCUS, BLUR (with focus_ms), INPUT (at most one a second), VALIDATION_ERROR /
   VALIDATION_SUCCESS (from the htmx capture answer: is-invalid / is-valid and the rendered
   error text), AUTOCOMPLETE (browser autofill), PASTE, CLEAR. The card (Stripe's element):
   FOCUS and BLUR only, nothing of the card is read. The pseudo-field "page": TAB_HIDDEN /
   TAB_VISIBLE (visibilitychange), PAGE_LEAVE (pagehide: navigating away or closing) and
   EXIT_INTENT (the mouse leaves through the top of the window, on a desktop). Batches: a POST 5 s after the first queued event, and
   navigator.sendBeacon when the page is hidden or left. The CSRF token is in the body
   (sendBeacon sends no headers). Stops after "Don't save my details", or when the server
   refuses a batch. Without this script checkout works the same. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.JSON || !script.dataset.url || !script.dataset.ref) return;
  var URL_ = script.dataset.url, REF = script.dataset.ref, GROUPS = {};
  (script.dataset.fields || "").split(/\s+/).forEach(function (pair) {
    var p = pair.split(":");
    if (p[0] && p[1]) GROUPS[p[0]] = p[1];
  });
  var CARD = {number: "card_number", exp_month: "card_expiry", exp_year: "card_expiry",
              cvc: "card_cvc", postal_code: "card_postal"};
  var FLUSH_MS = 5000, INPUT_MS = 1000, MAX_BATCH = 50;
  var queue = [], timer = null, stopped = false;
  var focusedAt = {}, hadValue = {}, inputTimers = {}, keyAt = 0, pasteAt = 0, card = null, exitAt = 0;
  var leaving = false, settled = window.WeakSet ? new WeakSet() : null;

  function now() { return Date.now(); }
  function form() { return document.getElementById("checkout-form"); }
  function off() { return stopped || !form() || !!document.querySelector("[data-capture-opt-out]"); }
  function state(el) {
    var n = (el && el.value ? el.value : "").length;  /* the length, never the value */
    return {has_value: n > 0, length: Math.min(n, 1000)};
  }
  function fieldOf(el) {
    return el && el.name && GROUPS[el.name] && el.form && el.form === form() ? el.name : null;
  }
  function cardPart(el) {
    var box = document.getElementById("card-element");
    if (!el || !box || !box.contains(el)) return null;
    return el.tagName === "IFRAME" ? "card" : CARD[el.getAttribute("placeholder")] || "card";
  }

  function push(type, field, group, info) {
    if (off()) { queue = []; return; }
    var e = {type: type, field: field, group: group, at: now()};
    for (var k in info || {}) if (info[k] !== undefined && info[k] !== null) e[k] = info[k];
    queue.push(e);
    if (!timer) timer = setTimeout(function () { flush(false); }, FLUSH_MS);
  }
  function flush(leaving) {
    clearTimeout(timer);
    timer = null;
    if (off()) { queue = []; return; }
    var token = form().elements.csrf_token;
    while (queue.length) {
      var body = JSON.stringify({csrf: token ? token.value : "", ref: REF, sent_at: now(),
                                 events: queue.splice(0, MAX_BATCH)});
      if (leaving && navigator.sendBeacon && navigator.sendBeacon(URL_, body)) continue;
      if (!window.fetch) return;
      fetch(URL_, {method: "POST", body: body, credentials: "same-origin", keepalive: leaving,
                   headers: {"Content-Type": "text/plain;charset=UTF-8"}})
        .then(function (r) { if (r.status === 400 || r.status === 403) stopped = true; })
        .catch(function () {});
    }
  }

  function startCard(part) {
    if (card && card.part === part) return;
    endCard();
    card = {part: part, at: now()};
    push("FOCUS", part, "payment", {has_value: false, length: 0});
  }
  function endCard() {
    if (!card) return;
    push("BLUR", card.part, "payment", {has_value: false, length: 0, focus_ms: now() - card.at});
    card = null;
  }
  function endInput(name, el) {
    if (!inputTimers[name]) return;
    clearTimeout(inputTimers[name]);
    delete inputTimers[name];
    push("INPUT", name, GROUPS[name], state(el));
  }
  function autofilled(el) {
    try { return el.matches(":autofill"); } catch (e) {
      try { return el.matches(":-webkit-autofill"); } catch (e2) { return false; }
    }
  }

  document.addEventListener("focusin", function (e) {
    var part = cardPart(e.target), name = fieldOf(e.target);
    if (part) { startCard(part); return; }
    endCard();
    if (!name) return;
    focusedAt[name] = now();
    hadValue[name] = state(e.target).has_value;
    push("FOCUS", name, GROUPS[name], state(e.target));
  });
  document.addEventListener("focusout", function (e) {
    var name = fieldOf(e.target), info;
    if (cardPart(e.target)) { endCard(); return; }
    if (!name) return;
    endInput(name, e.target);
    info = state(e.target);
    info.focus_ms = focusedAt[name] ? Math.max(0, now() - focusedAt[name]) : 0;
    delete focusedAt[name];
    push("BLUR", name, GROUPS[name], info);
  });
  /* Stripe's real Card Element is an iframe: focus moving into it blurs our window. */
  window.addEventListener("blur", function () {
    setTimeout(function () {
      if (cardPart(document.activeElement) === "card") startCard("card");
    }, 0);
  });
  window.addEventListener("focus", function () {
    if (card && cardPart(document.activeElement) !== card.part) endCard();
  });
  document.addEventListener("keydown", function () { keyAt = now(); }, true);
  document.addEventListener("paste", function (e) {
    var el = e.target, name = fieldOf(el);
    if (!name) return;  /* a paste into the card is not even counted */
    pasteAt = now();
    setTimeout(function () { push("PASTE", name, GROUPS[name], state(el)); }, 0);
  }, true);
  document.addEventListener("input", function (e) {
    var el = e.target, name = fieldOf(el), t = now(), info;
    if (!name) return;
    info = state(el);
    /* Autofill: the browser's own flag, or a change that no key or paste made. */
    if (autofilled(el) || (t - keyAt > 100 && t - pasteAt > 100 && (document.activeElement !== el ||
        (el.tagName !== "SELECT" && (e.inputType === undefined || e.inputType === "insertReplacementText"))))) {
      hadValue[name] = info.has_value;
      push("AUTOCOMPLETE", name, GROUPS[name], info);
      return;
    }
    if (hadValue[name] && !info.has_value) push("CLEAR", name, GROUPS[name], info);
    hadValue[name] = info.has_value;
    clearTimeout(inputTimers[name]);
    inputTimers[name] = setTimeout(function () { endInput(name, el); }, INPUT_MS);
  });
  /* The capture answer re-renders the field: is-invalid with its error text, or is-valid. */
  document.addEventListener("htmx:afterSettle", function (e) {
    var d = e.detail || {}, path = (d.pathInfo && d.pathInfo.requestPath) || "";
    var m = /\/checkout\/field\/(\w+)$/.exec(path), box, input, info, error;
    if (!m || !GROUPS[m[1]] || !(box = document.getElementById("field-" + m[1]))) return;
    /* Out-of-band swaps (totals) settle too: one answer is one event. */
    if (settled && d.xhr) { if (settled.has(d.xhr)) return; settled.add(d.xhr); }
    input = box.querySelector("input, select");
    info = state(input);
    if (box.classList.contains("is-invalid")) {
      error = box.querySelector(".field-error");
      info.valid = false;
      info.error = error ? error.textContent.trim().slice(0, 200) : null;
      push("VALIDATION_ERROR", m[1], GROUPS[m[1]], info);
    } else if (box.classList.contains("is-valid")) {
      info.valid = true;
      push("VALIDATION_SUCCESS", m[1], GROUPS[m[1]], info);
    }
  });
  /* Leaving (navigation, closing) fires pagehide and then visibilitychange: it is a
     PAGE_LEAVE, not a tab switch. A tab or app switch only hides the page. */
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      if (!leaving) push("TAB_HIDDEN", "page", "page");
      flush(true);
    } else {
      push("TAB_VISIBLE", "page", "page");
    }
  });
  window.addEventListener("pagehide", function () {
    leaving = true;
    endCard();
    push("PAGE_LEAVE", "page", "page");
    flush(true);
  });
  window.addEventListener("pageshow", function (e) { if (e.persisted) leaving = false; });
  if (window.matchMedia && window.matchMedia("(pointer: fine)").matches) {
    document.addEventListener("mouseout", function (e) {
      var t = now();
      if (e.relatedTarget || e.clientY > 0 || t - exitAt < 10000) return;
      exitAt = t;
      push("EXIT_INTENT", "page", "page");
    });
  }
})();
