// Charts drawn from the data tables on the page (the table stays visible: it is the
// accessible source of truth, the chart only repeats it). Needs ECharts loaded first:
//   <script src="…/vendor/echarts-6.1.0/echarts.min.js"></script>
//   <script src="…/js/charts.js"></script>
//
// Markup:
//   <table data-chart="line|bar|stacked-bar" data-chart-target="ID"
//          data-chart-unit="%"          (optional: appended to axis labels and tooltip values)
//          data-chart-scale="100"       (optional: multiply every value by this before plotting)
//          data-chart-colors='["#0072B2", "#E69F00"]'>  (optional: series colours, in order)
//     <caption>Coverage per week</caption>             (optional: used for the chart's aria-label)
//     <thead><tr><th>Week</th><th>Series A</th><th>Series B</th></tr></thead>
//     <tbody>
//       <tr><th>2025-W01</th><td data-value="0.38">38%</td><td></td></tr>   (empty cell = missing)
//     </tbody>
//   </table>
//   <div id="ID" class="chart-box"></div>  (gets height 18rem if it has none; gets role="img" and
//        aria-label "<caption>. Chart of the data in the table." unless it has aria-label(ledby);
//        data-chart-label="…" on the div replaces the second sentence, e.g. for zh-CN pages)
//
// A cell's number is its data-value attribute, else its text ("1,234", "38%", "−5"), drawn as
// shown. With data-chart-unit="%" and no data-chart-scale, data-value fractions are detected
// and multiplied by 100: when the cells' text shows value×100 ("38%" for data-value 0.38), or,
// where no cell text has a number, when every data-value lies in 0..1. Be explicit with
// data-chart-scale="100" (or "1") if in doubt.
// Tooltips show each cell's own text, so they read exactly like the table.
// Works under CSP script-src 'self'; style-src 'self': no eval, no inline markup styles
// (tooltip content is built as DOM nodes, styled through the CSSOM).
(function () {
  "use strict";

  var SYMBOLS = ["circle", "rect", "triangle", "diamond", "roundRect", "pin", "arrow"];
  // Okabe–Ito colour-blind-safe palette (override per table with data-chart-colors='["#…", …]')
  var COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var lang = document.documentElement.lang || undefined;
  var numberFormat;
  try {
    numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  } catch (e) {
    numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  }

  function text(el) {
    return (el ? el.textContent : "").replace(/\s+/g, " ").trim();
  }

  function parseNumber(str) {
    if (str == null) { return null; }
    var s = String(str).replace(/[\u2212\u2012\u2013]/g, "-").replace(/[\s,\u00a0\u202f]/g, "");
    var m = s.match(/-?\d*\.?\d+(?:e[-+]?\d+)?/i);
    if (!m) { return null; }
    var n = parseFloat(m[0]);
    return isFinite(n) ? n : null;
  }

  function cellValue(cell) {
    if (!cell) { return null; }
    if (cell.hasAttribute("data-value")) {
      var raw = cell.getAttribute("data-value").trim();
      return raw === "" ? null : parseNumber(raw);
    }
    return parseNumber(text(cell));
  }

  function readTable(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return null; }
    var headCells = Array.prototype.slice.call(head.cells);
    var data = {
      axisName: text(headCells[0]),
      series: headCells.slice(1).map(function (c) { return text(c); }),
      categories: [],
      values: [],   // values[series][row] (number or null)
      texts: [],    // texts[series][row]  (cell text as shown in the table)
      cells: []     // cells[series][row]
    };
    data.series.forEach(function () { data.values.push([]); data.texts.push([]); data.cells.push([]); });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        if (!row.cells.length) { return; }
        data.categories.push(text(row.cells[0]));
        data.series.forEach(function (name, i) {
          var cell = row.cells[i + 1];
          data.values[i].push(cellValue(cell));
          data.texts[i].push(text(cell));
          data.cells[i].push(cell || null);
        });
      });
    });
    return data;
  }

  // Scale for the values that come from data-value attributes when the unit is "%":
  // 100 if they are fractions (0.38 for "38%"), else 1.
  function fractionScale(data) {
    var votesFraction = 0, votesPlain = 0, allInUnit = true, any = false;
    data.values.forEach(function (vals, s) {
      vals.forEach(function (v, r) {
        var cell = data.cells[s][r];
        if (v == null || !cell || !cell.hasAttribute("data-value")) { return; }
        any = true;
        if (v < -1 || v > 1) { allInUnit = false; }
        var shown = parseNumber(data.texts[s][r]);
        if (shown != null) {
          var asFraction = Math.abs(shown - v * 100), asPlain = Math.abs(shown - v);
          if (asFraction < asPlain) { votesFraction++; } else if (asPlain < asFraction) { votesPlain++; }
        }
      });
    });
    if (votesFraction || votesPlain) { return votesFraction > votesPlain ? 100 : 1; }
    return any && allInUnit ? 100 : 1;
  }

  // data.plot[series][row]: the numbers drawn. data-chart-scale multiplies every value;
  // without it, a "%" table's data-value fractions are turned into percents, while numbers
  // read from the cell text are drawn as shown.
  function plotValues(table, data, unit) {
    var attr = table.getAttribute("data-chart-scale");
    var all = attr ? (parseNumber(attr) || 1) : 1;
    var attrScale = !attr && unit === "%" ? fractionScale(data) : 1;
    data.plot = data.values.map(function (vals, s) {
      return vals.map(function (v, r) {
        var cell = data.cells[s][r];
        var fromAttr = cell && cell.hasAttribute("data-value");
        return scaled(v, all * (fromAttr ? attrScale : 1));
      });
    });
  }

  function scaled(v, scale) {
    // toPrecision drops float noise: 0.55 * 100 is 55.00000000000001
    return v == null ? null : (scale === 1 ? v : Number((v * scale).toPrecision(12)));
  }

  function withUnit(n, unit) {
    if (n == null || !isFinite(n)) { return "—"; }
    var s = numberFormat.format(n);
    if (!unit) { return s; }
    // No space before %, ‰, ° or CJK units; a space before word units ("12 h").
    return /^[%‰°\u3000-\u9fff\uff00-\uffef]/.test(unit) ? s + unit : s + " " + unit;
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content != null) { node.textContent = content; }
    return node;
  }

  function tooltipFormatter(data, unit) {
    return function (params) {
      var list = Array.isArray(params) ? params : [params];
      if (!list.length) { return ""; }
      var row = list[0].dataIndex;
      var box = el("div");
      var title = el("div", null, (data.axisName ? data.axisName + ": " : "") + data.categories[row]);
      title.style.fontWeight = "600";
      title.style.marginBottom = "2px";
      box.appendChild(title);
      list.forEach(function (p) {
        var line = el("div");
        line.style.display = "flex";
        line.style.alignItems = "center";
        line.style.gap = "6px";
        var marker = el("span");
        marker.style.display = "inline-block";
        marker.style.width = "10px";
        marker.style.height = "10px";
        marker.style.borderRadius = "50%";
        marker.style.backgroundColor = typeof p.color === "string" ? p.color : "#999";
        var name = el("span", null, p.seriesName);
        name.style.flex = "1";
        var shown = data.texts[p.seriesIndex][row];
        var value = el("span", null, shown || withUnit(data.plot[p.seriesIndex][row], unit));
        value.style.fontWeight = "600";
        value.style.marginLeft = "12px";
        line.appendChild(marker);
        line.appendChild(name);
        line.appendChild(value);
        box.appendChild(line);
      });
      return box;
    };
  }

  function colors(table) {
    var raw = table.getAttribute("data-chart-colors");
    if (raw) {
      try { return JSON.parse(raw); } catch (e) {
        if (window.console) { console.error("charts.js: bad data-chart-colors", raw); }
      }
    }
    return COLORS;
  }

  function buildOption(kind, data, unit, palette) {
    var series = data.series.map(function (name, i) {
      var s = {
        name: name,
        type: kind === "line" ? "line" : "bar",
        data: data.plot[i],
        emphasis: { focus: "series" }
      };
      if (kind === "line") {
        s.symbol = SYMBOLS[i % SYMBOLS.length];   // shape as well as colour tells series apart
        s.symbolSize = 7;
        s.showSymbol = true;
        s.connectNulls = false;                     // a missing value is a gap, not a zero
      } else if (kind === "stacked-bar") {
        s.stack = "total";
      }
      return s;
    });
    return {
      color: palette,
      animation: !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches),
      tooltip: {
        trigger: "axis",
        axisPointer: { type: kind === "line" ? "line" : "shadow" },
        confine: true,
        formatter: tooltipFormatter(data, unit)
      },
      legend: { type: "scroll", top: 0 },
      // ECharts 6: the grid box is the outer bound; axis labels are laid out inside it.
      grid: { left: 8, right: 24, top: 40, bottom: 8, outerBoundsMode: "same", outerBoundsContain: "all" },
      xAxis: {
        type: "category",
        data: data.categories,
        boundaryGap: kind !== "line",
        axisTick: { alignWithLabel: true }
      },
      yAxis: {
        type: "value",
        axisLabel: { formatter: function (v) { return withUnit(v, unit); } }
      },
      series: series
    };
  }

  var instances = [];

  function render(table) {
    if (typeof window.echarts === "undefined") {
      if (window.console) { console.warn("charts.js: ECharts is not loaded; the tables are shown alone."); }
      return null;
    }
    var kind = table.getAttribute("data-chart");
    if (["line", "bar", "stacked-bar"].indexOf(kind) < 0) { return null; }
    var target = document.getElementById(table.getAttribute("data-chart-target") || "");
    if (!target) { return null; }
    var data = readTable(table);
    if (!data || !data.series.length) { return null; }
    var unit = table.getAttribute("data-chart-unit") || "";
    plotValues(table, data, unit);

    if (target.clientHeight < 10) { target.style.height = "18rem"; }
    if (!target.hasAttribute("aria-label") && !target.hasAttribute("aria-labelledby")) {
      var caption = table.caption ? text(table.caption) : "";
      target.setAttribute("role", "img");
      target.setAttribute("aria-label", (caption ? caption + ". " : "") +
        (target.getAttribute("data-chart-label") || "Chart of the data in the table."));
    }
    var existing = window.echarts.getInstanceByDom(target);
    if (existing) { existing.dispose(); }
    var chart = window.echarts.init(target, null, { renderer: "canvas" });
    chart.setOption(buildOption(kind, data, unit, colors(table)));
    instances.push(chart);
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () { if (!chart.isDisposed()) { chart.resize(); } }).observe(target);
    }
    return chart;
  }

  function renderAll(root) {
    var tables = (root || document).querySelectorAll("table[data-chart][data-chart-target]");
    return Array.prototype.map.call(tables, render);
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      instances.forEach(function (c) { if (!c.isDisposed()) { c.resize(); } });
    }, 100);
  });

  window.partnernetCharts = { render: render, renderAll: renderAll };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderAll(); });
  } else {
    renderAll();
  }
})();
