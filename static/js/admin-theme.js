/* Theme editor: keep each colour's picker, text and "was" fields in step (the text is what
   counts, the picker is a helper); hide the no-JavaScript "Preview" button; and keep the
   previous preview stylesheet applied until the new one has loaded, so the preview never
   flashes unstyled between two changes. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var ctx = null;

  // The browser's own parser: a colour the canvas takes twice the same way is valid.
  function toHex(text) {
    ctx = ctx || document.createElement("canvas").getContext("2d");
    ctx.fillStyle = "#010203"; ctx.fillStyle = text; var first = ctx.fillStyle;
    ctx.fillStyle = "#030201"; ctx.fillStyle = text; var second = ctx.fillStyle;
    return first === second && /^#[0-9a-f]{6}$/.test(first) ? first : null;
  }
  function remember(picker) {
    var was = document.querySelector('input[data-was-for="' + picker.id + '"]');
    if (was) was.value = picker.value;
  }
  document.addEventListener("input", function (e) {
    var el = e.target;
    if (el.matches("input[type=color][data-picker-for]")) {
      var text = document.getElementById(el.getAttribute("data-picker-for"));
      if (text) text.value = el.value;
      remember(el);
    } else if (el.matches("input[data-color-text]")) {
      var picker = document.getElementById(el.getAttribute("data-color-text"));
      var hex = picker && toHex(el.value.trim());
      if (hex) { picker.value = hex; remember(picker); }
    }
  });

  var LINK = "#theme-preview-panel link[rel=stylesheet]";
  document.addEventListener("htmx:beforeSwap", function (e) {
    var old = document.querySelector(LINK);
    var target = e.detail.target;
    if (!old || !target || !target.contains(old)) return;
    var keep = old.cloneNode();
    keep.setAttribute("data-previous-preview", "");
    document.head.appendChild(keep);
  });
  document.addEventListener("htmx:afterSettle", function () {
    var link = document.querySelector(LINK);
    function drop() {
      document.querySelectorAll("link[data-previous-preview]").forEach(function (l) { l.remove(); });
    }
    if (!link || link.sheet) drop();
    else { link.addEventListener("load", drop); link.addEventListener("error", drop); }
  });
})();
