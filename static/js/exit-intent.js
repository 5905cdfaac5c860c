/* Exit intent (desktop): one offer per visit. */
(function () {
  "use strict";
  var box = document.getElementById("exit-offer"), KEY = "sf-exit-offer";
  if (!box || !window.htmx || !matchMedia("(pointer: fine) and (min-width: 1000px)").matches) return;
  try { if (sessionStorage.getItem(KEY)) return; } catch (e) {}

  function leave(e) {
    if (e.relatedTarget || e.clientY > 0) return;
    document.removeEventListener("mouseout", leave);
    try { sessionStorage.setItem(KEY, "1"); } catch (x) {}
    htmx.ajax("POST", box.getAttribute("data-url"), {target: box, swap: "innerHTML", values: {page: box.getAttribute("data-page")}})
      .then(function () {
        var dialog = box.querySelector("dialog");
        if (!dialog || !dialog.showModal) return;
        dialog.querySelector("[data-exit-close]").onclick = function () { dialog.close(); };
        dialog.addEventListener("htmx:afterRequest", function (ev) {
          var xhr = ev.detail.xhr, out = dialog.querySelector("[data-exit-error]");
          if (xhr.status < 300) return dialog.close();
          try { out.textContent = JSON.parse(xhr.getResponseHeader("HX-Trigger")).toast.message; } catch (x) { out.textContent = "Please try again."; }
          out.hidden = false;
        });
        dialog.showModal();
      });
  }
  document.addEventListener("mouseout", leave);
})();
