// A button marked data-print prints the page (the service report's print stylesheet applies).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
