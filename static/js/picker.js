// Search-as-you-type pickers. <input data-picker="region|customer|partner" data-url=… data-target=ID>:
// the visible input searches, the hidden input named by data-target receives the chosen value.
(function () {
  "use strict";
  var kinds = {
    region: {
      value: function (r) { return r.code; },
      shown: function (r) { return r.name + " (" + r.code + ")"; },
      line: function (r, input) {
        var levels = JSON.parse(input.dataset.levels || "{}");
        return r.name + " · " + r.code + " · " + (levels[r.level] || r.level) + (r.parent_name ? " · " + r.parent_name : "");
      },
      typed: function (text) { return /^\d{6}$/.test(text) ? text : ""; }
    },
    partner: {
      value: function (p) { return p.id; },
      shown: function (p) { return p.name; },
      line: function (p) { return p.name + " · " + p.kind + " · " + p.status + " · #" + p.id; },
      typed: function () { return ""; }
    },
    customer: {
      value: function (c) { return c.id; },
      shown: function (c) { return c.name + " · " + c.region_name; },
      line: function (c) { return c.name + " · " + c.region_name + " · #" + c.id; },
      typed: function () { return ""; }
    }
  };

  function setup(input) {
    var kind = kinds[input.dataset.picker];
    var target = document.getElementById(input.dataset.target);
    var list = document.createElement("div");
    list.className = "list-group position-absolute w-100 shadow-sm picker-list";
    list.setAttribute("role", "listbox");
    input.parentNode.classList.add("position-relative");
    input.parentNode.appendChild(list);
    var timer = null;

    function clear() { list.innerHTML = ""; }
    function show(items) {
      clear();
      items.forEach(function (item) {
        var option = document.createElement("button");
        option.type = "button";
        option.className = "list-group-item list-group-item-action";
        option.setAttribute("role", "option");
        option.textContent = kind.line(item, input);
        option.addEventListener("click", function () {
          target.value = kind.value(item);
          input.value = kind.shown(item);
          target.dispatchEvent(new Event("change"));
          clear();
        });
        list.appendChild(option);
      });
    }
    input.addEventListener("input", function () {
      var text = input.value.trim();
      target.value = kind.typed(text);
      clearTimeout(timer);
      if (!text) { clear(); return; }
      timer = setTimeout(function () {
        fetch(input.dataset.url + "?q=" + encodeURIComponent(text), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(show);
      }, 150);
    });
    input.addEventListener("keydown", function (e) { if (e.key === "Escape") { clear(); } });
  }
  document.querySelectorAll("input[data-picker]").forEach(setup);
})();
