/* Countdowns: tick to the deadline (also shown as text), then hide; again after htmx swaps. */
(function () {
  "use strict";
  var timer = null;
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now(), running = 0;
    clearTimeout(timer);
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (box) {
      var s = Math.floor((Date.parse(box.querySelector("time").getAttribute("datetime")) - now) / 1000);
      if (!(s > 0)) { box.hidden = true; return; }
      var out = box.querySelector("[data-countdown-ticker]"), d = Math.floor(s / 86400);
      out.textContent = (out.getAttribute("data-prefix") || "") + (d ? d + "d " : "") +
        two(Math.floor(s / 3600) % 24) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
      out.hidden = false;
      running++;
    });
    if (running) timer = setTimeout(tick, 1000 - now % 1000);
  }
  document.addEventListener("htmx:afterSettle", tick);
  tick();
})();
