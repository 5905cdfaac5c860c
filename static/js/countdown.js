/* Countdown sections: tick until the deadline (already shown as text), then hide. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-countdown]");
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now(), running = 0;
    Array.prototype.forEach.call(boxes, function (box) {
      var s = Math.floor((Date.parse(box.querySelector("time").getAttribute("datetime")) - now) / 1000);
      if (!(s > 0)) { box.hidden = true; return; }
      var out = box.querySelector("[data-countdown-ticker]"), d = Math.floor(s / 86400);
      out.textContent = (d ? d + "d " : "") + two(Math.floor(s / 3600) % 24) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
      out.hidden = false;
      running++;
    });
    if (running) setTimeout(tick, 1000 - now % 1000);
  }
  tick();
})();
