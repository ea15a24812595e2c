// Copy buttons: <button data-copy-target="ID of an input" data-copied-text="…">.
// The clipboard API needs a secure context (https or localhost); elsewhere the text is selected
// for the user to copy by hand.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copyTarget);
      if (!input) { return; }
      input.select();
      var done = function () { button.textContent = button.dataset.copiedText || button.textContent; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: copy by hand */ }
      }
    });
  });
})();
