// Ops console: tick the SLA clocks the server rendered, and copy buttons.
(function () {
  "use strict";
  function span(seconds) {
    var s = Math.abs(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + "h " + pad(m) + "m" : m + "m " + pad(r) + "s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      el.textContent = left >= 0 ? span(left) + " left" : "overdue by " + span(left);
      el.classList.toggle("ops-clock-breached", left < 0);
      var badge = el.parentElement && el.parentElement.querySelector(".ops-badge[data-clock-badge]");
      if (badge && left < 0) { badge.textContent = "breached"; badge.className = "ops-badge ops-badge-breached"; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-deadline]")) { tick(); setInterval(tick, 1000); }
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source || !navigator.clipboard) { return; }
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
    });
  });
}());
