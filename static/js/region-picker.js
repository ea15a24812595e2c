// Search-as-you-type region picker: an <input data-region-picker> whose value is shown to the
// user, a hidden input named in data-target receives the chosen GB/T 2260 code.
(function () {
  "use strict";
  function setup(input) {
    var target = document.getElementById(input.dataset.target);
    var list = document.createElement("div");
    list.className = "list-group position-absolute w-100 shadow-sm region-picker-list";
    list.setAttribute("role", "listbox");
    input.parentNode.classList.add("position-relative");
    input.parentNode.appendChild(list);
    var timer = null;
    var levelNames = JSON.parse(input.dataset.levels || "{}");

    function clear() { list.innerHTML = ""; }
    function choose(region) {
      target.value = region.code;
      input.value = region.name + " (" + region.code + ")";
      clear();
    }
    function show(regions) {
      clear();
      regions.forEach(function (region) {
        var item = document.createElement("button");
        item.type = "button";
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.textContent = region.name + " · " + region.code + " · " + (levelNames[region.level] || region.level) +
          (region.parent_name ? " · " + region.parent_name : "");
        item.addEventListener("click", function () { choose(region); });
        list.appendChild(item);
      });
    }
    input.addEventListener("input", function () {
      target.value = /^\d{6}$/.test(input.value.trim()) ? input.value.trim() : "";
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { clear(); return; }
      timer = setTimeout(function () {
        fetch(input.dataset.url + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(show);
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { clear(); }
    });
  }
  document.querySelectorAll("input[data-region-picker]").forEach(setup);
})();
