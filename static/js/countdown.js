// Live countdowns: <span data-deadline="ISO" data-now="ISO server time" data-expired-text="…">.
// A deadline a day or more away keeps the date and time written by the server.
// The server's clock is the reference, so a wrong phone clock does not mislead a partner.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-deadline]"));
  if (!items.length) { return; }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  items.forEach(function (el) {
    el.skew = Date.parse(el.dataset.now || new Date().toISOString()) - Date.now();
  });
  function tick() {
    items.forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.deadline) - (Date.now() + el.skew)) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.expiredText || "0:00";
        el.classList.add("text-danger");
        return;
      }
      if (left >= 86400) { return; }  // a day or more: the date and time the server wrote stay
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
      el.classList.toggle("text-danger", left < 300);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
