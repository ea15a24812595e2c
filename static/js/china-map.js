// Choropleth of China's province-level divisions, coloured from a table on the page (the
// table stays visible: it is the accessible source of truth). Needs ECharts loaded first:
//   <script src="…/vendor/echarts-6.1.0/echarts.min.js"></script>
//   <script src="…/js/china-map.js"></script>
//
// Markup:
//   <div id="china-map" class="chart-box"                      (any id; height 28rem if none)
//        data-geo-url="/static/vendor/china-geo-echarts-4.9.0/china-provinces.json"
//        data-values-table="TABLE_ID"
//        data-link-template="/coverage?product_line=workflow&region={code}"   (optional)
//        data-mode="value|category"          (optional, default value)
//        data-categories='{"branch": {"label": "Branch", "color": "#1b7837"}, …}'  (category mode)
//        data-min="0" data-max="1"           (optional, value mode; default 0 and 1)
//        data-format="percent|number"        (optional, value mode; default percent when max ≤ 1)
//        data-colors='["#eff3ff", "#08519c"]' (optional, value mode: low → high colour ramp)
//        data-no-data-label="No data"        (optional: tooltip text for provinces with no row)
//        aria-label="…">                     (optional: default "Map of China; the data is in the table.")
//   </div>
//   <table id="TABLE_ID"> … <tr data-region-code="330000" data-value="0.73" data-label="浙江省: 73%">…</tr>
//
// Value mode: data-value is a number, coloured on a continuous scale min..max (legend shown).
// Category mode: data-value is a key of data-categories, coloured with that key's colour
// (legend shows the labels in the JSON's order; a key not in data-categories is ignored).
// The tooltip shows the row's data-label (else the row's text). Clicking a province goes to
// data-link-template with {code} replaced by the province's adcode (also for provinces
// without a row). Features are matched to codes by properties.adcode, else by Chinese name.
// Keyboard users cannot click the map: put the same links in the table.
// Works under CSP script-src 'self'; style-src 'self' (no eval, no inline markup styles).
(function () {
  "use strict";

  // GB/T 2260 province-level codes, for GeoJSON files without properties.adcode.
  var PROVINCES = {
    110000: "北京市", 120000: "天津市", 130000: "河北省", 140000: "山西省", 150000: "内蒙古自治区",
    210000: "辽宁省", 220000: "吉林省", 230000: "黑龙江省", 310000: "上海市", 320000: "江苏省",
    330000: "浙江省", 340000: "安徽省", 350000: "福建省", 360000: "江西省", 370000: "山东省",
    410000: "河南省", 420000: "湖北省", 430000: "湖南省", 440000: "广东省", 450000: "广西壮族自治区",
    460000: "海南省", 500000: "重庆市", 510000: "四川省", 520000: "贵州省", 530000: "云南省",
    540000: "西藏自治区", 610000: "陕西省", 620000: "甘肃省", 630000: "青海省", 640000: "宁夏回族自治区",
    650000: "新疆维吾尔自治区", 710000: "台湾省", 810000: "香港特别行政区", 820000: "澳门特别行政区"
  };
  var DEFAULT_COLORS = ["#eff3ff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  // ECharts adds the 南海诸岛 inset (and a few label fixes) only to a map registered as "china".
  var MAP_NAME = "china";
  var geoCache = {};

  function shortName(name) {
    return String(name || "").trim()
      .replace(/(维吾尔|壮族|回族)?自治区$|特别行政区$|省$|市$/, "");
  }

  function text(el) {
    return (el ? el.textContent : "").replace(/\s+/g, " ").trim();
  }

  function parseJSON(str, fallback) {
    if (!str) { return fallback; }
    try { return JSON.parse(str); } catch (e) {
      if (window.console) { console.error("china-map.js: bad JSON attribute", str); }
      return fallback;
    }
  }

  function loadGeo(url) {
    if (!geoCache[url]) {
      geoCache[url] = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status + " for " + url); }
        return r.json();
      }).then(function (geo) {
        window.echarts.registerMap(MAP_NAME, geo);
        return geo;
      });
    }
    return geoCache[url];
  }

  // feature name (as ECharts knows it: properties.name) <-> adcode
  function indexFeatures(geo) {
    var byCode = {}, byName = {};
    (geo.features || []).forEach(function (f) {
      var p = f.properties || {};
      var name = p.name;
      if (!name) { return; }
      var code = p.adcode != null ? String(p.adcode) : null;
      if (!code || !/^\d{6}$/.test(code)) {
        code = null;
        for (var c in PROVINCES) {
          if (shortName(PROVINCES[c]) === shortName(name) || shortName(PROVINCES[c]) === shortName(p.fullname)) {
            code = c;
            break;
          }
        }
      }
      if (code) {
        byCode[code] = name;
        byName[name] = code;
      }
    });
    return { byCode: byCode, byName: byName };
  }

  function readRows(table, index, mode, categories) {
    var rows = [], keys = Object.keys(categories || {});
    if (!table) { return rows; }
    Array.prototype.forEach.call(table.querySelectorAll("tr[data-region-code]"), function (tr) {
      var code = tr.getAttribute("data-region-code").trim();
      var name = index.byCode[code];
      if (!name) {
        if (window.console) { console.warn("china-map.js: no province on the map for code", code); }
        return;
      }
      var raw = (tr.getAttribute("data-value") || "").trim();
      var value;
      if (mode === "category") {
        value = keys.indexOf(raw);
        if (value < 0) { return; }
      } else {
        value = raw === "" ? NaN : parseFloat(raw);
        if (!isFinite(value)) { return; }
      }
      rows.push({
        name: name,
        value: value,
        code: code,
        label: tr.getAttribute("data-label") || text(tr)
      });
    });
    return rows;
  }

  function formatValue(v, percent) {
    if (percent) { return Math.round(v * 100) + "%"; }
    return String(Math.round(v * 100) / 100);
  }

  function tooltipNode(lines) {
    var box = document.createElement("div");
    lines.forEach(function (line, i) {
      var d = document.createElement("div");
      d.textContent = line;
      if (i === 0 && lines.length > 1) { d.style.fontWeight = "600"; }
      box.appendChild(d);
    });
    return box;
  }

  function buildOption(div, geo, index, rows, mode, categories) {
    var noData = div.getAttribute("data-no-data-label") || "No data";
    var fullNames = {};
    (geo.features || []).forEach(function (f) {
      var p = f.properties || {};
      if (p.name) { fullNames[p.name] = p.fullname || PROVINCES[index.byName[p.name]] || p.name; }
    });
    var visualMap;
    if (mode === "category") {
      visualMap = {
        type: "piecewise",
        orient: "vertical", left: 8, bottom: 8,
        inverse: true,   // list the categories top to bottom in data-categories order
        pieces: Object.keys(categories).map(function (key, i) {
          var c = categories[key] || {};
          return { value: i, label: c.label || key, color: c.color || DEFAULT_COLORS[(i + 2) % DEFAULT_COLORS.length] };
        })
      };
    } else {
      var min = parseFloat(div.getAttribute("data-min"));
      var max = parseFloat(div.getAttribute("data-max"));
      if (!isFinite(min)) { min = 0; }
      if (!isFinite(max)) { max = 1; }
      var format = div.getAttribute("data-format") || (max <= 1 ? "percent" : "number");
      visualMap = {
        type: "continuous",
        orient: "vertical", left: 8, bottom: 8,
        min: min, max: max,
        text: [formatValue(max, format === "percent"), formatValue(min, format === "percent")],
        formatter: function (v) { return formatValue(v, format === "percent"); },   // hover indicator
        calculable: false,
        itemHeight: 120,
        inRange: { color: parseJSON(div.getAttribute("data-colors"), DEFAULT_COLORS) }
      };
    }
    var base = {
      animation: false,
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          if (p.data && p.data.label) { return tooltipNode([p.data.label]); }
          var name = fullNames[p.name] || p.name;
          return tooltipNode(index.byName[p.name] ? [name, noData] : [name]);
        }
      },
      visualMap: visualMap,
      series: [{
        type: "map",
        map: MAP_NAME,
        nameProperty: "name",
        roam: false,
        selectedMode: false,
        top: 8, bottom: 8, left: "center",
        itemStyle: { areaColor: "#e9ecef", borderColor: "#8f969c", borderWidth: 0.6 },
        label: { show: false },
        emphasis: {
          label: { show: true, color: "#212529" },
          itemStyle: { areaColor: "#ffc107", borderColor: "#212529", borderWidth: 1 }
        },
        // the South China Sea inset ECharts draws for a map named "china": plain lines, inert
        data: rows.concat([{
          name: "南海诸岛",
          itemStyle: { areaColor: "#8f969c", borderColor: "#8f969c" },
          emphasis: { disabled: true },
          tooltip: { show: false }
        }])
      }]
    };
    return {
      baseOption: base,
      // Narrow containers: the legend goes below the map instead of over its west.
      media: [{
        // no query: the default, re-applied when the container grows past 600px again
        option: {
          visualMap: { orient: "vertical", left: 8, bottom: 8, inverse: mode === "category" },
          series: [{ top: 8, bottom: 8 }]
        }
      }, {
        query: { maxWidth: 600 },
        option: {
          visualMap: mode === "category" ?
            { orient: "horizontal", left: "center", bottom: 4, inverse: false } :
            { orient: "horizontal", left: "center", bottom: 4 },
          series: [{ top: 4, bottom: 44 }]
        }
      }]
    };
  }

  function setup(div) {
    if (typeof window.echarts === "undefined") {
      if (window.console) { console.warn("china-map.js: ECharts is not loaded; the table is shown alone."); }
      return;
    }
    var url = div.getAttribute("data-geo-url");
    var mode = div.getAttribute("data-mode") === "category" ? "category" : "value";
    var categories = mode === "category" ? parseJSON(div.getAttribute("data-categories"), {}) : null;
    var table = document.getElementById(div.getAttribute("data-values-table") || "");
    var template = div.getAttribute("data-link-template");
    if (div.clientHeight < 10) { div.style.height = "28rem"; }
    if (!div.hasAttribute("aria-label") && !div.hasAttribute("aria-labelledby")) {
      div.setAttribute("role", "img");
      div.setAttribute("aria-label", "Map of China; the data is in the table.");
    }
    loadGeo(url).then(function (geo) {
      var index = indexFeatures(geo);
      var rows = readRows(table, index, mode, categories);
      var existing = window.echarts.getInstanceByDom(div);
      if (existing) { existing.dispose(); }
      var chart = window.echarts.init(div, null, { renderer: "canvas" });
      chart.setOption(buildOption(div, geo, index, rows, mode, categories));
      if (template) {
        chart.on("click", function (p) {
          var code = (p.data && p.data.code) || index.byName[p.name];
          if (code) { window.location.assign(template.split("{code}").join(encodeURIComponent(code))); }
        });
      }
      var timer = null;
      window.addEventListener("resize", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { chart.resize(); }, 100);
      });
      if (typeof ResizeObserver !== "undefined") {
        new ResizeObserver(function () { if (!chart.isDisposed()) { chart.resize(); } }).observe(div);
      }
    }).catch(function (err) {
      if (window.console) { console.error("china-map.js:", err); }
      div.hidden = true;   // the table still shows the data
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("div[data-geo-url][data-values-table]"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
